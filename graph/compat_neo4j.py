"""Queries Neo4j 5.26 itself answers against Cypher's meaning: refused on the Neo4j store, with a writing it
answers right (the embedded store, and DuckDB over the canonical tables, give the right rows).

- **``XOR`` in a query that tests membership with ``IN``** (Neo4j bug 1 of docs/cypher.md). Neo4j's planner
  merges the ``IN`` predicates of one variable within a boolean expression (``k IN ['a'] AND k IN ['b']``
  → ``k IN []``) and does so across an ``XOR`` as if it were ``AND`` or ``OR``:
  ``UNWIND ['firm', 'individual'] AS k RETURN k, k IN ['firm'] AND (true XOR k IN ['individual']) AS b`` is
  false for ``'firm'`` (``true AND (true XOR false)``), and ``MATCH (a:Applicant) WHERE a.kind IN ['firm']
  AND (a.applicant_id <> 'x' XOR a.kind IN ['individual'])`` finds no applicant where every firm should be
  found. Found by the differential harness (bench/cypher_harness.py, seed 2026120602); the same query with
  ``=`` in place of ``IN``, or with ``(a OR b) AND NOT (a AND b)`` in place of ``a XOR b``, is answered
  right. A query with an ``XOR`` that tests one term with ``IN`` twice is refused.

>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] RETURN count(*)")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (a.city_code IS NULL XOR a.kind = 'x') RETURN a")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (true XOR a.city_code IN ['x']) RETURN a")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (true XOR a.kind IN ['x']) RETURN a")
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the Neo4j store: XOR in a query that tests a.kind with IN twice; Neo4j 5.26 merges the IN tests across the XOR and answers wrongly (docs/cypher.md, Neo4j bug 1)
"""

from __future__ import annotations

from citynet.graph.compat import Tok, Unsupported, tokens


def _membership(toks: list[Tok], i: int) -> bool:
    """``toks[i]`` (``IN``) tests membership: not the ``x IN list`` of a list comprehension or quantifier."""
    return not (i >= 2 and toks[i - 1].kind == "word" and toks[i - 2].text in ("[", "("))


def _operand(toks: list[Tok], i: int) -> str:
    """The text of the term before ``toks[i]``: ``a.kind`` or ``k`` (else the token before it)."""
    if i >= 3 and toks[i - 2].text == "." and toks[i - 3].kind == "word":
        return f"{toks[i - 3].text}.{toks[i - 1].text}"
    return toks[i - 1].text if i else ""


def check(text: str) -> None:
    """Refuse (:class:`~citynet.graph.compat.Unsupported`) a query Neo4j 5.26 answers wrongly (see the module
    docstring): an ``XOR`` in a query where one term is tested with ``IN`` twice."""
    toks = tokens(text)
    if not any(t.kind == "word" and t.up == "XOR" for t in toks):
        return
    tested = [_operand(toks, i) for i, t in enumerate(toks) if t.kind == "word" and t.up == "IN" and _membership(toks, i)]
    twice = sorted({x for x in tested if tested.count(x) > 1})
    if twice:
        raise Unsupported(
            f"refused on the Neo4j store: XOR in a query that tests {twice[0]} with IN twice; Neo4j 5.26 merges "
            "the IN tests across the XOR and answers wrongly (docs/cypher.md, Neo4j bug 1)",
            fix="write a XOR b as (a OR b) AND NOT (a AND b), which Neo4j answers right, or run it on the "
                "embedded store")
