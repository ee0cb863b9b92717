"""The Cypher text of citynet, kept as files with parameters (never string-formatted user input).

Layout::

    cypher/schema.<engine>.cypher        schema (constraints and indexes / node and rel tables)
    cypher/load.<engine>.cypher          load statements, one named block each
    cypher/projections.cypher            yearly city projections, one named block each (both engines)
    cypher/projections.neo4j.cypher      the blocks of it that Neo4j runs in its own form
    cypher/projection_write.<engine>.cypher  writing a projection's new/changed/vanished edges
    cypher/read.cypher                   reads behind GraphStore.city_edges / city_year_counts
    cypher/read.neo4j.cypher             the blocks of it that Neo4j runs in its own form
    cypher/queries/<name>.cypher         the documented library of user queries (docs/cypher.md)
    cypher/queries/<name>.<engine>.cypher  the same query where the dialects differ

``<engine>`` is ``embedded`` (LadybugDB) or ``neo4j``. A file ``X.<engine>.cypher`` takes precedence
over ``X.cypher``; in files of named blocks, block by block (``projections.neo4j.cypher`` and
``read.neo4j.cypher`` hold only the blocks that Neo4j runs in another form). Named blocks start with a
line ``// name: <block>``; a block may hold several statements separated by ``;`` at the end of a line.

A library query starts with a header of ``//`` comment lines: a description, then one line per
parameter: ``// @param NAME TYPE [= DEFAULT] description``; the default ``@network`` means the
network key of the workspace's network filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
ENGINES = ("embedded", "neo4j")
_NAME = re.compile(r"^[A-Za-z0-9_./-]+$")


def path(name: str, engine: str) -> Path:
    """The file for ``name`` (e.g. ``queries/top_partners``) on ``engine``."""
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"invalid cypher name {name!r}")
    specific = ROOT / f"{name}.{engine}.cypher"
    if specific.exists():
        return specific
    return ROOT / f"{name}.cypher"


def text(name: str, engine: str) -> str:
    return path(name, engine).read_text(encoding="utf-8")


def split_statements(body: str) -> list[str]:
    """Statements separated by ``;`` at the end of a line; ``//`` comment lines dropped."""
    out, cur = [], []
    for line in body.splitlines():
        if line.strip().startswith("//"):
            continue
        if line.rstrip().endswith(";"):
            cur.append(line.rstrip()[:-1])
            stmt = "\n".join(cur).strip()
            if stmt:
                out.append(stmt)
            cur = []
        else:
            cur.append(line)
    stmt = "\n".join(cur).strip()
    if stmt:
        out.append(stmt)
    return out


def _named_blocks(body: str) -> dict[str, list[str]]:
    """``{block: [statement, ...]}`` of a text of named blocks."""
    result: dict[str, list[str]] = {}
    current, lines = None, []
    for line in body.splitlines():
        m = re.match(r"^\s*//\s*name:\s*(\S+)\s*$", line)
        if m:
            if current:
                result[current] = split_statements("\n".join(lines))
            current, lines = m.group(1), []
        elif current:
            lines.append(line)
    if current:
        result[current] = split_statements("\n".join(lines))
    return result


def blocks(name: str, engine: str) -> dict[str, list[str]]:
    """Named blocks of a file: ``{block: [statement, ...]}``; a block of ``name.<engine>.cypher`` replaces
    the block of the same name in ``name.cypher`` (the blocks of both files, in the shared file's order)."""
    specific, shared = path(name, engine), ROOT / f"{name}.cypher"
    result = _named_blocks(shared.read_text(encoding="utf-8")) if specific != shared and shared.exists() else {}
    result.update(_named_blocks(specific.read_text(encoding="utf-8")))
    return result


def statements(name: str, engine: str) -> list[str]:
    return split_statements(text(name, engine))


@dataclass
class Param:
    name: str
    type: str
    default: str | None
    doc: str


@dataclass
class LibraryQuery:
    name: str
    description: str
    params: list[Param] = field(default_factory=list)

    def text(self, engine: str) -> str:
        return text(f"queries/{self.name}", engine)

    def files(self) -> list[Path]:
        return sorted({path(f"queries/{self.name}", e) for e in ENGINES})


_PARAM = re.compile(r"^//\s*@param\s+(\w+)\s+(\w+)(?:\s*=\s*(\S+))?\s*(.*)$")


def library() -> dict[str, LibraryQuery]:
    """The documented user queries in ``cypher/queries``."""
    out: dict[str, LibraryQuery] = {}
    for f in sorted((ROOT / "queries").glob("*.cypher")):
        name = f.name.split(".")[0]
        if name in out:
            continue
        desc, params = [], []
        for line in path(f"queries/{name}", "neo4j").read_text(encoding="utf-8").splitlines():
            if not line.startswith("//"):
                break
            m = _PARAM.match(line)
            if m:
                params.append(Param(m.group(1), m.group(2), m.group(3), m.group(4).strip()))
            else:
                desc.append(line[2:].strip())
        out[name] = LibraryQuery(name, " ".join(d for d in desc if d), params)
    return out
