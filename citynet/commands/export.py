"""``citynet export``: a panel to Parquet, CSV, Stata .dta (version 118, labelled) or Excel .xlsx."""

from __future__ import annotations

from pathlib import Path

import click

from citynet.commands.common import ensure_output, is_quiet, network_option, workspace_option
from citynet.errors import UserError


@click.command(
    "export",
    epilog="""\b
Examples:
  citynet export -w ws --panel city-year --format dta --out city_year.dta
  citynet export -w ws --panel dyad-year --format parquet --out dyads.parquet
  citynet export -w ws --panel network-year --out network_year.csv     (format from the suffix)
  citynet export -w ws --panel city-year --out city_year.xlsx          (Excel: the panel, and a sheet of labels)
The city-year panel is joined with canonical/covariates.parquet when it exists. Stata files are
version 118 with a variable label per column ("DC 合作网络度数中心度": seed symbol and Chinese
description, from metrics/labels.py) and a data label naming the network filter. CSV files are UTF-8
with a byte order mark, so that Excel shows Chinese text (without it, Excel reads the file in the
system's code page); pandas, DuckDB and Python's csv with encoding="utf-8-sig" read past it. --no-bom
writes plain UTF-8 for a tool that would keep the mark as part of the first column's name (Python's
csv with encoding="utf-8", R's read.csv without fileEncoding="UTF-8-BOM", cut or awk).
  citynet export -w ws --network invention.y02.granted --panel city-year --out y02.dta
The folder of --out must exist (it is not created); --out may not be one of the workspace's own
files (citynet.toml, an [inputs] file, canonical/, metrics/, store/, ...): results/ is for outputs.""",
)
@workspace_option()
@click.option("--panel", required=True, type=click.Choice(["city-year", "dyad-year", "network-year"]),
              help="Which panel to export.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "dta", "xlsx"]), default=None,
              help="Output format (default: from the suffix of --out).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
@network_option
@click.option("--no-covariates", is_flag=True, help="Do not join canonical/covariates.parquet (city-year).")
@click.option("--no-bom", is_flag=True, help="CSV: plain UTF-8, without the byte order mark Excel needs to read "
                                             "Chinese text.")
@click.pass_context
def command(ctx, ws, panel, fmt, out, network, no_covariates, no_bom):
    """Export a panel to Parquet, CSV, Stata .dta (version 118, labelled) or Excel .xlsx."""
    from rich.console import Console

    from citynet.metrics.export import export_panel

    if no_bom and (fmt or out.suffix.lower().lstrip(".")) != "csv":
        raise UserError("--no-bom is for a CSV export (Parquet, Stata and Excel files have no byte order mark)",
                        fix="drop --no-bom, or export --format csv")
    out = ensure_output(out, "export file", ws)  # (~ expanded: a literal ~ folder was made)
    ws.select_network(network)
    from citynet.commands.common import progress_bars

    notes: list[str] = []
    with progress_bars(ctx):  # an Excel sheet is written row by row: about a minute per million rows
        path = export_panel(ws, panel, fmt, out, covariates=not no_covariates, bom=not no_bom, warn=notes.append)
    console = Console(stderr=True, quiet=is_quiet(ctx))
    console.print(f"wrote {path}")
    from citynet.metrics.pipeline import panel_meta, stale_note

    if stale := stale_note(ws, panel_meta(ws.panel(panel))):
        notes.append(stale)
    for note in notes:
        console.print(f"warning: {note}", style="yellow", markup=False, highlight=False, soft_wrap=True)
