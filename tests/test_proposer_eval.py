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


REPORT_ZH = """政府工作报告
——2031年1月20日在某省人民代表大会上
一、2030年工作回顾
过去一年，全省城际高铁建成通车，高铁运营里程突破3000公里。
全省新建5G基站2万座，5G网络实现县城以上全覆盖。
二、2031年工作安排
加快建设全光网络，推进卫星互联网应用，力争建成量子通信骨干网。
"""
SPEECH_EN = """Budget Statement 2031

Today, every home in the city can get gigabit fibre broadband, and our 5G network covers the whole island.
We will build a satellite internet service for ships and remote islands over the next five years.
"""


def _write_key(folder: Path) -> Path:
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "province-2031.txt").write_text(REPORT_ZH, encoding="utf-8")
    (folder / "docs" / "island-2031.txt").write_text(SPEECH_EN, encoding="utf-8")
    rows = ["doc,city,indicator,level,start,end,confidence,reason"]
    for doc, city, text, indicator, level, sentence, confidence in (
            ("province-2031", "testprovince", REPORT_ZH, "transport-network", 2, "过去一年，全省城际高铁建成通车", "high"),
            ("province-2031", "testprovince", REPORT_ZH, "wireless-network", 2, "全省新建5G基站2万座", "high"),
            ("province-2031", "testprovince", REPORT_ZH, "wired-network", 0, None, "high"),
            ("island-2031", "testisland", SPEECH_EN, "wireless-network", 2, "Today, every home", "medium"),
            ("island-2031", "testisland", SPEECH_EN, "wired-network", 2, "Today, every home", "low")):
        start = text.index(sentence) if sentence else ""
        end = text.index("\n", start) if sentence else ""
        rows.append(f"{doc},{city},{indicator},{level},{start},{end},{confidence},a reason")
    key = folder / "key.csv"
    key.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return key


def _user_registry(folder: Path) -> Path:
    folder.mkdir()
    (folder / "xx.yaml").write_text(
        "country: CN\ncities:\n  - id: testprovince\n    name: {en: Test Province, zh: 测试省, local: 测试省}\n"
        "    languages: [zh]\n    editions: [arab-2024]\n", encoding="utf-8")
    (folder / "sg.yaml").write_text(
        "country: SG\ncities:\n  - id: testisland\n    name: {en: Test Island, zh: 测试岛, local: Test Island}\n"
        "    languages: [en]\n    editions: [arab-2024]\n", encoding="utf-8")
    return folder


def test_a_per_document_key_is_asked_of_each_document_and_reads_achieved_from_planned(tmp_path, monkeypatch):
    """Two documents served on loopback, two places from a user registry folder, the whole chain by the CLI."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    key = _write_key(tmp_path / "key")
    registry = _user_registry(tmp_path / "registry")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(key.parent / "docs")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f"  - {{city: {city}, url: '{base}/{doc}.txt', kind: seed, allow_private: true, provenance: test}}\n"
        for city, doc in (("testprovince", "province-2031"), ("testisland", "island-2031"))), encoding="utf-8")
    env = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
           "EVIDENCE_LLM_BASE_URL": "", "EVIDENCE_REGISTRY_DIRS": json.dumps([str(registry)]),
           "EVIDENCE_CRAWL_DELAY": "0"}
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    try:
        crawled = runner.invoke(app, ["crawl", "--edition", "arab-2024", "--sources", str(sources), "--depth", "0",
                                      "--city", "testprovince", "--city", "testisland", "--json"], env=env)
        assert crawled.exit_code == 0, crawled.output
    finally:
        server.shutdown()
        server.server_close()
    assert runner.invoke(app, ["index", "--quiet"], env=env).exit_code == 0
    result = runner.invoke(app, ["eval", "--key", str(key), "--edition", "arab-2024", "--method", "offline",
                                 "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    proposed = {(q["doc"], q["indicator"]): q["proposed"] for q in report["questions"]}
    assert proposed[("province-2031", "transport-network")] == 2  # 建成通车 in the review of the past year
    assert proposed[("province-2031", "wireless-network")] == 2  # never 3: 卫星互联网 is among this year's tasks
    assert proposed[("province-2031", "wired-network")] == 0  # 全光网络 is a task, not an achievement
    assert proposed[("island-2031", "wireless-network")] == 2  # satellite internet "will" be built
    assert set(report["by_document"]) == {"province-2031", "island-2031"}
    overall = report["overall"]
    assert overall["planned_only_shown"] == 0 and overall["sentence_recall"] == 1.0 and overall["supported"] == 1.0
    assert report["confident"]["n"] == 4 and overall["kappa_quadratic"] is not None
    missing = runner.invoke(app, ["eval", "--key", str(key), "--method", "offline"], env=env)
    assert missing.exit_code != 0 and "give --edition" in str(missing.exception)  # main() makes it exit 2
