"""The published tables: total, one per area, tiers, clusters (and gaps, rank stability) as CSV,
Excel (one sheet per table, laid out like the reports), Markdown and HTML.

`totals.csv` is the machine-readable file: `city` (registry id), `rank`, `total`, one column per
area id, `tier`. The other formats show names in the chosen language.
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from evidence import markdown
from scoring.clusters import ClusterComparison
from scoring.collation import name_in
from scoring.ranks import Ranking, by_rank, by_tier
from scoring.scores import DECIMALS, ScoreTable, shown
from scoring.stability import HIGH, LOW, Stability

FORMATS = ("csv", "xlsx", "md", "html")
LABELS = {
    "en": {"rank": "Rank", "city": "City", "total": "Total", "score": "Score", "tier": "Tier", "cluster": "Cluster",
           "members": "Cities", "indicator": "Indicator", "low": f"Rank {LOW}th pct", "high": f"Rank {HIGH}th pct",
           "stay": "P(same tier)", "tiers": "Tiers", "clusters": "Clusters", "gaps": "Gaps (no confirmed level)",
           "stability": "Rank stability", "notes": "Notes"},
    "zh": {"rank": "排名", "city": "城市", "total": "总分", "score": "总分", "tier": "分数段", "cluster": "城市群",
           "members": "城市数", "indicator": "指标", "low": f"排名第{LOW}百分位", "high": f"排名第{HIGH}百分位",
           "stay": "留在本分数段的概率", "tiers": "分数段", "clusters": "城市群比较", "gaps": "缺口（无确认等级）",
           "stability": "排名稳定性", "notes": "说明"},
}


@dataclass
class Sheet:
    """One published table: a file stem / sheet name, a title and its rows (numbers stay numbers)."""

    name: str
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    table: ScoreTable
    ranking: Ranking
    lang: str = "en"
    clusters: ClusterComparison | None = None
    stability: Stability | None = None
    notes: tuple[str, ...] = ()


def publish(report: Report, out: Path, formats: list[str]) -> list[Path]:
    """Write the report in every requested format under `out`; returns the files written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    sheets = report_sheets(report)
    written: list[Path] = []
    if "csv" in formats:
        written += write_csv(report, out)
    if "xlsx" in formats:
        written.append(write_xlsx(report, sheets, out / "scores.xlsx"))
    if "md" in formats:
        written.append(write_markdown(report, sheets, out / "scores.md"))
    if "html" in formats:
        written.append(write_html(report, sheets, out / "scores.html"))
    return written


# --- the tables -------------------------------------------------------------------------------

def report_sheets(report: Report) -> list[Sheet]:
    sheets = [total_sheet(report), *area_sheets(report), tier_sheet(report)]
    if report.clusters is not None and report.clusters.clusters:
        sheets.append(cluster_sheet(report, report.clusters))
    if report.stability is not None:
        sheets.append(stability_sheet(report, report.stability))
    if report.table.gaps:
        sheets.append(gap_sheet(report))
    return sheets


def _round(value: float) -> float:
    return round(float(value), DECIMALS)


def total_sheet(report: Report) -> Sheet:
    t, r, lang, label = report.table, report.ranking, report.lang, LABELS[report.lang]
    tier_name = {tier.id: tier.name.get(lang) for tier in t.edition.tiers}
    sheet = Sheet("total", t.edition.title.get(lang),
                  [label["rank"], label["city"], label["total"], *(a.name.get(lang) for a in t.edition.areas), label["tier"]])
    for n in by_rank(t, r.ranks, lang):
        sheet.rows.append([int(r.ranks[n]), name_in(t.cities[n], lang), _round(t.totals[n]),
                           *(_round(v) for v in t.area_scores[n]), tier_name[int(r.tiers[n])]])
    return sheet


def area_sheets(report: Report) -> list[Sheet]:
    t, r, lang, label = report.table, report.ranking, report.lang, LABELS[report.lang]
    sheets = []
    for j, area in enumerate(t.edition.areas):
        sheet = Sheet(area.id, area.name.get(lang), [label["rank"], label["city"], label["score"]])
        for n in by_rank(t, r.area_ranks[:, j], lang):
            sheet.rows.append([int(r.area_ranks[n, j]), name_in(t.cities[n], lang), _round(t.area_scores[n, j])])
        sheets.append(sheet)
    return sheets


def tier_sheet(report: Report) -> Sheet:
    """As the reports print it: each tier's cities alphabetically in two columns, the tier beside."""
    t, r, lang, label = report.table, report.ranking, report.lang, LABELS[report.lang]
    sheet = Sheet("tiers", label["tiers"], [label["city"], label["city"], label["tier"]])
    order = by_tier(t, r, lang)
    for tier in t.edition.tiers:
        names = [name_in(t.cities[n], lang) for n in order if r.tiers[n] == tier.id]
        half = (len(names) + 1) // 2
        for i in range(half):
            second = names[half + i] if half + i < len(names) else ""
            sheet.rows.append([names[i], second, tier.name.get(lang) if i == 0 else ""])
    return sheet


def cluster_sheet(report: Report, c: ClusterComparison) -> Sheet:
    t, lang, label = report.table, report.lang, LABELS[report.lang]
    sheet = Sheet("clusters", label["clusters"],
                  [label["cluster"], label["members"], label["total"], *(a.name.get(lang) for a in t.edition.areas)])
    for k in sorted(range(len(c.clusters)), key=lambda k: -c.totals[k]):
        sheet.rows.append([c.clusters[k].name.get(lang), f"{c.members[k]}/{len(c.clusters[k].cities)}",
                           _round(c.totals[k]), *(_round(v) for v in c.area_scores[k])])
    return sheet


def stability_sheet(report: Report, s: Stability) -> Sheet:
    t, lang, label = report.table, report.lang, LABELS[report.lang]
    tier_name = {tier.id: tier.name.get(lang) for tier in t.edition.tiers}
    sheet = Sheet("stability", f"{label['stability']} ({s.resamples} × {s.method})",
                  [label["rank"], label["city"], label["low"], label["high"], label["tier"], label["stay"]])
    for n in by_rank(t, s.rank, lang):
        sheet.rows.append([int(s.rank[n]), name_in(t.cities[n], lang), int(s.low[n]), int(s.high[n]),
                           tier_name[int(s.tier[n])], round(float(s.tier_probability[n]), 3)])
    return sheet


def gap_sheet(report: Report) -> Sheet:
    label = LABELS[report.lang]
    return Sheet("gaps", label["gaps"], [label["city"], label["indicator"]],
                 [[g.city, g.indicator] for g in report.table.gaps])


# --- the formats ------------------------------------------------------------------------------

def write_csv(report: Report, out: Path) -> list[Path]:
    """Machine-readable tables keyed by registry id: totals.csv, area-<id>.csv, tiers.csv, and
    clusters.csv, stability.csv, gaps.csv when there is something to put in them."""
    return [write_totals_csv(report.table, report.ranking, out / "totals.csv"),
            *(write_sheet_csv(sheet, out / f"{sheet.name}.csv") for sheet in csv_sheets(report))]


def csv_sheets(report: Report) -> list[Sheet]:
    t, r = report.table, report.ranking
    sheets = []
    for j, area in enumerate(t.edition.areas):
        sheets.append(Sheet(f"area-{area.id}", area.name.en, ["city", "rank", "score"],
                            [[t.cities[n].id, int(r.area_ranks[n, j]), shown(t.area_scores[n, j])]
                             for n in by_rank(t, r.area_ranks[:, j], report.lang)]))
    sheets.append(Sheet("tiers", "tiers", ["tier", "city", "name"],
                        [[int(r.tiers[n]), t.cities[n].id, name_in(t.cities[n], report.lang)]
                         for n in by_tier(t, r, report.lang)]))
    if report.clusters is not None and report.clusters.clusters:
        c = report.clusters
        sheets.append(Sheet("clusters", "clusters", ["cluster", "members_scored", "members", "total", *t.areas],
                            [[k.id, m, len(k.cities), shown(c.totals[i]), *(shown(v) for v in c.area_scores[i])]
                             for i, (k, m) in enumerate(zip(c.clusters, c.members))]))
    if report.stability is not None:
        s = report.stability
        header = ["city", "rank", f"rank_p{LOW}", f"rank_p{HIGH}", "tier", "tier_probability"]
        sheets.append(Sheet("stability", "stability", header,
                            [[t.cities[n].id, int(s.rank[n]), int(s.low[n]), int(s.high[n]), int(s.tier[n]),
                              f"{s.tier_probability[n]:.4f}"] for n in by_rank(t, s.rank, report.lang)]))
    if t.gaps:
        sheets.append(Sheet("gaps", "gaps", ["city", "indicator"], [[g.city, g.indicator] for g in t.gaps]))
    return sheets


def write_sheet_csv(sheet: Sheet, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(sheet.header)
        writer.writerows(sheet.rows)
    return path


def write_totals_csv(table: ScoreTable, ranking: Ranking, path: Path) -> Path:
    rows = [[table.cities[n].id, int(ranking.ranks[n]), shown(table.totals[n]),
             *(shown(v) for v in table.area_scores[n]), int(ranking.tiers[n])]
            for n in by_rank(table, ranking.ranks, "en")]
    return write_sheet_csv(Sheet("totals", "totals", ["city", "rank", "total", *table.areas, "tier"], rows), path)


def write_xlsx(report: Report, sheets: list[Sheet], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for sheet in [*sheets, Sheet("notes", LABELS[report.lang]["notes"], [LABELS[report.lang]["notes"]],
                                 [[note] for note in report.notes])]:
        ws = book.create_sheet(sheet.name[:31])
        ws.append([sheet.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(sheet.header)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append(row)
        for column in ws.iter_cols(min_row=3):
            for cell in column:
                if isinstance(cell.value, float):
                    cell.number_format = "0.00"
        for j, _ in enumerate(sheet.header, 1):
            width = max((len(str(r[j - 1])) for r in sheet.rows), default=0)
            ws.column_dimensions[get_column_letter(j)].width = max(8, min(60, 2 + max(width, len(sheet.header[j - 1]))))
        ws.freeze_panes = "A3"
    book.save(path)
    return path


def _formatted(sheet: Sheet) -> list[list]:
    return [[f"{v:.{DECIMALS}f}" if isinstance(v, float) and sheet.name != "stability" else v for v in row]
            for row in sheet.rows]


def write_markdown(report: Report, sheets: list[Sheet], path: Path) -> Path:
    """Every title, note, header and cell is written as Markdown text (evidence.markdown): a city's name
    from a user registry cannot become markup or break a table."""
    parts = [f"# {markdown.text(report.table.edition.title.get(report.lang))}", ""]
    parts += [f"> {markdown.text(note)}" for note in report.notes] + [""]
    for sheet in sheets:
        rows = [[markdown.text(v) if isinstance(v, str) else v for v in row] for row in _formatted(sheet)]
        parts += [f"## {markdown.text(sheet.title)}", "", tabulate(rows, [markdown.text(h) for h in sheet.header],
                                                                    tablefmt="github", disable_numparse=True), ""]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def write_html(report: Report, sheets: list[Sheet], path: Path) -> Path:
    title = html.escape(report.table.edition.title.get(report.lang))
    body = [f"<h1>{title}</h1>"] + [f"<p class=note>{html.escape(note)}</p>" for note in report.notes]
    for sheet in sheets:
        body += [f"<h2>{html.escape(sheet.title)}</h2>",
                 tabulate(_formatted(sheet), sheet.header, tablefmt="html", disable_numparse=True)]
    page = (f"<!doctype html>\n<html lang={report.lang}><head><meta charset=utf-8><title>{title}</title>"
            "<style>body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em}"
            "table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:.2em .6em}"
            "td:not(:nth-child(2)){text-align:right}.note{color:#a40}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    path.write_text(page, encoding="utf-8")
    return path
