"""The watch's change report (a pass's flagged cities, diffs, levels) and the snapshots it links to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from evidence.database import session_scope
from evidence.record import Snapshot
from review.web.app import config, render
from review.web.session import Me, signed_in

router = APIRouter()


@router.get("/watch", response_class=HTMLResponse)
def watch_page(request: Request, me: Me = Depends(signed_in), pass_id: int | None = None):
    from watch.report import latest_pass
    from watch.report import render as report

    with session_scope(config(request).settings.database) as s:
        chosen = pass_id or latest_pass(s)
        body = report(s, chosen, "html") if chosen else None
    return render(request, "watch.html", report=body)


@router.get("/watch/snapshots/{snapshot_id}", response_class=HTMLResponse)
def snapshot_page(request: Request, snapshot_id: int, me: Me = Depends(signed_in)):
    with session_scope(config(request).settings.database) as s:
        snap = s.get(Snapshot, snapshot_id)
        if snap is None:
            return render(request, "watch.html", 404, report=None, missing=snapshot_id)
        return render(request, "watch.html", snapshot=snap)
