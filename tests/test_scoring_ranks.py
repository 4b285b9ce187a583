"""Scores, ranks, tiers and alphabetical order against the published Asia 2022 and G20 2023 tables."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from evidence.vocabulary import City, Names, Text, Tier
from frameworks import load_framework
from scoring.collation import sort_key
from scoring.ranks import by_tier, competition_ranks, rank_table, tier_ids
from scoring.scores import from_area_scores

FIXTURES = Path(__file__).parent / "fixtures"


def rows(name: str) -> list[dict]:
    lines = [line for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def city(city_id: str, zh: str, en: str | None = None, edition: str = "asia-2022") -> City:
    en = en or city_id.title()
    return City(id=city_id, name=Names(en=en, zh=zh, local=zh), country="CN", languages=["zh"], editions=[edition])


def test_greater_china_table_reproduced_from_its_area_scores():
    edition = load_framework("asia-2022")
    published = rows("asia-2022-greater-china.csv")
    areas = [a.id for a in edition.areas]
    table = from_area_scores(edition, tuple(city(r["city"], r["name"]) for r in published),
                             np.array([[float(r[a]) for a in areas] for r in published]))
    totals = dict(zip((c.id for c in table.cities), table.totals))
    for r in published:
        assert abs(totals[r["city"]] - float(r["total"])) <= 0.02, r["city"]
    ranking = rank_table(table)
    ours = [table.cities[n].id for n in np.argsort(ranking.ranks, kind="stable")]
    assert ours == [r["city"] for r in sorted(published, key=lambda r: int(r["rank"]))]
    assert [int(x) for x in ranking.ranks] == [int(r["rank"]) for r in published]


def test_digital_infrastructure_ties_rank_1_1_3():
    published = rows("asia-2022-digital.csv")
    ranks = competition_ranks(np.array([float(r["score"]) for r in published]))
    assert [int(x) for x in ranks] == [int(r["rank"]) for r in published]  # all 48 printed ranks
    by_name = dict(zip((r["city"] for r in published), ranks))
    assert by_name["杭州"] == by_name["南京"] == 1 and by_name["上海"] == 3
    assert by_name["北京"] == by_name["深圳"] == by_name["广州"] == 5 and by_name["重庆"] == 8


def test_total_table_ranks_match_the_report():
    published = rows("asia-2022-total.csv")
    ranks = competition_ranks(np.array([float(r["score"]) for r in published]))
    assert [int(x) for x in ranks] == list(range(1, 49))


def test_ties_compare_the_shown_two_decimals():
    assert list(competition_ranks(np.array([10.004, 10.001, 9.996, 9.0]))) == [1, 1, 1, 4]
    assert list(competition_ranks(np.array([10.01, 10.0]))) == [1, 2]


def test_stacked_ranks_equal_row_by_row():
    scores = np.round(np.random.default_rng(3).uniform(0, 5, size=(50, 30)), 0)  # many ties
    stacked = competition_ranks(scores)
    for row, ranks in zip(scores, stacked):
        expected = [1 + int((row > s).sum()) for s in row]
        assert list(ranks) == expected


TIERS = [Tier(id=1, upto=10, name=Text(en="top 10%", zh="前 10%")),
         Tier(id=2, upto=30, name=Text(en="10-30%", zh="10%-30%")),
         Tier(id=3, upto=60, name=Text(en="30-60%", zh="30%-60%")),
         Tier(id=4, upto=100, name=Text(en="60-100%", zh="60%-100%"))]


def test_tier_boundaries_by_share_of_the_table():
    ranks = np.arange(1, 21)  # 20 cities: 2 in the top 10 %, 4 more to 30 %, 6 more to 60 %
    assert list(tier_ids(ranks, TIERS)) == [1] * 2 + [2] * 4 + [3] * 6 + [4] * 8


def test_a_tie_across_a_boundary_goes_to_the_higher_tier():
    scores = np.array([100, 90, 90, 90, *range(80, 64, -1)], dtype=float)  # 20 cities, ranks 1, 2, 2, 2, 5…
    tiers = tier_ids(competition_ranks(scores), TIERS)
    assert list(tiers[:4]) == [1, 1, 1, 1]  # the three tied at rank 2 all stay in the top tier
    assert tiers[4] == 2
    without_tie = tier_ids(competition_ranks(np.arange(20, 0, -1, dtype=float)), TIERS)
    assert list(without_tie[:4]) == [1, 1, 2, 2]


def test_within_a_tier_cities_are_listed_in_pinyin_order():
    edition = load_framework("g20-2023")
    names = {"chongqing": "重庆", "shanghai": "上海", "beijing": "北京", "shenzhen": "深圳", "xiamen": "厦门"}
    cities = tuple(city(i, zh, edition="g20-2023") for i, zh in names.items())
    # everyone in one tier except xiamen, far behind
    table = from_area_scores(edition, cities, np.array([[50, 50, 50]] * 4 + [[1, 1, 1]], dtype=float))
    order = [table.cities[n].name.zh for n in by_tier(table, rank_table(table), "zh")]
    assert order == ["北京", "重庆", "上海", "深圳", "厦门"]  # bei < chong (not zhong) < shang < shen
    assert [table.cities[n].id for n in by_tier(table, rank_table(table), "en")] == \
        ["beijing", "chongqing", "shanghai", "shenzhen", "xiamen"]


def test_pinyin_order_of_the_g20_tier_tables():
    tiers: dict[int, list[str]] = {}
    for r in rows("g20-2023-total-tiers.csv"):
        tiers.setdefault(int(r["tier"]), []).append(r["name"])
    assert sum(map(len, tiers.values())) == 184
    key = sort_key("zh")
    for tier in (1, 2):  # the report's order exactly
        shuffled = random.Random(tier).sample(tiers[tier], len(tiers[tier]))
        assert sorted(shuffled, key=key) == tiers[tier]
    # tiers 3 and 4: every adjacent pair agrees except four the report orders by other rules than it
    # uses elsewhere: syllable by syllable (神户 shen before 圣彼得堡 sheng, 呼和浩特 hu before 华沙 hua,
    # where tier 2 has 厦门 xiamen before 西雅图 xiyatu), by tone (威尼斯 wēi before 维尔纽斯 wéi), or
    # by no pinyin rule at all (杰克逊维尔 jie before 吉达 ji)
    disagreements = [(a, b) for tier in (3, 4) for a, b in zip(tiers[tier], tiers[tier][1:]) if key(a) > key(b)]
    assert disagreements == [("神户", "圣彼得堡"), ("威尼斯", "维尔纽斯"), ("呼和浩特", "华沙"), ("杰克逊维尔", "吉达")]


def test_other_languages_use_unicode_collation():
    names = ["Zagreb", "Łódź", "Århus", "Lyon", "Ankara", "Évora", "Eindhoven"]
    assert sorted(names, key=sort_key("en")) == ["Ankara", "Århus", "Eindhoven", "Évora", "Łódź", "Lyon", "Zagreb"]


def test_area_scores_of_the_wrong_shape_are_refused():
    edition = load_framework("asia-2022")
    with pytest.raises(ValueError, match="expected 1 × 6 area scores"):
        from_area_scores(edition, (city("beijing", "北京"),), np.zeros((1, 3)))


def test_the_leaders_are_in_the_first_tier_even_in_a_tiny_table():
    tiers = load_framework("arab-2024").tiers
    assert tier_ids(np.array([1, 2, 3]), tiers).tolist() == [1, 4, 4]
    assert tier_ids(np.array([1, 1, 3]), tiers).tolist() == [1, 1, 4]
