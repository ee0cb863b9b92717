"""``citynet metrics``: yearly city graphs from the store → metrics/city_year, dyad_year, network_year."""

from __future__ import annotations

import click

from citynet.commands.common import is_quiet, line_progress, panels_behind_note, workspace_option
from citynet.graph.network_filter import GREEN_CHOICES, KIND_CHOICES, YEAR_BASIS_CHOICES
from citynet.progress import tee


@click.command(
    "metrics",
    epilog="""\b
Examples:
  citynet metrics -w ws                          every year, filter from citynet.toml [network]
  citynet metrics -w ws --green y02 --kind all   low-carbon (CPC Y02) patents of every kind
  citynet metrics -w ws --granted-only --year-basis grant
  citynet metrics -w ws --years 2021             yearly refresh: recompute 2021 (and 2022's churn),
                                                 reading only 2020-2022 from the store and the corpus
  citynet metrics -w ws --store neo4j --uri bolt://localhost:7687
Writes metrics/<filter key>/city_year.parquet, dyad_year.parquet, network_year.parquet (the filter
is also in each file's metadata) and the CityYear nodes of the store; the panels of the workspace's
default filter (citynet.toml [network]) are also written to metrics/*.parquet. Panels of other
filters stay side by side: export, fit, report and query take --network KEY to use them.
Memory: the embedded store's page cache is citynet.toml [metrics] buffer_pool (default 2.5GB; it
also holds the count queries' rows), the partner-kind columns are read within [metrics]
memory_limit (1GB) one year at a time; the peak is about buffer_pool + 0.6 GB, not the corpus.
Definitions: metrics/README.md.""",
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
              help="Year of a patent: application year (default) or grant year (implies granted; with "
                   "--all-patents it is refused).")
@click.option("--network", "network_key", metavar="KEY",
              help="The filter by its key, e.g. invention.y02.granted (instead of --green/--kind/--granted-only/"
                   "--year-basis).")
@click.option("--store", "backend", type=click.Choice(["embedded", "neo4j"]), default=None,
              help="Graph store (default from citynet.toml [store], else embedded).")
@click.option("--uri", default=None, help="Neo4j Bolt URI, e.g. bolt://localhost:7687.")
@click.option("--rebuild-projections", is_flag=True,
              help="Rebuild the filter's city projections of the years read (default: use the store's, "
                   "building only missing ones).")
@click.pass_context
def command(ctx, ws, years_text, green, kind, granted_only, year_basis, network_key, backend, uri,
            rebuild_projections):
    """Compute the yearly network metrics and the city-year, dyad-year and network-year panels."""
    from citynet.commands.common import refuse_neo4j_options

    refuse_neo4j_options(ws, backend, uri)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from citynet.commands.load import _rate_column

    console = Console(stderr=True, quiet=is_quiet(ctx))
    # one bar per step with rows done and rows/s, shown before the heavy imports (pandas, igraph)
    with Progress(TextColumn("[bold]metrics[/] {task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), _rate_column(), console=console, transient=False,
                  disable=is_quiet(ctx)) as bar:
        tasks: dict[str, int] = {}

        def draw(stage: str, done: int, total: int) -> None:
            """A new stage with total 0: rows not known yet (a running bar); later calls set them."""
            if stage not in tasks:
                rows = stage.startswith(("reading", "computing", "writing"))
                tasks[stage] = bar.add_task(stage, total=total or None, completed=done, rows=rows)
            else:
                bar.update(tasks[stage], completed=done, total=total)

        tick = tee(draw, line_progress(console))  # plain lines too when stderr is not a terminal
        try:
            tick("starting", 0, 1)
            flt, years = _filter_and_years(ws, years_text, green, kind, granted_only, year_basis, network_key)
            from citynet.metrics.pipeline import run_metrics

            tick("starting", 1, 1)
            run = run_metrics(ws, flt, years=years, backend=backend or ws.settings["store"].get("backend"),
                              uri=uri, progress=tick, project=rebuild_projections)
        except BaseException:  # an error is one message: the bars go away
            for task in tasks.values():
                bar.remove_task(task)
            bar.console.quiet = True  # (rich ends a bar on a file or pipe with an empty line)
            raise
    span = f"{run.panel_years[0]}–{run.panel_years[-1]}"
    what = (f"years {run.years[0]}–{run.years[-1]}" if len(run.years) > 1 else f"year {run.years[0]}") \
        if years else f"every year {span}"
    if run.churn_years:
        what += f" (+ churn of {', '.join(map(str, run.churn_years))})"
    console.print(f"network [bold]{run.network}[/]: recomputed {what}; panel covers {span}, "
                  f"{len(run.panels.city_year):,} city-years")
    for path in [*run.paths.values(), *run.mirror.values()]:
        console.print(f"  wrote {path}")
    if not run.mirror:
        console.print(f"  (not the workspace's default filter {ws.default_network}: metrics/*.parquet unchanged; "
                      f"use --network {run.network} with export, fit, report, query)")
    secs = ", ".join(f"{k} {v:.1f}s" for k, v in run.seconds.items())
    console.print(f"  ({secs}; CityYear nodes written to the store)")
    if run.behind:  # (after an append that re-located applicants of every year, a refresh of the new year)
        click.secho(f"note: {panels_behind_note(ws, run.network, run.behind)}", fg="yellow", err=True)


def _filter_and_years(ws, years_text, green, kind, granted_only, year_basis, network_key):
    """The network filter (``--network KEY`` or the four options over ``citynet.toml [network]``) and
    the ``--years`` range (None: every year)."""
    from citynet.errors import UserError
    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.pipeline import parse_years

    net = dict(ws.settings.get("network", {}))
    for key, value in (("green", green), ("kind", kind), ("granted_only", granted_only), ("year_basis", year_basis)):
        if value is not None:
            net[key] = value
    if network_key:
        from citynet.workspace import parse_network_key

        if any(v is not None for v in (green, kind, granted_only, year_basis)):
            raise UserError("--network KEY excludes --green, --kind, --granted-only and --year-basis",
                            fix="give the filter either by its key or by the four options")
        flt = parse_network_key(network_key)
    else:
        _refuse_all_patents_by_grant_year(ws, granted_only, year_basis, net)
        try:
            flt = NetworkFilter.from_settings(net)
        except ValueError as exc:
            raise UserError(f"{ws.config_path} [network]: {exc}", fix="correct the [network] settings") from exc
    return flt, parse_years(years_text)


def _refuse_all_patents_by_grant_year(ws, granted_only, year_basis, net: dict) -> None:
    """``--all-patents`` with a grant year basis (``--year-basis grant`` or citynet.toml ``[network] year_basis``):
    one message, exit 2. Only a granted patent has a grant year, so such a network holds granted patents only;
    ``--all-patents`` had no effect and the panels of ``….granted.grantyear`` came out without a word."""
    from citynet.errors import UserError

    if granted_only is not False or net.get("year_basis") != "grant":
        return
    where = "--year-basis grant" if year_basis == "grant" else f"{ws.config_path} [network] year_basis = \"grant\""
    raise UserError(f"--all-patents has no effect with {where}: only a granted patent has a grant year, so a "
                    "grant-year network holds granted patents only",
                    fix="to count every patent, by its application year: --all-patents --year-basis application; "
                        "for the grant-year network: drop --all-patents")
