"""The CSV files citynet writes for a user: UTF-8 with a byte order mark (BOM) unless asked otherwise.

Excel opens a UTF-8 file without the BOM in the system's code page (GBK on a Chinese Windows: 城市 and the
Chinese names of covariates garbled); pandas, DuckDB, R's readr and Python's ``csv`` with
``encoding="utf-8-sig"`` read past it. Every CSV file written for a user goes through here:
``citynet export --format csv``, ``quarantine/*.csv``, the tables and side tables of ``citynet fit SPEC``,
``citynet synth``'s truth tables. The one opt-out is plain UTF-8: ``bom=False`` (``export --no-bom``), or
``with csv_bom(False):`` around code that writes several files (``fit SPEC --no-bom``: ``run_spec(...,
bom=False)``). A CSV printed to stdout (``query --format csv``) is a stream, not a file, and has no BOM.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from os import PathLike

import pandas as pd

_BOM: contextvars.ContextVar[bool] = contextvars.ContextVar("citynet_csv_bom", default=True)


def csv_encoding(bom: bool | None = None) -> str:
    """``"utf-8-sig"`` (UTF-8 with BOM) or ``"utf-8"``; ``bom=None``: the current default (:func:`csv_bom`)."""
    return "utf-8-sig" if (_BOM.get() if bom is None else bom) else "utf-8"


@contextlib.contextmanager
def csv_bom(on: bool) -> Iterator[None]:
    """Inside, :func:`csv_encoding` and :func:`write_csv` without ``bom`` write with (``on``) or without a BOM."""
    token = _BOM.set(bool(on))
    try:
        yield
    finally:
        _BOM.reset(token)


def write_csv(frame: pd.DataFrame, path: str | PathLike, *, index: bool = False, bom: bool | None = None) -> str:
    """``frame`` to ``path`` as CSV in :func:`csv_encoding`; returns the path as a string (for lists of files)."""
    frame.to_csv(path, index=index, encoding=csv_encoding(bom))
    return str(path)
