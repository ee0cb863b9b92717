"""Labels, relationship types and property names written in another case than the schema's.

Neo4j tells names apart by case: ``:CIty`` is another label than ``:City`` (no node has it: no row,
``count`` 0), ``-[:applied]->`` another relationship type (no row), ``c.NAME_ZH`` another property (null;
a pattern's ``{CITY_CODE: '320100'}`` matches nothing, ``c.Name_Zh IS NULL`` is true). LadybugDB 0.20.4
ignores the case of all three and reads the schema's name: 337 cities, every ``APPLIED``, the names —
another answer, without a word. Writing Neo4j's answer instead (an empty pattern, a null) would hide
what is nearly always a slip, and a name the schema lacks altogether is an error on the embedded store
anyway (schema_hints), so :func:`check` refuses such a name with one message naming it and the schema's
spelling (``Unsupported``, exit 2).

Checked: a label or relationship type after ``:``/``|``/``&`` in a pattern, ``SET``/``REMOVE`` or a
label test (``WHERE n:city``); a property read or written on a variable bound by a node or relationship
pattern, or renamed from one by ``AS`` (``c.NAME_ZH``, ``SET c.Tier = …``, ``REMOVE``, ``IS NULL``),
a map projection's ``c {.NAME_ZH}`` and a pattern's map keys ``(c:City {CITY_CODE: $x})``. Names come
from the declared schema (``cypher/schema.embedded.cypher``) and, for ``CityYear``'s metric columns, the
store's own list (``extra``). A variable read in another case than it is bound (``MATCH (c:City) RETURN
C.name_zh``, ``RETURN C``, ``count(C)``, ``WHERE C:City``, ``{a: C}``: Neo4j refuses it, not defined; LadybugDB
reads ``c``) is refused too. Not checked: a map's keys outside a pattern (``{Name: 1}.name``: LadybugDB
ignores their case too), a property of a variable bound otherwise (``UNWIND collect(c) AS x``).

>>> check("MATCH (c:City) RETURN c.name_zh AS name")
>>> check("MATCH (c:CIty) WHERE c.NAME_ZH IS NULL RETURN count(c)")
Traceback (most recent call last):
citynet.graph.compat.Unsupported: refused on the embedded store: :CIty and c.NAME_ZH differ from the schema's City and name_zh only by case; Neo4j tells names apart by case (a label or relationship type spelled otherwise matches nothing, a property spelled otherwise is null), LadybugDB ignores it and reads the schema's, so the two stores would answer differently
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache

from citynet.graph.compat import CLAUSES, OPERATOR_WORDS, Tok, Unsupported, closing, pattern_variables, tokens

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


def _variables(toks: list[Tok]) -> set[str]:
    """Variables bound by a pattern, and names given to them by ``AS`` (``WITH c AS x``)."""
    out = {v.strip("`") for v in pattern_variables(toks)}
    while True:
        more = {_name(toks[i + 1]) for i in range(1, len(toks) - 1)
                if toks[i].up == "AS" and _name(toks[i - 1]) in out and toks[i - 2].text != "."
                and _name(toks[i + 1])} - out
        if not more:
            return out
        out |= more


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


def found(text: str, extra: Names = ()) -> list[tuple[str, str]]:
    """``(as written, the schema's spelling)`` of each label, relationship type and property name of ``text`` that
    differs from the schema's only by case (``extra``: property names the store holds beyond the schema's, or a
    function giving them, called only for a name the schema lacks)."""
    toks = tokens(text)
    tables, declared = _schema()
    props = set(declared)
    lower = {p.lower(): p for p in sorted(props)}
    out: list[tuple[str, str]] = []
    live: list[Iterable[str] | Callable[[], Iterable[str]]] = [extra]

    def prop(written: str, name: str | None) -> None:
        if not name or name in props:
            return
        if live:  # the store's own names (CityYear's metric columns), read once
            more = live.pop()
            props.update((more() if callable(more) else more) or ())
            lower.update({p.lower(): p for p in sorted(props - set(declared))})
        if name not in props and name.lower() in lower:
            out.append((written, lower[name.lower()]))

    variables = _variables(toks)
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
        elif t.text == "." and 0 < i < len(toks) - 1:
            before = toks[i - 1]
            if _name(before) in variables and not (i > 1 and toks[i - 2].text == "."):
                prop(f"{_name(before)}.{_name(toks[i + 1])}", _name(toks[i + 1]))
            elif before.text in ("{", ","):  # c {.name_zh, .city_code}
                o = _enclosing(toks, i)
                if o > 0 and toks[o].text == "{" and _name(toks[o - 1]) in variables:
                    prop(f"{_name(toks[o - 1])} {{.{_name(toks[i + 1])}}}", _name(toks[i + 1]))
        elif t.text == "{" and i > 0 and _pattern_map(toks, i):
            for j in range(i + 1, closing(toks, i)):
                if toks[j].depth == t.depth + 1 and toks[j - 1].text in ("{", ",") and j + 1 < len(toks) \
                        and toks[j + 1].text == ":":
                    prop(f"{{{_name(toks[j])}: …}}", _name(toks[j]))
    seen: dict[str, str] = {}
    for written, spelled in out:
        seen.setdefault(written, spelled)
    return list(seen.items())


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


def check(text: str, extra: Names = ()) -> None:
    """Refuse ``text`` when a label, relationship type or property name in it differs from the schema's only by
    case, or a variable from the one the query binds (see the module docstring)."""
    twins = pattern_twins(text)
    if twins:
        a, b = twins
        raise Unsupported(
            f"refused on the embedded store: the pattern variables {a} and {b} differ only by case; Neo4j tells them "
            f"apart (two nodes or relationships), LadybugDB reads them as one, so the two stores would answer "
            f"differently", fix=f"name them apart (e.g. {a} and {b.lower()}2)")
    cased = variable_case(text)
    if cased:
        written, bound = cased[0]
        raise Unsupported(
            f"refused on the embedded store: the variable {written} is not bound, the query binds {bound}; Neo4j "
            f"tells variables apart by case and refuses the query (Variable `{written}` not defined), LadybugDB ignores "
            f"it and reads {bound}", fix=f"write {bound} (every use of a variable in one case)")
    wrong = found(text, extra)
    if not wrong:
        return
    written = " and ".join(", ".join(w for w, _ in wrong).rsplit(", ", 1))
    spelled = " and ".join(", ".join(s for _, s in wrong).rsplit(", ", 1))
    fixes = ", ".join(_fixed(w, s) for w, s in wrong)
    raise Unsupported(
        f"refused on the embedded store: {written} differ{'s' if len(wrong) == 1 else ''} from the schema's "
        f"{spelled} only by case; Neo4j tells names apart by case (a label or relationship type spelled otherwise "
        "matches nothing, a property spelled otherwise is null), LadybugDB ignores it and reads the schema's, so "
        "the two stores would answer differently",
        fix=f"write {fixes} (the schema's spelling; docs/cypher.md lists the schema)")


def _fixed(written: str, spelled: str) -> str:
    if written.startswith(":"):
        return f":{spelled}"
    if written.startswith("{"):
        return f"{{{spelled}: …}}"
    if " {." in written:
        return f"{written.split(' {.')[0]} {{.{spelled}}}"
    return f"{written.split('.')[0]}.{spelled}"
