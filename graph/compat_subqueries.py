"""Subqueries and comprehensions on the embedded store: written as LadybugDB reads them, or refused.

LadybugDB 0.20.4 reads ``EXISTS { MATCH … [WHERE …] }`` and ``COUNT { MATCH … [WHERE …] }`` as Neo4j does,
but not the rest of Neo4j 5's subquery forms; its parser stopped with a syntax error that sent the user
to correct valid Cypher ("Invalid input <COUNT { (>"). Checked against Neo4j 5.26 in
``tests/test_cypher_compat.py``:

- ``EXISTS { (a)-[:T]->(b) [WHERE …] }`` and ``COUNT { (a)-[:T]->(b) … }``, a pattern without ``MATCH``:
  written with ``MATCH`` (the same meaning on Neo4j).
- The ``MATCH`` of a subquery keeps its relationships distinct as on Neo4j (``graph/compat.py`` applies
  relationship uniqueness to it: ``COUNT { MATCH (a)-[:APPLIED]->(p)<-[:APPLIED]-(b) }`` counted each
  applicant's own patents again, 2 and 5 for 1 and 1); see :func:`bodies`.
- Refused with the construct and a writing LadybugDB reads: ``CALL { … }`` and ``COLLECT { … }`` subqueries,
  an ``EXISTS``/``COUNT`` subquery with another clause than one ``MATCH … WHERE`` (``RETURN``, ``WITH``, a second
  ``MATCH``, ``UNION`` …), pattern comprehensions (``[(a)-[:APPLIED]->(p) | p.patent_id]``) and list
  comprehensions (``[x IN p.ipc WHERE x STARTS WITH 'H' | substring(x, 0, 4)]``: a syntax error, and
  ``[x IN l | …]`` "Variable x is not in scope"; LadybugDB's ``list_filter`` is no way round, engine bug 10).

>>> from citynet.graph.compat import tokens
>>> edits(tokens("MATCH (c:City) WHERE NOT EXISTS { (c)<-[:LOCATED_IN]-() } RETURN count(*)"))
[(34, 34, 'MATCH ')]
"""

from __future__ import annotations

from citynet.graph.compat import Tok, Unsupported, clause_starts, closing, membership

_COUNTING = ("EXISTS", "COUNT")  # the subqueries LadybugDB reads (one MATCH … WHERE)


def _brace_after(toks: list[Tok], i: int) -> bool:
    return i + 1 < len(toks) and toks[i + 1].text == "{" and not (i and toks[i - 1].text == ".")


def bodies(toks: list[Tok]) -> list[tuple[int, int]]:
    """The braces ``(open, close)`` of each ``EXISTS { … }`` and ``COUNT { … }`` subquery."""
    return [(i + 1, closing(toks, i + 1)) for i, t in enumerate(toks)
            if t.kind == "word" and t.up in _COUNTING and _brace_after(toks, i)]


def edits(toks: list[Tok]) -> list[tuple[int, int, str]]:
    """``MATCH`` inserted before the bare pattern of an ``EXISTS``/``COUNT`` subquery; raises
    :class:`~citynet.graph.compat.Unsupported` for the forms LadybugDB cannot read (module docstring)."""
    out = []
    for i, t in enumerate(toks):
        if t.kind == "word" and t.up == "CALL" and _subquery_call(toks, i):
            raise Unsupported(
                "refused on the embedded store: a CALL { … } subquery; LadybugDB has none",
                fix="a count or a test per row: COUNT { MATCH … WHERE … } or EXISTS { MATCH … WHERE … } (as on "
                    "Neo4j); other values: OPTIONAL MATCH … WITH c, count(x) AS n, sum(…) …; or run it on Neo4j "
                    "(--store neo4j)")
        if t.kind == "word" and t.up == "COLLECT" and _brace_after(toks, i):
            raise Unsupported(
                "refused on the embedded store: a COLLECT { … } subquery; LadybugDB has none",
                fix="OPTIONAL MATCH … WITH c, collect(x) AS xs (collect of nothing is [] on both stores), or run it "
                    "on Neo4j (--store neo4j)")
        if t.text == "[" and _comprehended_pattern(toks, i):
            raise Unsupported(
                "refused on the embedded store: a pattern comprehension ([(a)-[:T]->(b) WHERE … | b.x]); LadybugDB "
                "has none",
                fix="its size: COUNT { MATCH … WHERE … }; its values: OPTIONAL MATCH … WITH …, collect(…); or run "
                    "it on Neo4j (--store neo4j)")
        if t.text == "[" and i + 2 < len(toks) and toks[i + 1].kind == "word" and toks[i + 2].up == "IN" \
                and not membership(toks, i + 2):
            x = toks[i + 1].text
            raise Unsupported(
                f"refused on the embedded store: a list comprehension [{x} IN … WHERE … | …]; LadybugDB has none, and "
                "its list_filter miscounts on stored lists (docs/cypher.md, engine bug 10)",
                fix=f"the UNWIND form, which both stores answer alike: MATCH (p:Patent) UNWIND p.ipc AS {x} WITH p, {x} "
                    f"WHERE {x} STARTS WITH 'H' RETURN p.patent_id, collect(substring({x}, 0, 4)); or run it on Neo4j "
                    "(--store neo4j)")
        if t.kind == "word" and t.up in _COUNTING and _brace_after(toks, i):
            lo, hi = i + 1, closing(toks, i + 1)
            if lo + 1 < hi and toks[lo + 1].text == "(":
                out.append((toks[lo + 1].start, toks[lo + 1].start, "MATCH "))
                continue
            words = [toks[c].up for c in clause_starts(toks, lo, hi)]
            if words[:1] != ["MATCH"] or any(w not in ("MATCH", "WHERE") for w in words) or words.count("MATCH") > 1:
                other = next((w for w in words[1:] if w != "WHERE"), words[0] if words else "nothing")
                raise Unsupported(
                    f"refused on the embedded store: {t.up} {{ … }} with {other}; LadybugDB reads a subquery of one "
                    "MATCH … WHERE …",
                    fix=f"{t.up} {{ MATCH (a)-[:T]->(b), (b)<-[:T]-(c) WHERE … }} (one MATCH, patterns joined by a "
                        "comma, the conditions in its WHERE), or run it on Neo4j (--store neo4j)")
    return out


def _subquery_call(toks: list[Tok], i: int) -> bool:
    """``CALL {`` or Neo4j 5's scoped ``CALL (a, b) {`` (not a procedure call ``CALL db.labels()``)."""
    if _brace_after(toks, i):
        return True
    if i + 1 < len(toks) and toks[i + 1].text == "(":
        end = closing(toks, i + 1)
        return end + 1 < len(toks) and toks[end + 1].text == "{"
    return False


def _comprehended_pattern(toks: list[Tok], i: int) -> bool:
    """A pattern comprehension starts at ``toks[i]`` (``[(a)-[:T]->(b) | …]``, also ``[p = (a)-->(b) | …]``)."""
    j = i + 1
    if j + 1 < len(toks) and toks[j].kind == "word" and toks[j + 1].text == "=":
        j += 2
    if j >= len(toks) or toks[j].text != "(":
        return False
    after = closing(toks, j) + 1
    return after < len(toks) and toks[after].text in ("-", "<-")
