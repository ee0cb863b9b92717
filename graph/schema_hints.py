"""What a query named that the store's schema does not have, and what it has instead.

LadybugDB refuses a property or a label its schema lacks ("Cannot find property name for c.", "Table Cty
does not exist."), where Neo4j answers null or nothing. The message alone does not say what the schema
holds; these hints name the label's properties (or the labels and relationship types) with the closest
ones first. The schema is read from ``cypher/schema.embedded.cypher``, the file the store is made from.

Example::

    >>> property_hint("Cannot find property name for c.", "MATCH (c:City) RETURN c.name")
    'City has no property name (did you mean name_zh or short_name?); its properties: city_code, name_zh, short_name, province_code, province_zh, lon, lat, tier, region'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import cache

from citynet.cypher import text

_TABLE = re.compile(r"CREATE (NODE|REL) TABLE IF NOT EXISTS (\w+)\((.*)\);")
_MISSING_PROPERTY = re.compile(r"Cannot find property (\w+) for (\w+)\.")
_MISSING_TABLE = re.compile(r"Table (\w+) does not exist")
INTERNAL = {"row_hash", "Meta"}  # citynet's own bookkeeping, not for questions


@cache
def schema() -> dict[str, tuple[str, list[str]]]:
    """Each label and relationship type: its kind (NODE or REL) and its properties, in declared order."""
    out = {}
    for kind, name, body in _TABLE.findall(text("schema", "embedded")):
        props = [p.split()[0] for p in body.split(",") if p.strip() and not p.strip().startswith(("FROM ", "TO "))]
        if name not in INTERNAL:
            out[name] = (kind, [p for p in props if p not in INTERNAL])
    return out


def _close(word: str, options: list[str]) -> str:
    """" (did you mean a or b?)" for the options close to ``word`` (case ignored), or ""."""
    lower = {o.lower(): o for o in options}
    found = [lower[m] for m in difflib.get_close_matches(word.lower(), list(lower), n=2, cutoff=0.6)]
    found += [o for o in options if word.lower() in o.lower() and o not in found][: 2 - len(found)]
    return f" (did you mean {' or '.join(found)}?)" if found else ""


def _label_of(variable: str, statement: str) -> str | None:
    """The label or type the query gives ``variable`` in a pattern: ``(c:City``, ``[r:APPLIED``."""
    m = re.search(rf"[(\[]\s*{re.escape(variable)}\s*:\s*(\w+)", statement)
    return m.group(1) if m else None


def property_hint(msg: str, statement: str, live: Callable[[str], list[str] | None] | None = None) -> str | None:
    """The properties of the variable's label, when ``msg`` is LadybugDB's missing property; ``live(label)``
    gives the store's own list where it grows (CityYear's metric columns), None elsewhere."""
    m = _MISSING_PROPERTY.search(msg)
    if not m:
        return None
    prop, variable = m.groups()
    label = _label_of(variable, statement)
    tables = schema()
    if label in tables:
        props = [p for p in (live and live(label) or tables[label][1]) if p not in INTERNAL]
        return f"{label} has no property {prop}{_close(prop, props)}; its properties: {', '.join(props)}"
    having = [f"{name}.{prop}" for name, (_, props) in tables.items() if prop in props]
    if having:
        return f"{variable} has no property {prop}; {prop} is a property of {', '.join(having)}: give {variable} that label"
    every = sorted({p for _, props in tables.values() for p in props})
    return f"no label has a property {prop}{_close(prop, every)}"


def table_hint(msg: str) -> str | None:
    """The labels and relationship types, when ``msg`` is LadybugDB's missing table."""
    m = _MISSING_TABLE.search(msg)
    if not m:
        return None
    tables = schema()
    nodes = [k for k, (kind, _) in tables.items() if kind == "NODE"]
    rels = [k for k, (kind, _) in tables.items() if kind == "REL"]
    return (f"the store has no label or relationship type {m.group(1)}{_close(m.group(1), list(tables))}; "
            f"labels: {', '.join(nodes)}; relationship types: {', '.join(rels)}")
