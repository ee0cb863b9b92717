"""Rows in Neo4j's order on the embedded engine, whose multi-key ``ORDER BY`` is wrong after a text key.

LadybugDB 0.20.4 (and Kùzu 0.11.3, ryugraph 25.9.2) orders rows wrongly when an ``ORDER BY`` has a
``STRING`` key followed by a key of another type and the rows to sort exceed about 16,000: rows with
equal text keys come out of order in the later keys (``ORDER BY s, y`` gives ``('Ab', 2020)`` before
``('Ab', 2006)``), and a ``LIMIT`` then keeps the wrong rows. Text keys followed only by text keys, and
any keys after non-text keys, sort correctly. LadybugDB 0.21 fixed it (but drops rows of a filtered
two-sided pattern, which is why 0.20.4 is the tested version; docs/cypher.md, engine bug 5).

What this module does with an ``ORDER BY`` whose keys could be in that order (a key that is or may be
text, followed by a key that is or may be something else; types from the store's schema, function names
and literals):

- in the final ``RETURN``, when every key is a returned column: the ``ORDER BY`` (and its ``SKIP`` /
  ``LIMIT``) is taken out of the query and applied to the rows in Python with Neo4j's ordering (nulls
  last ascending, first descending; strings by code point; stable sorts from the last key to the
  first);
- anywhere else (``WITH … ORDER BY``, a key that is not returned): refused, naming the construct and
  the rewrite.

Worked example: ``MATCH (a:Applicant) RETURN a.city_code AS c, a.kind AS k ORDER BY c, k`` sorts in
the engine (two text keys); ``… RETURN a.city_code AS c, count(*) AS n ORDER BY c, n DESC LIMIT 5``
runs without ``ORDER BY … LIMIT 5``, which :meth:`ClientOrder.apply` then applies.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

STR, OTHER, UNKNOWN = "str", "other", "unknown"
_TEXT_FUNCTIONS = {"TOSTRING", "LOWER", "UPPER", "TOLOWER", "TOUPPER", "SUBSTRING", "TRIM", "LTRIM", "RTRIM",
                   "LEFT", "RIGHT", "REPLACE", "CONCAT", "LPAD", "RPAD"}
_OTHER_FUNCTIONS = {"COUNT", "SUM", "AVG", "SIZE", "LENGTH", "TOINTEGER", "TOFLOAT", "TOBOOLEAN", "ABS", "ROUND",
                    "FLOOR", "CEIL", "SQRT", "LOG", "LOG10", "EXP", "SIGN", "STDEV", "STDEVP", "PERCENTILECONT",
                    "PERCENTILEDISC", "DATE", "YEAR", "MONTH", "DAY"}
_SAME_AS_ARGUMENT = {"MIN", "MAX", "COALESCE", "HEAD", "LAST"}
DIRECTIONS = {"ASC": False, "ASCENDING": False, "DESC": True, "DESCENDING": True}


@cache
def declared_types() -> dict[str, frozenset[str]]:
    """Property name → the types it is declared with in citynet's embedded schema (``STRING``, ``INT64``,
    ``STRING[]``, …; one per table that has it). The one reader of the schema's columns: the ordering here,
    the type checks (``graph/compat_types.py``) and the function rewrites read it."""
    from citynet import cypher

    out: dict[str, set[str]] = {}
    for stmt in cypher.statements("schema", "embedded"):
        m = re.search(r"TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\s*\((.*)\)", stmt, re.S)
        if not m:
            continue
        for part in m.group(1).split(","):
            words = part.split()
            if len(words) >= 2 and words[0].upper() not in ("FROM", "TO", "PRIMARY"):
                out.setdefault(words[0], set()).add(words[1].upper())
    return {k: frozenset(v) for k, v in out.items()}


@cache
def property_types() -> dict[str, frozenset[str]]:
    """Property name → the kinds (:data:`STR` or :data:`OTHER`) it has in citynet's embedded schema."""
    return {k: frozenset(STR if t == "STRING" else OTHER for t in v) for k, v in declared_types().items()}


def kind_of(toks: list, aliases: dict[str, list]) -> str:
    """:data:`STR`, :data:`OTHER` or :data:`UNKNOWN` for the expression ``toks`` (tokens of graph.compat)."""
    if not toks:  # (an alias without an expression, WITH AS s: the engine's syntax error)
        return UNKNOWN
    if len(toks) == 1:
        t = toks[0]
        if t.kind == "str":
            return STR
        if t.kind == "num":
            return OTHER
        if t.kind in ("word", "bq") and t.text.strip("`") in aliases:
            inner = aliases[t.text.strip("`")]
            if inner is not toks and not (len(inner) == 1 and inner[0].text == t.text):
                return kind_of(inner, {})
        return UNKNOWN
    if len(toks) == 3 and toks[1].text == "." and toks[2].kind in ("word", "bq"):
        kinds = property_types().get(toks[2].text.strip("`"))
        return next(iter(kinds)) if kinds and len(kinds) == 1 else UNKNOWN
    if toks[0].kind == "word" and len(toks) > 2 and toks[1].text == "(" and toks[-1].text == ")":
        name = toks[0].up
        if name in _TEXT_FUNCTIONS:
            return STR
        if name in _OTHER_FUNCTIONS:
            return OTHER
        if name in _SAME_AS_ARGUMENT:
            depth = toks[1].depth + 1
            arg = []
            for t in toks[2:-1]:
                if t.text == "," and t.depth == depth:
                    break
                arg.append(t)
            return kind_of(arg, {}) if arg else UNKNOWN
    return UNKNOWN


def risky(kinds: list[str]) -> bool:
    """True when a key that is or may be text is followed by a key that is or may be of another type."""
    return any(k != OTHER and any(later != STR for later in kinds[i + 1:]) for i, k in enumerate(kinds))


@dataclass(frozen=True)
class ClientOrder:
    """The final ``ORDER BY … SKIP … LIMIT …`` of a query, applied to its rows in Python."""

    keys: tuple[tuple[str, bool], ...]  # (returned column, descending)
    skip: str | None = None  # an integer literal or a $parameter
    limit: str | None = None

    def _count(self, value: str | None, params: dict) -> int | None:
        if value is None:
            return None
        n = params.get(value[1:]) if value.startswith("$") else int(value)
        return int(n)

    def permutation(self, columns: list[str], rows: list, params: dict | None = None) -> list[int]:
        """Row indices in Neo4j's order, cut by ``SKIP`` and ``LIMIT``."""
        idx = list(range(len(rows)))
        for name, desc in reversed(self.keys):
            i = columns.index(name)
            idx.sort(key=lambda r, i=i: _neo4j_key(rows[r][i]), reverse=desc)  # stable, also reversed
        skip = self._count(self.skip, params or {}) or 0
        limit = self._count(self.limit, params or {})
        return idx[skip:] if limit is None else idx[skip:skip + limit]

    def apply(self, columns: list[str], rows: list, params: dict | None = None) -> list:
        return [rows[i] for i in self.permutation(columns, rows, params)]

    def apply_frame(self, df, params: dict | None = None):
        """:meth:`apply` for a pandas frame of the rows (a new frame, index 0…n−1)."""
        rows = list(df.itertuples(index=False, name=None))
        return df.iloc[self.permutation(list(df.columns), rows, params)].reset_index(drop=True)


def _is_null(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ in ("NAType", "NaTType")


_TYPE_RANK = {str: 1, bool: 2, int: 3, float: 3}  # Neo4j: … < String < Boolean < Number < null


def _neo4j_key(v):
    if _is_null(v):
        return (1, 0, 0)
    if hasattr(v, "item") and not isinstance(v, str | bytes | list | dict):
        v = v.item()
    return (0, _TYPE_RANK.get(type(v), 0), v)
