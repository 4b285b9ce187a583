"""The watch's change report (a pass's flagged cities, diffs, levels) and the snapshots it links to, in the
interface's language, with links relative to where the app is served."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from evidence.database import lookup, session_scope
from evidence.record import Snapshot
from review.web.base import config, render
from review.web.session import Me, signed_in
from watch.report import city_report, latest_pass, pass_summary

router = APIRouter()


@router.get("/watch", response_class=HTMLResponse)
def watch_page(request: Request, me: Me = Depends(signed_in), pass_id: int | None = None):
    """The report of `pass_id`, else of the newest pass; an unknown pass is a 404 (NoSuchPass)."""
    with session_scope(config(request).settings.database) as s:
        chosen = pass_id if pass_id is not None else latest_pass(s)
        if chosen is None:
            return render(request, "watch.html")
        summary, cities = pass_summary(s, chosen), city_report(s, chosen)
    return render(request, "watch.html", summary=summary, cities=cities)


@router.get("/watch/snapshots/{snapshot_id}", response_class=HTMLResponse)
def snapshot_page(request: Request, snapshot_id: int, me: Me = Depends(signed_in)):
    with session_scope(config(request).settings.database) as s:
        snap = lookup(s, Snapshot, snapshot_id)
        if snap is None:
            return render(request, "watch.html", 404, missing=snapshot_id)
        return render(request, "watch.html", snapshot=snap)
