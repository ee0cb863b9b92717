"""``citynet init``: write a commented ``citynet.toml`` into the workspace."""

from __future__ import annotations

import click

from citynet.commands.common import is_quiet, workspace_option
from citynet.errors import UserError

TEMPLATE = """\
# citynet settings for this workspace. Every command reads this file; command-line options win.
# Paths are relative to this folder.

[inputs]
# Raw exports (CSV in UTF-8 or GB18030, or XLSX). Several files are read as one corpus.
patents = ["raw/patents.csv"]
# Patent-right transfer records (申请号, 转让人, 受让人, 生效日[, 受让人地址]).
transfers = ["raw/transfers.csv"]
# City-year covariates keyed by city code (320100) or Chinese name (南京市 / 南京), and year.
covariates = ["raw/covariates.csv"]
encoding = "auto"          # auto | utf-8 | gb18030

[columns]
# Map a header layout citynet does not recognise: canonical field = "your header".
# Fields: app_number, app_date, grant_date, pub_number, title, applicants, address, ipc_main, ipc,
#         cpc, country_province, patent_type, legal_status, citations, applicant_type
# app_number = "Application No."

[transfer_columns]
# Fields: app_number, assignor, assignee, date, assignee_address, assignor_address
# assignee = "New owner"

[network]
# The workspace's default filter: the patents of the yearly city networks. Its panels are
# metrics/*.parquet (and metrics/<key>/); other filters' panels are in metrics/<key>/ only.
# Its key reads KIND.GREEN.all|granted[.grantyear], e.g. invention.wipo.all.
green = "wipo"             # wipo (IPC Green Inventory) | y02 (CPC Y02/Y04S) | all
kind = "invention"         # invention | utility | design | all
granted_only = false
year_basis = "application" # application | grant

[years]
# start = 2006
# end = 2020

[store]
backend = "embedded"       # embedded (LadybugDB under store/) | neo4j
uri = "bolt://localhost:7687"
user = "neo4j"
password_env = "NEO4J_PASSWORD"   # the password is read from this environment variable
database = "neo4j"
# Memory of `citynet load` (defaults shown; docs/configuration.md): DuckDB prepares the rows, then
# LadybugDB copies them in (into an empty store the two are not held at once).
# load_memory_limit = "2GB"   # DuckDB's limit while it prepares the rows (it spills to disk beyond it)
# load_batch_rows = 500000    # rows per COPY into the store
# buffer_pool = "2GB"         # LadybugDB's page cache (load, query); COPY also uses memory outside it

[run]
# `citynet run -w WS` runs, make-style, every stage whose inputs changed since its last run:
# ingest of [inputs] → load → metrics of [network] and of the filters below → fit of the specs
# below → report. Hashes of what each stage read are kept in .citynet-run.json.
# networks = ["invention.y02.granted"]   # more filters (keys: KIND.GREEN.all|granted[.grantyear])
# specs = ["specs/table3.toml", { file = "specs/table3.toml", network = "invention.y02.granted" }]
# report = true                           # write results/report.html at the end

[analysis]
low_carbon_coding = "announce"     # announce (2010/2012/2017) | source (2011/2012/2017) | effective (+1 year) | paper004 (2011/2013/2017)
cluster = "city_code"              # default clustering of `citynet fit --formula` on the city-year panel
"""


@click.command(
    "init",
    epilog="""\b
Examples:
  citynet init -w my-study          (creates my-study/citynet.toml)
  citynet init -w . --force         (overwrite an existing file)""",
)
@workspace_option(create=True, read_config=False)  # --force replaces a citynet.toml that does not parse
@click.option("--force", is_flag=True, help="Overwrite an existing citynet.toml.")
@click.pass_context
def command(ctx, ws, force: bool) -> None:
    """Write a commented citynet.toml with every setting and its default."""
    if ws.config_path.exists() and not force:
        raise UserError(f"{ws.config_path} exists", fix="pass --force to overwrite it")
    tmp = ws.config_path.with_name(ws.config_path.name + ".tmp")
    try:  # a write that fails midway leaves the old file (--force) as it was
        tmp.write_text(TEMPLATE, encoding="utf-8")
        tmp.replace(ws.config_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {ws.config_path}: {exc.strerror or exc}",
                        fix="pass -w with a folder you can write") from None
    if not is_quiet(ctx):
        click.echo(f"wrote {ws.config_path}")
