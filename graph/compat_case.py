"""``CASE`` as Neo4j reads it, on LadybugDB (found by hand, session 35; checked against Neo4j 5.26 in
``tests/test_cypher_compat.py``):

- **Simple ``CASE``** ``CASE x WHEN v THEN …``: Neo4j compares ``x = v``, so a null never matches; LadybugDB
  0.20.4 matches ``WHEN null`` for every ``x`` (engine bug 27: ``CASE a.city_code WHEN null THEN 'none' ELSE
  'some' END`` is ``'none'`` for every applicant, Neo4j's ``'some'`` for all of them). Written as the general
  form: ``CASE WHEN x = v THEN …``, which both read alike. Neo4j's extended forms are written so too: a list of
  values (``WHEN 1, 2`` → ``WHEN (x = 1 OR x = 2)``) and a comparison (``WHEN > 5``, ``WHEN IS NULL``,
  ``WHEN STARTS WITH 'a'`` → ``WHEN x > 5`` …), which LadybugDB's parser does not read.
- **Branches of different types** (``CASE WHEN p.green THEN 1 ELSE 0.5 END``, ``THEN 1 ELSE c.lat``, ``THEN 0 …
  THEN 'firm'``): Neo4j returns each branch's value as it is; LadybugDB gives the ``CASE`` one type and converts
  the other branches to it (engine bug 28: with an integer first, ``0.5`` becomes ``1`` and every latitude an
  integer; beside a text, ``0`` becomes the text ``'0'`` and ``1.5`` ``'1.500000'``). Where the branches' types
  are known (literals, parameters, properties, counts and their aliases, calls of a known type, arithmetic of
  these) and mix integers with floats, every integer branch is written as a float, ``CAST((x) AS DOUBLE)`` (a
  branch whose type is not shown: below, never cast, which read a text '1.5' as a number): Neo4j's
  values (citynet prints a column of Neo4j's integers and floats as floats too); a text, boolean or date beside
  another type is refused, with the writing (every branch of one type). LadybugDB types a ``CASE`` by its last
  ``THEN`` (``THEN 0.5 WHEN … THEN 1 ELSE 2`` is an integer; ``THEN 1 ELSE 0.5`` too: 0.5 became 0).
- **A branch whose type the query does not show** (an ``UNWIND`` or ``WITH`` variable, a position of a list:
  ``UNWIND [1, 2] AS x UNWIND [0.5] AS y RETURN CASE WHEN x > 1 THEN x ELSE y END`` gave 0 for 0.5, ``THEN s ELSE
  x`` of a text ``s`` the text ``'1'``; found session 36): the engine's own types decide, in the query
  (:func:`_unknown_edits`): a last branch never taken, ``WHEN false THEN coalesce(b1, b2, …)``, types the ``CASE``
  as ``coalesce`` types all its branches (a float beside integers), and a first ``WHEN error(…)`` on their
  ``typeof`` stops the query before any row when they are of different kinds (a text, boolean, list or date
  beside another; every number one kind) — :func:`runtime_refusal` makes that the refusal's one message
  (``Unsupported``, exit 2). A ``CASE`` returning pattern variables (nodes) is left to
  :mod:`citynet.graph.compat_nulls`.

>>> simple_case("RETURN CASE a.kind WHEN 'firm' THEN 1 WHEN 'x', 'y' THEN 2 WHEN IS NULL THEN 0 END AS k")
"RETURN CASE WHEN a.kind = 'firm' THEN 1 WHEN (a.kind = 'x' OR a.kind = 'y') THEN 2 WHEN a.kind IS NULL THEN 0 END AS k"
"""

from __future__ import annotations

from citynet.graph.compat import Tok, Unsupported, tokens

# the first word or operator of a WHEN that compares the subject (Neo4j's extended simple CASE)
_COMPARISONS = {"=", "<>", "<", "<=", ">", ">=", "=~", "STARTS", "ENDS", "CONTAINS", "IS", "IN"}
_KIND_NAMES = {"integer": "an integer", "number": "a float", "text": "a text", "boolean": "a boolean", "date": "a date"}


def _markers(toks: list[Tok], i: int) -> tuple[list[tuple[str, int]], int]:
    """The ``WHEN``/``THEN``/``ELSE`` of the ``CASE`` at ``toks[i]`` (not of a ``CASE`` inside it), and the index
    of its ``END`` (``len(toks)`` when there is none)."""
    depth, level, out = toks[i].depth, 0, []
    for j in range(i, len(toks)):
        t = toks[j]
        if t.depth != depth or t.kind != "word":
            continue
        if t.up == "CASE":
            level += 1
        elif t.up == "END":
            level -= 1
            if level == 0:
                return out, j
        elif level == 1 and t.up in ("WHEN", "THEN", "ELSE"):
            out.append((t.up, j))
    return out, len(toks)


def _simple(toks: list[Tok], i: int) -> bool:
    return toks[i].kind == "word" and toks[i].up == "CASE" and i + 1 < len(toks) and toks[i + 1].up != "WHEN" \
        and not (i and toks[i - 1].text in (".", ":"))


def _term(toks: list[Tok], lo: int, hi: int, text: str) -> str:
    """The text of ``toks[lo:hi]``, in brackets unless it is one term (a name, literal, parameter, ``v.p``)."""
    inner = text[toks[lo].start:toks[hi - 1].end]
    one = hi == lo + 1 or (hi == lo + 3 and toks[lo].kind == "word" and toks[lo + 1].text == "."
                           and toks[lo + 2].kind == "word")
    return inner if one else f"({inner})"


def _rewrite_one(text: str, toks: list[Tok], i: int) -> str | None:
    """``text`` with the simple ``CASE`` at ``toks[i]`` in the general form, or None when its subject or a
    ``WHEN`` holds another simple ``CASE`` (written first) or it has no ``WHEN``."""
    marks, end = _markers(toks, i)
    whens = [k for k, (word, _) in enumerate(marks) if word == "WHEN"]
    if not whens or end >= len(toks):
        return None
    first_when = marks[whens[0]][1]
    spans = [(i + 1, first_when)] + [(marks[k][1] + 1, marks[k + 1][1]) for k in whens if k + 1 < len(marks)]
    if any(_simple(toks, j) for lo, hi in spans for j in range(lo, hi)) or first_when == i + 1:
        return None
    subject = _term(toks, i + 1, first_when, text)
    edits = [(toks[i + 1].start, toks[first_when].start, "")]
    for k in whens:
        if k + 1 >= len(marks) or marks[k + 1][0] != "THEN":
            return None
        lo, hi = marks[k][1] + 1, marks[k + 1][1]
        items, start = [], lo
        for j in range(lo, hi + 1):
            if j == hi or (toks[j].depth == toks[i].depth and toks[j].text == ","):
                if j == start:
                    return None
                if toks[start].up in _COMPARISONS and toks[start].kind in ("op", "word"):
                    items.append(f"{subject} {text[toks[start].start:toks[j - 1].end]}")
                else:
                    items.append(f"{subject} = {_term(toks, start, j, text)}")
                start = j + 1
        cond = items[0] if len(items) == 1 else "(" + " OR ".join(items) + ")"
        edits.append((toks[lo].start, toks[hi - 1].end, cond))
    for s, e, rep in sorted(edits, reverse=True):
        text = text[:s] + rep + text[e:]
    return text


def simple_case(text: str) -> str:
    """``text`` with every simple ``CASE`` written in the general form (the module docstring), innermost first."""
    if "case" not in text.lower():
        return text
    for _ in range(200):
        toks = tokens(text)
        for i in range(len(toks)):
            if _simple(toks, i):
                done = _rewrite_one(text, toks, i)
                if done is not None:
                    text = done
                    break
        else:
            return text
    return text


def branch_types(text: str, params: dict) -> str:
    """``text`` with the branches of a ``CASE`` that mixes integers and floats written as floats, ``CAST((x) AS
    DOUBLE)`` (the values Neo4j gives; LadybugDB would convert the floats to the last ``THEN``'s integers, engine
    bug 28); a ``CASE`` whose branches mix a text, boolean or date with another type refused. A ``CASE`` with a
    branch whose type the query does not show gets its type from the engine: :func:`_unknown_edits`."""
    if "case" not in text.lower():
        return text
    from citynet.graph.compat import pattern_variables
    from citynet.graph.compat_functions import _Writer

    toks = tokens(text)
    writer = _Writer(text, params)
    nodes = pattern_variables(toks)
    edits: list[tuple[int, int, str]] = []
    cases = [i for i, t in enumerate(toks) if t.kind == "word" and t.up == "CASE"
             and not (i and toks[i - 1].text in (".", ":"))]
    for i in reversed(cases):  # the innermost first: a copy of a branch carries the edits of a CASE inside it
        t = toks[i]
        marks, end = _markers(toks, i)
        results = []
        for k, (word, j) in enumerate(marks):
            if word in ("THEN", "ELSE"):
                hi = marks[k + 1][1] if k + 1 < len(marks) else end
                if hi > j + 1 and not _no_type(toks, j + 1, hi, params):
                    results.append((j + 1, hi, _kind(writer, toks, j + 1, hi, params)))
        kinds, which = mixed_kinds(text, toks, results)
        if which:
            shown = text[t.start:toks[min(end, len(toks) - 1)].end]
            raise Unsupported(
                f"refused on the embedded store: {shown} gives values of different types: {which}; LadybugDB gives a "
                "CASE one type and converts the other branches to it (0 becomes the text '0', 1.5 the text "
                "'1.500000'; docs/cypher.md, engine bug 28), Neo4j keeps each value's own",
                fix="give every branch one type (toString(…) beside a text), or run it on Neo4j (--store neo4j)")
        own: list[tuple[int, int, str]] = []
        if "number" in kinds and len(results) > 1:
            for lo, hi, kind in results:
                if kind == "integer":
                    own += [(toks[lo].start, toks[lo].start, "CAST(("), (toks[hi - 1].end, toks[hi - 1].end,
                                                                        ") AS DOUBLE)")]
        unknown = [r for r in results if r[2] is None]
        if unknown and len(results) > 1 and end < len(toks) and not any(
                hi == lo + 1 and toks[lo].text in nodes for lo, hi, _ in results):
            inner = edits + own
            branches = [_with_edits(text, toks[lo].start, toks[hi - 1].end, inner) for lo, hi, _ in results]
            else_at = next((j for word, j in marks if word == "ELSE"), end)
            shown = text[t.start:toks[end].end].replace("'", '"')
            own += _unknown_edits(toks[i].end, toks[else_at].start, branches, shown)
        edits += own
    return _applied(text, edits)


def _applied(text: str, edits: list[tuple[int, int, str]]) -> str:
    for s, e, rep in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        text = text[:s] + rep + text[e:]
    return text


def _with_edits(text: str, lo: int, hi: int, edits: list[tuple[int, int, str]]) -> str:
    """``text[lo:hi]`` with the ``edits`` inside it made."""
    return _applied(text[lo:hi], [(s - lo, e - lo, rep) for s, e, rep in edits if lo <= s and e <= hi])


def _no_type(toks: list[Tok], lo: int, hi: int, params: dict) -> bool:
    """A branch whose value gives the ``CASE`` no type: ``null``, ``[]``, a parameter given as null."""
    if hi == lo + 1:
        return toks[lo].up == "NULL" or (toks[lo].kind == "param" and params.get(toks[lo].text[1:], 0) is None)
    return hi == lo + 2 and toks[lo].text == "[" and toks[lo + 1].text == "]"


# LadybugDB's numeric types (typeof), one kind for the check of a CASE's branches: the engine widens them to one
_NUMERIC = "^(U?INT(8|16|32|64|128)|SERIAL|FLOAT|DOUBLE)$"  # (not in a list: [2, 3] beside [0.5] would print [2.0, 3.0])
REFUSED = "refused on the embedded store: "
_FIX = " fix: "


def _unknown_edits(after_case: int, before_else: int, branches: list[str], shown: str) -> list[tuple[int, int, str]]:
    """A ``CASE`` with a branch whose type the query does not show (an ``UNWIND`` or ``WITH`` variable, a position of
    a list, …): LadybugDB types a ``CASE`` by its last ``THEN`` and converts the other branches to it (engine bug 28:
    ``CASE WHEN x > 2 THEN x ELSE 0.5 END`` of an integer ``x`` gives 0 for 0.5). Two edits, from the engine's own
    types: a last branch that is never taken, ``WHEN false THEN coalesce(b1, b2, …)``, gives the ``CASE`` the type
    ``coalesce`` makes of all of them (a float beside integers: the values Neo4j gives, integers printed as floats as
    with Neo4j's column of both); and a first condition that stops the query (LadybugDB's ``error``, on its constant
    types, so before any row) when the branches' types (``typeof``, every number one kind) differ, a text beside a
    number for instance, which ``coalesce`` would make a text of."""
    message = (f"{REFUSED}{shown} gives values of different types; LadybugDB gives a CASE one type and converts the "
               "other branches to it (1.5 becomes the text 1.500000; docs/cypher.md, engine bug 28), Neo4j keeps "
               f"the type of each value.{_FIX}give every branch one type (toString(x), toFloat(x)), or run it on Neo4j "
               "(--store neo4j)")
    return [(after_case, after_case, f" WHEN {type_guard(branches, message)} THEN NULL"),
            (before_else, before_else, f"WHEN false THEN coalesce({', '.join(branches)}) ")]


def type_guard(values: list[str], message: str) -> str:
    """A condition that stops the query with ``message`` (LadybugDB's ``error``; on constant types, so when the
    query is bound, before any row) where the ``values`` are of different kinds (``typeof``; every number one kind,
    a null none), else false."""
    types = ", ".join(f"regexp_replace(regexp_replace(typeof({v}), '{_NUMERIC}', 'NUMBER'), '^(NULL|ANY)$', '')"
                      for v in values)
    text = message.replace("\\", "").replace("'", '"')
    return f"error(CASE WHEN size(list_distinct(['', {types}])) > 2 THEN '{text}' END) IS NOT NULL"


def shown(text: str) -> str:
    """A piece of the query as a refusal written into it shows it."""
    return text.replace("\\", "").replace("'", '"')


def runtime_refusal(message: str, statement: str = "") -> Unsupported | None:
    """The :class:`Unsupported` of a refusal that the engine raised for :func:`_unknown_edits` (``Runtime
    exception: refused on the embedded store: … fix: …``), also where the engine could not bind the ``coalesce`` of
    its branches (a text beside a number: "Implicit cast is not supported") before its ``error`` ran; None for any
    other error."""
    at = message.find(REFUSED)
    if at < 0 and "Implicit cast is not supported" in message and f"'{REFUSED}" in statement:
        import re

        name = re.search(r"Expression (\S+) has data type", message)
        starts = [m.end() - len(REFUSED) for m in re.finditer(re.escape(f"'{REFUSED}"), statement)]
        texts = [statement[k:statement.find("' END) IS NOT NULL", k)] for k in starts]
        named = [t for t in texts if name and re.search(rf"\b{re.escape(name.group(1))}\b", t.split(_FIX)[0])]
        message, at = (named or texts)[0], 0
    if at < 0 or _FIX not in message[at:]:
        return None
    text, fix = message[at:].split(_FIX, 1)
    return Unsupported(text.strip(), fix=fix.strip().splitlines()[0])


_FLOAT_CALLS = {"TOFLOAT", "AVG", "SQRT", "LOG", "LOG10", "LN", "EXP", "ROUND", "CEIL", "FLOOR", "STDEV", "STDEVP",
                "PERCENTILECONT", "SIN", "COS", "TAN", "ATAN", "ATAN2", "ASIN", "ACOS", "RADIANS", "DEGREES", "PI", "E",
                "RAND"}
_INT_CALLS = {"TOINTEGER", "SIGN", "LENGTH"}
_DATE_FIELDS = {"year", "month", "day", "quarter", "week", "dayOfWeek", "ordinalDay", "dayOfQuarter", "weekYear"}
_TEXT_CALLS = {"TOSTRING", "TOLOWER", "TOUPPER", "LOWER", "UPPER", "TRIM", "LTRIM", "RTRIM", "BTRIM", "SUBSTRING",
               "REPLACE", "LEFT", "RIGHT", "REVERSE"}


def mixed_kinds(text: str, toks: list[Tok], parts) -> tuple[dict[str, str], str | None]:
    """The kinds of ``parts`` (``(lo, hi, kind)``: token ranges and their known kind, or None) with the text of
    the first part of each, and — when they mix other kinds than integers and floats, which neither engine
    can give one type without changing a value — the mixture named for a refusal (``"1 (an integer), 'a'
    (a text)"``), else None."""
    kinds: dict[str, str] = {}
    for lo, hi, kind in parts:
        if kind is not None:
            kinds.setdefault(kind, text[toks[lo].start:toks[hi - 1].end])
    if len(kinds) > 1 and not set(kinds) <= {"integer", "number"}:
        return kinds, ", ".join(f"{v} ({_KIND_NAMES.get(k, k)})" for k, v in kinds.items())
    return kinds, None


def _kind(writer, toks: list[Tok], lo: int, hi: int, params: dict) -> str | None:
    """``integer``, ``number``, ``text``, ``boolean``, ``date`` of a branch's value where the query shows it:
    literals, parameters, properties, counts and their aliases, calls of a known result, and arithmetic of these
    (a float anywhere makes a float; ``^`` is a float on Neo4j)."""
    from citynet.graph.compat import closing

    while hi > lo + 2 and toks[lo].text == "(" and closing(toks, lo) == hi - 1:
        lo, hi = lo + 1, hi - 1
    depth = toks[lo].depth
    ops = [j for j in range(lo + 1, hi) if toks[j].depth == depth and toks[j].kind == "op"
           and toks[j].text in ("+", "-", "*", "/", "%", "^") and toks[j - 1].text not in ("+", "-", "*", "/", "%", "^")]
    if ops:
        bounds = [lo, *ops, hi]
        parts = [_kind(writer, toks, bounds[k] + (k > 0), bounds[k + 1], params) for k in range(len(bounds) - 1)]
        if any(toks[j].text == "^" for j in ops) and all(p in ("integer", "number") for p in parts):
            return "number"
        if all(p == "integer" for p in parts):
            return "integer"
        if all(p in ("integer", "number") for p in parts):
            return "number"
        if "text" in parts and all(toks[j].text == "+" for j in ops):
            return "text"
        return None
    if hi == lo + 2 and toks[lo].text in ("-", "+"):
        lo += 1
    if hi == lo + 5 and toks[lo + 1].text == toks[lo + 3].text == "." and toks[lo + 4].text in _DATE_FIELDS:
        return "integer"  # a date's component: p.grant_date.year
    if hi == lo + 1 and toks[lo].kind == "word" and toks[lo].up in ("TRUE", "FALSE"):
        return "boolean"
    if hi == lo + 1 and toks[lo].kind == "param":
        value = params.get(toks[lo].text[1:])
        if isinstance(value, bool):
            return "boolean"
        return "integer" if isinstance(value, int) else "number" if isinstance(value, float) else \
            "text" if isinstance(value, str) else None
    if hi > lo + 2 and toks[lo].kind == "word" and toks[lo + 1].text == "(" and closing(toks, lo + 1) == hi - 1:
        name = toks[lo].up
        if name in _FLOAT_CALLS:
            return "number"
        if name in _INT_CALLS:
            return "integer"
        if name in _TEXT_CALLS:
            return "text"
        if name == "DATE":
            return "date"
    try:
        return writer.value_kind(lo, hi)
    except (IndexError, ValueError):
        return None
