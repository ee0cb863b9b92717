"""The Neo4j store: Neo4j 5.26 over Bolt (the official ``neo4j`` driver).

Schema first (uniqueness constraints on the natural keys, then indexes), loads as batched
``UNWIND $rows`` with ``MERGE`` on the keys and labelled ``MATCH`` of the end nodes, only for new or
changed rows. Read-only access is the engine's: queries without ``write`` run in sessions opened
with ``default_access_mode=READ_ACCESS``, and the server refuses any write in them.
"""

from __future__ import annotations

import pandas as pd

from citynet.errors import StoreError
from graph.store import BaseStore, plain
from graph.tables import ENTITY

BATCH = 10_000
CONNECT_FIX = ("start Neo4j: `citynet neo4j start` (no Docker needed) or `docker compose up -d`; "
               "or pass the right --uri (bolt://HOST:PORT), or use --store embedded")
AUTH_FIX = "give the right password: --password, env NEO4J_PASSWORD, or citynet.toml [store] password"


def records(df: pd.DataFrame, typed: bool = False) -> list[dict]:
    """DataFrame rows as parameter maps of plain Python values (missing values → null).
    ``typed``: the columns are store columns of known types, converted through Arrow (fast)."""
    if typed:
        from graph.embedded import to_arrow

        return to_arrow(df).to_pylist()
    df = df.copy()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.date
    out = df.astype(object).where(df.notna(), None).to_dict("records")
    return [plain(r) for r in out]


class Neo4jStore(BaseStore):
    backend = "neo4j"

    def __init__(self, uri: str, user: str = "neo4j", password: str | None = None, database: str = "neo4j",
                 read_only: bool = False):
        import neo4j
        from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable

        self.uri, self.user, self.database, self.read_only = uri, user, database, read_only
        self.location = f"{uri} (database {database})"
        if not password:
            raise StoreError(f"no password for Neo4j user {user!r} at {uri}", fix=AUTH_FIX)
        try:
            self.driver = neo4j.GraphDatabase.driver(uri, auth=(user, password), connection_timeout=10,
                                                     notifications_min_severity="OFF")
            self.driver.verify_connectivity()
        except AuthError as exc:
            self._drop_driver()
            raise StoreError(f"Neo4j at {uri} refused the credentials of user {user!r}", fix=AUTH_FIX) from exc
        except (ServiceUnavailable, OSError) as exc:
            self._drop_driver()
            raise StoreError(f"cannot reach Neo4j at {uri} ({exc})", fix=CONNECT_FIX) from exc
        except (ConfigurationError, ValueError) as exc:
            self._drop_driver()
            raise StoreError(f"invalid Neo4j address {uri!r}: {exc}", fix="use --uri bolt://HOST:PORT") from exc

    def _drop_driver(self) -> None:
        drv = self.__dict__.pop("driver", None)
        if drv is not None:
            drv.close()

    def close(self) -> None:
        self._drop_driver()

    # -- engine hooks --
    def _session(self, write: bool):
        import neo4j

        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self.driver.session(database=self.database, default_access_mode=mode)

    def _run(self, statement: str, params: dict | None = None, write: bool = True) -> pd.DataFrame:
        from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

        try:
            with self._session(write and not self.read_only) as s:
                result = s.run(statement, params or {})
                keys = result.keys()
                rows = [r.values() for r in result]
                return pd.DataFrame(rows, columns=keys)
        except AuthError as exc:
            raise StoreError(f"Neo4j at {self.uri} refused the credentials of user {self.user!r}", fix=AUTH_FIX) from exc
        except ServiceUnavailable as exc:
            raise StoreError(f"lost the connection to Neo4j at {self.uri} ({exc})", fix=CONNECT_FIX) from exc
        except Neo4jError as exc:
            raise StoreError(_query_message(exc, statement), fix=_query_fix(exc)) from exc

    def _create_schema(self) -> None:
        import cypher

        for stmt in cypher.statements("schema", self.backend):
            self._run(stmt)

    def _has_data(self) -> bool:
        return not self._run("MATCH (n) RETURN 1 AS x LIMIT 1").empty

    def _batches(self, block: str, df: pd.DataFrame, name: str, progress, done: int, total: int) -> int:
        for start in range(0, len(df), BATCH):
            chunk = df.iloc[start:start + BATCH]
            self._exec_block("load", block, {"rows": records(chunk, typed=True)})
            done += len(chunk)
            progress(name, done, total)
        return done

    def _write_entity(self, name: str, new: pd.DataFrame, changed: pd.DataFrame, progress) -> None:
        e = ENTITY[name]
        total = len(new) + len(changed)
        if not total:
            return
        progress(name, 0, total)
        if not e.rel:
            self._batches(f"upsert_{name}", pd.concat([new, changed], ignore_index=True), name, progress, 0, total)
            return
        done = 0
        if len(changed):
            if name in ("LOCATED_IN", "TRANSFERRED"):
                # the end nodes may have changed: drop the old relationship first
                self._batches(f"delete_{name}", changed[list(e.key)], name, lambda *a: None, 0, total)
            done = self._batches(f"upsert_{name}", changed, name, progress, done, total)
        # new keys (anti-join against the store): CREATE between the MATCHed end nodes
        self._batches(f"create_{name}", new, name, progress, done, total)

    def _write_projection(self, net: str, op: str, rows: pd.DataFrame, network: str) -> None:
        for start in range(0, len(rows), BATCH):
            batch = records(rows.iloc[start:start + BATCH], typed=True)
            self._exec_block("projection_write", f"{op}_{net}", {"rows": batch, "network": network})

    def clear(self) -> None:
        """Delete every node, relationship, constraint and index (``citynet load --rebuild``)."""
        self._exec_block("admin", "delete_all")
        for kind, block in (("CONSTRAINT", "constraints"), ("INDEX", "indexes")):
            for name in self._exec_block("admin", block).get("name", []):
                # names come from the server's own SHOW listing; DDL takes no parameters
                self._run(f"DROP {kind} `{str(name).replace('`', '``')}` IF EXISTS")

    # -- public --
    def query(self, cypher: str, params: dict | None = None, write: bool = False) -> pd.DataFrame:
        if write and self.read_only:
            raise StoreError("the Neo4j store is open read-only", fix="open it with write access (--write)")
        return self._run(cypher, plain(params or {}), write=write)

    def write_city_year(self, panel: pd.DataFrame, network: str) -> None:
        """Upsert ``(:CityYear {key, city_code, year, network, <metric columns>})-[:OF_CITY]->(:City)``."""
        from graph.embedded import _city_year_rows

        rows = _city_year_rows(panel, network)
        for start in range(0, len(rows), BATCH):
            self._exec_block("city_year", "upsert", {"rows": records(rows.iloc[start:start + BATCH])})


def _query_message(exc, statement: str) -> str:
    msg = (getattr(exc, "message", None) or str(exc)).strip()
    code = getattr(exc, "code", None) or ""
    text = f"the query failed ({code}): {msg}" if code else f"the query failed: {msg}"
    if statement.strip() not in msg:
        text += f"\nquery:\n{statement.strip()}"
    return text


def _query_fix(exc) -> str:
    code = getattr(exc, "code", "") or ""
    if "AccessMode" in code or "read access mode" in str(exc).lower():
        return "the query writes; pass --write to allow writes"
    if "SyntaxError" in code:
        return "correct the Cypher syntax at the position shown (docs/cypher.md)"
    if "ParameterMissing" in code:
        return "give every $parameter with --param NAME=VALUE"
    return "see docs/cypher.md for the schema and the query library"
