"""``coalesce`` of integers and floats, as Neo4j returns it (found session 36; checked against Neo4j 5.26 in
``tests/test_cypher_mixed_types.py``).

Neo4j's ``coalesce`` returns its first non-null argument as it is: ``coalesce(p.app_year, 0.5)`` is the integer
2015 for a patent with a year, ``coalesce(null, 1, 2.5)`` the integer 1. LadybugDB gives ``coalesce`` one type for
all its arguments, a float beside an integer, so it returned 2015.0 and 1.0 (``citynet query`` printed
``2015.0`` where Neo4j prints ``2015``; a column of integers stayed floats in ``--format csv``).

A ``coalesce`` that is a whole column of the final ``RETURN`` and whose arguments are integers and floats the
query shows (literals, parameters, properties, counts, sums: :meth:`compat_functions._Writer.value_kind`) is
written with each argument in LadybugDB's union of the two, ``CAST(CAST(a AS INT64) AS UNION(i INT64, d
DOUBLE))`` (``d``: ``CAST(b AS DOUBLE)``), which keeps each row's own type; :func:`neo4j_column` then makes the
column the one Neo4j's rows make (integers and a float: floats; integers and nulls: integers). Not rewritten (a
float where Neo4j has an integer, the value the same): a ``coalesce`` inside another expression or in a ``WITH``,
an argument whose type the query does not show, a column the engine sorts by (a union cannot be sorted there),
a query with ``UNION``.

>>> rewrite("MATCH (p:Patent) RETURN coalesce(p.app_year, 0.5) AS y, count(*) AS n")
'MATCH (p:Patent) RETURN coalesce(CAST(CAST(p.app_year AS INT64) AS UNION(i INT64, d DOUBLE)), CAST(CAST(0.5 AS DOUBLE) AS UNION(i INT64, d DOUBLE))) AS y, count(*) AS n'
"""

from __future__ import annotations

import math

from citynet.graph.compat import (
    Unsupported,
    _items,
    _projection_tokens,
    arguments,
    clause_starts,
    closing,
    order_by,
    tokens,
)

UNION = "UNION(i INT64, d DOUBLE)"
_AS = {"integer": "INT64", "number": "DOUBLE"}


def rewrite(text: str, params: dict | None = None) -> str:
    """``text`` with each ``coalesce`` of integers and floats that is a column of the final ``RETURN`` written in
    LadybugDB's union of the two (the module docstring)."""
    if "coalesce" not in text.lower():
        return text
    from citynet.graph.compat_functions import _Writer

    toks = tokens(text)
    if any(t.up == "UNION" and t.depth == 0 for t in toks):
        return text
    clauses = clause_starts(toks)
    if not clauses or toks[clauses[-1]].up not in ("RETURN", "ORDER", "SKIP", "LIMIT"):
        return text
    ci = max((c for c in clauses if toks[c].up == "RETURN"), default=None)
    if ci is None:
        return text
    if any(toks[c].up not in ("ORDER", "SKIP", "LIMIT") for c in clauses if c > ci):
        return text
    keys = order_by(toks, clauses, ci)
    sorted_by = {t.text.strip("`") for t in toks[keys[0]:keys[1]]} if keys else set()
    sorted_text = text[toks[keys[0]].start:toks[keys[1] - 1].end] if keys else ""
    writer = _Writer(text, params or {})
    index = {id(t): k for k, t in enumerate(toks)}
    edits: list[tuple[int, int, str]] = []
    for expr, alias, _ in _items(_projection_tokens(toks, clauses, ci), text):
        if len(expr) < 4 or expr[0].up != "COALESCE" or expr[1].text != "(":
            continue
        lo = index[id(expr[0])]
        if closing(toks, lo + 1) != index[id(expr[-1])] or (alias or "") in sorted_by \
                or text[expr[0].start:expr[-1].end] in sorted_text:
            continue
        args = arguments(toks, lo + 1)
        nulls = [b == a + 1 and (toks[a].up == "NULL" or toks[a].kind == "param" and (params or {}).get(
            toks[a].text[1:], 0) is None) for a, b in args]
        kinds = [None if null else _param_kind(toks, a, b, params or {}) or writer.value_kind(a, b)
                 for (a, b), null in zip(args, nulls, strict=True)]
        written = {k for k, null in zip(kinds, nulls, strict=True) if not null}
        if not ({"integer", "number"} <= written <= {"integer", "number"}):
            continue
        for (a, b), kind in zip(args, kinds, strict=True):
            if kind is None:  # a null
                continue
            edits += [(toks[a].start, toks[a].start, "CAST(CAST("),
                      (toks[b - 1].end, toks[b - 1].end, f" AS {_AS[kind]}) AS {UNION})")]
    for s, e, rep in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        text = text[:s] + rep + text[e:]
    return text


def _param_kind(toks, a: int, b: int, params: dict) -> str | None:
    """``integer`` or ``number`` of a parameter given as one, else None."""
    value = params.get(toks[a].text[1:]) if b == a + 1 and toks[a].kind == "param" else None
    if isinstance(value, bool):
        return None
    return "integer" if isinstance(value, int) else "number" if isinstance(value, float) else None


def check_types(text: str, params: dict | None = None) -> str:
    """``text`` with each ``coalesce`` the query writes checked for arguments of different types: LadybugDB gives a
    ``coalesce`` one type for all of them, a text where they differ otherwise than as numbers (``coalesce(p.green,
    0)`` returned the texts ``'True'`` and ``'False'``, Neo4j the booleans; an integer beside a text stops it with
    "Implicit cast is not supported"). Arguments of kinds the query shows (:func:`compat_case._kind`) are refused
    here; where an argument's type is not shown, the call is written ``CASE WHEN <guard> THEN NULL ELSE coalesce(…)
    END``, whose guard (:func:`compat_case.type_guard`) stops the query on the engine's own types, and
    :func:`compat_case.runtime_refusal` makes that the refusal's message."""
    if "coalesce" not in text.lower():
        return text
    from citynet.graph.compat_case import (
        _FIX,
        REFUSED,
        _kind,
        _no_type,
        _with_edits,
        mixed_kinds,
        shown,
        type_guard,
    )
    from citynet.graph.compat_functions import _Writer

    params = params or {}
    toks = tokens(text)
    writer = _Writer(text, params)
    calls = [i for i, t in enumerate(toks[:-1]) if t.kind == "word" and t.up == "COALESCE" and toks[i + 1].text == "("
             and not (i and toks[i - 1].text == ".")]
    edits: list[tuple[int, int, str]] = []
    for i in reversed(calls):  # the innermost first: a copy of an argument carries the edits of a call inside it
        close = closing(toks, i + 1)
        args = [(a, b) for a, b in arguments(toks, i + 1) if b > a and not _no_type(toks, a, b, params)]
        if len(args) < 2:
            continue
        kinds = [_kind(writer, toks, a, b, params) for a, b in args]
        _, which = mixed_kinds(text, toks, [(a, b, kind) for (a, b), kind in zip(args, kinds, strict=True)])
        call = text[toks[i].start:toks[close].end]
        if which:
            raise Unsupported(
                f"refused on the embedded store: {call} has arguments of different types: {which}; LadybugDB gives "
                "coalesce one type (true becomes the text 'True', or the query stops), Neo4j returns the first "
                "non-null argument as it is",
                fix="give every argument one type (toString(…) beside a text), or run it on Neo4j (--store neo4j)")
        if None not in kinds:
            continue
        values = [_with_edits(text, toks[a].start, toks[b - 1].end, edits) for a, b in args]
        message = (f"{REFUSED}{shown(call)} has arguments of different types; LadybugDB gives coalesce one type (true "
                   "becomes the text True), Neo4j returns the first non-null argument as it is."
                   f"{_FIX}give every argument one type (toString(x), toFloat(x)), or run it on Neo4j (--store neo4j)")
        edits += [(toks[i].start, toks[i].start, f"CASE WHEN {type_guard(values, message)} THEN NULL ELSE "),
                  (toks[close].end, toks[close].end, " END")]
    for s, e, rep in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        text = text[:s] + rep + text[e:]
    return text


def neo4j_column(column):
    """A column of LadybugDB's union (Python integers, floats and NaN for null) as Neo4j's rows make it in pandas:
    integers and floats → floats, integers alone → integers, integers and nulls → integers and None."""
    import pandas as pd

    values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in column]
    if not values:
        return column
    out = pd.Series(values, index=column.index)
    if out.dtype.kind == "f" and all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
        out = pd.Series(values, index=column.index, dtype=object)
    return out
