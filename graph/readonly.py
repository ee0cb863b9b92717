"""Detect write clauses in a Cypher text (for the embedded store opened read-write).

The embedded store opened by ``citynet query`` is a read-only LadybugDB database, so the engine
itself refuses writes there. A store opened read-write in-process (``GraphStore.query(write=False)``)
has no per-query access mode in LadybugDB, so its queries are checked here instead: string literals,
backtick-quoted names and comments are removed, then any write keyword (or a procedure call that is
not a known read-only one) refuses the query.
"""

from __future__ import annotations

import re

WRITE_KEYWORDS = (
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "COPY", "INSTALL",
    "LOAD EXTENSION", "ATTACH", "IMPORT", "EXPORT", "CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK",
    "FOREACH", "USE",
)
READ_PROCEDURES = {
    "show_tables", "table_info", "show_connection", "db_version", "show_functions", "current_setting",
    "show_indexes", "show_sequences", "show_macros", "show_warnings", "show_attached_databases",
    "show_loaded_extensions", "show_official_extensions", "show_projected_graphs",
}
_STRIP = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/", re.S)
_KEYWORDS = re.compile(r"(?<![\w.$])(" + "|".join(k.replace(" ", r"\s+") for k in WRITE_KEYWORDS) + r")(?![\w])", re.I)
_CALL = re.compile(r"(?<![\w.$])CALL\s+([A-Za-z_][\w.]*)", re.I)


def write_clauses(query: str) -> list[str]:
    """The write keywords (upper case) found in ``query``; empty for a read-only query."""
    text = _STRIP.sub(" ", query)
    found = [re.sub(r"\s+", " ", m.group(1)).upper() for m in _KEYWORDS.finditer(text)]
    for m in _CALL.finditer(text):
        if m.group(1).lower() not in READ_PROCEDURES:
            found.append(f"CALL {m.group(1)}")
    return found
