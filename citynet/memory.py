"""Handing freed memory back to the kernel between the large steps of a command.

The C library's allocator (glibc's ``malloc``) keeps the pages that a program frees for its next
requests: only the top of its main heap shrinks by itself, and the per-thread arenas (64 MB each) and
the free pages in the middle of a heap stay resident. Engines that run inside citynet's process
allocate through it — DuckDB while it prepares the load's rows, LadybugDB while it ``COPY``\\ s them — so
what one step freed stayed in the process's resident memory while the next step allocated its own.
Measured on the load of 10,000,000 patents into an empty embedded store: after ``Patent``'s ``COPY``
(and DuckDB's close) the process held 1.93 GB, of which ``malloc_trim`` gave back 1.5 GB in 0.18 s
(docs/scale.md, "Thirteenth round (session 19)").

:func:`return_freed_memory` asks the allocator to return every whole free page of every arena
(``malloc_trim(0)``, glibc's manual page ``malloc_trim(3)``). Where the C library has no such call
(macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache


@cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library the process already uses
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


def return_freed_memory() -> bool:
    """Return the C library's free pages to the kernel; True when some were returned.

    Costs a walk over the allocator's free lists (0.02-0.2 s after the 10M load's copies). Safe while
    other threads allocate: each arena is locked while it is trimmed.

    >>> return_freed_memory() in (True, False)
    True
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
