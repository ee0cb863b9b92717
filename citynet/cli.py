"""The ``citynet`` command line: one sub-command per file in ``citynet/commands/``.

Sub-commands are imported lazily so that ``citynet --help`` is fast and a layer's heavy imports
(igraph, pyfixest, the database drivers) happen only when that layer runs.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from citynet.errors import UserError

COMMANDS = {
    "init": "Write a commented citynet.toml into the workspace.",
    "synth": "Write a synthetic CNIPA-style export with planted effects (and truth.json).",
    "ingest": "Read raw exports into the canonical tables, quarantining bad rows.",
    "load": "Load the canonical tables into the graph store and build the yearly city projections.",
    "metrics": "Compute the yearly network metrics and the city-year, dyad-year and network-year panels.",
    "export": "Export a panel to Parquet, CSV or Stata .dta (version 118, labelled).",
    "query": "Run a Cypher query against the store (read-only unless --write).",
    "fit": "Fit a model from a formula, or a table of models from a SPEC.toml.",
    "map": "Draw a map of China of a city-year variable or of a network's edges (PNG).",
    "report": "Write results/report.html: data quality, networks, panels, tables and figures.",
    "demo": "Run the whole pipeline on synthetic data: synth, ingest, load, metrics, fit, report.",
    "neo4j": "Start, stop or inspect the project's local Neo4j 5.26 server (no Docker needed).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._module(name) is not None]

    @staticmethod
    def _module(name: str):
        try:
            return importlib.util.find_spec(f"citynet.commands.{name}")
        except ModuleNotFoundError:
            return None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or self._module(name) is None:
            return None
        module = importlib.import_module(f"citynet.commands.{name}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: citynet demo ./demo-ws   (then open ./demo-ws/results/report.html)",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print debugging detail.")
@click.version_option(package_name="citynet")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """citynet: city networks from patent records, and the panels and regressions built on them."""
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["verbose"] = verbose


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="citynet", standalone_mode=False)
    except UserError as err:
        click.secho(f"error: {err.message}", fg="red", err=True)
        if err.fix:
            click.echo(f"  fix: {err.fix}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    # with standalone_mode=False click returns ctx.exit(n)'s code instead of exiting
    if isinstance(rc, int) and rc != 0:
        sys.exit(rc)


if __name__ == "__main__":
    main()
