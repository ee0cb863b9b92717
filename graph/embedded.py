"""The embedded store: LadybugDB (PyPI ``ladybug``, the maintained fork of Kùzu) under ``<ws>/store/``.

Loads bulk-copy new rows (``COPY ... FROM $rows`` of an Arrow table) and update the few changed
rows with ``LOAD FROM $rows MATCH ... SET``. Read-only access: ``open_store(..., read_only=True)``
opens a read-only database, so LadybugDB itself refuses writes (that is what ``citynet query`` does);
on a store opened read-write, ``query(write=False)`` refuses write clauses found by
``graph.readonly.check_read_only`` (an allow-list; LadybugDB has no per-query access mode). User queries go through
``graph.compat.prepare`` (Neo4j's relationship uniqueness, refusal of what cannot be rewritten);
opening a store refuses an engine outside the tested version range (``graph.compat.check_engine``).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pyarrow as pa
from citynet.graph.compat import check_engine, prepare
from citynet.graph.compat_case import runtime_refusal
from citynet.graph.compat_coalesce import UNION, neo4j_column
from citynet.graph.compat_names import check as check_names
from citynet.graph.compat_names import store_columns
from citynet.graph.readonly import check_columns, check_params, check_read_only
from citynet.graph.store import BaseStore, plain
from citynet.graph.tables import ENTITY, STORE_TYPES, to_arrow

from citynet.errors import EXIT_USAGE, READ_ONLY_FIX, UNWRITABLE_TEXTS, QueryError, StoreError
from citynet.lazy_module import lazy_module
from citynet.memory import return_freed_memory

pd = lazy_module("pandas")

DB_FILE = "graph.lbdb"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

STR, I64, F64, BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()
ARROW_TYPES = STORE_TYPES
# changed relationships deleted one statement each up to this many (one ``LOAD FROM`` beyond): a key
# look-up costs about 1-2 ms, a ``LOAD FROM`` scan of a table of a million relationships about 1 s, and
# at 10M patents (12M APPLIED relationships) the scan of a 306-row delete overflowed the default 1GB
# buffer pool (exit 2), where the 306 one-row deletes took 0.3 s (docs/scale.md, session 12)
FEW_CHANGED = 20_000


def no_store_error(path: Path, workspace: Path | str = "WS") -> StoreError:
    """The refusal of a store that no load has written (a read, or a write query, before ``citynet load``)."""
    return StoreError(f"there is no embedded store at {path} (the store is empty)",
                      fix=f"load it first: citynet load -w {workspace}", exit_code=EXIT_USAGE)


class EmbeddedStore(BaseStore):
    backend = "embedded"
    copies_beside = True  # (one write transaction at a time: the copies run one after the other)

    def __init__(self, store_dir: Path, read_only: bool = False, buffer_pool: int = 0):
        import ladybug as lb

        check_engine(getattr(lb, "__version__", "0"))
        self.store_dir = Path(store_dir)
        self.path = self.store_dir / DB_FILE
        self.location = str(self.path)
        self.read_only = read_only
        self.buffer_pool = buffer_pool
        if read_only and not self.path.exists():
            raise no_store_error(self.path)
        if not read_only:
            self.store_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.db = lb.Database(str(self.path), read_only=read_only, buffer_pool_size=int(buffer_pool or 0))
            self.conn = lb.Connection(self.db)
        except RuntimeError as exc:
            msg = str(exc)
            if not read_only and any(t in msg for t in UNWRITABLE_TEXTS):  # a read-only workspace: load would fail too
                raise StoreError(f"cannot open the embedded store {self.path} to write it: {msg}", fix=READ_ONLY_FIX,
                                 exit_code=EXIT_USAGE) from exc
            if "lock" in msg.lower():
                raise StoreError(f"the embedded store {self.path} is in use by another process ({msg})",
                                 fix="wait for the other citynet command to finish, then retry") from exc
            raise StoreError(f"cannot open the embedded store {self.path}: {msg}", fix=_open_fix(msg)) from exc

    def close(self) -> None:
        conn, db = self.__dict__.pop("conn", None), self.__dict__.pop("db", None)
        if conn is not None:
            conn.close()
        if db is not None:
            db.close()

    # -- engine hooks --
    def _run(self, statement: str, params: dict | None = None, arrow: bool = False,
             as_neo4j: bool = False) -> pd.DataFrame:
        """The rows of ``statement``; ``as_neo4j``: with the types Neo4j returns (:func:`neo4j_values`)."""
        try:
            result = self.conn.execute(statement, params or {})
            if isinstance(result, list):
                result = result[-1]
            if arrow:
                return result.get_as_arrow().to_pandas()
            if as_neo4j:  # a user's query (graph/readonly.check_columns): Neo4j refuses two columns of one name
                check_columns(result.get_column_names())
            df = result.get_as_df()
            return neo4j_values(df, result) if as_neo4j else df
        except RuntimeError as exc:
            refused = runtime_refusal(str(exc), statement)  # a refusal graph.compat_case wrote into the query
            if refused is not None:
                raise refused from None
            raise QueryError(_query_message(str(exc), statement),
                             fix=_query_fix(str(exc), statement, self._live_properties)) from exc
        except UnicodeDecodeError as exc:
            raise not_utf8(statement) from exc

    def _live_properties(self, label: str) -> list[str] | None:
        """The properties the store holds for ``label`` where they grow (CityYear's metric columns), else None."""
        if label != "CityYear":
            return None
        try:
            stmt = self._blocks("city_year")["columns"][0]
            return [str(v) for v in self.conn.execute(stmt).get_as_df()["name"]]
        except Exception:  # a hint only: the query's own error is the message
            return None

    def _run_arrow(self, statement: str, params: dict) -> pa.Table:
        try:
            result = self.conn.execute(statement, params)
            return result.get_as_arrow()
        except RuntimeError as exc:
            raise QueryError(_query_message(str(exc), statement), fix=_query_fix(str(exc), statement)) from exc

    def _rows(self, statement: str, params: dict) -> list[tuple]:
        """A small result row by row: LadybugDB's Arrow and pandas results both import pandas, which
        is most of a reload that changes nothing."""
        try:
            result = self.conn.execute(statement, params)
            result = result[-1] if isinstance(result, list) else result
            out = []
            while result.has_next():
                out.append(tuple(result.get_next()))
            return out
        except RuntimeError as exc:
            raise QueryError(_query_message(str(exc), statement), fix=_query_fix(str(exc), statement)) from exc

    def _fetch(self, name: str) -> pd.DataFrame:
        (stmt,) = self._blocks("load")[f"fetch_{name}"]
        df = self._run(stmt, arrow=True)
        if df.empty:
            return pd.DataFrame(columns=[*ENTITY[name].key, "row_hash"])
        return df

    def _has_data(self) -> bool:
        return bool(self._rows("CALL show_tables() RETURN name", {}))

    def _write_entity(self, name: str, new, changed, progress) -> None:
        """``new`` and ``changed`` rows as pandas frames or Arrow tables in the store's types."""
        e = ENTITY[name]
        new, changed = (t if isinstance(t, pa.Table) else to_arrow(t) for t in (new, changed))
        total = len(new) + len(changed)
        if len(changed):
            if e.rel:
                self._delete_rels(name, changed.select(list(e.key)))
                new = pa.concat_tables([new, changed.select(new.column_names).cast(new.schema)]).combine_chunks()
            else:
                self._exec_block("load", f"update_{name}", {"rows": changed})
        if len(new):
            self._copy_file(name, new)
        progress(name, total, total)

    def _delete_rows(self, name: str, keys: pa.Table) -> None:
        self._delete_rels(name, keys)

    def _write_new_rows(self, name: str, files: list[tuple[Path, int]], changed: Path | None, total: int,
                        report) -> None:
        """The changed rows updated (nodes) or deleted and placed right after the first batch of new
        rows (relationships: the order one ``COPY`` per file gave them), then every file in one ``COPY``
        (:meth:`_copy_rows_files`): each ``COPY`` into a table that has rows costs a part that grows with
        the stored rows, not with the rows copied (at 10M patents 171 transfers took 1 s, 1.43M links 23.5 s
        in three ``COPY``s and 13.3 s in one; docs/scale.md, "Sixth round (session 14)")."""
        import pyarrow.parquet as pq

        if changed is not None:
            e = ENTITY[name]
            rows = pq.read_table(changed)
            if e.rel:
                self._delete_rels(name, rows.select(list(e.key)))
                files = [*files[:1], (changed, len(rows)), *files[1:]]
            else:
                self._exec_block("load", f"update_{name}", {"rows": rows})
                changed.unlink()
        report(name, 0, total)
        self._copy_rows_files(name, files, lambda done: report(name, done, total))
        if not files:  # (changed nodes only: updated above)
            report(name, total, total)

    def _delete_rels(self, name: str, keys: pa.Table) -> None:
        """Delete the relationships of ``name`` with the keys ``keys`` (they are copied again, changed).
        ``LOAD FROM`` scans every relationship of the table; up to :data:`FEW_CHANGED` rows are deleted
        one statement each, which starts from the nodes' primary keys (cypher/load.embedded.cypher)."""
        blocks = self._blocks("load")
        if len(keys) <= FEW_CHANGED and f"delete_one_{name}" in blocks and keys.num_rows == len(keys.drop_null()):
            (stmt,) = blocks[f"delete_one_{name}"]
            for row in keys.to_pylist():
                self._run(stmt, row)
        else:
            self._exec_block("load", f"delete_{name}", {"rows": keys})

    def _copy_file(self, name: str, rows: pa.Table) -> None:
        """``COPY name FROM`` a temporary Parquet file of ``rows`` (cypher/load.embedded.cypher says
        why not from the Arrow table itself)."""
        import tempfile

        import pyarrow.parquet as pq

        with tempfile.TemporaryDirectory(prefix="citynet-copy-", dir=self.store_dir) as d:
            f = Path(d) / "rows.parquet"
            pq.write_table(rows, f, compression="none")
            self._copy_rows_file(name, f)

    def _copy_rows_file(self, name: str, path: Path) -> None:
        """``COPY name FROM`` the Parquet file ``path`` of new rows in the store's types."""
        (stmt,) = self._blocks("load")[f"copy_file_{name}"]
        self._run(stmt.replace("{file}", _quoted_path(path)))

    def _copy_rows_files(self, name: str, files: list[tuple[Path, int]], progress) -> None:
        """One ``COPY name FROM`` the list of batch files ``files`` of table ``name`` (empty, or the new
        and changed rows of a diff: :meth:`_write_new_rows`), on one thread, then the files are deleted.
        Every further ``COPY`` into a table that has rows rewrites much of what is stored (at 10M patents
        the ``COPY``s wrote 14.4 GB with one per batch file, 3.5 GB with one per table, for a 2.3 GB
        store, and took 30 % less CPU; docs/scale.md, "The load's time at 10,000,000 patents"), and one
        thread keeps the rows in the files' order (with two, the files' rows interleave differently from
        run to run), as one ``COPY`` per file did."""
        if not files:
            return
        (stmt,) = self._blocks("load")[f"copy_files_{name}"]
        with self._one_thread():
            self._run(stmt.replace("{files}", ", ".join(f"'{_quoted_path(f)}'" for f, _ in files)))
        # what the COPY freed (its partitions, at 10M about 1 GB) would stay resident beside the next one
        return_freed_memory()
        for f, _ in files:
            f.unlink()
        progress(sum(rows for _, rows in files))

    def _write_projection(self, net: str, op: str, rows: pd.DataFrame, network: str) -> None:
        """On one thread: with more, the created edges are stored in an order that varies from run to run
        (the stored order is what a query without ``ORDER BY`` returns)."""
        with self._one_thread():
            self._exec_block("projection_write", f"{op}_{net}", {"rows": to_arrow(rows), "network": network})

    @contextlib.contextmanager
    def _one_thread(self):
        """The statements of the block run on one thread (rows stored in their input's order)."""
        self.conn.set_max_threads_for_exec(1)
        try:
            yield
        finally:
            self.conn.set_max_threads_for_exec(0)  # the database's default again

    def clear(self) -> None:
        """Delete the whole embedded store (``citynet load --rebuild``) and open a new, empty one."""
        import shutil

        self.close()
        for f in self.store_dir.glob(DB_FILE + "*"):
            shutil.rmtree(f) if f.is_dir() else f.unlink()
        self.__init__(self.store_dir, read_only=self.read_only, buffer_pool=self.buffer_pool)

    # -- public --
    def query(self, cypher: str, params: dict | None = None, write: bool = False) -> pd.DataFrame:
        if not write:
            check_read_only(cypher)  # allow-list: no files, settings or maintenance without --write
        check_params(params, cypher)
        if write and self.read_only:
            raise QueryError("the embedded store is open read-only", fix="open it with write access (--write)")
        params = plain(params or {})
        statement, order = prepare(cypher, params)
        check_names(cypher, lambda: store_columns(self.conn))  # CityYear's metric columns: y.Green_Patents
        # LadybugDB's parallel ORDER BY misorders rows now and then (docs/cypher.md, bug 25): a sort on one thread
        with self._one_thread() if sorts(statement) else contextlib.nullcontext():
            df = self._run(statement, params, as_neo4j=True)
        return df if order is None else order.apply_frame(df, params)

    def write_city_year(self, panel: pd.DataFrame, network: str, panel_years: list[int] | None = None) -> None:
        """Upsert ``(:CityYear {key, city_code, year, network, <metric columns>})-[:OF_CITY]->(:City)``; with
        ``panel_years`` (a full run: every year of the panel), the network's rows of other years go."""
        blocks = self._blocks("city_year")
        rows = _city_year_rows(panel, network)
        declared = self._run(blocks["columns"][0])
        have = dict(zip(declared["name"], declared["type"], strict=False))
        for col in rows.columns:
            if col not in have:
                if not _IDENT.match(col):
                    raise StoreError(f"panel column {col!r} is not a valid property name", fix="rename the column")
                kind = _ddl_type(rows[col])
                # identifiers validated above; DDL cannot take parameters
                self._run(blocks["add_column"][0].replace("{column}", col).replace("{type}", kind))
                have[col] = kind
        rows = rows.reindex(columns=list(have))
        types = {c: _arrow_type(t) for c, t in have.items()}
        self._exec_block("city_year", "delete", {"rows": to_arrow(rows[["key"]], types)})
        self._exec_block("city_year", "copy", {"rows": to_arrow(rows, types)})
        cities = set(self._run("MATCH (c:City) RETURN c.city_code AS c")["c"])
        links = rows.loc[rows["city_code"].isin(cities), ["key", "city_code"]]
        if len(links):
            self._exec_block("city_year", "link", {"links": to_arrow(links, types)})
        if panel_years is not None:
            self._exec_block("city_year", "delete_other_years",
                             {"network": network, "years": [int(y) for y in panel_years]})


_INTEGER_TYPES = {"INT128", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8", "SERIAL"}


def neo4j_values(df: pd.DataFrame, result) -> pd.DataFrame:
    """``df``, the pandas frame of LadybugDB's ``result``, with the types Neo4j returns where pandas receives
    another: integers received as floats (a sum of integers, LadybugDB's INT128; a column of integers with a null,
    which ``--format csv`` printed ``2015.0``) as integers, a ``DATE`` (received as a timestamp at midnight,
    printed ``2019-02-07T00:00:00``) as a date (``2019-02-07``)."""
    for name, kind in zip(result.get_column_names(), result.get_column_data_types(), strict=True):
        if name not in df:
            continue
        if kind in _INTEGER_TYPES and df[name].dtype.kind == "f" and (df[name].dropna().abs() < 2.0 ** 53).all():
            col = df[name]  # with a null: Python integers and None (pandas' NA is no value for the printers)
            df[name] = col.astype("Int64").astype(object).where(col.notna(), None) if col.isna().any() else \
                col.astype("int64")
        elif kind == UNION:  # graph/compat_coalesce.py: each row's own type, as Neo4j's column
            df[name] = neo4j_column(df[name])
        elif kind == "DATE" and df[name].dtype.kind == "M":
            df[name] = df[name].dt.date.astype(object).where(df[name].notna(), None)
    return df


def _city_year_rows(panel: pd.DataFrame, network: str) -> pd.DataFrame:
    if not {"city_code", "year"} <= set(panel.columns):
        raise StoreError("the city-year panel needs city_code and year columns", fix="pass the metrics panel")
    rows = panel.copy()
    rows["city_code"] = rows["city_code"].astype(str)
    rows["year"] = rows["year"].astype("int64")
    rows["network"] = network
    rows.insert(0, "key", rows["city_code"] + "|" + rows["year"].astype(str) + "|" + network)
    return rows


def _ddl_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(s):
        return "INT64"
    if pd.api.types.is_float_dtype(s):
        return "DOUBLE"
    return "STRING"


def _arrow_type(ddl: str):
    return {"INT64": I64, "DOUBLE": F64, "BOOLEAN": BOOL}.get(ddl.upper(), STR)


def _quoted_path(path: Path) -> str:
    """``path`` for a quoted file name in a ``COPY`` (a file path cannot be a parameter)."""
    return str(path).replace("\\", "/").replace("'", "\\'")


_POS = re.compile(r"\(line: (\d+), offset: (\d+)\)")


POOL_FULL = "buffer pool is full"  # LadybugDB's message when a query needs more than [store] buffer_pool


def not_utf8(statement: str) -> QueryError:
    """A text of the result that is not UTF-8: the engine returned bytes of memory other than the value's (as its
    trim did for a long text trimmed short, engine bug 26, which citynet rewrites); one message, not a traceback."""
    return QueryError(_query_message("LadybugDB returned a text that is not UTF-8 (bytes other than the value's: "
                                     "an engine fault, not your data)", statement),
                      fix="compute that text another way (the text functions docs/cypher.md lists as rewritten), "
                          "or run the query on Neo4j (--store neo4j)")


def _query_message(msg: str, statement: str) -> str:
    msg = msg.strip()
    if statement.strip() in msg:
        return f"the query failed: {msg}"
    return f"the query failed: {msg}\nquery:\n{statement.strip()}"


def _open_fix(msg: str) -> str:
    """Never a destructive fix when a safe one works: a pending recovery (WAL, checkpoint) is completed by
    opening the store read-write, which a plain load does."""
    low = msg.lower()
    if "version" in low and ("storage" in low or "database" in low) and "recovery" not in low:
        return "it was written by another LadybugDB version: rebuild it from the canonical tables: citynet load -w WS --rebuild"
    return ("run `citynet load -w WS`: opening the store read-write completes a pending recovery and resumes the "
            "load (nothing is lost)")


# Neo4j functions LadybugDB does not have, and what to write on the embedded store (docs/cypher.md, engine
# entry 8): not renamed automatically, because LadybugDB's nearest function answers differently (except the
# conversions of an integer property or literal, which graph/compat_functions.py writes as an exact cast)
NEO4J_ONLY_FUNCTIONS = {
    "TOSTRING": "cast(x AS STRING) (a float is written with six decimals: '1.500000')",
    "TOINTEGER": "cast(x AS INT64) of a whole number or a text (text that is not a whole number stops the query "
                 "instead of giving null); of a float, cast(CASE WHEN x < 0 THEN ceil(x) ELSE floor(x) END AS INT64) "
                 "(the cast alone rounds: 32.7 gives 33, Neo4j's toInteger 32)",
    "TOFLOAT": "cast(x AS DOUBLE) (text that is not a number stops the query instead of giving null)",
    "TOBOOLEAN": "cast(x AS BOOLEAN)",
    "SPLIT": "string_split(s, sep) (it drops empty parts: 'a,,b' gives ['a', 'b'])",
    "HEAD": "l[0] (the same on both stores: citynet counts positions from 0; an empty list stops the query)",
    "LAST": "l[-1] (the same on both stores; an empty list stops the query)",
    "RAND": "random()",
    "EXP": "pow(2.718281828459045, x)",
    "ELEMENTID": "id(x)",
    "STDEV": "sqrt((sum(x * x) - sum(x) * sum(x) * 1.0 / count(x)) / (count(x) - 1)) (the sample standard "
             "deviation; its last digits may differ from Neo4j's)",
    "STDEVP": "sqrt((sum(x * x) - sum(x) * sum(x) * 1.0 / count(x)) / count(x)) (the population standard "
              "deviation; its last digits may differ from Neo4j's)",
    "E": "2.718281828459045",
    "REDUCE": "UNWIND l AS x … sum(…) / collect(…) per row (LadybugDB's list_reduce has no initial value and "
              "stops on an empty list)",
    "STARTNODE": "the node the pattern names at the relationship's start: MATCH (a)-[r:APPLIED]->(p) … a",
    "ENDNODE": "the node the pattern names at the relationship's end: MATCH (a)-[r:APPLIED]->(p) … p",
}
_MISSING_FUNCTION = re.compile(r"function (\w+) does not exist")
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)


def sorts(statement: str) -> bool:
    """The statement sorts (``ORDER BY`` anywhere): it runs on one thread, where LadybugDB 0.20.4 sorts right.
    With two threads the same query returned its rows misordered in 2 of 30 runs (docs/cypher.md, engine bug
    25); on one thread, 0 of 40."""
    return bool(_ORDER_BY.search(statement))


def _query_fix(msg: str, statement: str = "", live=None) -> str:
    m = _MISSING_FUNCTION.search(msg)
    if m and m.group(1).upper() in NEO4J_ONLY_FUNCTIONS:
        return (f"LadybugDB has no {m.group(1).lower()}(): on the embedded store write "
                f"{NEO4J_ONLY_FUNCTIONS[m.group(1).upper()]}, or run the query on Neo4j (--store neo4j)")
    if POOL_FULL in msg:
        return ("raise [metrics] buffer_pool (citynet metrics) or [store] buffer_pool (load, query) in "
                "citynet.toml: LadybugDB's page cache, which also holds a query's intermediate rows "
                "(docs/configuration.md); then run the command again")
    if "list_extract(list, index)" in msg and "out of range" in msg:
        return ("a position beyond a list (e.g. p.ipc[0] of a patent without IPC codes): Neo4j gives null, "
                "LadybugDB stops (the query it was sent counts positions from 1). Filter first (WHERE size(p.ipc) > 0) "
                "or take a slice (p.ipc[0..1] is [] or [the first])")
    if "Order by NODE is not supported" in msg or "Order by REL is not supported" in msg:
        return ("an alias named like a node or relationship variable (RETURN c.city_code AS c ORDER BY c): LadybugDB "
                "sorts by the variable, Neo4j by the alias; give the alias another name (AS city … ORDER BY city)")
    if "Order by" in msg and "[] is not supported" in msg:
        return "LadybugDB cannot sort by a list: sort by a value of it (its size, a position) or run it on Neo4j"
    if "Conversion exception" in msg and "Could not convert" in msg:
        return ("a text that is not a whole number in toInteger() (citynet writes it as LadybugDB's cast): Neo4j "
                "gives null, LadybugDB stops. Filter first (WHERE x =~ '-?[0-9]+'), or run the query on Neo4j "
                "(--store neo4j)")
    if "Error occurred during parsing date" in msg:
        return ("LadybugDB's date() reads a text 'YYYY-MM-DD' only: date('2015-06-01'), or make_date(2015, 6, 1) "
                "from numbers (date({year: …}) is Neo4j's); or run the query on Neo4j (--store neo4j)")
    if "ORDER BY must be followed by SKIP or LIMIT" in msg:
        return ("LadybugDB sorts the rows of a WITH only before SKIP or LIMIT: where nothing after it depends on the "
                "order (counts, sums), leave the ORDER BY out; for an ordered collect(), sort the list afterwards "
                "(list_sort) or run the query on Neo4j (--store neo4j)")
    if "has data type DATE but" in msg and "was expected" in msg:
        return ("a date's component LadybugDB lacks: citynet writes .year, .month, .day, .quarter, .week, .dayOfWeek "
                "and .ordinalDay of a date property (p.app_date.month); the others (weekYear, dayOfQuarter, …) and "
                "components of a date computed in the query: run the query on Neo4j (--store neo4j)")
    if "contains nested aggregation" in msg:
        return ("LadybugDB 0.20.4 refuses an aggregate of a value computed from an aggregate of an earlier WITH "
                "(docs/cypher.md, engine bug 15), here also where citynet wrote collect(x) as coalesce(collect(x), []) "
                "or sum(x) as coalesce(sum(x), 0): compute the value by an aggregate in that WITH (size(collect(p)) "
                "is count(p): WITH a, count(p) AS n … max(n)), or run the query on Neo4j (--store neo4j)")
    if "Parser exception" in msg:
        m = _POS.search(msg)
        where = f" at line {m.group(1)}, offset {m.group(2)}" if m else ""
        return (f"correct the Cypher syntax{where}; if Neo4j reads this query, it uses a construct of Neo4j's "
                "dialect that LadybugDB lacks: run it on Neo4j (--store neo4j), or see docs/cypher.md for the "
                "embedded store's writings")
    if "Binder exception" in msg:
        from citynet.graph.schema_hints import property_hint, table_hint

        hint = property_hint(msg, statement, live) or table_hint(msg)
        if hint:
            return f"{hint} (docs/cypher.md lists the schema)"
        return "check the labels, property names and parameter types (docs/cypher.md lists the schema)"
    if "read-only" in msg:
        return "pass --write to run write clauses"
    return "see docs/cypher.md for the schema and the LadybugDB dialect"
