"""Two passes never run at once on the same data; a dead pass's lock is taken over and the pass resumed.

Real databases (SQLite and PostgreSQL) and real processes: a dead holder is a process that has exited."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app
from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import WatchLock, WatchPass, now
from evidence.settings import Settings
from watch.lock import NAME, PassLock, WatchBusy, holder
from watch.passes import interval, run_pass


def settings_for(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, embedding_model="use-multilingual")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def plant_lock(database: str, pid: int, host: str, beat_ago: timedelta = timedelta(0), pass_id: int | None = None):
    with session_scope(database) as s:
        s.add(WatchLock(name=NAME, pid=pid, host=host, pass_id=pass_id, heartbeat_at=now() - beat_ago))


def test_a_second_pass_refuses_while_one_holds_the_lock(tmp_path, database_url):
    settings = settings_for(tmp_path, database_url)
    with PassLock(database_url):
        with pytest.raises(WatchBusy, match="another watch pass is running"):
            run_pass(settings)
        env = {"EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": database_url}
        result = CliRunner().invoke(app, ["watch"], env=env)
        assert isinstance(result.exception, WatchBusy)  # `evidence` turns it into exit code 2 with the message
    assert holder(database_url) is None  # released on the way out
    assert run_pass(settings)["state"] == "nothing-due"


def test_a_live_holder_on_another_host_keeps_the_lock(tmp_path, database_url):
    plant_lock(database_url, 1, "another-host", beat_ago=timedelta(seconds=20))
    with pytest.raises(WatchBusy):
        run_pass(settings_for(tmp_path, database_url))
    assert holder(database_url).host == "another-host"


@pytest.mark.parametrize("where", ["dead process here", "silent host"])
def test_a_stale_lock_is_recovered(tmp_path, database_url, where):
    if where == "dead process here":
        pid, host, ago = dead_pid(), socket.gethostname(), timedelta(0)
    else:
        pid, host, ago = 4242, "another-host", timedelta(hours=1)
    plant_lock(database_url, pid, host, ago)
    result = run_pass(settings_for(tmp_path, database_url))
    assert result["recovered_lock"] == {"pid": pid, "host": host, "pass": None}
    assert holder(database_url) is None


def test_a_pass_that_died_is_resumed_at_the_step_it_reached(tmp_path, database_url):
    with session_scope(database_url) as s:
        died = WatchPass(step="classify", crawls=[])
        s.add(died)
        s.flush()
        died_id = died.id
    plant_lock(database_url, dead_pid(), socket.gethostname(), pass_id=died_id)
    result = run_pass(settings_for(tmp_path, database_url))
    assert result["pass"] == died_id and result["state"] == "finished" and result["recovered_lock"]["pass"] == died_id
    with session_scope(database_url) as s:
        assert s.scalar(select(func.count()).select_from(WatchPass)) == 1  # resumed, not started anew
        assert s.get(WatchPass, died_id).step == "done"


def test_schedules_and_periods_are_read_or_refused():
    assert interval("7d") == timedelta(days=7) and interval("12h") == timedelta(hours=12)
    assert interval("2w") == timedelta(weeks=2) and interval("30m") == timedelta(minutes=30)
    for bad in ("7", "d7", "0d", "7 days"):
        with pytest.raises(DataError, match="expected a count and a unit"):
            interval(bad)


def test_every_runs_a_pass_each_period_and_skips_a_turn_while_busy(tmp_path, database_url):
    from watch.passes import every

    settings, seen = settings_for(tmp_path, database_url), []
    with PassLock(database_url):
        every(settings, timedelta(0), passes=1, on_pass=seen.append)
    every(settings, timedelta(seconds=0.1), passes=2, on_pass=seen.append)
    assert [r["state"] for r in seen] == ["busy", "nothing-due", "nothing-due"]
