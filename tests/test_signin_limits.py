"""Sign-in limits over real HTTP: failed sign-ins are throttled per account and per address (the right
password waits too), password hashing is bounded however many sign in at once, passwords have at least 12
characters, the demo's own accounts included."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from test_review_record import PASSWORD, seed
from test_review_web import Running, token
from typer.testing import CliRunner

from app.cli import app as cli
from evidence.errors import DataError
from evidence.settings import Review, Settings
from review.auth import SignInGuard, SignInThrottled, hash_password


@pytest.fixture
def limited(sqlite_url, tmp_path, monkeypatch):
    """The app with small limits: 3 failures per account, 5 per address, over a minute; 2 hashes at once."""
    monkeypatch.delenv("EVIDENCE_SESSION_SECRET", raising=False)
    seeded = seed(sqlite_url)
    limits = Review(signin_failures=3, address_failures=5, signin_window=60, hashing=2)
    with Running(Settings(data_dir=tmp_path / "data", database_url=sqlite_url, review=limits)) as running:
        running.seeded = seeded
        yield running


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'evidence.db'}"


def attempt(app, name: str, password: str) -> httpx.Response:
    client = httpx.Client(base_url=app.url, timeout=60)
    page = client.get("/signin")
    return client.post("/signin", data={"name": name, "password": password, "csrf_token": token(page.text)})


def test_failed_sign_ins_are_throttled_per_account_then_per_address(limited):
    assert [attempt(limited, "amal", f"wrong guess {n}").status_code for n in range(3)] == [401, 401, 401]
    right = attempt(limited, "amal", PASSWORD)
    assert right.status_code == 429, "the right password after the limit waits too"
    assert int(right.headers["retry-after"]) > 50 and "Too many failed sign-ins" in right.text
    assert attempt(limited, "basil", PASSWORD).status_code == 303  # another account from the same address
    assert [attempt(limited, "chen", f"wrong {n}").status_code for n in range(2)] == [401, 401]  # address: 5 failures
    assert attempt(limited, "lead", PASSWORD).status_code == 429  # this address, any account


def test_a_success_clears_the_accounts_count_and_failures_age_out():
    guard = SignInGuard(Review(signin_failures=2, address_failures=100, signin_window=0.5))
    guard.failed("amal", "10.0.0.1")
    guard.succeeded("amal")
    guard.failed("amal", "10.0.0.1")
    guard.check("amal", "10.0.0.1")  # one failure since the success: still allowed
    guard.failed("amal", "10.0.0.1")
    with pytest.raises(SignInThrottled):
        guard.check("amal", "10.0.0.2")
    time.sleep(0.6)
    guard.check("amal", "10.0.0.1")  # the window has passed


def test_parallel_sign_ins_hash_at_most_the_configured_number_at_once(limited):
    results: list[int] = []
    names = ["amal", "basil", "chen", "lead"] * 3

    def sign_in(name: str):
        results.append(attempt(limited, name, PASSWORD).status_code)

    threads = [threading.Thread(target=sign_in, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    guard = limited.server.config.app.state.config.guard
    assert results == [303] * len(names)  # every one signed in, in turn
    assert guard.hashing_peak == 2 and guard.hashing_now == 0


def test_passwords_need_twelve_characters_and_the_demo_accounts_have_them(tmp_path, sqlite_url):
    with pytest.raises(DataError, match="too short: use at least 12 characters"):
        hash_password("demo-amal")  # the demo's old passwords
    from app.demo import demo_passwords, steps

    passwords = demo_passwords(tmp_path / "data")
    assert demo_passwords(tmp_path / "data") == passwords  # made once, kept
    assert (tmp_path / "data" / "demo-passwords.txt").stat().st_mode & 0o077 == 0
    adds = [args for _, args in steps(str(tmp_path / "out"), passwords) if args[:2] == ["reviewers", "add"]]
    assert len(adds) == 3
    env = {"EVIDENCE_DATABASE_URL": sqlite_url, "EVIDENCE_DATA_DIR": str(tmp_path / "data")}
    for args in adds:
        assert len(args[args.index("--password") + 1]) >= 12
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
