"""The Neo4j store: Neo4j 5.26 over Bolt (the official ``neo4j`` driver).

Schema first (uniqueness constraints on the natural keys, then indexes), loads as batched
``UNWIND $rows`` of only the new or changed rows: new nodes are ``CREATE``d and report their
elementIds, new relationships are ``CREATE``d between end nodes matched by elementId (no index seek),
changed rows are ``MERGE``d on the keys. Two writer sessions send batches concurrently. The keys and
row hashes already in the store are read back page by page, each page one collected list.
Read-only access is the engine's: queries without ``write`` run in sessions opened with
``default_access_mode=READ_ACCESS``, and the server refuses any write in them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pandas as pd
from citynet.graph.store import BaseStore, plain
from citynet.graph.tables import ENTITY

from citynet.errors import EXIT_USAGE, QueryError, StoreError, UserError

BATCH = 5_000
"""Rows per write transaction (on 2 cores, 5,000 loaded faster than 1,000, 10,000 or 20,000)."""
WRITERS = 2
"""Concurrent writer sessions: the server applies one batch while the next is packed and sent."""
PAGE = 100_000
"""Start nodes per page when reading back the store's keys and row hashes."""
CONNECT_FIX = ("start Neo4j: `citynet neo4j start` (no Docker needed) or `docker compose up -d`; "
               "or pass the right --uri (bolt://HOST:PORT), or use --store embedded")
LOST_FIX = ("check that the server still runs (`citynet neo4j status --data DIR`; Docker: `docker compose ps`), start "
            "it again if it stopped, then run the command again (a load resumes: loads are idempotent upserts)")
PASSWORD_ENV = "NEO4J_PASSWORD"


def auth_fix(password_env: str = PASSWORD_ENV) -> str:
    """The fix of a missing or refused password: the places citynet reads it from, in its order
    (docs/configuration.md: --password, then [store] password, then the variable [store] password_env names)."""
    return (f"give the right password: --password, else citynet.toml [store] password, else env {password_env} "
            "(the first one set is used)")


AUTH_FIX = auth_fix()
OLDEST_SERVER = (5, 23)
"""The oldest Neo4j whose Cypher citynet's statements need (``CALL (x) { … }`` subqueries: 5.23); citynet is
tested with 5.26 (the Compose image and ``citynet neo4j start``)."""


def _quiet(*_) -> None:
    """A progress callback that reports nothing (updates and deletes run before the reported creates)."""


def records(df: pd.DataFrame, typed: bool = False) -> list[dict]:
    """DataFrame rows as parameter maps of plain Python values (missing values → null).
    ``typed``: the columns are store columns of known types, converted through Arrow (fast)."""
    if typed:
        from citynet.graph.embedded import to_arrow

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
                 read_only: bool = False, password_from: str | None = None, password_env: str = PASSWORD_ENV):
        """``password_from``: where the password came from (``--password``, ``citynet.toml [store] password``,
        ``env NAME``), named when the server refuses it; ``password_env``: the variable read for it
        (``[store] password_env``), named in the fixes."""
        import neo4j
        from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable

        self.uri, self.user, self.database, self.read_only = uri, user, database, read_only
        self._password = password
        self._password_from, self._password_env = password_from, password_env
        self._node_ids: dict[str, pd.Series] = {}  # label -> elementId by natural key (filled by loads)
        self.location = f"{uri} (database {database})"
        check_address(uri)  # a wrong address is reported before a missing password
        if not password:
            raise StoreError(f"no password for Neo4j user {user!r} at {uri}: {_no_password(password_env)}",
                             fix=auth_fix(password_env))
        try:
            self.driver = neo4j.GraphDatabase.driver(uri, auth=(user, password), connection_timeout=10,
                                                     notifications_min_severity="OFF")
            self.driver.verify_connectivity()
            agent = self.driver.get_server_info().agent
        except AuthError as exc:
            self._drop_driver()
            raise self._refused() from exc
        except (ServiceUnavailable, OSError) as exc:
            self._drop_driver()
            raise StoreError(f"cannot reach Neo4j at {uri} ({exc})", fix=CONNECT_FIX) from exc
        except (ConfigurationError, ValueError) as exc:
            self._drop_driver()
            # (the driver's own refusal of the text, e.g. a query or user:password@ in a bolt:// URI: usage, as
            # check_address's refusals, not an unreachable store)
            raise StoreError(f"invalid Neo4j address {uri!r}: {exc}", fix="use --uri bolt://HOST:PORT",
                             exit_code=EXIT_USAGE) from exc
        try:
            check_server_version(agent, uri)
            with self._errors("RETURN 1"), self._session(False) as s:  # the database exists (it failed later,
                s.run("RETURN 1").consume()  # as a query error, or as a store without a schema version)
        except UserError:
            self._drop_driver()
            raise

    def reconnect(self, password: str | None = None) -> None:
        """A new driver (after a server restart, e.g. the offline import of graph.neo4j_import)."""
        import neo4j

        self._drop_driver()
        self._password = password or self._password
        self._node_ids.clear()
        self.driver = neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self._password), connection_timeout=10,
                                                 notifications_min_severity="OFF")
        self.driver.verify_connectivity()

    def await_indexes(self, seconds: int = 3600) -> None:
        """Wait until every index (and constraint index) is online: populated on imported data."""
        self._run(f"CALL db.awaitIndexes({int(seconds)})")

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

    def _run(self, statement: str, params: dict | None = None, write: bool = True, exact: bool = False
             ) -> pd.DataFrame:
        """The rows of ``statement``; ``exact``: a column of integers and nulls as integers (pandas makes it
        floats, which ``citynet query`` printed ``2015.0`` where Neo4j returns ``2015``)."""
        with self._errors(statement), self._session(write and not self.read_only) as s:
            result = s.run(statement, params or {})
            keys = result.keys()
            rows = [r.values() for r in result]
            df = pd.DataFrame(rows, columns=keys)
            if exact:
                for k in range(df.shape[1]):
                    if df.iloc[:, k].dtype.kind == "f" and all(r[k] is None or (isinstance(r[k], int) and not isinstance(
                            r[k], bool)) for r in rows):
                        df[df.columns[k]] = pd.Series([r[k] for r in rows], index=df.index, dtype=object)
            return df

    @contextmanager
    def _errors(self, statement: str):
        """Driver errors as StoreErrors with the query and the fix."""
        from neo4j.exceptions import AuthError, DatabaseUnavailable, Neo4jError, ServiceUnavailable

        try:
            yield
        except AuthError as exc:
            raise self._refused() from exc
        except ServiceUnavailable as exc:
            raise StoreError(f"lost the connection to Neo4j at {self.uri} ({exc})", fix=LOST_FIX) from exc
        except DatabaseUnavailable as exc:
            raise StoreError(f"the database {self.database!r} of Neo4j at {self.uri} is not available now "
                             f"({getattr(exc, 'message', None) or exc})",
                             fix="retry when it is online (SHOW DATABASES on the server tells its state)") from exc
        except Neo4jError as exc:
            if getattr(exc, "code", "") == "Neo.ClientError.Database.DatabaseNotFound":
                raise self._no_database() from exc
            raise QueryError(_query_message(exc, statement), fix=_query_fix(exc)) from exc

    def _refused(self) -> StoreError:
        """The server refused the user or password: the message names where the password came from (a
        ``[store] password`` left in citynet.toml wins over the variable the user just exported)."""
        source = f" (password from {self._password_from})" if self._password_from else ""
        users = "; Neo4j Community Edition has one user, neo4j" if self.user != "neo4j" else ""
        return StoreError(f"Neo4j at {self.uri} refused the credentials of user {self.user!r}{source}{users}",
                          fix=auth_fix(self._password_env))

    def _no_database(self) -> UserError:
        """The server has no database :attr:`database` (``[store] database``): one message naming the ones it
        has (exit 2, a setting to correct)."""
        import contextlib

        names: list[str] = []
        with contextlib.suppress(Exception), self.driver.session(database="system") as s:
            names = [r["name"] for r in s.run("SHOW DATABASES YIELD name, type WHERE type <> 'system' "
                                              "RETURN DISTINCT name ORDER BY name")]
        has = f" (it has: {', '.join(names)})" if names else ""
        default = "neo4j" if not names or "neo4j" in names else names[0]
        return UserError(f"the Neo4j server at {self.uri} has no database {self.database!r}{has}; Neo4j Community "
                         "Edition has one database, neo4j",
                         fix=f'set [store] database = "{default}" in citynet.toml (or remove the line: the default is '
                             "neo4j), or create the database on a Neo4j Enterprise server (CREATE DATABASE)")

    def _has_data(self) -> bool:
        return not self._run("MATCH (n) RETURN 1 AS x LIMIT 1").empty

    def _fetch(self, name: str) -> pd.DataFrame:
        """Keys and row hashes of ``name`` in the store (nodes: and their elementIds), page by page."""
        e = ENTITY[name]
        (stmt,) = self._blocks("load")[f"fetch_{name}"]
        columns = [*e.key, "row_hash"] + ([] if e.rel else ["node_id"])
        rows: list = []
        after = ""
        while True:
            page = self._run(stmt, {"after": after, "limit": PAGE})
            last = page["last"].iloc[0]
            if last is None:
                break
            rows.extend(page["rows"].iloc[0])
            after = last
        out = pd.DataFrame(rows, columns=columns)
        if not e.rel:
            self._node_ids[name] = pd.Series(out["node_id"].to_numpy(), index=out[e.key[0]].to_numpy())
        return out

    def finish_offline_import(self, progress=None) -> int:
        """Set the empty lists that an offline import (graph/neo4j_import.py) marked with labels and
        remove the labels; returns the nodes done (0: nothing pending). ``citynet load`` calls it, so
        that a Docker import completes on the next load too."""
        blocks = self._blocks("load")
        (labels,) = blocks["imported_empty_list_labels"]
        pending = [b for b in (f"imported_empty_lists:{x}" for x in self._run(labels).get("label", [])) if b in blocks]
        report = progress or (lambda stage, done, total: None)
        done = 0
        for i, block in enumerate(sorted(pending)):
            report("empty lists", i, len(pending))
            (statement,) = blocks[block]
            done += int(self._run(statement).iloc[0, 0])
            report("empty lists", i + 1, len(pending))
        return done

    def load(self, canonical_dir, progress=None, **settings) -> dict:
        """As :meth:`BaseStore.load`, after completing a pending offline import."""
        self.ensure_schema()
        self.finish_offline_import(progress)
        return super().load(canonical_dir, progress, **settings)

    def _write_batches(self, block: str, df: pd.DataFrame, name: str, progress, done: int, total: int,
                       file: str = "load", params: dict | None = None) -> list:
        """Run ``block`` of ``cypher/<file>`` on batches of ``df`` (``$rows``, plus ``params``) in
        ``WRITERS`` concurrent write transactions (retried by the driver on transient errors such as
        deadlocks); returns the first value each batch returned."""
        if df.empty:
            return []
        (stmt,) = self._blocks(file)[block]

        def write(chunk: pd.DataFrame):
            values = {**(params or {}), "rows": records(chunk, typed=True)}
            with self._errors(stmt), self._session(True) as session:
                record = session.execute_write(lambda tx: tx.run(stmt, values).single())
            return None if record is None else record[0]

        chunks = [df.iloc[i:i + BATCH] for i in range(0, len(df), BATCH)]
        out = []
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            for chunk, value in zip(chunks, pool.map(write, chunks), strict=True):
                out.append(value)
                done += len(chunk)
                progress(name, done, total)
        return out

    def _end_ids(self, e, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` of relationship ``e`` with ``from_id``/``to_id`` (the end nodes' elementIds) in place
        of the end nodes' keys."""
        out = rows.drop(columns=list(e.columns[:2]))
        for col, key, label in (("from_id", e.columns[0], e.ends[0]), ("to_id", e.columns[1], e.ends[1])):
            ids = rows[key].map(self._node_ids.get(label, pd.Series(dtype=object)))
            if ids.isna().any():
                missing = rows.loc[ids.isna(), key].iloc[0]
                raise StoreError(f"{e.name}: end node {label} {missing!r} is not in the store",
                                 fix="reload the canonical tables: citynet load -w WS")
            out.insert(0 if col == "from_id" else 1, col, ids.to_numpy())
        return out

    def _delete_rows(self, name: str, keys) -> None:
        self._write_batches(f"delete_{name}", keys.to_pandas(), name, _quiet, 0, len(keys))

    def _write_entity(self, name: str, new: pd.DataFrame, changed: pd.DataFrame, progress) -> None:
        e = ENTITY[name]
        total = len(new) + len(changed)
        if not e.rel:
            done = len(changed)
            self._write_batches(f"upsert_{name}", changed, name, _quiet, 0, total)
            ids = [pair for batch in self._write_batches(f"create_{name}", new, name, progress, done, total)
                   for pair in batch or []]
            if ids:
                created = pd.Series([i for _, i in ids], index=[k for k, _ in ids])
                known = self._node_ids.get(name)
                self._node_ids[name] = created if known is None else pd.concat([known, created])
            return
        if len(changed):
            if name in ("LOCATED_IN", "TRANSFERRED"):
                # the end nodes may have changed: drop the old relationship first
                self._write_batches(f"delete_{name}", changed[list(e.key)], name, _quiet, 0, total)
            self._write_batches(f"upsert_{name}", changed, name, _quiet, 0, total)
        # new keys (anti-join against the store): CREATE between the end nodes matched by elementId
        self._write_batches(f"create_{name}", self._end_ids(e, new), name, progress, len(changed), total)

    def _write_projection(self, net: str, op: str, rows: pd.DataFrame, network: str) -> None:
        self._write_batches(f"{op}_{net}", rows, net, _quiet, 0, len(rows),
                            file="projection_write", params={"network": network})

    def clear(self) -> None:
        """Delete every node, relationship, constraint and index (``citynet load --rebuild``). The deletion
        commits in batches, so a store that holds citynet's meta is first marked as being loaded
        (``lifecycle.STATE_KEY``) and its Meta nodes go last: a rebuild stopped midway (the server killed, Ctrl-C)
        is refused by ``query`` and ``metrics`` as a load that did not finish, with the fix to run it again. The
        Meta nodes went in the first batch: the store was then refused as "built by schema version 0", or, where
        they came later (a store of the offline importer), it kept "complete" over a part of its rows."""
        import json

        from citynet.graph.lifecycle import STATE_KEY, utc_now

        if self._get_meta("schema_version") is not None:
            self._set_meta(STATE_KEY, json.dumps({"state": "running", "what": "citynet load --rebuild",
                                                  "started": utc_now(), "manifest": None}))
        self._exec_block("admin", "delete_data")
        self._exec_block("admin", "delete_all")
        for kind, block in (("CONSTRAINT", "constraints"), ("INDEX", "indexes")):
            for name in self._exec_block("admin", block).get("name", []):
                # names come from the server's own SHOW listing; DDL takes no parameters
                self._run(f"DROP {kind} `{str(name).replace('`', '``')}` IF EXISTS")

    # -- public --
    def query(self, cypher: str, params: dict | None = None, write: bool = False) -> pd.DataFrame:
        if write and self.read_only:
            raise QueryError("the Neo4j store is open read-only", fix="open it with write access (--write)")
        from citynet.graph import compat_neo4j
        from citynet.graph.readonly import check_params, check_read_only

        if not write:
            check_read_only(cypher)  # allow-list: no LOAD CSV, SHOW, TERMINATE, cache procedures without --write
        check_params(params, cypher)
        compat_neo4j.check(cypher)  # what Neo4j 5.26 itself answers wrongly
        return self._run(cypher, plain(params or {}), write=write, exact=True)

    def write_city_year(self, panel: pd.DataFrame, network: str, panel_years: list[int] | None = None) -> None:
        """Upsert ``(:CityYear {key, city_code, year, network, <metric columns>})-[:OF_CITY]->(:City)``; with
        ``panel_years`` (a full run: every year of the panel), the network's rows of other years go."""
        from citynet.graph.embedded import _city_year_rows

        rows = _city_year_rows(panel, network)
        for start in range(0, len(rows), BATCH):
            self._exec_block("city_year", "upsert", {"rows": records(rows.iloc[start:start + BATCH])})
        if panel_years is not None:
            self._exec_block("city_year", "delete_other_years",
                             {"network": network, "years": [int(y) for y in panel_years]})


def _no_password(password_env: str) -> str:
    """Why no password was found: the variable citynet read is unset or empty — and, when it is not
    NEO4J_PASSWORD, whether NEO4J_PASSWORD is set (the user exported the usual name)."""
    import os

    said = "is empty" if password_env in os.environ else "is not set"
    out = f"no --password, no [store] password, and {password_env} {said}"
    if password_env != PASSWORD_ENV and os.environ.get(PASSWORD_ENV):
        out += f" ({PASSWORD_ENV} is set, but citynet.toml [store] password_env names {password_env})"
    return out


BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def check_server_version(agent: str | None, uri: str) -> None:
    """Refuse a server older than :data:`OLDEST_SERVER` (its statements would fail midway with syntax
    errors); ``agent`` is the server's Bolt agent string. Newer and unrecognised agents pass.

    >>> check_server_version("Neo4j/5.26.30", "bolt://localhost:7687")
    >>> check_server_version("Neo4j/2025.01.0", "bolt://localhost:7687")
    >>> check_server_version("Neo4j/5.20.0", "bolt://db:7687")
    Traceback (most recent call last):
    citynet.errors.StoreError: the Neo4j server at bolt://db:7687 is 5.20.0; citynet needs Neo4j 5.23 or newer (tested with 5.26)
    """
    import re

    m = re.match(r"Neo4j/(\d+)\.(\d+)", agent or "")
    if m and (int(m[1]), int(m[2])) < OLDEST_SERVER:
        version = (agent or "").split("/", 1)[1]
        raise StoreError(f"the Neo4j server at {uri} is {version}; citynet needs Neo4j "
                         f"{OLDEST_SERVER[0]}.{OLDEST_SERVER[1]} or newer (tested with 5.26)",
                         fix="run Neo4j 5.26: `citynet neo4j start`, or the image neo4j:5.26-community "
                             "(docker-compose.yml)")


def check_address(uri: str, timeout: float = 5.0) -> None:
    """Refuse a non-Bolt URI (exit 2) and an address where nothing listens (exit 4), before any
    credentials are looked at."""
    import socket
    from urllib.parse import urlsplit

    from citynet.errors import UserError

    try:
        parts = urlsplit(str(uri))
        host, port = parts.hostname, parts.port or 7687
    except ValueError as exc:
        raise UserError(f"invalid Neo4j address {uri!r}: {exc}", fix="use --uri bolt://HOST:PORT") from exc
    if "://" not in str(uri):  # localhost:7687 (urlsplit reads "localhost" as the scheme)
        raise UserError(f"{uri!r} is not a Bolt address: it has no scheme (Neo4j's address is bolt://HOST:PORT)",
                        fix=f"use --uri bolt://{str(uri).lstrip('/') or 'localhost:7687'} (or write it so in "
                            "citynet.toml [store] uri)")
    if parts.scheme not in BOLT_SCHEMES or not host:
        raise UserError(f"{uri!r} is not a Bolt address (Neo4j speaks Bolt, e.g. bolt://localhost:7687; "
                        "the http:// port 7474 is the browser's)", fix="use --uri bolt://HOST:7687")
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise StoreError(f"cannot reach Neo4j at {uri} ({exc.strerror or exc})", fix=CONNECT_FIX) from exc
    if parts.scheme not in ("bolt", "neo4j"):  # bolt+s, neo4j+ssc, …: the Bolt handshake inside TLS
        sock = _tls(sock, host, port, timeout, parts.scheme)
    with sock:
        try:
            answer = _bolt_handshake(sock)
        except TimeoutError as exc:
            raise StoreError(f"{host}:{port} accepts connections but gave no Bolt answer within {timeout:g} s: "
                             "no Neo4j Bolt port listens there (or the server is too busy to answer)",
                             fix=NOT_BOLT_FIX) from exc
        except OSError:
            answer = b""  # (reset by the peer: as a closed connection)
    if not _is_bolt_answer(answer):
        said = f"answered {answer!r}" if answer else "closed the connection"
        raise StoreError(f"{host}:{port} is not a Neo4j Bolt port: it {said} to the Bolt handshake "
                         "(an HTTP server, or another program)", fix=NOT_BOLT_FIX)


def _tls(sock, host: str, port: int, timeout: float, scheme: str):
    """``sock`` wrapped in TLS, for the Bolt handshake of a ``+s``/``+ssc`` address (the certificate is not checked
    here: the driver checks it). A port that gives no TLS answer or speaks no TLS is one message: the driver waited
    60 s on a silent port, and on a Neo4j without encryption said "Failed to establish encrypted connection" with
    the fix to start Neo4j."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    plain = scheme.split("+")[0]
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except TimeoutError as exc:
        sock.close()
        raise StoreError(f"{host}:{port} accepts connections but gave no TLS answer within {timeout:g} s ({scheme}:// "
                         "speaks Bolt inside TLS): no Neo4j Bolt port with encryption listens there",
                         fix=NOT_BOLT_FIX) from exc
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise StoreError(f"{host}:{port} does not speak TLS ({scheme}:// is Bolt with encryption; {exc.__class__.__name__}"
                         f"): a Neo4j without encryption (as `citynet neo4j start` runs it), or not a Bolt port",
                         fix=f"use --uri {plain}://{host}:{port} for a server without encryption (or [store] uri); "
                             "else give the Bolt port of the server with TLS (dbms.ssl.policy.bolt)") from exc


BOLT_HANDSHAKE = bytes.fromhex("6060b017" "00080805" "00000404" "00000000" "00000000")
"""Bolt's magic preamble and the versions offered (5.0–5.8, 4.4): the server answers the one it takes as four
bytes ``00 00 minor major`` (all zeros: none of them), before any credentials."""
NOT_BOLT_FIX = ("give the Bolt port of Neo4j (7687 unless set otherwise; 7474 is the browser's HTTP port): "
                "--uri bolt://HOST:7687 or [store] uri; `citynet neo4j status` shows the local server's")


def _bolt_handshake(sock) -> bytes:
    """Send the Bolt handshake on the connected ``sock`` and return the first four bytes of the answer (fewer
    when the peer closes the connection first); the socket's timeout bounds the wait."""
    sock.sendall(BOLT_HANDSHAKE)
    answer = b""
    while len(answer) < 4:
        chunk = sock.recv(4 - len(answer))
        if not chunk:
            break
        answer += chunk
    return answer


def _is_bolt_answer(answer: bytes) -> bool:
    """Whether ``answer`` is a Bolt server's answer to :data:`BOLT_HANDSHAKE` (a version, or zeros: none).

    >>> _is_bolt_answer(bytes.fromhex("00000405")), _is_bolt_answer(bytes(4)), _is_bolt_answer(b"HTTP")
    (True, True, False)
    """
    return len(answer) == 4 and answer[:2] == b"\0\0"


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
    if "MemoryPoolOutOfMemoryError" in code:
        return ("the query needs more memory than the server lets one transaction take (70 % of its heap): "
                "restart the server with a larger heap (citynet neo4j start --heap 2g; Docker Compose: "
                "NEO4J_HEAP in .env), or narrow the query")
    return "see docs/cypher.md for the schema and the query library"
