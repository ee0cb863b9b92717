"""``citynet export``: a panel to Parquet, CSV or Stata .dta (version 118, labelled)."""

from __future__ import annotations

from pathlib import Path

import click

from citynet.commands.common import ensure_output, is_quiet, network_option, workspace_option


@click.command(
    "export",
    epilog="""\b
Examples:
  citynet export -w ws --panel city-year --format dta --out city_year.dta
  citynet export -w ws --panel dyad-year --format parquet --out dyads.parquet
  citynet export -w ws --panel network-year --out network_year.csv     (format from the suffix)
The city-year panel is joined with canonical/covariates.parquet when it exists. Stata files are
version 118 with a variable label per column ("DC 合作网络度数中心度": seed symbol and Chinese
description, from metrics/labels.py) and a data label naming the network filter.
  citynet export -w ws --network invention.y02.granted --panel city-year --out y02.dta
The folder of --out must exist (it is not created).""",
)
@workspace_option()
@click.option("--panel", required=True, type=click.Choice(["city-year", "dyad-year", "network-year"]),
              help="Which panel to export.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "dta"]), default=None,
              help="Output format (default: from the suffix of --out).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
@network_option
@click.option("--no-covariates", is_flag=True, help="Do not join canonical/covariates.parquet (city-year).")
@click.pass_context
def command(ctx, ws, panel, fmt, out, network, no_covariates):
    """Export a panel to Parquet, CSV or Stata .dta (version 118, labelled)."""
    from rich.console import Console

    from citynet.metrics.export import export_panel

    ensure_output(out, "export file")
    ws.select_network(network)
    path = export_panel(ws, panel, fmt, out, covariates=not no_covariates)
    Console(stderr=True, quiet=is_quiet(ctx)).print(f"wrote {path}")
