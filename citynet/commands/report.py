"""``citynet report``: one self-contained HTML file (figures embedded) from a workspace."""

from __future__ import annotations

from pathlib import Path

import click

from citynet.commands.common import (
    ensure_folder,
    ensure_output,
    is_quiet,
    network_option,
    workspace_option,
    year_spans,
)
from citynet.errors import UserError


@click.command(
    "report",
    epilog="""\b
Examples:
  citynet report -w ws                           writes ws/results/report.html
  citynet report -w ws --city 北京               churn table of Beijing (also 北京市 or 110000)
  citynet report -w ws --years 2010 2020         network maps of 2010 and 2020
  citynet report -w ws --years 2020 2020         the maps of 2020 alone
  citynet report -w ws --out /tmp/ws-report.html
  citynet report -w ws --network invention.y02.granted   (panels of another filter computed by metrics)
Sections: data quality (reports/ingest.json), descriptive statistics (paper 001 table 2), partner
churn of one city (paper 001 table 1), collaboration maps of two years, network-year time series,
the regression tables, event-study and placebo figures of results/ (citynet fit SPEC.toml), and
Moran's I. --years takes two years of the dyad-year panel, in either order (the same year twice:
that year alone); a year outside the panel is refused (exit 2). A missing input shows a "not
available: run citynet ..." note instead of failing; a folder with none of them (not a workspace,
or one never ingested) is refused.
Regression tables are grouped by the network filter they were fitted on (results/ and results/KEY/).""",
)
@workspace_option()
@click.option("--city", metavar="CODE_OR_NAME",
              help="City of the partner-churn table: a 6-digit code or a Chinese name "
                   "(default: the city with the most collaboration partners in the last year).")
@click.option("--years", nargs=2, type=int, metavar="A B", default=None,
              help="The two years of the network maps and Moran scatter plots, in either order; the same year "
                   "twice draws that year alone (default: first and last panel year).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: WS/results/report.html).")
@click.option("--permutations", type=click.IntRange(0, 99_999), default=999, show_default=True,
              help="Permutations of the Moran's I pseudo p-value (0: normal approximation only).")
@network_option
@click.pass_context
def command(ctx, ws, city, years, out, permutations, network):
    """Write results/report.html: data quality, networks, panels, tables and figures."""
    from citynet.transaction import verify_workspace

    verify_workspace(ws.root)  # refuse parts of two runs (citynet/transaction.py)
    if not _has_inputs(ws):  # -w raw, -w ws/canonical, an empty folder: a report of eight missing sections
        raise UserError(f"nothing to report in {ws.root}: it has no reports/ingest.json, canonical/ tables, "
                        "metrics/ panels or results/ of citynet fit",
                        fix=f"pass -w with your workspace folder (the one with canonical/ and metrics/), or build "
                            f"this one first: citynet run -w {ws.root} (after citynet init -w {ws.root})")
    quiet = is_quiet(ctx)
    if out:
        if out.suffix.lower() not in (".html", ".htm"):  # the report is HTML whatever the name: a .pdf would not open
            raise UserError(f"the report is an HTML file, and {out.name} is not named .html",
                            fix=f"name it {out.stem}.html (a PDF: open it in a browser and print to PDF)")
        out = ensure_output(out, "report file", ws)
    else:  # WS/results of a read-only workspace: said before the report is built, not after
        ensure_folder(ws.results, "the report into", fix="write it elsewhere: --out DIR/report.html")
    ws.select_network(network, require=False)
    if years:
        check_years(years, ws.panel("dyad_year"))

    def step(stage: str) -> None:
        if ctx.find_root().obj and ctx.find_root().obj.get("verbose"):
            click.echo(f"report: {stage}", err=True)

    from citynet.analysis.report import build_report  # (matplotlib and the rest: after the checks)

    res = build_report(ws, city=city, years=list(years) if years else None, out=out, permutations=permutations,
                       progress=step)
    if not quiet:
        click.echo(f"wrote {res.path} ({res.path.stat().st_size / 1e6:.1f} MB)", err=True)
        if res.stale:
            click.secho(f"warning: {res.stale}", fg="yellow", err=True)
        for title in res.missing:
            click.echo(f"  not available: {title} (see the note in the report)", err=True)


def _has_inputs(ws) -> bool:
    """Whether any section of the report has an input: the ingest report, a canonical table, a panel of any
    network filter or a file citynet fit wrote (a table's JSON, a figure)."""
    return ((ws.reports / "ingest.json").is_file() or any(ws.canonical.glob("*.parquet"))
            or any(ws.metrics.rglob("*.parquet")) or any(ws.results.rglob("*.json"))
            or any(ws.results.rglob("*.png")))


def check_years(years: tuple[int, int], dyad_panel: Path) -> None:
    """``--years A B`` must name years of the dyad-year panel, whose maps the report draws: a year outside it is
    one message (exit 2) before the report is built (it came after the first sections, as a Python list: ``[1990,
    2030] not in the panel``). Either order is taken, and the same year twice is that year alone (``--help``). A
    workspace without the panel is not checked here: its maps section says what to run."""
    import pandas as pd
    import pyarrow.parquet as pq

    if not dyad_panel.is_file() or "year" not in pq.read_schema(dyad_panel).names:
        return  # (a panel without years: its section says it cannot be drawn)
    panel = sorted(int(y) for y in pd.read_parquet(dyad_panel, columns=["year"])["year"].unique())
    bad = list(dict.fromkeys(y for y in years if y not in panel))
    if not bad or not panel:
        return
    given = " ".join(map(str, years))
    which = (f"{bad[0]} is" if len(bad) == 1 else f"{bad[0]} and {bad[1]} are")
    raise UserError(f"--years {given}: {which} not in the panel (its years: {year_spans(panel)})",
                    fix=f"give two years of the panel, e.g. --years {panel[0]} {panel[-1]} (or leave --years out for "
                        "its first and last)")
