"""A read-only query on the embedded store without pandas or the store layer (``citynet query``).

``citynet query`` on the embedded store answers in a fraction of a second when it imports neither
pandas (0.3 s) nor the loader. This reader runs the same checks as :meth:`EmbeddedStore.query`, in
the same order, so a lean answer is never a different answer:

1. the engine version is in the tested range (:func:`citynet.graph.compat.check_engine`);
2. the read-only allow-list and the parameter range check (:mod:`citynet.graph.readonly`);
3. Neo4j's semantics: the query is rewritten or refused (:func:`citynet.graph.compat.prepare`), with
   an ``ORDER BY`` the engine would sort wrongly applied to the rows afterwards;
4. the store's schema version is this citynet's;
5. the store is complete and not being written, before and after the read
   (:func:`citynet.graph.lifecycle.reading`).

Anything unusual that is not a refusal (no store yet, an engine error, another schema version)
returns ``None``: the caller then runs the full store path, which gives the precise message.
"""

from __future__ import annotations

from pathlib import Path

from citynet.errors import StoreError

# graph/embedded.py DB_FILE and graph/store.py SCHEMA_VERSION, kept here so that this module imports
# neither (they import pandas); tests/test_cli_state.py checks that they agree
DB_FILE = "graph.lbdb"
SCHEMA_VERSION = 1


class LeanEmbeddedReader:
    """Just enough of a store for :mod:`citynet.graph.lifecycle`: ``backend``, ``store_dir``,
    ``location`` and ``_get_meta``."""

    backend = "embedded"

    def __init__(self, store_dir: Path, conn):
        self.store_dir = Path(store_dir)
        self.location = str(self.store_dir / DB_FILE)
        self.conn = conn

    def _scalar(self, statement: str, params: dict | None = None):
        result = self.conn.execute(statement, params or {})
        if isinstance(result, list):
            result = result[-1]
        return result.get_next()[0] if result.has_next() else None

    def _get_meta(self, key: str) -> str | None:
        from citynet import cypher

        (stmt,) = cypher.blocks("load", "embedded")["get_meta"]
        try:
            return self._scalar(stmt, {"key": key})
        except RuntimeError as exc:
            raise StoreError(f"cannot read the store's meta data: {exc}", fix="citynet load -w WS") from exc


def _import_ladybug():
    """``import ladybug`` without its asyncio wrapper: the package's ``__init__`` imports
    ``ladybug.async_connection`` (asyncio, ~40 ms of the 0.3 s a query may take), which a one-shot
    read never uses. A placeholder stands in while the package loads and is removed afterwards, so an
    explicit ``import ladybug.async_connection`` later still gets the real module."""
    import sys
    import types

    if "ladybug" in sys.modules:
        return sys.modules["ladybug"]
    name = "ladybug.async_connection"
    placeholder = types.ModuleType(name)
    placeholder.AsyncConnection = None  # type: ignore[attr-defined]
    sys.modules[name] = placeholder
    try:
        import ladybug
    finally:
        if sys.modules.get(name) is placeholder:
            del sys.modules[name]
    return ladybug


def query_rows(store_dir: Path, text: str, params: dict, ws_root: Path | None = None
               ) -> tuple[list[str], list[list]] | None:
    """``(columns, rows)`` of the read-only query ``text``, or None (use the store path)."""
    from citynet.graph import lifecycle
    from citynet.graph.compat import check_engine, prepare
    from citynet.graph.compat_names import check as check_names
    from citynet.graph.compat_names import store_columns
    from citynet.graph.readonly import check_columns, check_params, check_read_only

    from citynet import cypher

    path = Path(store_dir) / DB_FILE
    if not path.exists():
        return None
    lb = _import_ladybug()
    check_engine(getattr(lb, "__version__", "0"))
    check_read_only(text)
    check_params(params, text)
    statement, order = prepare(text, params)
    try:
        db = lb.Database(str(path), read_only=True)
    except RuntimeError:
        return None
    conn = None
    try:
        conn = lb.Connection(db)
        reader = LeanEmbeddedReader(store_dir, conn)
        (version_stmt,) = cypher.blocks("load", "embedded")["schema_version"]
        try:
            if str(reader._scalar(version_stmt)) != str(SCHEMA_VERSION):
                return None
        except RuntimeError:
            return None
        with lifecycle.reading(reader, ws_root):
            check_names(text, lambda: store_columns(conn))  # CityYear's metric columns: y.Green_Patents
            try:
                result = conn.execute(statement, params)
            except RuntimeError:
                return None
            if isinstance(result, list):
                result = result[-1]
            columns = list(result.get_column_names())
            check_columns(columns)  # before the rows: Neo4j refuses the query
            rows = []
            try:
                while result.has_next():
                    rows.append(result.get_next())
            except UnicodeDecodeError as exc:
                from citynet.graph.embedded import not_utf8

                raise not_utf8(statement) from exc
        if order is not None:
            rows = order.apply(columns, rows, params)
        return columns, rows
    finally:
        if conn is not None:
            conn.close()
        db.close()
