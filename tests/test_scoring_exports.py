"""Published tables and charts written and read back; clusters as data."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from evidence.errors import DataErrors
from frameworks import load_framework
from frameworks.weights import load_weights
from scoring import charts
from scoring.clusters import clusters_path, compare, read_clusters
from scoring.exports import Report, publish
from scoring.levels import edition_cities, read_levels
from scoring.ranks import rank_table
from scoring.scores import score
from scoring.stability import rank_stability
from sources import load_registry, read_registry

FIXTURES = Path(__file__).parent / "fixtures"
REGISTRY = read_registry(FIXTURES / "scoring-registry")
ARAB = load_framework("arab-2024")


def scored_fixture():
    levels = read_levels(FIXTURES / "scoring-levels-arab-2024.csv", ARAB, edition_cities(REGISTRY, ARAB), REGISTRY)
    weights = load_weights(ARAB, FIXTURES / "scoring-panel-arab-2024.csv")
    return levels, weights, score(levels, weights, ARAB)


def cluster_file(tmp_path: Path, members: str) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text("edition: arab-2024\nclusters:\n"
                    "  - {id: gulf, name: {en: Gulf, zh: 海湾}, definition: test, cities: [" + members + "]}\n"
                    "  - {id: nile, name: {en: Nile, zh: 尼罗河}, definition: test, cities: [cairo, alexandria, giza]}\n",
                    encoding="utf-8")
    return path


def test_scores_are_levels_times_weights_summed_by_area():
    levels, weights, table = scored_fixture()
    row = [c.id for c in table.cities].index("dubai")
    by_hand = {a.id: sum(levels.values[row, n] * weights.vector[n] for n, ind in enumerate(ARAB.indicators)
                         if ind.area == a.id) for a in ARAB.areas}
    assert np.allclose(table.area_scores[row], [by_hand[a] for a in table.areas])
    assert np.isclose(table.totals[row], sum(by_hand.values()))
    assert not weights.example


def test_every_format_is_written_and_reads_back(tmp_path):
    levels, weights, table = scored_fixture()
    ranking = rank_table(table)
    comparison = compare(table, read_clusters(cluster_file(tmp_path, "abu-dhabi, dubai, doha"), ARAB, REGISTRY))
    stability = rank_stability(levels.values, weights.panel, ARAB.tiers, resamples=100)
    report = Report(table, ranking, "zh", comparison, stability, ("a note",))
    files = publish(report, tmp_path / "out", ["csv", "xlsx", "md", "html"])
    names = {f.name for f in files}
    assert {"totals.csv", "area-digital.csv", "tiers.csv", "clusters.csv", "stability.csv",
            "scores.xlsx", "scores.md", "scores.html"} <= names

    with (tmp_path / "out" / "totals.csv").open(encoding="utf-8") as f:
        totals = list(csv.DictReader(f))
    assert list(totals[0]) == ["city", "rank", "total", "digital", "traditional", "institutional", "tier"]
    assert len(totals) == 12
    for row in totals:
        assert abs(float(row["total"]) - sum(float(row[a]) for a in table.areas)) <= 0.015
    assert [int(r["rank"]) for r in totals] == sorted(int(r["rank"]) for r in totals)
    tied = [r["city"] for r in totals if r["rank"] == "6"]
    assert tied == ["cairo", "sharjah"]  # the fixture's tie, listed alphabetically

    book = load_workbook(tmp_path / "out" / "scores.xlsx")
    assert book.sheetnames == ["total", "digital", "traditional", "institutional", "tiers", "clusters", "stability", "notes"]
    total = book["total"]
    assert total["A2"].value == "排名" and total["B3"].value == "阿布扎比" and total["A3"].value == 1
    assert total["C3"].value == pytest.approx(float(totals[0]["total"]), abs=0.005)
    assert book["clusters"]["A3"].value == "海湾"

    markdown = (tmp_path / "out" / "scores.md").read_text(encoding="utf-8")
    assert "| 排名" in markdown and "阿布扎比" in markdown and "> a note" in markdown
    page = (tmp_path / "out" / "scores.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<table>" in page and "阿布扎比" in page


def test_tier_sheet_lists_each_tier_in_two_alphabetical_columns(tmp_path):
    _, _, table = scored_fixture()
    publish(Report(table, rank_table(table), "zh"), tmp_path, ["xlsx"])
    sheet = load_workbook(tmp_path / "scores.xlsx")["tiers"]
    rows = [[c.value or "" for c in row] for row in sheet.iter_rows(min_row=3)]
    last = next(r for r in rows if r[2] == "50%-100%")
    tier4 = rows[rows.index(last):]
    column_order = [r[0] for r in tier4] + [r[1] for r in tier4 if r[1]]
    assert column_order == ["达曼", "吉萨", "卡萨布兰卡", "拉巴特", "亚历山大"]  # pinyin: da, ji, ka, la, ya


def test_charts_are_written_as_png_and_svg(tmp_path):
    levels, weights, table = scored_fixture()
    ranking = rank_table(table)
    comparison = compare(table, read_clusters(cluster_file(tmp_path, "abu-dhabi, dubai"), ARAB, REGISTRY))
    stability = rank_stability(levels.values, weights.panel, ARAB.tiers, resamples=50)
    files = (charts.area_bars(table, ranking, tmp_path, "zh", top=5)
             + charts.cluster_bars(table, comparison, tmp_path, "en")
             + charts.rank_intervals(table, stability, tmp_path, "en"))
    assert sorted(f.name for f in files) == ["area-bars.png", "area-bars.svg", "clusters.png", "clusters.svg",
                                             "rank-intervals.png", "rank-intervals.svg"]
    for f in files:
        data = f.read_bytes()
        assert data.startswith(b"\x89PNG") if f.suffix == ".png" else b"<svg" in data
    assert "阿布扎比" in (tmp_path / "area-bars.svg").read_text(encoding="utf-8")  # text kept as text, in a CJK font
    assert charts.cjk_font() is not None


def test_charts_fall_back_to_english_without_a_cjk_font():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert charts.chart_lang("zh", families=("No Such CJK Font",)) == "en"
    assert "no CJK font" in str(caught[0].message)
    assert charts.chart_lang("zh") == "zh" and charts.chart_lang("en", families=()) == "en"


def test_clusters_average_their_members(tmp_path):
    _, _, table = scored_fixture()
    comparison = compare(table, read_clusters(cluster_file(tmp_path, "abu-dhabi, dubai, doha"), ARAB, REGISTRY))
    rows = {c.id: n for n, c in enumerate(table.cities)}
    gulf = table.area_scores[[rows["abu-dhabi"], rows["dubai"], rows["doha"]]].mean(axis=0)
    assert np.allclose(comparison.area_scores[0], gulf) and np.isclose(comparison.totals[0], gulf.sum())
    assert comparison.members == [3, 3]


def test_cluster_members_must_be_cities_of_the_edition(tmp_path):
    path = cluster_file(tmp_path, "dubai, atlantis, beijing")
    path.write_text(path.read_text(encoding="utf-8").replace("id: nile", "id: gulf"), encoding="utf-8")
    with pytest.raises(DataErrors) as caught:
        read_clusters(path, ARAB, REGISTRY)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}: clusters[0] (gulf).cities[1]: 'atlantis' is not in the city registry",
        f"{path}: clusters[0] (gulf).cities[2]: 'beijing' is not a city of arab-2024",
        f"{path}: clusters[1].id: cluster id 'gulf' is used twice",
    ]


@pytest.mark.parametrize("edition", ["arab-2024", "g20-2023"])
def test_shipped_cluster_files_match_the_shipped_registry(edition):
    clusters = read_clusters(clusters_path(edition), load_framework(edition), load_registry())
    assert len(clusters) >= 4 and all(k.definition for k in clusters)
