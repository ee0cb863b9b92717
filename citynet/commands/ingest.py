"""``citynet ingest``: raw exports → canonical tables, quarantine/ and reports/ingest.json."""

from __future__ import annotations

from pathlib import Path

import click

from citynet.commands.common import is_quiet, workspace_option
from citynet.errors import UserError


@click.command(
    "ingest",
    epilog="""\b
Examples:
  citynet ingest -w ws raw/patents.csv --transfers raw/transfers.csv --covariates raw/covariates.csv
  citynet ingest -w ws export_2019.xlsx export_2020.xlsx
  citynet ingest -w ws            (inputs from citynet.toml [inputs])
Headers are recognised by their CNIPA/incoPat/Patsnap names; map any other layout in citynet.toml [columns].""",
)
@workspace_option(create=True)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--transfers", "transfer_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Transfer-records file (申请号, 转让人, 受让人, 生效日). Repeatable.")
@click.option("--covariates", "covariate_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="City-year covariates (CSV, XLSX or .dta), keyed by city code or name.")
@click.option("--encoding", default=None, help="Force the input encoding (default: detect UTF-8 / GB18030).")
@click.pass_context
def command(ctx, ws, files, transfer_files, covariate_files, encoding):
    """Read raw patent exports into the canonical tables; bad rows go to quarantine/ with the reason."""
    from rich.console import Console

    from citynet.etl.pipeline import IngestOptions, ingest

    inputs = ws.settings["inputs"]

    def rel(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else ws.root / p

    if not files:
        files = tuple(rel(p) for p in _as_list(inputs.get("patents")))
        transfer_files = transfer_files or tuple(rel(p) for p in _as_list(inputs.get("transfers")))
        covariate_files = covariate_files or tuple(rel(p) for p in _as_list(inputs.get("covariates")))
    if not files:
        raise UserError("no input files", fix="citynet ingest -w WS raw/patents.csv, or list them in citynet.toml [inputs] patents = [...]")
    opts = IngestOptions(
        encoding=encoding or inputs.get("encoding", "auto"),
        columns=dict(ws.settings.get("columns", {})),
        transfer_columns=dict(ws.settings.get("transfer_columns", {})),
    )
    console = Console(stderr=True, quiet=is_quiet(ctx))
    with console.status("ingesting…") as status:
        def show(msg: str) -> None:  # a finished step stays on screen with its rows and rows/s
            if msg.startswith("✓"):
                console.print(f"  {msg}", highlight=False, soft_wrap=True)
            else:
                status.update(msg)

        report = ingest(ws, list(files), list(transfer_files), list(covariate_files), opts, progress=show)
    _summary(console, ws, report)


def _as_list(value) -> list:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def _summary(console, ws, report: dict) -> None:
    from rich.table import Table

    t = Table(title="ingest", show_lines=False)
    for col in ("file", "read", "loaded", "quarantined", "top reasons"):
        t.add_column(col, justify="right" if col in ("read", "loaded", "quarantined") else "left")
    for f in report["files"]:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(f["quarantined_by_reason"].items(), key=lambda kv: -kv[1])[:3])
        t.add_row(Path(f["file"]).name, f"{f['rows_read']:,}", f"{f['rows_loaded']:,}", f"{f['rows_quarantined']:,}", reasons)
    console.print(t)
    a = report["applicants"]
    console.print(
        f"patents {report['patents']['count']:,} (green {report['patents']['green_wipo']:,}); "
        f"applicants {a['count']:,}, located {a['located_share']:.1%} "
        f"({', '.join(f'{k} {v:,}' for k, v in a['located_by'].items())})"
    )
    console.print(f"wrote {ws.canonical}/*.parquet, {ws.quarantine}/, {ws.reports / 'ingest.json'}")
