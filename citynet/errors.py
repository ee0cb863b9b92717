"""Errors meant for the user: one clear message, the fix, and an exit code — never a traceback.

Exit codes (the README's table): 0 success; 1 a check said no (``neo4j status``); 2 usage or
configuration (bad option, missing input file, unwritable output, a step run before the one it needs,
a Cypher query the store refuses); 3 bad input data; 4 store unreachable or incompatible; 5 analysis
error; 130 interrupted.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_CHECK = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_STORE = 4
EXIT_ANALYSIS = 5
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error the user can fix; the CLI prints ``message`` and ``fix`` and exits with ``exit_code``."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, fix: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code


class DataError(UserError):
    exit_code = EXIT_DATA


class StoreError(UserError):
    exit_code = EXIT_STORE


class QueryError(StoreError):
    """A query the store refused: Cypher syntax, unknown label or property, a write without ``--write``.
    The store is reachable, so this is a usage error (exit 2), not exit 4."""

    exit_code = EXIT_USAGE


class AnalysisError(UserError):
    exit_code = EXIT_ANALYSIS


#: an OSError's errno for a place the user cannot write: a read-only mount (EROFS), permissions (EACCES),
#: an immutable file or folder (EPERM)
UNWRITABLE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
#: the words the engines put in their messages for those (LadybugDB's IO exception names the strerror)
UNWRITABLE_TEXTS = ("Read-only file system", "Permission denied", "Operation not permitted")
#: the fix of a command that must write into a workspace that is read-only (docs/reliability.md)
READ_ONLY_FIX = ("a read-only workspace (a shared data folder?) can be read: query, fit --formula, and export, "
                 "report, map and fit SPEC with --out in a folder you can write; to ingest, load or compute metrics, "
                 "copy it to a folder you can write (cp -r WS ~/WS) and use -w with the copy")


def engine_disk_full(exc: BaseException) -> UserError | None:
    """The error of an engine that ran out of disk, as one message (exit 1, as ``ENOSPC`` from citynet's own
    writes), else None. DuckDB spills beyond its memory limit to a temporary folder (under ``TMPDIR``) and,
    when that folder's disk is nearly full, says "Out of Memory Error: failed to offload data block" (it caps
    the folder at 90 % of the free space it found) or "IO Error: ... No space left on device" (the system's
    words, which any engine's IO error may carry). Neither is an ``OSError``, and raising a memory limit does
    not help."""
    import tempfile

    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) or not ("No space left on device" in text or "failed to offload" in text):
        return None
    return UserError(f"the disk is full: {text[:200]} (DuckDB writes what does not fit in its memory limit under "
                     f"{tempfile.gettempdir()})",
                     fix="free disk space there and in the workspace (or set TMPDIR to a folder on a larger disk), "
                         "then run the command again", exit_code=EXIT_CHECK)


def out_of_memory(exc: BaseException, what: str, fix: str) -> UserError:
    """DuckDB's ``OutOfMemoryException`` as one message: ``what`` with DuckDB's first line, and ``fix`` (the setting
    to raise); or the full disk's message when a full spill folder is the cause (:func:`engine_disk_full`)."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return engine_disk_full(exc) or UserError(f"{what} ({first})", fix=fix)
