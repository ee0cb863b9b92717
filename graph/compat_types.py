"""Values of another type than the property they meet: Neo4j never converts, LadybugDB does.

Neo4j compares values of different types as unequal (``'110000' = 110000`` is false; only numbers
compare across integer and float: ``2015 = 2015.0`` is true) and stores a value with its own type.
LadybugDB converts the value to the property's declared type, so the same query answers differently:

- ``MATCH (c:City) WHERE c.city_code = 110000`` finds Beijing (Neo4j: no row); so do
  ``{city_code: 110000}`` and ``$x`` given as the integer 110000;
- ``p.app_year = '2015'`` finds 2015's patents, ``p.green = 'true'`` the green ones,
  ``p.app_date = '2015-03-01'`` that day's (Neo4j: none of them);
- ``SET c.tier = 1`` stores the text ``'1'`` (Neo4j: the integer 1);
- a floating-point literal against an integer property in a ``MATCH``'s ``WHERE`` loses rows:
  ``p.app_year = 2015.0``, ``> 2015.0`` and ``>= 2015.0`` find nothing (engine bug 6 of docs/cypher.md;
  the same comparison after ``WITH`` or as a parameter is right);
- a number with a fraction against an integer property in a pattern is rounded: ``{app_year: 2015.5}``
  finds 2016's patents (Neo4j: none); ``SET p.app_year = 2015.5`` stores 2016.

:func:`edits_for` refuses the conversions and the rounding on the embedded store, naming the property's
type and the value to write instead (a different answer is never given silently, and the value is nearly
always a slip: a city code is text), and returns the edits that write the floating-point bounds exactly:
``2015.0`` becomes ``2015``, and a non-integral bound the integer bound that selects the same integers
(``> 2014.5`` → ``> 2014``, ``>= 2014.5`` → ``>= 2015``).

Types come from the declared schema (``cypher/schema.embedded.cypher``) by property name (a name has
one type in every table, checked here); a property it does not declare (the ``CityYear`` metric
columns), an expression (``p.app_year + 1 = '2016'``) or a variable not bound by a pattern is not
checked. Like the rest of :mod:`citynet.graph.compat`, this reads tokens, not a full parse.

>>> edits_for("MATCH (c:City) WHERE c.city_code = $x RETURN c.name_zh", {"x": 110000})
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the embedded store: c.city_code is text and is compared with the integer 110000 ($x); Neo4j never converts between types (no text equals a number, a boolean or a date), LadybugDB converts the value, so the two stores would answer differently
>>> edits_for("MATCH (c:City) WHERE c.city_code = $x RETURN c.name_zh", {"x": "110000"})
[]
>>> edits_for("MATCH (p:Patent) WHERE p.app_year >= 2014.5 RETURN count(*)")
[(37, 43, '2015')]
"""

from __future__ import annotations

import math
from functools import cache
from typing import NamedTuple

# the declared type -> the kind of value Neo4j compares it with
_KIND = {"STRING": "text", "INT64": "integer", "DOUBLE": "number", "BOOLEAN": "boolean", "DATE": "date"}
_COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}


@cache
def property_kinds() -> dict[str, str]:
    """Property name → kind of value (``text``, ``integer``, ``number``, ``boolean``, ``date``) from the
    embedded schema's DDL; list properties and names declared with two kinds are left out."""
    from citynet.graph.embedded_order import declared_types

    kinds = {name: {_KIND.get(t, "other") for t in types} for name, types in declared_types().items()}
    return {name: k.pop() for name, k in kinds.items() if len(k) == 1 and "other" not in k}


@cache
def list_properties() -> frozenset[str]:
    """Properties declared as lists (``STRING[]``) in the embedded schema."""
    from citynet.graph.embedded_order import declared_types

    return frozenset(name for name, types in declared_types().items() if all(t.endswith("[]") for t in types))


def _value_kind(value) -> str | None:
    """The kind of a parameter value (None: null or a kind no property has)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "text"
    return None


def _literal(toks, i: int):
    """``(kind, text, value, end)`` of the literal or parameter at ``toks[i]`` (an optional sign first),
    or None. ``value`` is the Python value of a literal, the parameter's name for a parameter."""
    sign = ""
    if i < len(toks) and toks[i].kind == "op" and toks[i].text in "+-" and len(toks[i].text) == 1:
        sign, i = toks[i].text, i + 1
    if i >= len(toks):
        return None
    t = toks[i]
    if t.kind == "num":
        is_float = any(c in t.text for c in ".eE")
        value = float(sign + t.text) if is_float else int(sign + t.text)
        return ("float" if is_float else "integer"), sign + t.text, value, i + 1
    if sign:
        return None
    if t.kind == "str":
        return "text", t.text, None, i + 1
    if t.kind == "word" and t.up in ("TRUE", "FALSE"):
        return "boolean", t.text, None, i + 1
    if t.kind == "param":
        return "param", t.text, t.text[1:], i + 1
    return None


def _clause_at(toks, i: int) -> str:
    from citynet.graph.compat import clause_of

    return clause_of(toks, i)


_ARITHMETIC = {"+", "-", "*", "/", "%", "^", ".", "[", "("}


def _alone(toks, start: int, end: int) -> bool:
    """``toks[start:end]`` is a whole operand: no arithmetic, property access or call joined to it (and a
    leading sign is a sign, not a subtraction)."""
    before = toks[start - 1] if start > 0 else None
    after = toks[end].text if end < len(toks) else ""
    if after in _ARITHMETIC or (before is not None and before.text in _ARITHMETIC - {"(", "["}):
        return False
    signed = toks[start].kind == "op" and toks[start].text in ("+", "-")
    return not (signed and before is not None and (before.kind != "op" or before.text in (")", "]", "}")))


class Use(NamedTuple):
    """A property meeting a literal or a parameter's value."""
    where: str  # how the query writes the property: c.city_code, or {city_code: …} of a pattern
    kind: str  # the property's kind (property_kinds)
    op: str  # = <> < <= > >= IN, the property on the left
    value_kind: str | None  # text integer float boolean; None: null or another kind
    shown: str  # the value as written (a parameter's: its value and ($name))
    value: object  # the Python value of a number literal or of a parameter
    span: tuple[int, int] | None  # the literal's tokens (None: a parameter, a list item, a pattern's {…})
    clause: str  # the clause it is in: WHERE, SET, RETURN, … ("pattern" for {…})
    param: str | None  # the parameter's name
    items: list | tuple | None = None  # the whole value of a list parameter (``IN $codes``)


def _uses(toks, params: dict):
    """Every :class:`Use`: ``v.p OP x``, ``x OP v.p``, ``v.p IN [x, …]`` / ``IN $list`` and ``{p: x}`` of
    a node or relationship pattern, where ``v`` is a pattern variable and ``x`` a literal or parameter."""
    from citynet.graph.compat import pattern_variables

    kinds = property_kinds()
    bound = pattern_variables(toks)
    n = len(toks)

    def prop_at(i):  # v . p starting at i
        if i + 2 < n and toks[i].kind == "word" and toks[i].text in bound and toks[i + 1].text == "." \
                and toks[i + 2].kind == "word" and toks[i + 2].text in kinds:
            return toks[i + 2].text
        return None

    def uses(where, prop, op, lit, span, clause):
        kind, shown, value, _ = lit
        if kind != "param":
            yield Use(where, kinds[prop], op, kind, shown, value, span, clause, None)
            return
        if value not in params:
            return
        v = params[value]
        for x in v if isinstance(v, list | tuple) else [v]:
            text = (f"'{x}'" if isinstance(x, str) else repr(x)) + f" ({shown})"
            yield Use(where, kinds[prop], op, _value_kind(x), text, x, None, clause, value,
                      v if isinstance(v, list | tuple) else None)

    def list_items(k):  # the literals of [x, y, …] from k (after '[')
        while k < n and toks[k].text != "]":
            lit = _literal(toks, k)
            if not lit:
                return
            yield lit
            k = lit[3] + (1 if lit[3] < n and toks[lit[3]].text == "," else 0)

    for i in range(n):
        prop = prop_at(i)
        if prop and _alone(toks, i, i + 3):
            j, where, clause = i + 3, f"{toks[i].text}.{prop}", _clause_at(toks, i)
            op = toks[j].text if j < n else ""
            if op in _COMPARISONS and not (j + 1 < n and toks[j + 1].text == "~"):
                lit = _literal(toks, j + 1)
                if lit and _alone(toks, j + 1, lit[3]):
                    yield from uses(where, prop, op, lit, (j + 1, lit[3]), clause)
            elif j < n and toks[j].kind == "word" and toks[j].up == "IN":
                if j + 1 < n and toks[j + 1].text == "[":
                    lits = list(list_items(j + 2))
                else:
                    lit = _literal(toks, j + 1)
                    lits = [lit] if lit and lit[0] == "param" else []
                for lit in lits:
                    yield from uses(where, prop, "IN", lit, None, clause)
        lit = _literal(toks, i)  # x OP v.p
        if lit and lit[3] < n and toks[lit[3]].text in _COMPARISONS and _alone(toks, i, lit[3]):
            k = lit[3] + 1
            prop = prop_at(k)
            if prop and _alone(toks, k, k + 3):
                yield from uses(f"{toks[k].text}.{prop}", prop, _FLIPPED[toks[lit[3]].text], lit, (i, lit[3]),
                                _clause_at(toks, i))
        if toks[i].text == "{" and _opens_pattern(toks, i):  # {p: x, …} of a pattern
            k = i + 1
            while k + 2 < n and toks[k].kind in ("word", "bq") and toks[k + 1].text == ":":
                key = toks[k].text.strip("`")
                lit = _literal(toks, k + 2)
                if not lit:
                    break
                if key in kinds:
                    yield from uses(f"{{{key}: …}}", key, "=", lit, None, "pattern")
                k = lit[3] + (1 if lit[3] < n and toks[lit[3]].text == "," else 0)


def _opens_pattern(toks, i: int) -> bool:
    """``{`` of ``(v {``, ``(v:L {``, ``(:L {``, ``[r:T {``, ``[r {`` (one label or type)."""
    texts = [t.text if t.kind != "word" else "w" for t in toks[max(0, i - 4):i]]
    shapes = (["(", "w"], ["[", "w"], ["(", ":", "w"], ["[", ":", "w"], ["(", "w", ":", "w"], ["[", "w", ":", "w"])
    return any(len(texts) >= len(p) and texts[-len(p):] == p for p in shapes)


_WRITE_AS = {
    "text": "write it as text: '{v}' (a parameter: --param {name}:str={v})",
    "integer": "write it as a number without quotes: {v} (a parameter: --param {name}={v})",
    "number": "write it as a number without quotes: {v} (a parameter: --param {name}={v})",
    "boolean": "write it as true or false, without quotes (a parameter: --param {name}=true)",
    "date": "write it as a date: date('{v}')",
}
_NAMES = {"text": "text", "integer": "an integer", "number": "a number", "boolean": "true/false", "date": "a date"}
_VALUES = {"text": "the text", "integer": "the integer", "float": "the number", "boolean": "the boolean"}


def _compatible(prop_kind: str, value_kind: str | None) -> bool:
    if value_kind is None:
        return True
    if prop_kind in ("integer", "number"):
        return value_kind in ("integer", "float")
    return prop_kind == value_kind


def edits_for(text: str, params: dict | None = None, toks=None) -> list[tuple[int, int, str]]:
    """Refuse (:class:`~citynet.graph.compat.Unsupported`) a property compared with, or set to, a value of
    another kind, and return the edits that write a floating-point bound on an integer property exactly
    (see the module docstring): one walk over the query's uses of properties."""
    from citynet.graph.compat import tokens

    toks = tokens(text) if toks is None else toks
    edits = []
    for u in _uses(toks, params or {}):
        _check_kind(u)
        edit = _float_bound(u, toks)
        if edit is not None:
            edits.append(edit)
    return edits


def _check_kind(u: Use) -> None:
    """Refuse a value of another kind than its property (and a float an integer property would round)."""
    from citynet.graph.compat import Unsupported

    if u.kind == "integer" and u.value_kind == "float":
        _check_float(u)
    if _compatible(u.kind, u.value_kind):
        return
    bare = u.shown.split(" (")[0].strip("'\"")
    what = _VALUES.get(u.value_kind or "", "the value")
    fix = _list_fix(u) or _WRITE_AS[u.kind].format(v=bare, name=u.param or "NAME")
    if u.clause == "SET" and u.op == "=":
        raise Unsupported(
            f"refused on the embedded store: {u.where} is {_NAMES[u.kind]} and would be set to {what} "
            f"{u.shown}; Neo4j stores the value as given, LadybugDB converts it", fix=fix)
    raise Unsupported(
        f"refused on the embedded store: {u.where} is {_NAMES[u.kind]} and is compared with {what} {u.shown}; "
        "Neo4j never converts between types (no text equals a number, a boolean or a date), LadybugDB converts the value, so "
        "the two stores would answer differently", fix=fix)


def _list_fix(u: Use) -> str | None:
    """The fix of a list parameter holding a value of another kind: the whole list written with values of the
    property's kind (``--param "codes=['110000','310000']"``); ``--param codes:str=110000`` would send one
    text where the query takes a list. None where the kind has no such writing (dates)."""
    if u.items is None or u.param is None:
        return None

    def bare(x) -> str:
        return "null" if x is None else x if isinstance(x, str) else str(x).lower() if isinstance(x, bool) else repr(x)

    if u.kind == "text":
        items = ["null" if x is None else "'" + bare(x).replace("'", "\\'") + "'"
                 for x in u.items]
        what = "texts"
    elif u.kind in ("integer", "number"):
        items = [bare(x) for x in u.items]
        what = "numbers"
    elif u.kind == "boolean":
        items = [bare(x).lower() for x in u.items]
        what = "true or false"
    else:
        return None
    return f'give the list with {what}: --param "{u.param}=[{",".join(items)}]"'


def _check_float(u: Use) -> None:
    """A number with a fraction where LadybugDB rounds it to the integer property's type: a pattern's
    ``{p: 2015.5}`` finds 2016's rows (Neo4j: none), ``SET p.app_year = 2015.5`` stores 2016."""
    from citynet.graph.compat import Unsupported

    if u.clause == "SET" and u.op == "=":
        raise Unsupported(
            f"refused on the embedded store: {u.where} is an integer and would be set to the number {u.shown}; "
            "Neo4j stores a floating-point number, LadybugDB rounds it to an integer",
            fix=f"set an integer (round({u.shown.split(' (')[0]}) in your own code), or run it on Neo4j (--store neo4j)")
    if u.clause == "pattern" and not (isinstance(u.value, float) and u.value.is_integer()):
        raise Unsupported(
            f"refused on the embedded store: {u.where} is an integer and the pattern gives the number {u.shown}; "
            "Neo4j finds no row (no integer equals it), LadybugDB rounds it to an integer and finds that one's",
            fix="no integer equals it: give an integer, or compare in WHERE (… WHERE v.p = x)")


def _float_bound(u: Use, toks) -> tuple[int, int, str] | None:
    """The edit that writes a floating-point literal compared with an integer property in a ``WHERE`` as the
    integer bound that selects the same integers (engine bug 6); a bound beyond 64 bits is refused."""
    from citynet.graph.compat import Unsupported

    if u.kind != "integer" or u.value_kind != "float" or u.span is None or u.clause != "WHERE":
        return None
    value = u.value
    if not math.isfinite(value) or abs(value) >= 2.0 ** 63:
        raise Unsupported(
            f"refused on the embedded store: {u.where} is an integer and is compared with {u.shown}, beyond "
            "64-bit integers; LadybugDB filters such a comparison wrongly (docs/cypher.md, engine bug 6)",
            fix="compare with an integer, or drop the comparison")
    if value.is_integer():
        bound = int(value)
    elif u.op in (">", "<="):
        bound = math.floor(value)
    elif u.op in (">=", "<"):
        bound = math.ceil(value)
    else:  # = and <> of a non-integral value: the engine already answers as Neo4j (no row, every row)
        return None
    start, end = u.span
    return toks[start].start, toks[end - 1].end, str(bound)
