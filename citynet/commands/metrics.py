"""``citynet metrics``: yearly city graphs from the store → metrics/city_year, dyad_year, network_year."""

from __future__ import annotations

import click

from citynet.commands.common import is_quiet, workspace_option
from citynet.graph.network_filter import GREEN_CHOICES, KIND_CHOICES, YEAR_BASIS_CHOICES


@click.command(
    "metrics",
    epilog="""\b
Examples:
  citynet metrics -w ws                          every year, filter from citynet.toml [network]
  citynet metrics -w ws --green y02 --kind all   low-carbon (CPC Y02) patents of every kind
  citynet metrics -w ws --granted-only --year-basis grant
  citynet metrics -w ws --years 2021             yearly refresh: recompute 2021 (and 2022's churn)
  citynet metrics -w ws --store neo4j --uri bolt://localhost:7687
Writes metrics/city_year.parquet, dyad_year.parquet, network_year.parquet (the filter is in each
file's metadata) and the CityYear nodes of the store. Definitions: metrics/panels.py and metrics/README.md.""",
)
@workspace_option()
@click.option("--years", "years_text", metavar="A-B",
              help="Refresh only these years (e.g. 2021 or 2019-2021) in the existing panels.")
@click.option("--green", type=click.Choice(GREEN_CHOICES), default=None,
              help="Green definition: WIPO IPC Green Inventory, CPC Y02/Y04S, or all patents.")
@click.option("--kind", type=click.Choice(KIND_CHOICES), default=None, help="Patent kind (default invention).")
@click.option("--granted-only/--all-patents", "granted_only", default=None,
              help="Only granted patents (default from citynet.toml, else all).")
@click.option("--year-basis", type=click.Choice(YEAR_BASIS_CHOICES), default=None,
              help="Year of a patent: application year (default) or grant year (implies granted).")
@click.option("--store", "backend", type=click.Choice(["embedded", "neo4j"]), default=None,
              help="Graph store (default from citynet.toml [store], else embedded).")
@click.option("--uri", default=None, help="Neo4j Bolt URI, e.g. bolt://localhost:7687.")
@click.option("--rebuild-projections", is_flag=True,
              help="Rebuild the filter's city projections of the years read (default: use the store's, "
                   "building only missing ones).")
@click.pass_context
def command(ctx, ws, years_text, green, kind, granted_only, year_basis, backend, uri, rebuild_projections):
    """Compute the yearly network metrics and the city-year, dyad-year and network-year panels."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.pipeline import parse_years, run_metrics

    net = dict(ws.settings.get("network", {}))
    for key, value in (("green", green), ("kind", kind), ("granted_only", granted_only), ("year_basis", year_basis)):
        if value is not None:
            net[key] = value
    flt = NetworkFilter.from_settings(net)
    years = parse_years(years_text)
    console = Console(stderr=True, quiet=is_quiet(ctx))
    with Progress(TextColumn("[bold]metrics[/] {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=is_quiet(ctx)) as bar:
        task = bar.add_task("", total=5)

        def tick(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        run = run_metrics(ws, flt, years=years, backend=backend or ws.settings["store"].get("backend"),
                          uri=uri, progress=tick, project=rebuild_projections)
    span = f"{run.panel_years[0]}–{run.panel_years[-1]}"
    what = (f"years {run.years[0]}–{run.years[-1]}" if len(run.years) > 1 else f"year {run.years[0]}") \
        if years else f"every year {span}"
    if run.churn_years:
        what += f" (+ churn of {', '.join(map(str, run.churn_years))})"
    console.print(f"network [bold]{run.network}[/]: recomputed {what}; panel covers {span}, "
                  f"{len(run.panels.city_year):,} city-years")
    for path in run.paths.values():
        console.print(f"  wrote {path}")
    secs = ", ".join(f"{k} {v:.1f}s" for k, v in run.seconds.items())
    console.print(f"  ({secs}; CityYear nodes written to the store)")
