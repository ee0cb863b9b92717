"""Subqueries and comprehensions on the embedded store: written as LadybugDB reads them, or refused.

LadybugDB 0.20.4 reads ``EXISTS { MATCH … [WHERE …] }`` and ``COUNT { MATCH … [WHERE …] }`` as Neo4j does,
but not the rest of Neo4j 5's subquery forms; its parser stopped with a syntax error that sent the user
to correct valid Cypher ("Invalid input <COUNT { (>"). Checked against Neo4j 5.26 in
``tests/test_cypher_compat.py``:

- ``EXISTS { (a)-[:T]->(b) [WHERE …] }`` and ``COUNT { (a)-[:T]->(b) … }``, a pattern without ``MATCH``:
  written with ``MATCH`` (the same meaning on Neo4j).
- Properties written in a node pattern of a subquery (``(p:Patent {app_year: 2009})``) are moved to its
  ``WHERE``: where ``p`` is bound outside and the subquery is negated or compared in the outer ``WHERE``,
  LadybugDB applied them to the outer ``p`` (engine bug 22: ``WHERE p.app_year = 2008 AND NOT EXISTS { MATCH
  (p {app_year: 2009})<-[:CITES]-() }`` kept no patent); see :func:`_inline_properties`.
- A subquery whose ``WHERE`` reads a value from outside it (``WHERE p.grant_year IS NULL`` of the outer
  ``p``, a variable of ``WITH``/``UNWIND``) is refused: where that value is null, LadybugDB makes the whole
  ``WHERE`` false (engine bug 23), also for ``IS NULL`` and beside a true ``OR`` operand.
- The ``MATCH`` of a subquery keeps its relationships distinct as on Neo4j (``graph/compat.py`` applies
  relationship uniqueness to it: ``COUNT { MATCH (a)-[:APPLIED]->(p)<-[:APPLIED]-(b) }`` counted each
  applicant's own patents again, 2 and 5 for 1 and 1); see :func:`bodies`.
- Refused with the construct and a writing LadybugDB reads: ``CALL { … }`` and ``COLLECT { … }`` subqueries,
  an ``EXISTS``/``COUNT`` subquery with another clause than one ``MATCH … WHERE`` (``RETURN``, ``WITH``, a second
  ``MATCH``, ``UNION`` …), pattern comprehensions (``[(a)-[:APPLIED]->(p) | p.patent_id]``) and list
  comprehensions (``[x IN p.ipc WHERE x STARTS WITH 'H' | substring(x, 0, 4)]``: a syntax error, and
  ``[x IN l | …]`` "Variable x is not in scope"; LadybugDB's ``list_filter`` is no way round, engine bug 10).

>>> from citynet.graph.compat import tokens
>>> q = "MATCH (c:City) WHERE NOT EXISTS { (c)<-[:LOCATED_IN]-() } RETURN count(*)"
>>> edits(tokens(q), q)
[(34, 34, 'MATCH ')]
>>> q = "MATCH (p:P) WHERE NOT EXISTS { MATCH (p:P {year: 2009})<-[:CITES]-() } RETURN p"
>>> edits(tokens(q), q)
[(41, 54, ''), (69, 69, 'WHERE p.year = 2009 ')]
"""

from __future__ import annotations

from citynet.graph.compat import (
    Tok,
    Unsupported,
    arguments,
    clause_start,
    clause_starts,
    closing,
    membership,
    pattern_variables,
    subquery_brace,
)

_COUNTING = ("EXISTS", "COUNT")  # the subqueries LadybugDB reads (one MATCH … WHERE)


def _word(toks: list[Tok], i: int) -> str | None:
    """``EXISTS``, ``COUNT``, ``COLLECT`` or ``CALL`` where ``toks[i]`` is that word of a subquery (its brace
    follows, or for ``CALL (a) {`` its bracket), else None."""
    t = toks[i]
    if t.kind != "word" or (i and toks[i - 1].text == ".") or i + 1 >= len(toks):
        return None
    brace = closing(toks, i + 1) + 1 if t.up == "CALL" and toks[i + 1].text == "(" else i + 1
    return t.up if brace < len(toks) and subquery_brace(toks, brace) else None


def bodies(toks: list[Tok]) -> list[tuple[int, int]]:
    """The braces ``(open, close)`` of each ``EXISTS { … }`` and ``COUNT { … }`` subquery."""
    return [(i + 1, closing(toks, i + 1)) for i in range(len(toks)) if _word(toks, i) in _COUNTING]


def edits(toks: list[Tok], text: str) -> list[tuple[int, int, str]]:
    """``MATCH`` inserted before the bare pattern of an ``EXISTS``/``COUNT`` subquery; raises
    :class:`~citynet.graph.compat.Unsupported` for the forms LadybugDB cannot read (module docstring)."""
    out = []
    for i, t in enumerate(toks):
        word = _word(toks, i)
        if word == "CALL":
            raise Unsupported(
                "refused on the embedded store: a CALL { … } subquery; LadybugDB has none",
                fix="a count or a test per row: COUNT { MATCH … WHERE … } or EXISTS { MATCH … WHERE … } (as on "
                    "Neo4j); other values: OPTIONAL MATCH … WITH c, count(x) AS n, sum(…) …; or run it on Neo4j "
                    "(--store neo4j)")
        if word == "COLLECT":
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
        if word in _COUNTING:
            lo, hi = i + 1, closing(toks, i + 1)
            _check_outer_values(toks, lo, hi, t.up)
            out += _inline_properties(toks, lo, hi, text)
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


def counted(text: str) -> str:
    """Each ``COUNT { … }`` written ``CASE WHEN EXISTS { … } THEN COUNT { … } ELSE 0 END`` (the same value: no
    match is 0). LadybugDB 0.20.4 drops the outer rows without a match where the count is grouped, aggregated or
    filtered and the query reads no property of the outer node (engine bug 29): ``MATCH (c:City) RETURN COUNT {
    MATCH (c)<-[:LOCATED_IN]-(a:Applicant) WHERE a.kind = 'university' } AS u, count(*) AS n`` had no row of
    ``u = 0`` (Neo4j: 280 cities), ``WHERE COUNT { … } = 0 RETURN count(*)`` counted 0. With the ``EXISTS``
    beside it the rows are kept. A ``COUNT`` inside the subquery is written so too.

    >>> counted("MATCH (c:C) RETURN COUNT { MATCH (c)<--(a) } AS n")
    'MATCH (c:C) RETURN CASE WHEN EXISTS { MATCH (c)<--(a) } THEN COUNT { MATCH (c)<--(a) } ELSE 0 END AS n'
    """
    from citynet.graph.compat import tokens

    toks = tokens(text)
    out, pos, i = [], 0, 0
    while i < len(toks):
        if _word(toks, i) == "COUNT":
            close = closing(toks, i + 1)
            body = counted(text[toks[i + 1].end:toks[close].start])
            out.append(text[pos:toks[i].start]
                       + f"CASE WHEN EXISTS {{{body}}} THEN {toks[i].text} {{{body}}} ELSE 0 END")
            pos, i = toks[close].end, close + 1
            continue
        i += 1
    return "".join(out) + text[pos:]


def _outer_names(toks: list[Tok], lo: int, hi: int) -> tuple[set[str], set[str]]:
    """The variables bound outside the braces ``toks[lo]``, ``toks[hi]``: (pattern variables, other names: the
    aliases of ``WITH``/``UNWIND``/``RETURN``). A name bound only inside another subquery beside it (``COUNT { MATCH
    (c)<--(a) WHERE a.kind = … }, EXISTS { MATCH (c)<--(a) WHERE a.kind = … }``) is not outside: its own."""
    beside = [(a, b) for a, b in bodies(toks) if (a, b) != (lo, hi) and not (a < lo and hi < b)]
    outside = [t for k, t in enumerate(toks) if not lo <= k <= hi and not any(a <= k <= b for a, b in beside)]
    aliases = {outside[k + 1].text for k in range(len(outside) - 1)
               if outside[k].kind == "word" and outside[k].up == "AS" and outside[k + 1].kind in ("word", "bq")}
    return pattern_variables(outside), aliases


def _check_outer_values(toks: list[Tok], lo: int, hi: int, word: str) -> None:
    """Engine bug 23: a value from outside a subquery that is null (an outer node's property, a variable of
    ``WITH`` or ``UNWIND``), read in the subquery's ``WHERE``, makes that ``WHERE`` false for every row, also
    ``x IS NULL`` and ``x IS NULL OR …`` (``COUNT { MATCH (p)<-[:CITES]-(q) WHERE p.grant_year IS NULL }`` was 0
    for patents without a grant year). Refused where the ``WHERE`` reads one (the primary key of the outer
    node's label, never null, is read as written; ``a.city_code`` of an ``Applicant`` is not a key, and null for
    an unlocated one)."""
    from citynet.graph.compat_aggregates import label_keys

    where = next((c for c in clause_starts(toks, lo, hi) if toks[c].up == "WHERE"), None)
    if where is None:
        return
    keys = label_keys()
    nodes, scalars = _outer_names(toks, lo, hi)
    scalars -= pattern_variables(toks[lo + 1:where])  # a name the subquery's own pattern binds
    for j in range(where + 1, hi):
        t = toks[j]
        if t.kind != "word" or (j and toks[j - 1].text in (".", ":")) or (j + 1 < hi and toks[j + 1].text == "("):
            continue
        read = (t.text in nodes and j + 2 < hi and toks[j + 1].text == "." and toks[j + 2].kind == "word"
                and not _is_key(toks, lo, hi, t.text, toks[j + 2].text, keys)) or (
                    t.text in scalars and t.text not in nodes)
        if read:
            shown = f"{t.text}.{toks[j + 2].text}" if t.text in nodes else t.text
            raise Unsupported(
                f"refused on the embedded store: {word} {{ … WHERE … {shown} … }} reads {shown}, a value from outside "
                "the subquery; where it is null, LadybugDB makes the subquery's WHERE false for every row, also "
                f"{shown} IS NULL (docs/cypher.md, engine bug 23)",
                fix=f"test {shown} outside the subquery ({shown} IS NULL OR {word} {{ … }}), or write the condition "
                    f"in the subquery's pattern where it is a property ({{{toks[j + 2].text}: …}}) when it only "
                    "selects; or run it on Neo4j (--store neo4j)" if t.text in nodes else
                    f"test {shown} outside the subquery ({shown} IS NULL OR {word} {{ … }}); or run it on Neo4j "
                    "(--store neo4j)")


def _is_key(toks: list[Tok], lo: int, hi: int, var: str, prop: str, keys: dict[str, str]) -> bool:
    """``prop`` is the primary key of every label that ``var`` is written with outside the braces ``toks[lo]``,
    ``toks[hi]`` (``(n0:Applicant …)``), it has one, and a ``MATCH`` binds it (an ``OPTIONAL MATCH`` alone can
    leave it null, and its key with it)."""
    found = [k for k in range(len(toks) - 3)
             if not lo <= k <= hi and toks[k].text == "(" and toks[k + 1].text == var and toks[k + 2].text == ":"]
    labels = {toks[k + 3].text for k in found}
    return bool(labels) and all(keys.get(label) == prop for label in labels) and any(
        _in_match(toks, k) for k in found)


def _in_match(toks: list[Tok], k: int) -> bool:
    """``toks[k]`` is in a ``MATCH`` clause, not an ``OPTIONAL MATCH``."""
    j = clause_start(toks, k)
    return j >= 0 and toks[j].up == "MATCH" and not (j and toks[j - 1].up == "OPTIONAL")


def _inline_properties(toks: list[Tok], lo: int, hi: int, text: str) -> list[tuple[int, int, str]]:
    """The properties written in a node pattern of the subquery between the braces ``toks[lo]``, ``toks[hi]``
    (``(p:Patent {app_year: 2009})``), moved to its ``WHERE`` (``p.app_year = 2009``, the same on Neo4j).
    Engine bug 22: where ``p`` is bound outside and the subquery is negated or compared in the outer ``WHERE``
    (``WHERE … AND NOT EXISTS { MATCH (p {app_year: 2009})<-[:CITES]-() }``), LadybugDB applies the properties
    to the outer ``p`` and keeps no row."""
    clauses = clause_starts(toks, lo, hi)
    where = next((c for c in clauses if toks[c].up == "WHERE"), None)
    stop = where if where is not None else hi
    out, preds = [], []
    for j in range(lo + 1, stop):
        var = _node_variable(toks, j)
        if var is None:
            continue
        close = closing(toks, j)
        for a, b in arguments(toks, j):
            if b > a + 2 and toks[a].kind in ("word", "bq") and toks[a + 1].text == ":":
                value = text[toks[a + 2].start:toks[b - 1].end]
                preds.append(f"{var}.{toks[a].text} = {value if b == a + 3 else f'({value})'}")
        out.append((toks[j - 1].end, toks[close].end, ""))
    if not preds:
        return []
    if where is not None:
        end = toks[hi].start
        return [*out, (toks[where].end, toks[where].end, f" {' AND '.join(preds)} AND ("), (end, end, ") ")]
    return [*out, (toks[hi].start, toks[hi].start, f"WHERE {' AND '.join(preds)} ")]


def _node_variable(toks: list[Tok], j: int) -> str | None:
    """The variable of the node pattern whose property map opens at ``toks[j]`` (``(p:Patent {``), or None (an
    anonymous node, a relationship's map, a map literal)."""
    if toks[j].text != "{" or not j:
        return None
    k = j - 1
    while k >= 2 and toks[k].kind in ("word", "bq") and toks[k - 1].text == ":":  # labels
        k -= 2
    if k >= 1 and toks[k].kind in ("word", "bq") and toks[k - 1].text == "(" and toks[k].up not in _COUNTING:
        return toks[k].text
    return None


def _comprehended_pattern(toks: list[Tok], i: int) -> bool:
    """A pattern comprehension starts at ``toks[i]`` (``[(a)-[:T]->(b) | …]``, also ``[p = (a)-->(b) | …]``)."""
    j = i + 1
    if j + 1 < len(toks) and toks[j].kind == "word" and toks[j + 1].text == "=":
        j += 2
    if j >= len(toks) or toks[j].text != "(":
        return False
    after = closing(toks, j) + 1
    return after < len(toks) and toks[after].text in ("-", "<-")
