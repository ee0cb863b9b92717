"""``citynet query``: run Cypher against the store, read-only unless ``--write``."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import sys
from pathlib import Path

import click

from citynet.commands.common import network_option, workspace_option
from citynet.commands.load import open_ws_store, store_options
from citynet.errors import UserError

_PARAM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::(str|string|int|float|bool|json))?=(.*)$", re.S)
_INT = re.compile(r"^[+-]?\d+$")
_SINGLE_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
TYPE_ALIASES = {"STRING": "str", "INT": "int", "INT64": "int", "FLOAT": "float", "DOUBLE": "float",
                "BOOL": "bool", "BOOLEAN": "bool", "LIST": "json", "JSON": "json"}


def convert(value: str, kind: str | None, name: str):
    """``value`` as ``kind`` (str/int/float/bool/json), or inferred when ``kind`` is None."""
    try:
        if kind in ("str", "string"):
            return json.loads(value) if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if value.lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return value.lower() == "true"
        if kind == "json":
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                if "'" not in value:
                    raise
                # a Cypher (or Python) list of texts: ['110000', '310000'] is ["110000", "310000"]
                return json.loads(_SINGLE_QUOTED.sub(lambda m: json.dumps(m.group(1).replace("\\'", "'")), value))
    except (ValueError, json.JSONDecodeError) as exc:
        raise UserError(f"--param {name}: {value!r} is not a valid {kind} ({exc})",
                        fix=f"e.g. --param {name}=5, {name}=1.5, {name}=true, {name}='\"text\"', {name}='[1,2]', "
                            f"{name}=\"['110000','310000']\"") from exc
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return convert(value, "str", name)
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    if value[:1] in "[{":
        return convert(value, "json", name)
    return value


def parse_params(items, declared: dict[str, str] | None = None) -> dict:
    """``NAME=VALUE`` or ``NAME:TYPE=VALUE`` items → typed parameters (declared types win)."""
    out = {}
    for item in items:
        m = _PARAM.match(item)
        if not m:
            raise UserError(f"--param {item!r} is not NAME=VALUE", fix="e.g. --param city=320100 --param year=2015")
        name, kind, value = m.groups()
        kind = kind or (declared or {}).get(name)
        out[name] = convert(value, kind, name)
    return out


def _header_params(text: str):
    from citynet import cypher
    params = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        m = cypher._PARAM.match(line)
        if m:
            params.append(cypher.Param(m.group(1), m.group(2), m.group(3), m.group(4).strip()))
    return params


def _resolve(text, file, named, engine):
    """(cypher text, declared params) from exactly one of the three sources."""
    from citynet import cypher
    given = [x for x in (text, file, named) if x]
    if len(given) != 1:
        raise UserError("give exactly one of: a CYPHER text, --file FILE, --named NAME",
                        fix='citynet query -w ws "MATCH (c:City) RETURN count(*)"  or  --named top_partners')
    if named:
        lib = cypher.library()
        if named not in lib:
            raise UserError(f"no library query named {named!r}", fix=f"one of: {', '.join(lib)} (citynet query --list)")
        header = lib[named].params
        return lib[named].text(engine), header
    if file:
        path = Path(file)
        specific = path.with_name(f"{path.name.removesuffix('.cypher')}.{engine}.cypher")
        if path.suffix == ".cypher" and path.name.count(".") == 1 and specific.exists():
            path = specific
        if not path.exists():
            raise UserError(f"{file}: no such file", fix="give the path of a .cypher file")
        body = _cypher_text(path)
        header = _header_params(body)
        if not header and path != Path(file) and Path(file).exists():
            header = _header_params(_cypher_text(Path(file)))
        if not header:  # the engine-specific file of a library query: the header is in the other one
            for other in path.parent.glob(f"{path.name.split('.')[0]}.*cypher"):
                header = header or _header_params(_cypher_text(other))
        return body, header
    return text, []


def city_code_of(param: str, text: str) -> str:
    """The city code of a city name given for a parameter that takes a code (``--param city=南京`` or 南京市,
    historical names too); a name of no city is one message (exit 2)."""
    import pandas as pd

    from citynet.etl.covariates import match_city_keys

    code = match_city_keys(None, pd.Series([text])).iloc[0]
    if not isinstance(code, str):
        raise UserError(f"--param {param}={text!r} is neither a 6-digit city code nor the name of a city",
                        fix=f"e.g. --param {param}=320100 or --param {param}=南京")
    return code


def _cypher_text(path: Path) -> str:
    """The text of a ``--file`` query: UTF-8, a BOM (Windows Notepad) dropped; a file that is not text (a
    workbook, a binary) is one message, not a UnicodeDecodeError traceback."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file (a Cypher query is plain text)",
                        fix="save the query as UTF-8 text in a .cypher file") from None


def jsonable(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):  # LadybugDB's INTERVAL, as an ISO 8601 duration
        seconds = v.seconds + v.microseconds / 1e6
        return f"P{v.days}D" + (f"T{seconds:g}S" if seconds else "")
    if isinstance(v, bytes | bytearray):
        return v.hex()
    if isinstance(v, dict) and "_LABEL" in v and "_ID" in v:  # a LadybugDB node or relationship: as Neo4j's,
        return {str(k): jsonable(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))  # its properties
                if not str(k).startswith("_") and x is not None}  # (a null one is no property), by name
    if isinstance(v, dict) and "_NODES" in v:  # a LadybugDB path: its nodes, as a Neo4j path's
        return [jsonable(n) for n in v["_NODES"]]
    if hasattr(v, "iso_format"):  # neo4j temporal types
        return v.iso_format()
    if hasattr(v, "item") and not isinstance(v, list | dict | str):
        try:
            return v.item()
        except (ValueError, AttributeError):
            pass
    if hasattr(v, "tolist"):
        return jsonable(v.tolist())
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):  # keys by name: Neo4j sends a map's keys in an order of its own
        return {str(k): jsonable(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, decimal.Decimal):  # LadybugDB's sum of integers (INT128): an integer, as on Neo4j
        return int(v) if v == v.to_integral_value() else float(v)
    if "neo4j" in sys.modules:  # neo4j Node / Relationship / Path; never imported for the embedded store
        from neo4j.graph import Node, Path, Relationship

        if isinstance(v, Node | Relationship):
            return {k: jsonable(x) for k, x in sorted(dict(v).items())}
        if isinstance(v, Path):
            return [jsonable(n) for n in v.nodes]
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return v


def records(columns, rows) -> list[dict]:
    """Rows as JSON-ready ``{column: value}`` dicts."""
    return [{str(k): jsonable(v) for k, v in zip(columns, row, strict=True)} for row in rows]


def rows_of(df) -> list[dict]:
    return records(df.columns, df.itertuples(index=False))


@click.command(
    "query",
    epilog="""\b
Examples:
  citynet query -w ws "MATCH (c:City) RETURN count(*) AS cities"
  citynet query -w ws "MATCH (c:City {city_code: \\$code}) RETURN c.name_zh" --param code:str=320100
  citynet query -w ws "MATCH (c:City)-[r:COLLABORATED {year: 2018, network: \\$network}]->(d:City) RETURN c.city_code AS a, c.name_zh AS city_a, d.city_code AS b, d.name_zh AS city_b, r.weight AS weight ORDER BY weight DESC, a, b LIMIT 10" --param network=invention.wipo.all
  citynet query -w ws --named top_partners --param city=320100 --param year=2015
  citynet query -w ws --named shortest_path --param city_a=110000 --param city_b=440300 --param year=2018 --format json
  citynet query -w ws --file cypher/queries/partner_churn.cypher --param city=320100 --param year_a=2014 --param year_b=2015 --format csv
  citynet query -w ws --write "MATCH (c:City {city_code: '320100'}) SET c.tier = '1'"
  citynet query -w ws --named top_partners --param city=320100 --param year=2015 --network invention.y02.granted
  citynet query --list
\b
--param NAME=VALUE is typed: 5 int, 1.5 float, true/false bool, null, [1,2] or {"a":1} JSON,
"text" or text string; force a type with NAME:str=..., NAME:int=..., NAME:float=..., NAME:bool=...,
NAME:json=... (library queries declare their parameter types). Values are always sent as query
parameters, never pasted into the Cypher text. Without --write, only MATCH/OPTIONAL MATCH/WITH/
UNWIND/RETURN and catalogue procedures run: files, URLs, settings, transactions, users and
maintenance (LOAD CSV, LOAD FROM, COPY TO, EXPORT, CHECKPOINT, SHOW, TERMINATE, ...) are refused
(docs/reliability.md); the engines refuse writes too (Neo4j: read-access sessions; LadybugDB: a
read-only database). Library queries over the yearly projections take the network filter as the
parameter network (default: --network, else the workspace's [network] filter). Exit 2 for a Cypher
syntax error or a query refused without --write. Exit 4 when the store is busy (a load, a metrics run or
another --write query is writing it: retry when it has finished) or its last load did not finish (run
citynet load). A --write query holds the store's writer lock while it runs, so a load or metrics
started meanwhile is refused the same way. Both stores give Neo4j's rows: on the embedded
store a query is rewritten where LadybugDB's semantics differ (relationship uniqueness, sum and
collect of nothing, positions from 0, a text joined to null, IN a list holding nulls, ORDER BY an
alias named like a variable, label tests, an aggregate after a DISTINCT one, column names, dates,
EXISTS/COUNT subqueries) or refused with the construct and the rewrite (variable-length paths
outside SHORTEST, shortestPath(), CALL/COLLECT subqueries, pattern and list comprehensions);
on Neo4j, a query that Neo4j 5.26 itself answers wrongly (a term tested by IN twice, once inside an
XOR, comparison, CASE or function) is refused with a writing it answers right; see docs/cypher.md.""",
)
@workspace_option()
@click.argument("text", required=False)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A query parameter (repeatable).")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Read the query from a .cypher file.")
@click.option("--named", help="Run a library query of cypher/queries (see --list).")
@click.option("--list", "list_", is_flag=True, help="List the library queries and their parameters.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--write", is_flag=True, help="Allow write clauses (CREATE, MERGE, SET, DELETE, …).")
@network_option
@store_options
def command(ws, text, params, file, named, list_, fmt, write, network, backend, uri, user, password):
    """Run a Cypher query against the store (read-only unless --write)."""
    from citynet import cypher
    if list_:
        for q in cypher.library().values():
            click.echo(f"{q.name}: {q.description}")
            for p in q.params:
                default = f" (default {p.default})" if p.default else ""
                click.echo(f"    {p.name} {p.type}{default}  {p.doc}")
        return
    engine = backend or ws.settings.get("store", {}).get("backend") or "embedded"
    body, header = _resolve(text, file, named, engine)
    from citynet.graph.readonly import is_blank

    if is_blank(body):
        raise UserError("the query is empty (only spaces or comments)",
                        fix='citynet query -w ws "MATCH (c:City) RETURN count(*)"')
    declared = {p.name: TYPE_ALIASES.get(p.type.upper(), "str") for p in header}
    values = parse_params(params, declared)
    from citynet.graph.readonly import used_params

    used = used_params(body)
    unknown = [name for name in values if name not in declared and name not in used]
    if unknown:  # Neo4j and LadybugDB ignore them: a misspelt parameter would change nothing, silently
        takes = ", ".join(declared or used) or "none"
        raise UserError(f"the query has no parameter {', '.join('$' + u for u in unknown)} (its parameters: {takes})",
                        fix="check the name (citynet query --list shows the library queries' parameters)")
    missing = []
    for p in header:
        if p.name in values:
            continue
        if p.default == "@network":
            if network:
                from citynet.workspace import parse_network_key

                parse_network_key(network)
            values[p.name] = network or ws.default_network
        elif p.default is not None:
            values[p.name] = convert(p.default, declared[p.name], p.name)
        else:
            missing.append(p.name)
    if missing:
        raise UserError(f"missing parameters: {', '.join(missing)}",
                        fix=" ".join(f"--param {m}=VALUE" for m in missing))
    for p in header:  # a city name where the query takes a city code matched nothing: "0 rows", silently
        value = values.get(p.name)
        if p.doc.lower().startswith("city code") and isinstance(value, str) and not re.fullmatch(r"\d{6}", value):
            values[p.name] = city_code_of(p.name, value)
    if engine == "embedded" and not write and fmt != "csv":
        from citynet.graph.lean import (
            query_rows,  # no pandas, no store layer: the same checks, in a fraction of a second
        )

        lean = query_rows(ws.store, body, values, ws.root)
        if lean is not None:
            columns, rows = lean
            if fmt == "json":
                click.echo(json.dumps(records(columns, rows), ensure_ascii=False, indent=2))
            else:
                _print_table(columns, records(columns, rows))
            return
    with open_ws_store(ws, backend, uri, user, password, read_only=not write) as store:
        store.ensure_schema()
        from citynet.graph import lifecycle

        if write:  # a writer like load and metrics: a complete store, and the store's writer lock while it runs
            lifecycle.check_complete(store, ws.root)
            with lifecycle.writing(store, "citynet query --write", record=False):
                df = store.query(body, values, write=True)
        else:
            with lifecycle.reading(store, ws.root):  # a complete store, not changed while read (graph/lifecycle.py)
                df = store.query(body, values, write=False)
    if fmt == "json":
        click.echo(json.dumps(rows_of(df), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        _csv_cells(df).to_csv(sys.stdout, index=False)
    else:
        _table(df)


def _csv_cells(df):
    """``df`` with every list, map, node, relationship or path cell as its JSON text (the same on both
    stores: a node as its properties); numbers and text stay as they are."""
    def cell(v):
        if v is None or isinstance(v, str | int | float | bool):
            return v
        plain = jsonable(v)  # a date: its ISO text; a node: its properties
        return plain if plain is None or isinstance(plain, str | int | float | bool) else \
            json.dumps(plain, ensure_ascii=False)

    out = df.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(cell)
    return out


def _table(df) -> None:
    _print_table(list(df.columns), rows_of(df))


def _print_table(columns, rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(show_lines=False)
    for c in columns:
        t.add_column(str(c))
    for row in rows:
        t.add_row(*("" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else str(v)
                    for v in row.values()))
    console = Console()
    console.print(t)
    console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", style="dim")
