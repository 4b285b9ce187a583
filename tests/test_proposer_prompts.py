"""Prompt templates: versioned files, validated on load, the ladder rendered from the framework."""

from __future__ import annotations

import pytest

from evidence.errors import DataError, DataErrors
from frameworks import load_framework
from prompts import load_prompt, read_prompt, versions
from review.proposer.evidence import Evidence
from review.proposer.llm import messages, render_ladder
from sources import load_registry


def write(directory, name: str, text: str):
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_newest_version_is_loaded_unless_one_is_asked_for(tmp_path):
    for n in (1, 2):
        write(tmp_path, f"ask.v{n}.yaml", f"name: ask\nversion: {n}\nsystem: 'sys {n}'\nuser: 'hello {{city}}'\n")
    assert versions("ask", tmp_path) == [1, 2]
    assert load_prompt("ask", directory=tmp_path).id == "ask.v2"
    assert load_prompt("ask", 1, tmp_path).system == "sys 1"
    with pytest.raises(DataError, match="no version 3"):
        load_prompt("ask", 3, tmp_path)
    with pytest.raises(DataError, match="no prompt template named 'nothing'"):
        load_prompt("nothing", directory=tmp_path)


def test_a_broken_template_names_the_file_and_field(tmp_path):
    with pytest.raises(DataErrors, match=r"ask\.v1\.yaml: user: Field required"):
        read_prompt(write(tmp_path, "ask.v1.yaml", "name: ask\nversion: 1\nsystem: hi\n"))
    with pytest.raises(DataError, match=r"ask\.v2\.yaml: version: 1 does not match the file name \(2\)"):
        read_prompt(write(tmp_path, "ask.v2.yaml", "name: ask\nversion: 1\nsystem: hi\nuser: there\n"))
    prompt = read_prompt(write(tmp_path, "ask.v3.yaml", "name: ask\nversion: 3\nsystem: hi\nuser: '{city} {level}'\n"))
    with pytest.raises(DataError, match=r"ask\.v3\.yaml: level: no value given"):
        prompt.render(city="Cairo")


def test_the_shipped_template_renders_every_ladder_of_every_edition():
    prompt = load_prompt("propose-level")
    assert prompt.id == "propose-level.v2" and len(prompt.digest) == 64
    cairo = load_registry().get("cairo")
    for edition in ("arab-2024", "g20-2023", "asia-2022"):
        framework = load_framework(edition)
        for indicator in framework.indicators:
            system, user = (m.content for m in messages(prompt, framework, cairo, indicator,
                                                        Evidence(edition, "cairo", indicator.id, [])))
            assert f"(0 to {indicator.top})" in user and framework.title.en in system
            assert all(rung.text.zh in user for rung in indicator.rungs)
            assert ("draft" in render_ladder(indicator)) == indicator.draft
            assert "(no passages were found)" in user
