"""`evidence eval`: metrics, the answer key's errors, and the offline proposer on the sample's answer key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import app
from evidence.errors import DataError
from review.proposer.evaluate import key_questions, metrics, read_key

GOLD = Path(__file__).resolve().parents[1] / "sources" / "sample" / "gold.csv"


def linear_kappa(gold: list[int], proposed: list[int], k: int) -> float:
    """Weighted kappa from its definition, to check the library's against."""
    observed = np.zeros((k, k))
    for g, p in zip(gold, proposed):
        observed[g, p] += 1
    expected = np.outer(observed.sum(1), observed.sum(0)) / len(gold)
    weights = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    return 1 - (weights * observed).sum() / (weights * expected).sum()


def test_metrics_exact_within_one_and_weighted_kappa():
    gold, proposed = [0, 1, 2, 2, 3, 1, 2], [0, 1, 2, 1, 1, 1, 3]
    m = metrics(gold, proposed, [0, 1, 2, 3])
    assert m["n"] == 7 and m["exact"] == pytest.approx(4 / 7) and m["within_one"] == pytest.approx(6 / 7)
    assert m["kappa"] == pytest.approx(linear_kappa(gold, proposed, 4))
    assert metrics([2, 2], [2, 2], [0, 1, 2])["kappa"] is None  # undefined when nothing varies
    assert metrics([], [], [0])["exact"] is None


def test_answer_key_errors_name_the_file_and_line(tmp_path):
    key = tmp_path / "key.csv"
    key.write_text("edition,city,indicator,level,documents,note\n"
                   "g20-2023,tokyo,wired-network,2,,\n"
                   "g20-2023,tokyo,wired-network,1,,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"key\.csv: line 3: g20-2023/tokyo/wired-network is listed twice"):
        read_key(key)
    key.write_text("edition,city,indicator,level,documents,note\ng20-2023,atlantis,wired-network,2,,\n",
                   encoding="utf-8")
    with pytest.raises(DataError, match=r"key\.csv: line 2: .*atlantis"):
        key_questions(read_key(key))
    key.write_text("edition,city,indicator,level,documents,note\ng20-2023,tokyo,wired-network,two,,\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        read_key(key)


def test_the_offline_proposer_beats_the_majority_baseline_on_the_sample(tmp_path, monkeypatch):
    """Three sample cities in three scripts, crawled for real from the loopback sample and indexed."""
    key = tmp_path / "key.csv"
    lines = GOLD.read_text(encoding="utf-8").splitlines(keepends=True)
    key.write_text(lines[0] + "".join(line for line in lines[1:] if line.split(",")[1] in ("riyadh", "moscow", "tokyo")),
                   encoding="utf-8")
    env = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
           "EVIDENCE_EMBEDDING_MODEL": "use-multilingual", "EVIDENCE_LLM_BASE_URL": ""}
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for edition, cities in (("arab-2024", ["riyadh"]), ("g20-2023", ["moscow", "tokyo"])):
        crawled = runner.invoke(app, ["crawl", "--edition", edition, "--sample", "--sample-port", "0", "--json",
                                      *[a for c in cities for a in ("--city", c)]], env=env)
        assert crawled.exit_code == 0, crawled.output
    assert runner.invoke(app, ["index", "--quiet"], env=env).exit_code == 0
    result = runner.invoke(app, ["eval", "--gold", str(key), "--method", "offline", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    overall = report["overall"]
    assert overall["n"] == 23 and overall["missing"] == 0
    assert overall["exact"] > overall["baseline"]["exact"], overall
    assert overall["within_one"] >= overall["baseline"]["within_one"] and overall["kappa"] > 0
    assert overall["citation_support"] == 1.0  # offline quotes are copied from their chunks
    assert set(report["by_language"]) == {"ar", "ru", "ja"} and len(report["by_indicator"]) == 12
    assert sum(map(sum, report["confusion"])) == 23
    table = runner.invoke(app, ["eval", "--gold", str(key), "--method", "offline"], env=env)
    assert table.exit_code == 0 and "per indicator" in table.output and "confusion matrix" in table.output
    assert "majority baseline, always level" in table.output
