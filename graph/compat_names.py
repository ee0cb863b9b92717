"""Labels, relationship types, property names and map keys written in another case than the schema's or the map's.

Neo4j tells names apart by case: ``:CIty`` is another label than ``:City`` (no node has it: no row,
``count`` 0), ``-[:applied]->`` another relationship type (no row), ``c.NAME_ZH`` another property (null;
a pattern's ``{CITY_CODE: '320100'}`` matches nothing, ``c.Name_Zh IS NULL`` is true). LadybugDB 0.20.4
ignores the case of all three and reads the schema's name: 337 cities, every ``APPLIED``, the names —
another answer, without a word. Writing Neo4j's answer instead (an empty pattern, a null) would hide
what is nearly always a slip, and a name the schema lacks altogether is an error on the embedded store
anyway (schema_hints), so :func:`check` refuses such a name with one message naming it and the schema's
spelling (``Unsupported``, exit 2).

Checked: a label or relationship type after ``:``/``|``/``&`` in a pattern, ``SET``/``REMOVE`` or a
label test (``WHERE n:city``); a property read or written on a node or relationship (``c.NAME_ZH``,
``SET c.Tier = …``, ``REMOVE``, ``IS NULL``), a map projection's ``c {.NAME_ZH}`` and a pattern's map keys
``(c:City {CITY_CODE: $x})``. Names come from the declared schema (``cypher/schema.embedded.cypher``) and, for
``CityYear``'s metric columns, the store's own list (``extra``). A variable read in another case than it is bound
(``MATCH (c:City) RETURN C.name_zh``, ``RETURN C``, ``count(C)``, ``WHERE C:City``, ``{a: C}``: Neo4j refuses it,
not defined; LadybugDB reads ``c``) is refused too.

A map's keys: LadybugDB reads ``m.name`` of ``{Name: 1}`` as ``Name`` (1; Neo4j: null), of ``{a: 1, A: 2}`` the
first spelling the map has (``m.A`` is 1; Neo4j: 2), and gives the maps of one list one set of keys, ignoring case
(``[{city: 1}, {CITY: 2}]`` comes back as ``[{CITY: 1}, {CITY: 2}]``). :class:`_Shapes` follows what each value
holds through the query — a pattern's node, renamed by ``AS``, collected, put in a list or map and taken back out
(``UNWIND``, ``x IN``, ``l[0]``, ``head``, ``m.key``, ``nodes(p)``), a map literal, a map projection, a parameter's
value (``params``: its dict keys, nested and in lists) — and a key read on it is checked against what it holds:
a node's against the schema (``x.NAME_ZH`` of ``UNWIND collect(c) AS x``), a map's against the map's keys
(``r.CITY`` of ``UNWIND $rows AS r`` with rows ``[{"city": …}]``, ``m {.CITY}``; ``{NAME_ZH: 1}.NAME_ZH`` is the map's
own key and runs). A list (a literal, a parameter, ``l1 + l2``) whose maps spell one key in two cases is refused, and so is one
whose maps have other keys or the same keys in another order: LadybugDB gives them the keys of one map by position
(``[{a: 1, b: 2}, {b: 3, a: 4}]`` came back as ``[{b: 1, a: 2}, …]``), a wrong answer without any case (unless the
parameter is only counted, ``size($rows)``).

Not checked: a value the text does not tell (a ``CASE``, ``reduce``, another function's result, a variable bound
two ways) is checked against every name the schema, the query's maps and its parameters spell — a key spelled
exactly so anywhere passes; a parameter's value that is not plain Python (a table), or a query checked without its
parameters (``params=None``: what comes from them passes; ``prepare`` always has them); a date's or point's
component (``d.Year``: Neo4j reads it in any case, LadybugDB refuses it); ``m['name']``, ``keys(m)``, ``SET n +=
{…}`` (LadybugDB refuses them).

>>> check("MATCH (c:City) RETURN c.name_zh AS name")
>>> check("MATCH (c:CIty) WHERE c.NAME_ZH IS NULL RETURN count(c)")
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the embedded store: :CIty and c.NAME_ZH differ from the schema's City and name_zh only by case; Neo4j tells names apart by case (a label or relationship type spelled otherwise matches nothing, a property spelled otherwise is null), LadybugDB ignores it and reads the schema's, so the two stores would answer differently
>>> check("UNWIND $rows AS r RETURN r.city AS x", params={"rows": [{"city": "320100"}]})
>>> check("UNWIND $rows AS r RETURN r.CITY AS x", params={"rows": [{"city": "320100"}]})
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the embedded store: r.CITY differs from the map's key city only by case; Neo4j reads a map's keys by case (a key spelled otherwise is null), LadybugDB ignores it and reads the map's, so the two stores would answer differently
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from functools import cache

from citynet.graph.compat import (
    CLAUSES,
    OPERATOR_WORDS,
    Tok,
    Unsupported,
    arguments,
    closing,
    membership,
    pattern_variable_positions,
    pattern_variables,
    subquery_brace,
    tokens,
)

_TABLE = re.compile(r"CREATE (NODE|REL) TABLE IF NOT EXISTS (\w+)\((.*?)\);")


@cache
def _schema() -> tuple[dict[str, str], frozenset[str]]:
    """(lower-case label or type → the schema's spelling, property names) from the embedded schema's DDL."""
    from citynet import cypher

    tables: dict[str, str] = {}
    props: set[str] = set()
    for _, name, body in _TABLE.findall(cypher.text("schema", "embedded")):
        tables[name.lower()] = name
        props.update(p.split()[0] for p in body.split(",") if p.strip() and not p.strip().startswith(("FROM ", "TO ")))
    return tables, frozenset(props)


def _name(t: Tok) -> str | None:
    if t.kind == "word":
        return t.text
    if t.kind == "bq":
        return t.text[1:-1].replace("``", "`")
    return None


def _enclosing(toks: list[Tok], i: int) -> int:
    """The index of the innermost bracket around ``toks[i]`` (-1: none)."""
    return next((k for k in range(i - 1, -1, -1) if toks[k].depth < toks[i].depth), -1)


def _pattern_map(toks: list[Tok], k: int) -> bool:
    """``toks[k]`` (``{``) is a node or relationship pattern's map: ``(c:City {…})``, ``[r {…}]``, ``({…})``."""
    o = _enclosing(toks, k)
    if o < 0 or toks[k - 1].kind not in ("word", "bq") and toks[k - 1].text not in "([":
        return False
    if toks[o].text == "[":
        return o > 0 and toks[o - 1].text in ("-", "<-")
    if toks[o].text != "(":
        return False
    before = toks[o - 1] if o else None
    return before is None or before.kind != "word" or before.up in CLAUSES | {"AND", "OR", "NOT", "XOR", "EXISTS"}


Names = Iterable[str] | Callable[[], Iterable[str]]

# --- what a value holds: a node's properties, a map's keys ----------------------------------------------
# A shape: NODE (a node or relationship: the schema's properties), ("map", {key: shape}), ("list", shape),
# VALUE (a number, text, date …: no keys), OPAQUE (from a parameter whose value is unknown here: not checked),
# EMPTY (null, an empty list's element: adds nothing), None (not known: the names of the whole query are used).
NODE, VALUE, OPAQUE, EMPTY = ("node",), ("value",), ("opaque",), ("empty",)
Shape = tuple | None

# Components of a date, time, duration or point (``d.Year``): Neo4j reads them in any case.
_COMPONENTS = frozenset(c.lower() for c in (
    "year", "month", "day", "quarter", "week", "weekYear", "weekDay", "dayOfWeek", "dayOfQuarter", "quarterDay",
    "ordinalDay", "hour", "minute", "second", "millisecond", "microsecond", "nanosecond", "timezone", "offset",
    "offsetMinutes", "offsetSeconds", "epochMillis", "epochSeconds", "years", "months", "days", "hours",
    "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds", "quarters", "weeks", "monthsOfYear",
    "monthsOfQuarter", "quartersOfYear", "daysOfWeek", "minutesOfHour", "secondsOfMinute",
    "millisecondsOfSecond", "microsecondsOfSecond", "nanosecondsOfSecond", "x", "y", "z", "latitude",
    "longitude", "height", "crs", "srid"))


def _union(a: Shape, b: Shape) -> Shape:
    """One shape for values of shape ``a`` or ``b`` (a map's keys: both maps'; None when they do not agree)."""
    if a in (EMPTY, b):
        return b
    if b == EMPTY:
        return a
    if OPAQUE in (a, b):
        return OPAQUE
    if a is None or b is None or a[0] != b[0] or a[0] not in ("map", "list"):
        return None
    if a[0] == "list":
        return ("list", _union(a[1], b[1]))
    keys = dict(a[1])
    for k, v in b[1].items():
        keys[k] = _union(keys[k], v) if k in keys else v
    return ("map", keys)


def _union_all(shapes: Iterable[Shape]) -> Shape:
    """:func:`_union` of every shape (EMPTY for none): a list's elements, ``coalesce``'s arguments."""
    out: Shape = EMPTY
    for s in shapes:
        out = _union(out, s)
    return out


def _either(a: Shape, b: Shape) -> Shape:
    """The shape of a variable bound twice (two parts of a ``UNION``, a ``WITH`` that rebinds it): one shape only
    when both agree (two maps of other keys are not one map: None)."""
    if a in (EMPTY, b):
        return b
    if b == EMPTY:
        return a
    return OPAQUE if OPAQUE in (a, b) else None


_SCALARS = (str, int, float, bool, datetime.date, datetime.time, datetime.timedelta)  # a value with no keys inside
_FLAT = frozenset((*_SCALARS, type(None), datetime.datetime))  # their exact types (a subclass: another signature)


_DISTINCT: dict[int, tuple] = {}


def _distinct(v: list | tuple) -> list:
    """The elements of a list that the shape functions need: one of each run of values of one type of
    ``_FLAT``, and of the maps whose values are all of those types one per signature (keys in their order,
    the values' types), in first-appearance order; every other element. Their answers are the same as on
    the whole list (a union of a shape with itself is that shape; the first map and the first map of every
    other signature are kept), but a parameter of 200,000 rows costs its distinct signatures, not 4.7 s."""
    hit = _DISTINCT.get(id(v))
    if hit is not None and hit[0] is v:  # the same list again (one check looks at a parameter several times)
        return hit[1]
    seen: set = set()
    out = []
    for x in v:
        t = type(x)
        if t in _FLAT:
            sig = t
        elif t is dict and _FLAT.issuperset(types := tuple(map(type, x.values()))):
            sig = (tuple(x), types)
        else:
            out.append(x)
            continue
        if sig not in seen:
            seen.add(sig)
            out.append(x)
    if len(v) > 1000:  # the entry holds the list, so its id is not reused while it is there (cleared after a check)
        _DISTINCT[id(v)] = (v, out)
    return out


def _of_value(v) -> Shape:
    """The shape of a parameter's value."""
    if isinstance(v, dict):
        return ("map", {str(k): _of_value(x) for k, x in v.items()})
    if isinstance(v, list | tuple):
        return ("list", _union_all(map(_of_value, _distinct(v))))
    if v is None:
        return EMPTY
    if isinstance(v, _SCALARS):
        return VALUE
    return OPAQUE


def _member(s: Shape, key: str) -> Shape:
    if s in (OPAQUE, None):
        return s
    if s[0] == "map":
        return s[1].get(key, EMPTY)
    return VALUE if s == NODE else None


def _element(s: Shape) -> Shape:
    if s in (OPAQUE, None, EMPTY):
        return s
    return s[1] if s[0] == "list" else None


def _spellings(shapes: list[Shape]) -> tuple[str, str] | None:
    """Two spellings of one key in the maps of one list (``[{city: 1}, {CITY: 2}]``): LadybugDB gives the maps of a
    list one set of keys, ignoring case (both read ``CITY``), Neo4j keeps each map's own; None if none."""
    maps = [s[1] for s in shapes if s and s[0] == "map"]
    seen: dict[str, tuple[str, ...]] = {}
    for m in maps:
        mine: dict[str, tuple[str, ...]] = {}
        for k in m:  # each map's spellings of a name, in its order
            mine[k.lower()] = (*mine.get(k.lower(), ()), k)
        for low, ks in mine.items():
            if seen.setdefault(low, ks) != ks:
                a, b = seen[low][0], next(k for k in (*ks, *seen[low]) if k != seen[low][0])
                return a, b
    for low in seen:  # the values of one key across the maps: one list again
        inner = [v for m in maps for k, v in m.items() if k.lower() == low]
        found = _spellings(inner) or _spellings([e for v in inner if v and v[0] == "list" for e in [v[1]]])
        if found:
            return found
    return None


def _orders(shapes: list[Shape]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Two maps of one list with other keys or the same keys in another order (``[{a: 1, b: 2}, {b: 3, a: 4}]``):
    LadybugDB gives the maps of a list the keys of one of them by position (the first map came back as
    ``{b: 1, a: 2}``: ``r.a`` read 2) or fails; None if the maps agree (also those inside them)."""
    maps = [s[1] for s in shapes if s and s[0] == "map"]
    for m in maps[1:]:
        if tuple(m) != tuple(maps[0]):
            return tuple(maps[0]), tuple(m)
    for k in maps[0] if maps else ():
        inner = [m[k] for m in maps]
        found = _orders(inner) or _orders([v[1] for v in inner if v and v[0] == "list"])
        if found:
            return found
    return None


def _lists(shapes: list[Shape]) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """``("case", a, b)``: :func:`_spellings`; ``("keys", keys, other keys)``: :func:`_orders`; None."""
    twins = _spellings(shapes)
    if twins:
        return ("case", (twins[0],), (twins[1],))
    other = _orders(shapes)
    return ("keys", *other) if other else None


def _value_lists(v) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """:func:`_lists` for every list in a parameter's value."""
    if isinstance(v, dict):
        return next((f for f in map(_value_lists, v.values()) if f), None)
    if isinstance(v, list | tuple):
        d = _distinct(v)
        return _lists([_of_value(x) for x in d]) or next((f for f in map(_value_lists, d) if f), None)
    return None


class _Shapes:
    """The shape of each variable of a query (its bindings': a pattern's, ``expr AS x``, ``UNWIND expr AS x``,
    ``x IN list``; :func:`_either` when there are several) and of the expression before each ``.``. Variables are
    told apart by name in the whole query, not by scope."""

    def __init__(self, toks: list[Tok], params: dict | None) -> None:
        self.toks, self.params = toks, params
        self.joined: dict[int, tuple[int, tuple]] = {}  # l1 + l2 whose maps differ: (end, :func:`_lists`)
        binds: list[tuple[str, str, int, int]] = [(v.strip("`"), "node", 0, 0) for v in pattern_variables(toks)]
        for i, t in enumerate(toks):
            name = _name(toks[i + 1]) if i + 1 < len(toks) else None
            if t.kind == "word" and t.up == "AS" and name and i and toks[i - 1].text != ".":
                o = _enclosing(toks, i)
                if o > 0 and toks[o].text == "(" and toks[o - 1].up == "CAST":
                    continue
                lo = i - 1
                while lo > 0 and not (toks[lo - 1].depth <= t.depth and (
                        toks[lo - 1].depth < t.depth or toks[lo - 1].text == ","
                        or toks[lo - 1].kind == "word" and toks[lo - 1].up in CLAUSES | {"DISTINCT"}
                        and not (toks[lo - 1].up == "WITH" and lo > 1 and toks[lo - 2].up in ("STARTS", "ENDS")))):
                    lo -= 1
                unwind = lo > 0 and toks[lo - 1].up == "UNWIND"
                binds.append((name, "unwind" if unwind else "as", lo, i))
            elif t.kind == "word" and t.up == "IN" and i > 1 and _name(toks[i - 1]) and not membership(toks, i):
                hi = i + 1
                while hi < len(toks) and toks[hi].depth >= t.depth and not (
                        toks[hi].depth == t.depth and (toks[hi].text in ("|", ",") or toks[hi].up == "WHERE")):
                    hi += 1
                binds.append((_name(toks[i - 1]), "unwind", i + 1, hi))
        self.vars: dict[str, Shape] = {}
        for _ in range(6):  # a variable from a variable from …: until nothing changes
            new: dict[str, Shape] = {}
            for name, kind, lo, hi in binds:
                s = NODE if kind == "node" else self.span(lo, hi)
                s = _element(s) if kind == "unwind" else s
                new[name] = _either(new[name], s) if name in new else s
            if new == self.vars:
                break
            self.vars = new

    def list_twins(self) -> dict[int, tuple]:
        """The list literals whose maps spell one key in two cases or differ in their keys (:func:`_lists`), by
        their bracket."""
        out = {}
        for o, t in enumerate(self.toks):
            if t.text == "[" and t.kind == "op" and not (o and self.toks[o - 1].text in ("-", "<-")):
                c = closing(self.toks, o)
                if not any(self.toks[k].up == "IN" and self.toks[k].depth == t.depth + 1 for k in range(o + 1, c)):
                    twins = _lists([self.span(a, b) for a, b in arguments(self.toks, o)])
                    if twins:
                        out[o] = twins
        return out | {lo: twins for lo, (_, twins) in self.joined.items()}

    def span(self, lo: int, hi: int) -> Shape:
        """The shape of the expression ``toks[lo:hi]`` (None unless one operand: a variable, a parameter, a map,
        a list, a function of them, with its properties, keys and positions)."""
        if lo < hi and self.toks[lo].up == "DISTINCT":
            lo += 1
        if lo >= hi:
            return None
        plus = [k for k in range(lo, hi) if self.toks[k].text == "+" and self.toks[k].depth == self.toks[lo].depth]
        if plus:  # l1 + l2: one list, its maps one set of keys on LadybugDB
            parts = [self.span(a + 1, b) for a, b in zip([lo - 1, *plus], [*plus, hi], strict=True)]
            if not all(p and p[0] == "list" for p in parts):
                return None
            twins = _lists([p[1] for p in parts])
            if twins:
                self.joined[lo] = (hi, twins)
            return _union_all(parts)
        s, start = self.ending(hi - 1)
        return s if start == lo else None

    def ending(self, j: int) -> tuple[Shape, int]:
        """The shape of the operand that ends at ``toks[j]``, and the index it starts at."""
        toks, t = self.toks, self.toks[j]
        if t.kind in ("str", "num") or t.kind == "word" and t.up in ("NULL", "TRUE", "FALSE"):
            return (EMPTY if t.up == "NULL" else VALUE), j
        if t.kind == "param":
            if self.params is None or t.text[1:] not in self.params:
                return OPAQUE, j
            return _of_value(self.params[t.text[1:]]), j
        if t.kind in ("word", "bq") and not (t.kind == "word" and t.up in _KEYWORDS):
            if j > 1 and toks[j - 1].text == ".":
                s, start = self.ending(j - 2)
                return _member(s, _name(t)), start
            return self.vars.get(_name(t)), j
        if t.text not in ")]}" or t.kind != "op":
            return None, j
        o = next((k for k in range(j - 1, -1, -1) if toks[k].depth == t.depth), -1)
        if o < 0 or toks[o].text not in "([{" or toks[o].kind != "op":
            return None, j  # no bracket opens it: the engine's syntax error
        before = toks[o - 1] if o else None
        called = before is not None and before.kind in ("word", "bq") and before.up not in _KEYWORDS
        if t.text == "}":
            if subquery_brace(toks, o) or _pattern_map(toks, o):
                return None, o
            if called:
                return self.projection(o - 1, o, j), o - 1
            return self.map(o, j), o
        if t.text == "]":
            if before is not None and (called or before.kind == "param" or before.text in (")", "]", "}")):
                s, start = self.ending(o - 1)  # a position or a slice
                ranged = any(toks[k].text == ".." and toks[k].depth == t.depth + 1 for k in range(o + 1, j))
                return (s if ranged else _element(s)), start
            return self.list(o, j), o
        if not called:  # (expression)
            return self.span(o + 1, j), o
        args = [self.span(a, b) for a, b in arguments(toks, o)]
        fn = before.text.lower()
        if fn in ("collect", "tolist") and len(args) == 1:
            return ("list", args[0]), o - 1
        if fn in ("head", "last") and len(args) == 1:
            return _element(args[0]), o - 1
        if fn in ("nodes", "relationships", "rels"):
            return ("list", NODE), o - 1
        if fn in ("startnode", "endnode", "properties"):
            return NODE, o - 1
        if fn == "coalesce" and args:
            return _union_all(args), o - 1
        return None, o - 1

    def map(self, o: int, c: int) -> Shape:
        keys: dict[str, Shape] = {}
        for a, b in arguments(self.toks, o):
            if b - a >= 2 and _name(self.toks[a]) and self.toks[a + 1].text == ":":
                keys[_name(self.toks[a])] = self.span(a + 2, b)
            else:
                return None
        return ("map", keys)

    def projection(self, v: int, o: int, c: int) -> Shape:
        """``v {.a, b: expr, x}``: the keys named (``.*``: the node's properties)."""
        of = self.ending(v)[0]
        keys: dict[str, Shape] = {}
        for a, b in arguments(self.toks, o):
            first = self.toks[a]
            if first.text == "." and b - a == 2 and self.toks[a + 1].text == "*":
                return NODE if of == NODE and len(keys) == 0 and len(arguments(self.toks, o)) == 1 else None
            if first.text == "." and b - a == 2 and _name(self.toks[a + 1]):
                keys[_name(self.toks[a + 1])] = _member(of, _name(self.toks[a + 1]))
            elif b - a >= 2 and _name(first) and self.toks[a + 1].text == ":":
                keys[_name(first)] = self.span(a + 2, b)
            elif b - a == 1 and _name(first):
                keys[_name(first)] = self.vars.get(_name(first))
            else:
                return None
        return ("map", keys)

    def list(self, o: int, c: int) -> Shape:
        if any(self.toks[k].up == "IN" and self.toks[k].depth == self.toks[o].depth + 1 for k in range(o + 1, c)):
            return None  # a comprehension
        return ("list", _union_all(self.span(a, b) for a, b in arguments(self.toks, o)))


def found(text: str, extra: Names = (), params: dict | None = None) -> list[tuple[str, str]]:
    """``(as written, the schema's spelling)`` of each label, relationship type and property name of ``text`` that
    differs from the schema's only by case (``extra``: property names the store holds beyond the schema's, or a
    function giving them, called only for a name the schema lacks; ``params``: the query's parameters, None when
    not known)."""
    return _analysed(text, extra, params)[0]


def _analysed(text: str, extra: Names = (), params: dict | None = None
              ) -> tuple[list[tuple[str, str]], list[tuple[str, list[str], bool]], list[tuple[str, tuple]]]:
    """:func:`found`'s names; ``(as written, the map's keys it differs from only by case, whether the map also has
    it as written)`` of each key read from a map (``r.CITY`` of ``{city: …}``); ``(the list, :func:`_lists`)`` of
    each list whose maps spell one key in two cases or differ in their keys."""
    try:
        return _analysed_once(text, extra, params)
    finally:
        _DISTINCT.clear()  # (the cache holds the parameters' lists: not beyond the check)


def _analysed_once(text: str, extra: Names, params: dict | None
                   ) -> tuple[list[tuple[str, str]], list[tuple[str, list[str], bool]], list[tuple[str, tuple]]]:
    toks = tokens(text)
    tables, declared = _schema()
    props = set(declared)
    lower = {p.lower(): p for p in sorted(props)}
    out: list[tuple[str, str]] = []
    keys: list[tuple[str, list[str], bool]] = []
    live: list[Iterable[str] | Callable[[], Iterable[str]]] = [extra]

    def known(name: str) -> bool:
        """``name`` is a property of the schema or the store."""
        if name not in props and live:  # the store's own names (CityYear's metric columns), read once
            more = live.pop()
            props.update((more() if callable(more) else more) or ())
            lower.update({p.lower(): p for p in sorted(props - set(declared))})
        return name in props

    def prop(written: str, name: str | None) -> None:
        if name and not known(name) and name.lower() in lower:
            out.append((written, lower[name.lower()]))

    shapes = _Shapes(toks, params)
    named = _map_keys(toks, params)  # every key a map of the query or its parameters spells
    low_named = {k.lower(): k for k in sorted(named)}
    guess = params is not None or not any(t.kind == "param" for t in toks)

    def read(written: str, shape: Shape, key: str) -> None:
        """The key ``key`` read from a value of shape ``shape``."""
        if shape == NODE:
            prop(written, key)
        elif shape is not None and shape[0] == "map":
            same = [k for k in shape[1] if k.lower() == key.lower()]  # in the map's order: LadybugDB reads the first
            if same and same[0] != key:
                keys.append((written, [k for k in same if k != key], key in same))
        elif shape is None and guess and key not in named and key.lower() not in _COMPONENTS and not known(key):
            if key.lower() in low_named:  # what the value is is not known: the names the query spells
                keys.append((written, [low_named[key.lower()]], False))
            else:
                prop(written, key)
    for i, t in enumerate(toks):
        if t.text == ":" and t.kind == "op" and 0 < i < len(toks) - 1 and ":" not in (toks[i - 1].text, toks[i + 1].text):
            o = _enclosing(toks, i)
            if o >= 0 and toks[o].text == "{":
                continue  # a map's key
            j = i + 1
            while j < len(toks):
                if toks[j].text == "!":
                    j += 1
                    continue
                name = _name(toks[j])
                if name is None:
                    break
                if name not in tables.values() and name.lower() in tables:
                    out.append((f":{name}", tables[name.lower()]))
                if j + 2 < len(toks) and toks[j + 1].text in ("|", "&", ":"):
                    j += 2 + (toks[j + 1].text == "|" and toks[j + 2].text == ":")
                    continue
                break
        elif t.text == "." and t.kind == "op" and 0 < i < len(toks) - 1 and _name(toks[i + 1]):
            key = _name(toks[i + 1])
            if toks[i - 1].text in ("{", ","):  # c {.name_zh, .city_code}: a map projection's key
                o = _enclosing(toks, i)
                if o > 0 and toks[o].text == "{" and not subquery_brace(toks, o) and _name(toks[o - 1]):
                    read(f"{_name(toks[o - 1])} {{.{key}}}", shapes.ending(o - 1)[0], key)
                continue
            shape, start = shapes.ending(i - 1)
            read(text[toks[start].start:toks[i + 1].end], shape, key)
        elif t.text == "{" and i > 0 and _pattern_map(toks, i):
            for j in range(i + 1, closing(toks, i)):
                if toks[j].depth == t.depth + 1 and toks[j - 1].text in ("{", ",") and j + 1 < len(toks) \
                        and toks[j + 1].text == ":":
                    prop(f"{{{_name(toks[j])}: …}}", _name(toks[j]))
    seen: dict[str, str] = {}
    for written, spelled in out:
        seen.setdefault(written, spelled)
    lists = [(f"${name}", twins) for name, value in (params or {}).items() if _read(toks, name)
             for twins in [_value_lists(value)] if twins]
    for o, twins in sorted(shapes.list_twins().items()):
        end = shapes.joined[o][0] - 1 if o in shapes.joined else closing(toks, o)
        shown = text[toks[o].start:toks[end].end]
        lists.append((shown if len(shown) <= 40 else shown[:37] + "…", twins))
    return list(seen.items()), list({k[0]: k for k in keys}.values()), lists


def _read(toks: list[Tok], name: str) -> bool:
    """The parameter ``$name`` is used other than by ``size($name)`` (LadybugDB counts a list of any maps right)."""
    return any(t.kind == "param" and t.text[1:] == name and not (
        1 < i < len(toks) - 1 and toks[i - 2].text.lower() == "size" and toks[i - 1].text == "(" and toks[i + 1].text == ")")
        for i, t in enumerate(toks))


def _map_keys(toks: list[Tok], params: dict | None) -> set[str]:
    """The keys of the query's maps (``{city: 1}``, ``c {.name_zh, k: …}``, a pattern's) and of its parameters'."""
    out = set()
    for j in range(1, len(toks) - 1):
        projected = toks[j - 1].text == "." and j > 1 and toks[j - 2].text in ("{", ",")  # c {.name_zh}
        if (toks[j - 1].text in ("{", ",") and toks[j + 1].text == ":" or projected) and _name(toks[j]):
            o = _enclosing(toks, j)
            if o >= 0 and toks[o].text == "{":
                out.add(_name(toks[j]))

    def walk(v) -> None:
        if isinstance(v, dict):
            out.update(map(str, v))
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in _distinct(v):
                walk(x)

    walk(list((params or {}).values()))
    return out


def store_columns(conn) -> list[str]:
    """``CityYear``'s columns as the store ``conn`` holds them (its metric columns grow); [] when unreadable."""
    from citynet import cypher

    try:
        result = conn.execute(cypher.blocks("city_year", "embedded")["columns"][0])
        out = []
        while result.has_next():
            out.append(str(result.get_next()[0]))
        return out
    except Exception:  # a check only: the query's own error, if any, is the message
        return []


def _bound(toks: list[Tok]) -> set[str]:
    """Every name the query binds: pattern variables, ``AS`` names, ``x IN`` binders, ``YIELD``ed names."""
    out = {v.strip("`") for v in pattern_variables(toks)}
    for i in range(1, len(toks)):
        name = _name(toks[i])
        if name and (toks[i - 1].up in ("AS", "YIELD") or (i + 1 < len(toks) and toks[i + 1].up == "IN")
                     or (toks[i - 1].text == "," and i + 1 < len(toks) and toks[i + 1].text in (",", "="))):
            out.add(name)
    return out


def variable_case(text: str) -> list[tuple[str, str]]:
    """``(as written, the variable bound)`` of a variable read (``C.name_zh``, ``RETURN C``) that the query binds only in
    another case (``MATCH (c:City)``): Neo4j refuses it (not defined), LadybugDB reads the bound one."""
    toks = tokens(text)
    bound = _bound(toks)
    lower: dict[str, set[str]] = {}
    for b in bound:
        lower.setdefault(b.lower(), set()).add(b)
    out = []
    for i, t in enumerate(toks):
        name = _name(t)
        if not name or name in bound or len(lower.get(name.lower(), ())) != 1 or _not_a_read(toks, i):
            continue
        out.append((name, next(iter(lower[name.lower()]))))
    return list(dict.fromkeys(out))


_KEYWORDS = CLAUSES | OPERATOR_WORDS | {"ASC", "DESC", "ASCENDING", "DESCENDING", "NULL", "TRUE", "FALSE", "ON"}


def _not_a_read(toks: list[Tok], i: int) -> bool:
    """``toks[i]`` is no variable read: a keyword, a property or component (``.x``), a parameter (``$x``), a
    label, type or type name (``:x``, ``|x``, ``&x``), a map key (``{x: …}``) or a called function (``x(``)."""
    t, before = toks[i], toks[i - 1].text if i else ""
    after = toks[i + 1].text if i + 1 < len(toks) else ""
    o = _enclosing(toks, i)
    in_map = o >= 0 and toks[o].text == "{"
    if t.kind == "word" and t.up in _KEYWORDS or before in (".", "$", "&", "::") or after == "(":
        return True
    if before == ":":  # a label or type, unless a map's value ({a: x})
        return not in_map
    if before == "|":  # a type's alternative (:A|x), unless a list comprehension's value ([y IN l | x])
        return i > 2 and toks[i - 3].text in (":", "|")
    return after == ":" and in_map


def pattern_twins(text: str) -> tuple[str, str] | None:
    """Two variables of the query's patterns that differ only by case (``MATCH (c:City …), (C:City …)``: Neo4j
    binds two nodes, LadybugDB one — both columns then hold the first city), in sorted order; None if none."""
    seen: dict[str, str] = {}
    for v in sorted(v.strip("`") for v in pattern_variables(tokens(text))):
        if v.lower() in seen:
            return seen[v.lower()], v
        seen[v.lower()] = v
    return None


def alias_twins(text: str) -> tuple[str, str] | None:
    """``(alias, pattern variable)`` of a pattern variable named like an earlier ``AS`` name in another case
    (``WITH a AS C MATCH (c:City)``: Neo4j binds a new variable ``c``, every city; LadybugDB's names ignore case
    and it reads ``C``, one row); None if none."""
    toks = tokens(text)
    positions = set(pattern_variable_positions(toks))
    aliases: dict[str, str] = {}
    for i, t in enumerate(toks):
        if i in positions and aliases.get(t.text.lower(), t.text) != t.text:
            return aliases[t.text.lower()], t.text
        if t.up == "AS" and i + 1 < len(toks) and (name := _name(toks[i + 1])):
            aliases.setdefault(name.lower(), name)
        elif t.up == "UNION" and t.depth == 0:  # a part of a UNION binds its own names
            aliases.clear()
    return None


def check(text: str, extra: Names = (), params: dict | None = None) -> None:
    """Refuse ``text`` when a label, relationship type or property name in it differs from the schema's only by
    case, a variable from the one the query binds, or a key read from a map from the map's keys (``params``: the
    query's parameters, None when not known: what comes from them is then not checked; see the module docstring)."""
    twins = pattern_twins(text)
    if twins:
        a, b = twins
        raise Unsupported(
            f"refused on the embedded store: the pattern variables {a} and {b} differ only by case; Neo4j tells them "
            f"apart (two nodes or relationships), LadybugDB reads them as one, so the two stores would answer "
            f"differently", fix=f"name them apart (e.g. {a} and {b.lower()}2)")
    twins = alias_twins(text)
    if twins:
        a, b = twins
        raise Unsupported(
            f"refused on the embedded store: the pattern variable {b} and {a}, bound before it by AS, differ only "
            f"by case; Neo4j binds a new variable {b}, LadybugDB ignores the case of names and reads {a}, so the "
            f"two stores would answer differently", fix=f"name them apart (e.g. {a} and {b}2)")
    cased = variable_case(text)
    if cased:
        written, bound = cased[0]
        raise Unsupported(
            f"refused on the embedded store: the variable {written} is not bound, the query binds {bound}; Neo4j "
            f"tells variables apart by case and refuses the query (Variable `{written}` not defined), LadybugDB ignores "
            f"it and reads {bound}", fix=f"write {bound} (every use of a variable in one case)")
    wrong, keys, lists = _analysed(text, extra, params)
    if wrong:
        written = _joined(w for w, _ in wrong)
        spelled = _joined(s for _, s in wrong)
        fixes = ", ".join(_fixed(w, s) for w, s in wrong)
        raise Unsupported(
            f"refused on the embedded store: {written} differ{'s' if len(wrong) == 1 else ''} from the schema's "
            f"{spelled} only by case; Neo4j tells names apart by case (a label or relationship type spelled otherwise "
            "matches nothing, a property spelled otherwise is null), LadybugDB ignores it and reads the schema's, so "
            "the two stores would answer differently",
            fix=f"write {fixes} (the schema's spelling; docs/cypher.md lists the schema)")
    both = [(w, others) for w, others, has in keys if has]
    if both:
        written, others = both[0]
        key = written.rsplit(".", 1)[1]
        raise Unsupported(
            f"refused on the embedded store: {written} reads a map that has the keys {others[0]} and {key}, which "
            f"differ only by case; Neo4j reads the key {key}, LadybugDB ignores case and reads the first of them, "
            f"{others[0]}, so the two stores would answer differently",
            fix="give the map's keys names that differ by more than case")
    if keys:
        written = _joined(w for w, _, _ in keys)
        spelled = _joined(o[0] for _, o, _ in keys)
        fixes = ", ".join(_fixed(w, o[0]) if w.endswith("}") else f"{w.rsplit('.', 1)[0]}.{o[0]}" for w, o, _ in keys)
        raise Unsupported(
            f"refused on the embedded store: {written} differ{'s' if len(keys) == 1 else ''} from the map's key"
            f"{'s' if len(keys) > 1 else ''} {spelled} only by case; Neo4j reads a map's keys by case (a key spelled "
            "otherwise is null), LadybugDB ignores it and reads the map's, so the two stores would answer differently",
            fix=f"write {fixes} (the key as the map spells it)")
    case = [(shown, a[0], b[0]) for shown, (kind, a, b) in lists if kind == "case"]
    if lists and not case:
        shown, (_, a, b) = lists[0]
        raise Unsupported(
            f"refused on the embedded store: the maps of the list {shown} have other keys or another order "
            f"({{{', '.join(a)}}} and {{{', '.join(b)}}}); LadybugDB gives all the maps of a list the keys of one of "
            "them by position (of [{a: 1, b: 2}, {b: 3, a: 4}] the first map reads {b: 1, a: 2}) or fails, Neo4j keeps "
            "each map's own, so the two stores would answer differently",
            fix="give every map of the list the same keys in the same order (null for a missing value)")
    if case:
        shown, a, b = case[0]
        raise Unsupported(
            f"refused on the embedded store: the maps of the list {shown} spell one key as {a} and as {b}; LadybugDB "
            "gives all the maps of a list one set of keys and ignores case (every map then has one of the two), Neo4j "
            "keeps each map's own, so the two stores would answer differently",
            fix=f"spell the key one way ({a} or {b}) in every map of the list")


def _joined(names: Iterable[str]) -> str:
    *most, last = names
    return f"{', '.join(most)} and {last}" if most else last


def _fixed(written: str, spelled: str) -> str:
    if written.startswith(":"):
        return f":{spelled}"
    if written.startswith("{"):
        return f"{{{spelled}: …}}"
    if " {." in written:
        return f"{written.split(' {.')[0]} {{.{spelled}}}"
    return f"{written.rsplit('.', 1)[0]}.{spelled}"
