"""`evidence score` as a user runs it: a real process, files written and read back, errors named."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from evidence.database import session_scope
from evidence.record import Decision, Proposal, Reviewer
from frameworks import load_framework

EVIDENCE = str(Path(sys.executable).with_name("evidence"))
FIXTURES = Path(__file__).parent / "fixtures"
LEVELS = str(FIXTURES / "scoring-levels-arab-2024.csv")
PANEL = str(FIXTURES / "scoring-panel-arab-2024.csv")
REGISTRY = str(FIXTURES / "scoring-registry")
BASE = ["score", "--edition", "arab-2024", "--registry", REGISTRY]


def run(*args, env=None):
    return subprocess.run([EVIDENCE, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_score_writes_tables_and_charts(tmp_path):
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text("edition: arab-2024\nclusters:\n"
                        "  - {id: gulf, name: {en: Gulf, zh: 海湾}, definition: test, cities: [abu-dhabi, dubai, doha]}\n"
                        "  - {id: maghreb, name: {en: Morocco, zh: 摩洛哥}, definition: test, cities: [rabat, casablanca]}\n",
                        encoding="utf-8")
    out = tmp_path / "tables"
    done = run(*BASE, "--levels", LEVELS, "--weights", PANEL, "--out", str(out), "--clusters", str(clusters),
               "--stability", "200", "--lang", "zh")
    assert done.returncode == 0, done.stderr
    assert "阿布扎比" in done.stdout and "wrote 16 files" in done.stdout
    totals = read_csv(out / "totals.csv")
    assert [r["city"] for r in totals][:2] == ["abu-dhabi", "dubai"] and totals[0]["tier"] == "1"
    assert {r["cluster"] for r in read_csv(out / "clusters.csv")} == {"gulf", "maghreb"}
    assert len(read_csv(out / "stability.csv")) == 12
    charts = sorted(p.name for p in (out / "charts").iterdir())
    assert charts == ["area-bars.png", "area-bars.svg", "clusters.png", "clusters.svg",
                      "rank-intervals.png", "rank-intervals.svg"]
    assert {"scores.xlsx", "scores.md", "scores.html", "tiers.csv"} <= {p.name for p in out.iterdir()}


def test_score_json_is_one_document(tmp_path):
    done = run(*BASE, "--levels", LEVELS, "--weights", PANEL, "--out", str(tmp_path), "--format", "csv",
               "--no-charts", "--no-clusters", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["complete"] and not doc["weights"]["example"] and len(doc["cities"]) == 12
    assert [c["rank"] for c in doc["cities"]] == sorted(c["rank"] for c in doc["cities"])
    assert all(abs(c["total"] - sum(c["areas"].values())) <= 0.015 for c in doc["cities"])


def test_incomplete_levels_are_refused_then_published_with_every_gap(tmp_path):
    levels = tmp_path / "levels.csv"
    lines = Path(LEVELS).read_text(encoding="utf-8").splitlines()
    levels.write_text("\n".join(line for line in lines if not line.startswith(("doha,", "rabat,water"))) + "\n",
                      encoding="utf-8")
    refused = run(*BASE, "--levels", str(levels), "--weights", PANEL, "--out", str(tmp_path / "out"))
    assert refused.returncode == 2
    assert "levels are incomplete, 12 missing" in refused.stderr
    assert "rabat: water-ecosystem" in refused.stderr
    assert "doha: wired-network, wireless-network, artificial-intelligence" in refused.stderr
    assert not (tmp_path / "out").exists()

    allowed = run(*BASE, "--levels", str(levels), "--weights", PANEL, "--out", str(tmp_path / "out"),
                  "--allow-incomplete", "--no-charts", "--no-clusters")
    assert allowed.returncode == 0, allowed.stderr
    assert "12 missing levels, counted as 0" in allowed.stdout and "rabat: water-ecosystem" in allowed.stdout
    gaps = read_csv(tmp_path / "out" / "gaps.csv")
    indicators = [i.id for i in load_framework("arab-2024").indicators]
    assert sorted((g["city"], g["indicator"]) for g in gaps) == \
        sorted([("doha", i) for i in indicators] + [("rabat", "water-ecosystem")])
    assert "INCOMPLETE" in (tmp_path / "out" / "scores.md").read_text(encoding="utf-8")


def test_a_bad_level_names_the_row(tmp_path):
    levels = tmp_path / "levels.csv"
    levels.write_text("city,indicator,level\ndubai,digital-society,3\n", encoding="utf-8")
    done = run(*BASE, "--levels", str(levels), "--weights", PANEL, "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert (f"{levels}: line 2 (city dubai, indicator digital-society): level 3 is above the top of the "
            "digital-society ladder (2)") in done.stderr
    bad_format = run(*BASE, "--levels", LEVELS, "--weights", PANEL, "--out", str(tmp_path), "--format", "csv,pdf")
    assert bad_format.returncode == 2 and "unknown format(s) pdf" in bad_format.stderr


def test_example_weights_are_used_by_default_with_a_warning(tmp_path):
    done = run(*BASE, "--levels", LEVELS, "--out", str(tmp_path), "--format", "md", "--no-charts", "--no-clusters")
    assert done.returncode == 0, done.stderr
    assert "EXAMPLE weights" in done.stderr and "example-weights-arab-2024.csv" in done.stderr
    assert "EXAMPLE WEIGHTS" in (tmp_path / "scores.md").read_text(encoding="utf-8")


def test_levels_come_from_confirmed_decisions_in_the_database(tmp_path, database_url):
    edition = load_framework("arab-2024")
    with session_scope(database_url) as s:
        first, second = Reviewer(name="ar-1"), Reviewer(name="ar-2")
        s.add_all([first, second])
        s.flush()
        for city in ("dubai", "cairo"):
            for n, indicator in enumerate(edition.indicators):
                proposal = Proposal(edition="arab-2024", city=city, indicator=indicator.id, level=1,
                                    method="offline", input_hash=f"{city}{n}")
                s.add(proposal)
                s.flush()
                action, level = ("accept", 1) if city == "dubai" else ("reject", 0)
                for sequence, reviewer in enumerate((first, second), 1):  # a first review, then its verification
                    s.add(Decision(proposal_id=proposal.id, reviewer_id=reviewer.id, round=sequence, action=action,
                                   level=level, sequence=sequence))
    done = run(*BASE, "--city", "dubai", "--city", "cairo", "--weights", PANEL, "--out", str(tmp_path),
               "--format", "csv", "--no-charts", "--no-clusters", env={"EVIDENCE_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    totals = {r["city"]: r for r in read_csv(tmp_path / "totals.csv")}
    assert float(totals["dubai"]["total"]) > 0 and float(totals["cairo"]["total"]) == 0
    assert totals["dubai"]["rank"] == "1" and totals["cairo"]["rank"] == "2"


def test_stability_command(tmp_path):
    done = run(*BASE, "stability", "--edition", "arab-2024", "--registry", REGISTRY, "--levels", LEVELS,
               "--weights", PANEL, "--resamples", "300", "--out", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["resamples"] == 300 and doc["stratified"] and len(doc["cities"]) == 12
    assert all(c["low"] <= c["high"] and 0 <= c["tier_probability"] <= 1 for c in doc["cities"])
    assert (tmp_path / "stability.csv").exists() and (tmp_path / "charts" / "rank-intervals.svg").exists()
    table = run("score", "stability", "--edition", "arab-2024", "--registry", REGISTRY, "--levels", LEVELS,
                "--weights", PANEL, "--resamples", "100")
    assert table.returncode == 0 and "100 resampled panels" in table.stdout


def test_check_reports_the_city_listed_twice_in_the_data_market_table():
    table = str(FIXTURES / "asia-2022-data-market.csv")
    done = run("score", "check", table, "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["rows"] == 48
    assert [(f["kind"], f["city"]) for f in doc["findings"]] == [("duplicate-city", "曼谷")]
    assert "rank 15 score 14.84" in doc["findings"][0]["message"] and "rank 40 score 4.00" in doc["findings"][0]["message"]
    against = run("score", "check", table, "--against", str(FIXTURES / "asia-2022-total.csv"))
    assert against.returncode == 1 and "duplicate-city" in against.stdout and "missing-city" in against.stdout
    assert "安曼" in against.stdout


def test_check_finds_nothing_wrong_with_the_greater_china_table(tmp_path):
    done = run("score", "check", str(FIXTURES / "asia-2022-greater-china.csv"))
    assert done.returncode == 0 and "13 rows, no findings" in done.stdout
    broken = tmp_path / "broken.csv"
    broken.write_text("rank,city,total,a,b\n1,x,10.00,5.00,5.00\n1,y,9.00,4.00,4.00\n", encoding="utf-8")
    doc = json.loads(run("score", "check", str(broken), "--json").stdout)
    assert [(f["kind"], f["city"], f["lines"]) for f in doc["findings"]] == [
        ("total-not-sum-of-areas", "y", [3]), ("rank-inconsistent-with-score", "y", [3])]
