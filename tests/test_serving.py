"""How the app is served: a `Secure` session cookie when the deployment says it is behind HTTPS, and a
warning when `evidence serve` listens beyond loopback over plain HTTP."""

from __future__ import annotations

import httpx
import pytest
from test_review_record import seed
from test_review_web import Running
from typer.testing import CliRunner

from app.cli import app as cli
from evidence.settings import Review, Settings


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_secure_when_the_setting_says_so(tmp_path, secure):
    url = f"sqlite:///{tmp_path / 'evidence.db'}"
    seed(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, review=Review(secure_cookie=secure))
    with Running(settings) as running:
        client = httpx.Client(base_url=running.url, timeout=30)
        session = client.get("/signin").headers["set-cookie"]
        lang = client.get("/lang/zh").headers["set-cookie"]
    assert session.startswith("evidence_session=") and "httponly" in session.lower()
    assert ("; secure" in session.lower()) is secure and ("; secure" in lang.lower()) is secure


def test_serving_beyond_loopback_over_plain_http_warns(data_dir):
    runner = CliRunner()
    env = {"EVIDENCE_DATA_DIR": str(data_dir)}
    for host in ("127.0.0.1", "localhost", "::1"):
        quiet = runner.invoke(cli, ["serve", "--host", host, "--dry-run"], env=env)
        assert quiet.exit_code == 0 and "plain HTTP" not in quiet.stderr, (host, quiet.stderr)
    for host in ("0.0.0.0", "192.0.2.10"):
        loud = runner.invoke(cli, ["serve", "--host", host, "--dry-run"], env=env)
        assert loud.exit_code == 0 and f"serving on {host} over plain HTTP" in loud.stderr
        assert "EVIDENCE_REVIEW_SECURE_COOKIE=true" in loud.stderr
    behind_https = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--dry-run"],
                                 env={**env, "EVIDENCE_REVIEW_SECURE_COOKIE": "true"})
    assert behind_https.exit_code == 0 and "plain HTTP" not in behind_https.stderr
