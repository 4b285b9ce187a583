"""`evidence serve`: the review web app (`app.web`) under uvicorn."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import typer

from evidence.output import console, errors


def loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (a name is resolved; unresolvable: not loopback)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(str(a).split("%", 1)[0]).is_loopback for a in found)


def plain_http_warning(host: str, secure_cookie: bool) -> str | None:
    """The warning for an app reachable from other machines over plain HTTP, or None."""
    if loopback(host) or secure_cookie:
        return None
    return (f"warning: serving on {host} over plain HTTP: passwords and session cookies cross the network "
            "unencrypted. Serve it behind HTTPS (a reverse proxy on this machine, with --host 127.0.0.1) and set "
            "EVIDENCE_REVIEW_SECURE_COOKIE=true.")


def serve(host: str = typer.Option("127.0.0.1", help="address to listen on (loopback by default)"),
          port: int = typer.Option(8000), weights: Path | None = typer.Option(
              None, help="the expert panel CSV for the ranking page; default: the edition's EXAMPLE weights"),
          dry_run: bool = typer.Option(False, "--dry-run", help="check the app can start, say how to open it, and stop")) -> None:
    """Run the review web app."""
    # imported here, not above: the web app (FastAPI, SQLAlchemy, the scoring charts) would add a second
    # to the start of every other command
    import uvicorn
    from sqlalchemy import func, select

    from app.web import create_app
    from evidence.database import session_scope
    from evidence.record import Proposal, Reviewer
    from evidence.settings import load_settings

    settings = load_settings()
    app = create_app(settings, weights)
    warning = plain_http_warning(host, settings.review.secure_cookie)
    if warning:
        errors.print(f"[yellow]{warning}[/]", highlight=False)
    with session_scope(settings.database) as session:
        items = session.scalar(select(func.count(Proposal.id)))
        people = list(session.scalars(select(Reviewer.name).order_by(Reviewer.name)))
    console.print(f"review app on http://{host}:{port}/ : {items} proposal(s) in the record, reviewers: "
                  f"{', '.join(people) or 'none yet (evidence reviewers add NAME)'}")
    if dry_run:
        console.print(f"start it with `evidence serve --host {host} --port {port}` (in a checkout: "
                      f"`.venv/bin/evidence serve`), then open http://{host}:{port}/ in a browser and sign in")
        return
    uvicorn.run(app, host=host, port=port, log_level="info")
