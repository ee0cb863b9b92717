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

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from citynet.graph.tables import ENTITIES, ENTITY, LIST_COLS, clean, entity_rows, read_canonical

from citynet.errors import StoreError

ARRAY_DELIMITER = "\x1f"
"""Separator of list elements inside a CSV field (unit separator: never part of an IPC/CPC code)."""

NEO4J_TYPES = {"lon": "double", "lat": "double", "app_date": "date", "grant_date": "date", "date": "date",
               "app_year": "long", "grant_year": "long", "refs_made": "long", "refs_foreign": "long",
               "refs": "long", "seq": "long", "year": "long", "row_hash": "long", "granted": "boolean",
               "green": "boolean", "y02": "boolean", "ipc": "string[]", "cpc": "string[]",
               "green_topics": "string[]"}


EMPTY_LIST_LABEL = "CitynetEmptyList"
"""Temporary labels of the nodes with an empty list: ``CitynetEmptyList`` and ``CitynetEmptyList_<col>``
for each list column ``col`` that is ``[]``. The importer cannot store an empty list (an empty field is
no property), so those nodes are marked, the lists set after the start in one pass
(``cypher/load.neo4j.cypher``: ``imported_empty_lists``), and the labels removed."""


@dataclass
class ImportFiles:
    """The CSV files of one import: ``nodes``/``relationships`` as (label or type, file name)."""

    folder: Path
    nodes: list[tuple[str, str]] = field(default_factory=list)
    relationships: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    empty_lists: dict[str, int] = field(default_factory=dict)  # list column -> nodes where it is []
    empty_list_nodes: int = 0  # nodes with at least one empty list
    multiline: bool = False  # some text holds a line break: the importer must parse fields across lines

    def admin_args(self, folder: str | None = None, database: str = "neo4j") -> list[str]:
        """Arguments of ``neo4j-admin`` for these files (``folder``: where the importer sees them).

        Node ids are integers (``--id-type=integer``: no string-to-id map, the importer's slowest
        part for string keys), and fields are parsed across lines only when a text holds a line break
        (``--multiline-fields`` makes the importer read each file in one thread)."""
        where = folder or str(self.folder)
        args = ["database", "import", "full", database, f"--array-delimiter={ARRAY_DELIMITER}",
                "--id-type=integer", f"--multiline-fields={'true' if self.multiline else 'false'}",
                "--overwrite-destination=true"]
        args += [f"--nodes={label}={where}/{f}" for label, f in self.nodes]
        args += [f"--relationships={t}={where}/{f}" for t, f in self.relationships]
        return args

    @property
    def relationship_count(self) -> int:
        return sum(c["new"] for k, c in self.counts.items() if k.isupper())


def _column(col: str) -> str:
    """The importer's header of property column ``col``."""
    kind = NEO4J_TYPES.get(col)
    return f"{col}:{kind}" if kind else col


def _arrow(frame: pd.DataFrame) -> pa.Table:
    from citynet.graph.embedded import to_arrow

    t = to_arrow(frame)
    for c in LIST_COLS:
        if c in t.column_names:
            i = t.column_names.index(c)
            t = t.set_column(i, c, pc.binary_join(t[c], ARRAY_DELIMITER))
    return t


def _has_line_break(table: pa.Table) -> bool:
    """True when a text field of ``table`` holds a line break (CR or LF)."""
    for column in table.itercolumns():
        if pa.types.is_string(column.type) and pc.any(pc.match_substring_regex(column, "[\\r\\n]")).as_py():
            return True
    return False


def _end_ids(keys: pa.ChunkedArray, nodes: pa.Array, offset: int, what: str) -> pa.Array:
    """Integer ids of the end nodes ``keys`` among ``nodes`` (the node file's keys, in file order)."""
    index = pc.index_in(keys, value_set=nodes)
    if index.null_count:
        missing = keys.filter(pc.is_null(index))[0].as_py()
        raise StoreError(f"{what}: end node {missing!r} is not among the imported nodes",
                         fix="run citynet ingest again: the canonical tables are inconsistent")
    return pc.add(index.cast(pa.int64()), offset)


def write_import_files(canonical_dir: Path, folder: Path) -> ImportFiles:
    """One CSV file per node label and relationship type for ``neo4j-admin database import full``:
    the rows the batched loader would write (``graph.tables``: cleaned, with ``row_hash``), plus the
    ``Meta`` node with the schema version. Nodes get integer import ids (``:ID``, not stored: the key
    stays an ordinary property), consecutive per label; relationships name their ends by those ids."""
    from citynet.graph.store import SCHEMA_VERSION

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = entity_rows(clean(read_canonical(Path(canonical_dir))))
    files = ImportFiles(folder)
    opts = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    node_keys: dict[str, tuple[pa.Array, int]] = {}
    next_id = 0
    for e in ENTITIES:
        frame = rows[e.name]
        files.counts[e.name] = {"rows": len(frame), "new": len(frame), "changed": 0}
        table = _arrow(frame)
        files.multiline = files.multiline or _has_line_break(table)
        if e.rel:
            start = _end_ids(table[e.columns[0]], *node_keys[e.ends[0]], f"{e.name} {e.columns[0]}")
            end = _end_ids(table[e.columns[1]], *node_keys[e.ends[1]], f"{e.name} {e.columns[1]}")
            table = table.drop_columns(list(e.columns[:2]))
            table = table.rename_columns([_column(c) for c in table.column_names])
            table = table.add_column(0, ":START_ID", start).add_column(1, ":END_ID", end)
        else:
            keys = table[e.key[0]].combine_chunks()
            node_keys[e.name] = (keys, next_id)
            ids = pa.array(range(next_id, next_id + len(table)), pa.int64())
            next_id += len(table)
            marks = []
            for c in LIST_COLS:
                if c in table.column_names:
                    empty = pc.fill_null(pc.and_(pc.is_valid(table[c]), pc.equal(table[c], "")), False)
                    files.empty_lists[c] = pc.sum(empty).as_py() or 0
                    marks.append(pc.if_else(empty, f"{EMPTY_LIST_LABEL}_{c}{ARRAY_DELIMITER}", ""))
            table = table.rename_columns([_column(c) for c in table.column_names])
            table = table.add_column(0, ":ID", ids)
            if marks:  # extra labels of the row, separated by the array delimiter (null: none)
                labels = pc.binary_join_element_wise(*marks, "")
                files.empty_list_nodes += pc.sum(pc.not_equal(labels, "")).as_py() or 0
                table = table.append_column(":LABEL", pc.if_else(
                    pc.equal(labels, ""), None, pc.binary_join_element_wise(labels, EMPTY_LIST_LABEL, "")))
        if not len(table):
            continue
        name = f"{e.name}.csv"
        pacsv.write_csv(table, folder / name, opts)
        (files.relationships if e.rel else files.nodes).append((e.name, name))
    meta = pa.table({":ID": [next_id], "key": ["schema_version"], "value": [str(SCHEMA_VERSION)]})
    pacsv.write_csv(meta, folder / "Meta.csv", opts)
    files.nodes.append(("Meta", "Meta.csv"))
    return files


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


def _has_graph_data(store) -> bool:
    """True when the database holds any node other than ``Meta`` (the schema version node)."""
    return not store._run("MATCH (n) WHERE NOT n:Meta RETURN 1 AS x LIMIT 1").empty


def first_load(store, server, canonical_dir: Path, progress=None, keep_files: bool = False) -> dict | None:
    """Load ``canonical_dir`` into the empty database of the local ``server`` with the offline importer,
    restart the server and create the schema. Returns the load counts, or ``None`` (nothing done)
    when the database already holds data: the caller then takes the incremental path.

    ``store`` is the open ``Neo4jStore`` of that server; it is reconnected after the restart."""
    import shutil

    report = progress or (lambda stage, done, total: None)
    if _has_graph_data(store):
        return None
    folder = server.data_dir / "citynet-import"
    if folder.exists():
        shutil.rmtree(folder)
    report("writing import files", 0, 1)
    files = write_import_files(canonical_dir, folder)
    report("writing import files", 1, 1)
    report("neo4j-admin import", 0, 1)
    if _has_graph_data(store):  # written to since the first check: never overwrite
        raise StoreError(f"the Neo4j database at {store.uri} received data during the import preparation",
                         fix="run citynet load again (it loads incrementally into a database with data)")
    store.close()
    server.stop()
    try:
        server.admin(files.admin_args(), heap=IMPORT_HEAP)
    finally:
        server.start(timeout=600)
        store.reconnect(server.password)
    report("neo4j-admin import", 1, 1)
    report("schema", 0, 1)
    store.ensure_schema()
    store.await_indexes()
    report("schema", 1, 1)
    store.finish_offline_import(report)
    if not keep_files:
        shutil.rmtree(folder, ignore_errors=True)
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
