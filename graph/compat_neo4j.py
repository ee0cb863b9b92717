"""Queries Neo4j 5.26 itself answers against Cypher's meaning: refused on the Neo4j store, with a writing it
answers right (the embedded store, and DuckDB over the canonical tables, give the right rows).

- **A term tested with ``IN`` twice, once inside another expression** (Neo4j bug 1 of docs/cypher.md).
  Neo4j's planner merges the ``IN`` tests of one term within a boolean expression (``k IN ['a'] AND
  k IN ['b']`` → ``k IN []``, right there), and also reaches the ``IN`` tests nested in an ``XOR``, a
  comparison, a ``CASE``, a function or a list, as if they were conjuncts:
  ``UNWIND ['firm', 'individual'] AS k RETURN k, k IN ['firm'] AND (true XOR k IN ['individual']) AS b`` is
  false for ``'firm'`` (``true AND (true XOR false)``), and so are ``k IN ['firm'] AND ((k IN ['individual'])
  = false)``, ``… AND CASE WHEN k IN ['individual'] THEN false ELSE true END`` and ``… AND coalesce(k IN
  ['individual'], true) = false``; ``MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (a.applicant_id <> 'x'
  XOR a.kind IN ['individual'])`` finds no applicant where every firm should be found. Found by the
  differential harness (bench/cypher_harness.py, seed 2026120602). Tests joined by ``AND``/``OR`` or under
  ``NOT`` alone are answered right, and so is the nested test written with ``=`` (``k = 'individual'``). A
  query that tests one term with ``IN`` twice, one of them nested, is refused; a subquery's ``WHERE``
  (``EXISTS { … }``, ``COUNT { … }``) is a scope of its own, as Neo4j answers the tests across its braces right.

>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] RETURN count(*)")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (a.city_code IS NULL XOR a.kind = 'x') RETURN a")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (true XOR a.city_code IN ['x']) RETURN a")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm', 'x'] AND NOT (a.kind IN ['x']) OR a.kind IN $k RETURN a")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND EXISTS { MATCH (a)--() WHERE a.kind IN ['x'] } RETURN a")
>>> check("MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (true XOR a.kind IN ['x']) RETURN a")
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the Neo4j store: a.kind is tested with IN twice, once inside another expression (XOR, a comparison, CASE, a function or a list); Neo4j 5.26 merges the two tests and answers wrongly (docs/cypher.md, Neo4j bug 1)
"""

from __future__ import annotations

from citynet.graph.compat import (
    CLAUSES,
    Tok,
    Unsupported,
    closing,
    enclosing_subquery,
    membership,
    subquery_brace,
    tokens,
)


def _term_start(toks: list[Tok], i: int) -> int:
    """Where the term before ``toks[i]`` starts: ``a.kind`` or ``k`` (else the token before it)."""
    return i - 3 if i >= 3 and toks[i - 2].text == "." and toks[i - 3].kind == "word" else i - 1


_BEFORE = {"AND", "OR", "NOT", "WHERE", "RETURN", "WITH", "DISTINCT"}  # what may stand around a test that Neo4j
_AFTER = {"AND", "OR", "AS"}                                           # merges right (a conjunct or disjunct)


def _nested(toks: list[Tok], i: int) -> bool:
    """The membership test at ``toks[i]`` is a part of another expression (an ``XOR``, a comparison, a ``CASE``,
    a function, a list), not a conjunct or disjunct, possibly in brackets, of the query's boolean expression."""
    lo = _term_start(toks, i)
    hi = closing(toks, i + 1) if i + 1 < len(toks) and toks[i + 1].text in ("[", "(") else i + 1
    while True:
        before = toks[lo - 1] if lo else None
        after = toks[hi + 1] if hi + 1 < len(toks) else None
        group = before is not None and before.text == "(" and after is not None and after.text == ")" \
            and closing(toks, lo - 1) == hi + 1
        if not (before is None or before.up in _BEFORE or before.text == "(" or (before.text == "," and before.depth == 0)):
            return True
        if not (after is None or after.up in _AFTER | CLAUSES or after.text in (")", ";")
                or (after.text == "," and after.depth == 0)):
            return True
        opener = next((k for k in range(lo - 1, -1, -1) if toks[k].depth < toks[lo].depth), None)
        if opener is None or subquery_brace(toks, opener):
            return False  # the top of the expression (of the query or of a subquery's WHERE)
        if toks[opener].text != "(" or (opener and toks[opener - 1].kind == "word"
                                         and toks[opener - 1].up not in _BEFORE | {"XOR"}):
            return True  # a list, a map or a call's argument
        if not group and (before.text == "(" and after.text == ")"):
            return True
        lo, hi = opener, closing(toks, opener)  # the bracket as one operand of what holds it


def check(text: str) -> None:
    """Refuse (:class:`~citynet.graph.compat.Unsupported`) a query Neo4j 5.26 answers wrongly (see the module
    docstring): one term tested with ``IN`` twice, one of the tests nested in another expression."""
    toks = tokens(text)
    # (term, scope) → its IN tests: Neo4j merges the IN tests of one scope only; across a subquery's braces it
    # answers right (k IN ['firm'] AND EXISTS { … WHERE (true XOR k IN ['individual']) } is true for 'firm')
    tests: dict[tuple[str, int], list[int]] = {}
    for i, t in enumerate(toks):
        if t.kind == "word" and t.up == "IN" and membership(toks, i):
            tests.setdefault(("".join(t.text for t in toks[_term_start(toks, i):i]), enclosing_subquery(toks, i)),
                           []).append(i)
    for (term, _), where in sorted(tests.items()):
        if len(where) > 1 and any(_nested(toks, i) for i in where):
            raise Unsupported(
                f"refused on the Neo4j store: {term} is tested with IN twice, once inside another expression "
                "(XOR, a comparison, CASE, a function or a list); Neo4j 5.26 merges the two tests and answers "
                "wrongly (docs/cypher.md, Neo4j bug 1)",
                fix=f"write the inner test without IN ({term} = 'a' OR {term} = 'b'), or a XOR b as (a OR b) AND "
                    "NOT (a AND b), which Neo4j answers right; or run it on the embedded store")
