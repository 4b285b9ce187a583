"""`evidence serve`: the review web app (`app.web`) under uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

from evidence.output import console


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
