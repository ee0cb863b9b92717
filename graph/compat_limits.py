"""Engine bug 24: the rows an ordered ``WITH … SKIP``/``LIMIT`` keeps, as LadybugDB must keep them.

LadybugDB 0.20.4 drops the sort of a ``WITH … ORDER BY … SKIP/LIMIT`` when an aggregate without grouping
keys reads its rows (also through further ``WITH`` projections): ``MATCH (c:City) WITH c ORDER BY c.lon DESC
LIMIT 2 RETURN collect(c.code), min(c.lon)`` kept the first two cities in the table's order, not the two
easternmost (docs/cypher.md, engine bug 24; found by hand, 2026-12-06). The sort stays where another clause
stands between (a ``MATCH``, an ``UNWIND``): an ``UNWIND [1] AS __rowN`` (one row per row: the same rows and
order) is written after every such ``WITH``. Its name stays out of the results: a ``RETURN *`` after it is
written out by name (``compat._star_edits``); where that cannot be done, the query is refused.

>>> from citynet.graph.compat import clause_starts, tokens
>>> q = "MATCH (c:City) WITH c ORDER BY c.lon DESC LIMIT 2 RETURN min(c.lon) AS lo"
>>> t = tokens(q)
>>> edits(t, clause_starts(t))
[(50, 50, 'UNWIND [1] AS __row1 ')]
"""

from __future__ import annotations

from citynet.graph.compat import Tok, Unsupported

_PROJECTION_PARTS = ("ORDER", "SKIP", "LIMIT", "WHERE")  # the sub-clauses of a WITH


def edits(toks: list[Tok], clauses: list[int]) -> list[tuple[int, int, str]]:
    """``UNWIND [1] AS __rowN`` inserted after each ``WITH`` with ``ORDER BY`` and ``SKIP`` or ``LIMIT``
    (``clauses``: :func:`citynet.graph.compat.clause_starts` of ``toks``, the query's own level)."""
    out: list[tuple[int, int, str]] = []
    used = {t.text for t in toks if t.kind == "word"}
    for n, ci in enumerate(clauses):
        if toks[ci].up != "WITH":
            continue
        later = [c for c in clauses[n + 1:] if toks[c].up not in _PROJECTION_PARTS]
        parts = {toks[c].up for c in clauses[n + 1:] if not later or c < later[0]}
        if not later or "ORDER" not in parts or not parts & {"SKIP", "LIMIT"}:
            continue
        _check_stars(toks, later[0])
        k = len(out) + 1
        while f"__row{k}" in used:
            k += 1
        used.add(f"__row{k}")
        at = toks[later[0]].start
        out.append((at, at, f"UNWIND [1] AS __row{k} "))
    return out


def _check_stars(toks: list[Tok], start: int) -> None:
    """Refuse where a ``*`` projected after ``toks[start]`` would show the inserted variable: a ``RETURN *``
    that ``compat._star_edits`` leaves as written (beside ``UNION``/``CALL``, or ``RETURN *, x``)."""
    binders = any(t.kind == "word" and t.depth == 0 and t.up in ("UNION", "CALL", "FOREACH", "LOAD") for t in toks)
    for j in range(start, len(toks) - 1):
        if toks[j].up == "RETURN" and toks[j].depth == 0 and toks[j + 1].text == "*" and (
                binders or (j + 2 < len(toks) and toks[j + 2].text == ",")):
            raise Unsupported(
                "refused on the embedded store: RETURN * after a WITH … ORDER BY … SKIP/LIMIT, here; LadybugDB "
                "drops that sort when an aggregate reads its rows (docs/cypher.md, engine bug 24), and the clause "
                "citynet writes after it to keep the sort would show as a column",
                fix="name the returned columns (RETURN a, b, …), or run it on Neo4j (--store neo4j)")
