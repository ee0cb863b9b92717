"""The workspace changes as one transaction: stage, journal, switch, manifest.

A command that writes workspace files (``ingest``: canonical tables, covariates, quarantine, the ingest
report; ``metrics``: the panels of one network filter) writes them under
``.citynet/staging/<id>/`` (same relative paths, same file system) and then publishes them:

1. every staged file is flushed to disk and hashed (SHA-256);
2. a journal ``.citynet/journal.json`` — the files to move in, the old files of the unit to delete, and
   the new manifest — is written to a temporary name and renamed into place: **the commit point**;
3. the staged files are renamed over the published ones, old files of the unit deleted, then
   ``.citynet/manifest.json`` is replaced (``os.replace``) and the journal removed.

A kill before the commit point leaves the previous state untouched (the staging folder is removed by
the next writer); a kill after it is completed by whoever opens the workspace next (:func:`recover`
replays the journal; every step is idempotent). So SIGKILL at any point leaves either the previous or
the new state complete. Writers hold an exclusive lock (``.citynet/lock``, ``flock``): a second writer
gets one message. Readers call :func:`verify`: each file of the unit must have the size and hash the
manifest records, or the workspace is refused with the fix. A workspace without a manifest (made by an
older citynet or by hand) is read as it is.

The manifest: ``{"version": 1, "units": {"ingest": {"files": {"canonical/patents.parquet": {"sha256":
…, "size": …}, …}, "command": "citynet ingest …", "time": "…Z", "id": "…"}, "metrics:<filter key>": …}}``.

Fault injection for tests: ``CITYNET_FAULT=kill:N`` makes the process SIGKILL itself right after its Nth
file event of a publication (flush, journal write, rename, delete, manifest write);
``CITYNET_FAULT=enospc:N`` raises "No space left on device" at that event instead;
``CITYNET_FAULT=log:FILE`` only lists the events (number, what) in FILE, so a test can aim its kills.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import hashlib
import json
import os
import shutil
import signal
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from citynet.errors import UserError

STATE_DIR = ".citynet"
MANIFEST = "manifest.json"
JOURNAL = "journal.json"
EXIT_IO = 1  # the README's "a check said no": the disk refused, nothing was changed


class WorkspaceBusy(UserError):
    """Another citynet command is writing this workspace."""


# --- fault injection ------------------------------------------------------------------------------
_events = 0


def _event(what: str) -> None:
    """One file event of a publication; the fault-injection point."""
    global _events
    spec = os.environ.get("CITYNET_FAULT", "")
    if not spec:
        return
    _events += 1
    kind, _, n = spec.partition(":")
    if kind == "log":  # CITYNET_FAULT=log:FILE appends each event (its number and what) to FILE
        with open(n, "a", encoding="utf-8") as fh:
            fh.write(f"{_events}\t{what}\n")
        return
    if n.isdigit() and _events == int(n):
        if kind == "kill":
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), what)


# --- helpers --------------------------------------------------------------------------------------
def _state(root: Path) -> Path:
    return Path(root) / STATE_DIR


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _verified_sha256(cache: dict, rel: str, path: Path) -> str:
    """``sha256(path)``, remembered in ``cache`` (:func:`_verified_cache`: the user's cache folder,
    ``$XDG_CACHE_HOME`` or ``~/.cache``, ``citynet/verified/``, one file per workspace; never inside the
    workspace) with the file's size, modification time (ns) and inode, and reused while those are
    unchanged: readers that verify the workspace hash each file once, not at every command (at 10M
    patents the ingest's files are several GB). The same trust as ``canonical/manifest.json``: a file
    rewritten in place keeping its size and mtime to the nanosecond is not noticed. The caller reads the
    cache once and saves it once (at 10M the ingest unit has about 600 files: reading the cache per file
    cost 0.25 s of JSON decoding in every command)."""
    hit = cache.get(rel)
    if isinstance(hit, list) and len(hit) == 2 and hit[0] == _stamp(path):
        return hit[1]
    digest = sha256(path)
    cache[rel] = [_stamp(path), digest]
    return digest


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _verified_cache(root: Path) -> tuple[Path, dict]:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "citynet" / "verified"
    key = hashlib.blake2b(str(Path(root).resolve()).encode(), digest_size=12).hexdigest()
    cache_file = base / f"{key}.json"
    try:
        return cache_file, json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return cache_file, {}


def _save_verified(cache_file: Path, cache: dict) -> None:
    with contextlib.suppress(OSError):  # a cache: never a failure (read-only home, full disk)
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.stem}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(tmp, cache_file)


def _remember_published(root: Path, files: dict[str, dict]) -> None:
    """Put the digests this publication computed into the cache of :func:`_verified_sha256` (the files were
    renamed into place: same inode and modification time), so the next command's check of the workspace
    (``ingest --append`` verifies every file of the corpus, the ingest state included) does not hash them
    again."""
    cache_file, cache = _verified_cache(root)
    for rel, entry in files.items():
        with contextlib.suppress(OSError):
            cache[rel] = [_stamp(Path(root) / rel), entry["sha256"]]
    _save_verified(cache_file, cache)


def _linked_entry(published: Path, staged: Path, entry: dict | None) -> dict | None:
    """The manifest entry of the published file when ``staged`` is a hard link to it (``ingest --append``
    links the unchanged ingest state into its staging folder; such files are never modified in place):
    the same inode holds the same bytes, so its SHA-256 is not computed again (at 1M patents the state is
    about 0.5 GB). None when it is another file or the manifest has no entry of the same size."""
    if not entry:
        return None
    try:
        same = os.path.samefile(published, staged)
    except OSError:
        return None
    return dict(entry) if same and staged.stat().st_size == entry.get("size") else None


_early: dict[str, tuple[list[int], Future]] = {}  # a staged file's path → its stamp then, its fsync+SHA-256


@functools.cache
def _settle_pool() -> ThreadPoolExecutor:
    """The one background thread of :func:`settle_early`, started at its first use."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="citynet-settle")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _settled(path: Path) -> str:
    _fsync_file(path)
    return sha256(path)


def settle_early(path: Path) -> None:
    """Start the fsync and SHA-256 of a staged file that will not change again, now, in a background
    thread: ``Publication.commit`` takes the digest when the file still has the same size, modification
    time and inode (else it does both again). The ingest's state files (0.7 GB at 1M patents) are written
    while the patents are read; settling them then takes about a second off the publication at the end."""
    path = Path(path)
    _early[str(path.resolve())] = (_stamp(path), _settle_pool().submit(_settled, path))


def _early_digest(path: Path) -> str | None:
    """The digest :func:`settle_early` computed for ``path``, when the file is unchanged since."""
    early = _early.pop(str(path.resolve()), None)
    if early is None or early[0] != _stamp(path):
        return None
    try:
        return early[1].result()
    except OSError:
        return None


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (temporary name, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _event(f"write {tmp}")
    os.replace(tmp, path)
    _event(f"rename {path}")
    _fsync_dir(path.parent)


def read_manifest(root: Path) -> dict:
    path = _state(root) / MANIFEST
    if not path.exists():
        return {"version": 1, "units": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is damaged ({exc})",
                        fix=f"re-run the command that wrote the workspace (citynet ingest -w {root}, then "
                            "citynet metrics)") from exc


def disk_error(exc: OSError, path: Path | str | None = None) -> UserError:
    """An OSError while writing as one message that names the file and the fix."""
    where = path or exc.filename or "the workspace"
    if exc.errno == errno.ENOSPC:
        return UserError(f"no space left on the device while writing {where}; nothing was changed",
                         fix="free disk space (or use a workspace on a larger disk), then run the command again",
                         exit_code=EXIT_IO)
    # the disk refused (a quota, a file too large, an I/O error): exit 1 as a full disk; a folder that cannot be
    # written (permissions, read-only, immutable, a path that cannot hold a file) is an unwritable output: exit 2
    refused = exc.errno in (errno.EDQUOT, errno.EFBIG, errno.EIO)
    return UserError(f"cannot write {where}: {exc.strerror or exc}; nothing was changed",
                     fix="check the folder's permissions and free space, then run the command again",
                     exit_code=EXIT_IO if refused else None)


def check_writable(root: Path | str, why: str) -> None:
    """Refuse before any work a command that will publish into a workspace it cannot write (read-only: EROFS,
    EACCES, EPERM), with the read-only fix; ``why`` says what it would have done first. It opens the lock file
    that :func:`write_lock` opens (creating ``.citynet/`` if need be), nothing more."""
    from citynet.errors import READ_ONLY_FIX, UNWRITABLE_ERRNOS

    state = _state(root)
    try:
        state.mkdir(parents=True, exist_ok=True)
        with open(state / "lock", "a"):
            pass
    except OSError as exc:
        if exc.errno not in UNWRITABLE_ERRNOS:
            raise
        raise UserError(f"cannot write in the workspace {root}: {exc.strerror}; {why}", fix=READ_ONLY_FIX) from exc


# --- locking --------------------------------------------------------------------------------------
@contextlib.contextmanager
def write_lock(root: Path, what: str = "a citynet command") -> Iterator[None]:
    """An exclusive workspace lock for writers; a second writer gets one clear refusal."""
    import fcntl

    state = _state(root)
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "another citynet command"
            raise WorkspaceBusy(f"the workspace {root} is busy: {holder} is writing it",
                                fix="wait for it to finish, then run the command again") from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"{what} (pid {os.getpid()})")
        fh.flush()
        yield


# --- publishing -----------------------------------------------------------------------------------
class Publication:
    """The files of one unit being staged; ``stage(final)`` gives the path to write ``final`` to."""

    def __init__(self, root: Path, unit: str, owned: list[str], carry: list[str], command: str):
        self.root, self.unit, self.owned, self.carry, self.command = Path(root), unit, owned, carry, command
        self.id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        self.staging = _state(root) / "staging" / self.id

    def stage(self, final: Path | str) -> Path:
        rel = Path(final).resolve().relative_to(self.root.resolve()) if Path(final).is_absolute() else Path(final)
        path = self.staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _old_files(self, manifest: dict) -> set[str]:
        old = set(manifest.get("units", {}).get(self.unit, {}).get("files", {}))
        for own in self.owned:  # files of the unit's folders (also those of a workspace without a manifest)
            p = self.root / own
            if p.is_dir():
                old |= {str(f.relative_to(self.root)) for f in p.rglob("*") if f.is_file()}
            elif p.is_file():
                old.add(own)
        return old - _other_units_files(manifest, self.unit)

    def commit(self) -> dict:
        files: dict[str, dict] = {}
        staged = sorted(f for f in self.staging.rglob("*") if f.is_file()) if self.staging.exists() else []
        manifest = read_manifest(self.root)
        published = manifest.get("units", {}).get(self.unit, {}).get("files", {})
        def settle(f: Path) -> dict:  # on disk, then its digest (fsync and hashlib release the GIL)
            rel = str(f.relative_to(self.staging))
            digest = _early_digest(f)  # on disk and hashed already (settle_early)
            if digest is not None:
                return {"sha256": digest, "size": f.stat().st_size}
            _fsync_file(f)
            return _linked_entry(self.root / rel, f, published.get(rel)) or {"sha256": sha256(f), "size": f.stat().st_size}

        # two threads: the disk's wait and the hashing of one file overlap another's (hundreds of MB at 1M);
        # the file events in staged order once each file is on disk (the same events, numbered the same)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="citynet-publish") as pool:
            for f, entry in zip(staged, pool.map(settle, staged), strict=True):
                _event(f"fsync {f}")
                files[str(f.relative_to(self.staging))] = entry
        for rel in self.carry:  # kept from the previous publication (e.g. covariates when none are given)
            p = self.root / rel
            if rel not in files and p.is_file():
                prev = manifest.get("units", {}).get(self.unit, {}).get("files", {}).get(rel)
                files[rel] = prev or {"sha256": sha256(p), "size": p.stat().st_size}
        deletes = sorted(self._old_files(manifest) - set(files))
        manifest.setdefault("units", {})[self.unit] = {
            "files": files, "command": self.command, "id": self.id,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        journal = {"id": self.id, "staging": str(self.staging.relative_to(self.root)),
                   "moves": [r for r in files if (self.staging / r).exists()], "deletes": deletes, "manifest": manifest}
        _write_json(_state(self.root) / JOURNAL, journal)  # the commit point
        _roll_forward(self.root, journal)
        _remember_published(self.root, files)
        return manifest


def _roll_forward(root: Path, journal: dict) -> None:
    """Complete a committed publication (idempotent: every step may already have happened)."""
    staging = root / journal["staging"]
    for rel in journal["moves"]:
        src, dst = staging / rel, root / rel
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            _event(f"rename {dst}")
    for rel in journal["deletes"]:
        p = root / rel
        if p.exists():
            p.unlink()
            _event(f"delete {p}")
    for d in {(root / r).parent for r in journal["moves"]}:
        _fsync_dir(d)
    _write_json(_state(root) / MANIFEST, journal["manifest"])
    (_state(root) / JOURNAL).unlink(missing_ok=True)
    _event("delete journal")
    shutil.rmtree(staging, ignore_errors=True)


def recover(root: Path, reader: bool = False) -> bool:
    """Finish a publication that was committed but interrupted; drop staging folders of uncommitted ones.
    Needs the write lock (taken here, without waiting); returns True when something was done.

    A reader that finds a writer at work reads the previous state when the writer is still staging
    (nothing published has changed), and gets "busy" when the writer is switching (journal present)."""
    state = _state(root)
    journal_path = state / JOURNAL
    staging = state / "staging"
    leftovers = [state / (JOURNAL + ".tmp"), state / (MANIFEST + ".tmp")]
    if not journal_path.exists() and not (staging.exists() and any(staging.iterdir())) \
            and not any(p.exists() for p in leftovers):
        return False
    try:
        lock = write_lock(root, "recovery of an interrupted command")
        lock.__enter__()
    except WorkspaceBusy:
        if reader and not journal_path.exists():
            return False
        raise
    try:
        done = False
        if journal_path.exists():
            try:
                journal = json.loads(journal_path.read_text(encoding="utf-8"))
            except ValueError:  # a torn journal cannot exist (atomic rename); a damaged one: drop it
                journal = None
            if journal:
                _roll_forward(Path(root), journal)
                done = True
            journal_path.unlink(missing_ok=True)
        if staging.exists():
            for d in staging.iterdir():
                shutil.rmtree(d, ignore_errors=True)
                done = True
        for p in leftovers:  # a temporary name never published (the rename did not happen)
            if p.exists():
                p.unlink()
                done = True
        return done
    finally:
        lock.__exit__(None, None, None)


@contextlib.contextmanager
def publish(root: Path | str, unit: str, owned: list[str], carry: list[str] = (), command: str | None = None
            ) -> Iterator[Publication]:
    """Stage the outputs of one command and publish them atomically when the block ends without error.

    ``owned``: folders/files of the unit (old files there that the new publication lacks are deleted);
    ``carry``: files kept as they are when not staged again."""
    root = Path(root)
    command = command or " ".join(["citynet", *sys.argv[1:]])[:500]
    recover(root)
    with write_lock(root, command):
        pub = Publication(root, unit, list(owned), list(carry), command)
        try:
            yield pub
            pub.commit()
        except BaseException as exc:
            where = _newest(pub.staging) if isinstance(exc, OSError) and not exc.filename else None
            if not (_state(root) / JOURNAL).exists():  # not committed: the previous state stands
                shutil.rmtree(pub.staging, ignore_errors=True)
            else:  # committed: complete it now if the disk lets us (else the next command does)
                with contextlib.suppress(OSError):
                    _roll_forward(root, json.loads((_state(root) / JOURNAL).read_text(encoding="utf-8")))
            if isinstance(exc, OSError):
                raise disk_error(exc, root / where if where else None) from exc
            raise


def _newest(staging: Path) -> str | None:
    """The workspace-relative name of the file written last in ``staging`` (the one the disk refused)."""
    try:
        files = [f for f in staging.rglob("*") if f.is_file()]
        return str(max(files, key=lambda f: f.stat().st_mtime_ns).relative_to(staging)) if files else None
    except OSError:
        return None


# --- reading --------------------------------------------------------------------------------------
def verify(root: Path | str, unit: str, only: list[str] | None = None, fix: str | None = None) -> None:
    """Refuse a workspace whose files of ``unit`` are not the ones its manifest records."""
    root = Path(root)
    try:
        recover(root, reader=True)
    except WorkspaceBusy as exc:
        raise WorkspaceBusy(f"the workspace {root} is being written by another citynet command",
                            fix="wait for it to finish, then retry") from exc
    entry = read_manifest(root).get("units", {}).get(unit)
    if entry is None:
        return  # no manifest for this unit: a workspace written by hand or by an older citynet
    producer = entry.get("command") or f"the {unit} command"
    again = fix or f"run it again: {producer}"
    cache_file, cache = _verified_cache(root)
    known = dict(cache)
    try:
        for rel, want in entry["files"].items():
            if only is not None and rel not in only:
                continue
            p = root / rel
            if not p.is_file():
                raise UserError(f"{p} is missing: the workspace does not match its manifest ({unit}, {entry['time']})",
                                fix=again, exit_code=3)
            if p.stat().st_size != want["size"] or _verified_sha256(cache, rel, p) != want["sha256"]:
                raise UserError(f"{p} was changed or damaged after `{producer}` wrote it (its content does not "
                                "match the workspace manifest)", fix=again, exit_code=3)
    finally:  # the digests computed are kept even when a later file fails
        if cache != known:
            _save_verified(cache_file, cache)
    if only is None:
        for own in _unit_folders(unit, entry):
            d = root / own
            if d.is_dir():
                others = _other_units_files(read_manifest(root), unit)
                extra = sorted(str(f.relative_to(root)) for f in d.glob("*.parquet") if str(f.relative_to(root))
                               not in entry["files"] and str(f.relative_to(root)) not in others)
                if extra:
                    raise UserError(f"{root / extra[0]} does not belong to the workspace's last `{producer}`",
                                    fix=again, exit_code=3)


def _unit_folders(unit: str, entry: dict) -> list[str]:
    return ["canonical"] if unit == "ingest" else []


INGEST_OWNED = ["canonical", "quarantine", "reports/ingest.json"]
INGEST_CARRY = ["canonical/covariates.parquet"]
READ_WITH_PANELS = ["canonical/covariates.parquet", "canonical/cities.parquet"]
#: ``citynet ingest --policies`` (may run alone): its own unit inside the ingest's folders
POLICIES_OWNED = ["canonical/policy_docs.parquet", "quarantine/policy_docs.csv"]
_STATIC_UNITS = {"policies": POLICIES_OWNED}


def _other_units_files(manifest: dict, unit: str) -> set[str]:
    """Files that belong to units other than ``unit`` (by the manifest, and the fixed files of the policy
    documents also in a workspace without a manifest): a publication never deletes them, nor are they extra."""
    out = {rel for name, entry in manifest.get("units", {}).items() if name != unit for rel in entry.get("files", {})}
    for name, files in _STATIC_UNITS.items():
        if name != unit:
            out |= set(files)
    return out


def check_parquet(path: Path | str, fix: str, full: bool = False) -> None:
    """A Parquet file that cannot be read — truncated, not Parquet at all, a damaged page — as one message
    naming it (exit 3), not a pyarrow traceback. Reads the footer (schema, row-group index); with ``full``
    every page too (for a file no manifest hash vouches for)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if full:
            pq.ParquetFile(path).read()  # every page (read_table would also import pandas: 0.3 s)
        else:
            pq.read_metadata(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        why = " ".join(str(exc).split())
        why = why.replace(f"'{path}'", "").replace(str(path), "").replace("  ", " ")
        raise UserError(f"{path} is damaged: it is not a readable Parquet file ({why[:200]})", fix=fix,
                        exit_code=3) from exc


#: read whole when no manifest hash vouches for them: the panels and the small canonical tables a reader
#: joins (the large canonical tables get the footer check; a damaged page there is still one message, exit 3)
_SMALL = {"cities.parquet", "covariates.parquet", "policy_docs.parquet", "city_year.parquet", "dyad_year.parquet",
          "network_year.parquet"}


def _check_parquets(paths, fix: str) -> None:
    paths = sorted(p for p in paths if p.is_file())
    if not paths:
        return
    root = next((a for a in paths[0].parents if (a / STATE_DIR).is_dir()), None)
    vouched = {rel for e in read_manifest(root).get("units", {}).values() for rel in e.get("files", {})} if root else set()
    for p in paths:
        covered = root is not None and str(p.relative_to(root)) in vouched
        check_parquet(p, fix, full=not covered and p.name in _SMALL)


def panels_unit(folder: Path | str, root: Path | str) -> str:
    """The unit of one filter's panels: ``panels:metrics`` (default filter) or ``panels:metrics/<key>``."""
    return "panels:" + str(Path(folder).resolve().relative_to(Path(root).resolve()))


def verify_path(root: Path | str, path: Path | str) -> None:
    """Check the unit that ``path`` belongs to before reading it (canonical → ingest; a panel → its
    filter's panels and the covariates of the ingest)."""
    root, path = Path(root).resolve(), Path(path).resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        return
    ingest_fix = f"run `citynet ingest -w {root}` again (the last ingest did not finish or the files were changed)"
    if rel.parts[:1] == ("canonical",):
        verify(root, "ingest", fix=ingest_fix)
        verify(root, "policies", fix=f"run `citynet ingest -w {root} --policies FILE` again")
    elif rel.parts[:1] == ("metrics",):
        metrics_fix = _metrics_fix(root, path.parent)
        verify(root, panels_unit(path.parent, root), fix=metrics_fix)
        # the canonical tables readers join to panels (small; the large ones are checked by load)
        verify(root, "ingest", only=READ_WITH_PANELS, fix=f"run `citynet ingest -w {root}` again")
        verify(root, "policies", fix=f"run `citynet ingest -w {root} --policies FILE` again")
        _check_parquets(path.parent.glob("*.parquet"), metrics_fix)
    else:
        return
    _check_parquets((root / "canonical").glob("*.parquet"), ingest_fix)  # also a workspace without a manifest


def verify_workspace(root: Path | str) -> None:
    """Every published unit that readers use — the canonical tables and every filter's panels — (for
    commands that read all of it, like ``report``; the demo's synthetic ``raw/`` export is an input, not read)."""
    root = Path(root)
    for unit in read_manifest(root).get("units", {}):
        if unit == "ingest":
            verify(root, unit, fix=f"run `citynet ingest -w {root}` again")
        elif unit == "policies":
            verify(root, unit, fix=f"run `citynet ingest -w {root} --policies FILE` again")
        elif unit.startswith("panels:"):
            verify(root, unit, fix=_metrics_fix(root, root / unit.removeprefix("panels:")))
    _check_parquets((root / "canonical").glob("*.parquet"), f"run `citynet ingest -w {root}` again")
    for folder in sorted({p.parent for p in (root / "metrics").rglob("*.parquet")}):
        _check_parquets(folder.glob("*.parquet"), _metrics_fix(root, folder))


def _metrics_fix(root: Path, folder: Path) -> str:
    """The command that writes the panels of ``folder`` again (``metrics/`` or ``metrics/<filter key>/``)."""
    if Path(folder).resolve() == (Path(root) / "metrics").resolve():
        return f"run `citynet metrics -w {root}` again"
    from citynet.workspace import network_flags

    return f"run `citynet metrics -w {root} {network_flags(Path(folder).name)}` again"


def manifest_entry(root: Path | str, unit: str) -> dict | None:
    return read_manifest(Path(root)).get("units", {}).get(unit)
