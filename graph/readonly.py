"""Read-only queries: an allow-list check that runs before any query without ``--write``, on both stores.

The engines' own read-only modes refuse graph writes but not side effects: LadybugDB runs
``LOAD FROM '/etc/passwd'``, ``COPY (…) TO 'file'``, ``EXPORT DATABASE`` or ``CHECKPOINT`` on a
read-only database, and a Neo4j read session runs ``LOAD CSV``, ``TERMINATE TRANSACTIONS``,
``SHOW USERS`` or ``CALL db.clearQueryCaches()``. So a read-only query must pass this check:

1. the text is tokenised (string literals, backtick-quoted names, parameters, comments are single
   tokens, so a keyword inside them never counts, and a comment cannot hide one);
2. each statement (split at ``;`` outside strings) must begin with an allowed clause —
   ``MATCH``, ``OPTIONAL MATCH``, ``WITH``, ``UNWIND``, ``RETURN``, ``CALL`` (a listed procedure or a
   ``{…}`` subquery), ``EXPLAIN``/``PROFILE`` of those;
3. every bare word (not a property ``.name``, label ``:Name``, parameter ``$name`` or map key
   ``name:``) that is a clause keyword must be an allowed one: ``MATCH OPTIONAL WHERE WITH UNWIND
   RETURN ORDER BY SKIP LIMIT UNION CALL YIELD``; any other clause keyword (``CREATE``, ``LOAD``,
   ``COPY``, ``SHOW``, ``TERMINATE``, ``USE``, ``CHECKPOINT``, …) refuses the query;
4. ``CALL name`` must name a procedure of :data:`READ_PROCEDURES`; a dotted function call must be one
   of the built-in temporal/spatial/vector namespaces (no ``apoc.*``, ``gds.*``, ``db.*``, ``dbms.*``).

A variable that happens to be called like a clause keyword (``MATCH (load:City)``) is refused too:
quote it in backticks (`` `load` ``). Parameters are checked for values the engines cannot take
(integers outside 64 bits), so they give one message instead of a driver traceback.
"""

from __future__ import annotations

import re

from citynet.errors import QueryError, UserError

ALLOWED_CLAUSES = {"MATCH", "OPTIONAL", "WHERE", "WITH", "UNWIND", "RETURN", "ORDER", "BY", "SKIP", "LIMIT",
                   "UNION", "CALL", "YIELD", "EXPLAIN", "PROFILE"}
STATEMENT_STARTS = {"MATCH", "OPTIONAL", "WITH", "UNWIND", "RETURN", "CALL", "EXPLAIN", "PROFILE"}
# every clause keyword of Cypher 5 / openCypher / LadybugDB that is not in ALLOWED_CLAUSES
CLAUSE_KEYWORDS = {
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "COPY", "INSTALL", "UNINSTALL",
    "LOAD", "ATTACH", "IMPORT", "EXPORT", "CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK", "FOREACH", "USE",
    "SHOW", "TERMINATE", "GRANT", "DENY", "REVOKE", "START", "STOP", "ENABLE", "RENAME", "INSERT", "UPDATE",
    "FINISH", "LET", "FILTER", "NEXT", "PROJECT", "TRANSACTION", "TRANSACTIONS", "PERIODIC",
}
# procedures that only read the catalogue (LadybugDB and Neo4j)
READ_PROCEDURES = {
    # LadybugDB
    "show_tables", "table_info", "show_connection", "db_version", "show_functions", "show_indexes",
    "show_sequences", "show_macros", "show_warnings", "show_attached_databases", "show_loaded_extensions",
    "show_projected_graphs", "current_setting",
    # Neo4j
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties",
}
FUNCTION_NAMESPACES = {"date", "datetime", "localdatetime", "time", "localtime", "duration", "point", "vector"}
INT64 = (-(2 ** 63), 2 ** 63 - 1)

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
      | (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
      | (?P<quoted>`(?:[^`]|``)*(?:`|\Z))
      | (?P<param>\$(?:[A-Za-z_]\w*|\d+|`(?:[^`]|``)*`))
      | (?P<word>[A-Za-z_][\w]*)
      | (?P<number>\d[\w.]*)
      | (?P<punct>.)""",
    re.S | re.X,
)


def _tokens(query: str) -> list[tuple[str, str]]:
    """(kind, text) tokens without whitespace and comments."""
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(query) if m.lastgroup not in ("ws", "comment")]


def refusals(query: str) -> list[str]:
    """Why ``query`` is not a side-effect-free read (empty list: it is)."""
    toks = _tokens(query)
    found: list[str] = []
    start = True
    for i, (kind, text) in enumerate(toks):
        prev = toks[i - 1][1] if i else ""
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "punct" and text == ";":
            start = True
            continue
        if kind != "word":
            if start:
                found.append(f"a statement starting with {text!r}")
                start = False
            continue
        up = text.upper()
        if prev in (".", ":", "$"):
            continue  # property, label or relationship type
        if nxt == ":" and prev in ("{", ","):
            continue  # map key
        if start:
            start = False
            if up not in STATEMENT_STARTS:
                found.append(up)
                continue
        if up in CLAUSE_KEYWORDS:
            found.append(up)
        elif up == "CALL":
            found.extend(_call(toks, i))
        elif nxt == "." and prev != "." and i + 2 < len(toks):
            name = _dotted(toks, i)
            after = toks[i + 2 * name.count(".") + 1][1] if i + 2 * name.count(".") + 1 < len(toks) else ""
            if after == "(" and name.split(".")[0].lower() not in FUNCTION_NAMESPACES and prev.upper() != "CALL":
                found.append(f"function {name}")
    return list(dict.fromkeys(found))


def _dotted(toks, i: int) -> str:
    parts = [toks[i][1]]
    j = i + 1
    while j + 1 < len(toks) and toks[j][1] == "." and toks[j + 1][0] in ("word", "quoted"):
        parts.append(toks[j + 1][1])
        j += 2
    return ".".join(parts)


def _call(toks, i: int) -> list[str]:
    """``CALL {subquery}`` / ``CALL (vars) {…}`` are fine; ``CALL proc(…)`` only for listed procedures."""
    if i + 1 >= len(toks):
        return ["CALL"]
    kind, text = toks[i + 1]
    if text in ("{", "("):
        return []
    if kind not in ("word", "quoted"):
        return ["CALL"]
    name = _dotted(toks, i + 1)
    if name.lower() in READ_PROCEDURES:
        return []
    return [f"CALL {name}"]


def check_read_only(query: str) -> None:
    """Refuse ``query`` (one QueryError, exit 2: the store is reachable, the query is not allowed) unless it
    is a side-effect-free read."""
    found = refusals(query)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5:,} more" if len(found) > 5 else "")
        raise QueryError(
            f"refused in read-only mode: {shown} (read-only queries may only MATCH, WITH, UNWIND, RETURN "
            "and CALL catalogue procedures; no file, URL, settings, transaction or maintenance statements)",
            fix="pass --write to run it with write access, or quote a variable named like a keyword in backticks",
        )


def write_clauses(query: str) -> list[str]:
    """The refused keywords of ``query`` (kept for callers of the old name)."""
    return refusals(query)


def is_blank(query: str) -> bool:
    """``query`` holds nothing but whitespace and comments."""
    return not _tokens(query)


def used_params(query: str) -> list[str]:
    """The names of the ``$parameters`` of ``query``, in order of first use (strings and comments skipped).

    >>> used_params("MATCH (c:City {city_code: $code}) WHERE c.tier = $`the tier` /* $not_this */ RETURN '$nor'")
    ['code', 'the tier']
    """
    names: list[str] = []
    for kind, text in _tokens(query):
        if kind == "param":
            name = text[1:]
            name = name[1:-1].replace("``", "`") if name.startswith("`") else name
            if name not in names:
                names.append(name)
    return names


def statements(query: str) -> int:
    """The statements of ``query``: its tokens split at ``;`` outside strings, names and comments, empty ones (a
    trailing ``;``) not counted."""
    n, open_ = 0, False
    for kind, text in _tokens(query):
        if kind == "punct" and text == ";":
            n, open_ = n + open_, False
        else:
            open_ = True
    return n + open_


def check_columns(columns) -> None:
    """Refuse a result with two columns of one name (``RETURN c.name_zh, c.name_zh``, ``RETURN a.x AS n, b.y AS
    n``), as Neo4j does ("Multiple result columns with the same name are not supported"): LadybugDB answers it,
    and the table, JSON and CSV, which key a row's values by column name, printed one of the two columns (the
    table's second one blank, CSV and JSON the second's values under the first's name) without a word."""
    seen: set[str] = set()
    twice = [c for c in map(str, columns) if c in seen or seen.add(c)]
    if twice:
        raise QueryError(f"the query returns two columns named {twice[0]!r} (Neo4j refuses this: multiple result "
                         "columns with the same name are not supported)",
                         fix=f"name each column with AS, e.g. RETURN … AS {twice[0]}_1, … AS {twice[0]}_2")


def check_params(params: dict | None, query: str | None = None) -> None:
    """Refuse parameter values no engine takes (integers outside 64 bits), and a ``query`` that uses a
    parameter not given (Neo4j refuses it; LadybugDB would read it as null and answer silently), with
    one message each."""
    if query is not None:
        missing = [name for name in used_params(query) if name not in (params or {})]
        if missing:
            raise QueryError(f"the query uses {', '.join('$' + m for m in missing)}, not given",
                             fix=" ".join(f"--param {m}=VALUE" for m in missing)
                             + " (a library query's parameters: citynet query --list)")
    def walk(name: str, v) -> None:
        if isinstance(v, bool) or v is None:
            return
        if isinstance(v, int) and not INT64[0] <= v <= INT64[1]:
            raise UserError(f"parameter {name}: {str(v)[:40]}{'…' if len(str(v)) > 40 else ''} is outside the "
                            "64-bit integer range", fix=f"give {name} between {INT64[0]:,} and {INT64[1]:,}, or as a string "
                            f"(--param {name}:str=…)")
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{name}.{k}", x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(f"{name}[]", x)
    for k, v in (params or {}).items():
        walk(str(k), v)
