"""Progress of long steps, reported from any layer without passing callbacks through every signature.

A long loop calls ``report(stage, done, total)`` (a no-op unless a reporter is active); the command
line activates one with ``with reporting(callback): ...`` and shows a bar with counts (``done/total``).
A context variable, so threads and nested commands keep their own reporter.

A ``total`` of 0 is read by each command's bars: ``citynet metrics`` draws it as a count not known yet
(a running bar, set by a later call), ``citynet load`` as a stage with nothing to do (finished, 0/0);
:class:`LineReporter` writes such a stage's ``done`` alone, without a percentage.
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


class LineReporter:
    """Progress as plain lines, for a stderr that is not a terminal (a log file, ``nohup``, CI), where a
    live bar shows nothing until the command ends: ``stage: done/total (percent), rate/s, elapsed``.

    A stage of rows (or of an unknown total, 0) is written once it has run ``delay`` seconds, then at most every ``every`` seconds, and at
    its end if it was written before or took ``delay`` seconds: quick steps stay out of the log, and a
    mistake found in the first seconds is still the command's only message.

    >>> lines = []; clock = iter([0.0, 0.5, 12.0, 13.0, 20.0, 20.1, 20.2]).__next__
    >>> r = LineReporter(lines.append, every=10, delay=2, clock=clock)
    >>> for done in (0, 10, 60, 100): r("rows", done, 100)
    >>> for done in (0, 5, 9): r("quick", done, 9)
    >>> lines
    ['rows: 60/100 (60%), 5/s, 12 s', 'rows: 100/100 (100%), 8/s, 13 s']
    """

    def __init__(self, write: Callable[[str], None], every: float = 10.0, delay: float = 2.0,
                 clock: Callable[[], float] | None = None):
        import time

        self.write, self.every, self.delay, self.clock = write, every, delay, clock or time.monotonic
        self.started: dict[str, float] = {}
        self.shown: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total == 1:
            return  # a one-unit step ("opening the store"): nothing to tell between its start and end
        now = self.clock()
        start = self.started.setdefault(stage, now)
        finished = total > 0 and done >= total
        last = self.shown.get(stage)
        if last is None:
            due = now - start >= self.delay
        else:
            due = finished or now - last >= self.every
        if not due:
            return
        self.shown[stage] = now
        text = f"{stage}: {done:,}/{total:,} ({100 * done // max(total, 1)}%)" if total > 0 else f"{stage}: {done:,}"
        if now > start and done > 1 and done >= now - start:  # (under 1/s: a few units, not a rate to tell)
            text += f", {done / (now - start):,.0f}/s"
        if now > start:
            text += f", {now - start:,.0f} s"
        self.write(text)


def tee(*callbacks: Reporter | None) -> Reporter:
    """One reporter calling each of ``callbacks`` (``None`` entries skipped)."""
    live = [cb for cb in callbacks if cb is not None]

    def cb(stage: str, done: int, total: int) -> None:
        for c in live:
            c(stage, done, total)

    return cb
