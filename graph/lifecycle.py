"""Stores that know they are complete, and one writer at a time.

A load (or a metrics refresh, which writes projections and CityYear nodes) records in the store's
``Meta`` node ``load_state`` that it started — with the workspace manifest it loads — and, at its
successful end, that it finished. A store whose last load did not finish is refused by ``query`` and
``metrics`` with the fix ``citynet load`` (loads are idempotent upserts, so a plain load resumes it;
nothing needs ``--rebuild``).

Writers exclude each other:

* **embedded** (LadybugDB): the engine lets a read-only process open a database another process is
  writing, so a load holds an ``flock`` on ``store/writer.lock``; a second writer is refused, and a reader
  that finds the lock held gets "busy" with a retry hint;
* **Neo4j**: a ``Meta {key: 'writer_lock'}`` node, unique by the ``meta_key`` constraint, is created by the
  writer and deleted at its end; the holder refreshes its ``beat`` every 10 s, and a lock whose beat is
  older than 60 s (a killed writer) is taken over. A load and a refresh on the same database therefore
  exclude each other, across machines.

Readers check the state before and after they read (:func:`reading`): a load that started or ended in
between makes the read "busy" instead of a mix of two states.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from citynet.errors import StoreError

STATE_KEY = "load_state"
BEAT_SECONDS = 10
STALE_MS = 60_000


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _supported(store) -> bool:
    return hasattr(store, "_get_meta") and getattr(store, "backend", "") in ("embedded", "neo4j")


def state(store) -> dict | None:
    """The ``load_state`` record of the store, or None (a store loaded before this record existed)."""
    if not _supported(store):
        return None
    try:
        raw = store._get_meta(STATE_KEY)
    except StoreError:
        return None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"state": "running", "started": "?"}


# --- writer locks ---------------------------------------------------------------------------------
class _FileLock:
    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    def try_take(self, holder: str) -> str | None:
        """None when taken, else the current holder."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            who = fh.read().strip() or "another citynet command"
            fh.close()
            return who
        fh.seek(0)
        fh.truncate()
        fh.write(holder)
        fh.flush()
        self.fh = fh
        return None

    def release(self) -> None:
        if self.fh:
            self.fh.close()
            self.fh = None


def held_by(store) -> str | None:
    """Who holds the store's writer lock now (None: nobody alive)."""
    if getattr(store, "backend", "") == "embedded":
        import fcntl

        path = Path(store.store_dir) / "writer.lock"
        try:
            with open(path) as fh:  # a shared lock only probes: a reader writes nothing
                try:
                    fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:
                    return fh.read().strip() or "another citynet command"
        except OSError:  # no lock file (no load since this citynet), or a folder we may not open
            return None
        return None
    if getattr(store, "backend", "") == "neo4j":
        try:
            df = store._exec_block("lifecycle", "lock_read")
        except StoreError:
            return None
        if df.empty or (df.iloc[0]["age_ms"] or 0) > STALE_MS:
            return None
        return str(df.iloc[0]["holder"])
    return None


class _Neo4jLock:
    def __init__(self, store):
        self.store = store
        self.holder = ""
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def try_take(self, holder: str) -> str | None:
        self.holder = holder
        try:
            self.store._exec_block("lifecycle", "lock_take", {"holder": holder})
        except StoreError as exc:
            if "writer_lock" not in exc.message and "already exists" not in exc.message \
                    and "ConstraintValidation" not in exc.message:
                raise
            cur = self.store._exec_block("lifecycle", "lock_read")
            if cur.empty:
                return self.try_take(holder)
            row = cur.iloc[0]
            if (row["age_ms"] or 0) <= STALE_MS:
                return str(row["holder"])
            stolen = self.store._exec_block("lifecycle", "lock_steal", {"beat": row["beat"], "holder": holder})
            if stolen.empty:
                return str(row["holder"])
        self.thread = threading.Thread(target=self._beat, daemon=True, name="citynet-lock-beat")
        self.thread.start()
        return None

    def _beat(self) -> None:
        while not self.stop.wait(BEAT_SECONDS):
            # a missed beat only ages the lock
            with contextlib.suppress(Exception), self.store.driver.session(database=self.store.database) as s:
                s.run(self.store._blocks("lifecycle")["lock_beat"][0], {"holder": self.holder}).consume()

    def release(self) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=5)
        # (a store whose server was stopped and not restarted, e.g. Ctrl-C while an offline import restarts it:
        # the lock is then left to age, and taken over after STALE_MS, as a killed writer's)
        with contextlib.suppress(Exception):
            self.store._exec_block("lifecycle", "lock_release", {"holder": self.holder})


def _lock(store):
    return _FileLock(Path(store.store_dir) / "writer.lock") if store.backend == "embedded" else _Neo4jLock(store)


@contextlib.contextmanager
def writing(store, what: str, manifest: dict | None = None, record: bool = True,
            workspace: Path | str | None = None) -> Iterator[None]:
    """Hold the store's writer lock for ``what``; with ``record``, mark the load as started and, when the
    block ends without error, as finished (with the workspace manifest entry it loaded, and ``workspace``, the
    folder and host it was loaded from: :func:`other_workspace`)."""
    if not _supported(store):
        yield
        return
    holder = json.dumps({"what": what, "pid": os.getpid(), "host": socket.gethostname(), "since": utc_now(),
                         "id": uuid.uuid4().hex[:8]}, ensure_ascii=False)
    lock = _lock(store)
    who = lock.try_take(holder)
    if who is not None:
        raise StoreError(f"the {store.backend} store {store.location} is busy: {_describe(who)} is writing it",
                         fix="wait for it to finish, then run the command again (one writer at a time)")
    try:
        loaded = {"id": manifest.get("id"), "time": manifest.get("time")} if manifest else None
        if workspace is not None:
            loaded = {**(loaded or {}), "workspace": str(Path(workspace).resolve()), "host": socket.gethostname()}
        if record:
            store._set_meta(STATE_KEY, json.dumps({"state": "running", "what": what, "started": utc_now(),
                                                   "manifest": loaded}))
            from citynet.transaction import _event

            _event("load started")  # fault-injection point (CITYNET_FAULT=kill:1 kills a load here)
        yield
        if record:
            store._set_meta(STATE_KEY, json.dumps({"state": "complete", "what": what, "finished": utc_now(),
                                                   "manifest": loaded}))
    finally:
        lock.release()


def _describe(holder: str) -> str:
    try:
        h = json.loads(holder)
        return f"{h['what']} (pid {h['pid']} on {h['host']}, since {h['since']})"
    except (ValueError, KeyError, TypeError):
        return holder


def other_workspace(st: dict | None, ws_root: Path | str) -> str | None:
    """``"/path (host H)"`` when the load recorded in ``st`` (:func:`state`) came from another workspace than
    ``ws_root`` — a second workspace loaded into the same Neo4j database — else None (this workspace, or a
    load that recorded none: before this record existed)."""
    loaded = (st or {}).get("manifest") or {}
    there, host = loaded.get("workspace"), loaded.get("host")
    if not there or (there == str(Path(ws_root).resolve()) and host == socket.gethostname()):
        return None
    return there if host == socket.gethostname() else f"{there} (host {host})"


def store_options(store) -> str:
    """The options that name ``store`` on a command line of a fix (`` --store neo4j --uri …``; none for the
    embedded store): a fix that says ``citynet load -w WS`` to a user who passes ``--store neo4j`` on each
    command (docs/neo4j.md) would load the embedded store."""
    if getattr(store, "backend", "") != "neo4j":
        return ""
    return f" --store neo4j --uri {store.uri}"


def own_database_fix(ws_root: Path | str, store, other: str) -> str:
    """The fix when a Neo4j database holds the graph of another workspace (``other``: :func:`other_workspace`):
    a database for each workspace; ``--rebuild`` here deletes the other one's graph, so it says so."""
    return (f"give each workspace its own database: `citynet neo4j start --data DIR --port N` (a second local "
            f"server), then `citynet load -w {ws_root} --store neo4j --uri bolt://127.0.0.1:N`; or "
            f"`citynet load -w {ws_root}{store_options(store)} --rebuild`, which deletes the graph of {other}")


def check_complete(store, ws_root: Path | None = None) -> dict | None:
    """Refuse a store that is being written (busy) or whose last load did not finish (the fix: load)."""
    if not _supported(store):
        return None
    who = held_by(store)
    if who is not None:
        raise StoreError(f"the {store.backend} store {store.location} is busy: {_describe(who)} is writing it",
                         fix="retry when it has finished (readers never see a half-written store)")
    st = state(store)
    if st and st.get("state") != "complete":
        ws = f" -w {ws_root}" if ws_root else ""
        what = st.get("what", "citynet load")
        again = ("run it again: `citynet load{} --rebuild`" if what.endswith("--rebuild") else  # (it was emptying)
                 "run `citynet load{}` (it resumes: loads are idempotent upserts; nothing is rebuilt)")
        raise StoreError(
            f"the last load of the {store.backend} store {store.location} did not finish "
            f"({what} started {st.get('started', '?')})",
            fix=again.format(ws + store_options(store)),
        )
    return st


@contextlib.contextmanager
def reading(store, ws_root: Path | None = None) -> Iterator[None]:
    """Check the store before and after a read: a writer in between makes the read "busy", never a mix."""
    before = check_complete(store, ws_root)
    yield
    if not _supported(store):
        return
    after = state(store)
    who = held_by(store)
    if who is not None or after != before:
        raise StoreError(f"the {store.backend} store {store.location} changed while it was read (a load or a "
                         "metrics refresh ran)", fix="run the command again")
