"""`evidence score`: confirmed levels × expert weights → published tables and charts; `score stability`
(rank intervals over resampled panels) and `score check` (an imported published table).

Heavy libraries (numpy, matplotlib, openpyxl) are imported inside the commands so `evidence --help`
stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from evidence.errors import EvidenceError
from evidence.output import JsonOption, console, emit_json, errors

if TYPE_CHECKING:
    from evidence.vocabulary import Edition
    from frameworks.weights import Weights
    from scoring.levels import LevelTable
    from sources import Registry

app = typer.Typer(help="Scores, ranks, tiers, clusters and rank stability of an edition; checks on published tables.")

EditionOption = typer.Option(None, "--edition", help="edition id, e.g. arab-2024")
LevelsOption = typer.Option(None, "--levels",
                            help="CSV or Excel file city,indicator,level; default: confirmed levels in the database")
WeightsOption = typer.Option(None, "--weights", help="the expert panel CSV expert,group,indicator,weight; "
                                                     "default: the edition's EXAMPLE weights")
MethodOption = typer.Option("mean", "--method", help="how the panel's weights are aggregated: mean, median or trimmed")
TrimOption = typer.Option(0.1, "--trim", help="share cut from each end for --method trimmed")
TableOption = typer.Option(None, "--table", help="score one table of the edition, e.g. greater-china")
CityOption = typer.Option(None, "--city", help="score only these cities (repeat the option)")
RegistryOption = typer.Option(None, "--registry", help="a city registry folder; default: the shipped sources/cities")
LangOption = typer.Option("en", "--lang", help="names and headings in en or zh (zh: cities in pinyin order)")
IncompleteOption = typer.Option(False, "--allow-incomplete",
                                help="publish even with missing levels (counted as 0), listing every gap")


class IncompleteLevels(EvidenceError):
    """Levels are missing and the author did not allow an incomplete table."""


@dataclass(frozen=True)
class Inputs:
    edition: Edition
    registry: Registry
    levels: LevelTable
    weights: Weights


def _prepare(edition_id: str | None, levels: Path | None, weights: Path | None, method: str, trim: float,
             table: str | None, cities: list[str] | None, registry_dir: Path | None, allow_incomplete: bool) -> Inputs:
    """Load and check everything a scoring run needs; refuse incomplete levels unless allowed."""
    from evidence.settings import load_settings
    from frameworks import load_framework
    from frameworks.weights import load_weights
    from scoring.levels import edition_cities, levels_from_database, read_levels
    from sources import load_registry, read_registry

    if not edition_id:
        raise typer.BadParameter("--edition is required", param_hint="--edition")
    if method not in ("mean", "median", "trimmed"):
        raise typer.BadParameter(f"{method!r}: use mean, median or trimmed", param_hint="--method")
    edition = load_framework(edition_id)
    registry = read_registry(registry_dir) if registry_dir else load_registry()
    scored = edition_cities(registry, edition, table, cities)
    if not scored:
        raise EvidenceError(f"no cities to score: the registry has none for {edition_id}" + (f" table {table}" if table else ""))
    level_table = (read_levels(levels, edition, scored, registry) if levels
                   else levels_from_database(load_settings().database, edition, scored, registry))
    panel = load_weights(edition, weights, method, trim)  # type: ignore[arg-type]
    _warn(level_table, panel)
    if not allow_incomplete:
        _require_complete(level_table)
    return Inputs(edition, registry, level_table, panel)


def _warn(level_table: LevelTable, panel: Weights) -> None:
    if panel.example:
        errors.print(f"[yellow]warning:[/] no --weights given: using the EXAMPLE weights {panel.panel.source}, "
                     "invented for demos (the reports publish no weights). Do not publish these scores.", highlight=False)
    for note in level_table.notes:
        errors.print(f"note: {level_table.source}: {note}", highlight=False)


def _require_complete(level_table: LevelTable) -> None:
    """An incomplete table is not published: refuse, listing every gap."""
    from scoring.levels import gap_lines

    gaps = level_table.gaps()
    if gaps:
        listing = "\n".join(f"  {line}" for line in gap_lines(gaps))
        raise IncompleteLevels(f"{level_table.source}: levels are incomplete, {len(gaps)} missing "
                               f"(city: indicators):\n{listing}\nan incomplete table is not published; "
                               "pass --allow-incomplete to publish it with missing levels counted as 0")


def _notes(inputs: Inputs) -> list[str]:
    w = inputs.weights
    notes = [f"Levels: {inputs.levels.source}.",
             f"Weights: {w.panel.source} ({len(w.panel.experts)} experts, {w.method})."]
    if w.example:
        notes.append("EXAMPLE WEIGHTS: invented for demonstration; the reports do not publish weights. Not for publication.")
    gaps = inputs.levels.gaps()
    if gaps:
        notes.append(f"INCOMPLETE: {len(gaps)} levels missing, counted as 0 (listed in the gaps table).")
    return notes


@app.callback(invoke_without_command=True)
def score(ctx: typer.Context,
          edition: str | None = EditionOption, levels: Path | None = LevelsOption,
          weights: Path | None = WeightsOption, method: str = MethodOption, trim: float = TrimOption,
          table: str | None = TableOption, city: list[str] | None = CityOption,
          registry: Path | None = RegistryOption,
          out: Path | None = typer.Option(None, "--out", help="folder the tables and charts are written to"),
          formats: str = typer.Option("csv,xlsx,md,html", "--format", help="comma-separated: csv, xlsx, md, html"),
          lang: str = LangOption,
          clusters: Path | None = typer.Option(
              None, "--clusters", help="cluster file; default scoring/clusters/<edition>.yaml if it exists"),
          no_clusters: bool = typer.Option(False, "--no-clusters", help="skip the cluster comparison"),
          charts: bool = typer.Option(True, "--charts/--no-charts", help="write PNG and SVG charts"),
          top: int = typer.Option(20, "--top", help="cities in the stacked-bar chart"),
          stability: int = typer.Option(0, "--stability", help="also bootstrap the panel this many times (0: no)"),
          seed: int = typer.Option(0, "--seed", help="random seed of --stability"),
          allow_incomplete: bool = IncompleteOption, as_json: bool = JsonOption) -> None:
    """Score an edition and write its published tables (and charts) to --out."""
    if ctx.invoked_subcommand is not None:
        return
    if edition is None and out is None:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    if out is None:
        raise typer.BadParameter("--out DIR is required", param_hint="--out")
    from scoring.clusters import clusters_path, compare, read_clusters
    from scoring.exports import FORMATS, Report, publish
    from scoring.ranks import rank_table
    from scoring.scores import score as score_levels

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    if unknown := [f for f in wanted if f not in FORMATS]:
        raise typer.BadParameter(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}",
                                 param_hint="--format")
    inputs = _prepare(edition, levels, weights, method, trim, table, city, registry, allow_incomplete)
    scored = score_levels(inputs.levels, inputs.weights, inputs.edition)
    ranking = rank_table(scored)
    cluster_file = clusters or clusters_path(inputs.edition.id)
    comparison = None
    if clusters or (cluster_file.exists() and not no_clusters):
        comparison = compare(scored, read_clusters(cluster_file, inputs.edition, inputs.registry))
    result = _stability(inputs, stability, seed, quiet=as_json) if stability else None
    report = Report(scored, ranking, lang, comparison, result, tuple(_notes(inputs)))
    files = publish(report, out, wanted)
    if charts:
        files += _charts(report, out / "charts", top)
    if as_json:
        emit_json(_score_document(report, files))
        return
    _print_ranking(report)
    for note in report.notes:
        console.print(f"[dim]{note}[/]", highlight=False)
    if scored.gaps:
        from scoring.levels import gap_lines

        console.print(f"[yellow]{len(scored.gaps)} missing levels, counted as 0:[/]")
        for line in gap_lines(scored.gaps):
            console.print(f"  {line}", highlight=False)
    console.print(f"[green]wrote {len(files)} files to {out}[/]: " + ", ".join(str(f.relative_to(out)) for f in files),
                  highlight=False)


def _stability(inputs: Inputs, resamples: int, seed: int, stratify: bool = True, quiet: bool = False):
    from rich.progress import Progress

    from scoring.stability import rank_stability

    w = inputs.weights
    with Progress(console=errors, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"bootstrap over {len(w.panel.experts)} experts", total=resamples)
        return rank_stability(inputs.levels.values, w.panel, inputs.edition.tiers, resamples, seed, w.method,
                              stratify=stratify, progress=lambda n: progress.advance(task, n))


def _charts(report, out: Path, top: int) -> list[Path]:
    from scoring import charts

    files = charts.area_bars(report.table, report.ranking, out, report.lang, top)
    if report.clusters is not None and report.clusters.clusters:
        files += charts.cluster_bars(report.table, report.clusters, out, report.lang)
    if report.stability is not None:
        files += charts.rank_intervals(report.table, report.stability, out, report.lang)
    return files


def _print_ranking(report) -> None:
    from scoring.collation import name_in
    from scoring.ranks import by_rank
    from scoring.scores import shown

    t, r, lang = report.table, report.ranking, report.lang
    tier_name = {tier.id: tier.name.get(lang) for tier in t.edition.tiers}
    table = Table("rank", "city", "total", *(a.id for a in t.edition.areas), "tier",
                  title=f"{t.edition.title.get(lang)}: {len(t.cities)} cities" + ("" if t.complete else " (INCOMPLETE)"))
    for n in by_rank(t, r.ranks, lang):
        table.add_row(str(r.ranks[n]), f"{name_in(t.cities[n], lang)} [dim]{t.cities[n].id}[/]", shown(t.totals[n]),
                      *(shown(v) for v in t.area_scores[n]), tier_name[int(r.tiers[n])])
    console.print(table)
    if report.clusters is not None and report.clusters.clusters:
        c = report.clusters
        ct = Table("cluster", "cities", "total", *(a.id for a in t.edition.areas), title="clusters (mean scores)")
        for k in sorted(range(len(c.clusters)), key=lambda k: -c.totals[k]):
            ct.add_row(c.clusters[k].name.get(lang), f"{c.members[k]}/{len(c.clusters[k].cities)}", shown(c.totals[k]),
                       *(shown(v) for v in c.area_scores[k]))
        console.print(ct)


def _score_document(report, files: list[Path]) -> dict:
    t, r = report.table, report.ranking
    return {
        "edition": t.edition.id, "complete": t.complete, "notes": list(report.notes),
        "weights": {"source": t.weights.panel.source, "method": t.weights.method, "example": t.weights.example},
        "cities": [{"city": t.cities[n].id, "rank": int(r.ranks[n]), "total": round(float(t.totals[n]), 2),
                    "areas": {a: round(float(v), 2) for a, v in zip(t.areas, t.area_scores[n])}, "tier": int(r.tiers[n])}
                   for n in sorted(range(len(t.cities)), key=lambda n: r.ranks[n])],
        "clusters": [{"cluster": k.id, "members": m, "total": round(float(tot), 2)}
                     for k, m, tot in zip(report.clusters.clusters, report.clusters.members, report.clusters.totals)]
        if report.clusters is not None else [],
        "stability": [{"city": c.id, "low": int(s.low[n]), "high": int(s.high[n]),
                       "tier_probability": round(float(s.tier_probability[n]), 4)} for n, c in enumerate(t.cities)]
        if (s := report.stability) is not None else [],
        "gaps": [{"city": g.city, "indicator": g.indicator} for g in t.gaps],
        "files": [str(f) for f in files],
    }


@app.command("stability")
def stability_command(edition: str | None = EditionOption, levels: Path | None = LevelsOption,
                      weights: Path | None = WeightsOption, method: str = MethodOption, trim: float = TrimOption,
                      table: str | None = TableOption, city: list[str] | None = CityOption,
                      registry: Path | None = RegistryOption,
                      resamples: int = typer.Option(2000, "--resamples", help="bootstrap resamples of the panel"),
                      seed: int = typer.Option(0, "--seed", help="random seed"),
                      stratify: bool = typer.Option(True, "--stratify/--no-stratify",
                                                    help="resample experts within their panel groups"),
                      out: Path | None = typer.Option(
                          None, "--out", help="also write stability.csv and the rank-interval chart here"),
                      lang: str = LangOption, allow_incomplete: bool = IncompleteOption, as_json: bool = JsonOption) -> None:
    """Resample the expert panel: each city's rank interval (5th-95th percentile) and chance to stay in its tier."""
    from scoring.exports import Report, csv_sheets, write_sheet_csv
    from scoring.ranks import rank_table
    from scoring.scores import score as score_levels

    inputs = _prepare(edition, levels, weights, method, trim, table, city, registry, allow_incomplete)
    scored = score_levels(inputs.levels, inputs.weights, inputs.edition)
    result = _stability(inputs, resamples, seed, stratify, quiet=as_json)
    report = Report(scored, rank_table(scored), lang, None, result, tuple(_notes(inputs)))
    files: list[Path] = []
    if out is not None:
        from scoring import charts

        files = [write_sheet_csv(sheet, out / "stability.csv") for sheet in csv_sheets(report) if sheet.name == "stability"]
        files += charts.rank_intervals(scored, result, out / "charts", lang)
    if as_json:
        emit_json({"edition": scored.edition.id, "resamples": result.resamples, "method": result.method,
                   "stratified": result.stratified, "files": [str(f) for f in files],
                   "cities": [{"city": c.id, "rank": int(result.rank[n]), "low": int(result.low[n]),
                               "high": int(result.high[n]), "tier": int(result.tier[n]),
                               "tier_probability": round(float(result.tier_probability[n]), 4)}
                              for n, c in enumerate(scored.cities)]})
        return
    _print_stability(report)
    for path in files:
        console.print(f"wrote {path}", highlight=False)


def _print_stability(report) -> None:
    from scoring.collation import name_in
    from scoring.ranks import by_rank

    t, s, lang = report.table, report.stability, report.lang
    table = Table("rank", "city", "5th–95th", "tier", "P(same tier)",
                  title=f"{t.edition.id}: {s.resamples} resampled panels ({s.method}"
                        f"{', within groups' if s.stratified else ''})")
    for n in by_rank(t, s.rank, lang):
        p = s.tier_probability[n]
        colour = "green" if p >= 0.9 else "yellow" if p >= 0.6 else "red"
        table.add_row(str(s.rank[n]), name_in(t.cities[n], lang), f"{s.low[n]}–{s.high[n]}", str(s.tier[n]),
                      f"[{colour}]{p:.2f}[/]")
    console.print(table)


@app.command("check")
def check_command(path: Path = typer.Argument(..., help="a published table as CSV: rank,city,total|score[,areas…]"),
                  tolerance: float = typer.Option(0.02, "--tolerance", help="allowed gap between a total and its areas' sum"),
                  against: Path | None = typer.Option(
                      None, "--against", help="a table whose cities this one must list, e.g. the total table"),
                  as_json: bool = JsonOption) -> None:
    """Check an imported table of published scores; exit 1 when anything is found."""
    from scoring.checks import check_table, read_published

    _, areas, rows = read_published(path)
    expected = [r.city for r in read_published(against)[2]] if against else None
    findings = check_table(rows, tolerance, expected)
    if as_json:
        emit_json({"table": str(path), "rows": len(rows), "areas": areas, "findings": findings})
    else:
        table = Table("finding", "city", "lines", "detail", title=f"{path.name}: {len(rows)} rows, {len(findings)} findings")
        for f in findings:
            table.add_row(f.kind, f.city, ", ".join(map(str, f.lines)), f.message)
        console.print(table if findings else f"[green]{path.name}: {len(rows)} rows, no findings[/]")
    if findings:
        raise typer.Exit(1)
