"""An ordered ``WITH``: the rows its ``SKIP``/``LIMIT`` keeps (engine bug 24), and the order a ``collect`` after
it keeps.

LadybugDB 0.20.4 drops the sort of a ``WITH … ORDER BY … SKIP/LIMIT`` when an aggregate without grouping
keys reads its rows (also through further ``WITH`` projections): ``MATCH (c:City) WITH c ORDER BY c.lon DESC
LIMIT 2 RETURN collect(c.code), min(c.lon)`` kept the first two cities in the table's order, not the two
easternmost (docs/cypher.md, engine bug 24; found by hand, 2026-12-06). The sort stays where another clause
stands between (a ``MATCH``, an ``UNWIND``): an ``UNWIND [1] AS __rowN`` (one row per row: the same rows and
order) is written after every such ``WITH``. Its name stays out of the results: a ``RETURN *`` after it is
written out by name (``compat._star_edits``); where that cannot be done, the query is refused.

LadybugDB sorts the rows of a ``WITH`` only before ``SKIP`` or ``LIMIT`` ("ORDER BY must be followed by SKIP or
LIMIT"), and Cypher's idiom for an ordered list is an ordered ``WITH`` then ``collect``
(``WITH c, p ORDER BY p.app_date WITH c, collect(p.patent_id) AS ps``): ``SKIP 0`` is written after its
``ORDER BY`` and, as above, the ``UNWIND``: the lists then keep Neo4j's order (checked on 20,000 patents and
2,894 applicants' lists with 2 and 8 threads; without the ``UNWIND``, ``SKIP 0`` alone lost it).

>>> from citynet.graph.compat import clause_starts, tokens
>>> q = "MATCH (c:City) WITH c ORDER BY c.lon DESC LIMIT 2 RETURN min(c.lon) AS lo"
>>> t = tokens(q)
>>> edits(t, clause_starts(t))
[(50, 50, 'UNWIND [1] AS __row1 ')]
>>> q = "MATCH (c:City) WITH c ORDER BY c.lon RETURN collect(c.code) AS l"
>>> t = tokens(q)
>>> edits(t, clause_starts(t))
[(37, 37, 'SKIP 0 UNWIND [1] AS __row1 ')]
"""

from __future__ import annotations

from citynet.graph.compat import _PROJECTION_END, STAR_BINDERS, Tok, Unsupported


def edits(toks: list[Tok], clauses: list[int]) -> list[tuple[int, int, str]]:
    """``UNWIND [1] AS __rowN`` inserted after each ``WITH`` with ``ORDER BY``, and ``SKIP 0`` after its ``ORDER
    BY`` where it has no ``SKIP`` or ``LIMIT`` (``clauses``: :func:`citynet.graph.compat.clause_starts` of ``toks``,
    the query's own level)."""
    out: list[tuple[int, int, str]] = []
    used = {t.text for t in toks if t.kind == "word"}
    for n, ci in enumerate(clauses):
        if toks[ci].up != "WITH":
            continue
        later = [c for c in clauses[n + 1:] if toks[c].up not in _PROJECTION_END]
        own = [c for c in clauses[n + 1:] if not later or c < later[0]]
        parts = {toks[c].up for c in own}
        if not later or "ORDER" not in parts:
            continue
        _check_stars(toks, later[0])
        k = len(out) + 1
        while f"__row{k}" in used:
            k += 1
        used.add(f"__row{k}")
        at = toks[later[0]].start
        barrier = f"UNWIND [1] AS __row{k} "
        if not parts & {"SKIP", "LIMIT"}:  # sorted only before SKIP or LIMIT: SKIP 0
            where = next((c for c in own if toks[c].up == "WHERE"), None)
            if where is not None:
                out.append((toks[where].start, toks[where].start, "SKIP 0 "))
            else:
                barrier = "SKIP 0 " + barrier
        out.append((at, at, barrier))
    return out


def _check_stars(toks: list[Tok], start: int) -> None:
    """Refuse where a ``*`` projected after ``toks[start]`` would show the inserted variable: a ``RETURN *``
    that ``compat._star_edits`` leaves as written (beside ``UNION``/``CALL``, or ``RETURN *, x``)."""
    binders = any(t.kind == "word" and t.depth == 0 and t.up in STAR_BINDERS for t in toks)
    for j in range(start, len(toks) - 1):
        if toks[j].up == "RETURN" and toks[j].depth == 0 and toks[j + 1].text == "*" and (
                binders or (j + 2 < len(toks) and toks[j + 2].text == ",")):
            raise Unsupported(
                "refused on the embedded store: RETURN * after a WITH … ORDER BY, here; LadybugDB drops that sort "
                "when an aggregate reads its rows (docs/cypher.md, engine bug 24), and the clause citynet writes "
                "after it to keep the sort would show as a column",
                fix="name the returned columns (RETURN a, b, …), or run it on Neo4j (--store neo4j)")
