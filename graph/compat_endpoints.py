"""An ``OPTIONAL MATCH`` along a relationship type that cannot start or end at its node's label.

``MATCH (c:City) OPTIONAL MATCH (c)-[:LOCATED_IN]->(d:City)`` can never match: ``LOCATED_IN`` goes from an
``Applicant`` to a ``City``. Neo4j returns every city with ``d`` null; LadybugDB (0.20.4 to 0.22.0, Kùzu
0.11.3 too) follows the relationships of the *applicant* stored at the city's position in its own table
and returns other cities (engine bug 9 of docs/cypher.md; on citynet's synthetic 3,000-patent workspace
325 of 337 cities got a "partner"). A plain ``MATCH`` of the same pattern is right (no row).

:func:`check` refuses such an ``OPTIONAL MATCH`` on the embedded store, naming the relationship's
endpoints; the fix is nearly always the arrow's direction or the label. Labels come from the pattern
itself, from where the variable was first bound with a label (``(c:City)`` anywhere before), or from the
relationships that bind it when they allow one label only (``(c:City)-[:CITED]-(d)``: ``d`` is a City);
endpoints from the declared schema (``cypher/schema.embedded.cypher``).

>>> check("MATCH (c:City) OPTIONAL MATCH (c)<-[:LOCATED_IN]-(a:Applicant) RETURN c, a")
>>> check("MATCH (c:City) OPTIONAL MATCH (c)-[:LOCATED_IN]->(d:City) RETURN c, d")
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the embedded store: OPTIONAL MATCH (c)-[:LOCATED_IN]->(d) can never match (LOCATED_IN goes from Applicant to City; c is a City, d is a City), so Neo4j gives null there, but LadybugDB would follow other nodes' relationships (docs/cypher.md, engine bug 9)
"""

from __future__ import annotations

import re
from functools import cache

from citynet.graph.compat import Tok, Unsupported, closing, is_clause, tokens


@cache
def endpoints() -> dict[str, list[tuple[str, str]]]:
    """Relationship type → its (FROM label, TO label) pairs, from the embedded schema's DDL."""
    from citynet import cypher

    out: dict[str, list[tuple[str, str]]] = {}
    for name, body in re.findall(r"REL TABLE (?:IF NOT EXISTS )?(\w+)\s*\((.*?)\);", cypher.text("schema", "embedded"),
                                 re.S):
        out[name] = re.findall(r"FROM\s+(\w+)\s+TO\s+(\w+)", body)
    return out


def _labels(toks: list[Tok]) -> dict[str, str]:
    """Variable → the first label it is written with in a pattern: ``(v:Label``."""
    out: dict[str, str] = {}
    for i in range(len(toks) - 3):
        if toks[i].text == "(" and toks[i + 1].kind == "word" and toks[i + 2].text == ":" \
                and toks[i + 3].kind == "word":
            out.setdefault(toks[i + 1].text, toks[i + 3].text)
    return out


def _hops(toks: list[Tok], bound: dict[str, str], optional_only: bool = False):
    """Each hop ``(a)-[:T]->(b)`` of every pattern of the query (``optional_only``: of its ``OPTIONAL MATCH``
    clauses): ((variable, label), types, direction, (variable, label)), labels as written or in ``bound``."""
    for s, t in enumerate(toks):
        if t.depth != 0 or t.up != "MATCH" or (optional_only and not (s and toks[s - 1].up == "OPTIONAL")):
            continue
        end = next((k for k in range(s + 1, len(toks)) if is_clause(toks, k)), len(toks))
        i, rel, prev = s + 1, None, None
        while i < end:
            if toks[i].text == "(":
                var, label, nxt = _node(toks, i, bound)
                if prev is not None and rel is not None:
                    yield prev, rel[0], rel[1], (var, label)
                prev, rel, i = (var, label), None, nxt
                continue
            got = _rel(toks, i, end) if prev is not None else None
            if got is not None:
                rel, i = (got[0], got[1]), got[2]
                continue
            if toks[i].text == ",":
                prev = None
            rel = None
            i += 1


def _known_labels(toks: list[Tok]) -> dict[str, str]:
    """Variable → its label: as first written (``(v:Label``), else the only one its relationships allow
    (``(c:City)-[:CITED]-(d)``: ``d`` is a City; LadybugDB binds it to that table, so an ``OPTIONAL MATCH``
    from it meets engine bug 9 as if the label were written)."""
    bound = _labels(toks)
    table = endpoints()
    for _ in range(4):  # a chain of unlabeled nodes: one more per pass
        grown = False
        for (a, la), types, direction, (b, lb) in list(_hops(toks, bound)):
            if not types or any(t not in table for t in types):
                continue
            pairs = [pair for t in types for pair in table[t]]
            ends = {">": pairs, "<": [(to, f) for f, to in pairs], "-": pairs + [(to, f) for f, to in pairs]}[direction]
            for var, label, options in ((a, la, {f for f, to in ends if lb in (None, to)}),
                                        (b, lb, {to for f, to in ends if la in (None, f)})):
                if var and label is None and len(options) == 1 and var not in bound:
                    bound[var] = next(iter(options))
                    grown = True
        if not grown:
            break
    return bound


def _node(toks: list[Tok], i: int, bound: dict[str, str]) -> tuple[str | None, str | None, int]:
    """(variable, label, index after) of the node pattern opening at ``toks[i]``."""
    close = closing(toks, i)
    var = toks[i + 1].text if i + 1 < close and toks[i + 1].kind == "word" else None
    k = i + (2 if var else 1)
    label = toks[k + 1].text if k + 1 < close and toks[k].text == ":" and toks[k + 1].kind == "word" else None
    return var, label or bound.get(var or ""), close + 1


def _rel(toks: list[Tok], i: int, end: int):
    """(types or None, direction '>' '<' '-', text, index after) of the relationship starting at ``toks[i]``, or
    None when none starts there."""
    left = toks[i].text
    if left not in ("-", "<-"):
        return None
    j, types = i + 1, None
    if j < end and toks[j].text == "[":
        close = closing(toks, j)
        inner = toks[j + 1:close]
        if any(t.text == "*" for t in inner):
            return None  # variable length: another refusal covers it
        names = [t.text for k, t in enumerate(inner) if t.kind == "word" and k and inner[k - 1].text in (":", "|")]
        types = names or None
        j = close + 1
    if j >= end or toks[j].text not in ("-", "->"):
        return None
    right = toks[j].text
    direction = "<" if left == "<-" else ">" if right == "->" else "-"
    return types, direction, j + 1


def _fits(types: list[str] | None, direction: str, a: str | None, b: str | None) -> bool:
    table = endpoints()
    for t in types or list(table):
        if t not in table:
            return True  # a type the schema does not declare: not this check's business
        for f, to in table[t]:
            forward = a in (None, f) and b in (None, to)
            backward = a in (None, to) and b in (None, f)
            if (direction == ">" and forward) or (direction == "<" and backward) or (direction == "-" and (forward or backward)):
                return True
    return False


def check(text: str, toks: list[Tok] | None = None) -> None:
    """Refuse (:class:`~citynet.graph.compat.Unsupported`) an ``OPTIONAL MATCH`` whose relationship cannot
    connect its nodes' labels (see the module docstring)."""
    toks = tokens(text) if toks is None else toks
    starts = [i for i, t in enumerate(toks) if t.depth == 0 and t.up == "OPTIONAL"
              and i + 1 < len(toks) and toks[i + 1].up == "MATCH"]
    if not starts:
        return
    for prev, types, direction, node in _hops(toks, _known_labels(toks), optional_only=True):
        if not _fits(types, direction, prev[1], node[1]):
            _refuse(prev, node, types, direction)


def _refuse(a, b, types, direction) -> None:
    arrow = {">": ("-", "->"), "<": ("<-", "-"), "-": ("-", "-")}[direction]
    shown_types = "|".join(types or [])
    rel = f"[:{shown_types}]" if shown_types else ""
    pattern = f"({a[0] or ''}){arrow[0]}{rel}{arrow[1]}({b[0] or ''})"
    table = endpoints()
    ends = "; ".join(f"{t} goes from {' or '.join(f for f, _ in table.get(t, []))} to "
                     f"{' or '.join(to for _, to in table.get(t, []))}" for t in (types or [])) \
        or "no relationship type joins these labels that way"
    which = ", ".join(f"{v} is {'an' if lab[0] in 'AEIOU' else 'a'} {lab}" for v, lab in (a, b) if v and lab)
    raise Unsupported(
        f"refused on the embedded store: OPTIONAL MATCH {pattern} can never match ({ends}; {which}), so Neo4j "
        "gives null there, but LadybugDB would follow other nodes' relationships (docs/cypher.md, engine bug 9)",
        fix="turn the arrow round or correct the label (docs/cypher.md lists each relationship's ends)")
