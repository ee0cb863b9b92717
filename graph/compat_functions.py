"""Functions and list positions that mean something else on LadybugDB, rewritten to Neo4j's meaning.

Neo4j counts list and string positions from 0, with slices that exclude their end; LadybugDB counts
from 1, with slices that include it. Some functions share a name and differ in meaning, some are missing,
and a date has no components to read:

- ``l[0]`` (the first element): an error on LadybugDB (positions from 1) → ``l[1]``; ``l[1]`` (the
  second): the first → ``l[2]``; ``l[i]`` → ``l[CASE WHEN (i) < 0 THEN (i) ELSE (i) + 1 END]``;
- a chain of positions and properties, ``l[0][1]``, ``l[0].k[1]`` (found session 36): each position as above, in
  the brackets LadybugDB's parser needs — before a predicate, ``(l[1][2]) IS NULL`` (also ``STARTS WITH``, ``ENDS
  WITH``, ``CONTAINS``, ``=~``; they were a syntax error, ``=~`` after ``l[0]`` too), before a property,
  ``(l[1]).k`` (a syntax error), and after a unary minus, ``-(l[1][2])`` (LadybugDB negated the list: an error);
- ``l[1..3]`` (second and third): first to third → ``l[2..3]``; in general ``l[a..b]`` →
  ``l[<a from 1>..<b included>]``;
- ``substring(s, 1, 3)``: from the first character → ``substring(s, 2, 3)``; ``substring(s, 2)`` (the
  rest): an error (a length is needed) → ``substring(s, 3, 2147483647)`` (LadybugDB stops at the end);
  a start beyond the text is ``''`` (LadybugDB: the whole text when the start is within the text's bytes,
  engine bug 14), so the call is ``CASE WHEN (start) > size(s) THEN '' ELSE substring(…) END``; a negative
  length (Neo4j: an error; LadybugDB: the process ends) is refused when written, read as 0 when computed;
- ``log(x)`` (natural): base 10 → ``ln(x)``;
- ``reverse([1, 2])``: the text ``']2,1['`` → ``list_reverse([1, 2])``;
- ``labels(n)`` (a list): a text, also for a null ``n`` → ``CASE WHEN (n) IS NULL THEN NULL ELSE [label(n)] END``;
- ``type(r)``: missing → ``CASE WHEN (r) IS NULL THEN NULL ELSE label(r) END``;
- ``p.app_date.year`` (``.month``, ``.day``, ``.quarter``, ``.week``, ``.dayOfWeek``, ``.ordinalDay``): an error →
  ``date_part('year', p.app_date)`` (``dayOfWeek``: Monday 1 … Sunday 7, from LadybugDB's Sunday 0 …;
  ``ordinalDay``: the days since 1 January + 1);
- ``substring(s, …)`` and ``replace(s, …)``: ``s`` as ``coalesce(s, NULL)``: of an ``OPTIONAL MATCH``'s
  property LadybugDB's three-argument text functions return null for almost every row (engine bug 13), and
  with a length computed from a relationship's property other rows' values (engine bug 12); on a value
  computed first both are right;
- ``round(x)``: missing → ``(CASE WHEN (x) - floor(x) >= 0.5 THEN ceil(x) ELSE floor(x) END * 1.0 + 0.0)``
  (Neo4j's ``Math.round``, halves up, as a float; ``+ 0.0``: a zero is ``0.0``, never ``-0.0``); ``round(x, 2)`` refused (Neo4j rounds the decimal text
  half away from zero, LadybugDB the binary value: ``round(0.285, 2)`` is 0.29 and 0.28);
- ``ceil(x)``, ``floor(x)``: an integer of an integer → ``(ceil(x) * 1.0)`` (a float, as Neo4j's);
- ``toString(x)``, ``toInteger(x)``, ``toFloat(x)`` (missing) of an integer property or literal (also a count, a
  size, a sum of integers, an alias defined as one: :meth:`_Writer.value_kind`) → ``cast(x AS STRING)``,
  ``(x)``, ``cast(x AS DOUBLE)``; ``toString`` of a text, ``toFloat`` of a float → ``(x)``; ``toInteger`` of a
  float → ``cast(CASE WHEN x < 0 THEN ceil(x) ELSE floor(x) END AS INT64)`` (towards zero; the cast rounds); ``toInteger`` of a
  text → ``cast(x AS INT64)`` (a whole number the same; a text that is none, null on Neo4j, stops LadybugDB:
  ``'3.7'``, ``'+5'``, ``'1e3'``, ``'abc'``); of other values they stay LadybugDB's error, with the writing named
  (``toString(1.5)`` would be ``'1.500000'``);
- ``trim(s)``, ``ltrim``, ``rtrim``, ``btrim`` (also with the characters to remove, ``ltrim(s, '0')``, and GQL's
  ``trim(LEADING '0' FROM s)``) → ``regexp_replace(CAST(coalesce(s, NULL) AS STRING), '^[…]+', '')``: Java's
  whitespace as Neo4j removes it (LadybugDB removes spaces only, not a tab or the ideographic space U+3000), and
  LadybugDB's trim of a text longer than 12 bytes to one of 12 or fewer returns other bytes (engine bug 26);
  characters to remove given by a parameter or expression are refused;
- ``duration.inDays(a, b).days`` (days from date ``a`` to ``b``): no duration functions → ``((b) - (a))``, the
  difference of two dates in days; other ``duration.…`` refused.

The list predicates ``any``, ``all``, ``none`` and ``single(x IN l WHERE …)`` are refused, with the
``UNWIND`` form that both stores answer alike: LadybugDB 0.20.4 ends the process on them beyond about
2,048 rows of lists (engine bug 10), and its ``list_filter`` cannot stand in (a ``NOT`` inside it, or two of
them in one projection, give wrong counts).

Negative positions count from the end on both engines (``l[-1]`` is the last element) and are kept.
``reverse`` of a text is the same on both; of a value whose type the query does not show (a variable
from ``WITH``) it is refused with the rewrite. An index beyond the list is null on Neo4j and an error on
LadybugDB; for a list property (``p.ipc[0]`` of a patent without IPC classes) the position is read from a
slice with a null after it, ``(list_concat(coalesce(p.ipc, NULL)[1..1], CAST([NULL] AS STRING[]))[1])``, and a
slice of a list property reads it detached, ``coalesce(p.ipc, NULL)[1..2]`` (of an ``OPTIONAL MATCH``'s node
LadybugDB 0.20.4 slices nulls for almost every row, engine bug 20); beyond other lists it stays an error
(loud, never a different answer); a position of a text or number (``c.name_zh[0]``, which
Neo4j refuses and LadybugDB answers with a character) is refused. Checked against Neo4j 5.26 in
``tests/test_cypher_compat.py``; every slice of ``[10, 20, 30]`` with bounds −5…5 or none gives
Python's (Neo4j's) slice.

>>> rewrite("RETURN substring(c.city_code, 0, 2) AS prov, p.ipc[0] AS first, log(x) AS l")
"RETURN CASE WHEN (1) > size(coalesce(c.city_code, NULL)) THEN '' ELSE substring(coalesce(c.city_code, NULL), 1, 2) END AS prov, (list_concat(coalesce(p.ipc, NULL)[1..1], CAST([NULL] AS STRING[]))[1]) AS first, ln(x) AS l"
>>> rewrite("RETURN l[1..-1], l[i], reverse(collect(x))")
'RETURN l[2..-2], l[CASE WHEN (i) < 0 THEN (i) ELSE (i) + 1 END], list_reverse(collect(x))'
"""

from __future__ import annotations

from functools import cache

from citynet.graph.compat import CLAUSES, Tok, Unsupported, arguments, closing, tokens
from citynet.graph.compat_types import list_properties

# words after which "[" opens a list (or a pattern), not a position: clauses and operators
_NOT_A_VALUE = CLAUSES | {"AND", "OR", "XOR", "NOT", "IN", "AS", "CASE", "WHEN", "THEN", "ELSE", "DISTINCT",
                          "BY", "IS", "STARTS", "ENDS", "CONTAINS", "ASC", "DESC", "ASCENDING", "DESCENDING",
                          "ALL", "ANY", "NONE", "SINGLE", "EXISTS"}
_QUANTIFIERS = {"ANY", "ALL", "NONE", "SINGLE"}
_LIST_CALLS = {"COLLECT", "RANGE", "KEYS", "LABELS", "NODES", "RELATIONSHIPS", "RELS", "TAIL", "SPLIT",
               "LIST_REVERSE", "LIST_SORT", "LIST_DISTINCT", "REVERSE"}


_INTEGER_CALLS = {"COUNT", "SIZE", "LENGTH"}  # an integer whatever they read
_SAME_KIND_CALLS = {"SUM", "MIN", "MAX", "ABS", "COALESCE"}  # the kind of what they read, where it is one

# Neo4j's conversions where LadybugDB's cast gives the same value or stops, by the argument's kind (others, e.g.
# toString of a float — LadybugDB writes six decimals — stay the engine's error with the writing named)
_CONVERSIONS = {
    "TOSTRING": {"integer": "cast({} AS STRING)", "text": "({})"},
    "TOINTEGER": {"integer": "({})", "text": "cast({} AS INT64)",  # a text not a whole number: an error there
                  # a float towards zero, as Neo4j (LadybugDB's cast rounds: 32.7 gives 33)
                  "number": "cast(CASE WHEN ({0}) < 0 THEN ceil({0}) ELSE floor({0}) END AS INT64)"},
    "TOFLOAT": {"integer": "cast({} AS DOUBLE)", "number": "({})"},
}

_TRIMS = {"TRIM", "LTRIM", "RTRIM", "BTRIM"}
# Java's Character.isWhitespace, which Neo4j's trim removes (not U+00A0, U+2007, U+202F, U+0085, U+FEFF), as a class
# of RE2 in a LadybugDB text (a backslash written twice)
_JAVA_WHITESPACE = ("\\\\t-\\\\r\\\\x{1c}-\\\\x{1f} \\\\x{1680}\\\\x{2000}-\\\\x{2006}\\\\x{2008}-\\\\x{200a}"
                    "\\\\x{2028}\\\\x{2029}\\\\x{205f}\\\\x{3000}")

# Neo4j's date components and LadybugDB's date_part names (week: ISO 8601 on both)
_DATE_PARTS = {"year": "year", "month": "month", "day": "day", "quarter": "quarter", "week": "week", "ordinalDay": "doy",
               "dayOfWeek": "dow"}


@cache
def _kind_names(kind: str) -> frozenset[str]:
    """Properties of one kind (``date``, ``text``, …; :func:`citynet.graph.compat_types.property_kinds`)."""
    from citynet.graph.compat_types import property_kinds

    return frozenset(p for p, k in property_kinds().items() if k == kind)


@cache
def _scalar_kinds() -> dict[str, str]:
    from citynet.graph.compat_types import property_kinds

    names = {"integer": "an integer", "number": "a number", "boolean": "a boolean", "date": "a date"}
    return {p: names.get(k, k) for p, k in property_kinds().items()}


_STRING_TESTS = {"STARTS", "ENDS", "CONTAINS", "IS", "=~"}  # a position before these needs brackets on LadybugDB


def _after_string_test(toks: list[Tok], k: int) -> bool:
    """``toks[k]`` follows ``STARTS WITH``, ``ENDS WITH``, ``CONTAINS`` or ``=~``, after which LadybugDB's parser
    refuses a position (``'abc' STARTS WITH l[1]``: "mismatched input '['"; found by the expression test, seed
    2026120803); in brackets it reads it."""
    before = toks[k - 1] if k else None
    if before is None:
        return False
    if before.up == "CONTAINS" or (before.text == "~" and k >= 2 and toks[k - 2].text == "="):
        return True
    return before.up == "WITH" and k >= 2 and toks[k - 2].up in ("STARTS", "ENDS")


def _base_start(toks: list[Tok], i: int) -> int | None:
    """The first token of the value before the ``[`` at ``toks[i]``: ``v.p``, ``v``, a literal or parameter, a call
    ``f(…)`` or a bracket ``(…)``, ``[…]``, with the positions and properties after it (None: another expression)."""
    j = i - 1
    while j >= 0:
        t = toks[j]
        if t.kind == "op" and t.text in (")", "]"):
            k = next((k for k in range(j - 1, -1, -1) if toks[k].depth == t.depth and toks[k].text in ("(", "[")), None)
            if k is None:
                return None
            j = k - 1 if k and toks[k].text == "(" and toks[k - 1].kind == "word" and toks[k - 1].up not in _NOT_A_VALUE \
                and not (k >= 2 and toks[k - 2].text in (".", ":")) else k
        elif t.kind in ("word", "bq", "param", "str", "num") and t.up not in _NOT_A_VALUE:
            if j >= 2 and toks[j - 1].text == "." and toks[j - 2].kind in ("word", "bq"):
                j -= 2
                continue
        else:
            return None
        if j and toks[j - 1].text in ("[", ".") and toks[j - 1].depth == toks[j].depth:
            return None
        if j and toks[j - 1].text == "]" or (j and toks[j].text == "[" and _is_position(toks, j)):
            j -= 1  # a position of a position: l[0][1]
            continue
        return j
    return None


def _is_position(toks: list[Tok], i: int) -> bool:
    """``toks[i]`` is a ``[`` that takes a position or slice of the value before it."""
    if i == 0:
        return False
    prev = toks[i - 1]
    if prev.kind in ("param", "str") or (prev.kind == "op" and prev.text in (")", "]")):
        return True
    return prev.kind in ("word", "bq") and prev.up not in _NOT_A_VALUE and not (
        i >= 2 and toks[i - 2].text == ":")  # (n:Label [ is not a position


class _Writer:
    def __init__(self, text: str, params: dict):
        self.text, self.params = text, params
        self.toks = tokens(text)

    def span(self, lo: int, hi: int) -> str:
        """The rewritten text of tokens ``lo`` … ``hi - 1``."""
        toks, out = self.toks, []
        if lo >= hi:
            return ""
        pos, i = toks[lo].start, lo
        closers: dict[int, int] = {}  # in a chain l[0].k[1] IS NULL: ')' after these tokens (how many)
        while i < hi:
            for k in sorted(k for k in closers if k < i):
                out.append(self.text[pos:toks[k].end] + ")" * closers.pop(k))
                pos = toks[k].end
            t = toks[i]
            done = None
            if t.kind == "word" and i + 4 < hi and toks[i + 1].text == "." and toks[i + 3].text == "." \
                    and toks[i + 4].text in _DATE_PARTS and toks[i + 2].text in _kind_names("date") \
                    and not (i and toks[i - 1].text == "."):
                done = self.date_part(i)
            elif t.kind == "word" and t.up == "DURATION" and i + 2 < hi and toks[i + 1].text == "." \
                    and not (i and toks[i - 1].text == "."):
                done = self.duration(i, hi)
            elif t.kind == "word" and i + 1 < hi and toks[i + 1].text == "(" and not (i and toks[i - 1].text == "."):
                done = self.call(i)
            elif t.kind == "op" and t.text == "[" and _is_position(toks, i):
                done = self.position(i)
            if done is None:
                i += 1
                continue
            end, replacement = done
            element = self.list_property_element(i, end) if t.text == "[" else None
            if element is not None and toks[i - 3].start >= pos:
                # Neo4j: null beyond the list (LadybugDB: an error), so one position is a slice of it and a null;
                # the property detached first (of an OPTIONAL MATCH's node LadybugDB slices nulls: engine bug 20)
                detached = f"coalesce({self.text[toks[i - 3].start:t.start]}, NULL)"
                if any(toks[j].text == ".." and toks[j].depth == t.depth + 1 for j in range(i + 1, end)):  # a slice
                    out.append(self.text[pos:toks[i - 3].start] + detached + replacement)
                else:
                    k = replacement[1:-1]
                    out.append(self.text[pos:toks[i - 3].start]
                               + f"(list_concat({detached}[{k}..{k}], CAST([NULL] AS {element}[]))[1])")
                pos, i = toks[end].end, end + 1
                continue
            opened, last = self.chain(i, end, hi) if t.text == "[" and not closers else ({}, end)
            base = _base_start(toks, i) if t.text == "[" and not closers else None
            if base is not None and base > lo and toks[base - 1].text == "-" and (
                    base - 1 == lo or toks[base - 2].kind == "word" and toks[base - 2].up in _NOT_A_VALUE
                    or toks[base - 2].kind == "op" and toks[base - 2].text not in (")", "]", "}")):
                opened[last] = opened.get(last, 0) + 1  # -(l[1]): LadybugDB negates l first
            if base is not None and base > lo and _after_string_test(toks, base):
                opened[last] = opened.get(last, 0) + 1  # 'abc' STARTS WITH (l[1]): its parser needs the brackets
            base = base if opened else None
            if base is not None and toks[base].start >= pos:  # LadybugDB's parser: (l[1]) STARTS WITH …, (l[1]).k
                out.append(self.text[pos:toks[base].start] + "(" * sum(opened.values())
                           + self.text[toks[base].start:t.start] + replacement + ")" * opened.pop(end, 0))
                closers = opened
            else:
                out.append(self.text[pos:t.start] + replacement)
            pos, i = toks[end].end, end + 1
        for k in sorted(closers):
            out.append(self.text[pos:toks[k].end] + ")" * closers[k])
            pos = toks[k].end
        out.append(self.text[pos:toks[hi - 1].end])
        return "".join(out)

    def chain(self, i: int, end: int, hi: int) -> tuple[dict[int, int], int]:
        """Where LadybugDB's parser needs brackets in the chain of positions and properties that starts with the
        position ``toks[i:end + 1]`` (``l[0][1]``, ``l[0].k[1]``): a ``)`` after each ``]`` followed by a property
        (``(l[1]).k``: a property of a position is a syntax error there) and after the chain's last token when a
        predicate follows (``(l[1][2]) IS NULL``, ``STARTS WITH``, ``ENDS WITH``, ``CONTAINS``, ``=~``): token index →
        the brackets closed after it (none: {}), and the chain's last token."""
        toks, last, out = self.toks, end, {}
        while last + 1 < hi:
            nxt = toks[last + 1]
            if nxt.text == "[" and _is_position(toks, last + 1):
                last = closing(toks, last + 1)
            elif nxt.text == "." and last + 2 < hi and toks[last + 2].kind in ("word", "bq"):
                if toks[last].text == "]":
                    out[last] = out.get(last, 0) + 1
                last += 2
            else:
                break
        after = toks[last + 1] if last + 1 < hi else None
        if after is not None and (after.up in _STRING_TESTS or (
                after.text == "=" and last + 2 < hi and toks[last + 2].text == "~")):
            out[last] = out.get(last, 0) + 1
        return out, last

    def list_property_element(self, i: int, close: int) -> str | None:
        """The element type of the list property ``v.p`` before the position or slice ``[…]`` at ``toks[i]``,
        or None."""
        toks = self.toks
        if i < 3 or toks[i - 2].text != "." or toks[i - 3].kind != "word" or toks[i - 1].kind != "word" \
                or (i >= 4 and toks[i - 4].text == "."):
            return None
        from citynet.graph.embedded_order import declared_types

        types = declared_types().get(toks[i - 1].text, set())
        if toks[i - 1].text not in list_properties() or len(types) != 1:
            return None
        (declared,) = types
        return declared[:-2]

    def call(self, i: int):
        name = self.toks[i].up
        if name in _QUANTIFIERS:
            return self.quantifier(i)
        if name not in ("SUBSTRING", "REPLACE", "LOG", "REVERSE", "LABELS", "TYPE", "ROUND", "CEIL", "FLOOR", "HEAD",
                        "LAST") and name not in _CONVERSIONS and name not in _TRIMS:
            return None
        close = closing(self.toks, i + 1)
        if name in _TRIMS:
            return close, self.trim(i, close)
        args = arguments(self.toks, i + 1)
        texts = [self.span(a, b) for a, b in args]
        if name in _CONVERSIONS:  # LadybugDB has none; exact as a cast where the argument's kind is known
            written = _CONVERSIONS[name].get(self.value_kind(*args[0])) if len(args) == 1 else None
            return None if written is None else (close, written.format(texts[0]))
        if name in ("HEAD", "LAST") and len(args) == 1:  # LadybugDB has neither: the first or last position
            a, b = args[0]  # (of a list property, an empty list is an error there: left to the named fix)
            if b == a + 3 and self.toks[a + 1].text == ".":
                return None
            return close, f"({texts[0]})[{1 if name == 'HEAD' else -1}]"
        if name == "LOG" and len(args) == 1:
            return close, f"ln({texts[0]})"
        if name in ("LABELS", "TYPE") and len(args) == 1:  # LadybugDB: label(x), also of a null x
            label = f"[label({texts[0]})]" if name == "LABELS" else f"label({texts[0]})"
            return close, f"CASE WHEN ({texts[0]}) IS NULL THEN NULL ELSE {label} END"
        if name == "SUBSTRING" and len(args) in (2, 3):
            return close, self.substring(i, close, args, texts)
        if name == "REPLACE" and len(args) == 3:
            return close, f"{self.toks[i].text}({self.detached(args[0], texts[0])}, {texts[1]}, {texts[2]})"
        if name in ("CEIL", "FLOOR") and len(args) == 1:  # Neo4j: a float, also of an integer
            return close, f"({self.toks[i].text}({texts[0]}) * 1.0)"
        if name == "ROUND":
            return close, self.round(i, close, args, texts)
        if name == "REVERSE" and len(args) == 1:
            kind = self.kind_of(*args[0])
            if kind == "list":
                return close, f"list_reverse({texts[0]})"
            if kind == "text":
                return close, f"{self.toks[i].text}({texts[0]})"
            raise Unsupported(
                f"refused on the embedded store: reverse({self.text[self.toks[args[0][0]].start:self.toks[args[0][1] - 1].end]}) "
                "of a value whose type the query does not show; LadybugDB's reverse of a list is a text",
                fix="reverse a list written or collected in the same expression (reverse(collect(x))), or run it "
                    "on Neo4j (--store neo4j)")
        return None

    def trim(self, i: int, close: int) -> str:
        """``trim(s)``, ``ltrim``, ``rtrim``, ``btrim``, with the characters to remove (``ltrim(s, '0')``) or
        in GQL's form (``trim(LEADING '0' FROM s)``) → ``regexp_replace(CAST(s AS STRING), …)`` with Neo4j's
        meaning: whitespace is Java's (tabs, line ends, the ideographic space U+3000, …; LadybugDB's trim removes
        spaces only), and LadybugDB's trim of a text longer than 12 bytes to one of 12 or fewer returns other
        bytes (engine bug 26: ``trim('  individual  ') = 'individual'`` is false, ``'   abcde   '`` trims to
        ``'abcdp'``); the characters to remove must be written (a parameter or expression: refused)."""
        toks, shown = self.toks, self.text[self.toks[i].start:self.toks[close].end]
        side = {"TRIM": "both", "BTRIM": "both", "LTRIM": "leading", "RTRIM": "trailing"}[toks[i].up]
        inner = [j for j in range(i + 2, close) if toks[j].depth == toks[i + 1].depth + 1]
        froms = [j for j in inner if toks[j].up == "FROM"]
        if froms and side == "both" and toks[i].up == "TRIM":  # trim([BOTH|LEADING|TRAILING] [chars] FROM s)
            lo = i + 2
            if toks[lo].up in ("BOTH", "LEADING", "TRAILING"):
                side, lo = toks[lo].up.lower(), lo + 1
            source, chars = (froms[0] + 1, close), (lo, froms[0]) if froms[0] > lo else None
            if chars is not None and self._chars(*chars, shown) is not None and len(self._chars(*chars, shown)) != 1:
                raise Unsupported(f"refused: {shown}: Neo4j takes one character to trim in this form",
                                  fix="give one character, or write ltrim(s, 'xy') / rtrim / btrim for several")
        else:
            args = arguments(toks, i + 1)
            if len(args) not in (1, 2):
                return f"{toks[i].text}({self.span(i + 2, close)})"  # (the engine's error)
            source, chars = args[0], args[1] if len(args) == 2 else None
        text = self.span(*source)
        if chars is None:
            cls = _JAVA_WHITESPACE
        else:
            value = self._chars(*chars, shown)
            if value is None:
                return "CAST(NULL AS STRING)"
            if not value:
                return f"CAST({text} AS STRING)"
            cls = "".join(f"\\\\x{{{ord(c):x}}}" for c in dict.fromkeys(value))
        pattern = {"both": f"^[{cls}]+|[{cls}]+$", "leading": f"^[{cls}]+", "trailing": f"[{cls}]+$"}[side]
        flags = ", 'g'" if side == "both" else ""
        return f"regexp_replace(CAST(coalesce({text}, NULL) AS STRING), '{pattern}', ''{flags})"

    def _chars(self, lo: int, hi: int, shown: str) -> str | None:
        """The characters to trim, written as a text (None: written as null)."""
        toks = self.toks
        if hi == lo + 1 and toks[lo].kind == "word" and toks[lo].up == "NULL":
            return None
        if hi == lo + 1 and toks[lo].kind == "str":
            import ast

            raw = toks[lo].text
            try:  # Cypher's escapes are Python's (\t, \uXXXX, \', \\)
                return ast.literal_eval(raw if raw[0] == "'" else "'" + raw[1:-1].replace("'", "\\'") + "'")
            except (ValueError, SyntaxError):
                pass
        raise Unsupported(f"refused on the embedded store: {shown}; the characters to trim must be written in the "
                          "query ('0', 'xy')", fix="write them as a text in the query, or run it on Neo4j (--store neo4j)")

    def value_kind(self, lo: int, hi: int) -> str | None:
        """``integer``, ``number`` or ``text`` for a property of that kind (``v.p``), a literal, ``count(…)``,
        ``size(…)``, ``length(…)``, ``sum``/``min``/``max``/``abs``/``coalesce`` of values of one such kind, or
        an alias defined once as one of these (``count(DISTINCT p) AS pats`` … ``toFloat(pats)``), else None."""
        toks = self.toks
        if hi == lo + 3 and toks[lo + 1].text == "." and toks[lo].kind == "word":
            from citynet.graph.compat_types import property_kinds

            return property_kinds().get(toks[lo + 2].text)
        if hi == lo + 2 and toks[lo].kind == "op" and toks[lo].text in ("-", "+") and toks[lo + 1].kind == "num":
            lo += 1  # a signed literal
        if hi == lo + 1 and toks[lo].kind == "num":
            return "number" if any(c in toks[lo].text for c in ".eE") else "integer"
        if hi == lo + 1 and toks[lo].kind == "str":
            return "text"
        if hi > lo + 2 and toks[lo].text == "(" and closing(toks, lo) == hi - 1:
            return self.value_kind(lo + 1, hi - 1)
        if hi > lo + 2 and toks[lo].kind == "word" and toks[lo + 1].text == "(" and closing(toks, lo + 1) == hi - 1:
            name = toks[lo].up
            if name in _INTEGER_CALLS:
                return "integer"
            if name in _SAME_KIND_CALLS:
                args = [(a + (toks[a].up == "DISTINCT"), b) for a, b in arguments(toks, lo + 1)]
                kinds = {self.value_kind(a, b) for a, b in args if b > a}
                return kinds.pop() if len(kinds) == 1 and len(args) >= 1 else None
            return None
        if hi == lo + 1 and toks[lo].kind in ("word", "bq"):
            span = self.alias_expression(lo)
            return None if span is None else self.value_kind(*span)
        return None

    def alias_expression(self, i: int) -> tuple[int, int] | None:
        """The tokens of the expression that ``toks[i]``'s name is defined as (``expr AS name`` of a ``WITH``
        before it, the only definition of that name in the query), or None."""
        toks, name = self.toks, self.toks[i].text
        defs = [k for k in range(len(toks) - 1) if toks[k].up == "AS" and toks[k + 1].text == name]
        if len(defs) != 1 or defs[0] > i:
            return None
        k = defs[0]
        j = k - 1
        while j >= 0 and not (toks[j].depth == toks[k].depth and (
                toks[j].text == "," or (toks[j].kind == "word" and toks[j].up in CLAUSES | {"DISTINCT"}))):
            j -= 1
        if j < 0 or toks[j].up not in (",", "WITH", "DISTINCT") or j + 1 >= k:
            return None
        return j + 1, k

    def substring(self, i: int, close: int, args: list[tuple[int, int]], texts: list[str]) -> str:
        """``substring(s, start[, length])`` with Neo4j's meaning: positions from 0, the rest without a length,
        ``''`` from a start beyond the text (engine bug 14: LadybugDB returns the whole text when the start is
        beyond its characters but not its bytes, ``substring('北京市', 4, 1)``), the text computed first
        (engine bugs 12 and 13); a negative length, which Neo4j refuses and which ends LadybugDB's process,
        is refused when written and read as 0 when computed."""
        start = _shifted(self.toks, *args[1], texts[1])
        text = self.detached(args[0], texts[0])
        length = "2147483647"
        if len(args) == 3:
            n = _int_literal(self.toks, *args[2])
            if n is not None and n < 0:
                raise Unsupported(
                    f"refused: {self.text[self.toks[i].start:self.toks[close].end]} has a negative length (Neo4j "
                    "refuses it; LadybugDB ends the process)", fix="give a length of 0 or more")
            length = texts[2] if n is not None else f"CASE WHEN ({texts[2]}) < 0 THEN 0 ELSE ({texts[2]}) END"
        call = f"{self.toks[i].text}({text}, {start}, {length})"
        unknown = f"WHEN ({texts[2]}) IS NULL THEN NULL " if len(args) == 3 and _int_literal(self.toks, *args[2]) is None \
            else ""  # a null length: null (not '' beyond the text)
        return f"CASE {unknown}WHEN ({start}) > size({text}) THEN '' ELSE {call} END"

    def detached(self, arg: tuple[int, int], text: str) -> str:
        """The text argument of ``substring``/``replace`` as ``coalesce(arg, NULL)`` (engine bugs 12 and 13:
        of an ``OPTIONAL MATCH``'s property, or with a length computed from a relationship, LadybugDB's
        three-argument text functions return null or other rows' values; a value computed first is right)."""
        return text if arg[1] == arg[0] + 1 and self.toks[arg[0]].kind == "str" else f"coalesce({text}, NULL)"

    def round(self, i: int, close: int, args: list[tuple[int, int]], texts: list[str]) -> str:
        """``round(x)`` (and ``round(x, 0)``): Neo4j's ``Math.round`` (halves up: 2.5 → 3.0, −2.5 → −2.0), a
        float (of −0.5 ≤ x < 0 the zero ``0.0``, where ``ceil`` gives ``-0.0``: ``+ 0.0`` makes it ``0.0``, so
        ``1 / round(-0.4)`` is Neo4j's ``Infinity``, not ``-Infinity``); LadybugDB has no one-argument ``round``.
        A precision above 0 is refused: Neo4j rounds the
        shortest decimal text of the float half away from zero (``round(0.285, 2)`` = 0.29), LadybugDB the
        binary value (0.28)."""
        precision = _int_literal(self.toks, *args[1]) if len(args) == 2 else None
        if len(args) == 1 or precision == 0:
            x = texts[0]
            return f"(CASE WHEN ({x}) - floor({x}) >= 0.5 THEN ceil({x}) ELSE floor({x}) END * 1.0 + 0.0)"
        shown = self.text[self.toks[i].start:self.toks[close].end]
        raise Unsupported(
            f"refused on the embedded store: {shown}; Neo4j rounds the decimal text of the number half away from "
            "zero (round(0.285, 2) = 0.29), LadybugDB its binary value (0.28)",
            fix="round in the table you make of the result, or write round(x * 100) / 100.0 (the same on both stores)")

    def quantifier(self, i: int):
        """``any``/``all``/``none``/``single(x IN list WHERE predicate)``: refused (engine bug 10: LadybugDB
        0.20.4 ends the process on them beyond about 2,048 rows of lists, and answers false where Neo4j
        answers null; its ``list_filter`` is no replacement: a ``NOT`` inside it, or two of them in one
        projection, give wrong counts)."""
        toks, name = self.toks, self.toks[i].text
        close = closing(toks, i + 1)
        if not (i + 3 < close and toks[i + 2].kind == "word" and toks[i + 3].up == "IN"):
            return None
        x = toks[i + 2].text
        raise Unsupported(
            f"refused on the embedded store: {name}({x} IN … WHERE …); LadybugDB 0.20.4 ends the process on the list "
            "predicates any, all, none and single beyond about 2,048 rows, and answers false where Neo4j answers "
            "null (docs/cypher.md, engine bug 10)",
            fix=f"unwind the list instead, e.g. MATCH (p:Patent) UNWIND p.ipc AS {x} WITH p, {x} WHERE {x} STARTS "
                "WITH 'F16' RETURN count(DISTINCT p) (the same on both stores), or run it on Neo4j (--store neo4j)")

    def duration(self, i: int, hi: int):
        """``duration.inDays(a, b).days`` (the days from date ``a`` to date ``b``) → ``((b) - (a))``, LadybugDB's
        difference of two dates in days; any other ``duration.…`` (LadybugDB has no duration functions) refused."""
        toks = self.toks
        if toks[i + 2].up == "INDAYS" and i + 3 < hi and toks[i + 3].text == "(":
            close, args = closing(toks, i + 3), arguments(toks, i + 3)
            if len(args) == 2 and close + 2 < hi and toks[close + 1].text == "." and toks[close + 2].up == "DAYS":
                a, b = (self.span(lo, end) for lo, end in args)
                return close + 2, f"(({b}) - ({a}))"
        raise Unsupported(
            f"refused on the embedded store: duration.{toks[i + 2].text}(…); LadybugDB has no duration functions",
            fix="the days between two dates: duration.inDays(a, b).days (written b - a there); whole years: "
                "date_part('year', b) - date_part('year', a) (p.grant_date.year - p.app_date.year on both stores); "
                "or run it on Neo4j (--store neo4j)")

    def date_part(self, i: int):
        """``p.app_date.year`` (Neo4j's date component; LadybugDB has no property access on a date)."""
        toks = self.toks
        value = f"{toks[i].text}.{toks[i + 2].text}"
        part = _DATE_PARTS[toks[i + 4].text]
        if part == "doy":  # the day of the year, from 1: the days since 1 January, + 1
            return i + 4, (f"CASE WHEN {value} IS NULL THEN NULL ELSE ({value} - make_date(date_part('year', {value}), "
                           "1, 1)) + 1 END")
        if part == "dow":  # Neo4j: Monday 1 … Sunday 7; LadybugDB: Sunday 0 … Saturday 6
            return i + 4, (f"CASE WHEN date_part('dow', {value}) = 0 THEN 7 "
                           f"ELSE date_part('dow', {value}) END")
        return i + 4, f"date_part('{part}', {value})"

    def kind_of(self, lo: int, hi: int) -> str | None:
        """``list``, ``text`` or None (not shown) of the expression ``toks[lo:hi]``."""
        toks = self.toks
        first, last = toks[lo], toks[hi - 1]
        if first.text == "[" and closing(toks, lo) == hi - 1:
            return "list"
        if hi - lo == 1 and first.kind == "str":
            return "text"
        if hi - lo == 1 and first.kind == "param":
            value = self.params.get(first.text[1:])
            return "list" if isinstance(value, list | tuple) else "text" if isinstance(value, str) else None
        if hi - lo == 3 and toks[lo + 1].text == "." and last.kind == "word":
            if last.text in list_properties():
                return "list"
            if last.text in _kind_names("text"):
                return "text"
        if first.kind == "word" and first.up in _LIST_CALLS and lo + 1 < hi and toks[lo + 1].text == "(" \
                and closing(toks, lo + 1) == hi - 1:
            return "list"
        if first.up == "COALESCE" and lo + 1 < hi and toks[lo + 1].text == "(" and closing(toks, lo + 1) == hi - 1:
            kinds = {self.kind_of(a, b) for a, b in arguments(toks, lo + 1)} - {None}  # (collect: coalesced)
            return kinds.pop() if len(kinds) == 1 else None
        return None

    def position(self, i: int):
        toks = self.toks
        base = (f"{toks[i - 3].text}.{toks[i - 1].text}" if i >= 3 and toks[i - 2].text == "." else None) \
            if toks[i - 1].kind == "word" else toks[i - 1].text if toks[i - 1].kind == "str" else None
        kind = _scalar_kinds().get(toks[i - 1].text) if toks[i - 1].kind == "word" and base else \
            "text" if toks[i - 1].kind == "str" else None
        if kind:  # Neo4j refuses a position of a scalar; LadybugDB would read one of its text's characters
            raise Unsupported(
                f"refused on the embedded store: {base}[…] takes a position of {kind}, not of a list; Neo4j "
                "refuses it, LadybugDB would return a character of its text",
                fix="take positions of lists only (p.ipc[0]); for characters use substring(s, start, length)")
        close = closing(self.toks, i)
        dots = [j for j in range(i + 1, close) if self.toks[j].depth == self.toks[i].depth + 1
                and self.toks[j].text == ".."]
        if not dots:
            if close == i + 1:
                return None
            only = self.toks[i + 1] if close == i + 2 else None
            if only is not None and (only.kind == "str" or (
                    only.kind == "param" and isinstance(self.params.get(only.text[1:]), str))):
                return None  # a key, not a position
            return close, "[" + _shifted(self.toks, i + 1, close, self.span(i + 1, close)) + "]"
        (d,) = dots[:1]
        start = _shifted(self.toks, i + 1, d, self.span(i + 1, d)) if d > i + 1 else ""
        end = _end(self.toks, d + 1, close, self.span(d + 1, close)) if close > d + 1 else ""
        return close, f"[{start}..{end}]"


def _int_literal(toks: list[Tok], lo: int, hi: int) -> int | None:
    parts = [t.text for t in toks[lo:hi]]
    if len(parts) == 1 and toks[lo].kind == "num" and parts[0].isdigit():
        return int(parts[0])
    if len(parts) == 2 and parts[0] in "+-" and toks[lo + 1].kind == "num" and parts[1].isdigit():
        return int(parts[0] + parts[1])
    return None


def _shifted(toks: list[Tok], lo: int, hi: int, text: str) -> str:
    """A position from 0 (negative: from the end) as LadybugDB's from 1."""
    n = _int_literal(toks, lo, hi)
    if n is not None:
        return str(n + 1 if n >= 0 else n)
    return f"CASE WHEN ({text}) < 0 THEN ({text}) ELSE ({text}) + 1 END"


def _end(toks: list[Tok], lo: int, hi: int, text: str) -> str:
    """A slice's end, excluded (Neo4j), as LadybugDB's included end."""
    n = _int_literal(toks, lo, hi)
    if n is not None:
        return str(n if n >= 0 else n - 1)
    return f"CASE WHEN ({text}) < 0 THEN ({text}) - 1 ELSE ({text}) END"


def rewrite(text: str, params: dict | None = None) -> str:
    """``text`` with its list positions, slices, ``substring``, ``log`` and ``reverse`` written for
    LadybugDB (see the module docstring); raises :class:`~citynet.graph.compat.Unsupported` for a
    ``reverse`` it cannot type."""
    low = text.lower()
    if "[" not in text and not any(f in low for f in ("substring", "replace", "log", "reverse", "labels", "type", "any",
                                                        "all", "none", "single", "date", "round", "ceil", "floor",
                                                        "duration", "tostring", "tointeger", "tofloat", "head", "last", "trim")):
        return text
    w = _Writer(text, params or {})
    if not w.toks:
        return text
    return text[:w.toks[0].start] + w.span(0, len(w.toks)) + text[w.toks[-1].end:]
