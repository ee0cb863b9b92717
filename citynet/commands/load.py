"""``citynet load``: canonical tables → graph store (schema, idempotent upsert, yearly projections)."""

from __future__ import annotations

from pathlib import Path

import click

from citynet.commands.common import is_quiet, line_progress, workspace_option
from citynet.errors import StoreError, UserError
from citynet.progress import tee


def store_options(f):
    """``--store``, ``--uri``, ``--user``, ``--password`` (defaults: citynet.toml ``[store]``)."""
    f = click.option("--password", default=None,
                     help="Neo4j password (default: [store] password, else env NEO4J_PASSWORD).")(f)
    f = click.option("--user", default=None, help="Neo4j user (default: [store] user, neo4j).")(f)
    f = click.option("--uri", default=None, help="Neo4j address, bolt://HOST:PORT (default: [store] uri).")(f)
    f = click.option("--store", "backend", type=click.Choice(["embedded", "neo4j"]), default=None,
                     help="Graph store (default: [store] backend, embedded).")(f)
    return f


def open_ws_store(ws, backend, uri, user, password, read_only=False):
    from citynet.graph.store import open_store

    return open_store(ws, backend=backend, uri=uri, user=user, password=password, read_only=read_only)


def _rate_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Rows per second of a step: rows done / seconds since it started (blank until rows are done)."""

        def render(self, task) -> Text:
            secs = task.finished_time if task.finished_time is not None else task.elapsed
            if not task.fields.get("rows") or task.fields.get("nothing") or not task.completed or not secs:
                return Text("")
            return Text(f"{task.completed / secs:,.0f} rows/s", style="dim")

    return RateColumn()


def _count_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class CountColumn(ProgressColumn):
        """Done/total of a step; a step with nothing to do (a table without rows) reads 0/0, finished."""

        def render(self, task) -> Text:
            if task.fields.get("nothing"):
                return Text("0/0", style="progress.download")
            return Text(f"{int(task.completed):,}/{int(task.total or 0):,}", style="progress.download")

    return CountColumn()


PASS_STAGES = ("store keys", "empty lists")  # load stages counted in passes over the store, not in rows


def load_bars(console):
    """The load's bars (rich) and the reporter that draws them: one bar per stage, in the order they start;
    a stage reported with a total of 0 has nothing to do and is drawn finished, as 0/0. Rows/s is shown for
    stages of rows: not for a one-unit step (total 1, as ``citynet.progress.LineReporter`` reads it) nor for
    the steps that count passes (:data:`PASS_STAGES`)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), _count_column(), TimeElapsedColumn(),
                   _rate_column(), console=console, transient=False)
    tasks: dict[str, int] = {}

    def draw(stage: str, done: int, total: int) -> None:
        nothing = total <= 0  # (rich's bar needs a positive total)
        if stage not in tasks:
            rows = total != 1 and stage not in PASS_STAGES
            tasks[stage] = bar.add_task(stage, total=1 if nothing else total, rows=rows, nothing=nothing)
        bar.update(tasks[stage], completed=1 if nothing else done, total=1 if nothing else total, nothing=nothing)

    return bar, tasks, draw


def network_filter(ws):
    from citynet.graph.network_filter import NetworkFilter

    try:
        return NetworkFilter.from_settings(ws.settings.get("network", {}))
    except ValueError as exc:
        raise UserError(f"{ws.config_path} [network]: {exc}", fix="correct the [network] settings") from exc


def _clear_import_dir(folder: Path) -> Path:
    """``folder`` ready for the offline importer's files: a new or empty folder, or one that holds only the
    files of an earlier ``--import-dir`` (removed: a table that is empty now would leave its old file, which
    the printed command does not name). A folder with anything else is refused: its files are not citynet's
    to replace."""
    from citynet.graph.neo4j_import import import_file_names

    if folder.exists() and not folder.is_dir():
        raise UserError(f"--import-dir {folder} is a file", fix="name a new or empty folder for the import files")
    if folder.is_dir():
        ours = import_file_names()
        others = sorted(p.name for p in folder.iterdir() if p.name not in ours or not p.is_file())
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise UserError(f"--import-dir {folder} holds other files ({shown}); the import files would be "
                            "written among them", fix="name a new or empty folder for the import files")
        for p in folder.iterdir():
            p.unlink()
    return folder


def _empty_database(ws, backend, uri, user, password, rebuild: bool) -> str:
    """The name of the Neo4j database that ``--import-dir``'s files are for, once it is known to hold no graph:
    the printed ``neo4j-admin database import full`` replaces the database, so a database with data is refused
    (the incremental load is the way to add to it), and one that cannot be reached to check is refused too.
    ``--rebuild``: the user asks for the replacement, nothing is checked."""
    from citynet.graph.neo4j_import import has_graph_data
    from citynet.graph.store import NEO4J_DEFAULTS

    if rebuild:
        return ws.settings.get("store", {}).get("database") or NEO4J_DEFAULTS["database"]
    try:
        store = open_ws_store(ws, backend, uri, user, password, read_only=True)
    except StoreError as exc:
        if not exc.message.startswith("cannot reach"):
            raise
        raise StoreError(f"--import-dir: {exc.message}; the import replaces the database, so citynet checks "
                         "first that it holds no graph",
                         fix="start the Neo4j service with its Bolt port published (docker compose up -d) and give "
                             "its --uri and --password, or add --rebuild to replace whatever the database "
                             "holds") from exc
    with store:
        if has_graph_data(store):
            raise UserError(f"the Neo4j database {store.database} at {store.uri} already holds a graph, and the "
                            "offline importer would replace it (no import files written)",
                            fix=f"add to it with the incremental load: citynet load -w {ws.root} --store neo4j "
                                "(without --import-dir); or add --rebuild to replace it with the canonical tables")
        return store.database


@click.command(
    "load",
    epilog="""\b
Examples:
  citynet load -w ws                                  (embedded LadybugDB store in ws/store/)
  citynet load -w ws --store neo4j --uri bolt://localhost:7687 --password secret
  NEO4J_PASSWORD=secret citynet load -w ws --store neo4j
  citynet load -w ws --rebuild                        (after a schema-version change)
  citynet load -w ws --store neo4j --import-dir ./neo4j-import   (Docker: files + docker compose lines)
The first load into an empty database of the local server (citynet neo4j start, data folder
[store] neo4j_data or ./.neo4j) goes through Neo4j's offline importer (neo4j-admin database import).
Loading again adds new rows and updates changed ones; it deletes only what the canonical tables no
longer have of this corpus (after ingest --append: links and citations of its patents, and an applicant
merged into another once no link is left), never another corpus's rows. A store table whose
canonical inputs are unchanged since the last load (digests in canonical/manifest.json, recorded in
the store) is skipped without reading them; after a re-ingest, patents, applicant links and
citations are read only for the years (and buckets of a year) whose content changed (per-year
digests recorded in the store; docs/scale.md), and the projections of the network filter of
citynet.toml [network] are rebuilt only for the years whose rows changed (every year on the first
load). After `citynet ingest` of another corpus (ingest replaces the canonical tables), the store
still holds the old corpus's patents: load says how many and that `--rebuild` makes the store hold
exactly the canonical tables (until then `citynet metrics` refuses the store: its panels would mix the two). Memory: the rows are prepared by DuckDB within [store]
load_memory_limit (default 2GB) and copied in batches of [store] load_batch_rows (500000) into
LadybugDB, whose page cache is [store] buffer_pool (2GB); into an empty store DuckDB writes the
batches to files under store/ and is closed before they are copied, so the two are not held at
once (10M patents: under 4 GB; docs/scale.md).""",
)
@workspace_option()
@store_options
@click.option("--rebuild", is_flag=True, help="Empty the store first, then load: the store holds exactly the canonical "
                                            "tables (after ingesting another corpus, or a schema-version change).")
@click.option("--import-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Neo4j in Docker: write the offline importer's CSV files into this new or empty folder and "
                   "print the docker compose commands that import them (no load). The import replaces the "
                   "database: citynet first checks, at --uri, that it holds no graph (--rebuild: no check, "
                   "replace it).")
@click.pass_context
def command(ctx, ws, backend, uri, user, password, rebuild, import_dir):
    """Load the canonical tables into the graph store and build the yearly city projections."""
    from rich.console import Console
    from rich.table import Table

    from citynet.commands.common import refuse_neo4j_options
    from citynet.graph.store import load_settings

    refuse_neo4j_options(ws, backend, uri, user, password)
    ws.require(ws.table("cities"), "ingest")
    flt = network_filter(ws)
    # every setting of the load is checked before the store is opened (--rebuild empties it first: a mistake
    # found after that left an empty store marked "the last load did not finish")
    settings = load_settings(ws)
    console = Console(stderr=True, quiet=is_quiet(ctx))
    if import_dir is not None:
        from citynet.graph.neo4j_import import docker_commands, write_import_files

        if (backend or ws.settings.get("store", {}).get("backend") or "embedded") != "neo4j":
            raise UserError("--import-dir is for Neo4j", fix="add --store neo4j")
        import_dir = _clear_import_dir(import_dir.expanduser())
        database = _empty_database(ws, backend, uri, user, password, rebuild)
        files = write_import_files(ws.canonical, import_dir, memory_limit=settings.get("memory_limit"))
        click.echo(f"wrote the import files to {import_dir}. Into the EMPTY database {database} "
                   "(the importer replaces it):")
        for line in docker_commands(files, database=database):
            click.echo("  " + line)
        click.echo(f"then: citynet load -w {ws.root} --store neo4j   (schema, projections; later loads are incremental)")
        return
    # the bars start before the store opens (and before pandas, pyarrow and the engine load)
    bar, tasks, draw = load_bars(console)

    progress = tee(draw, line_progress(console))  # plain lines too when stderr is not a terminal
    bar.start()
    progress("opening the store", 0, 1)
    try:
        opened = open_ws_store(ws, backend, uri, user, password)
    except BaseException:  # an error is one message: the bar goes away
        for task in tasks.values():
            bar.remove_task(task)
        bar.console.quiet = True  # (rich ends a bar on a file or pipe with an empty line)
        bar.stop()
        raise
    with opened as store:
        progress("opening the store", 1, 1)
        if rebuild:
            store.clear()
        with bar:
            progress("schema", 0, 1)
            store.ensure_schema()
            progress("schema", 1, 1)
            from citynet.graph import lifecycle
            from citynet.transaction import manifest_entry

            # one writer at a time; the store records the start and the end of the load (graph/lifecycle.py)
            before = lifecycle.state(store)  # (the last load's workspace: another one's, in a shared database?)
            with lifecycle.writing(store, "citynet load", manifest=manifest_entry(ws.root, "ingest"),
                                   workspace=ws.root):
                counts = None
                if store.backend == "neo4j":
                    from citynet.graph.neo4j_import import first_load, local_server

                    s = ws.settings.get("store", {})
                    data = s.get("neo4j_data")  # (relative: to the workspace, as every path of citynet.toml)
                    if data and not Path(data).expanduser().is_absolute():
                        data = ws.root / data
                    server = local_server(store.uri, [data, ws.root / ".neo4j", Path(".neo4j")])
                    if server is not None:  # an empty database of the local server: the offline importer
                        counts = first_load(store, server, ws.canonical, progress=progress,
                                            memory_limit=settings.get("memory_limit"))
                if counts is None:
                    counts = store.load(ws.canonical, progress=progress, **settings)
                missing = store.missing_years(flt)  # None: every year; []: current; else the years loads changed
                proj = None
                if missing != []:
                    what = "every year" if missing is None else ", ".join(map(str, missing))
                    progress(f"projections {flt.key} ({what})", 0, 1)
                    proj = store.refresh_projections(flt)
                    progress(f"projections {flt.key} ({what})", 1, 1)
                stale = _stale_patents(store, counts)
                # a second workspace loaded into one Neo4j database (not an earlier corpus of this one): the
                # other workspace, from the last load's record, or from the load that first found its patents
                other = lifecycle.other_workspace(before, ws.root) if stale and store.backend == "neo4j" else None
                if stale is not None:  # metrics refuses a store with patents beyond the canonical ones, every time
                    store.record_patents_beyond_canonical(stale, workspace=other)
                    other = (other or store.patents_beyond_from()) if stale else None
        t = Table(title=f"{store.backend} store: {store.location}")
        # (deleted: links and citations of canonical patents that the canonical tables no longer have, and
        # the applicants this corpus wrote that they no longer have, left without links: docs/cypher.md)
        deleted = any(c.get("deleted") for c in counts.values())
        for col in ("table", "canonical rows", "new", "changed", *(("deleted",) if deleted else ())):
            t.add_column(col, justify="left" if col == "table" else "right")
        for name, c in counts.items():
            t.add_row(name, f"{c['rows']:,}", f"{c['new']:,}", "unchanged" if c.get("skipped") else f"{c['changed']:,}",
                      *((f"{c.get('deleted', 0):,}",) if deleted else ()))
        console.print(t)
        if proj is None:
            console.print(f"yearly city projections of network {flt.key}: current, nothing to rebuild")
        else:
            p = Table(title=f"yearly city projections, network {flt.key}, rebuilt: {what}")
            for col in ("network", "edges", "total weight"):
                p.add_column(col, justify="left" if col == "network" else "right")
            for net, c in proj.items():
                p.add_row(net, f"{c['edges']:,}", f"{c['weight']:,}")
            console.print(p)
        from citynet.commands.common import panels_behind_note

        for key in ws.computed_networks():  # the panels this load left behind the store (of their years)
            behind = store.panels_behind(key)
            if behind and behind != "all":  # (an unchanged reload has none: it imports no pandas)
                from citynet.metrics.pipeline import panel_meta

                meta = panel_meta(ws.panel("city_year", key)) or {}
                if meta.get("first_year") is not None:
                    behind = [y for y in behind if meta["first_year"] <= y <= meta["last_year"]]
            if behind:
                click.secho(f"note: {panels_behind_note(ws, key, behind)}", fg="yellow", err=True)
    if other:  # a second workspace loaded into one Neo4j database: not an earlier corpus of this one
        click.secho(f"warning: the store holds {stale:,} patents beyond this workspace's canonical tables: the "
                    f"database's last load came from another workspace, {other}. The two corpora are now one "
                    "graph: its projections and the other workspace's queries mix them, and `citynet metrics` "
                    "refuses the store in both workspaces.", fg="yellow", err=True)
        click.echo(f"  fix: {lifecycle.own_database_fix(ws.root, store, other)}", err=True)
    elif stale:
        click.secho(f"warning: the store holds {stale:,} patents that the canonical tables no longer have "
                    "(an earlier corpus: ingest replaces the canonical tables, load only adds to the store); "
                    "their edges stay in the projections, and `citynet metrics` refuses the store until it holds "
                    "this corpus alone (its panels would mix the two).", fg="yellow", err=True)
        click.echo(f"  fix: citynet load -w {ws.root} --rebuild   (the store then holds exactly this corpus)", err=True)


def _stale_patents(store, counts: dict) -> int | None:
    """Patents in the store beyond those of the canonical tables just loaded (None when unknown); when the
    Patent table was skipped, the count of the load that last read it (neither side changed since), counted
    now when no load did (a store of an older citynet)."""
    if counts.get("Patent", {}).get("skipped") and (known := store.patents_beyond_canonical()) is not None:
        return known
    try:
        if store.backend == "embedded":  # one label, not every node and relationship (0.7 s at 1M)
            held = int(store._exec_block("load", "count_Patent")["n"].iloc[0])
        else:
            held = int(store.counts().get("Patent", 0))
    except Exception:  # noqa: BLE001 - a count is a courtesy check, never a failure of the load
        return None
    return max(held - int(counts.get("Patent", {}).get("rows", held)), 0)
