"""Expert weights: aggregation by mean, median and trimmed mean with spread; bad rows are named."""

from __future__ import annotations

import pytest

from evidence.errors import DataError, DataErrors
from frameworks import load_framework
from frameworks.weights import aggregate, example_weights_path, read_weights

ARAB = load_framework("arab-2024")
IDS = [i.id for i in ARAB.indicators]


def panel_csv(tmp_path, rows: list[str], header="expert,group,indicator,weight"):
    path = tmp_path / "panel.csv"
    path.write_text("\n".join(["# the author's panel", header, *rows]) + "\n", encoding="utf-8")
    return path


def full_panel(weights: dict[str, list[float]]) -> list[str]:
    """weights: expert -> one weight per indicator (edition order); groups cycle through the panel's."""
    groups = ARAB.panel.groups
    return [f"{e},{groups[n % len(groups)]},{ind},{w}"
            for n, (e, ws) in enumerate(weights.items()) for ind, w in zip(IDS, ws)]


def test_mean_median_trimmed_and_spread(tmp_path):
    rows = full_panel({"e1": [1.0] * 11, "e2": [2.0] * 11, "e3": [3.0] * 11, "e4": [10.0] * 11})
    panel = read_weights(panel_csv(tmp_path, rows), ARAB)
    assert panel.matrix.shape == (4, 11)
    mean = aggregate(panel, "mean")[0]
    assert mean.weight == pytest.approx(4.0)
    assert (mean.minimum, mean.maximum, mean.experts) == (1.0, 10.0, 4)
    assert mean.std == pytest.approx(4.0825, abs=1e-3)
    assert aggregate(panel, "median")[0].weight == pytest.approx(2.5)
    assert aggregate(panel, "trimmed", trim=0.25)[0].weight == pytest.approx(2.5)  # drops 1 and 10


def test_example_weights_are_labelled_and_valid():
    for edition in ("arab-2024", "g20-2023", "asia-2023", "asia-2022"):
        path = example_weights_path(edition)
        assert "example" in path.name
        assert "example" in path.read_text(encoding="utf-8").splitlines()[0].lower()
        panel = read_weights(path, load_framework(edition))
        assert len(panel.experts) == load_framework(edition).panel.experts
        assert (panel.matrix > 0).all()


def errors_of(path) -> list[str]:
    with pytest.raises((DataError, DataErrors)) as info:
        read_weights(path, ARAB)
    errs = info.value.errors if isinstance(info.value, DataErrors) else [info.value]
    assert all(e.source == str(path) for e in errs)
    return [str(e) for e in errs]


@pytest.mark.parametrize("bad_row, words", [
    ("e1,digital,teleportation,2", "line 14 (expert e1, indicator teleportation): unknown indicator"),
    ("e1,digital,wired-network,-1", "line 14 (expert e1, indicator wired-network): weight -1 must be a non-negative"),
    ("e1,digital,wired-network,heavy", "line 14 (expert e1, indicator wired-network): weight 'heavy' is not a number"),
    ("e1,digital,wired-network,", "line 14 (expert e1, indicator wired-network): missing weight"),
    ("e1,digital,wired-network,1,2", "line 14: expected 4 fields"),
    ("e1,martians,wired-network,1", "unknown group 'martians'"),
])
def test_bad_rows_are_named(tmp_path, bad_row, words):
    rows = full_panel({"e1": [1.0] * 11})
    rows[0] = bad_row  # the file's line 3; lines 1-2 are the comment and header
    rows.insert(0, rows.pop(0))
    path = panel_csv(tmp_path, [*full_panel({"e2": [1.0] * 11}), *rows])
    found = errors_of(path)
    assert any(words in f for f in found), found


def test_a_missing_weight_names_expert_and_indicator(tmp_path):
    rows = [r for r in full_panel({"e1": [1.0] * 11}) if ",digital-society," not in r]
    assert any("expert e1: missing weight for indicator digital-society" in f for f in errors_of(panel_csv(tmp_path, rows)))


def test_wrong_header(tmp_path):
    found = errors_of(panel_csv(tmp_path, full_panel({"e1": [1.0] * 11}), header="who,team,what,how"))
    assert "line 2: header must be expert,group,indicator,weight" in found[0]


def test_the_review_queue_reads_a_changed_weights_file_again(tmp_path):
    """The queue's per-indicator weights are cached per file version, not for the life of the process."""
    import os

    from review.queue import indicator_weights

    path = panel_csv(tmp_path, full_panel({"e1": [1.0] * 11, "e2": [3.0] * 11}))
    assert indicator_weights("arab-2024", path)[IDS[0]] == pytest.approx(2.0)
    panel_csv(tmp_path, full_panel({"e1": [5.0] * 11, "e2": [7.0] * 11}))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a clock that did not tick
    assert indicator_weights("arab-2024", path)[IDS[0]] == pytest.approx(6.0)


# --- weights that would make every total meaningless, and files that are not what they claim -------

def test_weights_that_overflow_the_totals_are_refused(tmp_path):
    from frameworks.weights import load_weights

    path = panel_csv(tmp_path, full_panel({"e1": [1e308] * 11, "e2": [1e308] * 11}))
    with pytest.raises(DataError, match=r"panel\.csv: weights: too large: the totals would overflow"):
        load_weights(ARAB, path)
    fine = panel_csv(tmp_path, full_panel({"e1": [1e300] * 11}))  # large, yet every total is finite
    assert load_weights(ARAB, fine).vector[0] == 1e300


def test_all_zero_weights_are_refused(tmp_path):
    from frameworks.weights import load_weights

    with pytest.raises(DataError, match=r"panel\.csv: weights: every indicator's mean weight is 0"):
        load_weights(ARAB, panel_csv(tmp_path, full_panel({"e1": [0.0] * 11, "e2": [0.0] * 11})))
    outvoted = panel_csv(tmp_path, full_panel({"e1": [0.0] * 11, "e2": [0.0] * 11, "e3": [0.0] * 10 + [5.0]}))
    with pytest.raises(DataError, match="every indicator's median weight is 0"):  # e3's 5 is outvoted
        load_weights(ARAB, outvoted, "median")
    assert load_weights(ARAB, outvoted, "mean").vector[-1] > 0  # the mean keeps it: a real ranking


def test_score_refuses_overflowing_weights_with_exit_2_and_no_infinity(tmp_path):
    from test_scoring_cli import BASE, LEVELS, run

    path = panel_csv(tmp_path, full_panel({"e1": [1e308] * 11}))
    done = run(*BASE, "--levels", LEVELS, "--weights", str(path), "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 2 and "too large: the totals would overflow" in done.stderr
    assert "Infinity" not in done.stdout and "NaN" not in done.stdout


def test_a_weights_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_bytes("expert,group,indicator,weight\ne1,数字,wired-network,1\n".encode("gbk"))
    with pytest.raises(DataError, match=r"panel\.csv: not UTF-8 text"):
        read_weights(path, ARAB)
