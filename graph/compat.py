"""Neo4j's answers on the embedded engine: the tested engine range and query rewrites.

Neo4j is the reference. Two things make the embedded engine (LadybugDB, a Kùzu fork) answer the
same Cypher differently, and both are handled here, on the query path of ``EmbeddedStore.query``:

- **Relationship uniqueness.** Within one ``MATCH`` (all its comma-separated patterns) Neo4j never
  binds one relationship twice; LadybugDB does: ``(a1)-[:APPLIED]->(p)<-[:APPLIED]-(a2)`` also matches
  ``a1 = a2`` through the same relationship. :func:`for_embedded` adds the missing predicates to the
  ``WHERE`` of that ``MATCH`` (``id(r1) <> id(r2)`` for two fixed-length relationships whose types can
  overlap; ``ALL(x IN rels(e) WHERE id(x) <> id(r))`` between a variable-length relationship and a
  fixed one), naming anonymous relationships ``__u1``, ``__u2``, … first. Inside one variable-length
  relationship the engine's ``TRAIL`` semantics (its default, set explicitly) already forbid repeats.
- **Aggregates over no values.** Neo4j's ``sum`` of nothing (or of nulls only) is 0 and its ``collect``
  ``[]``, LadybugDB's are null: ``sum(x)`` becomes ``coalesce(sum(x), 0)`` (``sum(coalesce(x, 0))`` in a
  projection with a grouping key), ``collect(x)`` ``coalesce(collect(x), [])``.
- **Column names.** A returned expression without ``AS`` is named by its text on Neo4j
  (``count(c)``) but not on LadybugDB (``COUNT(c._ID)``): it gets ``AS `count(c)```.
- **Positions from 0 and three functions** (``l[0]``, ``l[1..3]``, ``substring``, ``log``,
  ``reverse``): written with LadybugDB's positions from 1 and its names by
  :mod:`citynet.graph.compat_functions` (also a position of a position, ``l[0][1] IS NULL``).
- **CASE** (a simple ``CASE``, branches of different types, engine bugs 27 and 28): :mod:`citynet.graph.compat_case`;
  a returned ``CASE`` without ``AS`` is named first by its text as written (Neo4j's column name; it was named by
  the rewriting, ``CASE WHEN p.green THEN CAST((1) AS DOUBLE) …``).
- **An OPTIONAL MATCH along a relationship that cannot touch its node's label**
  (``(c:City) … OPTIONAL MATCH (c)-[:LOCATED_IN]->(d)``): refused by :mod:`citynet.graph.compat_endpoints`
  (LadybugDB follows another node's relationships there).
- **A coalesce of integers and floats** (``coalesce(p.app_year, 0.5)``, ``coalesce(null, 1, 2.5)``): Neo4j returns
  the first non-null argument as it is, LadybugDB a float; a column of the final ``RETURN`` is written in
  LadybugDB's union of the two by :mod:`citynet.graph.compat_coalesce`.
- **Nulls and empty texts** (``CONTAINS ''``, ``IN`` a list with a null, ``keys``/``properties``, a node
  from ``CASE``): rewritten or refused by :mod:`citynet.graph.compat_nulls`.
- **Values of another type than their property** (``c.city_code = 110000``; an integer property
  against ``2015.0``): refused, or rewritten exactly, by :mod:`citynet.graph.compat_types`.
- **Subqueries and comprehensions** (``EXISTS { (a)-->(b) }`` without ``MATCH``, relationship uniqueness in
  an ``EXISTS``/``COUNT`` subquery's ``MATCH``; ``CALL { … }``, pattern and list comprehensions refused):
  :mod:`citynet.graph.compat_subqueries`; map projections and aliases that are LadybugDB keywords:
  :mod:`citynet.graph.compat_syntax`.
- **Names in another case than the schema's** (``:CIty``, ``-[:applied]->``, ``c.NAME_ZH``): Neo4j reads
  another name, LadybugDB the schema's; refused by :mod:`citynet.graph.compat_names`.
- **Constructs it cannot rewrite** (two variable-length relationships of overlapping types in one
  ``MATCH``): refused with :class:`Unsupported`, naming the construct and the rewrite.

:func:`check_engine` refuses an installed engine outside the tested version range (one line, the fix).
The rewrite works on tokens (strings, comments and backquoted names are skipped), not on a full parse;
it only ever adds predicates to a ``MATCH``'s ``WHERE``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from citynet.graph.embedded_order import DIRECTIONS, ClientOrder, kind_of, risky

from citynet.errors import QueryError, StoreError

ENGINE = "ladybug"
TESTED = ((0, 20, 4), (0, 21, 0))
"""Tested LadybugDB versions: at least the first, below the second (docs/cypher.md has the evidence:
0.21.x and 0.22.0 drop rows of a filtered two-sided pattern)."""
TESTED_TEXT = ">=0.20.4,<0.21"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def check_engine(version: str | None = None) -> None:
    """Refuse an installed ``ladybug`` outside :data:`TESTED` (``StoreError``, exit 4).
    ``CITYNET_UNTESTED_ENGINE=1`` lets it through (for evaluating other versions with bench.cypher_harness)."""
    if os.environ.get("CITYNET_UNTESTED_ENGINE") == "1":
        return
    if version is None:
        import ladybug

        version = getattr(ladybug, "__version__", "0")
    v = _version(version)
    if not (TESTED[0] <= v < TESTED[1]):
        raise StoreError(
            f"the installed embedded engine ladybug {version} is outside the tested range {TESTED_TEXT}",
            fix=f'pip install "ladybug{TESTED_TEXT}"  (docs/cypher.md: why other versions are refused)')


class Unsupported(QueryError):
    """A query the embedded engine would answer differently from Neo4j and that cannot be rewritten (or one
    Neo4j 5.26 answers wrongly): refused before it runs. The store is reachable and the query is the user's
    to change, so this is a usage error (exit 2, as any query the store refuses), not exit 4 — a script
    that retries on 4 (store busy) would retry it forever. Still a ``StoreError`` for the callers that
    catch those."""


# --- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<param>\$[A-Za-z_0-9]+)
  | (?P<op><>|<=|>=|->|<-|\.\.|.)
""", re.X | re.S)

CLAUSES = {"MATCH", "OPTIONAL", "WITH", "RETURN", "UNWIND", "WHERE", "ORDER", "SKIP", "LIMIT", "CALL",
           "UNION", "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH", "YIELD", "LOAD", "COPY"}


@dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int
    depth: int  # bracket depth before the token

    @property
    def up(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text


def tokens(text: str) -> list[Tok]:
    out: list[Tok] = []
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        t = m.group()
        if kind == "op" and t in ")]}":
            depth -= 1
        out.append(Tok(kind, t, m.start(), m.end(), depth))
        if kind == "op" and t in "([{":
            depth += 1
    return out


def is_clause(toks: list[Tok], i: int, depth: int = 0) -> bool:
    """``toks[i]`` starts a clause: a clause keyword at bracket depth ``depth`` (0: outside brackets; a
    subquery's body is one deeper than its brace) that is neither the ``WITH`` of ``STARTS WITH`` /
    ``ENDS WITH`` nor a property name (``n.set``)."""
    t = toks[i]
    if t.depth != depth or t.kind != "word" or t.up not in CLAUSES:
        return False
    return not (i and (toks[i - 1].text == "." or (t.up == "WITH" and toks[i - 1].up in ("STARTS", "ENDS"))))


_SUBQUERY_WORDS = {"EXISTS", "COUNT", "COLLECT", "CALL"}


def subquery_brace(toks: list[Tok], k: int) -> bool:
    """``toks[k]`` opens a subquery: ``EXISTS {``, ``COUNT {``, ``COLLECT {``, ``CALL {`` or ``CALL (a) {``."""
    if toks[k].text != "{" or not k:
        return False
    before = toks[k - 1]
    if before.text == ")":
        opener = next((j for j in range(k - 2, -1, -1) if toks[j].depth == before.depth and toks[j].text == "("), None)
        return opener is not None and opener > 0 and toks[opener - 1].up == "CALL"
    return before.up in _SUBQUERY_WORDS


def enclosing_subquery(toks: list[Tok], i: int) -> int:
    """The brace of the innermost subquery around ``toks[i]`` (:func:`subquery_brace`), -1: the query itself."""
    depth = toks[i].depth
    for k in range(i - 1, -1, -1):
        if toks[k].depth < depth:
            if subquery_brace(toks, k):
                return k
            depth = toks[k].depth
    return -1


def clause_start(toks: list[Tok], i: int) -> int:
    """The index of the token that starts the clause ``toks[i]`` is in (-1 before any): the query's, or inside
    a subquery's braces that subquery's own."""
    lo = enclosing_subquery(toks, i)
    depth = 0 if lo < 0 else toks[lo].depth + 1
    return next((j for j in range(i, lo, -1) if is_clause(toks, j, depth)), -1)


def clause_of(toks: list[Tok], i: int) -> str:
    """The clause ``toks[i]`` is in (``WHERE``, ``RETURN``, …; ``""`` before any), as :func:`clause_start`."""
    j = clause_start(toks, i)
    return toks[j].up if j >= 0 else ""


def clause_starts(toks: list[Tok], lo: int | None = None, hi: int | None = None) -> list[int]:
    """The indices of the tokens that start a clause (:func:`is_clause`): of the query, or of the subquery
    between the braces ``toks[lo]`` and ``toks[hi]``."""
    if lo is None or hi is None:
        return [i for i in range(len(toks)) if is_clause(toks, i)]
    return [i for i in range(lo + 1, hi) if is_clause(toks, i, toks[lo].depth + 1)]


def closing(toks: list[Tok], i: int) -> int:
    """The index of the bracket that closes the one at ``toks[i]`` (the last token's when none does)."""
    for j in range(i + 1, len(toks)):
        if toks[j].depth == toks[i].depth and toks[j].kind == "op" and toks[j].text in ")]}":
            return j
    return len(toks) - 1


_LIST_BINDERS = {"ANY", "ALL", "NONE", "SINGLE", "FOREACH", "FILTER", "EXTRACT"}  # word( x IN list …


def membership(toks: list[Tok], i: int) -> bool:
    """``toks[i]`` (``IN``) tests membership: not the ``x IN list`` that binds ``x`` in a list comprehension
    (``[x IN l WHERE …]``, ``[x IN l | …]``, also ``[k IN ['a']]``, which Neo4j reads as the comprehension
    ``['a']``), a quantifier (``any(x IN l WHERE …)``), ``FOREACH`` or ``reduce``. ``(k IN ['a'])`` is a test.

    >>> qs = ("(k IN ['a'])", "[k IN l WHERE k > 1]", "any(k IN l WHERE k)", "reduce(s = 0, k IN l | s + k)")
    >>> [membership(t, [x.up for x in t].index("IN")) for t in map(tokens, qs)]
    [True, False, False, False]
    """
    if i < 2 or toks[i - 1].kind != "word":
        return True
    opener = toks[i - 2]
    if opener.text == "(":
        return not (i >= 3 and toks[i - 3].kind == "word" and toks[i - 3].up in _LIST_BINDERS)
    if opener.text == "[":
        return False
    if opener.text == ",":  # reduce(acc = 0, x IN l | …)
        o = next((k for k in range(i - 3, -1, -1) if toks[k].depth < toks[i].depth), None)
        return not (o is not None and o >= 1 and toks[o].text == "(" and toks[o - 1].up == "REDUCE")
    return True


OPERATOR_WORDS = {"AND", "OR", "XOR", "NOT", "IN", "AS", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "IS",
                   "EXISTS", "BY", "STARTS", "ENDS", "CONTAINS", "ALL", "ANY", "NONE", "SINGLE", "SHORTEST"}


_PREDICATES = {"IN", "STARTS", "ENDS", "CONTAINS", "IS"}  # and =~
_ARITHMETIC = {"+", "-", "*", "/", "%", "^"}
_CALL_WORDS = {"EXISTS", "ALL", "ANY", "NONE", "SINGLE"}  # keywords that are also called: all(x IN l WHERE …)
_OPERAND_ENDS = {",", "=", "<>", "<", ">", "<=", ">=", "|", ":", ";", "->", "<-", "..", "~"}


def _predicate_at(toks: list[Tok], i: int) -> bool:
    t = toks[i]
    return (t.kind == "word" and t.up in _PREDICATES and not (i and toks[i - 1].text == ".")) \
        or (t.text == "=" and i + 1 < len(toks) and toks[i + 1].text == "~")


def _arithmetic_operand(toks: list[Tok], lo: int, hi: int) -> bool:
    """``toks[lo:hi]`` is an operand (it starts with a term) holding a binary ``+ - * / % ^`` outside brackets."""
    if lo >= hi or (toks[lo].kind == "op" and toks[lo].text not in "([{"):
        return False
    depth = toks[lo].depth
    return any(toks[k].depth == depth and toks[k].kind == "op" and toks[k].text in _ARITHMETIC
               and (toks[k - 1].kind in ("word", "num", "str", "param", "bq") or toks[k - 1].text in ")]}")
               for k in range(lo + 1, hi))


def _operand_bound(toks: list[Tok], i: int, step: int) -> int | None:
    """Scanning from ``toks[i]`` by ``step`` (-1: back, 1: on), the index where the operand beside a predicate
    stops (exclusive): a comparison, a comma, a keyword or the enclosing bracket; None at a ``CASE … END``."""
    depth, k = toks[i].depth, i
    while 0 <= k < len(toks):
        t = toks[k]
        if t.depth < depth:  # the bracket around it (a bracket of its own closes at its depth)
            return k
        if t.depth == depth:
            if t.kind == "word" and t.up in ("END", "CASE"):
                return None
            if (t.kind == "op" and t.text in _OPERAND_ENDS) or (t.kind == "word" and (
                    t.up in CLAUSES | OPERATOR_WORDS | {"ASC", "DESC", "ASCENDING", "DESCENDING", "WITH"})
                    and not (k and toks[k - 1].text == ".")
                    and not (t.up in _CALL_WORDS and k + 1 < len(toks) and toks[k + 1].text == "(")):
                return k  # (a clause or operator before a bracket stops it too: MATCH (n1)-[r]->(x))
        k += step
    return k


def precedence_edits(toks: list[Tok]) -> list[tuple[int, int, str]]:
    """Brackets around an arithmetic operand of ``IN``, ``STARTS WITH``, ``ENDS WITH``, ``CONTAINS``,
    ``IS [NOT] NULL`` and ``=~``: Neo4j computes ``a + 1 IN [2]`` as ``(a + 1) IN [2]``, LadybugDB's parser
    as ``a + (1 IN [2])`` (an error of types, or another answer)."""
    edits: list[tuple[int, int, str]] = []
    for i in range(1, len(toks)):
        if not _predicate_at(toks, i):
            continue
        lo = _operand_bound(toks, i - 1, -1)
        if lo is not None and _arithmetic_operand(toks, lo + 1, i):
            edits += [(toks[lo + 1].start, toks[lo + 1].start, "("), (toks[i - 1].end, toks[i - 1].end, ")")]
        first = i + 2 if toks[i].up in ("STARTS", "ENDS") or toks[i].text == "=" else i + 1
        if toks[i].up == "IS" or first >= len(toks):
            continue
        hi = _operand_bound(toks, first, 1)
        if hi is not None and _arithmetic_operand(toks, first, hi):
            edits += [(toks[first].start, toks[first].start, "("), (toks[hi - 1].end, toks[hi - 1].end, ")")]
    return edits


def pattern_variables(toks: list[Tok]) -> set[str]:
    """Variables bound by a node or relationship pattern: ``(v`` / ``-[v`` followed by ``:``, ``{`` or the
    bracket's end — not the argument of a call (``count(a)``) nor a list (``[x]``)."""
    return {toks[k].text for k in pattern_variable_positions(toks)}


def pattern_variable_positions(toks: list[Tok]) -> list[int]:
    """The indices of the tokens :func:`pattern_variables` reads as pattern variables."""
    out = []
    for i in range(len(toks) - 2):
        t, before = toks[i], toks[i - 1] if i else None
        if t.kind != "op" or t.text not in "([" or toks[i + 1].kind != "word" \
                or toks[i + 2].kind != "op" or toks[i + 2].text not in (":", "{", ")", "]"):
            continue
        if t.text == "(" and before is not None and before.kind == "word" \
                and before.up not in CLAUSES | OPERATOR_WORDS:
            continue  # a call: count(a)
        if t.text == "[" and (before is None or before.text not in ("-", "<-")):
            continue  # a list: [x]
        out.append(i + 1)
    return out


def arguments(toks: list[Tok], open_: int) -> list[tuple[int, int]]:
    """The token spans ``(lo, hi)`` of the comma-separated arguments inside the bracket at ``toks[open_]``."""
    close = closing(toks, open_)
    spans, lo = [], open_ + 1
    for j in range(open_ + 1, close):
        if toks[j].depth == toks[open_].depth + 1 and toks[j].text == ",":
            spans.append((lo, j))
            lo = j + 1
    if lo < close:
        spans.append((lo, close))
    return spans


@dataclass
class RelPat:
    var: str | None
    types: frozenset[str] | None  # None: any type
    var_length: bool
    insert_at: int  # where a variable name goes (after '[') when var is None
    bare: tuple[int, int] | None = None  # a bracket-less --, -->, <-- : text span to replace


def _rel_patterns(toks: list[Tok], text: str) -> list[RelPat]:
    """Relationship patterns among the top-level tokens of one MATCH's pattern part."""
    rels: list[RelPat] = []
    base = toks[0].depth if toks else 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.depth == base and t.text == "[" and i > 0 and toks[i - 1].text in ("-", "<-"):
            j = i + 1
            inner: list[Tok] = []
            while j < len(toks) and not (toks[j].text == "]" and toks[j].depth == base):
                inner.append(toks[j])
                j += 1
            var = inner[0].text if inner and inner[0].kind in ("word", "bq") else None
            types: set[str] | None = None
            var_length = False
            k = 1 if var else 0
            if k < len(inner) and inner[k].text == ":":
                types = set()
                k += 1
                while k < len(inner) and inner[k].kind in ("word", "bq"):
                    types.add(inner[k].text.strip("`"))
                    k += 1
                    if k < len(inner) and inner[k].text in ("|", ":"):
                        k += 1
                    else:
                        break
            if any(x.text == "*" and x.depth == base + 1 for x in inner):
                var_length = True
            rels.append(RelPat(var, frozenset(types) if types else None, var_length, t.end))
            i = j + 1
            continue
        if t.depth == base and t.text in ("-", "<-") and i > 0 and toks[i - 1].text == ")":
            # bracket-less: ')' then '-' '-' or '-' '->' or '<-' '-' then '('
            j = i + 1
            while j < len(toks) and toks[j].text in ("-", "->", ">") and toks[j].depth == base:
                j += 1
            if j < len(toks) and toks[j].text == "(" and j > i + 0 and not (j == i + 1 and t.text == "-"):
                rels.append(RelPat(None, None, False, -1, (t.start, toks[j - 1].end)))
                i = j
                continue
        i += 1
    return rels


def _overlap(a: RelPat, b: RelPat) -> bool:
    return a.types is None or b.types is None or bool(a.types & b.types)


_EMPTY_AGGREGATES = {"SUM": "0", "COLLECT": "[]"}


_AGGREGATE_CALLS = {"COUNT", "SUM", "AVG", "MIN", "MAX", "COLLECT", "STDEV", "STDEVP", "PERCENTILECONT",
                    "PERCENTILEDISC"}


def _grouped(toks: list[Tok], i: int, clauses: list[int], text: str) -> bool:
    """The ``WITH`` / ``RETURN`` whose items hold ``toks[i]`` has a grouping key (an item without an aggregate),
    so each of its groups has at least one row."""
    own = [c for c in clauses if c <= i]
    if not own or toks[own[-1]].up not in ("WITH", "RETURN"):
        return False
    return any(not _has_aggregate(expr) for expr in _projection(toks, clauses, own[-1], text))


def _empty_aggregate_edits(toks: list[Tok], clauses: list[int], text: str) -> list[tuple[int, int, str]]:
    """Neo4j's sum of no values (or only nulls) is 0 and their collection ``[]``; LadybugDB's are null (so
    ``size(collect(a))`` of a city without applicants, after an ``OPTIONAL MATCH``, was null where Neo4j counts
    0). ``collect(x)`` → ``coalesce(collect(x), [])``; ``sum(x)`` → ``sum(coalesce(x, 0))`` where its projection
    groups (every group has a row; an aggregate of an expression around an aggregate of an earlier ``WITH``
    is an error on LadybugDB: ``WITH c, coalesce(sum(r.weight), 0) AS w RETURN avg(w)``), else
    ``coalesce(sum(x), 0)``."""
    edits = []
    for i, t in enumerate(toks[:-1]):
        if t.kind == "word" and t.up in _EMPTY_AGGREGATES and toks[i + 1].text == "(" \
                and (i == 0 or toks[i - 1].text != "."):
            close = closing(toks, i + 1)
            if t.up == "SUM" and close > i + 2 and _grouped(toks, i, clauses, text):  # (replacing the bracket tokens
                opener = i + 2 if toks[i + 2].up == "DISTINCT" else i + 1  # keeps the nesting with insertions)
                edits.append((toks[opener].start, toks[opener + 1].start,
                              "(coalesce(" if opener == i + 1 else "DISTINCT coalesce("))
                edits.append((toks[close].start, toks[close].end, ", 0))"))
                continue
            edits.append((t.start, t.start, "coalesce("))
            edits.append((toks[close].end, toks[close].end, f", {_EMPTY_AGGREGATES[t.up]})"))
    return edits


def _split(toks: list[Tok]) -> list[list[Tok]]:
    """``toks`` split at the commas of their own bracket depth (a ``;`` dropped): the items of a
    ``RETURN`` / ``WITH`` or the keys of an ``ORDER BY``."""
    parts: list[list[Tok]] = [[]]
    base = toks[0].depth if toks else 0
    level = 0  # inside a CASE … END: Neo4j's WHEN 'a', 'b' of a simple CASE is no separator
    for k, t in enumerate(toks):
        if t.kind == "word" and t.depth == base and t.up in ("CASE", "END") and not (k and toks[k - 1].text == "."):
            level = level + 1 if t.up == "CASE" else max(level - 1, 0)
        if t.text == "," and t.depth == base and not level:
            parts.append([])
        elif t.text != ";":
            parts[-1].append(t)
    return parts


def _alias_edits(toks: list[Tok], clauses: list[int], text: str) -> list[tuple[int, int, str]]:
    """Columns of the last ``RETURN`` named as Neo4j names them: an item without ``AS`` that is more than
    a variable gets ``AS `its text``` (LadybugDB would call ``count(c)`` ``COUNT(c._ID)``)."""
    returns = [i for i in clauses if toks[i].up == "RETURN"]
    if not returns:
        return []
    start = returns[-1] + 1
    if start < len(toks) and toks[start].up == "DISTINCT":
        start += 1
    stop = next((i for i in clauses if i > returns[-1] and toks[i].up in ("ORDER", "SKIP", "LIMIT", "UNION")),
                len(toks))
    edits = []
    for item in _split(toks[start:stop]):
        if not item or item[0].text == "*" or any(t.up == "AS" and t.depth == 0 for t in item):
            continue
        if len(item) == 1 and item[0].kind in ("word", "bq"):
            continue
        name = text[item[0].start:item[-1].end]
        edits.append((item[-1].end, item[-1].end, " AS `" + name.replace("`", "``") + "`"))
    return edits


_PROJECTION_END = {"ORDER", "SKIP", "LIMIT", "WHERE"}
# Clauses that bind names otherwise than a pattern, UNWIND or WITH: a query holding one keeps its RETURN *.
STAR_BINDERS = frozenset({"CALL", "UNION", "FOREACH", "LOAD"})


def _star_edits(toks: list[Tok], clauses: list[int], text: str) -> list[tuple[int, int, str]]:
    """``RETURN *`` → ``RETURN a, c, r``: Neo4j orders the columns of ``*`` by name, LadybugDB by binding.
    The variables in scope come from the patterns, ``UNWIND … AS`` and the last ``WITH``; a query with a
    ``CALL``, ``UNION`` or anything else that binds names otherwise is left as it is."""
    if not clauses or any(toks[c].up in STAR_BINDERS for c in clauses):
        return []
    scope: set[str] = set()
    for n, ci in enumerate(clauses):
        nxt = clauses[n + 1] if n + 1 < len(clauses) else len(toks)
        part, word = toks[ci + 1:nxt], toks[ci].up
        if word in ("MATCH", "OPTIONAL", "CREATE", "MERGE"):
            scope |= pattern_variables(part) | {t.text for k, t in enumerate(part[:-1])
                                            if t.kind == "word" and part[k + 1].text == "=" and t.depth == 0}
        elif word == "UNWIND" and len(part) >= 2 and part[-2].up == "AS":
            scope.add(part[-1].text)
        elif word in ("WITH", "RETURN"):
            items = _items(part[1:] if part and part[0].up == "DISTINCT" else part, text)
            star = any(len(expr) == 1 and expr[0].text == "*" for expr, _, _ in items)
            if word == "RETURN":
                if not star or len(items) != 1 or not scope or n + 1 < len(clauses) and any(
                        toks[c].up not in _PROJECTION_END for c in clauses[n + 1:]):
                    return []
                at = next(t for t in part if t.text == "*")
                return [(at.start, at.end, ", ".join(sorted(scope)))]
            named = {alias or (expr[0].text if len(expr) == 1 and expr[0].kind == "word" else None)
                     for expr, alias, _ in items}
            scope = (scope if star else set()) | (named - {None, "*"})
    return []


def _items(toks: list[Tok], text: str) -> list[tuple[list[Tok], str | None, str]]:
    """The items of a ``WITH`` / ``RETURN``: (expression tokens, alias or None, returned column name)."""
    base = toks[0].depth if toks else 0
    out = []
    for item in _split(toks):
        if not item:
            continue
        cut = next((k for k, t in enumerate(item) if t.up == "AS" and t.depth == base), None)
        if cut is not None and cut + 1 < len(item):
            alias = item[cut + 1].text.strip("`")
            out.append((item[:cut], alias, alias))
        elif len(item) == 1 and item[0].kind == "bq":  # `order`: the column is named order
            out.append((item, None, item[0].text[1:-1].replace("``", "`")))
        else:
            out.append((item, None, text[item[0].start:item[-1].end]))
    return out


def _has_aggregate(expr: list[Tok]) -> bool:
    return any(t.kind == "word" and t.up in _AGGREGATE_CALLS for t in expr)


def _bound_before(toks: list[Tok], ci: int) -> set[str]:
    """The variables bound before ``toks[ci]`` in its part of a ``UNION``: pattern variables and ``AS`` names
    (also of clauses whose scope has ended: a superset)."""
    first = max((k + 1 for k in range(ci) if toks[k].up == "UNION" and toks[k].depth == 0), default=0)
    return pattern_variables(toks[first:ci]) | {toks[k + 1].text.strip("`") for k in range(first, ci - 1)
                                                 if toks[k].up == "AS" and toks[k].depth == 0}


def _shadowing(toks: list[Tok], clauses: list[int], ci: int, text: str) -> dict[str, list[Tok]]:
    """The aliases of the ``WITH`` / ``RETURN`` at ``toks[ci]`` that name a variable bound before it (a pattern
    variable, an earlier ``AS``) for another value: alias → its expression's tokens. LadybugDB's names ignore
    case, so ``RETURN c.city_code AS C ORDER BY C`` shadows ``c`` there too (its binder then refused to order
    by the node; Neo4j sorts by the alias). A part after a ``UNION`` binds its own variables (the aliases of
    the part before it are not bound in it)."""
    folded = {b.lower() for b in _bound_before(toks, ci)}
    return {alias: expr for expr, alias, _ in _items(_projection_tokens(toks, clauses, ci), text)
            if alias and expr and alias.lower() in folded
            and text[expr[0].start:expr[-1].end].strip("`").lower() != alias.lower()}


def _check_case_twins(toks: list[Tok], text: str) -> None:
    """Refuse a ``WITH`` whose names differ only by case (``WITH x, x * 10 AS X``, ``WITH c, count(*) AS C``):
    Neo4j binds two variables, LadybugDB's names ignore case and it binds one (``RETURN x, X`` gave ``1, 1``
    where Neo4j gives ``1, 10``; ``C`` read the node). A ``RETURN`` of two such columns answers alike unless its
    ``ORDER BY`` names one of them (LadybugDB sorted by the first): :func:`_order_edits` sorts it after the engine
    or refuses it."""
    clauses = clause_starts(toks)
    for ci in clauses:
        if toks[ci].up not in ("WITH", "RETURN"):
            continue
        items = _items(_projection_tokens(toks, clauses, ci), text)
        names = [alias or (expr[0].text.strip("`") if len(expr) == 1 and expr[0].kind in ("word", "bq") else None)
                 for expr, alias, _ in items]
        if any(len(expr) == 1 and expr[0].text == "*" for expr, *_ in items):  # WITH *, … AS C: every variable
            names = sorted(_bound_before(toks, ci)) + names
        seen: dict[str, str] = {}
        twins = None
        for name in names:
            if name and name != "*" and seen.setdefault(name.lower(), name) != name:
                twins = (seen[name.lower()], name)
                break
        if twins is None:
            continue
        a, b = twins
        if toks[ci].up == "WITH":  # (a RETURN's: _order_edits)
            raise Unsupported(
                f"refused on the embedded store: the WITH binds {a} and {b}, which differ only by case; Neo4j binds "
                f"two variables, LadybugDB ignores the case of names and binds one (both then read the same value)",
                fix=f"name them apart (e.g. {a} and {b}2)")


def _projection_tokens(toks: list[Tok], clauses: list[int], ci: int) -> list[Tok]:
    """The items of the ``WITH`` / ``RETURN`` at ``toks[ci]`` (up to its ``ORDER BY``, ``WHERE``, …)."""
    later = [c for c in clauses if c > ci and toks[c].up not in _PROJECTION_END]
    part = [c for c in clauses if ci < c < (later[0] if later else len(toks))]
    start = ci + 1 + (ci + 1 < len(toks) and toks[ci + 1].up == "DISTINCT")
    return toks[start:part[0] if part else later[0] if later else len(toks)]


def order_by(toks: list[Tok], clauses: list[int], ci: int) -> tuple[int, int] | None:
    """The ``ORDER`` of the ``WITH`` / ``RETURN`` at ``toks[ci]`` and where its keys stop (its ``SKIP``,
    ``LIMIT``, ``WHERE`` or the next clause), or None without one."""
    later = [c for c in clauses if c > ci and toks[c].up not in _PROJECTION_END]
    nxt = later[0] if later else len(toks)
    part = [c for c in clauses if ci < c < nxt]
    order = next((c for c in part if toks[c].up == "ORDER"), None)
    if order is None:
        return None
    return order, next((c for c in part if c > order and toks[c].up in ("SKIP", "LIMIT", "WHERE")), nxt)


def _projection(toks: list[Tok], clauses: list[int], ci: int, text: str) -> list[list[Tok]]:
    """The expressions of the ``WITH`` / ``RETURN`` at ``toks[ci]``."""
    return [expr for expr, *_ in _items(_projection_tokens(toks, clauses, ci), text)]


def _shadowing_edits(toks: list[Tok], clauses: list[int], text: str) -> list[tuple[int, int, str]]:
    """``RETURN 10 - x AS x ORDER BY x``: Neo4j sorts by the alias, LadybugDB by the variable bound before
    (another order, so other rows under a ``LIMIT``; a node: an error). The key is written as the alias's
    expression, ``ORDER BY (10 - x)``, where that holds no aggregate (on the query as the other edits wrote
    it, so that the copy carries their rewrites); in the final ``RETURN`` :func:`_order_edits` sorts after
    the engine instead, where it can."""
    edits = []
    for ci in clauses:
        if toks[ci].up not in ("WITH", "RETURN"):
            continue
        shadow = _shadowing(toks, clauses, ci, text)
        keys = order_by(toks, clauses, ci)
        if not shadow or keys is None or toks[ci + 1].up == "DISTINCT" \
                or any(_has_aggregate(e) for e in _projection(toks, clauses, ci, text)):
            continue  # (DISTINCT: LadybugDB's ORDER BY reads the alias; an aggregating one: _order_edits)
        order, stop = keys
        for k in range(order + 2, stop):
            name = toks[k].text.strip("`")
            if _names_variable(toks, k) and name in shadow and not _has_aggregate(shadow[name]):
                expr = shadow[name]
                edits.append((toks[k].start, toks[k].end, f"({text[expr[0].start:expr[-1].end]})"))
    return edits


def _names_variable(toks: list[Tok], k: int) -> bool:
    """``toks[k]`` is a variable's name: not a property (``.x``), a call (``x(``) or a label (``:x``)."""
    return toks[k].kind in ("word", "bq") and toks[k].up not in OPERATOR_WORDS | set(DIRECTIONS) \
        and not (k and toks[k - 1].text in (".", ":")) and not (k + 1 < len(toks) and toks[k + 1].text == "(")


def _order_edits(toks: list[Tok], clauses: list[int], text: str) -> tuple[list[tuple[int, int, str]], ClientOrder | None]:
    """An ``ORDER BY`` the engine would sort wrongly (graph/embedded_order.py): taken out of the final
    ``RETURN`` for :class:`ClientOrder`, or refused."""
    for n, ci in enumerate(clauses):
        if toks[ci].up not in ("WITH", "RETURN"):
            continue
        later = [c for c in clauses[n + 1:] if toks[c].up not in _PROJECTION_END]
        nxt = later[0] if later else len(toks)
        part = [c for c in clauses[n + 1:] if c < nxt]
        order = next((c for c in part if toks[c].up == "ORDER"), None)
        if order is None or order + 1 >= len(toks) or toks[order + 1].up != "BY":
            continue
        start = ci + 1 + (ci + 1 < len(toks) and toks[ci + 1].up == "DISTINCT")
        items = _items(toks[start:part[0]], text)
        aliases = {alias: expr for expr, alias, _ in items if alias}
        by_text = {text[expr[0].start:expr[-1].end]: col for expr, _, col in items if expr}
        stop = next((c for c in part if c > order and toks[c].up in ("SKIP", "LIMIT", "WHERE")), nxt)
        parsed = []
        for key in _split(toks[order + 2:stop]):
            desc = False
            if len(key) > 1 and key[-1].up in DIRECTIONS:
                desc = DIRECTIONS[key[-1].up]
                key = key[:-1]
            if not key:
                return [], None
            source = text[key[0].start:key[-1].end]
            column = key[0].text.strip("`") if len(key) == 1 and key[0].text.strip("`") in aliases \
                else by_text.get(source)
            parsed.append((source, column, desc, kind_of(key, aliases)))
        # a key naming an alias that is named like a variable bound before: sorted after the engine (by the
        # returned column, Neo4j's meaning) where it can be, else as _shadowing_edits writes it, else refused
        shadow = _shadowing(toks, clauses, ci, text)
        named = {toks[k].text.strip("`") for k in range(order + 2, stop) if _names_variable(toks, k)} & set(shadow)
        aggregating = any(_has_aggregate(expr) for expr, *_ in items)
        distinct = toks[ci + 1].up == "DISTINCT"
        shadowed = bool(named) and (aggregating or not distinct)  # (DISTINCT alone: LadybugDB reads the alias)
        # RETURN … AS Tier, … AS tier ORDER BY tier: LadybugDB's names ignore case, it sorted by the first of them
        first: dict[str, str] = {}
        for _, _, col in items:
            first.setdefault(col.lower(), col)
        twin = next((name for k in range(order + 2, stop) if _names_variable(toks, k)
                     and (name := toks[k].text.strip("`")) in {col for *_, col in items}
                     and first[name.lower()] != name), None)
        written = not aggregating and not distinct and not any(_has_aggregate(shadow[a]) for a in named)
        wrong = risky([k for *_, k in parsed])
        if not wrong and not shadowed and twin is None:
            continue
        cuts = {toks[c].up: c for c in part if c > order}
        counts = {w: toks[c + 1] for w, c in cuts.items() if w in ("SKIP", "LIMIT") and c + 1 < len(toks)}
        last = len(toks) - (1 if toks and toks[-1].text == ";" else 0)
        simple = all(c + 2 == min(x for x in [*part, min(nxt, last)] if x > c)
                     and counts[w].kind in ("num", "param") for w, c in cuts.items() if w in ("SKIP", "LIMIT"))
        final = toks[ci].up == "RETURN" and nxt == len(toks) and "WHERE" not in cuts
        if final and simple and all(col is not None for _, col, *_ in parsed) and \
                not any(t.up == "UNION" and t.depth == 0 for t in toks):
            end = toks[nxt - 1].end if toks[nxt - 1].text != ";" else toks[nxt - 2].end
            plan = ClientOrder(tuple((col, desc) for _, col, desc, _ in parsed),
                               skip=counts["SKIP"].text if "SKIP" in counts else None,
                               limit=counts["LIMIT"].text if "LIMIT" in counts else None)
            return [(toks[order].start, end, "")], plan
        if twin is not None:
            a, b = first[twin.lower()], twin
            raise Unsupported(
                f"refused on the embedded store: ORDER BY {twin} in a {toks[ci].up} of the columns {a} and {b}, which "
                f"differ only by case; Neo4j sorts by {b}, LadybugDB ignores the case of names and sorts by {a}",
                fix=f"name the columns apart (e.g. {a} and {b}2)")
        if not wrong and written:
            continue
        if not wrong:
            bound = _bound_before(toks, ci)
            cased = sorted(f"{a} is {b} there" for a in named for b in bound if a != b and a.lower() == b.lower())
            raise Unsupported(
                f"refused on the embedded store: ORDER BY {', '.join(src for src, *_ in parsed)} in a {toks[ci].up} "
                "by an alias named like a variable bound before it"
                + (f" (LadybugDB's names ignore case: {', '.join(cased)})" if cased else "")
                + "; Neo4j sorts by the alias, LadybugDB by the variable",
                fix="give the alias another name (… AS total … ORDER BY total)")
        keys_text = ", ".join(source for source, *_ in parsed)
        raise Unsupported(
            f"refused on the embedded store: ORDER BY {keys_text} in a {toks[ci].up}; LadybugDB 0.20 sorts rows "
            "wrongly when a text key is followed by a key of another type (beyond about 16,000 rows, docs/cypher.md, "
            "engine bug 5), and it can only be sorted after the engine when every key is a column of the final RETURN",
            fix="sort in the final RETURN by returned columns (RETURN … AS k … ORDER BY k, …), put the text keys "
                "last, or run it on Neo4j (--store neo4j)")
    return [], None


def _match_edits(toks: list[Tok], clauses: list[int], stop: int, text: str, counter: list[int]) \
        -> list[tuple[int, int, str]]:
    """Relationship uniqueness for the ``MATCH`` clauses among ``clauses`` (the clauses of one scope, which
    ends at ``toks[stop]``: the query's end or a subquery's closing brace), and the refusals of ``MERGE`` of a
    relationship and of variable-length relationships (see the module docstring)."""
    edits: list[tuple[int, int, str]] = []
    end_of_scope = toks[stop].start if stop < len(toks) else len(text.rstrip().rstrip(";"))
    for n, ci in enumerate(clauses):
        nxt = clauses[n + 1] if n + 1 < len(clauses) else stop
        if toks[ci].up == "MERGE" and _rel_patterns(toks[ci + 1:nxt], text):
            raise Unsupported(
                "refused on the embedded store: MERGE of a relationship; LadybugDB 0.20 crashes the process when "
                "the relationship's start node already has one (docs/cypher.md, engine bugs)",
                fix="MERGE the nodes, then MATCH them and CREATE the relationship only when it is missing: "
                    "MATCH (a:A {k: $a}), (b:B {k: $b}) OPTIONAL MATCH (a)-[r:T]->(b) WITH a, b, r "
                    "WHERE r IS NULL CREATE (a)-[:T]->(b) — or run it on Neo4j (--store neo4j)")
        if toks[ci].up != "MATCH":
            continue
        pattern = toks[ci + 1:nxt]
        rels = _rel_patterns(pattern, text)
        shortest = any(t.up == "SHORTEST" for t in pattern)
        if any(r.var_length for r in rels) and not shortest:
            raise Unsupported(
                "refused on the embedded store: a variable-length relationship (-[:T*a..b]-) outside SHORTEST; "
                "LadybugDB walks may use one relationship twice, Neo4j's may not, so the rows would differ",
                fix="write the hops out as fixed-length patterns (the embedded store keeps them distinct), use "
                    "-[:T* SHORTEST 1..k]- for reachability, or run it on Neo4j (--store neo4j)")
        if len(rels) < 2:
            continue
        preds = []
        names: list[str] = []
        for r in rels:
            if r.var is None:
                counter[0] += 1
                name = f"__u{counter[0]}"
                if r.bare:
                    s, e = r.bare
                    old = text[s:e]
                    left = "<-" if old.startswith("<") else "-"
                    right = "->" if old.endswith(">") else "-"
                    edits.append((s, e, f"{left}[{name}]{right}"))
                else:
                    edits.append((r.insert_at, r.insert_at, name))
                names.append(name)
            else:
                names.append(r.var)
        for i, a in enumerate(rels):
            for j in range(i + 1, len(rels)):
                b = rels[j]
                if not _overlap(a, b):
                    continue
                if a.var_length and b.var_length:
                    raise Unsupported(
                        "refused on the embedded store: two variable-length relationships of the same type in "
                        "one MATCH; LadybugDB would let them share relationships (Neo4j does not)",
                        fix="split the pattern into two MATCH clauses and compare the paths explicitly, "
                            "or run it on Neo4j (--store neo4j)")
                if a.var_length or b.var_length:
                    vl, fx = (names[i], names[j]) if a.var_length else (names[j], names[i])
                    preds.append(f"ALL(__x IN rels({vl}) WHERE id(__x) <> id({fx}))")
                else:
                    preds.append(f"id({names[i]}) <> id({names[j]})")
        if not preds:
            edits = [e for e in edits if not (toks[ci].end <= e[0] < (toks[nxt].start if nxt < len(toks) else len(text)))]
            continue
        extra = " AND ".join(preds)
        if nxt < stop and toks[nxt].up == "WHERE":
            after = clauses[n + 2] if n + 2 < len(clauses) else stop
            end = toks[after].start if after < stop else end_of_scope
            edits.append((toks[nxt].end, toks[nxt].end, f" {extra} AND ("))
            edits.append((end, end, ") "))
        else:
            at = toks[nxt - 1].end
            edits.append((at, at, f" WHERE {extra} "))
    return edits


def for_embedded(text: str) -> str:
    """``text`` rewritten so that LadybugDB gives Neo4j's answer (see the module docstring);
    raises :class:`Unsupported` for what cannot be rewritten, and for an ``ORDER BY`` that must be
    applied after the engine (use :func:`prepare` for those)."""
    out, order = prepare(text)
    if order is not None:
        raise Unsupported("this ORDER BY must be applied after the engine", fix="use graph.compat.prepare")
    return out


_BEFORE_EXPRESSION = {"WHERE", "AND", "OR", "XOR", "NOT", "WHEN", "THEN", "ELSE", "RETURN", "WITH", ",", "DISTINCT"}


def _label_test_edits(toks: list[Tok], text: str) -> list[tuple[int, int, str]]:
    """``n:City`` (or ``n:City|Patent``) as an expression, ``WHERE n:City OR n:Applicant``: a syntax error on
    LadybugDB, written ``label(n) = 'City'`` (``label(n) IN ['City', 'Patent']``); a pattern's ``(n:City)``
    and a map's ``{k: v}`` are left alone."""
    edits = []
    for i in range(1, len(toks) - 2):
        t, before = toks[i], toks[i - 1]
        if t.kind != "word" or toks[i + 1].text != ":" or toks[i + 2].kind != "word" \
                or before.up not in _BEFORE_EXPRESSION or (before.text == "," and _inside(toks, i, "{")):
            continue
        labels, j = [toks[i + 2].text], i + 3
        while j + 1 < len(toks) and toks[j].text == "|" and toks[j + 1].kind == "word":
            labels.append(toks[j + 1].text)
            j += 2
        if j < len(toks) and toks[j].text in (":", "&", "!", "%", "{", "("):
            continue  # another label expression or not one: left to the engine
        test = f"label({t.text}) = '{labels[0]}'" if len(labels) == 1 else \
            f"label({t.text}) IN [{', '.join(repr(x) for x in labels)}]"
        edits.append((t.start, toks[j - 1].end, test))
    return edits


def _inside(toks: list[Tok], i: int, bracket: str) -> bool:
    """The innermost bracket around ``toks[i]`` is ``bracket``."""
    return next((toks[k].text == bracket for k in range(i - 1, -1, -1) if toks[k].depth < toks[i].depth), False)


def _check_shortest_path(toks: list[Tok]) -> None:
    """``shortestPath(…)`` / ``allShortestPaths(…)`` are Neo4j's functions; LadybugDB's parser refuses them
    (a syntax error that names no fix): refused with LadybugDB's pattern."""
    for i, t in enumerate(toks[:-1]):
        if t.kind == "word" and t.up in ("SHORTESTPATH", "ALLSHORTESTPATHS") and toks[i + 1].text == "(":
            every = "ALL SHORTEST" if t.up == "ALLSHORTESTPATHS" else "SHORTEST"
            raise Unsupported(
                f"refused on the embedded store: {t.text}(…) is Neo4j's; LadybugDB writes a shortest path as a "
                "pattern",
                fix=f"MATCH p = (a)-[r:COLLABORATED* {every} 1..30 (e, n | WHERE e.year = 2018)]-(b) (the "
                    "relationships' filter inside the pattern; length(r) is the hops), as in citynet query --named "
                    "shortest_path, or run it on Neo4j (--store neo4j)")


def prepare(text: str, params: dict | None = None) -> tuple[str, ClientOrder | None]:
    """``text`` rewritten for LadybugDB, and the ordering to apply to its rows when the engine cannot
    (graph/embedded_order.py); raises :class:`Unsupported` for what cannot be rewritten (``params``: the
    query's parameters, whose types are checked against the properties they meet)."""
    from citynet.graph import (
        compat_aggregates,
        compat_case,
        compat_coalesce,
        compat_endpoints,
        compat_functions,
        compat_limits,
        compat_names,
        compat_nulls,
        compat_subqueries,
        compat_syntax,
        compat_types,
    )

    compat_names.check(text, params=params)  # :CIty, c.NAME_ZH, r.CITY of $rows: another name on Neo4j
    if any(w in text.lower() for w in ("case", "coalesce", "count", "contains")):  # a column named by its text as written, not as
        first = tokens(text)  # rewritten below
        text = _applied(text, _alias_edits(first, clause_starts(first), text))
    text = compat_coalesce.check_types(text, params or {})  # coalesce of a text, boolean, date beside another
    text = compat_case.simple_case(text)  # CASE x WHEN v … as CASE WHEN x = v … (engine bug 27)
    text = compat_case.branch_types(text, params or {})  # one type per CASE (engine bug 28)
    first = tokens(text)  # Neo4j syntax LadybugDB's parser lacks: EXISTS { (a)-->() }, c {.name_zh}, AS none
    text = _applied(text, compat_subqueries.edits(first, text) + compat_syntax.edits(first, text))
    if "count" in text.lower():  # COUNT { … } beside an EXISTS: LadybugDB kept no row of a count of 0 (engine bug 29)
        text = compat_subqueries.counted(text)
    toks = tokens(text)
    _check_shortest_path(toks)
    _check_case_twins(toks, text)  # WITH x, x * 10 AS X: two variables on Neo4j, one on LadybugDB
    type_edits = compat_types.edits_for(text, params, toks)
    compat_endpoints.check(text, toks)
    null_edits = compat_nulls.edits_for(text, params, toks)
    clauses = clause_starts(toks)
    counter = [0]  # anonymous relationships named so far (__u1, __u2, …)
    edits = _match_edits(toks, clauses, len(toks), text, counter)  # (start, end, replacement)
    for lo, hi in compat_subqueries.bodies(toks):  # EXISTS { MATCH … } and COUNT { MATCH … }: their own MATCH
        edits += _match_edits(toks, clause_starts(toks, lo, hi), hi, text, counter)
    edits += _empty_aggregate_edits(toks, clauses, text)
    edits += compat_aggregates.key_count_edits(toks)
    edits += type_edits
    edits += null_edits
    edits += _alias_edits(toks, clauses, text)
    edits += _star_edits(toks, clauses, text)
    edits += compat_limits.edits(toks, clauses)  # after an ordered WITH … LIMIT: UNWIND [1] (engine bug 24)
    edits += _label_test_edits(toks, text)
    cut, order = _order_edits(toks, clauses, text)
    if cut:
        (lo, hi, _), = cut
        edits = [e for e in edits if not lo <= e[0] < hi] + cut
    edits += [e for e in compat_nulls.concat_edits(text, params, toks) if not (cut and cut[0][0] <= e[0] < cut[0][1])]
    out = _applied(text, edits)
    after = tokens(out)  # the aliases' expressions as rewritten above, for their copies in ORDER BY
    out = _applied(out, _shadowing_edits(after, clause_starts(after), out))
    after = tokens(out)  # a DISTINCT aggregate before another in a grouping projection (engine bug 19)
    out = _applied(out, compat_aggregates.edits(after, clause_starts(after), out))
    out = _applied(out, empty_needle_edits(tokens(out), out))  # 'abc' CONTAINS trim(' '): true, as on Neo4j
    out = compat_functions.rewrite(out, params)
    out = compat_coalesce.rewrite(out, params)  # coalesce(int, float) as a column: each row's own type
    return _applied(out, precedence_edits(tokens(out))), order


def empty_needle_edits(toks: list[Tok], text: str) -> list[tuple[int, int, str]]:
    """``a CONTAINS b`` → ``(a CONTAINS b OR (b = '' AND a IS NOT NULL))`` where ``b`` is computed (a property, a
    variable, a call, a position): Neo4j's ``'abc' CONTAINS ''`` is true, LadybugDB's false for an empty text that
    is no written literal (``WITH '' AS q … CONTAINS q``, ``CONTAINS trim(' ')``, ``CONTAINS ['a', ''][1]``; the
    expression test, seeds 2026120803 and 2026120804). The same null as Neo4j's: null where ``a`` or ``b`` is. A
    written text or a parameter is left (an empty one is written ``STARTS WITH ''``: compat_nulls); so is an
    operand whose ends are not clear (a ``CASE … END`` beside it)."""
    edits: list[tuple[int, int, str]] = []
    for i, t in enumerate(toks):
        if t.kind != "word" or t.up != "CONTAINS" or not i or toks[i - 1].text == "." or i + 1 >= len(toks):
            continue
        lo, hi = _operand_bound(toks, i - 1, -1), _operand_bound(toks, i + 1, 1)
        if lo is None or hi is None or lo + 1 >= i or hi <= i + 1:
            continue
        right = toks[i + 1:hi]
        if len(right) == 1 and right[0].kind in ("str", "param"):
            continue
        start, end = toks[lo + 1].start, toks[hi - 1].end
        if any(start < e and s < end for s, e, _ in edits):
            continue
        a, b = text[start:toks[i - 1].end], text[toks[i + 1].start:end]
        edits.append((start, end, f"({a} CONTAINS {b} OR (({b}) = '' AND ({a}) IS NOT NULL))"))
    return edits


def _applied(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` made, last first (insertions at one place: the later
    edit's text first)."""
    for s, e, rep in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        text = text[:s] + rep + text[e:]
    return text
