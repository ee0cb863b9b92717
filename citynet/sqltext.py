"""SQL string literals for the DuckDB statements citynet builds around file paths.

DuckDB's ``read_parquet``/``COPY … TO`` take their file names as literals, not parameters, so the
paths (workspace files, never user text) are written as standard SQL strings: single quotes, an
embedded quote doubled (SQL-92 §5.3 <character string literal>).

>>> sql_string("/tmp/it's.parquet")
"'/tmp/it''s.parquet'"
>>> sql_string_list(["a.parquet", "b.parquet"])
"['a.parquet', 'b.parquet']"
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike


def sql_string(value: str | PathLike) -> str:
    """``value`` as an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_string_list(values: Iterable[str | PathLike]) -> str:
    """``values`` as a DuckDB list literal of strings (``['a', 'b']``)."""
    return "[" + ", ".join(sql_string(v) for v in values) + "]"
