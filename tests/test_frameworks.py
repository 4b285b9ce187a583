"""Edition frameworks: the shipped files load, and a broken file is rejected whole, naming file and field."""

from __future__ import annotations

import copy

import pytest
import yaml

from evidence.errors import DataError, DataErrors
from frameworks import edition_ids, framework_path, load_framework, read_framework

METHODOLOGY_2024 = {  # the methodology page's ladder, rung texts in English
    "wired-network": ["100 Mbps fibre", "gigabit fibre", "all-optical", "quantum"],
    "wireless-network": ["4G", "5G", "satellite", "space quantum"],
    "artificial-intelligence": ["computing centres", "cross-regional", "AGI", "human-like"],
    "transport-network": ["intercity", "high-speed rail"],
    "smart-transport": ["traditional smart transport", "urban low-altitude", "intercity low-altitude"],
    "smart-energy": ["smart meters", "cross-regional energy internet", "complementary clean"],
    "water-ecosystem": ["sponge city", "cross-regional water"],
    "public-health": ["electronic medical records", "medical and monitoring network", "cross-regional"],
    "emergency-system": ["command centre", "multi-level", "cross-regional"],
    "government-service": ["CDO", "one-stop", "cross-region"],
    "digital-society": ["digital literacy", "prudent regulation"],
}


def test_every_shipped_framework_loads():
    assert {"arab-2024", "asia-2023", "g20-2023", "asia-2022"} <= set(edition_ids())
    for edition in edition_ids():
        e = load_framework(edition)
        assert all(i.rungs[0].text.zh and i.name.zh for i in e.indicators)


def test_arab_2024_has_the_published_ladder():
    e = load_framework("arab-2024")
    assert [a.id for a in e.areas] == ["digital", "traditional", "institutional"]
    assert len(e.indicators) == 11
    assert [t.upto for t in e.tiers] == [10, 30, 50, 100]
    for ind in e.indicators:
        assert not ind.draft, ind.id
        expected = METHODOLOGY_2024[ind.id]
        assert ind.top == len(expected), ind.id
        for rung, cue in zip(ind.rungs, expected):
            assert cue.lower() in rung.text.en.lower(), (ind.id, rung.level, rung.text.en)
    assert "5G" in e.indicator("wireless-network").rung(2).text.zh


def test_2023_editions_share_one_framework_with_two_published_ladders():
    asia, g20 = load_framework("asia-2023"), load_framework("g20-2023")
    assert len(g20.indicators) == 16
    assert [(i.id, [(r.text.en, r.text.zh) for r in i.rungs]) for i in asia.indicators] == \
           [(i.id, [(r.text.en, r.text.zh) for r in i.rungs]) for i in g20.indicators]
    published = {i.id for i in g20.indicators if not i.draft}
    assert published == {"wireless-network", "data-flow"}
    assert "GDPR" in g20.indicator("data-flow").rung(3).text.en
    assert [t.upto for t in g20.tiers] == [10, 30, 60, 100]


def test_asia_2022_has_six_areas_and_drafted_ladders():
    e = load_framework("asia-2022")
    assert [a.id for a in e.areas] == ["digital", "traditional", "governance", "data-market",
                                       "international-rules", "people"]
    assert all(i.draft and i.note for i in e.indicators)


# --- malformed files -----------------------------------------------------------------------------

def valid() -> dict:
    return yaml.safe_load(framework_path("arab-2024").read_text(encoding="utf-8"))


def write(tmp_path, data, name="arab-2024"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems(path) -> list[str]:
    with pytest.raises((DataError, DataErrors)) as info:
        read_framework(path)
    errors = info.value.errors if isinstance(info.value, DataErrors) else [info.value]
    assert all(e.source == str(path) for e in errors), "every error names the file"
    return [f"{e.where}: {e.problem}" for e in errors]


@pytest.mark.parametrize("mutate, where, words", [
    (lambda d: d["indicators"].append(copy.deepcopy(d["indicators"][0])), "indicators", "duplicate indicator id"),
    (lambda d: d["indicators"][2]["rungs"].pop(1), "indicators[2].rungs", "without gaps"),
    (lambda d: d["indicators"][4].update(area="space"), "(top level)", "unknown area 'space'"),
    (lambda d: d["tiers"].reverse(), "tiers", "must increase"),
    (lambda d: d["tiers"][-1].update(upto=90), "tiers", "reach 100"),
    (lambda d: d["indicators"][1]["rungs"][0]["text"].pop("zh"), "indicators[1].rungs[0].text.zh", "Field required"),
    (lambda d: d["indicators"][0].update(draft=True, note=None), "indicators[0]", "note"),
    (lambda d: d["indicators"][3].update(id="Not A Slug"), "indicators[3].id", "pattern"),
    (lambda d: d["indicators"][3].update(weight=3), "indicators[3].weight", "Extra inputs"),
    (lambda d: d.update(id="arab-2025"), "id", "must match the file name"),
])
def test_a_broken_framework_is_rejected_naming_the_field(tmp_path, mutate, where, words):
    data = valid()
    mutate(data)
    found = problems(write(tmp_path, data))
    assert any(p.startswith(where) and words in p for p in found), found


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "arab-2024.yaml"
    path.write_text("id: arab-2024\nareas: [\n  - x\n", encoding="utf-8")
    found = problems(path)
    assert found[0].startswith("line "), found


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    data = valid()
    data["indicators"][0]["rungs"].pop(0)
    data["tiers"][-1]["upto"] = 99
    found = problems(write(tmp_path, data))
    assert len(found) >= 2, found
