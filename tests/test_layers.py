"""The import-linter contracts in pyproject.toml hold, and an import against them fails.

lint-imports runs on a copy of the packages (their .py files and pyproject.toml), first as they are, then
with one deliberate violation added: an upward import across the layers, and a cycle inside a package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "watch", "scoring", "review", "vectorstore", "collector", "sources", "frameworks", "prompts",
            "evidence")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=lambda folder, names: [n for n in names if not n.endswith(".py")
                                                      and not (Path(folder) / n).is_dir()])
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # the copy comes first on the path, ahead of the editable install that points at the real tree
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_contracts_hold(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tree):
    # the shared ground importing the review layer: what evidence/cli.py used to do
    (tree / "evidence" / "upward.py").write_text("from review.decisions import confirmations\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "evidence.upward -> review.decisions" in result.stdout
    assert "Layers: data flows one way" in result.stdout


def test_a_cycle_inside_a_package_is_refused(tree):
    # what the views shared used to live in the app module, which imported the views back
    base = tree / "review" / "web" / "base.py"
    base.write_text(base.read_text() + "\nfrom review.web import pages  # noqa: E402\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "No cycles among the modules of a package" in result.stdout
    assert "No cycles are allowed in review.web" in result.stdout and ".base -> .pages" in result.stdout


def test_the_readme_draws_the_layers_the_contract_enforces():
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c["layers"] for c in contract["contracts"] if c["type"] == "layers")
    drawn = re.search(r"each from those below it: (.+?)\. `make lint`", (ROOT / "README.md").read_text(encoding="utf-8"),
                      re.DOTALL)
    assert drawn, "the README's layer sentence is gone"
    names = [re.findall(r"`(\w+)`", step) for step in " ".join(drawn.group(1).split()).split("→")]
    assert [" | ".join(step) for step in names] == layers
    assert set(contract["root_packages"]) == {p for step in names for p in step} == set(PACKAGES)
