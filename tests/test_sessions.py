"""Sign-in sessions kept in the record, over real HTTP on SQLite and PostgreSQL: signing out ends the session
on the server (a copied cookie stops working), an author or the command line can end a reviewer's sessions,
disable the account, and a password change ends every other session."""

from __future__ import annotations

import httpx
import pytest
from test_review_record import PASSWORD
from test_review_web import serving, signed_in, token
from typer.testing import CliRunner

from app.cli import app as cli

NEW_PASSWORD = "a much longer pass phrase"


@pytest.fixture
def served(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("EVIDENCE_SESSION_SECRET", raising=False)
    yield from serving(database_url, tmp_path / "data")


def copy_of(client: httpx.Client, app) -> httpx.Client:
    """Another browser holding a copy of the cookie (stolen, or kept from before signing out)."""
    return httpx.Client(base_url=app.url, timeout=30, cookies={"evidence_session": client.cookies["evidence_session"]})


def signs_in(app, name: str, password: str) -> int:
    client = httpx.Client(base_url=app.url, timeout=30)
    page = client.get("/signin")
    return client.post("/signin", data={"name": name, "password": password, "csrf_token": token(page.text)}).status_code


def test_signing_out_ends_the_session_for_a_copied_cookie_too(served):
    amal = signed_in(served, "amal")
    copy = copy_of(amal, served)
    assert copy.get("/queue").status_code == 200
    out = amal.post("/signout", data={"csrf_token": token(amal.get("/queue").text)})
    assert out.status_code == 303
    assert copy.get("/queue").status_code == 303  # to the sign-in page: the session ended on the server
    assert amal.get("/queue").status_code == 303


def test_an_author_ends_every_session_of_a_reviewer(served):
    amal, elsewhere, lead = signed_in(served, "amal"), signed_in(served, "amal"), signed_in(served, "lead")
    page = lead.get("/assignments")
    assert 'id="signout-amal"' in page.text
    amal_id = served.seeded.reviewers["amal"]
    assert amal.post(f"/reviewers/{amal_id}/signout", data={"csrf_token": token(amal.get("/queue").text)}).status_code == 403
    ended = lead.post(f"/reviewers/{amal_id}/signout", data={"csrf_token": token(page.text)}, follow_redirects=True)
    assert ended.status_code == 200 and "2 session(s) of amal ended" in ended.text
    assert amal.get("/queue").status_code == 303 and elsewhere.get("/queue").status_code == 303
    assert lead.get("/queue").status_code == 200  # the author's own session goes on
    assert signs_in(served, "amal", PASSWORD) == 303  # revoked, not disabled


def test_disable_enable_and_signout_from_the_command_line(served, database_url):
    env = {"EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(served.settings.data_dir)}
    runner = CliRunner()
    amal = signed_in(served, "amal")
    disabled = runner.invoke(cli, ["reviewers", "disable", "amal"], env=env)
    assert disabled.exit_code == 0 and "amal disabled; 1 session(s) ended" in disabled.stdout
    assert amal.get("/queue").status_code == 303
    assert signs_in(served, "amal", PASSWORD) == 401  # the same answer as a wrong password
    listed = runner.invoke(cli, ["reviewers", "list"], env=env)
    assert "amal (disabled)" in listed.stdout
    assert runner.invoke(cli, ["reviewers", "enable", "amal"], env=env).exit_code == 0
    amal = signed_in(served, "amal")
    revoked = runner.invoke(cli, ["reviewers", "signout", "amal"], env=env)
    assert revoked.exit_code == 0 and "1 session(s) of amal ended" in revoked.stdout
    assert amal.get("/queue").status_code == 303
    amal = signed_in(served, "amal")
    changed = runner.invoke(cli, ["reviewers", "password", "amal", "--password", NEW_PASSWORD], env=env)
    assert changed.exit_code == 0 and "1 session(s) ended" in changed.stdout
    assert amal.get("/queue").status_code == 303
    assert signs_in(served, "amal", PASSWORD) == 401 and signs_in(served, "amal", NEW_PASSWORD) == 303
    unknown = runner.invoke(cli, ["reviewers", "disable", "nobody"], env=env)
    assert "nobody: no such reviewer" in str(unknown.exception)


def test_changing_the_password_in_the_app_ends_the_other_sessions(served):
    amal, other = signed_in(served, "amal"), signed_in(served, "amal")
    page = amal.get("/password")
    assert page.status_code == 200 and "Change password" in page.text
    form = {"csrf_token": token(page.text), "current": "wrong guess", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    assert amal.post("/password", data=form).status_code == 401
    mismatch = amal.post("/password", data={**form, "current": PASSWORD, "repeat": "something else entirely"})
    assert mismatch.status_code == 400 and "the two new passwords differ" in mismatch.text
    done = amal.post("/password", data={**form, "current": PASSWORD}, follow_redirects=True)
    assert done.status_code == 200 and "your other sessions are signed out" in done.text
    assert amal.get("/queue").status_code == 200  # this browser has a new session
    assert other.get("/queue").status_code == 303
    assert signs_in(served, "amal", NEW_PASSWORD) == 303 and signs_in(served, "amal", PASSWORD) == 401
