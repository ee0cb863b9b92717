"""Neo4j syntax that LadybugDB's parser does not read, written as it reads it.

Both stopped ``citynet query`` on the embedded store with a syntax error that asked the user to correct
valid Cypher (found by the construct matrix, ``bench/cypher_constructs.py``; checked against Neo4j 5.26 in
``tests/test_cypher_compat.py``):

- **Map projections** ``c {.city_code, .name_zh, n: count(a), x}`` → the map literal
  ``CASE WHEN c IS NULL THEN NULL ELSE {city_code: c.city_code, name_zh: c.name_zh, n: count(a), x: x} END``
  (Neo4j's projection of a null is null; ``.p`` of a property the node does not have is a null value on
  both). ``c {.*}`` (every property the node has) is refused: LadybugDB's map would hold every declared
  property, the absent ones as null; ``properties(c)`` returned whole is the writing.
- **Aliases that are LadybugDB keywords** (``RETURN … AS none``, ``AS group``, ``AS order``, ``AS index``, …):
  written in backquotes, ``AS `none```, with the later references to them (the column keeps its name).
  References to an alias that is also an expression keyword (``AS end``, ``AS in``) are not recognised: only
  the alias itself is quoted.

>>> from citynet.graph.compat import tokens
>>> q = "MATCH (c:City) RETURN c {.city_code} AS m, count(*) AS none ORDER BY none"
>>> sorted(edits(tokens(q), q))
[(22, 36, 'CASE WHEN c IS NULL THEN NULL ELSE {city_code: c.city_code} END'), (55, 59, '`none`'), (69, 73, '`none`')]
"""

from __future__ import annotations

from citynet.graph.compat import Tok, Unsupported, arguments, closing

# LadybugDB 0.20.4 refuses these as a name (RETURN 1 AS <word>) and reads them in backquotes
KEYWORDS = {"none", "all", "any", "single", "group", "order", "end", "desc", "asc", "table", "default", "primary",
            "macro", "profile", "trail", "acyclic", "install", "only", "cast", "column", "index", "glob", "shortest",
            "exists", "in", "with", "where", "union", "case", "when", "then", "else", "not", "and", "or", "xor", "on",
            "create", "unwind", "optional", "distinct", "starts", "ends", "true", "false", "null"}
# keywords that are also words of an expression or a clause: a later occurrence may be the keyword itself
_AMBIGUOUS = {"end", "desc", "asc", "in", "with", "where", "union", "case", "when", "then", "else", "not", "and",
              "or", "xor", "on", "create", "unwind", "optional", "distinct", "starts", "ends", "true", "false", "null"}


def edits(toks: list[Tok], text: str) -> list[tuple[int, int, str]]:
    """The rewrites of the module docstring, as ``(start, end, replacement)``; raises
    :class:`~citynet.graph.compat.Unsupported` for ``v {.*}``."""
    out: list[tuple[int, int, str]] = []
    for i, t in enumerate(toks):
        if _map_projection(toks, i):
            out.append(_projection_edit(toks, i, text))
        elif t.kind == "word" and t.up == "AS" and i + 1 < len(toks) and toks[i + 1].kind == "word" \
                and toks[i + 1].text.lower() in KEYWORDS:
            alias = toks[i + 1]
            out.append((alias.start, alias.end, f"`{alias.text}`"))
            if alias.text.lower() not in _AMBIGUOUS:
                out += [(r.start, r.end, f"`{r.text}`") for j, r in enumerate(toks)
                        if j > i + 1 and r.text == alias.text and _reference(toks, j)]
    return out


def _map_projection(toks: list[Tok], i: int) -> bool:
    """``toks[i]`` is the variable of a map projection ``v {.p, …}`` (a node pattern's properties never start
    with ``.``)."""
    return toks[i].kind == "word" and i + 2 < len(toks) and toks[i + 1].text == "{" and toks[i + 2].text == "." \
        and not (i and toks[i - 1].text in (".", ":"))


def _projection_edit(toks: list[Tok], i: int, text: str) -> tuple[int, int, str]:
    v, close = toks[i].text, closing(toks, i + 1)
    items = []
    for lo, hi in arguments(toks, i + 1):
        if hi == lo + 2 and toks[lo].text == "." and toks[lo + 1].kind == "word":
            items.append(f"{toks[lo + 1].text}: {v}.{toks[lo + 1].text}")
        elif hi == lo + 2 and toks[lo].text == "." and toks[lo + 1].text == "*":
            raise Unsupported(
                f"refused on the embedded store: the map projection {v} {{.*}}; LadybugDB's map would hold every "
                "declared property, also those the node does not have (as null), Neo4j's only those it has",
                fix=f"name the properties ({v} {{.city_code, .name_zh}}), or return properties({v}) as a whole column "
                    "of the last RETURN (printed without the null ones on both stores)")
        elif hi == lo + 1 and toks[lo].kind == "word":
            items.append(f"{toks[lo].text}: {toks[lo].text}")
        else:
            items.append(text[toks[lo].start:toks[hi - 1].end])
    return toks[i].start, toks[close].end, f"CASE WHEN {v} IS NULL THEN NULL ELSE {{{', '.join(items)}}} END"


def _reference(toks: list[Tok], j: int) -> bool:
    """``toks[j]`` names a variable (not a property, label, call, pattern's properties, ``ORDER BY``/``GROUP BY``,
    ``UNION ALL`` or ``ALL SHORTEST``)."""
    before = toks[j - 1].text if j else ""
    after = toks[j + 1] if j + 1 < len(toks) else None
    if before in (".", ":", "*") or toks[j - 1].up == "UNION" or toks[j].kind != "word":
        return False
    return after is None or not (after.text in ("(", "{") or after.up in ("BY", "SHORTEST"))
