"""Progress of long steps, reported from any layer without passing callbacks through every signature.

A long loop calls ``report(stage, done, total)`` (a no-op unless a reporter is active); the command
line activates one with ``with reporting(callback): ...`` and shows a bar with counts (``done/total``).
A context variable, so threads and nested commands keep their own reporter.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Reporter = Callable[[str, int, int], None]
_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("citynet_progress", default=None)


def report(stage: str, done: int, total: int) -> None:
    """Tell the active reporter that ``done`` of ``total`` units of ``stage`` are finished."""
    cb = _current.get()
    if cb is not None:
        cb(stage, done, total)


@contextmanager
def reporting(callback: Reporter | None) -> Iterator[None]:
    """Make ``callback`` the reporter of the block."""
    token = _current.set(callback)
    try:
        yield
    finally:
        _current.reset(token)
