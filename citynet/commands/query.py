"""``citynet query``: run Cypher against the store, read-only unless ``--write``."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import numbers
import re
import sys
from pathlib import Path

import click

from citynet.commands.common import network_option, workspace_option
from citynet.commands.load import open_ws_store, store_options
from citynet.errors import QueryError, UserError

_PARAM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?=(.*)$", re.S)
KINDS = ("str", "string", "int", "float", "bool", "json")
_RANGE = re.compile(r"\((-?\d+)\.\.(-?\d+)\)")  # a library parameter's declared range: "(1..30)"
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
    out, raw = {}, {}
    for item in items:
        m = _PARAM.match(item)
        if not m:
            raise UserError(f"--param {item!r} is not NAME=VALUE", fix="e.g. --param city=320100 --param year=2015")
        name, kind, value = m.groups()
        if kind is not None and kind not in KINDS:
            raise UserError(f"--param {item!r}: unknown type {kind!r} (the types: {', '.join(KINDS[:1] + KINDS[2:])})",
                            fix=f"e.g. --param {name}:str={value} or --param {name}={value} (the type inferred)")
        if name in raw:  # the last one would win, silently
            raise UserError(f"--param {name} is given twice ({raw[name]!r} and {item!r})",
                            fix=f"give {name} once; a list is one value: --param \"{name}=['110000','310000']\"")
        raw[name] = item
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
    historical names too), or the code itself when it is a city of citynet's city set; a name of no city, or
    a 6-digit code that is no city of the set (``999999``, a district's ``320102``), is one message (exit 2):
    the query would answer 0 rows."""
    import pandas as pd

    from citynet.etl.cities import city_set
    from citynet.etl.covariates import match_city_keys

    if re.fullmatch(r"\d{6}", text):
        cs = city_set()
        names = cs.cities.set_index("city_code")["name_zh"]
        if text in names.index:
            return text
        city = cs.unit_to_city.get(text)
        within = f" (it lies in {names[city]}, city code {city})" if city in names.index else ""
        raise UserError(f"--param {param}={text}: no city of the city set has the code {text}{within}",
                        fix=f"--param {param}={city}" if within else
                        f"e.g. --param {param}=320100 or --param {param}=南京 (the cities: "
                        "MATCH (c:City) RETURN c.city_code, c.name_zh)")
    code = match_city_keys(None, pd.Series([text])).iloc[0]
    if isinstance(code, str) and code not in city_set().codes:  # 通什市 → 469001 五指山, a county-level city of no city
        raise UserError(f"--param {param}={text!r} names the unit {code}, which is no city of the city set (a county-"
                        "level city that no prefecture-level city of the set holds)",
                        fix=f"e.g. --param {param}=320100 or --param {param}=南京 (the cities: "
                            "MATCH (c:City) RETURN c.city_code, c.name_zh)")
    if not isinstance(code, str):
        raise UserError(f"--param {param}={text!r} is neither a 6-digit city code nor the name of a city",
                        fix=f"e.g. --param {param}=320100 or --param {param}=南京")
    return code


_YEAR_PARAM = re.compile(r"^year(_[A-Za-z0-9_]+)?$")


def _year_params(header, values: dict) -> list[tuple[str, int]]:
    """The year parameters of a library query (declared INT, named ``year`` or ``year_…``) and their values."""
    return [(p.name, values[p.name]) for p in header if _YEAR_PARAM.match(p.name)
            and TYPE_ALIASES.get(p.type.upper()) == "int" and isinstance(values.get(p.name), int)
            and not isinstance(values.get(p.name), bool)]


def _beyond(name: str, value: int, first: int, last: int) -> bool:
    """Whether year parameter ``name`` leaves every year of ``first..last`` out: a lower bound (``…_from``) after
    ``last``, an upper bound (``…_to``) before ``first``, any other year outside."""
    if name.endswith("_from"):
        return value > last
    if name.endswith("_to"):
        return value < first
    return not first <= value <= last


def _outside_years(years: list[tuple[str, int]], read) -> tuple[list[tuple[str, int]], int, int] | None:
    """The year parameters that lie outside the years the store's records carry — application and grant years of
    the patents, years of the transfers (``cypher/years.cypher``; ``read(block)`` gives a block's row, or None) —
    with those years' first and last; None when every year lies inside them or the store holds no year. The
    transfers' years are read only when a year lies outside the patents'."""
    def ends(block: str) -> list[int]:
        return [int(y) for y in (read(block) or ()) if y is not None]

    def outside(known):
        if not known:
            return []
        first, last = min(known), max(known)
        return [(n, v) for n, v in years if _beyond(n, v, first, last)]

    if not years:
        return None
    known = ends("patent_ends")
    if not outside(known):
        return None
    known += ends("transfer_ends")
    wrong = outside(known)
    return (wrong, min(known), max(known)) if wrong else None


def years_error(years: list[tuple[str, int]], read, query: str | None) -> UserError | None:
    """The message (exit 2, as for a city code of no city) when a query that found no row was given a year
    outside the years the store's records carry (:func:`_outside_years`), else None: a year inside them with no
    row is an empty answer; a store without any year says nothing."""
    found = _outside_years(years, read)
    if not found:
        return None
    (name, value), first, last = found[0][0], found[1], found[2]
    where = ("after the last year" if name.endswith("_from") else "before the first year" if name.endswith("_to")
             else "outside the years")
    return UserError(f"--param {name}={value} is {where} of the store's records ({first}–{last}: patents filed or "
                     f"granted, transfers), so {query or 'the query'} found no row",
                     fix=f"give {name} within {first}–{last}, or ingest and load the records of {value} first")


def years_warning(years: list[tuple[str, int]], read, query: str | None) -> str | None:
    """A warning when a query that found rows was given a year (not a bound: ``…_from``/``…_to`` may reach past
    the records) outside the years the store's records carry: ``partner_churn --param year_a=1990`` on a
    2006–2020 corpus answers with every partner of ``year_b`` "new", an answer about a year of no record."""
    found = _outside_years([(n, v) for n, v in years if not n.endswith(("_from", "_to"))], read)
    if not found:
        return None
    (name, value), first, last = found[0][0], found[1], found[2]
    return (f"--param {name}={value} is outside the years of the store's records ({first}–{last}: patents filed or "
            f"granted, transfers): {query or 'the query'}'s rows hold nothing of {value}")


def check_year_bounds(years: list[tuple[str, int]], header=(), query: str | None = None) -> None:
    """``year_from`` after ``year_to`` (``transfer_inflows --param year_from=2015 --param year_to=2010``) selects no
    year, and a year its header calls "the earlier year" after its pair (``partner_churn --param year_a=2016
    --param year_b=2015``) turns "new" into "exited": one message (exit 2) rather than an answer."""
    given = dict(years)
    for name, value in years:
        if name.endswith("_from") and (upper := name.removesuffix("_from") + "_to") in given and value > given[upper]:
            raise UserError(f"--param {name}={value} is after --param {upper}={given[upper]}: no year lies between them",
                            fix=f"give {name} ≤ {upper} (--param {name}={given[upper]} --param {upper}={value})")
    for p in header:
        later = p.name[:-2] + "_b" if p.name.endswith("_a") else None
        if later in given and p.name in given and "earlier" in p.doc.lower() and given[p.name] > given[later]:
            raise UserError(f"--param {p.name}={given[p.name]} is after --param {later}={given[later]}: "
                            f"{query or 'the query'} takes {p.name} as the earlier year (its statuses would be "
                            "the wrong way round)",
                            fix=f"--param {p.name}={given[later]} --param {later}={given[p.name]}")


def _store_year_reader(store):
    """``read(block)`` of :func:`years_error` on an open store (either engine)."""
    def read(block: str):
        rows = store._block_rows("years", block)
        return rows[0] if rows else None
    return read


def _lean_year_reader(ws):
    """``read(block)`` of :func:`years_error` on the embedded store through the lean reader (None: cannot tell)."""
    from citynet import cypher
    from citynet.graph.lean import query_rows

    def read(block: str):
        (statement,) = cypher.blocks("years", "embedded")[block]
        got = query_rows(ws.store, statement, {}, ws.root)
        return got[1][0] if got and got[1] else None
    return read


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
  citynet query -w ws "MATCH (c:City)-[r:COLLABORATED {year: 2018, network: \\$network}]->(d:City) RETURN c.city_code AS a, c.name_zh AS city_a, d.city_code AS b, d.name_zh AS city_b, r.weight AS weight ORDER BY weight DESC, a, b LIMIT 10" --network invention.wipo.all
  citynet query -w ws --named top_partners --param city=320100 --param year=2015
  citynet query -w ws --named shortest_path --param city_a=110000 --param city_b=440300 --param year=2018 --format json
  citynet query -w ws --file cypher/queries/partner_churn.cypher --param city=320100 --param year_a=2014 --param year_b=2015 --format csv
  citynet query -w ws --write "MATCH (c:City {city_code: '320100'}) SET c.tier = '1'"
  citynet query -w ws --named top_partners --param city=320100 --param year=2015 --network invention.wipo.all
  citynet query --list
\b
--list prints the library queries and their parameters and runs none: with a query, --param,
--write, --network, --format or a store option it is refused (exit 2).
--param NAME=VALUE is typed: 5 int, 1.5 float, true/false bool, null, [1,2] or {"a":1} JSON, "text"
or text string; force a type with NAME:str=..., NAME:int=..., NAME:float=..., NAME:bool=...,
NAME:json=... (library queries declare their parameter types); a parameter given twice, or an
unknown type, is refused. Values are always sent as query parameters, never pasted into the Cypher
text. Without --write, only MATCH/OPTIONAL MATCH/WITH/UNWIND/RETURN and catalogue procedures run:
files, URLs, settings, transactions, users and maintenance (LOAD CSV, LOAD FROM, COPY TO, EXPORT,
CHECKPOINT, SHOW, TERMINATE, ...) are refused (docs/reliability.md); the engines refuse writes too
(Neo4j: read-access sessions; LadybugDB: a read-only database). $network, in a library query over
the yearly projections or in your own, is the network filter key of --network (default: the
workspace's [network] filter); --network on a query without $network is refused (it would change
nothing), so is a filter whose projections the store does not hold (citynet metrics --network KEY
builds them). A city parameter of a library query takes a code or a name of the city set; another is
refused rather than answering 0 rows; so is a value outside the range the library declares
(within_hops k: 1..30) and a negative LIMIT. Exit 2 for a Cypher syntax error, a query refused
without --write, or one refused because the two stores would answer it differently (below). Exit 4
when the store is busy (a load, a metrics run or another --write query is writing it: retry when it
has finished) or its last load did not finish (run citynet load). A --write query holds the store's
writer lock while it runs, so a load or metrics started meanwhile is refused the same way; one that
can change stored rows is recorded in the store, and the next citynet load compares every table with
the canonical tables again and writes back what differs (docs/cypher.md, "--write and the next load"). Both
stores give Neo4j's rows: on the embedded store a query is rewritten where LadybugDB's semantics
differ (relationship uniqueness, sum and collect of nothing, positions from 0, a text joined to
null, IN a list holding nulls, ORDER BY an alias named like a variable, label tests, an aggregate
after a DISTINCT one, column names, dates, EXISTS/COUNT subqueries) or refused with the construct
and the rewrite (variable-length paths outside SHORTEST, shortestPath(), CALL/COLLECT subqueries,
pattern and list comprehensions); on Neo4j, a query that Neo4j 5.26 itself answers wrongly (a term
tested by IN twice, once inside an XOR, comparison, CASE or function) is refused with a writing it
answers right; see docs/cypher.md.""",
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
        _refuse_with_list(click.get_current_context())
        for q in cypher.library().values():
            click.echo(f"{q.name}: {q.description}")
            for p in q.params:
                default = f" (default {p.default})" if p.default else ""
                click.echo(f"    {p.name} {p.type}{default}  {p.doc}")
        return
    from citynet.commands.common import refuse_neo4j_options, store_backend

    engine = store_backend(ws, backend)
    refuse_neo4j_options(ws, backend, uri, user, password)
    body, header = _resolve(text, file, named, engine)
    from citynet.graph.readonly import is_blank

    if is_blank(body):
        raise UserError("the query is empty (only spaces or comments)",
                        fix='citynet query -w ws "MATCH (c:City) RETURN count(*)"')
    from citynet.graph.readonly import check_read_only, statements

    if not write:
        check_read_only(body)  # first: a side effect in a later statement is refused as such
    if (n := statements(body)) > 1:  # the embedded store ran each and printed the last one's rows; Neo4j refuses it
        raise QueryError(f"the query holds {n} statements separated by ';': citynet query runs one statement",
                         fix="run each statement as its own citynet query (or join them with WITH / UNION ALL)")
    declared = {p.name: TYPE_ALIASES.get(p.type.upper(), "str") for p in header}
    values = parse_params(params, declared)
    from citynet.graph.readonly import used_params

    used = used_params(body)
    unknown = [name for name in values if name not in declared and name not in used]
    if unknown:  # Neo4j and LadybugDB ignore them: a misspelt parameter would change nothing, silently
        takes = ", ".join(declared or used) or "none"
        raise UserError(f"the query has no parameter {', '.join('$' + u for u in unknown)} (its parameters: {takes})",
                        fix="check the name (citynet query --list shows the library queries' parameters)")
    nets = _network_params(header, used, declared)
    if network is not None:
        _check_network_option(network, nets, values, named)
    missing = []
    for p in header:
        if p.name in values or p.name in nets:
            continue
        if p.default is not None:
            values[p.name] = convert(p.default, declared[p.name], p.name)
        else:
            missing.append(p.name)
    if missing:
        raise UserError(f"missing parameters: {', '.join(missing)}",
                        fix=" ".join(f"--param {m}=VALUE" for m in missing))
    for name in nets:  # $network: --network, else the workspace's filter (as every command's --network)
        if name not in values:
            values[name] = network or ws.default_network
    filters = _filter_keys(nets, values)
    codes = []  # a city name or code that is no city: "0 rows", silently
    for p in header:
        value = values.get(p.name)
        if p.doc.lower().startswith("city code") and isinstance(value, str):
            if re.fullmatch(r"\d{6}", value) and not write:
                codes.append((p.name, value))  # checked when no row comes back (the city set takes pandas)
            else:
                values[p.name] = city_code_of(p.name, value)
    _check_ranges(header, values, named or file)
    years = _year_params(header, values)  # a year outside the store's: "0 rows", silently (checked when so)
    check_year_bounds(years, header, named or file)
    _check_skip_limit(body, values)
    ordered, limited = final_return(body)
    if engine == "embedded" and not write and fmt != "csv":
        from citynet.graph.lean import (
            query_rows,  # no pandas, no store layer: the same checks, in a fraction of a second
        )

        built = _lean_built_filters(ws) if filters else []
        if built is not None:
            _require_projections(ws, filters, built)
            lean = query_rows(ws.store, body, values, ws.root)
            if lean is not None:
                columns, rows = lean
                if not ordered:  # the store's order depends on how it was loaded: rows by their values
                    rows = [rows[i] for i in row_order(rows)]
                if not rows:
                    for name, code in codes:
                        city_code_of(name, code)
                    if years and (err := years_error(years, _lean_year_reader(ws), named or file)):
                        raise err
                if fmt == "json":
                    click.echo(json.dumps(records(columns, rows), ensure_ascii=False, indent=2))
                else:
                    _print_table(columns, records(columns, rows))
                if limited and not ordered:
                    _order_note()
                if rows and years and (note := years_warning(years, _lean_year_reader(ws), named or file)):
                    _warn(note)
                return
    outside = None
    if write and engine == "embedded":  # a step before the one it needs, as without --write (it made an empty store)
        from citynet.graph.embedded import no_store_error
        from citynet.graph.lean import DB_FILE

        if not (Path(ws.store) / DB_FILE).exists():
            raise no_store_error(Path(ws.store) / DB_FILE, ws.root)
    with open_ws_store(ws, backend, uri, user, password, read_only=not write) as store:
        store.ensure_schema()
        from citynet.graph import lifecycle

        if write:  # a writer like load and metrics: a complete store, and the store's writer lock while it runs
            lifecycle.check_complete(store, ws.root)
            with lifecycle.writing(store, "citynet query --write", record=False):
                if filters:
                    _require_projections(ws, filters, store._built_filters())
                # (recorded in the store: the next load compares it with the canonical tables again)
                df, outside = store.write_query(body, values)
        else:
            with lifecycle.reading(store, ws.root):  # a complete store, not changed while read (graph/lifecycle.py)
                if filters:
                    _require_projections(ws, filters, store._built_filters())
                df = store.query(body, values, write=False)
        other = None
        if store.backend == "neo4j":  # a database another workspace loaded (last, or beside this one's corpus)
            other = lifecycle.other_workspace(lifecycle.state(store), ws.root)
            other = other or (store.patents_beyond_from() if store.patents_beyond_canonical() else None)
            shared_fix = lifecycle.own_database_fix(ws.root, store, other) if other else None
        outside_years = (years_error(years, _store_year_reader(store), named or file)
                         if df.empty and years and not write else None)
        year_note = (years_warning(years, _store_year_reader(store), named or file)
                     if not df.empty and years and not write else None)
    if df.empty:
        for name, code in codes:
            city_code_of(name, code)
        if outside_years:
            raise outside_years
    elif not ordered:  # the store's order depends on the store and on how it was loaded: rows by their values
        df = df.iloc[row_order(df.itertuples(index=False, name=None))].reset_index(drop=True)
    if fmt == "json":
        click.echo(json.dumps(rows_of(df), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        _csv_cells(df).to_csv(sys.stdout, index=False)
    else:
        _table(df)
    if limited and not ordered:
        _order_note()
    if year_note:
        _warn(year_note)
    if outside is not None:
        click.secho(f"note: {outside_write_note(ws, outside)}", fg="yellow", err=True)
    if other:  # the answer is the database's, which holds another workspace's corpus: said, as the load said it
        click.secho(f"warning: the Neo4j database holds the graph another workspace loaded, {other}: this answer is "
                    "about that graph (with this workspace's corpus if both were loaded), not this workspace's "
                    "corpus alone", fg="yellow", err=True)
        click.echo(f"  fix: {shared_fix}", err=True)


#: what --list would ignore, by parameter: the query and everything that runs it (-w and -q/-v are taken: the list
#: is the same for every workspace)
NOT_WITH_LIST = {"text": "a query text", "file": "--file", "named": "--named", "params": "--param",
                 "write": "--write", "network": "--network", "fmt": "--format", "backend": "--store", "uri": "--uri",
                 "user": "--user", "password": "--password"}


def _refuse_with_list(ctx: click.Context) -> None:
    """``--list`` prints the library and runs no query: given with a query or an option that runs one (``query
    "MATCH (n) DETACH DELETE n" --list --write``), it printed the list and exited 0 as if the query had run — one
    message, exit 2."""
    from click.core import ParameterSource

    given = [shown for name, shown in NOT_WITH_LIST.items()
             if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)]
    if given:
        words = given[0] if len(given) == 1 else ", ".join(given[:-1]) + " and " + given[-1]
        raise UserError(f"--list prints the library queries and runs none, so {words} would be ignored",
                        fix="run `citynet query --list` alone to see the library, then the query without --list "
                            "(e.g. citynet query -w ws --named top_partners --param city=320100 --param year=2015)")


def outside_write_note(ws, outside: dict) -> str:
    """The line ``query --write`` prints after a write that may have changed the stored canonical rows
    (``outside``: the store's record, graph/store.py ``OUTSIDE_META``)."""
    again = ("compares every table with the canonical tables and writes every row again (a property set by the "
             "query is undone)" if outside.get("rewrite") else
             "compares every table with the canonical tables and restores the rows the query deleted")
    return (f"the store no longer holds exactly the canonical tables; the next `citynet load -w {ws.root}` {again}, "
            "and rebuilds the yearly projections")


def _network_params(header, used: list[str], declared: dict) -> list[str]:
    """The parameters that take the network filter's key: a library query's declared ``@network`` ones, else
    ``$network`` of a query that uses it (ad hoc, or a file without a header)."""
    nets = [p.name for p in header if p.default == "@network"]
    if not nets and "network" in used and "network" not in declared:
        nets = ["network"]
    return nets


def _check_network_option(network: str, nets: list[str], values: dict, named: str | None) -> None:
    """``--network KEY`` sets ``$network``: a query that does not use it would answer the same rows for every
    KEY (an unfiltered ``COLLABORATED`` sums every stored filter's edges), so --network is refused there; given
    with ``--param network=…`` too, one of them would be ignored."""
    from citynet.workspace import parse_network_key

    if not nets:
        raise UserError("--network only applies to queries that use $network; this query does not, so --network "
                        "would change nothing (and an unfiltered COLLABORATED holds the edges of every stored filter)",
                        fix=f"drop --network ({named} takes no network filter)" if named else
                        "drop --network, or filter on it in the query: [r:COLLABORATED {year: 2018, network: $network}]")
    both = [n for n in nets if n in values]
    if both:
        raise UserError(f"the network filter is given twice: --network {network} and --param {both[0]}="
                        f"{values[both[0]]}", fix="give one of them")
    parse_network_key(network)


def _filter_keys(nets: list[str], values: dict) -> list[str]:
    """The network filter keys the query is given (each one checked as a key: one message, exit 2)."""
    from citynet.workspace import parse_network_key

    keys = []
    for name in nets:
        value = values.get(name)
        for key in value if isinstance(value, list) else [value]:
            if not isinstance(key, str):
                raise UserError(f"--param {name}={key!r} is not a network filter key",
                                fix="e.g. --network invention.wipo.all (the filter keys: "
                                    "MATCH ()-[r:COLLABORATED]->() RETURN DISTINCT r.network)")
            parse_network_key(key)
            if key not in keys:
                keys.append(key)
    return keys


def _lean_built_filters(ws) -> list[str] | None:
    """The filters whose projections the embedded store holds (its ``projection:KEY`` meta data), read by
    the lean reader; None when it cannot tell (the store path then reads them, or gives the precise error)."""
    from citynet import cypher
    from citynet.graph.lean import query_rows

    (statement,) = cypher.blocks("load", "embedded")["meta_with_prefix"]
    got = query_rows(ws.store, statement, {"prefix": "projection:"}, ws.root)
    if got is None:
        return None
    columns, rows = got
    return [str(row[columns.index("key")]).split(":", 1)[1] for row in rows]


def _require_projections(ws, keys: list[str], built: list[str]) -> None:
    """A filter whose yearly projections were never built answers every query with 0 rows: one message
    naming the filters the store holds (exit 2, as metrics/export/fit refuse a filter never computed)."""
    for key in keys:
        if key not in built:
            held = ", ".join(sorted(built)) or "none yet"
            raise UserError(f"the store holds no projections of network filter {key!r} (it holds those of: {held})",
                            fix=f"compute them with `citynet metrics -w {ws.root} --network {key}`, or query one of "
                                "those (--network KEY)")


def _check_ranges(header, values: dict, query: str | None) -> None:
    """A library parameter outside the range its header declares (``k`` of within_hops: ``(1..30)``; the
    query's paths are at most 30 hops long, so ``k=1000`` would answer as ``k=30`` without a word)."""
    for p in header:
        m = _RANGE.search(p.doc)
        value = values.get(p.name)
        if not m or TYPE_ALIASES.get(p.type.upper()) != "int" or isinstance(value, bool) \
                or not isinstance(value, int):
            continue
        low, high = int(m.group(1)), int(m.group(2))
        if not low <= value <= high:
            raise UserError(f"--param {p.name}={value} is outside {low}..{high}, the range {query} declares for it",
                            fix=f"give {p.name} between {low} and {high}")


def final_return(body: str) -> tuple[bool, bool]:
    """Whether the query's rows come in an order it asks for — an ``ORDER BY`` at its top level, in the part after
    its last ``UNION ALL`` (also one of a ``WITH`` before the ``RETURN``, whose order a plain ``RETURN`` keeps; a
    ``UNION`` without ``ALL`` is never ordered: it drops duplicates in an order of the store's) —
    and whether its last top-level ``RETURN`` has ``SKIP`` or ``LIMIT``. Clauses inside ``{ … }``, ``( … )`` or
    ``[ … ]`` (subqueries, comprehensions) do not count. A query without a top-level ``RETURN`` counts as
    ordered (it returns no rows)."""
    from citynet.graph.readonly import _tokens

    toks = _tokens(body)
    depth, top = 0, []  # the top-level words, upper-case (not a property, label or parameter name)
    for i, (kind, text) in enumerate(toks):
        if kind == "punct" and text in "([{":
            depth += 1
        elif kind == "punct" and text in ")]}":
            depth -= 1
        elif kind == "word" and depth == 0 and (i == 0 or toks[i - 1][1] not in (".", ":", "$")):
            top.append(text.upper())
    unions = [j for j, w in enumerate(top) if w == "UNION"]
    part = top[unions[-1] + 1:] if unions else top
    returns = [j for j, w in enumerate(part) if w == "RETURN"]
    if not returns:
        return True, False
    # a UNION without ALL removes duplicates in an order of the store's (the last part's ORDER BY sorts that part)
    distinct = any(j + 1 >= len(top) or top[j + 1] != "ALL" for j in unions)
    ordered = not distinct and any(a == "ORDER" and b == "BY" for a, b in zip(part, part[1:], strict=False))
    after = part[returns[-1] + 1:]
    return ordered, "LIMIT" in after or "SKIP" in after


def _cell_key(v) -> tuple:
    """A total order over result cells of any type: numbers, then texts, then lists, maps, nodes, dates (by
    their JSON text), then nulls (as Neo4j's ``ORDER BY`` puts them last)."""
    if v is None or type(v).__name__ == "NAType" or (isinstance(v, float) and v != v):
        return (3, "")  # a null (pandas' NA or NaN in a frame's column: a null of the store), last
    if isinstance(v, numbers.Real):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    return (2, json.dumps(jsonable(v), ensure_ascii=False, sort_keys=True, default=str))


def row_order(rows) -> list[int]:
    """The positions of ``rows`` (sequences of cells) sorted by their cells, left to right."""
    keys = [tuple(_cell_key(v) for v in row) for row in rows]
    return sorted(range(len(keys)), key=keys.__getitem__)


def _warn(text: str) -> None:
    click.secho(f"warning: {text}", fg="yellow", err=True)


def _order_note() -> None:
    click.secho("note: LIMIT/SKIP without ORDER BY: which rows come back is the store's choice (it differs between "
                "the stores and between load histories); add ORDER BY to choose them", fg="yellow", err=True)


def _check_skip_limit(body: str, values: dict) -> None:
    """``SKIP $p`` / ``LIMIT $p`` with a value that is not a whole number of 0 or more: one message, not the
    engine's runtime error followed by the whole query."""
    from citynet.graph.readonly import _tokens

    toks = _tokens(body)
    for i, (kind, text) in enumerate(toks[:-1]):
        if kind != "word" or text.upper() not in ("SKIP", "LIMIT") or toks[i + 1][0] != "param":
            continue
        name = toks[i + 1][1][1:].strip("`")
        value = values.get(name)
        if name in values and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise UserError(f"--param {name}={json.dumps(value, ensure_ascii=False)}: {text.upper()} takes a whole "
                            "number of 0 or more", fix=f"e.g. --param {name}=10")


def _csv_cells(df):
    """``df`` with every list, map, node, relationship or path cell as its JSON text (the same on both
    stores: a node as its properties); numbers and text stay as they are."""
    import pandas as pd

    def cell(v):
        if v is None or isinstance(v, str | int | float | bool):
            return v
        plain = jsonable(v)  # a date: its ISO text; a node: its properties
        return plain if plain is None or isinstance(plain, str | int | float | bool) else \
            json.dumps(plain, ensure_ascii=False)

    out = df.copy()
    for k, name in enumerate(out.columns):
        if out[name].dtype == object:  # (map would infer floats for integers with a null: 2015.0)
            out[name] = pd.Series([cell(v) for v in out.iloc[:, k]], index=out.index, dtype=object)
    return out


def _table(df) -> None:
    _print_table(list(df.columns), rows_of(df))


RICH_ROWS = 1_000
"""Results up to this many rows print as a boxed table (rich); longer ones as plain aligned columns: rich
measures every cell again and again (200,000 rows took 34 s; plain columns well under a second)."""


def _cell(v) -> str:
    return "" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else str(v)


def _print_table(columns, rows: list[dict]) -> None:
    from rich.console import Console

    console = Console()
    if len(rows) <= RICH_ROWS:
        from rich.table import Table

        t = Table(show_lines=False)
        for c in columns:
            t.add_column(str(c))
        for row in rows:
            t.add_row(*(_cell(v) for v in row.values()))
        console.print(t)
    else:
        _print_plain(columns, rows)
    console.print(f"{len(rows):,} row{'s' if len(rows) != 1 else ''}", style="dim")


def _print_plain(columns, rows: list[dict]) -> None:
    """Columns aligned by their display width (a Chinese character takes two cells), two spaces apart, under
    the names and a rule: every row, as fast as the terminal takes them."""
    from rich.cells import cell_len

    cells = [[str(c) for c in columns]] + [[_cell(v) for v in row.values()] for row in rows]
    widths = [max(map(cell_len, col)) for col in zip(*cells, strict=True)] if columns else []

    def line(texts: list[str]) -> str:
        return "  ".join(t + " " * (w - cell_len(t)) for t, w in zip(texts, widths, strict=True)).rstrip()

    out = sys.stdout
    out.write(line(cells[0]) + "\n" + "  ".join("-" * w for w in widths) + "\n")
    for start in range(1, len(cells), 10_000):
        out.write("".join(line(c) + "\n" for c in cells[start:start + 10_000]))
    out.flush()
