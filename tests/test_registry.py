"""The city registry: every city the reports name, and a broken country file is rejected naming the place."""

from __future__ import annotations

import pytest
import yaml

from evidence.errors import DataErrors
from sources import load_registry, read_registry

EDITIONS = {"asia-2022", "asia-2023", "g20-2023", "arab-2024"}


def test_the_reports_city_counts():
    reg = load_registry()
    assert len(reg.in_edition("asia-2022", "main")) == 48
    assert len(reg.in_edition("asia-2022", "greater-china")) == 13
    assert len(reg.in_edition("g20-2023")) == 184
    assert len(reg.in_edition("arab-2024")) == 62


def test_known_cities_have_their_names_and_languages():
    reg = load_registry()
    shanghai = reg.get("shanghai")
    assert (shanghai.country, shanghai.name.zh) == ("CN", "上海")
    assert {"g20-2023", "asia-2022"} <= set(shanghai.editions)
    assert shanghai.tables_in("asia-2022") == ["main", "greater-china"]
    assert reg.get("taipei").tables_in("asia-2022") == ["greater-china"]
    assert len(reg.in_edition("asia-2022")) == 51  # 48 + 13, ten cities printed in both tables
    cairo = reg.get("cairo")
    assert cairo.country == "EG" and cairo.languages[0] == "ar" and "arab-2024" in cairo.editions
    assert reg.get("moscow").languages[0] == "ru"
    assert all(s.provenance for c in reg.cities for s in c.sources)


def write(tmp_path, name, cities, country="FR"):
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({"country": country, "cities": cities}, allow_unicode=True),
                                           encoding="utf-8")


def city(**over):
    base = {"id": "paris", "name": {"en": "Paris", "zh": "巴黎", "local": "Paris"}, "languages": ["fr"],
            "editions": ["g20-2023"]}
    return {**base, **over}


def errors(tmp_path) -> list[str]:
    with pytest.raises(DataErrors) as info:
        read_registry(tmp_path, EDITIONS)
    return [str(e) for e in info.value.errors]


def test_a_valid_directory_loads(tmp_path):
    write(tmp_path, "fr", [city(), city(id="lyon", name={"en": "Lyon", "zh": "里昂", "local": "Lyon"})])
    assert read_registry(tmp_path, EDITIONS).ids() == {"paris", "lyon"}


@pytest.mark.parametrize("bad, words", [
    (city(editions=["g30-2023"]), "fr.yaml: cities[0] (paris).editions: unknown edition 'g30-2023'"),
    (city(languages=["french"]), "fr.yaml: cities[0] (paris).languages: Value error, 'french' is not an ISO 639-1"),
    (city(name={"en": "Paris", "local": "Paris"}), "fr.yaml: cities[0] (paris).name.zh: Field required"),
    (city(sources=[{"url": "paris.fr", "provenance": "x"}]), "fr.yaml: cities[0] (paris).sources[0].url"),
    (city(tables={"asia-2022": "greater-china"}), "tables names edition 'asia-2022'"),
])
def test_a_broken_city_names_file_and_field(tmp_path, bad, words):
    write(tmp_path, "fr", [bad])
    found = errors(tmp_path)
    assert any(words in f for f in found), found


def test_bad_country_and_duplicate_ids_across_files(tmp_path):
    write(tmp_path, "fr", [city()])
    write(tmp_path, "xx", [city()], country="XX")
    write(tmp_path, "zz", [city(id="paris")], country="DE")
    found = errors(tmp_path)
    assert any("xx.yaml: cities[0] (paris).country" in f and "ISO 3166" in f for f in found), found
    assert any("zz.yaml: city paris: id already used in fr.yaml" in f for f in found), found


def test_a_key_given_twice_is_refused_not_silently_replaced(tmp_path):
    from evidence.errors import DataError

    folder = tmp_path / "cities"
    folder.mkdir()
    (folder / "eg.yaml").write_text(
        "country: EG\ncities:\n"
        "  - {id: cairo, name: {en: Cairo, zh: 开罗, local: القاهرة}, languages: [ar], editions: [arab-2024]}\n"
        "cities:\n"
        "  - {id: giza, name: {en: Giza, zh: 吉萨, local: الجيزة}, languages: [ar], editions: [arab-2024]}\n",
        encoding="utf-8")
    with pytest.raises((DataError, DataErrors), match=r"eg\.yaml: line 4: not valid YAML: duplicate key 'cities' "
                                                     r"\(first on line 2\)"):
        read_registry(folder, EDITIONS)
    (folder / "eg.yaml").write_text(
        "country: EG\ncities:\n  - {id: cairo, id: giza, name: {en: Cairo, zh: 开罗, local: القاهرة}, languages: [ar], "
        "editions: [arab-2024]}\n", encoding="utf-8")
    with pytest.raises((DataError, DataErrors), match=r"eg\.yaml: line 3: not valid YAML: duplicate key 'id'"):
        read_registry(folder, EDITIONS)


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a: " * 3000 + "1" + "}" * 3000])
def test_deeply_nested_yaml_is_an_error_naming_the_file(tmp_path, nested):
    from evidence.datafile import read_yaml
    from evidence.errors import DataError

    path = tmp_path / "deep.yaml"
    path.write_text(f"country: EG\ncities: {nested}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"deep\.yaml: line 2: not valid YAML: nested more than 64 levels deep"):
        read_yaml(path)
