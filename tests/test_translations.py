"""Ladders in every language of an edition: drafted translations, validated whole, shown on the CLI and the item page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app
from evidence.errors import DataError, DataErrors
from frameworks import FRAMEWORKS_DIR, read_framework

SOURCE = FRAMEWORKS_DIR / "arab-2024.yaml"


def translation(framework: dict, lang: str = "fr") -> dict:
    """A complete translation of `framework` (texts marked with the language, so a test can find them)."""
    return {"edition": framework["id"], "language": lang, "draft": True, "source": "test",
            "title": f"[{lang}] title",
            "areas": {a["id"]: f"[{lang}] {a['id']}" for a in framework["areas"]},
            "tiers": {t["id"]: f"[{lang}] tier {t['id']}" for t in framework["tiers"]},
            "indicators": {i["id"]: {"name": f"[{lang}] {i['id']}",
                                     **({"description": f"[{lang}] about"} if i.get("description") else {}),
                                     "rungs": {r["level"]: f"[{lang}] {i['id']} {r['level']}" for r in i["rungs"]}}
                           for i in framework["indicators"]}}


@pytest.fixture
def folder(tmp_path) -> Path:
    shutil.copy(SOURCE, tmp_path / SOURCE.name)
    (tmp_path / "translations").mkdir()
    return tmp_path


def write(folder: Path, data: dict) -> Path:
    path = folder / "translations" / f"{data['edition']}.{data['language']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_translation_is_merged_into_every_text_and_marked_as_a_draft(folder):
    write(folder, translation(yaml.safe_load(SOURCE.read_text(encoding="utf-8"))))
    edition = read_framework(folder / SOURCE.name)
    assert edition.languages == ["en", "zh", "fr"] and edition.translations == {"fr": True}
    wireless = edition.indicator("wireless-network")
    assert wireless.rung(2).text.get("fr") == "[fr] wireless-network 2" and wireless.rung(2).text.has("fr")
    assert wireless.rung(2).text.get("ar") == wireless.rung(2).text.en  # no Arabic yet: English
    assert edition.areas[0].name.get("fr").startswith("[fr]") and edition.tiers[0].name.get("fr").startswith("[fr]")


def test_an_incomplete_or_foreign_translation_rejects_the_framework_naming_file_and_field(folder):
    data = translation(yaml.safe_load(SOURCE.read_text(encoding="utf-8")))
    del data["indicators"]["wireless-network"]["rungs"][3]
    data["indicators"]["warp-drive"] = {"name": "x", "rungs": {1: "y"}}
    path = write(folder, data)
    with pytest.raises(DataErrors) as e:
        read_framework(folder / SOURCE.name)
    text = str(e.value)
    assert f"{path}: indicators.wireless-network.rungs.3: missing" in text
    assert f"{path}: indicators.warp-drive: not in the edition's framework" in text
    path.unlink()
    write(folder, translation(yaml.safe_load(SOURCE.read_text(encoding="utf-8")), "xx"))
    with pytest.raises((DataError, DataErrors), match="language"):
        read_framework(folder / SOURCE.name)


def test_the_shipped_translations_cover_every_text_of_their_editions():
    from frameworks import load_all

    for edition in load_all():
        for lang in edition.translations:
            for indicator in edition.indicators:
                assert indicator.name.has(lang) and all(r.text.has(lang) for r in indicator.rungs), (edition.id, lang)


def test_frameworks_show_prints_a_translated_ladder_and_refuses_an_unknown_language():
    runner = CliRunner()
    from frameworks import load_framework

    arab = load_framework("arab-2024")
    unknown = runner.invoke(app, ["frameworks", "show", "arab-2024", "--lang", "xx"])
    assert unknown.exit_code != 0 and "arab-2024's ladders are in en, zh" in str(unknown.exception)
    assert {"ar", "fr"} <= set(arab.translations)
    for lang in arab.translations:
        shown = runner.invoke(app, ["frameworks", "show", "arab-2024", "--lang", lang])
        rung = arab.indicator("wireless-network").rung(2).text.get(lang)
        assert shown.exit_code == 0 and rung != arab.indicator("wireless-network").rung(2).text.en
        assert all(word in shown.output for word in rung.split()[:3]), (lang, rung)  # the table wraps lines
