"""Levels from CSV, Excel and the record: every bad row named, gaps listed, only final verdicts used."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

from evidence.database import session_scope
from evidence.errors import DataError, DataErrors
from evidence.record import Decision, Proposal, Reviewer
from frameworks import load_framework
from review.decisions import confirmed_levels
from scoring.levels import edition_cities, levels_from_database, read_levels
from sources import read_registry

FIXTURES = Path(__file__).parent / "fixtures"
REGISTRY = read_registry(FIXTURES / "scoring-registry")
ARAB = load_framework("arab-2024")
CITIES = edition_cities(REGISTRY, ARAB)


def write(tmp_path: Path, text: str, name: str = "levels.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_complete_levels_file():
    table = read_levels(FIXTURES / "scoring-levels-arab-2024.csv", ARAB, CITIES, REGISTRY)
    assert table.complete and table.values.shape == (12, 11)
    row = [c.id for c in table.cities].index("abu-dhabi")
    assert table.values[row, table.indicators.index("wired-network")] == 4


def test_every_bad_row_is_named(tmp_path):
    path = write(tmp_path, "# a comment\ncity,indicator,level\n"
                           "dubai,wired-network,5\n"             # above the ladder (top 4)
                           "atlantis,wired-network,1\n"          # not in the registry
                           "dubai,warp-drive,1\n"                # not an indicator of the edition
                           "wuhan,wired-network,1\n"             # a registry city of another edition
                           "dubai,water-ecosystem,two\n"         # not a number
                           "dubai,smart-energy,-1\n"
                           "dubai,wireless-network,2\n"
                           "dubai,wireless-network,3\n")         # twice
    with pytest.raises(DataErrors) as caught:
        read_levels(path, ARAB, CITIES, REGISTRY)
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        f"{path}: line 3 (city dubai, indicator wired-network): level 5 is above the top of the wired-network ladder (4)",
        f"{path}: line 4 (city atlantis, indicator wired-network): unknown city 'atlantis': not in the city registry",
        f"{path}: line 5 (city dubai, indicator warp-drive): unknown indicator 'warp-drive' for edition arab-2024",
        f"{path}: line 6 (city wuhan, indicator wired-network): "
        "city 'wuhan' is not among the cities scored for edition arab-2024",
        f"{path}: line 7 (city dubai, indicator water-ecosystem): level 'two' is not a whole number",
        f"{path}: line 8 (city dubai, indicator smart-energy): level -1 is negative; levels run from 0 (no evidence) to 3",
        f"{path}: line 10 (city dubai, indicator wireless-network): "
        "a level for this city and indicator was already given at line 9",
    ]


def test_a_level_on_the_top_rung_is_accepted_and_gaps_are_listed(tmp_path):
    path = write(tmp_path, "city,indicator,level\ndubai,transport-network,2\ncairo,wired-network,0\n")
    table = read_levels(path, ARAB, CITIES, REGISTRY)
    assert not table.complete
    gaps = {(g.city, g.indicator) for g in table.gaps()}
    assert len(gaps) == 12 * 11 - 2
    assert ("dubai", "transport-network") not in gaps and ("dubai", "wired-network") in gaps


def test_header_problems_name_the_line(tmp_path):
    path = write(tmp_path, "\n# levels\ncity,indicator,rung\n")
    with pytest.raises(DataError, match=r"line 3: header must contain city,indicator,level; missing level"):
        read_levels(path, ARAB, CITIES, REGISTRY)


def test_rows_of_other_editions_in_a_gold_file_are_set_aside(tmp_path):
    path = write(tmp_path, "edition,city,indicator,level,documents,note\n"
                           "arab-2024,dubai,wired-network,3,/a.html,\"fibre, at scale\"\n"
                           "g20-2023,riyadh,data-flow,2,,\n")
    table = read_levels(path, ARAB, CITIES, REGISTRY)
    assert table.skipped == 1 and "g20-2023" in table.notes[0]
    assert np.count_nonzero(~np.isnan(table.values)) == 1


def test_excel_levels_name_sheet_and_row(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "levels"
    sheet.append(["city", "indicator", "level"])
    sheet.append(["dubai", "wired-network", 3])
    sheet.append(["cairo", "digital-society", 3])
    path = tmp_path / "levels.xlsx"
    book.save(path)
    with pytest.raises(DataErrors, match=r"levels!row 3 \(city cairo, indicator digital-society\): level 3 is above"):
        read_levels(path, ARAB, CITIES, REGISTRY)
    sheet.delete_rows(3)
    book.save(path)
    table = read_levels(path, ARAB, CITIES, REGISTRY)
    assert table.values[[c.id for c in CITIES].index("dubai"), 0] == 3


def test_narrowing_to_named_cities_checks_them():
    assert [c.id for c in edition_cities(REGISTRY, ARAB, only=["doha", "cairo"])] == ["doha", "cairo"]
    with pytest.raises(DataError, match="beijing: not in edition arab-2024"):
        edition_cities(REGISTRY, ARAB, only=["doha", "beijing"])


# --- confirmed levels from the record (SQLite and PostgreSQL) ------------------------------------

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def propose(session, city: str, indicator: str, level: int, edition: str = "arab-2024") -> Proposal:
    proposal = Proposal(edition=edition, city=city, indicator=indicator, level=level, method="offline",
                        input_hash=f"{city}-{indicator}-{level}-{uuid.uuid4().hex}")
    session.add(proposal)
    session.flush()
    return proposal


def decide(session, proposal: Proposal, reviewer: Reviewer, round_: int, action: str, level: int | None,
           minutes: int) -> Decision:
    sequence = 1 + sum(1 for d in session.query(Decision).filter_by(proposal_id=proposal.id))
    decision = Decision(proposal_id=proposal.id, reviewer_id=reviewer.id, round=round_, action=action,
                        level=level, sequence=sequence, created_at=T0 + timedelta(minutes=minutes))
    session.add(decision)
    session.flush()
    return decision


def test_scoring_reads_the_levels_the_review_confirmed(database_url):
    """What "confirmed" means is the review workflow's: round 2 agreeing with round 1, or the author."""
    with session_scope(database_url) as s:
        first, second = Reviewer(name="reviewer-ar", languages=["ar"]), Reviewer(name="verifier-ar", languages=["ar"])
        author = Reviewer(name="author", role="author", languages=["ar", "en"])
        s.add_all([first, second, author])
        s.flush()
        accepted = propose(s, "dubai", "wired-network", 3)
        decide(s, accepted, first, 1, "accept", 3, 0)
        decide(s, accepted, second, 2, "accept", 3, 5)          # rounds agree: 3
        changed = propose(s, "dubai", "wireless-network", 4)
        decide(s, changed, first, 1, "change", 2, 1)
        decide(s, changed, second, 2, "accept", 2, 2)          # verifies the change: 2
        rejected = propose(s, "cairo", "wired-network", 2)
        decide(s, rejected, first, 1, "reject", 0, 1)
        decide(s, rejected, second, 2, "reject", 0, 2)         # confirmed 0: no evidence for rung 1
        disputed = propose(s, "cairo", "public-health", 1)
        decide(s, disputed, first, 1, "accept", 1, 1)
        decide(s, disputed, second, 2, "change", 2, 2)         # disagreement: waits for the author
        settled = propose(s, "cairo", "emergency-system", 1)
        decide(s, settled, first, 1, "accept", 1, 1)
        decide(s, settled, second, 2, "change", 2, 2)
        decide(s, settled, author, 3, "change", 2, 3)          # the author settles it: 2
        decide(s, settled, author, 3, "attach", None, 4)       # attaching evidence is no verdict
        pending = propose(s, "doha", "wired-network", 2)
        decide(s, pending, first, 1, "accept", 2, 0)           # not yet verified
        other = propose(s, "riyadh", "data-flow", 2, edition="g20-2023")
        decide(s, other, first, 1, "accept", 2, 0)
        decide(s, other, second, 2, "accept", 2, 1)

    levels = confirmed_levels(database_url, "arab-2024")
    assert levels == {
        ("dubai", "wired-network"): 3, ("dubai", "wireless-network"): 2,
        ("cairo", "wired-network"): 0, ("cairo", "emergency-system"): 2,
    }
    assert set(confirmed_levels(database_url, "g20-2023")) == {("riyadh", "data-flow")}

    table = levels_from_database(database_url, ARAB, CITIES, REGISTRY)
    assert np.count_nonzero(~np.isnan(table.values)) == 4 and len(table.gaps()) == 12 * 11 - 4
    assert table.source.startswith("database ")


def test_a_confirmed_level_above_the_ladder_names_its_decision(database_url):
    with session_scope(database_url) as s:
        reviewer = Reviewer(name="reviewer-x")
        s.add(reviewer)
        s.flush()
        item = propose(s, "doha", "digital-society", 1)
        decide(s, item, reviewer, 1, "change", 3, 0)
        decision_id = decide(s, item, reviewer, 2, "accept", 3, 1).id
    with pytest.raises(DataErrors, match=rf"decision #{decision_id} \(city doha, indicator digital-society\): "
                                         r"level 3 is above the top of the digital-society ladder \(2\)"):
        levels_from_database(database_url, ARAB, CITIES, REGISTRY)
