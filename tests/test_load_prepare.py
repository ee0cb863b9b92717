"""The load prepares its rows in DuckDB (graph/prepare.py) and writes them in bounded batches. Its
store must hold exactly the rows of the pandas reference (graph/tables.py: ``clean`` +
``entity_rows``, a separate implementation of the cleaning rules over whole DataFrames), every
property and ``row_hash`` included, whatever the batch size; and on edge cases (repeated keys,
unknown cities, applicants and patents) that the reference's rules decide."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from citynet.graph.store import open_store
from citynet.graph.tables import ENTITIES, ENTITY, clean, entity_rows, to_arrow

from bench.canonical_synth import synth_tables, write_tables
from citynet.workspace import Workspace

# the embedded store's rows of Patent, APPLIED and CITES in the order it stores them (node offsets,
# relationship ids): a load must store them in its batch files' order, whatever the thread count
STORED_IN_ORDER = {
    "Patent": "MATCH (x:Patent) RETURN x.patent_id, x.app_date ORDER BY offset(id(x))",
    "APPLIED": "MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) RETURN a.applicant_id, p.patent_id ORDER BY offset(id(r))",
    "CITES": "MATCH (p:Patent)-[r:CITES]->(q:Patent) RETURN p.patent_id, q.patent_id ORDER BY offset(id(r))",
}


def _dump(store, name: str) -> list[dict]:
    """Every stored row of store table ``name`` with all its properties, sorted by key."""
    e = ENTITY[name]
    if e.rel:
        a, b = (ENTITY[x].key[0] for x in e.ends)
        props = [c for c in e.columns[2:]]
        ret = [f"s.{a} AS `{e.columns[0]}`", f"t.{b} AS `{e.columns[1]}`", *(f"r.{c} AS `{c}`" for c in props)]
        stmt = f"MATCH (s:{e.ends[0]})-[r:{name}]->(t:{e.ends[1]}) RETURN {', '.join(ret)}"
    else:
        stmt = f"MATCH (x:{name}) RETURN {', '.join(f'x.{c} AS `{c}`' for c in e.columns)}"
    df = store.query(stmt)
    return _rows(df.reindex(columns=list(e.columns)), e)


def _rows(df: pd.DataFrame, e) -> list[dict]:
    rows = to_arrow(df.reindex(columns=list(e.columns))).to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in e.key))


def _load(tmp_path, tables, batch_rows=None, name="ws"):
    write_tables(tables, tmp_path / name / "canonical")
    ws = Workspace.open(tmp_path / name, create=True)
    store = open_store(ws)
    counts = store.load(ws.canonical, batch_rows=batch_rows)
    return store, counts


def _check_equal_to_reference(store, tables):
    expected = entity_rows(clean({k: v.copy() for k, v in tables.items()}))
    for e in ENTITIES:
        got = _dump(store, e.name)
        want = _rows(expected[e.name], e)
        assert len(got) == len(want), e.name
        assert got == want, e.name


@pytest.mark.parametrize("batch_rows", [None, 97])
def test_store_equals_the_pandas_reference_at_any_batch_size(tmp_path, batch_rows):
    tables = synth_tables(800, seed=3, years=(2010, 2014), n_cities=30)
    store, counts = _load(tmp_path, tables, batch_rows)
    try:
        _check_equal_to_reference(store, tables)
        assert counts["Patent"]["new"] == len(tables["patents"])
    finally:
        store.close()


def test_an_empty_store_is_copied_after_duckdb_is_closed(tmp_path, monkeypatch):
    """Into an empty store the rows go to batch files, each table's files are copied in one ``COPY``
    once they are all written (docs/scale.md, "The load's time at 10,000,000 patents"), the tables one
    after the other in their order, and DuckDB is closed once the last table's files are written, with
    its memory limit lowered before the patents' ``COPY`` (docs/scale.md, "Eighth round (session 16)"):
    every file holds at most 97 rows here (the table's rows over 97, rounded up), none is left, the
    store equals the reference, and its rows are stored in the files' order (the order of node offsets
    and relationship ids: what one ``COPY`` per file gave)."""
    import pyarrow.parquet as pq
    from citynet.graph.embedded import EmbeddedStore
    from citynet.graph.prepare import Prepared

    events: list[tuple[str, str, list[int]]] = []
    keys: dict[str, list[tuple]] = {}
    release, copy, write, share = (Prepared.release, EmbeddedStore._copy_rows_files, Prepared.write_batches,
                                   Prepared.share_memory)

    def copy_files(self, name, files, progress):
        rows = []
        for f, n in files:  # the rows as each file holds them
            t = pq.read_table(f)
            assert t.num_rows == n
            rows.append(n)
            keys.setdefault(name, []).extend(zip(*(t.column(i).to_pylist() for i in range(2)), strict=True))
        events.append(("copy", name, rows))
        return copy(self, name, files, progress)

    def write_batches(self, name, *args):
        out = write(self, name, *args)
        events.append(("written", name, []))
        return out

    monkeypatch.setattr(Prepared, "release", lambda self: (events.append(("release", "", [])), release(self))[1])
    monkeypatch.setattr(Prepared, "write_batches", write_batches)
    monkeypatch.setattr(Prepared, "share_memory", lambda self, f, **kw: (events.append(("share", "", [])), share(self, f, **kw))[1])
    monkeypatch.setattr(EmbeddedStore, "_copy_rows_files", copy_files)
    tables = synth_tables(800, seed=3, years=(2010, 2014), n_cities=30)
    store, counts = _load(tmp_path, tables, batch_rows=97)
    try:
        kinds = [(k, n) for k, n, _ in events]
        written = [n for k, n in kinds if k == "written"]
        assert written == [e.name for e in ENTITIES]
        assert kinds.index(("release", "")) > kinds.index(("written", written[-1]))
        copies = [(name, rows) for kind, name, rows in events if kind == "copy"]
        assert [name for name, _ in copies] == [e.name for e in ENTITIES if counts[e.name]["new"]]
        assert kinds.index(("written", "Patent")) < kinds.index(("share", "")) < kinds.index(("copy", "Patent"))
        for name, rows in copies:
            assert kinds.index(("copy", name)) > kinds.index(("written", name)), name
            assert all(0 < r <= 97 for r in rows), name
            assert sum(rows) == counts[name]["new"], name
            assert len(rows) == -(-counts[name]["new"] // 97), name
        assert not list(store.store_dir.glob("citynet-rows-*"))
        _check_equal_to_reference(store, tables)
        for name, stmt in STORED_IN_ORDER.items():
            got = [tuple(r) for r in store._run(stmt).itertuples(index=False)]
            assert [k[0] for k in got] == [k[0] for k in keys[name]], name
            if name != "Patent":
                assert got == keys[name], name
    finally:
        store.close()


def _canonical_order(tables: dict[str, pd.DataFrame]) -> dict[str, list]:
    """The order in which an empty store must hold Patent, APPLIED and CITES, from the canonical tables
    alone (pandas here): each kept row at its place in the file (a repeated patent: its last row; a
    repeated link: its lowest ``seq``, then its first row; a repeated citation: its first row), links
    and citations of unknown patents or applicants left out."""
    pat = tables["patents"].reset_index(drop=True)
    pat = pat[pat["patent_id"].notna()].drop_duplicates("patent_id", keep="last")
    known_p, known_a = set(pat["patent_id"]), set(tables["applicants"]["applicant_id"].dropna())
    links = tables["patent_applicants"].reset_index(drop=True)
    links = links[links["patent_id"].isin(known_p) & links["applicant_id"].isin(known_a)]
    links = (links.assign(rn=links.index).sort_values(["seq", "rn"], na_position="last", kind="stable")
             .drop_duplicates(["patent_id", "applicant_id"], keep="first").sort_values("rn"))
    cites = tables["citations"].reset_index(drop=True)
    cites = cites[cites["citing_patent_id"].isin(known_p) & cites["cited_patent_id"].isin(known_p)]
    cites = (cites.assign(rn=cites.index).groupby(["citing_patent_id", "cited_patent_id"], as_index=False)["rn"]
             .min().sort_values("rn"))
    return {"Patent": pat["patent_id"].tolist(),
            "APPLIED": list(zip(links["applicant_id"], links["patent_id"], strict=True)),
            "CITES": list(zip(cites["citing_patent_id"], cites["cited_patent_id"], strict=True))}


@pytest.mark.parametrize("beside", [True, False], ids=["copies beside DuckDB", "copies after DuckDB"])
def test_copies_beside_duckdb_store_the_canonical_order(tmp_path, monkeypatch, beside):
    """Whether the store copies each table on a second thread while DuckDB prepares the next ones (the
    empty embedded store's path) or after DuckDB is closed, it holds the reference's rows in the order
    of the canonical files (rows shuffled here, so that the files' order is not the keys'); beside
    DuckDB, the first ``COPY`` runs on another thread before DuckDB has written the last table (the
    last write waits for it: without the second thread it would wait in vain)."""
    import threading

    from citynet.graph.embedded import EmbeddedStore
    from citynet.graph.prepare import Prepared

    monkeypatch.setattr(EmbeddedStore, "copies_beside", beside)
    tables = synth_tables(700, seed=5, years=(2011, 2014), n_cities=25)
    for name, seed in (("patents", 1), ("patent_applicants", 2), ("citations", 3)):
        tables[name] = tables[name].sample(frac=1, random_state=seed).reset_index(drop=True)
    events: list[tuple[str, str, str]] = []
    first_copy = threading.Event()
    write, copy, release = Prepared.write_batches, EmbeddedStore._copy_rows_files, Prepared.release

    def write_batches(self, name, *args):
        if name == ENTITIES[-1].name:
            first_copy.wait(timeout=20 if beside else 0)
        out = write(self, name, *args)
        events.append(("written", name, threading.current_thread().name))
        return out

    def copy_files(self, name, files, progress):
        events.append(("copy", name, threading.current_thread().name))
        first_copy.set()
        return copy(self, name, files, progress)

    monkeypatch.setattr(Prepared, "write_batches", write_batches)
    monkeypatch.setattr(Prepared, "release", lambda self: (events.append(("release", "", "")), release(self))[1])
    monkeypatch.setattr(EmbeddedStore, "_copy_rows_files", copy_files)
    store, counts = _load(tmp_path, tables, batch_rows=61)
    try:
        _check_equal_to_reference(store, tables)
        want = _canonical_order(tables)
        for name, stmt in STORED_IN_ORDER.items():
            got = [tuple(r) for r in store._run(stmt).itertuples(index=False)]
            assert [k[0] for k in got] == [k if name == "Patent" else k[0] for k in want[name]], name
            if name != "Patent":
                assert got == want[name], name
        copies = [(n, t) for k, n, t in events if k == "copy"]
        assert [n for n, _ in copies] == [e.name for e in ENTITIES if counts[e.name]["new"]]
        released = [k for k, _, _ in events].index("release")
        first = events.index(("copy", *copies[0]))
        main = threading.main_thread().name
        if beside:
            assert all(t != main for _, t in copies)
            assert first < events.index(("written", ENTITIES[-1].name, main)) < released
        else:
            assert all(t == main for _, t in copies) and first > released
    finally:
        store.close()


def test_a_failed_copy_beside_duckdb_stops_the_load_with_its_message(tmp_path, monkeypatch):
    """A ``COPY`` that fails on the copying thread ends the load with that error (one message, the
    thread ended, no batch file left) and the tables after it are not copied."""
    from citynet.graph.embedded import EmbeddedStore

    from citynet.errors import StoreError

    copied: list[str] = []
    copy = EmbeddedStore._copy_rows_files

    def copy_files(self, name, files, progress):
        if name == "Patent":
            raise StoreError("the copy failed", fix="none")
        copied.append(name)
        return copy(self, name, files, progress)

    monkeypatch.setattr(EmbeddedStore, "_copy_rows_files", copy_files)
    tables = synth_tables(300, seed=2, years=(2012, 2013), n_cities=20)
    write_tables(tables, tmp_path / "ws" / "canonical")
    ws = Workspace.open(tmp_path / "ws", create=True)
    store = open_store(ws)
    try:
        with pytest.raises(StoreError, match="the copy failed"):
            store.load(ws.canonical, batch_rows=50)
        assert copied == ["City", "Applicant"]
        assert not list(store.store_dir.glob("citynet-rows-*"))
        assert not [t for t in __import__("threading").enumerate() if t.name == "citynet-copy"]
    finally:
        store.close()


def _meta(store) -> dict[str, str]:
    """The store's meta records (key → value) but the load's time."""
    df = store._run("MATCH (m:Meta) RETURN m.key AS key, m.value AS value")
    return {k: v for k, v in zip(df["key"], df["value"], strict=True) if "time" not in k}


def test_the_year_digests_of_an_empty_store_come_beside_the_copies_and_record_the_same(tmp_path, monkeypatch):
    """Into an empty embedded store the year digests are computed once every table's files are written,
    while the store copies them, before DuckDB is closed (docs/scale.md, "Thirteenth round (session
    19)"); the records of ``Patent``, ``APPLIED`` and ``CITES`` wait for them. The meta records (digests
    per partition, rows per partition, the patents' row-group sums) equal those of the same load with
    the digests computed first (the path of a load after DuckDB is closed), and a reload that changes
    nothing reads no table."""
    import threading

    from citynet.graph import load_years as ly
    from citynet.graph.embedded import EmbeddedStore
    from citynet.graph.prepare import Prepared

    tables = synth_tables(600, seed=8, years=(2010, 2013), n_cities=25)
    metas = {}
    for beside in (False, True):
        events: list[tuple] = []  # (what, table or thread[, DuckDB's threads])
        write, release, digests, set_meta = (Prepared.write_batches, Prepared.release, ly.year_digests,
                                             EmbeddedStore._set_meta)

        def write_batches(self, name, *args, _write=write, _events=events):
            out = _write(self, name, *args)
            _events.append(("written", name))
            return out

        def year_digests(*args, _digests=digests, _events=events, **kw):
            threads = kw["con"].execute("SELECT current_setting('threads')").fetchall()[0][0]
            _events.append(("digests", threading.current_thread().name, threads))
            return _digests(*args, **kw)

        def record_meta(self, key, value, _set=set_meta, _events=events):
            if key.startswith("partitions:"):
                _events.append(("recorded", key.split(":", 1)[1]))
            return _set(self, key, value)

        monkeypatch.setattr(EmbeddedStore, "copies_beside", beside)
        monkeypatch.setattr(Prepared, "write_batches", write_batches)
        monkeypatch.setattr(Prepared, "release", lambda self, _r=release, _e=events: (_e.append(("release", "")), _r(self))[1])
        monkeypatch.setattr(ly, "year_digests", year_digests)
        monkeypatch.setattr(EmbeddedStore, "_set_meta", record_meta)
        store, counts = _load(tmp_path, tables, batch_rows=53, name=f"ws{beside}")
        try:
            kinds = [k for k, *_ in events]
            assert kinds.count("digests") == 1
            at = kinds.index("digests")
            # beside the copies DuckDB works on one thread (BESIDE_THREADS): the COPY has the other core
            assert events[at][2] == (1 if beside else 2)
            recorded = [i for i, (k, *_) in enumerate(events) if k == "recorded"]
            assert sorted(events[i][1] for i in recorded) == sorted(ly.YEAR_ENTITIES)
            assert all(i > at for i in recorded)
            if beside:  # after the last table's files, before DuckDB's close
                assert events.index(("written", ENTITIES[-1].name)) < at < kinds.index("release")
            else:  # first
                assert at < kinds.index("written")
            _check_equal_to_reference(store, tables)
            metas[beside] = _meta(store)
            again = store.load(tmp_path / f"ws{beside}" / "canonical")
            assert all(c.get("skipped") for c in again.values())
        finally:
            store.close()
        monkeypatch.undo()
    assert any(k.startswith("partitions:") for k in metas[True])
    assert metas[True] == metas[False]


@pytest.mark.parametrize("failures", [1, 2], ids=["out of memory once", "out of memory twice"])
def test_year_digests_out_of_memory_beside_the_copies(tmp_path, monkeypatch, failures):
    """Year digests that run out of DuckDB's share beside the copies are computed once more within the
    whole limit (the load then ends as any other, its records those of an undisturbed load); when they
    fail again, the load stops with the load's memory message, the copying thread ends (no record waits
    for ever) and no batch file is left."""
    import threading

    import duckdb
    from citynet.graph import load_years as ly

    from citynet.errors import UserError

    calls, digests = [], ly.year_digests

    def year_digests(*args, **kw):
        calls.append(1)
        if len(calls) <= failures:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
        return digests(*args, **kw)

    tables = synth_tables(300, seed=4, years=(2012, 2013), n_cities=20)
    store, _ = _load(tmp_path, tables, batch_rows=50, name="plain")
    want = _meta(store)
    store.close()
    monkeypatch.setattr(ly, "year_digests", year_digests)
    write_tables(tables, tmp_path / "ws" / "canonical")
    ws = Workspace.open(tmp_path / "ws", create=True)
    store = open_store(ws)
    try:
        if failures == 1:
            store.load(ws.canonical, batch_rows=50)
            assert len(calls) == 2 and _meta(store) == want
            _check_equal_to_reference(store, tables)
        else:
            with pytest.raises(UserError, match="load_memory_limit"):
                store.load(ws.canonical, batch_rows=50)
        assert not list(store.store_dir.glob("citynet-rows-*"))
        assert not [t for t in threading.enumerate() if t.name == "citynet-copy"]
    finally:
        store.close()


def test_a_memory_limit_far_below_the_corpus_spills_instead_of_failing(tmp_path):
    """200,000 patents prepared within 80MB of DuckDB memory (their rows and the hash tables over every
    patent are several times that): the load spills and its store still equals the reference. Before
    the rows were stored ahead of their sort (graph.prepare.Prepared.rows_sql), Patent, APPLIED and
    CITES ran out of memory here, as the 9M-patent load did at the 2GB default (docs/scale.md).

    80MB, not less: the previous code fails at 80MB and passes at 96MB; this code passed every run at
    64MB but failed 2 runs in 6 at 48MB on a busy machine (two DuckDB threads reserve unequally)."""
    tables = synth_tables(200_000, seed=1)
    write_tables(tables, tmp_path / "ws" / "canonical")
    ws = Workspace.open(tmp_path / "ws", create=True)
    store = open_store(ws)
    try:
        counts = store.load(ws.canonical, memory_limit="80MB")
        assert counts["Patent"]["new"] == len(tables["patents"])
        _check_equal_to_reference(store, tables)
    finally:
        store.close()


def edge_tables() -> dict[str, pd.DataFrame]:
    """Repeated keys and unknown references, decided by the reference's rules (module docstring of
    graph/tables.py)."""
    d = dt.date
    cities = pd.DataFrame({
        "city_code": ["320100", "310000", "320100"],  # 320100 twice: the last row wins
        "name_zh": ["南京", "上海市", "南京市"], "short_name": ["南京"] * 2 + ["南京"],
        "province_code": ["320000", "310000", "320000"], "province_zh": ["江苏省", "上海市", "江苏省"],
        "lon": [118.8, float("nan"), 118.7], "lat": [32.1, 31.2, 32.0], "tier": ["2", "1", "2"],
        "region": ["east"] * 3,
    })
    applicants = pd.DataFrame({
        "applicant_id": ["a1", "a2", "a3", "a2"],
        "name": ["甲", "乙", "丙", "乙2"], "kind": ["firm"] * 4, "country": ["CN"] * 4,
        "city_code": ["320100", "999999", "310000", "310000"],  # a2: last row (310000) wins; 999999 unknown
        "province_code": ["320000", None, "310000", "310000"], "located_by": ["address"] * 4,
    })
    patents = pd.DataFrame({
        "patent_id": ["p1", "p2", "p3", "p1"],  # p1 twice: the last row wins
        "app_date": [d(2015, 1, 1), d(2016, 1, 1), d(2016, 2, 1), d(2015, 6, 1)],
        "app_year": [2015, 2016, 2016, 2015],
        "pub_number": ["CN1A", "CN2A", "CN3A", "CN1B"],
        "grant_date": [None, d(2018, 1, 1), None, d(2017, 3, 1)],
        "granted": [False, True, False, True], "patent_kind": ["invention"] * 4, "ipc_main": ["H01M"] * 4,
        "ipc": [["H01M"], [], ["H01M", "Y02E"], ["H01M"]], "cpc": [[], [], [], ["Y02E"]],
        "green": [True, False, True, True], "green_topics": [["energy"], [], [], ["energy"]],
        "y02": [False, False, False, True], "title": ["t1", "t2", None, "t1b"],
    })
    patent_applicants = pd.DataFrame({
        "patent_id": ["p1", "p1", "p1", "p2", "p2", "p9", "p3"],
        "applicant_id": ["a1", "a2", "a1", "a3", "a8", "a1", "a3"],  # a1-p1 twice: the lower seq wins
        "seq": [2, 1, 1, 1, 2, 1, 1],
        "city_code": ["320100", "310000", "310000", "310000", "320100", "320100", "888888"],
    })
    transfers = pd.DataFrame({
        "transfer_id": ["t1", "t2", "t1", "t3"],
        "patent_id": ["p1", "p2", "p1", "p3"],
        "date": [d(2016, 1, 1), d(2017, 1, 1), d(2016, 3, 1), d(2018, 1, 1)],
        "year": [2016, 2017, 2016, 2018],
        "from_applicant_id": ["a1", "a1", "a1", "a2"],
        "to_applicant_id": ["a2", "a9", "a3", "a3"],  # t2: unknown applicant, dropped
        "from_city": ["320100", "320100", "320100", "777777"], "to_city": ["310000", "310000", "310000", "310000"],
    })
    citations = pd.DataFrame({
        "citing_patent_id": ["p2", "p2", "p2", "p3", "p9", "p3"],
        "cited_ref": ["CN1A", "CN1A", "US1", "CN2A", "CN1A", "CNX"],
        "cited_patent_id": ["p1", "p1", None, "p2", "p1", "p7"],  # p2 cites p1 twice: refs 2; p7 unknown
        "foreign": [False, False, True, False, False, False],
    })
    return {"cities": cities, "applicants": applicants, "patents": patents, "patent_applicants": patent_applicants,
            "transfers": transfers, "citations": citations}


def test_edge_cases_equal_the_reference_and_hand_numbers(tmp_path):
    tables = edge_tables()
    store, counts = _load(tmp_path, tables, batch_rows=2)
    try:
        _check_equal_to_reference(store, tables)
        p = {r["patent_id"]: r for r in _dump(store, "Patent")}
        assert p["p1"]["pub_number"] == "CN1B" and p["p1"]["grant_year"] == 2017
        assert (p["p2"]["refs_made"], p["p2"]["refs_foreign"]) == (3, 1)
        assert p["p3"]["refs_made"] == 2
        applied = {(r["applicant_id"], r["patent_id"]): r for r in _dump(store, "APPLIED")}
        assert set(applied) == {("a1", "p1"), ("a2", "p1"), ("a3", "p2"), ("a3", "p3")}
        assert applied[("a1", "p1")]["city_code"] == "310000" and applied[("a3", "p3")]["city_code"] is None
        cites = {(r["citing_patent_id"], r["cited_patent_id"]): r["refs"] for r in _dump(store, "CITES")}
        assert cites == {("p2", "p1"): 2, ("p3", "p2"): 1}
        tr = {r["transfer_id"]: r for r in _dump(store, "TRANSFERRED")}
        assert set(tr) == {"t1", "t3"} and tr["t1"]["to_applicant_id"] == "a3" and tr["t3"]["from_city"] is None
        a = {r["applicant_id"]: r["city_code"] for r in _dump(store, "Applicant")}
        assert a == {"a1": "320100", "a2": "310000", "a3": "310000"}
        c = {r["city_code"]: r for r in _dump(store, "City")}
        assert c["320100"]["name_zh"] == "南京市" and c["310000"]["lon"] is None
        again = store.load(tmp_path / "ws" / "canonical")
        assert all(v["new"] == 0 and v["changed"] == 0 for v in again.values())
    finally:
        store.close()


def test_load_settings_that_are_not_sizes_are_usage_errors(tmp_path, capsys):
    from tests.cli import invoke

    write_tables(synth_tables(50, seed=1, years=(2010, 2011), n_cities=5), tmp_path / "canonical")
    for bad in ('buffer_pool = "lots"', 'load_memory_limit = "2 apples"', "load_batch_rows = 0"):
        (tmp_path / "citynet.toml").write_text(f"[store]\n{bad}\n", encoding="utf-8")
        code, _, err = invoke(capsys, "load", "-w", tmp_path)
        assert code == 2 and bad.split(" =")[0] in err, err
    (tmp_path / "citynet.toml").write_text('[store]\nbuffer_pool = "256MB"\nload_memory_limit = "300MB"\n'
                                           "load_batch_rows = 10\n", encoding="utf-8")
    code, _, err = invoke(capsys, "load", "-w", tmp_path)
    assert code == 0, err


def test_batch_files_left_by_a_killed_load_are_removed_by_the_next(tmp_path):
    """A load killed while its batch files exist leaves ``store/citynet-rows-*`` (and ``citynet-copy-*``)
    behind; the next load deletes them and loads as usual."""
    tables = synth_tables(300, seed=5, years=(2010, 2012), n_cities=12)
    write_tables(tables, tmp_path / "ws" / "canonical")
    ws = Workspace.open(tmp_path / "ws", create=True)
    store = open_store(ws)
    try:
        left = [store.store_dir / "citynet-rows-k1ll3d", store.store_dir / "citynet-copy-k1ll3d"]
        for d in left:
            d.mkdir(parents=True)
            (d / "Patent-000001.parquet").write_bytes(b"PAR1 half a file")
        other = store.store_dir / "notes-of-the-user"
        other.mkdir()
        store.load(ws.canonical)
        assert not any(d.exists() for d in left) and other.is_dir()
        _check_equal_to_reference(store, tables)
    finally:
        store.close()


def test_projection_edges_are_stored_in_the_order_they_are_written(tmp_path):
    """The projections' new edges are created on one thread, in the order of the rows written (the
    computed edges sorted by ``src, dst, year``, pandas' outer merge of ``edge_diff``): with the engine's
    threads, the stored order of ``CITED`` differed from load to load (its rows did not), and a query
    without ``ORDER BY`` returns the stored order. 100,000 patents: with the engine's default threads
    (two on the machine this was written on) even ``COLLABORATED`` was stored out of order at this size,
    not at 20,000."""
    from citynet.graph.network_filter import NetworkFilter

    tables = synth_tables(100000, seed=8, years=(2010, 2014), n_cities=150)
    store, _ = _load(tmp_path, tables)
    try:
        flt = NetworkFilter.from_settings({})
        store.build_projections(flt)
        for rel in ("COLLABORATED", "TRANSFERRED_TO", "CITED"):
            got = store._run(f"MATCH (a:City)-[r:{rel}]->(b:City) RETURN a.city_code AS src, b.city_code AS dst, "
                             "r.year AS year ORDER BY offset(id(r))")
            rows = list(got.itertuples(index=False, name=None))
            assert rows == sorted(rows), rel
            if rel == "CITED":
                assert len(rows) > 4096
    finally:
        store.close()


@pytest.mark.parametrize(("batch_rows", "by_year"), [(None, True), (173, False)],
                         ids=["one row group per year", "shuffled, small batches"])
def test_patent_rows_of_a_whole_read_come_in_file_order_without_the_sort(tmp_path, batch_rows, by_year):
    """Every patent read, no id repeated: ``Patent``'s batch files are written from the patents streamed
    in file order, their citation counts placed beside them by position (``Prepared.
    _write_patents_in_file_order``), not by sorting every column. The files must hold what the sorted
    ``rows_sql`` path writes (every column, ``row_hash`` and the partition counts, in the same order),
    on shuffled canonical tables of 30,000 patents, written one row group per year as the ingest writes
    them or in one row group, with DuckDB's two threads; and the rows must follow the file's
    ``patent_id`` order (read by pyarrow)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from citynet.graph.prepare import Prepared

    tables = synth_tables(30_000, seed=11, years=(2009, 2016), n_cities=40)
    for name, seed in (("patents", 4), ("citations", 5)):
        tables[name] = tables[name].sample(frac=1, random_state=seed).reset_index(drop=True)
    canonical = tmp_path / "canonical"
    write_tables(tables, canonical, patents_by_year=by_year)
    assert pq.ParquetFile(canonical / "patents.parquet").metadata.num_row_groups == (8 if by_year else 1)
    got = {}
    with Prepared(canonical, batch_rows=batch_rows) as prep:
        assert not prep.repeated
        prep.clean(None)
        for way in ("file order", "sorted"):
            folder = tmp_path / way.replace(" ", "_")
            folder.mkdir()
            if way == "file order":
                files, n, by_part = prep.write_batches("Patent", True, folder, lambda *a: None)
            else:  # the general path: rows_sql stored, then read ORDER BY _o
                prep.con.execute(f"CREATE OR REPLACE TEMP TABLE r_rows AS {prep.rows_sql('Patent', part=True)}")
                files, n, by_part = prep.write_files("r_rows", "Patent", folder, lambda *a: None,
                                                     len(tables["patents"]), part=True)
            got[way] = (pa.concat_tables([pq.read_table(f) for f, _ in files]), n, by_part)
    (fast, n_fast, parts_fast), (slow, n_slow, parts_slow) = got["file order"], got["sorted"]
    assert n_fast == n_slow == len(tables["patents"])
    assert parts_fast == parts_slow
    assert fast.schema == slow.schema
    assert fast.equals(slow)
    assert fast.column("patent_id").to_pylist() == pq.read_table(canonical / "patents.parquet").column("patent_id").to_pylist()


def test_preparing_a_table_reports_its_rows_out_of_the_true_total_from_the_start(tmp_path):
    """Every ``preparing <table>`` report of a load names the table's rows as its total from the first
    report on (10M patents: ``preparing APPLIED`` said 7,987,200/7,987,200 (100%), then
    8,601,600/8,601,600 (100%), …, while it had 12,217,263 rows to write), and its last report is that total."""
    tables = synth_tables(500, seed=6, years=(2011, 2013), n_cities=20)
    write_tables(tables, tmp_path / "ws" / "canonical")
    ws = Workspace.open(tmp_path / "ws", create=True)
    seen: dict[str, list[tuple[int, int]]] = {}
    store = open_store(ws)
    try:
        counts = store.load(ws.canonical, batch_rows=37,
                            progress=lambda stage, done, total: seen.setdefault(stage, []).append((done, total)))
    finally:
        store.close()
    for e in ENTITIES:
        reports = seen[f"preparing {e.name}"]
        rows = counts[e.name]["rows"]
        assert {t for _, t in reports} == {rows}, e.name
        assert reports[-1] == (rows, rows), e.name
        assert len(reports) > 2 or rows <= 37, e.name
