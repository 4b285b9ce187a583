"""The ranking as it stands, in the review app: the scoring layer's view of the confirmed levels."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from evidence.database import session_scope
from review.web.base import config, language, render
from review.web.export import download, export_format
from review.web.reports import edition_choice
from review.web.session import Me, signed_in
from scoring.ranking import chart_svg, ranking_view

router = APIRouter()


EXPORT_COLUMNS = ("rank", "city", "name", "total", "areas", "tier", "gaps")


@router.get("/ranking")
def ranking_page(request: Request, me: Me = Depends(signed_in), edition: str = "", format: str = ""):
    export_format(format)
    with session_scope(config(request).settings.database) as session:
        chosen, editions = edition_choice(session, edition)
        view = ranking_view(session, chosen, language(request), config(request).weights_path)
    if format:
        return download([asdict(r) for r in view.rows], EXPORT_COLUMNS, format, f"ranking-{chosen}")
    return render(request, "ranking.html", view=view, editions=editions, chart=view.confirmed > 0)


@router.get("/ranking/chart.svg")
def ranking_chart(request: Request, me: Me = Depends(signed_in), edition: str = ""):
    with session_scope(config(request).settings.database) as session:
        chosen, _ = edition_choice(session, edition)
        svg = chart_svg(session, chosen, language(request), config(request).weights_path)
    if svg is None:
        return Response(status_code=404)
    return Response(svg, media_type="image/svg+xml",  # matplotlib's SVG carries its own <style>
                    headers={"Cache-Control": "no-store",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
