"""The `evidence` command as a user runs it: a real process, tables for people, JSON for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EVIDENCE = str(Path(sys.executable).with_name("evidence"))


def run(*args, cwd=None, env=None):
    return subprocess.run([EVIDENCE, *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def test_frameworks_show_prints_the_ladder():
    out = run("frameworks", "show", "arab-2024")
    assert out.returncode == 0, out.stderr
    assert "11 indicators in 3 areas" in out.stdout
    assert "Satellite internet at scale" in out.stdout
    zh = run("frameworks", "show", "arab-2024", "--lang", "zh")
    assert "数字基础设施" in zh.stdout


def test_frameworks_json_is_one_document():
    doc = json.loads(run("frameworks", "show", "arab-2024", "--json").stdout)
    assert len(doc["indicators"]) == 11
    assert doc["indicators"][1]["rungs"][1]["level"] == 2
    listing = json.loads(run("frameworks", "list", "--json").stdout)
    assert {e["id"] for e in listing} >= {"arab-2024", "g20-2023"}


def test_cities_list_counts():
    g20 = json.loads(run("cities", "list", "--edition", "g20-2023", "--json").stdout)
    assert len(g20) == 184
    assert len(json.loads(run("cities", "list", "--edition", "arab-2024", "--json").stdout)) == 62
    assert "184 cities" in run("cities", "list", "--edition", "g20-2023").stdout


def test_weights_aggregate(tmp_path):
    from frameworks.weights import example_weights_path

    out = run("weights", "aggregate", str(example_weights_path("arab-2024")), "--edition", "arab-2024",
              "--method", "median", "--json")
    doc = json.loads(out.stdout)
    assert doc["method"] == "median" and len(doc["weights"]) == 11
    assert all(w["minimum"] <= w["weight"] <= w["maximum"] for w in doc["weights"])


def test_errors_name_the_place_and_exit_2(tmp_path):
    bad = tmp_path / "panel.csv"
    bad.write_text("expert,group,indicator,weight\ne1,digital,warp-drive,1\n", encoding="utf-8")
    out = run("weights", "aggregate", str(bad), "--edition", "arab-2024")
    assert out.returncode == 2
    assert f"{bad}: line 2 (expert e1, indicator warp-drive): unknown indicator" in out.stderr
    out = run("frameworks", "show", "arab-2099")
    assert out.returncode == 2 and "no framework for edition 'arab-2099'" in out.stderr


def test_doctor_reports_settings_from_toml_and_environment(tmp_path):
    (tmp_path / "evidence.toml").write_text('data_dir = "from-toml"\nllm_model = "qwen-plus"\n', encoding="utf-8")
    env = {"EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}", "EVIDENCE_LLM_BASE_URL": ""}
    out = run("doctor", "--json", cwd=tmp_path, env=env)
    checks = {c["check"]: c for c in json.loads(out.stdout)}
    assert checks["data directory"]["detail"].endswith("from-toml")
    assert "env.db" in checks["database"]["detail"] and checks["database"]["ok"]
    assert "offline proposer" in checks["proposer"]["detail"]
