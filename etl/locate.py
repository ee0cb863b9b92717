"""Locate applicants in prefecture-level cities (address, corpus, name, province only).

CNIPA records carry one address: the first applicant's. ``locate_applicants`` gives every applicant
one city (or none) and says how it was found, in this order — the first rule that gives a city wins:

L1 ``address``  The applicant's own addresses (every record where it is the first applicant, and
   transfer records with its address), parsed by ``etl.address.parse_addresses`` with the record's
   ``国省代码``. An applicant with several addresses takes the city found on most records; a tie goes
   to the smallest ``city_code`` (deterministic and independent of input order).
L2 ``corpus``   Another applicant id with the same normalised name located by L1 (the names reaching
   this function are already normalised; when ids are one per name this step only matters for ids
   split by a later disambiguation). Individuals are excluded: a personal name is shared by many
   people. The city must agree with the applicant's own province evidence when there is any.
L3 ``foreign``  (own evidence) all of the applicant's usable addresses are foreign (foreign text or a
   non-mainland ``国省代码``: JP, US, HK, MO, TW, …); the most frequent country is kept.
L4 ``foreign``  (name) a Latin-only name, or a name with a foreign company form: 株式会社, 有限会社,
   合同会社 (JP), 주식회사 (KR), GmbH, AG, Inc, Corp, Ltd, LLC, S.A., S.p.A., B.V., N.V., PLC, KK, …
L5 ``name``     Organisations only (kind ≠ individual): a place name inside the name
   (``etl.address.place_in_name``: 南京南瑞… → 南京). This is a weaker rule — an organisation is often
   named after its founding place, not its seat, and 北京理工大学珠海学院 is read as 北京 — so it
   comes after the address and corpus steps, uses prefecture and county-level-city names only (no
   districts), skips known false hits (中山大学 is in 广州), and must agree with the applicant's own
   province evidence. The first place name wins.
L6 ``province_only``  The province is known (from an address that named a province only, an
   ambiguous district within one province, a directly administered county such as 仙桃, the
   ``国省代码``, or a name with a province only such as 浙江大学) but no city: ``city_code`` is null.
L7 ``unresolved``  Nothing usable. Never silently the first applicant's city.

Output: one row per applicant with ``applicant_id``, ``city_code``, ``province_code``, ``country``
(``CN`` when located in the mainland or to a province; ISO code when foreign, ``XX`` when foreign of
unknown country; null when unresolved) and ``located_by``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from citynet.etl.address import UNKNOWN_FOREIGN, parse_addresses, place_in_name

from citynet.sqltext import sql_string_list

LOCATED_BY = ("address", "corpus", "name", "province_only", "foreign", "unresolved")
OUTPUT_COLUMNS = ["applicant_id", "city_code", "province_code", "country", "located_by"]

_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af]")
_LATIN_RE = re.compile(r"[A-Za-z]")
# Company forms of foreign law → country (None: the form does not tell the country).
_FOREIGN_FORMS: tuple[tuple[re.Pattern, str | None], ...] = (
    (re.compile(r"株式会社|有限会社|合同会社|合资会社|\bK\.?K\b"), "JP"),
    (re.compile(r"주식회사|유한회사"), "KR"),
    (re.compile(r"\bGMBH\b|\bAG\b|\bKGAA\b|\bMBH\b"), None),
    (re.compile(r"\bINC\b|\bCORP\b|\bCORPORATION\b|\bLLC\b|\bLTD\b|\bLIMITED\b|\bPLC\b|\bCO\b"), None),
    (
        re.compile(
            r"\bS\.?\s?A\b|\bS\.?P\.?A\b|\bS\.?R\.?L\b|\bB\.?V\b|\bN\.?V\b|\bOY\b|\bAB\b|\bA/S\b|\bSAS\b"
        ),
        None,
    ),
)


def foreign_by_name(name: object) -> str | None:
    """Country of a name that is foreign by its form (L4), ``XX`` when the country is unknown, else None.

    Rule: a name with Hangul, or without Chinese characters but with Latin letters, is foreign; so is
    a Chinese-script name with a Japanese company form (株式会社, 有限会社, 合同会社). Latin company forms
    (GmbH, Inc, Ltd, AG, S.A., …) say *foreign* but not which country.
    """
    if not isinstance(name, str) or not name:
        return None
    has_cjk = _CJK_RE.search(name) is not None
    for pattern, iso in _FOREIGN_FORMS[:2]:
        if pattern.search(name):
            return iso
    if _HANGUL_RE.search(name):
        return "KR"
    if not has_cjk and _LATIN_RE.search(name):
        upper = name.upper()
        for pattern, iso in _FOREIGN_FORMS[2:]:
            if pattern.search(upper):
                return iso or UNKNOWN_FOREIGN
        return UNKNOWN_FOREIGN
    return None


def _connect_default():
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads=2")
    return con


PAIR_CHUNK = 200_000  # distinct (address, hint) pairs parsed per call of ``parse_addresses``


@dataclass
class ParsedPairs:
    """Readings of (address, province code) pairs kept from earlier ingests (``ingest --append``): a pair's
    reading by ``parse_addresses`` depends on that pair only, so the pairs parsed before are taken from
    ``known`` (Parquet files) and only the others parsed; those are written to ``out`` for the next append."""

    known: list[Path]
    out: Path | None = None


def address_votes(con, relation: str, table: str = "loc_votes", chunk: int = PAIR_CHUNK,
                  parsed: ParsedPairs | None = None, keys: tuple[str, ...] = ("applicant_id",), weight: str = "1") -> None:
    """The votes of the rows of ``relation`` (``keys``, ``address``, ``province_hint``; each row counts
    ``weight``, an expression of its columns) as DuckDB table ``table``: ``keys``, ``status``,
    ``city_code``, ``province_code``, ``country``, ``n`` (the summed weight of the rows whose address reads
    so). Each distinct (address, hint) pair is parsed once by ``etl.address.parse_addresses``, ``chunk``
    pairs at a time (a pair's reading does not depend on the other pairs; those in ``parsed`` are not
    parsed again); the rows then vote by a join and ``GROUP BY``."""
    # the records read once, their weights summed per (keys, address, hint): the distinct pairs and the
    # vote then read that table (the same sums: each pair has one reading); reading the records twice
    # (a view) cost a second scan and UTF-8 check of every address
    con.execute(f"CREATE OR REPLACE TABLE loc_addrs AS SELECT {', '.join(keys)}, address::VARCHAR AS address, "
                f"province_hint::VARCHAR AS province_hint, sum({weight}) AS w FROM ({relation}) GROUP BY ALL")
    con.execute("CREATE OR REPLACE TABLE loc_pairs AS SELECT DISTINCT address, province_hint FROM loc_addrs")
    con.execute("CREATE OR REPLACE TABLE loc_parsed (address VARCHAR, province_hint VARCHAR, status VARCHAR, "
                "city_code VARCHAR, province_code VARCHAR, country VARCHAR)")
    cache, todo = parsed, "loc_pairs"
    if cache is not None and cache.known:  # the pairs read before: a semi-join, not a parse
        files = sql_string_list(cache.known)
        con.execute(f"""INSERT INTO loc_parsed SELECT k.address, k.province_hint, k.status, k.city_code,
                          k.province_code, k.country FROM read_parquet({files}) k
                        SEMI JOIN loc_pairs p ON k.address IS NOT DISTINCT FROM p.address
                          AND k.province_hint IS NOT DISTINCT FROM p.province_hint""")
        con.execute("""CREATE OR REPLACE TABLE loc_todo AS SELECT * FROM loc_pairs p ANTI JOIN loc_parsed k
                         ON k.address IS NOT DISTINCT FROM p.address AND k.province_hint IS NOT DISTINCT FROM p.province_hint""")
        todo = "loc_todo"
    new = []
    reader = con.cursor()  # a cursor starts in the default catalog: read where ``con`` wrote (etl/duckdb_scratch.py)
    reader.execute('USE "{}"'.format(con.sql("SELECT current_database()").fetchall()[0][0].replace('"', '""')))
    try:
        batches = reader.sql(f"SELECT address, province_hint FROM {todo}").to_arrow_reader(chunk)
        for batch in batches:
            addr = pd.Series(pd.arrays.ArrowExtensionArray(batch.column(0)))
            hint = pd.Series(pd.arrays.ArrowExtensionArray(batch.column(1)))
            parsed = parse_addresses(addr.astype("object").where(addr.notna(), None), hint.astype("object"))
            part = pa.table({
                "address": batch.column(0), "province_hint": batch.column(1),
                **{c: pa.array(parsed[c].to_numpy(dtype=object), pa.string(), from_pandas=True)
                   for c in ("status", "city_code", "province_code", "country")},
            })
            con.register("loc_part", part)
            con.execute("INSERT INTO loc_parsed SELECT * FROM loc_part")
            con.unregister("loc_part")
            new.append(part)
    finally:
        reader.close()
    if cache is not None and cache.out is not None:
        _write_new(cache.out, new)
    con.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT {', '.join('a.' + k for k in keys)}, p.status, p.city_code, p.province_code, p.country,
               sum(a.w)::BIGINT AS n
        FROM loc_addrs a JOIN loc_parsed p
          ON a.address IS NOT DISTINCT FROM p.address AND a.province_hint IS NOT DISTINCT FROM p.province_hint
        GROUP BY ALL""")
    for name in ("loc_parsed", "loc_pairs", "loc_todo", "loc_addrs"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def address_evidence(con, relation: str | None, chunk: int = PAIR_CHUNK,
                     parsed: ParsedPairs | None = None) -> tuple[pd.DataFrame, dict]:
    """The applicants' own address evidence, counted in DuckDB (out of core: memory does not grow with
    the corpus beyond DuckDB's ``memory_limit``, which spills to its ``temp_directory``).

    ``relation``: a DuckDB relation text with ``applicant_id``, ``address``, ``province_hint``, one row
    per (record, applicant whose address it is). Each distinct (address, hint) pair is parsed once by
    ``etl.address.parse_addresses``, ``chunk`` pairs at a time (a pair's reading does not depend on the
    other pairs); the rows then vote by a join and ``GROUP BY``. Returns one row per applicant with
    evidence: ``addr_city`` (L1: the city most frequent among its records whose address gave a city; a
    tie goes to the smallest code), ``own_prov`` (the most frequent province code read, same tie rule),
    ``all_foreign`` (every record that said anything said foreign) and ``foreign_country`` (the most
    frequent country among its foreign records, ``XX`` when unknown) — and the count of records by
    address status (for the ingest report). ``relation`` None: the votes are already DuckDB table
    ``loc_votes`` (:func:`address_votes`; ``etl.stream.locate`` keeps them per name for ``--append``).
    """
    if relation is not None:
        address_votes(con, relation, "loc_votes", chunk, parsed)
    status = dict(con.execute("SELECT status, sum(n)::BIGINT FROM loc_votes GROUP BY status").fetchall())
    records = int(sum(status.values()))

    def top(where: str, value: str, name: str) -> str:
        return f"""(SELECT applicant_id, v AS {name} FROM (
                      SELECT applicant_id, {value} AS v, sum(n) AS n FROM loc_votes
                      WHERE applicant_id IS NOT NULL AND {where} GROUP BY ALL)
                    QUALIFY row_number() OVER (PARTITION BY applicant_id ORDER BY n DESC, v ASC) = 1)"""

    evidence = con.execute(f"""
        WITH ids AS (SELECT DISTINCT applicant_id FROM loc_votes WHERE applicant_id IS NOT NULL),
        said AS (SELECT applicant_id, sum(n) AS n_said, sum(n) FILTER (WHERE status = 'foreign') AS n_foreign
                 FROM loc_votes WHERE applicant_id IS NOT NULL AND status IS DISTINCT FROM 'none' GROUP BY ALL)
        SELECT ids.applicant_id, c.addr_city, p.own_prov,
               coalesce(said.n_foreign = said.n_said, false) AS all_foreign, f.foreign_country
        FROM ids
        LEFT JOIN {top("status = 'city' AND city_code IS NOT NULL", "city_code", "addr_city")} c USING (applicant_id)
        LEFT JOIN {top("province_code IS NOT NULL", "province_code", "own_prov")} p USING (applicant_id)
        LEFT JOIN said USING (applicant_id)
        LEFT JOIN {top("status = 'foreign'", "coalesce(country, '" + UNKNOWN_FOREIGN + "')", "foreign_country")} f
          USING (applicant_id)
        ORDER BY ids.applicant_id""").df()
    con.execute("DROP TABLE IF EXISTS loc_votes")
    evidence = evidence.astype({c: "object" for c in ("addr_city", "own_prov", "foreign_country")})
    for c in ("addr_city", "own_prov", "foreign_country"):
        evidence[c] = evidence[c].where(evidence[c].notna(), None)
    by_status = {k: int(status.get(k, 0)) for k in ("city", "ambiguous", "province_only", "foreign", "none")}
    return evidence.set_index("applicant_id"), {"records": records, "by_status": by_status}


_PARSED_SCHEMA = pa.schema([(c, pa.string()) for c in ("address", "province_hint", "status", "city_code",
                                                         "province_code", "country")])


def _write_new(path: Path, parts: list[pa.Table]) -> None:
    """The pairs parsed by this ingest, as a new file of the ingest state."""
    from citynet.etl.stream import write_state_file

    table = pa.concat_tables([p.cast(_PARSED_SCHEMA) for p in parts]) if parts else _PARSED_SCHEMA.empty_table()
    table = table.sort_by([("address", "ascending"), ("province_hint", "ascending")])  # same bytes every run
    write_state_file(path, table)


def _top(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Most frequent ``value`` per ``key``; ties to the smallest value. Returns a Series indexed by key."""
    if frame.empty:
        return pd.Series([], dtype="object")
    counts = frame.groupby([key, value], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True], kind="mergesort")
    return counts.drop_duplicates(key).set_index(key)[value]


def locate_applicants(applicants: pd.DataFrame, first_addresses: pd.DataFrame) -> pd.DataFrame:
    """One location per applicant by rules L1–L7 (module docstring), the addresses held in memory.

    ``applicants``: ``applicant_id``, ``name`` (normalised), ``kind``. ``first_addresses``: ``applicant_id``,
    ``address``, ``province_hint`` (the raw ``国省代码``, may be null or absent), one row per (record,
    applicant whose address it is). Returns ``applicant_id``, ``city_code``, ``province_code``,
    ``country``, ``located_by`` in the order of ``applicants``. ``citynet ingest`` calls
    :func:`locate_from_relation` with the addresses in DuckDB instead; this is the same code.
    """
    fa = first_addresses
    frame = pa.table({
        "applicant_id": pa.array(fa["applicant_id"].astype("object").where(fa["applicant_id"].notna(), None).to_numpy(),
                                 pa.string()),
        "address": pa.array(fa["address"].astype("object").where(fa["address"].notna(), None).to_numpy(), pa.string()),
        "province_hint": pa.array(
            fa["province_hint"].astype("object").where(fa["province_hint"].notna(), None).to_numpy()
            if "province_hint" in fa.columns else [None] * len(fa), pa.string()),
    })
    con = _connect_default()
    try:
        con.register("first_addresses_", frame)
        return locate_from_relation(applicants, con, "SELECT * FROM first_addresses_")
    finally:
        con.close()


def locate_from_relation(applicants: pd.DataFrame, con, relation: str | None, parsed: ParsedPairs | None = None
                         ) -> pd.DataFrame:
    """:func:`locate_applicants` with the addresses a DuckDB relation (``applicant_id``, ``address``,
    ``province_hint``) of connection ``con``: their votes are counted by :func:`address_evidence`, out of
    core; only the per-applicant rules run in pandas (one row per applicant)."""
    app = applicants[["applicant_id", "name", "kind"]].drop_duplicates("applicant_id").reset_index(drop=True)
    app = app.astype("object")
    ids = app["applicant_id"]
    evidence, address_status = address_evidence(con, relation, parsed=parsed)
    addr_city = evidence["addr_city"].dropna()
    own_prov = evidence["own_prov"].dropna()
    all_foreign = evidence.index[evidence["all_foreign"].to_numpy(bool)]
    foreign_country = evidence["foreign_country"].dropna()

    out = pd.DataFrame({"applicant_id": ids})
    out["city_code"] = ids.map(addr_city).astype("object")
    out["located_by"] = pd.Series(None, index=out.index, dtype="object")
    out.loc[out["city_code"].notna(), "located_by"] = "address"
    out["province_code"] = ids.map(own_prov).astype("object")
    out["country"] = pd.Series(None, index=out.index, dtype="object")

    # L2: corpus — the same name located by address under another id
    todo = out["located_by"].isna() & app["kind"].ne("individual")
    if todo.any() and len(addr_city):
        located = pd.DataFrame(
            {"name": ids.map(app.set_index("applicant_id")["name"]), "city_code": out["city_code"]}
        )
        located = located[out["located_by"].eq("address")]
        # one vote per id: the name's city is the most frequent among its located ids
        name_city = _top(located, "name", "city_code")
        cand = app.loc[todo, "name"].map(name_city)
        prov_ok = out.loc[todo, "province_code"].isna() | (cand.str[:2] + "0000").eq(
            out.loc[todo, "province_code"]
        )
        hit = cand.notna() & prov_ok
        idx = hit[hit].index
        out.loc[idx, "city_code"] = cand[idx]
        out.loc[idx, "located_by"] = "corpus"

    # L3: own addresses foreign
    todo = out["located_by"].isna()
    own_foreign = todo & ids.isin(all_foreign)
    out.loc[own_foreign, "located_by"] = "foreign"
    out.loc[own_foreign, "country"] = ids[own_foreign].map(foreign_country)
    out.loc[own_foreign, "province_code"] = None

    # L4: foreign by the form of the name (only when the applicant's addresses named no province)
    todo = out["located_by"].isna() & out["province_code"].isna()
    if todo.any():
        names = app.loc[todo, "name"]
        uniq = pd.unique(names.dropna())
        fmap = {n: foreign_by_name(n) for n in uniq}
        ctry = names.map(fmap)
        hit = ctry.notna()
        idx = hit[hit].index
        out.loc[idx, "located_by"] = "foreign"
        out.loc[idx, "country"] = ctry[idx]

    # L5: a place inside an organisation's name
    todo = out["located_by"].isna() & app["kind"].ne("individual")
    if todo.any():
        pairs = pd.DataFrame({"name": app.loc[todo, "name"], "prov": out.loc[todo, "province_code"]})
        keys = [
            (n, p if isinstance(p, str) else None) for n, p in zip(pairs["name"], pairs["prov"], strict=True)
        ]
        found = {k: place_in_name(*k) for k in dict.fromkeys(keys)}
        res = [found[k] for k in keys]
        city = pd.Series([r[0] for r in res], index=pairs.index, dtype="object")
        prov = pd.Series([r[1] for r in res], index=pairs.index, dtype="object")
        idx = city[city.notna()].index
        out.loc[idx, "city_code"] = city[idx]
        out.loc[idx, "located_by"] = "name"
        fill = prov.notna() & out.loc[pairs.index, "province_code"].isna()
        out.loc[fill[fill].index, "province_code"] = prov[fill]

    # L6, L7
    todo = out["located_by"].isna()
    out.loc[todo & out["province_code"].notna(), "located_by"] = "province_only"
    out.loc[out["located_by"].isna(), "located_by"] = "unresolved"

    has_city = out["city_code"].notna()
    out.loc[has_city, "province_code"] = out.loc[has_city, "city_code"].str[:2] + "0000"
    out.loc[out["located_by"].isin(["address", "corpus", "name", "province_only"]), "country"] = "CN"
    out.loc[out["located_by"].eq("unresolved"), ["province_code", "country"]] = None
    for col in ("city_code", "province_code", "country"):
        out[col] = out[col].astype("object").where(out[col].notna(), None)
    result = out[OUTPUT_COLUMNS]
    # how the addresses read (ambiguous ones are never guessed: counted here, reported by ingest)
    result.attrs["address_status"] = address_status
    return result
