"""The first load of an empty Neo4j database through Neo4j's offline importer.

``neo4j-admin database import full`` writes the store files directly, far faster than any Bolt
transaction (docs/cypher.md has the figures). citynet writes one CSV file per node label and
relationship type (:func:`write_import_files`; the same rows, labels, keys, properties and
relationship types as the batched loader, from ``graph.tables``), the database is imported offline,
started again, and the schema (uniqueness constraints, indexes) is created on the imported data.

- Local server (``citynet neo4j start``): :func:`first_load` does it all in one call (``citynet load``
  takes this path by itself when the database is empty and the server's data folder is known).
- Docker Compose: ``citynet load --store neo4j --import-dir DIR`` writes the files and prints the
  ``docker compose`` lines (:func:`docker_commands`).

A database that already holds data is never imported into (:func:`first_load` refuses; the caller
takes the incremental path instead). Later loads are the batched incremental path of Neo4jStore.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from citynet.graph.tables import ENTITIES, ENTITY, LIST_COLS

from citynet.errors import StoreError

ARRAY_DELIMITER = "\x1f"
"""Separator of list elements inside a CSV field (unit separator: never part of an IPC/CPC code)."""

NEO4J_TYPES = {"lon": "double", "lat": "double", "app_date": "date", "grant_date": "date", "date": "date",
               "app_year": "long", "grant_year": "long", "refs_made": "long", "refs_foreign": "long",
               "refs": "long", "seq": "long", "year": "long", "row_hash": "long", "granted": "boolean",
               "green": "boolean", "y02": "boolean", "ipc": "string[]", "cpc": "string[]",
               "green_topics": "string[]"}


EMPTY_LIST_LABEL = "CitynetEmptyList"
"""Prefix of the temporary label of a node with empty lists: ``CitynetEmptyList_cpc_green_topics`` names
the list columns that are ``[]``. The importer cannot store an empty list (an empty field is no
property), so those nodes are marked, and after the start the lists are set and the label removed
(``cypher/load.neo4j.cypher``: ``imported_empty_lists:<label>``)."""


def import_threads() -> int:
    """Threads of ``neo4j-admin database import``: twice this process's cores, at least 8. Its default
    (one per core) leaves cores idle while its steps wait on each other and on the disk: at 1M patents
    on 2 cores the import took 19.2-22.6 s with 2 threads, 14.2-15.6 s with 4-16 (docs/cypher.md)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(8, 2 * cores)


_PHASE = re.compile(r"^\((\d+)/(\d+)\) (\w[\w ]*?) \d{4}-\d\d-\d\d")  # "(1/4) Node import 2026-12-05 …"
_PERCENT = re.compile(r"\s(\d{1,3})%(?:\s|$)")  # ".......... ..........   5% ∆3s 940ms [3s 940ms]"


class ImporterProgress:
    """``neo4j-admin database import``'s report, line by line, as progress: each of its phases (``(1/4)
    Node import``, ``(2/4) Relationship import``, ``(3/4) Relationship linking``, ``(4/4) Post processing``
    in Neo4j 5.26) one stage, ``neo4j-admin: node import`` …, of the rows it works through — the nodes for
    the node import, the relationships for the others — done as the percent the importer prints of them.

    >>> events = []
    >>> p = ImporterProgress(lambda *e: events.append(e), nodes=2_000, relationships=5_000)
    >>> for line in ["(1/4) Node import 2026-12-05 16:01:02.672+0000",
    ...              ".......... .......... .......... .......... ..........   5% ∆3s 940ms [3s 940ms]",
    ...              "Node import COMPLETED in 9s 41ms",
    ...              "(2/4) Relationship import 2026-12-05 16:01:11.713+0000"]:
    ...     p(line)
    >>> p.close()
    >>> events  # doctest: +NORMALIZE_WHITESPACE
    [('neo4j-admin: node import', 0, 2000), ('neo4j-admin: node import', 100, 2000),
     ('neo4j-admin: node import', 2000, 2000), ('neo4j-admin: relationship import', 0, 5000),
     ('neo4j-admin: relationship import', 5000, 5000)]
    """

    def __init__(self, report: Callable[[str, int, int], None], nodes: int, relationships: int):
        self.report, self.nodes, self.relationships = report, nodes, relationships
        self.stage: str | None = None
        self.total = self.done = 0

    def __call__(self, line: str) -> None:
        phase = _PHASE.match(line)
        if phase:
            self.close()
            name = phase.group(3).strip().lower()
            self.stage = f"neo4j-admin: {name}"
            self.total = self.nodes if name.startswith("node") else self.relationships
            self._at(0)
            return
        percent = _PERCENT.search(line) if self.stage else None
        if percent:
            self._at(self.total * min(int(percent.group(1)), 100) // 100)

    def _at(self, done: int) -> None:
        if done != self.done or done == 0:
            self.done = done
            self.report(self.stage, done, self.total)

    def close(self) -> None:
        """The current phase ended (the next began, or the importer finished)."""
        if self.stage is not None:
            self._at(self.total)
            self.stage = None


@dataclass
class ImportFiles:
    """The CSV files of one import: ``nodes``/``relationships`` as (label or type, file name)."""

    folder: Path
    nodes: list[tuple[str, str]] = field(default_factory=list)
    relationships: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    empty_list_nodes: int = 0  # nodes with at least one empty list
    multiline: bool = False  # some text holds a line break: the importer must parse fields across lines

    def admin_args(self, folder: str | None = None, database: str = "neo4j") -> list[str]:
        """Arguments of ``neo4j-admin`` for these files (``folder``: where the importer sees them).

        Node ids are integers (``--id-type=integer``: no string-to-id map, the importer's slowest
        part for string keys), and fields are parsed across lines only when a text holds a line break
        (``--multiline-fields`` makes the importer read each file in one thread); the importer runs
        :func:`import_threads` threads, more than the cores (its default)."""
        where = folder or str(self.folder)
        args = ["database", "import", "full", database, f"--array-delimiter={ARRAY_DELIMITER}",
                "--id-type=integer", f"--multiline-fields={'true' if self.multiline else 'false'}",
                f"--threads={import_threads()}", "--overwrite-destination=true"]
        args += [f"--nodes={label}={where}/{f}" for label, f in self.nodes]
        args += [f"--relationships={t}={where}/{f}" for t, f in self.relationships]
        return args


def _column(col: str) -> str:
    """The importer's header of property column ``col``."""
    kind = NEO4J_TYPES.get(col)
    return f"{col}:{kind}" if kind else col


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(col: str) -> str:
    """The SQL of column ``col``'s CSV field: lists joined by the array delimiter (null stays null)."""
    if col in LIST_COLS:
        return f"CASE WHEN {_ident(col)} IS NULL THEN NULL ELSE array_to_string({_ident(col)}, chr(31)) END"
    return _ident(col)


def _any_empty(lists) -> str:
    """The SQL condition: one of the list columns ``lists`` is ``[]``."""
    return " OR ".join(f"len({_ident(c)}) = 0" for c in lists)


def _labels_sql(lists) -> str:
    """The ``:LABEL`` field: ``CitynetEmptyList_<col>[_<col>…]`` naming the empty lists (null: none)."""
    names = ", ".join(f"CASE WHEN len({_ident(c)}) = 0 THEN '{c}' END" for c in lists)
    return f"CASE WHEN {_any_empty(lists)} THEN '{EMPTY_LIST_LABEL}_' || concat_ws('_', {names}) END"


def _copy(con, select: str, path: Path) -> None:
    """``select`` written as a CSV file with a header (fields quoted when needed, quotes doubled)."""
    from citynet.sqltext import sql_string

    con.execute(f"COPY ({select}) TO {sql_string(path)} (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"')")


def write_import_files(canonical_dir: Path, folder: Path, memory_limit: str | None = None,
                       meta: list[dict] | None = None) -> ImportFiles:
    """One CSV file per node label and relationship type for ``neo4j-admin database import full``:
    the rows the batched loader writes (``graph.prepare``: the same cleaning and ``row_hash``), plus
    the ``Meta`` node with the schema version. Nodes get integer import ids (``:ID``, not stored: the
    key stays an ordinary property), consecutive per label in the rows' order; relationships name
    their ends by those ids. DuckDB writes the files (two threads, within ``memory_limit``)."""
    from citynet.graph.prepare import Prepared
    from citynet.graph.store import SCHEMA_VERSION

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ImportFiles(folder)
    next_id = 0
    with Prepared(Path(canonical_dir), memory_limit) as prep:
        prep.clean(None)
        con = prep.con
        for e in ENTITIES:
            props = e.columns[2 if e.rel else 0:]
            con.execute(f"CREATE TEMP TABLE r_{e.name} AS SELECT * FROM ({prep.rows_sql(e.name)})")
            n = con.execute(f"SELECT count(*) FROM r_{e.name}").fetchone()[0]
            files.counts[e.name] = {"rows": n, "new": n, "changed": 0}
            texts = [c for c in e.columns if c not in LIST_COLS and c not in NEO4J_TYPES]
            if texts and not files.multiline:
                test = " OR ".join(f"contains({_ident(c)}, chr(10)) OR contains({_ident(c)}, chr(13))" for c in texts)
                files.multiline = bool(con.execute(f"SELECT coalesce(bool_or({test}), false) FROM r_{e.name}").fetchone()[0])
            fields = ", ".join(f"{_value(c)} AS {_ident(_column(c))}" for c in props)
            if e.rel:
                a, b = e.columns[:2]
                con.execute(f"""CREATE TEMP TABLE j_{e.name} AS SELECT s._id AS s_, t._id AS t_, r.*
                                FROM r_{e.name} r LEFT JOIN ids_{e.ends[0]} s ON s.k = r.{_ident(a)}
                                LEFT JOIN ids_{e.ends[1]} t ON t.k = r.{_ident(b)}""")
                missing = con.execute(f"SELECT {_ident(a)}, {_ident(b)} FROM j_{e.name} "
                                      "WHERE s_ IS NULL OR t_ IS NULL LIMIT 1").fetchone()
                if missing:
                    raise StoreError(f"{e.name}: an end of {missing} is not among the imported nodes",
                                     fix="run citynet ingest again: the canonical tables are inconsistent")
                select = f'SELECT s_ AS ":START_ID", t_ AS ":END_ID", {fields} FROM j_{e.name} ORDER BY _o'
            else:
                key = _ident(e.key[0])
                con.execute(f"""CREATE TEMP TABLE ids_{e.name} AS
                                SELECT {key} AS k, row_number() OVER (ORDER BY _o) - 1 + {next_id} AS _id
                                FROM r_{e.name}""")
                lists = [c for c in LIST_COLS if c in e.columns]
                label = ""
                if lists:
                    files.empty_list_nodes += con.execute(
                        f"SELECT count(*) FROM r_{e.name} WHERE {_any_empty(lists)}").fetchone()[0]
                    label = f', {_labels_sql(lists)} AS ":LABEL"'
                # the join stored first, then sorted (graph.prepare.Prepared.rows_sql)
                con.execute(f"""CREATE TEMP TABLE j_{e.name} AS SELECT i._id AS _id, r.* FROM r_{e.name} r
                                JOIN ids_{e.name} i ON i.k = r.{key}""")
                select = f'SELECT _id AS ":ID", {fields}{label} FROM j_{e.name} ORDER BY _id'
                next_id += n
            if n:
                name = f"{e.name}.csv"
                _copy(con, select, folder / name)
                (files.relationships if e.rel else files.nodes).append((e.name, name))
            con.execute(f"DROP TABLE r_{e.name}")
            con.execute(f"DROP TABLE IF EXISTS j_{e.name}")
        _copy(con, _meta_sql(next_id, SCHEMA_VERSION, meta or []), folder / "Meta.csv")
    files.nodes.append(("Meta", "Meta.csv"))
    return files


def _meta_sql(first_id: int, schema_version: int, carried: list[dict]) -> str:
    """The ``Meta`` nodes of the import: the schema version, and ``carried`` (``key``, ``value``, ``beat``: the
    nodes the database held when the import started — the load's ``load_state`` "running" and its writer lock,
    graph/lifecycle.py — which the importer would otherwise erase, so that a load stopped after the import is
    seen as unfinished, and its lock as held, until its end records them)."""
    import pandas as pd

    from citynet.sqltext import sql_string

    def literal(v) -> str:
        return "NULL" if v is None or pd.isna(v) else sql_string(str(v))

    rows = [f"SELECT {first_id} AS \":ID\", 'schema_version' AS key, '{int(schema_version)}' AS value, "
            "CAST(NULL AS BIGINT) AS \"beat:long\""]
    for i, m in enumerate(m for m in carried if m.get("key") != "schema_version"):
        beat = m.get("beat")
        rows.append(f"SELECT {first_id + 1 + i}, {literal(m['key'])}, {literal(m.get('value'))}, "
                    f"{'NULL' if beat is None or pd.isna(beat) else int(beat)}")
    return " UNION ALL ".join(rows) + " ORDER BY 1"


def import_file_names() -> set[str]:
    """The names of the files :func:`write_import_files` may write (one per label and relationship type)."""
    return {f"{e.name}.csv" for e in ENTITIES} | {"Meta.csv"}


def docker_commands(files: ImportFiles, service: str = "neo4j", database: str = "neo4j") -> list[str]:
    """The ``docker compose`` lines that import ``files`` into the Compose service's (empty) database."""
    args = " ".join(shlex.quote(a) for a in files.admin_args("/import", database)).replace(
        shlex.quote(f"--array-delimiter={ARRAY_DELIMITER}"), "--array-delimiter=$'\\x1f'")
    return [
        f"docker compose stop {service}",
        f"docker compose run --rm --no-deps -v {shlex.quote(str(files.folder.resolve()))}:/import:ro "
        f"{service} neo4j-admin {args}",
        f"docker compose start {service}",
    ]


IMPORT_HEAP = "2g"
"""Java heap of the importer (it asks for about 1 GB at 20,000 patents and scales its buffers with it)."""


def has_graph_data(store) -> bool:
    """True when the database holds any node other than ``Meta`` (the schema version node)."""
    return not store._run("MATCH (n) WHERE NOT n:Meta RETURN 1 AS x LIMIT 1").empty


def first_load(store, server, canonical_dir: Path, progress=None, keep_files: bool = False,
               memory_limit: str | None = None) -> dict | None:
    """Load ``canonical_dir`` into the empty database of the local ``server`` with the offline importer,
    restart the server and create the schema. Returns the load counts, or ``None`` (nothing done)
    when the database already holds data: the caller then takes the incremental path.

    ``store`` is the open ``Neo4jStore`` of that server; it is reconnected after the restart."""
    import shutil

    report = progress or (lambda stage, done, total: None)
    if has_graph_data(store):
        return None
    folder = server.data_dir / "citynet-import"
    if folder.exists():
        shutil.rmtree(folder)
    try:  # the files (as large as the canonical tables) are gone once the importer ran, or was stopped
        report("writing import files", 0, 1)
        carried = store._run("MATCH (m:Meta) RETURN m.key AS key, m.value AS value, m.beat AS beat").to_dict("records")
        files = write_import_files(canonical_dir, folder, memory_limit, meta=carried)
        report("writing import files", 1, 1)
        if has_graph_data(store):  # written to since the first check: never overwrite
            raise StoreError(f"the Neo4j database at {store.uri} received data during the import preparation",
                             fix="run citynet load again (it loads incrementally into a database with data)")
        report("stopping the server", 0, 1)
        store.close()
        server.stop()
        report("stopping the server", 1, 1)
        rows = {rel: sum(files.counts[e.name]["rows"] for e in ENTITIES if e.rel == rel) for rel in (False, True)}
        metas = 1 + sum(m.get("key") != "schema_version" for m in carried)  # the Meta nodes
        phases = ImporterProgress(report, nodes=rows[False] + metas, relationships=rows[True])
        try:
            server.admin(files.admin_args(), heap=IMPORT_HEAP, on_line=phases)
            phases.close()
        finally:
            report("starting the server", 0, 1)
            server.start(timeout=600)
            store.reconnect(server.password)
            report("starting the server", 1, 1)
    finally:
        if not keep_files:
            shutil.rmtree(folder, ignore_errors=True)
    report("constraints and indexes", 0, 1)  # (not "schema": citynet load's first step has that name)
    store.ensure_schema()
    store.await_indexes()
    report("constraints and indexes", 1, 1)
    store.finish_offline_import(report)
    return {k: files.counts[k] for k in ENTITY}


def local_server(uri: str, folders) -> object | None:
    """The running local server (``citynet neo4j start``) among data ``folders`` that serves ``uri``."""
    from urllib.parse import urlparse

    from citynet.neo4j_server import STATE_FILE_NAME, Neo4jServer

    parsed = urlparse(uri)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    for folder in folders:
        if folder is None or not (Path(folder).expanduser() / STATE_FILE_NAME).is_file():
            continue
        try:
            server = Neo4jServer.from_state(folder)
        except StoreError:
            continue
        if server.port == (parsed.port or 7687) and server.is_running():
            return server
    return None
