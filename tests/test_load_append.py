"""``ingest A``, ``load``, ``ingest B --append``, ``load``: the store holds what a fresh load of the canonical
tables holds, node for node, on both stores. B carries a variant of an A firm's name on more records, so the
names' harmonisation merges the A applicant into a new id: its links are deleted by the load after the append
(``BaseStore._find_gone``), and its node and ``LOCATED_IN`` too (``BaseStore._note_orphans``), while a node
the store holds for another corpus stays. The expected sets come from the canonical Parquet files (DuckDB),
with the store's documented cleaning (docs/cypher.md, "Loading")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import exit_code
from tests.test_ingest_stream import _lines, _rows, _write_rows

FIRM, VARIANT = "福州隆凯电气有限公司", "福州隆凯电气股份有限公司"
OTHER = "Aother0corpus000"  # an applicant of another corpus the store holds, without links


def _exports(raw: Path, variant: str = VARIANT) -> tuple[Path, Path]:
    """A (700 records, 8 of FIRM) and B (100 others, and 15 records of ``variant`` in another city)."""
    rows = _rows(_lines("patents.csv.gz"))
    head, body = [rows[0][0].lstrip("\ufeff"), *rows[0][1:]], rows[1:1500]
    a = [list(r) for r in body[:700]]
    b = [list(r) for r in body[700:800]]
    assert sum(r[6] == FIRM for r in a) == 8
    for r in body[815:830]:
        r = list(r)
        r[6], r[7], r[8] = variant, "361000福建省厦门市思明区湖滨南路100号", "福建(35)"
        b.append(r)
    raw.mkdir()
    return _write_rows(raw / "a.csv", [head, *a]), _write_rows(raw / "b.csv", [head, *b])


def _oracle(canon: Path) -> dict[str, set[tuple]]:
    """Each store table's keys as a fresh load of ``canon`` writes them (docs/cypher.md: a link whose patent
    or applicant is unknown, a citation whose patents are unknown and a transfer whose applicants are unknown
    are no relationship; a city code outside the city set locates nothing)."""
    import duckdb

    con = duckdb.connect()
    for name in ("cities", "applicants", "patents", "patent_applicants", "transfers", "citations"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{canon / (name + '.parquet')}')")
    for table, key in (("cities", "city_code"), ("applicants", "applicant_id"), ("patents", "patent_id")):
        assert con.execute(f"SELECT count(*) = count(DISTINCT {key}) FROM {table}").fetchone()[0], table

    def rows(sql: str) -> set[tuple]:
        return {tuple(map(str, r)) for r in con.execute(sql).fetchall()}

    return {
        "City": rows("SELECT city_code FROM cities"),
        "Applicant": rows("SELECT applicant_id FROM applicants"),
        "Patent": rows("SELECT patent_id FROM patents"),
        "LOCATED_IN": rows("SELECT applicant_id, city_code FROM applicants "
                           "WHERE city_code IN (SELECT city_code FROM cities)"),
        "APPLIED": rows("SELECT DISTINCT applicant_id, patent_id FROM patent_applicants "
                        "WHERE patent_id IN (SELECT patent_id FROM patents) "
                        "AND applicant_id IN (SELECT applicant_id FROM applicants)"),
        "CITES": rows("SELECT DISTINCT citing_patent_id, cited_patent_id FROM citations "
                      "WHERE citing_patent_id IN (SELECT patent_id FROM patents) "
                      "AND cited_patent_id IN (SELECT patent_id FROM patents)"),
        "TRANSFERRED": rows("SELECT from_applicant_id, to_applicant_id, transfer_id FROM transfers "
                            "WHERE from_applicant_id IN (SELECT applicant_id FROM applicants) "
                            "AND to_applicant_id IN (SELECT applicant_id FROM applicants)"),
    }


STORE_KEYS = {
    "City": "MATCH (c:City) RETURN c.city_code",
    "Applicant": "MATCH (a:Applicant) RETURN a.applicant_id",
    "Patent": "MATCH (p:Patent) RETURN p.patent_id",
    "LOCATED_IN": "MATCH (a:Applicant)-[:LOCATED_IN]->(c:City) RETURN a.applicant_id, c.city_code",
    "APPLIED": "MATCH (a:Applicant)-[:APPLIED]->(p:Patent) RETURN a.applicant_id, p.patent_id",
    "CITES": "MATCH (p:Patent)-[:CITES]->(q:Patent) RETURN p.patent_id, q.patent_id",
    "TRANSFERRED": "MATCH (a:Applicant)-[r:TRANSFERRED]->(b:Applicant) RETURN a.applicant_id, b.applicant_id, "
                   "r.transfer_id",
}


def _store_keys(store) -> dict[str, list[tuple]]:
    """Each store table's keys, one tuple per node or relationship (repeats kept)."""
    return {name: [tuple(map(str, r)) for r in store.query(q).itertuples(index=False)]
            for name, q in STORE_KEYS.items()}


def _workspace(tmp_path: Path, backend: str, request, name: str = FIRM, variant: str = VARIANT,
               transfers: list[list[str]] | None = None):
    """A workspace with export A ingested (and ``transfers``: rows of a transfer file; settings for ``backend``),
    export B (15 records of ``variant``), and the id of ``name`` after A."""
    import pyarrow.parquet as pq

    from citynet.workspace import Workspace

    fa, fb = _exports(tmp_path / "raw", variant)
    more = ["--transfers", _write_rows(tmp_path / "raw" / "t.csv", transfers)] if transfers else []
    assert exit_code("-q", "ingest", "-w", tmp_path / "ws", fa, *more) == 0
    ws = Workspace.open(tmp_path / "ws")
    names = pq.read_table(ws.canonical / "applicant_names.parquet").to_pandas()
    firm_id = names.loc[names["name"] == name, "applicant_id"].item()
    ws.settings["store"]["backend"] = backend
    if backend == "neo4j":
        server = request.getfixturevalue("neo4j_clean")
        ws.settings["store"].update(uri=server.uri, user=server.user, password=server.password)
    return ws, fb, firm_id


@pytest.mark.parametrize("backend", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_the_store_after_an_append_that_merged_an_applicant_equals_the_canonical_tables(tmp_path, request, backend):
    import pyarrow.parquet as pq
    from citynet.graph.store import open_store

    ws, fb, firm_id = _workspace(tmp_path, backend, request)
    with open_store(ws) as store:
        store.load(ws.canonical)
        store.query("CREATE (:Applicant {applicant_id: $k, name: 'another corpus', row_hash: 1})", {"k": OTHER},
                    write=True)
        assert exit_code("-q", "ingest", "-w", ws.root, fb, "--append") == 0
        names = pq.read_table(ws.canonical / "applicant_names.parquet").to_pandas()
        assert names.loc[names["name"] == FIRM, "applicant_id"].item() != firm_id  # merged into VARIANT's id
        counts = store.load(ws.canonical)
        got = _store_keys(store)
    want = _oracle(ws.canonical)
    assert firm_id not in {a for (a,) in want["Applicant"]}
    assert (OTHER,) in got["Applicant"]  # another corpus's node is not this corpus's to delete
    got["Applicant"].remove((OTHER,))
    for name, keys in got.items():
        assert len(keys) == len(set(keys)), name  # no node or relationship twice
        assert set(keys) == want[name], (name, sorted(set(keys) ^ want[name])[:5])
    assert counts["Applicant"]["deleted"] == 1 and counts["LOCATED_IN"]["deleted"] == 1


def test_a_load_killed_before_its_sweep_leaves_the_applicants_to_the_next_load(tmp_path, request, monkeypatch):
    """The applicants to delete are noted in the store's meta before the links are written: a load that
    ends after its writes and before the sweep (killed) leaves them there, and the next load, even one
    that changes nothing, deletes them."""
    from citynet.graph import store as store_mod
    from citynet.graph.store import open_store

    ws, fb, firm_id = _workspace(tmp_path, "embedded", request)
    with open_store(ws) as store:
        store.load(ws.canonical)
        assert exit_code("-q", "ingest", "-w", ws.root, fb, "--append") == 0
        with monkeypatch.context() as m:
            m.setattr(store_mod.BaseStore, "_sweep_orphans", lambda self: (0, 0))
            store.load(ws.canonical)
        assert (firm_id,) in _store_keys(store)["Applicant"]
        counts = store.load(ws.canonical)
        assert all(c.get("skipped") for c in counts.values())  # nothing else to do
        assert counts["Applicant"]["deleted"] == 1
        got = _store_keys(store)
    want = _oracle(ws.canonical)
    assert {name: set(keys) for name, keys in got.items()} == want


TRANSFEREE, TRANSFEREE_VARIANT = "厦门隆凯新能源有限公司", "厦门隆凯新能源股份有限公司"


@pytest.mark.parametrize("backend", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_an_applicant_only_in_transfers_merged_away_by_an_append_is_deleted(tmp_path, request, backend):
    """A's one transfer goes to TRANSFEREE, who applied for nothing (no APPLIED link, only a TRANSFERRED one);
    B has 15 records of TRANSFEREE_VARIANT (…股份有限公司 of a Xiamen stem: one firm, docs/methods.md), so the
    harmonisation makes the variant the representative and TRANSFEREE's own id leaves the canonical tables.
    After the load, the transfer ends at the variant's node and TRANSFEREE's node and LOCATED_IN are gone:
    the store equals the canonical tables (DuckDB), on both stores."""
    import pyarrow.parquet as pq
    from citynet.graph.store import open_store

    a0 = _rows(_lines("patents.csv.gz"))[1]  # A's first record: the patent transferred and its applicant
    ws, fb, old_id = _workspace(tmp_path, backend, request, TRANSFEREE, TRANSFEREE_VARIANT, transfers=[
        ["申请号", "转让人", "受让人", "生效日", "受让人地址"],
        [a0[0], a0[6], TRANSFEREE, "20150101", "361000福建省厦门市思明区湖滨南路1号"]])
    with open_store(ws) as store:
        store.load(ws.canonical)
        held = _store_keys(store)
        assert (old_id,) in held["Applicant"] and [t[1] for t in held["TRANSFERRED"]] == [old_id]
        assert not [k for k in held["APPLIED"] if k[0] == old_id]  # a transfer-only applicant
        assert exit_code("-q", "ingest", "-w", ws.root, fb, "--append") == 0
        names = pq.read_table(ws.canonical / "applicant_names.parquet").to_pandas()
        new_id = names.loc[names["name"] == TRANSFEREE, "applicant_id"].item()
        assert new_id != old_id  # merged into the variant's id
        counts = store.load(ws.canonical)
        got = _store_keys(store)
    want = _oracle(ws.canonical)
    assert (old_id,) not in want["Applicant"] and [t[1] for t in want["TRANSFERRED"]] == [new_id]
    for name, keys in got.items():
        assert len(keys) == len(set(keys)), name
        assert set(keys) == want[name], (name, sorted(set(keys) ^ want[name])[:5])
    assert counts["Applicant"]["deleted"] == 1 and counts["LOCATED_IN"]["deleted"] == 1


def test_a_load_after_an_append_reports_each_comparison_from_its_start(tmp_path, request):
    """Into a store with rows, each table's stored keys and hashes are read and diffed before its first row is
    prepared (seconds at 10M patents, docs/scale.md, session 20): that is a stage of its own, reported at its
    start and ended before the table's rows are prepared or written."""
    from citynet.graph.store import open_store

    ws, fb, _ = _workspace(tmp_path, "embedded", request)
    with open_store(ws) as store:
        first: list[tuple[str, int, int]] = []
        store.load(ws.canonical, progress=lambda s, d, t: first.append((s, d, t)))
        assert exit_code("-q", "ingest", "-w", ws.root, fb, "--append") == 0
        stages: list[tuple[str, int, int]] = []
        counts = store.load(ws.canonical, progress=lambda s, d, t: stages.append((s, d, t)))
    assert not any(s.startswith("comparing ") for s, _, _ in first)  # an empty store: nothing to compare
    compared = [name for name, c in counts.items() if not c.get("skipped")]  # (an unchanged input: skipped)
    assert {"Patent", "APPLIED"} <= set(compared), counts
    for name in compared:
        c = counts[name]
        start, end = stages.index((f"comparing {name}", 0, 1)), stages.index((f"comparing {name}", 1, 1))
        assert start < end, name
        rows = [i for i, (s, _, _) in enumerate(stages) if s in (name, f"preparing {name}")]
        assert all(i > end for i in rows), (name, [st for st in stages if name in st[0]])
        if c["new"]:
            assert rows, name


def test_panels_that_a_load_left_behind_the_store_are_named_until_recomputed(tmp_path, request, capsys):
    """After ``ingest --append`` re-located an applicant of earlier years (FIRM merged into VARIANT's id, in
    another city) and ``load``, a ``metrics --years`` of one year leaves the other changed years' panels as they
    were: ``load`` and that ``metrics`` name those years and the command that recomputes them, and every year
    whose panel a full ``metrics`` then changes is among them (no panel silently behind the store); after the
    full run nothing is behind."""
    import pandas as pd
    from citynet.graph.store import open_store

    from tests.cli import invoke

    ws, fb, _ = _workspace(tmp_path, "embedded", request)
    key = ws.default_network
    assert exit_code("-q", "load", "-w", ws.root) == 0 and exit_code("-q", "metrics", "-w", ws.root) == 0
    assert exit_code("-q", "ingest", "-w", ws.root, fb, "--append") == 0
    code, _, err = invoke(capsys, "load", "-w", ws.root)
    assert code == 0 and f"the panels of {key} show the store as it was before a load changed" in err, err
    with open_store(ws) as store:
        behind = store.panels_behind(key)
    assert isinstance(behind, list) and len(behind) >= 2, behind
    year = behind[-1]
    code, _, err = invoke(capsys, "metrics", "-w", ws.root, "--years", year)
    assert code == 0, err
    with open_store(ws) as store:
        left = store.panels_behind(key)
    assert left == [y for y in behind if y != year], (behind, left)
    assert "recompute them: citynet metrics -w" in err and str(left[0]) in err, err
    refreshed = pd.read_parquet(ws.panel("city_year", key))
    code, _, err = invoke(capsys, "metrics", "-w", ws.root)
    assert code == 0 and "show the store as it was" not in err, err
    with open_store(ws) as store:
        assert store.panels_behind(key) == []
    full = pd.read_parquet(ws.panel("city_year", key))
    cols = [c for c in full.columns if c in refreshed.columns]
    both = full[cols].merge(refreshed[cols], on=["city_code", "year"], suffixes=("", "_r"))
    assert len(both) == len(full) == len(refreshed)
    values = [c for c in cols if c not in ("city_code", "year")]
    differs = pd.Series(False, index=both.index)
    for c in values:
        a, b = both[c], both[f"{c}_r"]
        differs |= ~((a == b) | (a.isna() & b.isna()))
    changed = set(both.loc[differs, "year"].astype(int))
    assert changed, "the append changed no panel of another year: the test proves nothing"
    assert changed <= set(left), (sorted(changed), left)
