"""A ``DISTINCT`` aggregate before another aggregate in a grouping ``WITH`` / ``RETURN``: rewritten.

LadybugDB 0.20.4 (engine bug 19 of docs/cypher.md) computes every aggregate that follows a ``DISTINCT``
aggregate in a projection with a grouping key as 0 or null: ``RETURN c.city_code AS c, count(DISTINCT
a.kind) AS kinds, count(a) AS applicants`` gave 0 applicants for every city, ``sum``/``avg`` after it null.
Without a grouping key, or with the ``DISTINCT`` aggregates last, the answers are right. Such a projection
is split in two: a ``WITH`` that computes the keys and the aggregates, the others first, then the
projection as written over them::

    RETURN c.city_code AS c, count(DISTINCT a.kind) AS kinds, count(a) AS applicants
    → WITH c.city_code AS c, count(a) AS __agg1, count(DISTINCT a.kind) AS __agg2
      RETURN c, __agg2 AS kinds, __agg1 AS applicants

Where an aggregating item reads a variable outside its aggregates (``c.name + count(DISTINCT x)``), or an item
has no name to carry, the projection is refused with that fix.

>>> from citynet.graph.compat import tokens, clause_starts
>>> q = "MATCH (a:A) RETURN a.k AS k, count(DISTINCT a.x) AS d, count(*) AS n ORDER BY k"
>>> t = tokens(q)
>>> from citynet.graph.compat import _applied
>>> _applied(q, edits(t, clause_starts(t), q))
'MATCH (a:A) WITH a.k AS k, count(*) AS __agg2, count(DISTINCT a.x) AS __agg1 RETURN k, __agg1 AS d, __agg2 AS n ORDER BY k'
"""

from __future__ import annotations

import re
from functools import cache

from citynet.graph.compat import (
    _AGGREGATE_CALLS,
    Tok,
    Unsupported,
    _items,
    _projection_tokens,
    _split,
    closing,
    order_by,
)

_EXPRESSION_WORDS = {"CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "XOR", "NULL", "TRUE", "FALSE",
                     "IN", "IS", "STARTS", "ENDS", "CONTAINS", "WITH"}


def _calls(expr: list[Tok]) -> list[tuple[int, int]]:
    """The outermost aggregate calls in ``expr``: (first, last) positions in ``expr``."""
    out, k = [], 0
    while k < len(expr) - 1:
        t = expr[k]
        if t.kind == "word" and t.up in _AGGREGATE_CALLS and expr[k + 1].text == "(" \
                and (k == 0 or expr[k - 1].text != "."):
            close = closing(expr, k + 1)
            out.append((k, close))
            k = close + 1
        else:
            k += 1
    return out


def _reads_a_variable(expr: list[Tok], calls: list[tuple[int, int]]) -> bool:
    """``expr`` names something outside its aggregate calls (a variable; not a function, literal or keyword)."""
    inside = {k for lo, hi in calls for k in range(lo, hi + 1)}
    return any(t.kind in ("word", "bq") and k not in inside and t.up not in _EXPRESSION_WORDS
               and not (k + 1 < len(expr) and expr[k + 1].text == "(")
               and not (k and expr[k - 1].text == ".")
               for k, t in enumerate(expr))


def _refuse(clause: str) -> Unsupported:
    return Unsupported(
        f"refused on the embedded store: a {clause} that groups, with an aggregate after a DISTINCT one that "
        "this rewrite cannot move; LadybugDB computes the later aggregates as 0 or null (docs/cypher.md, engine "
        "bug 19)",
        fix="compute the aggregates in a WITH of their own, the DISTINCT ones last (WITH k, count(*) AS n, "
            "count(DISTINCT x) AS d), then the expressions over them, or run it on Neo4j (--store neo4j)")


def edits(toks: list[Tok], clauses: list[int], text: str) -> list[tuple[int, int, str]]:
    """The rewrite of the module docstring for every projection that needs it (``text`` as tokenised in
    ``toks``, with its clause starts ``clauses``)."""
    out: list[tuple[int, int, str]] = []
    counter = 0
    for ci in clauses:
        word = toks[ci].up
        if word not in ("WITH", "RETURN"):
            continue
        part = _projection_tokens(toks, clauses, ci)
        items = _items(part, text)
        if not items or any(len(e) == 1 and e[0].text == "*" for e, _, _ in items):
            continue
        calls = [_calls(expr) for expr, _, _ in items]
        if all(calls) or not any(calls):
            continue  # no grouping key, or no aggregate
        flags = [expr[lo + 2].up == "DISTINCT" for (expr, _, _), cs in zip(items, calls, strict=True)
                 for lo, _ in cs]
        if not any(flags[i] and not flags[j] for i in range(len(flags)) for j in range(i + 1, len(flags))):
            continue
        names: dict[tuple[int, int], str] = {}
        for n, cs in enumerate(calls):
            for lo, _ in cs:
                counter += 1
                names[(n, lo)] = f"__agg{counter}"
        keys, aggregates, plain, distinct = [], [], [], []
        for n, ((expr, _, _), cs) in enumerate(zip(items, calls, strict=True)):
            source = text[expr[0].start:expr[-1].end]
            written_alias = _alias_text(part, expr, text)
            if not cs:
                if written_alias is None and not (len(expr) == 1 and expr[0].kind in ("word", "bq")):
                    raise _refuse(word)
                keys.append(source if written_alias is None else f"{source} AS {written_alias}")
                aggregates.append(source if written_alias is None else written_alias)
                continue
            if written_alias is None or _reads_a_variable(expr, cs):
                raise _refuse(word)
            pieces, at = [], expr[0].start
            for lo, hi in cs:
                call = text[expr[lo].start:expr[hi].end]
                (distinct if expr[lo + 2].up == "DISTINCT" else plain).append(f"{call} AS {names[(n, lo)]}")
                pieces += [text[at:expr[lo].start], names[(n, lo)]]
                at = expr[hi].end
            pieces.append(text[at:expr[-1].end])
            aggregates.append(f"{''.join(pieces)} AS {written_alias}")
        head = "RETURN" if word == "RETURN" else "WITH"
        dist = " DISTINCT" if ci + 1 < len(toks) and toks[ci + 1].up == "DISTINCT" else ""
        last = part[-1]
        while last.text == ";" and len(part) > 1:  # (a trailing ; belongs to the query)
            part = part[:-1]
            last = part[-1]
        out.append((toks[ci].start, last.end,
                    f"WITH {', '.join(keys + plain + distinct)} {head}{dist} {', '.join(aggregates)}"))
        out += _order_key_edits(toks, clauses, ci, items, part, text)
    return out


def _order_key_edits(toks, clauses, ci, items, part, text) -> list[tuple[int, int, str]]:
    """An ``ORDER BY`` key of the projection at ``toks[ci]`` written as one of its items' expressions
    (``RETURN c.city_code, … ORDER BY c.city_code``) → that item's name, the only thing in scope after the
    split."""
    keys = order_by(toks, clauses, ci)
    if keys is None:
        return []
    order, stop = keys
    named = {}
    for expr, _, _ in items:
        alias = _alias_text(part, expr, text)
        if alias is not None:
            named[text[expr[0].start:expr[-1].end]] = alias
    edits = []
    for key in _split(toks[order + 2:stop]):
        while key and key[-1].up in ("ASC", "DESC", "ASCENDING", "DESCENDING", ";"):
            key = key[:-1]
        if key and (source := text[key[0].start:key[-1].end]) in named:
            edits.append((key[0].start, key[-1].end, named[source]))
    return edits


@cache
def primary_keys() -> frozenset[str]:
    """The properties declared ``PRIMARY KEY`` in the embedded schema (``city_code``, ``patent_id``, …)."""
    return frozenset(label_keys().values())


@cache
def label_keys() -> dict[str, str]:
    """Each node table's ``PRIMARY KEY`` in the embedded schema (``{"City": "city_code", …}``; read, do not
    change: the dict is cached)."""
    from citynet import cypher

    return dict(re.findall(r"NODE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(\s*(\w+)\s+\w+\s+PRIMARY\s+KEY",
                           cypher.text("schema", "embedded"), re.I))


def key_count_edits(toks: list[Tok]) -> list[tuple[int, int, str]]:
    """``count(DISTINCT v.k)`` of a primary key ``k`` → ``count(DISTINCT coalesce(v.k, NULL))``. Over one hop
    with ``v.k`` filtered by a value, LadybugDB 0.20.4 counts it from the relationship table's degrees and
    drops the filter (engine bug 21: ``MATCH (p:Patent)<-[:APPLIED]-(a:Applicant) WHERE a.applicant_id = 'A1'
    RETURN count(DISTINCT a.applicant_id)`` gave 2,894, every applicant with a patent, for 1); the value
    read through ``coalesce`` is counted as written.

    >>> q = "MATCH (a:Applicant)-[:APPLIED]->(p) WHERE a.applicant_id = 'x' RETURN count(DISTINCT a.applicant_id)"
    >>> from citynet.graph.compat import _applied, tokens
    >>> _applied(q, key_count_edits(tokens(q)))[-53:]
    'RETURN count(DISTINCT coalesce(a.applicant_id, NULL))'
    """
    keys, edits = primary_keys(), []
    for i in range(len(toks) - 6):
        if toks[i].up == "COUNT" and toks[i + 1].text == "(" and toks[i + 2].up == "DISTINCT" \
                and toks[i + 3].kind == "word" and toks[i + 4].text == "." and toks[i + 5].text in keys \
                and toks[i + 6].text == ")":
            edits += [(toks[i + 3].start, toks[i + 3].start, "coalesce("), (toks[i + 5].end, toks[i + 5].end, ", NULL)")]
    return edits


def _alias_text(part: list[Tok], expr: list[Tok], text: str) -> str | None:
    """The alias written after ``expr`` in ``part`` (``AS name``, as written: backquotes kept), or None."""
    k = next(i for i, t in enumerate(part) if t is expr[-1]) + 1
    if k + 1 < len(part) and part[k].up == "AS":
        return text[part[k + 1].start:part[k + 1].end]
    return None
