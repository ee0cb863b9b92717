"""Nulls and empty values that LadybugDB treats otherwise than Neo4j: rewritten or refused.

Each of these gave a silent different answer (or ended the process) on the embedded store, checked
against Neo4j 5.26 in ``tests/test_cypher_compat.py``:

- ``s CONTAINS ''``: true for every text on Neo4j, false on LadybugDB (``WHERE c.name_zh CONTAINS $q``
  with an empty ``$q`` found no city instead of all) → ``s STARTS WITH ''``, which both engines answer
  as Neo4j's ``CONTAINS ''`` (true for a text, null for null). Rewritten for a literal ``''`` and for a
  parameter whose value is ``''``.
- ``x IN [1, null]`` where ``x`` is not in the list: null on Neo4j, false on LadybugDB (it passes over the
  null values), so ``WHERE NOT c.city_code IN ['110000', null]`` kept 336 cities where Neo4j keeps none, and
  ``NOT c.city_code IN [a.city_code, b.city_code]`` kept the rows of an applicant without a city. Where ``x``
  and the values that can be null are variables, properties, literals or parameters, the membership becomes
  ``CASE WHEN x IN [...] THEN true WHEN x IS NULL OR a.city_code IS NULL … THEN NULL ELSE false END``
  (``CASE WHEN x IN [...] THEN true END`` when a null is written, or in the list parameter); a null written
  or given with another ``x`` (``2 * x IN [1, null]``) is refused, and a list of other expressions that can
  be null (``x IN [toLower(a.name)]``) is left as it is.
- ``replace(s, '', t)``: Neo4j puts ``t`` before, between and after every character, LadybugDB returns
  ``s``. Refused.
- A node or relationship as the value of ``CASE … THEN n … END`` or ``coalesce(n, …)`` (engine bug 11,
  LadybugDB 0.20.4 and 0.21.2, Kùzu 0.11.3): where the expression is null, its properties read as ``''``
  and its ``id()`` is not null, so ``count(x.name_zh)`` counted every row. Refused; the fix takes the
  property inside the expression (``CASE WHEN … THEN c.name_zh END``).
- ``keys(n)``: LadybugDB lists every property of the label, also those the node does not have (null),
  Neo4j only those it has. Refused with the test that asks the question (``n.grant_date IS NOT NULL``).
- ``properties(n)``: LadybugDB's map holds the null properties too. Returned whole by the last ``RETURN``
  it is written as ``n``, which ``citynet query`` prints as Neo4j prints ``properties(n)``: the
  properties that are set; anywhere else it is refused.
- ``id(null)`` ends LadybugDB's process (all versions tried): refused.
- ``x IN []`` is false on Neo4j also for a null ``x``, null on LadybugDB → ``coalesce(x IN [], false)``
  (an empty list written, or a parameter that is one).
- ``a + b`` of texts where one is null: null on Neo4j, the other text on LadybugDB (a null text is ``''``
  there), so ``c.name_zh + '–' + d.name_zh`` of a city without partner gave ``'北京市–'``. A chain of ``+``
  with a text term (a text literal or parameter, a text property, a text function), a ``null``, or only
  terms whose type the query does not show (``x + y`` of ``WITH`` variables; numbers already give null on
  LadybugDB, so a chain with a number is left as it is) becomes
  ``CASE WHEN t1 IS NULL OR … THEN NULL ELSE <the chain> END`` over its terms that can be null
  (:func:`concat_edits`).

>>> edits_for("MATCH (c:City) WHERE c.name_zh CONTAINS $q RETURN properties(c)", {"q": ""})
[(31, 39, 'STARTS WITH'), (50, 63, 'c')]
"""

from __future__ import annotations

from citynet.graph.compat import (
    CLAUSES,
    Tok,
    Unsupported,
    arguments,
    clause_starts,
    closing,
    is_clause,
    membership,
    pattern_variables,
    tokens,
)
from citynet.graph.compat_types import property_kinds

Edit = tuple[int, int, str]


def _is_empty_text(tok: Tok, params: dict) -> bool:
    """``tok`` is the literal ``''`` / ``""`` or a parameter whose value is ``''``."""
    if tok.kind == "str":
        return len(tok.text) == 2
    return tok.kind == "param" and params.get(tok.text[1:]) == ""


def _call(toks: list[Tok], i: int, name: str) -> bool:
    return toks[i].kind == "word" and toks[i].up == name and i + 1 < len(toks) and toks[i + 1].text == "(" \
        and not (i and toks[i - 1].text == ".")


def _list_with_null(toks: list[Tok], i: int, params: dict, text: str) -> str | None:
    """The list after ``IN`` at ``toks[i]`` when it holds a null: its text (a parameter: its name)."""
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if nxt is None:
        return None
    if nxt.kind == "param":
        value = params.get(nxt.text[1:])
        return nxt.text if isinstance(value, list | tuple) and any(v is None for v in value) else None
    if nxt.text != "[":
        return None
    close = closing(toks, i + 1)
    for j in range(i + 2, close):
        t = toks[j]
        if t.depth == nxt.depth + 1 and t.kind == "word" and t.up == "NULL" \
                and toks[j - 1].text in ("[", ",") and toks[j + 1].text in (",", "]"):
            return text[nxt.start:toks[close].end]
    return None


def _simple(toks: list[Tok], lo: int, hi: int) -> bool:
    """``toks[lo:hi]`` is a variable, a property of one (``a.city_code``), a literal or a parameter: a term that
    can be written twice in a rewrite and means the same."""
    if hi == lo + 1:
        return toks[lo].kind in ("str", "num", "param") or (toks[lo].kind == "word" and toks[lo].up not in _NOT_A_TERM)
    return hi == lo + 3 and toks[lo].kind == "word" and toks[lo + 1].text == "." and toks[lo + 2].kind == "word"


def _never_null(toks: list[Tok], lo: int, hi: int, params: dict) -> bool:
    t = toks[lo]
    return hi == lo + 1 and (t.kind in ("str", "num") or t.up in ("TRUE", "FALSE")
                             or (t.kind == "param" and params.get(t.text[1:]) is not None))


def _in_list_edits(toks: list[Tok], i: int, params: dict, text: str) -> list[Edit] | None:
    """Neo4j's ``x IN list`` where the list holds or can hold a null: true where ``x`` equals one of its values,
    null where it does not and a value (or ``x``) is null, false otherwise. LadybugDB's membership test reads a
    null value as whatever its slot held (engine bug 18: ``0 IN [1, null]`` is true, and
    ``2016 IN [p.grant_year, 2015]`` was true for 264 of 4,352 patents without a grant year), so it is not used
    on such a list. Where ``x`` is a simple term (:func:`_simple`):

    - a written list ``[e1, …, en]`` with a value that can be null → ``(x = (e1) OR … OR x = (en))``, which is
      Neo4j's meaning of ``IN`` value by value (the comparisons keep their nulls on LadybugDB);
    - a list parameter holding a null → ``CASE WHEN x IS NULL THEN NULL WHEN x IN list_filter($p, v -> v IS
      NOT NULL) THEN true END`` (the list without its nulls; never false, as a null is in it).

    Returns the edits at ``toks[i]`` (``IN``), or None where there is nothing to do or it cannot be."""
    start = _term_start(toks, i)
    if start is None or not _simple(toks, start, i) or i + 1 >= len(toks):
        return None
    x = text[toks[start].start:toks[i - 1].end]
    nxt = toks[i + 1]
    if nxt.kind == "param":
        value = params.get(nxt.text[1:])
        if not (isinstance(value, list | tuple) and any(v is None for v in value)):
            return None
        guard = "" if _never_null(toks, start, i, params) else f"WHEN {x} IS NULL THEN NULL "
        return [(toks[start].start, toks[start].start, f"CASE {guard}WHEN "),
                (nxt.start, nxt.end, f"list_filter({nxt.text}, {_LAMBDA} -> {_LAMBDA} IS NOT NULL) THEN true END")]
    if nxt.text != "[" or i + 2 >= len(toks) or toks[i + 2].text == "]":
        return None  # (a query cut after "IN [" is the engine's syntax error)
    close = closing(toks, i + 1)
    if close >= len(toks) or (close + 1 < len(toks) and toks[close + 1].text in _TIGHTER | {"+", "["}):
        return None  # the list is an operand of something else
    values = arguments(toks, i + 1)
    if all(_never_null(toks, lo, hi, params) for lo, hi in values):
        return None
    edits = [(toks[start].start, toks[start].start, "("), (toks[i].start, nxt.end, "= (")]
    edits += [(toks[hi].start, toks[hi + 1].start, f") OR {x} = (") for _, hi in values[:-1]]
    return [*edits, (toks[close].start, toks[close].end, "))")]


_LAMBDA = "_citynet_v"  # the variable of the list_filter above (not a name a query of citynet's schema uses)


def _empty_list_at(toks: list[Tok], k: int, params: dict) -> bool:
    """``toks[k]`` starts the empty list ``[]`` or is a parameter whose value is an empty list."""
    if k >= len(toks):
        return False
    if toks[k].kind == "param":
        value = params.get(toks[k].text[1:])
        return isinstance(value, list | tuple) and not value
    return toks[k].text == "[" and k + 1 < len(toks) and toks[k + 1].text == "]"


def _term_start(toks: list[Tok], i: int) -> int | None:
    """The first token of the operand that ends just before ``toks[i]`` (the longest term that does)."""
    for j in range(i - 1, -1, -1):
        if toks[j].depth < toks[i].depth:
            break
    else:
        j = -1
    for k in range(j + 1, i):
        if toks[k].depth == toks[i].depth and _term_end(toks, k) == i:
            return None if k and toks[k - 1].text in _TIGHTER | {"+"} else k  # (a + x IN []: not x alone)
    return None


def _node_results(toks: list[Tok], i: int, variables: set[str]) -> str | None:
    """The node or relationship variable that is a value of the ``CASE`` at ``toks[i]`` (after one of its own
    ``THEN`` or ``ELSE``; a ``CASE`` inside it is checked on its own), or None."""
    depth, level = toks[i].depth, 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.depth != depth or t.kind != "word":
            continue
        level += (t.up == "CASE") - (t.up == "END")
        if level == 0:
            return None
        if level == 1 and t.up in ("THEN", "ELSE") and j + 2 < len(toks) and toks[j + 1].text in variables \
                and toks[j + 2].depth == depth and toks[j + 2].up in ("WHEN", "ELSE", "END"):
            return toks[j + 1].text
    return None


def _whole_final_item(toks: list[Tok], i: int, clauses: list[int]) -> bool:
    """``toks[i:i + 4]`` (``properties ( v )``) is a whole item of the query's last ``RETURN``."""
    returns = [c for c in clauses if toks[c].up == "RETURN"]
    if not returns or i < returns[-1] or any(c > returns[-1] and toks[c].up in ("UNION",) for c in clauses):
        return False
    before, after = toks[i - 1], toks[i + 4] if i + 4 < len(toks) else None
    starts = before.up in ("RETURN", "DISTINCT", ",") and before.depth == 0
    ends = after is None or (after.depth == 0 and (after.up in (",", "AS", ";") or is_clause(toks, i + 4)))
    return starts and ends


def edits_for(text: str, params: dict | None = None, toks: list[Tok] | None = None) -> list[Edit]:
    """The rewrites of ``CONTAINS ''`` and of a returned ``properties(n)`` (see the module docstring);
    raises :class:`~citynet.graph.compat.Unsupported` for what is refused."""
    params = params or {}
    toks = tokens(text) if toks is None else toks
    variables = pattern_variables(toks)
    clauses = clause_starts(toks)
    edits: list[Edit] = []
    for i, t in enumerate(toks):
        if t.kind != "word":
            continue
        if t.up == "CONTAINS" and i + 1 < len(toks) and _is_empty_text(toks[i + 1], params):
            edits.append((t.start, t.end, "STARTS WITH"))
        elif t.up == "IN" and membership(toks, i) and _empty_list_at(toks, i + 1, params) \
                and (start := _term_start(toks, i)) is not None:  # Neo4j: x IN [] is false, also for a null x
            end = toks[i + 1].end if toks[i + 1].kind == "param" else toks[i + 2].end
            edits += [(toks[start].start, toks[start].start, "coalesce("), (end, end, ", false)")]
        elif t.up == "IN" and membership(toks, i) and (written := _in_list_edits(toks, i, params, text)):
            edits += written
        elif t.up == "IN" and membership(toks, i) and (listed := _list_with_null(toks, i, params, text)):
            raise Unsupported(
                f"refused on the embedded store: IN {listed} holds a null; where the value is not in the list Neo4j "
                "answers null and LadybugDB false, so NOT … IN keeps rows on one store and not on the other",
                fix="leave the null out of the list (a null is never equal to anything), or test it apart: "
                    "x IS NULL OR x IN [...]")
        elif t.up == "CASE" and (var := _node_results(toks, i, variables)):
            raise _null_node(f"CASE … THEN {var} … END")
        elif _call(toks, i, "COALESCE") and (var := next(
                (toks[lo].text for lo, hi in arguments(toks, i + 1) if hi == lo + 1 and toks[lo].text in variables),
                None)):
            raise _null_node(f"coalesce({var}, …)")
        elif _call(toks, i, "REPLACE") and len(args := arguments(toks, i + 1)) == 3 \
                and args[1][1] == args[1][0] + 1 and _is_empty_text(toks[args[1][0]], params):
            raise Unsupported(
                "refused on the embedded store: replace(…, '', …) replaces the empty text; Neo4j inserts the "
                "replacement around every character, LadybugDB returns the text unchanged",
                fix="replace a non-empty text, or run it on Neo4j (--store neo4j)")
        elif _call(toks, i, "ID") and i + 3 < len(toks) and toks[i + 2].up == "NULL" and toks[i + 3].text == ")":
            raise Unsupported("refused on the embedded store: id(null) ends LadybugDB's process (Neo4j: null)",
                              fix="leave it out: the id of nothing is null")
        elif _call(toks, i, "KEYS") and i + 3 < len(toks) and toks[i + 2].text in variables \
                and toks[i + 3].text == ")":
            v = toks[i + 2].text
            raise Unsupported(
                f"refused on the embedded store: keys({v}) lists every property of the label there, also those "
                f"{v} does not have (null); Neo4j lists only those it has",
                fix=f"ask for the property itself ({v}.grant_date IS NOT NULL), or return properties({v}) whole "
                    "(printed without the null ones on both stores)")
        elif _call(toks, i, "PROPERTIES") and i + 3 < len(toks) and toks[i + 2].text in variables \
                and toks[i + 3].text == ")":
            v = toks[i + 2].text
            if not _whole_final_item(toks, i, clauses):
                raise Unsupported(
                    f"refused on the embedded store: properties({v}) inside an expression; LadybugDB's map holds the "
                    f"properties {v} does not have (as null), Neo4j's only those it has",
                    fix=f"read the property itself ({v}.grant_date), or return properties({v}) as a whole column "
                        "of the last RETURN")
            edits.append((t.start, toks[i + 3].end, v))
    return edits


def _null_node(construct: str) -> Unsupported:
    return Unsupported(
        f"refused on the embedded store: {construct} has a node or relationship as its value; where it is null, "
        "LadybugDB 0.20 reads its properties as '' and gives it an id (docs/cypher.md, engine bug 11), so "
        "counts and filters of its properties would differ from Neo4j's",
        fix="take the property inside the expression (CASE WHEN … THEN c.name_zh END, coalesce(a.name, b.name)), "
            "or run it on Neo4j (--store neo4j)")


_NOT_A_TERM = CLAUSES | {"AND", "OR", "XOR", "NOT", "IN", "AS", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT",
                         "IS", "STARTS", "ENDS", "CONTAINS", "BY", "ASC", "DESC"}
_TIGHTER = {"*", "/", "%", "^", "-", "."}  # an operator next to a chain that makes it not one of + alone
_TEXT_CALLS = {"TOLOWER", "TOUPPER", "LOWER", "UPPER", "TRIM", "LTRIM", "RTRIM", "SUBSTRING", "REPLACE", "LEFT",
               "RIGHT", "CONCAT"}
_NEVER_NULL_CALLS = {"COUNT", "SUM", "COLLECT", "SIZE"}  # (sum, collect: coalesced by graph/compat.py)


def _term_end(toks: list[Tok], j: int) -> int | None:
    """The index after the operand of ``+`` that starts at ``toks[j]`` (a literal, parameter, variable,
    property, call or bracket, with its positions and properties), or None."""
    t, n = toks[j], len(toks)
    if t.kind in ("str", "num", "param", "bq"):
        k = j + 1
    elif t.kind == "word" and t.up == "CASE":
        k = _case_end(toks, j) + 1
        if k > n:
            return None
    elif t.kind == "word" and t.up not in _NOT_A_TERM:
        k = closing(toks, j + 1) + 1 if j + 1 < n and toks[j + 1].text == "(" else j + 1
    elif t.text in ("(", "["):
        k = closing(toks, j) + 1
    else:
        return None
    while k < n and (toks[k].text == "[" or (toks[k].text == "." and k + 1 < n and toks[k + 1].kind == "word")):
        k = closing(toks, k) + 1 if toks[k].text == "[" else k + 2
    return k


def _case_end(toks: list[Tok], i: int) -> int:
    """The index of the ``END`` of the ``CASE`` at ``toks[i]`` (past the end when there is none)."""
    level = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.depth == toks[i].depth and t.kind == "word":
            level += (t.up == "CASE") - (t.up == "END")
            if level == 0:
                return j
    return len(toks)


def _term_kind(toks: list[Tok], lo: int, hi: int, params: dict) -> str:
    """``text`` (certainly a text), ``number`` (a number literal or numeric property), ``null`` (the literal),
    ``never`` (never null: a given parameter that is no text, a count) or ``other``."""
    t = toks[lo]
    if hi == lo + 1 and t.kind == "str":
        return "text"
    if hi == lo + 1 and t.kind == "param":
        value = params.get(t.text[1:])
        return "text" if isinstance(value, str) else "never" if value is not None else "other"
    if hi == lo + 1 and t.kind == "num":
        return "number"
    if hi == lo + 1 and t.up == "NULL":
        return "null"
    if hi == lo + 3 and toks[lo + 1].text == ".":
        kind = property_kinds().get(toks[lo + 2].text)
        return "text" if kind == "text" else "number" if kind in ("integer", "number") else "other"
    if t.kind == "word" and t.up == "CASE" and _case_end(toks, lo) == hi - 1:  # a text when a branch is one
        branches = [toks[k + 1] for k in range(lo, hi - 1) if toks[k].depth == t.depth and toks[k].up in ("THEN", "ELSE")]
        return "text" if any(b.kind == "str" for b in branches) else "other"
    if t.kind == "word" and lo + 1 < hi and toks[lo + 1].text == "(" and closing(toks, lo + 1) == hi - 1:
        return "text" if t.up in _TEXT_CALLS else "never" if t.up in _NEVER_NULL_CALLS else "other"
    if t.text == "(" and closing(toks, lo) == hi - 1:  # a bracket: a text when it joins a text
        inner = [k for k in range(lo + 1, hi - 1) if toks[k].depth == t.depth + 1]
        plus = [k for k in inner if toks[k].text == "+"]
        starts = [lo + 1] + [k + 1 for k in plus]
        ends = plus + [hi - 1]
        if plus and all(_term_end(toks, a) == b for a, b in zip(starts, ends, strict=True)):
            return "text" if any(_term_kind(toks, a, b, params) == "text" for a, b in zip(starts, ends, strict=True)) \
                else "other"
    if t.text == "[" and hi > closing(toks, lo) + 1:  # a position of a written list of texts
        items = [toks[k] for k in range(lo + 1, closing(toks, lo)) if toks[k].depth == t.depth + 1 and toks[k].text != ","]
        return "text" if items and all(x.kind == "str" for x in items) else "other"
    return "other"


def concat_edits(text: str, params: dict | None = None, toks: list[Tok] | None = None) -> list[Edit]:
    """Insertions that make a ``+`` of texts null where a term is null, as on Neo4j (see the module docstring).
    Only insertions, at the chain's two ends, so that the other rewrites inside it stay in place.

    >>> q = "RETURN c.name_zh + '-' + d.name_zh AS pair"
    >>> e = concat_edits(q)
    >>> q[:e[0][0]] + e[0][2] + q[e[0][0]:e[1][0]] + e[1][2] + q[e[1][0]:]
    "RETURN CASE WHEN c.name_zh IS NULL OR d.name_zh IS NULL THEN NULL ELSE c.name_zh + '-' + d.name_zh END AS pair"
    """
    params = params or {}
    toks = tokens(text) if toks is None else toks
    chains: list[tuple[int, int, list[tuple[int, int]]]] = []  # (start, end, spans of the terms that can be null)
    for j in range(len(toks)):
        before = toks[j - 1] if j else None
        if before is not None and (before.text in _TIGHTER | {"+"} or (toks[j].text in ("(", "[") and (
                before.text in (")", "]") or before.kind in ("str", "param", "bq")
                or (before.kind == "word" and before.up not in _NOT_A_TERM)))):
            continue  # inside a chain, or the bracket of a call or a position
        end = _term_end(toks, j)
        terms = [(j, end)] if end is not None else []
        while end is not None and end < len(toks) and toks[end].text == "+" and toks[end].depth == toks[j].depth:
            nxt = _term_end(toks, end + 1) if end + 1 < len(toks) else None
            if nxt is None:
                terms = []
                break
            terms.append((end + 1, nxt))
            end = nxt
        if len(terms) < 2 or (end < len(toks) and toks[end].text in _TIGHTER):
            continue
        kinds = [_term_kind(toks, lo, hi, params) for lo, hi in terms]
        unknown = all(k in ("other", "null") for k in kinds)  # variables of a type not shown: a text may be one
        if not ("text" in kinds or "null" in kinds or unknown) or "number" in kinds \
                or any(toks[lo].text == "[" and closing(toks, lo) == hi - 1 for lo, hi in terms):
            continue
        nullable = [(toks[lo].start, toks[hi - 1].end) for (lo, hi), k in zip(terms, kinds, strict=True)
                    if k in ("other", "null") or (k == "text" and toks[lo].kind not in ("str", "param"))]
        if nullable:
            chains.append((toks[j].start, toks[end - 1].end, nullable))
    edits: list[Edit] = []
    for start, end, nullable in sorted(chains, key=lambda c: c[1] - c[0]):  # inner chains first
        test = " OR ".join(f"{_with_edits(text, lo, hi, edits)} IS NULL" for lo, hi in nullable)
        edits.append((start, start, f"CASE WHEN {test} THEN NULL ELSE "))
        edits.append((end, end, " END"))
    return sorted(edits, key=lambda e: e[0])


def _with_edits(text: str, lo: int, hi: int, edits: list[Edit]) -> str:
    """``text[lo:hi]`` with the insertions of ``edits`` that fall inside it (an inner chain's test)."""
    out, pos = [], lo
    for at, _, insert in sorted((e for e in edits if lo < e[0] < hi), key=lambda e: e[0]):
        out += [text[pos:at], insert]
        pos = at
    return "".join(out) + text[pos:hi]
