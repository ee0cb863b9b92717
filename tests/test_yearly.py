"""A yearly refresh through the real embedded store: load a corpus without year Y (or with year Y
missing), compute every panel, load the whole corpus, ``citynet metrics --years Y`` — the three
panels must equal, to the last digit, those of a separate workspace that loaded the whole corpus
once and ran ``citynet metrics`` over every year (the expected values are a full recomputation, not
the incremental path). Also: the panel files keep one row group per year, and metrics reports
rows and rows/s per step."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from citynet.graph.tables import ENTITY
from citynet.metrics.pipeline import PANELS, read_panel

from bench.canonical_synth import synth_tables, write_tables
from tests.cli import exit_code
from tests.test_load_prepare import STORED_IN_ORDER

CONFIG = '[network]\ngreen = "all"\nkind = "all"\n'



def _corpus():
    tables = synth_tables(900, seed=12, years=(2010, 2014), n_cities=14)
    year = tables["patents"].set_index("patent_id")["app_year"]
    ci = tables["citations"]
    # as in a real corpus, nobody cites a patent filed after their own
    later = ci["cited_patent_id"].map(year) > ci["citing_patent_id"].map(year)
    tables["citations"] = ci[~later.fillna(False).astype(bool)].reset_index(drop=True)
    return tables


def _without(tables: dict, year: int) -> dict:
    """The corpus without the patents of ``year`` (their links, transfers and the citations they make
    or receive)."""
    keep = set(tables["patents"].loc[tables["patents"]["app_year"] != year, "patent_id"])
    out = dict(tables)
    out["patents"] = tables["patents"][tables["patents"]["patent_id"].isin(keep)]
    for name, col in (("patent_applicants", "patent_id"), ("transfers", "patent_id"), ("citations", "citing_patent_id")):
        out[name] = tables[name][tables[name][col].isin(keep)]
    ci = out["citations"]
    out["citations"] = ci[ci["cited_patent_id"].isna() | ci["cited_patent_id"].isin(keep)]
    return out


def _workspace(path, tables):
    path.mkdir(parents=True, exist_ok=True)
    (path / "citynet.toml").write_text(CONFIG, encoding="utf-8")
    write_tables(tables, path / "canonical")
    return path


def _assert_same_panels(a, b):
    for name in PANELS:
        x, y = read_panel(a / "metrics" / f"{name}.parquet"), read_panel(b / "metrics" / f"{name}.parquet")
        pd.testing.assert_frame_equal(x, y, check_exact=True)
        assert x.attrs == y.attrs, name


def _full(tmp_path, tables):
    full = _workspace(tmp_path / "full", tables)
    assert exit_code("-q", "load", "-w", str(full)) == 0
    assert exit_code("-q", "metrics", "-w", str(full)) == 0
    return full


def test_refresh_of_a_new_year_through_the_store_equals_a_fullexit_code(tmp_path):
    tables = _corpus()
    # transfers of the new year's patents recorded in another year would change that year too: here
    # each transfer is dated in its patent's year or later, and the refresh names the new year only
    pid_year = tables["patents"].set_index("patent_id")["app_year"]
    tr = tables["transfers"]
    tables["transfers"] = tr[~((tr["patent_id"].map(pid_year) == 2014) & (tr["year"] != 2014))]
    full = _full(tmp_path, tables)

    inc = _workspace(tmp_path / "inc", _without(tables, 2014))
    assert exit_code("-q", "load", "-w", str(inc)) == 0
    assert exit_code("-q", "metrics", "-w", str(inc)) == 0
    write_tables(tables, inc / "canonical")
    assert exit_code("-q", "load", "-w", str(inc)) == 0
    assert exit_code("-q", "metrics", "-w", str(inc), "--years", "2014") == 0
    _assert_same_panels(full, inc)
    # and the per-filter copy equals the default filter's files byte for byte
    (folder,) = [p.parent for p in (inc / "metrics").glob("*/city_year.parquet")]
    for name in PANELS:
        assert (inc / "metrics" / f"{name}.parquet").read_bytes() == (folder / f"{name}.parquet").read_bytes()


def test_a_refresh_that_would_extend_the_panel_to_a_year_without_data_is_refused(tmp_path, capsys):
    """``--years 2009-2012`` on a corpus of 2010-2014 (or ``2014-2015``, ``2015``): 2009 and 2015 have no
    patent, so a full run's panel (the reference: 2010-2014) would not hold them — and an empty first year
    made every partner of 2010 "new" in the churn. One message, exit 2, the panels untouched; a refresh
    within the data still equals the full run."""
    from tests.cli import invoke

    tables = _corpus()
    full = _full(tmp_path, tables)
    before = {name: (full / "metrics" / f"{name}.parquet").read_bytes() for name in PANELS}
    for years, empty in (("2009-2012", "2009"), ("2014-2015", "2015"), ("2015", None)):
        code, _, err = invoke(capsys, "-q", "metrics", "-w", full, "--years", years)
        assert code == 2, err
        if empty is None:  # no patent filed in any year asked (2015 holds grants only): said before the filter
            assert "the store has no patent filed in that year (its patents were filed in 2010–2014)" in err, err
        else:
            assert f"no patent passes the network filter 'all.all.all' in {empty}" in err
            assert "(the panel's years: 2010–2014)" in err
        assert {name: (full / "metrics" / f"{name}.parquet").read_bytes() for name in PANELS} == before
    again = _workspace(tmp_path / "again", tables)
    assert exit_code("-q", "load", "-w", str(again)) == 0
    assert exit_code("-q", "metrics", "-w", str(again)) == 0
    assert exit_code("-q", "metrics", "-w", str(again), "--years", "2010-2014") == 0
    _assert_same_panels(full, again)


def test_a_years_setting_beyond_the_stored_patents_is_refused(tmp_path, capsys):
    """``[years] start = 2009, end = 2016`` on a corpus of 2010-2014: the panel held rows of zeros for 2009,
    2015 and 2016 (made-up observations in a regression, and 2010's churn against an empty 2009). One message,
    exit 2, no panel written; a setting within the corpus (2011-2013) gives those years of the full panel."""
    from tests.cli import invoke

    tables = _corpus()
    ws = _workspace(tmp_path / "ws", tables)
    assert exit_code("-q", "load", "-w", str(ws)) == 0
    (ws / "citynet.toml").write_text(CONFIG + "[years]\nstart = 2009\nend = 2016\n", encoding="utf-8")
    code, _, err = invoke(capsys, "-q", "metrics", "-w", ws)
    assert code == 2, err
    assert ("[years] 2009–2016 reaches beyond the stored patents' application years (2010–2014): the panel would "
            "hold made-up rows of zeros for 2009 and 2015–2016") in " ".join(err.split())
    assert not (ws / "metrics" / "city_year.parquet").exists()
    (ws / "citynet.toml").write_text(CONFIG + "[years]\nstart = 2011\nend = 2013\n", encoding="utf-8")
    assert exit_code("-q", "metrics", "-w", str(ws)) == 0
    assert sorted(read_panel(ws / "metrics" / "city_year.parquet")["year"].unique()) == [2011, 2012, 2013]


def test_refresh_of_a_middle_year_through_the_store_equals_a_fullexit_code(tmp_path):
    tables = _corpus()
    pid_year = tables["patents"].set_index("patent_id")["app_year"]
    tr = tables["transfers"]
    tables["transfers"] = tr[~((tr["patent_id"].map(pid_year) == 2012) & (tr["year"] != 2012))]
    ci = tables["citations"]  # later patents citing 2012's would change the later years' counts too
    tables["citations"] = ci[~((ci["cited_patent_id"].map(pid_year) == 2012)
                               & (ci["citing_patent_id"].map(pid_year) != 2012)).astype(bool)]
    full = _full(tmp_path, tables)

    inc = _workspace(tmp_path / "inc", _without(tables, 2012))
    assert exit_code("-q", "load", "-w", str(inc)) == 0
    assert exit_code("-q", "metrics", "-w", str(inc)) == 0
    old = read_panel(inc / "metrics" / "city_year.parquet")
    write_tables(tables, inc / "canonical")
    assert exit_code("-q", "load", "-w", str(inc)) == 0
    assert exit_code("-q", "metrics", "-w", str(inc), "--years", "2012") == 0
    _assert_same_panels(full, inc)
    new = read_panel(inc / "metrics" / "city_year.parquet")
    untouched = ~new["year"].isin([2012, 2013])
    pd.testing.assert_frame_equal(new[untouched].reset_index(drop=True), old[untouched].reset_index(drop=True))


def test_panel_files_have_one_row_group_per_year(tmp_path):
    full = _full(tmp_path, _corpus())
    for name in ("city_year", "dyad_year"):
        f = pq.ParquetFile(full / "metrics" / f"{name}.parquet")
        years = sorted(read_panel(full / "metrics" / f"{name}.parquet")["year"].unique())
        assert f.metadata.num_row_groups == len(years), name
        for i, y in enumerate(years):
            st = f.metadata.row_group(i).column(f.schema_arrow.get_field_index("year")).statistics
            assert st.min == st.max == y


def _store_rows(store) -> dict[str, pd.DataFrame]:
    """Every store table's keys and row hashes (what a load wrote), sorted."""
    from citynet.graph.tables import ENTITIES

    out = {}
    for e in ENTITIES:
        df = store._fetch(e.name)[[*e.key, "row_hash"]]
        out[e.name] = df.astype({"row_hash": "int64"}).sort_values(list(e.key)).reset_index(drop=True)
    return out


@contextlib.contextmanager
def _loaded(tmp_path: Path, tables: dict):
    """An embedded store in ``tmp_path / "inc"`` loaded with ``tables`` (written to ``tmp_path / "v1"``)."""
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    with open_store(Workspace.open(tmp_path / "inc", create=True)) as store:
        write_tables(tables, tmp_path / "v1", patents_by_year=True)
        store.load(tmp_path / "v1")
        yield store


def _move_one_link(edited: dict, years) -> None:
    """Move, in ``edited``'s links, one located link of a patent of each of ``years`` to another city."""
    p, links = edited["patents"], edited["patent_applicants"]
    for year in years:
        ids = set(p.loc[p["app_year"] == year, "patent_id"])
        j = links.index[links["patent_id"].isin(ids) & links["city_code"].notna()][0]
        links.loc[j, "city_code"] = next(c for c in edited["cities"]["city_code"] if c != links.loc[j, "city_code"])


def _record_blocks(store, monkeypatch) -> list[tuple[str, dict]]:
    """The named blocks of ``cypher/load.*`` (with their parameters) that ``store._run_arrow`` runs from
    now on, in order."""
    ran: list[tuple[str, dict]] = []
    real = store._run_arrow
    blocks = {stmt: name for name, (stmt,) in store._blocks("load").items()}
    monkeypatch.setattr(store, "_run_arrow", lambda stmt, params: ran.append((blocks.get(stmt, "?"), params))
                        or real(stmt, params))
    return ran


def _assert_equals_fresh_load(store, canonical: Path, root: Path) -> None:
    """``store`` holds the keys and row hashes of a fresh embedded load of ``canonical`` (into ``root``)."""
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    with open_store(Workspace.open(root, create=True)) as fresh:
        fresh.load(canonical)
        want = _store_rows(fresh)
    got = _store_rows(store)
    for name, df in want.items():
        pd.testing.assert_frame_equal(got[name], df, check_dtype=False, obj=name)


@pytest.mark.parametrize("backend", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_a_load_after_adding_a_year_reads_that_year_and_equals_a_fresh_load(tmp_path, request, backend):
    """Load the corpus without 2014, then the whole corpus: the second load re-reads the rows of 2014
    only (the digests of the other years' partitions are unchanged), and the store then holds exactly
    what a fresh embedded load of the whole corpus holds. Then one patent of 2011 is edited and one
    applicant link of 2012 moved to another city: the next load re-reads one partition (bucket) of
    2011 and one of 2012 and again equals a fresh load."""
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    tables = _corpus()
    write_tables(tables, tmp_path / "fresh" / "c")

    ws = Workspace.open(tmp_path / "inc", create=True)
    ws.settings["store"]["backend"] = backend
    if backend == "neo4j":
        server = request.getfixturevalue("neo4j_clean")
        ws.settings["store"].update(uri=server.uri, user=server.user, password=server.password)
    with open_store(ws) as store:
        write_tables(_without(tables, 2014), tmp_path / "v1", patents_by_year=True)
        first = store.load(tmp_path / "v1")
        assert "years" not in first["Patent"]  # a first load reads every row
        write_tables(tables, tmp_path / "v2", patents_by_year=True)
        counts = store.load(tmp_path / "v2")
        for name in ("Patent", "APPLIED", "CITES"):
            assert counts[name]["years"] == ["2014"], (name, counts[name])
        n14 = int((tables["patents"]["app_year"] == 2014).sum())
        import json

        from citynet.graph.load_years import GROUPS_META

        assert len(json.loads(store._get_meta(GROUPS_META))) == 5  # the row groups of 2010-2014, cached
        assert counts["Patent"]["new"] == n14 and counts["Patent"]["changed"] == 0
        assert counts["Patent"]["rows"] == len(tables["patents"])
        _assert_equals_fresh_load(store, tmp_path / "fresh" / "c", tmp_path / "fresh")

        # edit a 2011 patent's title and move a 2012 applicant link to another city
        edited = {k: v.copy() for k, v in tables.items()}
        p = edited["patents"]
        i11 = p.index[p["app_year"] == 2011][0]
        p.loc[i11, "title"] = "an edited title"
        ids12 = set(p.loc[p["app_year"] == 2012, "patent_id"])
        pa_ = edited["patent_applicants"]
        j = pa_.index[pa_["patent_id"].isin(ids12) & pa_["city_code"].notna()][0]
        other = next(c for c in edited["cities"]["city_code"] if c != pa_.loc[j, "city_code"])
        pa_.loc[j, "city_code"] = other
        write_tables(edited, tmp_path / "v3", patents_by_year=True)
        counts = store.load(tmp_path / "v3")
        # one bucket, not the whole year, and each table only where its own rows changed: the edited
        # patent's bucket of 2011 for Patent (and CITES, which shares the patents' selection), the
        # moved link's bucket of 2012 for APPLIED
        assert counts["Patent"]["years"] == counts["CITES"]["years"] == ["2011"]
        assert counts["APPLIED"]["years"] == ["2012"]
        assert counts["Patent"]["partitions"] == counts["APPLIED"]["partitions"] == 1
        assert counts["Patent"]["changed"] == 1 and counts["APPLIED"]["changed"] == 1
        _assert_equals_fresh_load(store, tmp_path / "v3", tmp_path / "fresh3")

        # only a link changes (a 2013 link moved to another city) and the citations are written in another
        # order (the file's digest changes, no row does): APPLIED re-reads that link's bucket, Patent and
        # CITES no partition, and the store again equals a fresh load
        edited4 = {k: v.copy() for k, v in edited.items()}
        edited4["citations"] = edited4["citations"].iloc[::-1].reset_index(drop=True)
        ids13 = set(p.loc[p["app_year"] == 2013, "patent_id"])
        l4 = edited4["patent_applicants"]
        # a link of a 2013 patent cited by patents of other years
        year_of = p.set_index("patent_id")["app_year"]
        cit = edited4["citations"]
        cited_later = set(cit.loc[cit["citing_patent_id"].map(year_of) != 2013, "cited_patent_id"])
        j = l4.index[l4["patent_id"].isin(ids13 & cited_later) & l4["city_code"].notna()][0]
        l4.loc[j, "city_code"] = next(c for c in edited4["cities"]["city_code"] if c != l4.loc[j, "city_code"])
        write_tables(edited4, tmp_path / "v4", patents_by_year=True)
        from citynet.graph.network_filter import NetworkFilter

        flt = NetworkFilter()
        store.build_projections(flt)
        assert store.missing_years(flt) == []
        counts = store.load(tmp_path / "v4")
        # the moved link's year is stale, found from the whole patents table (its patent is not re-read),
        # and so are the years of the patents citing its patent (their citation edges take its city)
        moved = l4.loc[j, "patent_id"]
        citing = set(cit.loc[cit["cited_patent_id"] == moved, "citing_patent_id"])
        expected = {2013} | {int(y) for y in p.loc[p["patent_id"].isin(citing), "app_year"]}
        assert store.missing_years(flt) == sorted(expected)
        store.refresh_projections(flt)  # the stale years rebuilt: every year's edges as a full rebuild
        _assert_projections_equal_a_full_rebuild(store, flt)
        assert counts["APPLIED"]["years"] == ["2013"] and counts["APPLIED"]["changed"] == 1
        assert counts["Patent"]["years"] == counts["CITES"]["years"] == []
        assert counts["Patent"]["new"] == counts["Patent"]["changed"] == counts["CITES"]["new"] == 0
        _assert_equals_fresh_load(store, tmp_path / "v4", tmp_path / "fresh4")


def _assert_projections_equal_a_full_rebuild(store, flt) -> None:
    """The stored projections of every year equal what the projection queries compute from the store now."""
    from citynet.graph.store import NETWORKS, edge_rows

    params = store._patent_params(flt, None)
    for net in NETWORKS:
        key = ["src", "dst", "year"]
        fresh = edge_rows(store._exec_block("projections", f"compute_{net}", params)).sort_values(key)
        stored = edge_rows(store._exec_block("read", f"edges_{net}", params)).sort_values(key)
        pd.testing.assert_frame_equal(fresh.reset_index(drop=True), stored.reset_index(drop=True), obj=net)


def test_patent_digests_from_cached_row_groups_equal_hashing_every_row(tmp_path):
    """The patents' partition sums from a row-group cache equal those of hashing every row: cold,
    hot, after one year's rows changed (its group hashed again, a stale entry never used), and
    with the file written in another layout (no cache: None, the caller hashes every row). A cached
    group is really reused: a tampered entry of an unchanged group shows in the result."""
    from citynet.graph import load_years as ly

    tables = _corpus()
    pcols = ", ".join(f"p.{c}" for c in ly.PATENT_DIGEST_COLS)
    con, version = ly._connect()

    def every_row(d):
        sql = (f"SELECT {ly.part_expr('p.')}, count(*), sum(hash(struct_pack({pcols}))::HUGEINT) "
               f"FROM read_parquet('{d}/patents.parquet') p WHERE p.patent_id IS NOT NULL GROUP BY 1")
        return {y: (n, h) for y, n, h in con.execute(sql).fetchall()}

    write_tables(tables, tmp_path / "a", patents_by_year=True)
    cache: dict = {}
    assert ly.patent_group_sums(tmp_path / "a" / "patents.parquet", con, version, pcols, cache) == every_row(tmp_path / "a")
    assert len(cache) == 5  # one row group per year
    assert ly.patent_group_sums(tmp_path / "a" / "patents.parquet", con, version, pcols, cache) == every_row(tmp_path / "a")
    assert ly.year_digests(tmp_path / "a", "x", cache=dict(cache)) == ly.year_digests(tmp_path / "a", "x")

    edited = {k: v.copy() for k, v in tables.items()}
    p = edited["patents"]
    p.loc[p.index[p["app_year"] == 2012][0], "title"] = "an edited title"
    write_tables(edited, tmp_path / "b", patents_by_year=True)
    before = dict(cache)
    got = ly.patent_group_sums(tmp_path / "b" / "patents.parquet", con, version, pcols, cache)
    assert got == every_row(tmp_path / "b") != every_row(tmp_path / "a")
    assert len(set(cache) - set(before)) == 1  # only 2012's group is new

    key = next(k for k in cache if k in before)  # an unchanged group: its entry is used as it is
    part = next(iter(cache[key]))
    cache[key][part] = [cache[key][part][0], str(int(cache[key][part][1]) + 1)]
    assert ly.patent_group_sums(tmp_path / "b" / "patents.parquet", con, version, pcols, cache) != every_row(tmp_path / "b")

    cache[key] = "not an entry"  # a malformed entry is hashed again
    assert ly.patent_group_sums(tmp_path / "b" / "patents.parquet", con, version, pcols, cache) == every_row(tmp_path / "b")

    (tmp_path / "c").mkdir()  # a page index between the row groups and the footer: bytes outside the groups
    pq.write_table(pq.read_table(tmp_path / "a" / "patents.parquet"), tmp_path / "c" / "patents.parquet",
                   write_page_index=True)
    assert ly._group_keys(tmp_path / "c" / "patents.parquet", pcols, version) is None
    assert ly.patent_group_sums(tmp_path / "c" / "patents.parquet", con, version, pcols, {}) is None
    con.close()


def test_a_repeated_patent_id_falls_back_to_reading_every_row(tmp_path):
    from citynet.graph.load_years import year_digests

    tables = _corpus()
    write_tables(tables, tmp_path / "ok")
    assert year_digests(tmp_path / "ok", "x") is not None
    p = tables["patents"]
    tables["patents"] = pd.concat([p, p.iloc[[0]].assign(app_year=2013)], ignore_index=True)
    write_tables(tables, tmp_path / "dup")
    assert year_digests(tmp_path / "dup", "x") is None


def test_refresh_of_panels_written_as_one_row_group_equals_a_fullexit_code(tmp_path):
    """Panel files written before the one-row-group-per-year layout (one row group) are merged by
    filtering and sorting instead; same result as a full run."""
    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.pipeline import TableStore, run_metrics

    from citynet.workspace import Workspace
    from tests.test_metrics_pipeline import _tables

    e, c = _tables(range(2010, 2014))
    flt = NetworkFilter()
    full = Workspace.open(tmp_path / "full", create=True)
    run_metrics(full, flt, store=TableStore(e, c))
    inc = Workspace.open(tmp_path / "inc", create=True)
    run_metrics(inc, flt, store=TableStore(e[e["year"] < 2013], c[c["year"] < 2013]))
    for path in (inc.metrics / "dyad_year.parquet", inc.filter_panel("dyad_year", flt.key)):
        pq.write_table(pq.read_table(path), path, compression="zstd")  # one row group, metadata kept
        assert pq.ParquetFile(path).metadata.num_row_groups == 1
    from citynet.transaction import read_manifest

    if read_manifest(inc.root):  # the manifest records the files' hashes: re-record them
        import json

        from citynet.transaction import sha256

        m = json.loads((inc.root / ".citynet" / "manifest.json").read_text(encoding="utf-8"))
        for unit in m["units"].values():
            for rel, entry in unit["files"].items():
                f = inc.root / rel
                entry.update(sha256=sha256(f), size=f.stat().st_size)
        (inc.root / ".citynet" / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    run_metrics(inc, flt, years=[2013], store=TableStore(e, c))
    for name in PANELS:
        a, b = read_panel(full.panel(name)), read_panel(inc.panel(name))
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_metrics_progress_reports_rows_per_step(tmp_path):
    """Every step reports rows: the city graphs read (edges + count rows), the city-years computed
    year by year (never going back, ending at cities × years), the panel rows written (the files'
    rows) and the CityYear rows written back."""
    from citynet.etl.cities import city_set
    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.pipeline import TableStore, run_metrics

    from citynet.workspace import Workspace
    from tests.test_metrics_pipeline import _tables

    e, c = _tables(range(2010, 2013))
    ws = Workspace.open(tmp_path / "ws", create=True)
    ticks: list[tuple[str, int, int]] = []
    run_metrics(ws, NetworkFilter(), store=TableStore(e, c), progress=lambda *t: ticks.append(t))
    n = len(city_set().cities)
    read = [t for t in ticks if t[0].startswith("reading city graphs")]
    assert read[0][1] == 0 and read[-1][1:] == (len(e) + len(c), len(e) + len(c))
    comp = [t for t in ticks if t[0].startswith("computing city-years")]
    assert [d for _, d, _ in comp] == [0, n, 2 * n, 3 * n] and all(t == 3 * n for _, _, t in comp)
    rows = sum(pq.ParquetFile(ws.panel(p)).metadata.num_rows for p in PANELS)
    assert ("writing panels", rows, rows) in ticks
    assert ("writing CityYear nodes", 3 * n, 3 * n) in ticks


def test_stored_rows_of_many_years_are_fetched_a_few_years_at_a_time(tmp_path, monkeypatch):
    """Links moved in three years make APPLIED re-read those years; with FETCH_ROWS below a year's rows
    the embedded store fetches the stored rows one year per query (a 10M corpus's years in one query
    overflowed the default page cache) and the store still equals a fresh load."""
    from citynet.graph import store as store_mod


    tables = _corpus()
    with _loaded(tmp_path, tables) as store:
        edited = {k: v.copy() for k, v in tables.items()}
        _move_one_link(edited, (2010, 2012, 2014))
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        monkeypatch.setattr(store_mod, "FETCH_ROWS", 1)
        monkeypatch.setattr(store_mod, "HASH_SHARE", 0)  # the years' keys and hashes, not every row's hash first
        asked: list[list[int]] = []
        real = store._run_arrow
        monkeypatch.setattr(store, "_run_arrow", lambda stmt, params: asked.append(params["years"]) or real(stmt, params))
        counts = store.load(tmp_path / "v2")
        assert counts["APPLIED"]["years"] == ["2010", "2012", "2014"] and counts["APPLIED"]["changed"] == 3
        assert asked == [[2010], [2012], [2014]]
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")
    assert store_mod._year_groups([2010, 2012, 2014], {2010: 5, 2012: 6, 2014: 1}, 10) == [[2010], [2012, 2014]]


def test_a_load_into_a_store_with_rows_writes_once_duckdb_is_closed(tmp_path, monkeypatch):
    """A load that diffs against stored rows (a new year, a patent moved to another year with its links
    and citations, a re-located link, projections built) puts every table's new and changed rows in
    batch files and closes DuckDB before the store writes any row, so that the two engines' memory is
    not held at once (docs/scale.md, "The refresh's memory at 10,000,000 patents"); the files are gone
    afterwards, the stale years are those a full rebuild changes, and the store equals a fresh load."""
    from citynet.graph.embedded import EmbeddedStore
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.prepare import Prepared
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    tables = _corpus()
    ws = Workspace.open(tmp_path / "inc", create=True)
    with open_store(ws) as store:
        write_tables(_without(tables, 2014), tmp_path / "v1", patents_by_year=True)
        store.load(tmp_path / "v1", batch_rows=50)
        flt = NetworkFilter()
        store.build_projections(flt)
        edited = {k: v.copy() for k, v in tables.items()}
        p, links = edited["patents"], edited["patent_applicants"]
        i = p.index[(p["app_year"] == 2011) & p["patent_id"].isin(links["patent_id"])][0]
        p.loc[i, "app_year"] = 2013
        p.loc[i, "app_date"] = pd.Timestamp("2013-03-01").date()
        _move_one_link(edited, (2012,))
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        events: list[str] = []
        release = Prepared.release
        monkeypatch.setattr(Prepared, "release", lambda self: (events.append("release"), release(self))[1])
        for hook in ("_copy_rows_file", "_copy_rows_files", "_write_entity", "_delete_rels"):
            real = getattr(EmbeddedStore, hook)
            monkeypatch.setattr(EmbeddedStore, hook, lambda self, name, *a, real=real, hook=hook:
                                (events.append(f"{hook} {name}"), real(self, name, *a))[1])
        counts = store.load(tmp_path / "v2", batch_rows=50)
        assert counts["Patent"]["changed"] == 1 and counts["APPLIED"]["changed"] >= 1
        assert counts["Patent"]["new"] > 50 and counts["APPLIED"]["new"] > 50  # several batch files each
        assert events[0] == "release" and events.count("release") == 1
        written = {ev.split()[1] for ev in events[1:]}
        assert {"Patent", "APPLIED", "CITES"} <= written
        assert not list(store.store_dir.glob("citynet-rows-*"))
        store.refresh_projections(flt)
        _assert_projections_equal_a_full_rebuild(store, flt)
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


def test_a_load_into_a_store_with_rows_copies_each_table_once_in_the_order_of_its_files(tmp_path, monkeypatch):
    """Into a store that has rows, each diffed table's new rows (several batch files) and changed
    relationships are written with one ``COPY`` (every ``COPY`` into a table with rows costs a part
    that grows with the table: docs/scale.md, "Sixth round (session 14)"), and stored in the order one
    ``COPY`` per file gave: the first batch, the changed relationships, the other batches. A changed
    patent is updated in place; the store equals a fresh load."""
    import pyarrow.parquet as pq
    from citynet.graph.embedded import EmbeddedStore
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    tables = _corpus()
    ws = Workspace.open(tmp_path / "inc", create=True)
    with open_store(ws) as store:
        write_tables(_without(tables, 2014), tmp_path / "v1", patents_by_year=True)
        store.load(tmp_path / "v1", batch_rows=50)
        edited = {k: v.copy() for k, v in tables.items()}
        p = edited["patents"]
        p.loc[p.index[p["app_year"] == 2011][0], "title"] = "an edited title"
        _move_one_link(edited, (2011, 2012))
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        copies: list[str] = []
        expected: dict[str, list[tuple]] = {}
        real_run, real_diffed = store._run, EmbeddedStore._write_diffed

        def run(stmt, params=None, **kw):
            if stmt.lstrip().startswith("COPY "):
                copies.append(stmt.split()[1])
            return real_run(stmt, params, **kw)

        def diffed(self, name, files, changed, *a):
            keys = [pq.read_table(f).column_names[:2] for f, _ in files[:1]]
            read = [pq.read_table(f) for f, _ in files]
            if changed is not None and ENTITY[name].rel:
                read.insert(1, pq.read_table(changed))
            if keys:
                expected[name] = [k for t in read for k in zip(*(t.column(c).to_pylist() for c in keys[0]), strict=True)]
            return real_diffed(self, name, files, changed, *a)

        monkeypatch.setattr(store, "_run", run)
        monkeypatch.setattr(EmbeddedStore, "_write_diffed", diffed)
        counts = store.load(tmp_path / "v2", batch_rows=50)
        assert counts["Patent"]["changed"] == 1 and counts["APPLIED"]["changed"] == 2
        for name in ("Patent", "APPLIED", "CITES"):
            assert counts[name]["new"] > 100, name  # three batch files or more
            assert copies.count(name) == 1, (name, copies)
        for name, stmt in STORED_IN_ORDER.items():
            got = [tuple(r) for r in real_run(stmt).itertuples(index=False)]
            want = expected[name]
            if name == "Patent":  # (the files hold app_date as dates, the store's rows as timestamps)
                got, want = [g[0] for g in got], [w[0] for w in want]
            assert [g for g in got if g in set(want)] == want, name
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


@pytest.mark.parametrize("lookups", [True, False])
def test_scattered_changes_in_many_years_are_matched_by_row_hash_and_equal_a_fresh_load(tmp_path, monkeypatch, lookups):
    """Links moved to another city in every year, a new link of an old patent, an edited patent title
    and a new citation (a few buckets of each year re-read, as after an append's applicant re-vote): the
    embedded store fetches the row hashes of every stored row, then looks up the keys of the prepared
    rows whose hash it does not hold (``lookups``) or, when they are too many for that, those rows'
    years' keys and hashes; either way the counts are those of the edits and the store equals a fresh
    load of the edited tables."""
    from citynet.graph import store as store_mod


    tables = _corpus()
    with _loaded(tmp_path, tables) as store:
        edited = {k: v.copy() for k, v in tables.items()}
        p, links, cit = edited["patents"], edited["patent_applicants"], edited["citations"]
        years = sorted(int(y) for y in p["app_year"].dropna().unique())
        _move_one_link(edited, years)  # one link of every year moved to another city
        # a new link of a 2012 patent (a new key in an old partition)
        p12 = p.loc[p["app_year"] == 2012, "patent_id"].iloc[3]
        applicant = next(a for a in edited["applicants"]["applicant_id"]
                         if not ((links["patent_id"] == p12) & (links["applicant_id"] == a)).any())
        row = links[links["patent_id"] == p12].iloc[[0]].assign(applicant_id=applicant, seq=9)
        edited["patent_applicants"] = links = pd.concat([links, row], ignore_index=True)
        # an edited 2011 title and a new citation made by a 2013 patent
        p.loc[p.index[p["app_year"] == 2011][1], "title"] = "an edited title"
        p13 = p.loc[p["app_year"] == 2013, "patent_id"].iloc[5]
        p10 = next(q for q in p.loc[p["app_year"] == 2010, "patent_id"]
                   if not ((cit["citing_patent_id"] == p13) & (cit["cited_patent_id"] == q)).any())
        edited["citations"] = pd.concat([cit, cit[cit["citing_patent_id"].notna()].iloc[[0]].assign(
            citing_patent_id=p13, cited_patent_id=p10)], ignore_index=True)
        # a new 2012 patent with a link and a citation: found new by the Patent diff, so its link and
        # citation are new without a look-up
        fresh_id = "CN209912345678.9"
        cit = edited["citations"]
        edited["patents"] = p = pd.concat([p, p[p["patent_id"] == p12].assign(patent_id=fresh_id)], ignore_index=True)
        edited["patent_applicants"] = pd.concat([links, links[links["patent_id"] == p12].iloc[[0]].assign(
            patent_id=fresh_id)], ignore_index=True)
        edited["citations"] = pd.concat([cit, cit[cit["citing_patent_id"] == p13].iloc[[-1]].assign(
            citing_patent_id=fresh_id)], ignore_index=True)
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        # (a 900-patent corpus: a look-up is allowed per recorded row, or never)
        monkeypatch.setattr(store_mod, "KEY_LOOKUP_ROWS", 1 if lookups else 10**9)
        calls = _record_blocks(store, monkeypatch)
        counts = store.load(tmp_path / "v2")
        ran = [name for name, _ in calls]
        assert counts["APPLIED"]["years"] == [str(y) for y in years]
        assert (counts["APPLIED"]["new"], counts["APPLIED"]["changed"]) == (2, len(years))
        assert (counts["Patent"]["new"], counts["Patent"]["changed"]) == (1, 2)  # the title; the citing patent's refs_made
        assert (counts["CITES"]["new"], counts["CITES"]["changed"]) == (2, 0)
        for name in ("Patent", "APPLIED", "CITES"):
            assert f"fetch_hashes_{name}" in ran, name
            assert (f"fetch_years_{name}" in ran) == (not lookups), name
        # one look-up per new or changed row, but none for the new patent's link and citation
        looked = {name: ran.count(f"fetch_key_{name}") for name in ("Patent", "APPLIED", "CITES")}
        assert looked == ({"Patent": 3, "APPLIED": len(years) + 1, "CITES": 1} if lookups else
                          {"Patent": 0, "APPLIED": 0, "CITES": 0})
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


def test_a_load_reads_each_partitions_record_once(tmp_path, monkeypatch):
    """A load that diffs every partitioned table (a year added, a link of every year moved) reads each
    table's partitions record (meta ``partitions:<table>``, about 0.7 MB each at 10M patents) once, not
    once for the year selection, once for the diff and once for the new record; the store still equals a
    fresh load, and the new record's rows add up to the table's."""
    import collections

    from citynet.graph import store as store_mod
    from citynet.graph.load_years import YEAR_ENTITIES

    tables = _corpus()
    with _loaded(tmp_path, _without(tables, 2014)) as store:
        edited = {k: v.copy() for k, v in tables.items()}
        _move_one_link(edited, sorted(int(y) for y in edited["patents"]["app_year"].dropna().unique()))
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        reads: collections.Counter = collections.Counter()
        real = store._get_meta
        monkeypatch.setattr(store, "_get_meta", lambda key: reads.update([key]) or real(key))
        counts = store.load(tmp_path / "v2")
        for name in YEAR_ENTITIES:
            assert counts[name]["partitions"] > 0, name  # diffed by partition
            assert reads[f"{store_mod.PARTS_META}{name}"] == 1, name
            rec = json.loads(real(f"{store_mod.PARTS_META}{name}"))
            assert sum(rec["year_rows"].values()) == counts[name]["rows"], name
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


def test_links_and_citations_of_new_patents_are_not_fetched(tmp_path, monkeypatch):
    """A load that adds a year: its patents are new (the Patent diff finds none of them stored), so the
    stored links and citations of that year are not asked for (a relationship needs its nodes), and the
    store equals a fresh load."""


    tables = _corpus()
    with _loaded(tmp_path, _without(tables, 2014)) as store:
        write_tables(tables, tmp_path / "v2", patents_by_year=True)
        calls = _record_blocks(store, monkeypatch)
        counts = store.load(tmp_path / "v2")
        asked = [(name, params.get("years")) for name, params in calls]
        assert counts["APPLIED"]["years"] == counts["CITES"]["years"] == ["2014"]
        assert counts["APPLIED"]["new"] > 0 and counts["CITES"]["new"] > 0
        assert asked == [("fetch_years_Patent", [2014])]
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


@pytest.mark.parametrize("lookups", [True, False])
def test_a_patent_moved_out_of_a_partition_it_was_alone_in_keeps_its_links_once(tmp_path, monkeypatch, lookups):
    """A patent moved to another year that was the only patent of its old partition (year and bucket):
    the old partition has no prepared row any more, but the store holds the patent's links and citations
    under the old year until this load writes it. Whether the diff looks up the unmatched rows' keys or
    fetches their years (``lookups``), it finds them stored, so the load neither copies them a second
    time nor fails on the patent's key, and the store equals a fresh load of the edited tables."""
    import duckdb
    from citynet.graph import store as store_mod
    from citynet.graph.load_years import BUCKETS


    tables = _corpus()
    p = tables["patents"]
    linked = set(tables["patent_applicants"]["patent_id"]) & set(tables["citations"]["citing_patent_id"])
    ids = p[["patent_id", "app_year"]].astype({"app_year": "Int64"})
    # (which patent is alone in its partition: the partition rule of graph.load_years, year and bucket)
    con = duckdb.connect()
    con.register("ids", ids)
    alone = con.sql(f"SELECT patent_id FROM ids QUALIFY count(*) OVER (PARTITION BY app_year, "
                       f"hash(patent_id) % {BUCKETS}) = 1 AND app_year = 2011 ORDER BY 1").df()["patent_id"]
    moved = next(x for x in alone if x in linked)
    with _loaded(tmp_path, tables) as store:
        edited = {k: v.copy() for k, v in tables.items()}
        i = edited["patents"].index[edited["patents"]["patent_id"] == moved][0]
        edited["patents"].loc[i, "app_year"] = 2013
        edited["patents"].loc[i, "app_date"] = pd.Timestamp("2013-05-02").date()
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        monkeypatch.setattr(store_mod, "KEY_LOOKUP_ROWS", 1 if lookups else 10**9)
        counts = store.load(tmp_path / "v2")
        assert (counts["Patent"]["new"], counts["Patent"]["changed"]) == (0, 1)
        assert counts["APPLIED"]["new"] == counts["CITES"]["new"] == 0
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


@pytest.mark.parametrize("backend,lookups,dropped", [("embedded", True, True), ("embedded", True, False),
                                                     ("embedded", False, True),
                                                     pytest.param("neo4j", False, True, marks=pytest.mark.neo4j)])
def test_links_and_citations_the_canonical_tables_no_longer_have_are_deleted(tmp_path, request, monkeypatch,
                                                                          backend, lookups, dropped):
    """After an append, the names' harmonisation can merge an applicant into another (its links now
    name the other id) and the duplicate rule can replace a record (a link or a citation is gone). The
    next load deletes the stored links and citations of canonical patents that the canonical tables no
    longer have, and then the merged applicant's node and location (its links were this corpus's, none is
    left), so that the store equals a fresh load, and the projections of the years they touched are rebuilt. When the
    merged applicant's links are all that is gone (not ``dropped``), they are found from its key,
    without fetching the changed years' links again."""
    from citynet.graph import store as store_mod
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    tables = _corpus()
    ws = Workspace.open(tmp_path / "inc", create=True)
    ws.settings["store"]["backend"] = backend
    if backend == "neo4j":
        server = request.getfixturevalue("neo4j_clean")
        ws.settings["store"].update(uri=server.uri, user=server.user, password=server.password)
    with open_store(ws) as store:
        write_tables(tables, tmp_path / "v1", patents_by_year=True)
        store.load(tmp_path / "v1")
        flt = NetworkFilter()
        store.build_projections(flt)
        edited = {k: v.copy() for k, v in tables.items()}
        links, cit = edited["patent_applicants"], edited["citations"]
        per_applicant = links.groupby("applicant_id")["patent_id"].agg(set)
        # an applicant of several patents merged into another applicant of none of them
        merged = next(a for a, pats in per_applicant.items() if len(pats) >= 3)
        into = next(a for a, pats in per_applicant.items() if a != merged and not pats & per_applicant[merged])
        links.loc[links["applicant_id"] == merged, "applicant_id"] = into
        edited["applicants"] = edited["applicants"][edited["applicants"]["applicant_id"] != merged]
        for col in ("from_applicant_id", "to_applicant_id"):  # (the ingest gives the transfers the new ids)
            edited["transfers"].loc[edited["transfers"][col] == merged, col] = into
        # a link and a citation dropped (a replaced record), their patents kept
        counted = links["patent_id"].value_counts()
        drop = links.index[links["patent_id"].isin(counted[counted >= 2].index) & (links["applicant_id"] != into)][0]
        single = ~cit.duplicated(["citing_patent_id", "cited_patent_id"], keep=False)
        inner = cit.index[cit["cited_patent_id"].isin(set(edited["patents"]["patent_id"])) & single][0]
        if dropped:
            edited["patent_applicants"] = links.drop(index=drop)
            edited["citations"] = cit.drop(index=inner)
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        monkeypatch.setattr(store_mod, "KEY_LOOKUP_ROWS", 1 if lookups else 10**9)
        calls = _record_blocks(store, monkeypatch) if backend == "embedded" else []
        counts = store.load(tmp_path / "v2")
        ran = [name for name, _ in calls]
        assert counts["APPLIED"].get("deleted") == len(per_applicant[merged]) + dropped
        assert counts["APPLIED"]["new"] == len(per_applicant[merged])
        assert counts["CITES"].get("deleted") == (1 if dropped else None)
        if backend == "embedded" and lookups:  # the changed years' links fetched again only for the dropped one
            assert ran.count("applicant_links") == 1 and ("fetch_years_APPLIED" in ran) == dropped
        fresh = tmp_path / "fresh"
        with open_store(Workspace.open(fresh, create=True)) as other:
            other.load(tmp_path / "v2")
            want = _store_rows(other)
        got = _store_rows(store)
        for name in ("Patent", "Applicant", "APPLIED", "CITES", "LOCATED_IN", "TRANSFERRED"):
            pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False, obj=name)
        if backend == "embedded":
            store.refresh_projections(flt)
            _assert_projections_equal_a_full_rebuild(store, flt)


def test_a_store_whose_loads_recorded_no_year_digests_is_diffed_by_year_and_equals_a_fresh_load(tmp_path, monkeypatch):
    """A store whose last load recorded no per-year digests (a store loaded by an older citynet) is diffed
    year by year over every year it holds (``_Stored.not_new``'s year units, no partitions): the patents
    of a year the store held one patent of (without links) and a link moved in an old year give the
    counts of those edits, the relationships of that year are not asked for (they are all of new
    patents), and the store equals a fresh load."""
    from citynet.graph import store as store_mod


    tables = _corpus()
    # one patent of 2014 without links or citations is in the store before its year's other patents
    # come: the store holds 2014, whose prepared links and citations are then all of new patents
    p = tables["patents"]
    lone = p.loc[p["app_year"] == 2014, "patent_id"].iloc[0]
    tables["patent_applicants"] = tables["patent_applicants"][tables["patent_applicants"]["patent_id"] != lone]
    ci = tables["citations"]
    tables["citations"] = ci[(ci["citing_patent_id"] != lone) & (ci["cited_patent_id"] != lone)]
    v1 = _without(tables, 2014)
    v1["patents"] = pd.concat([v1["patents"], p[p["patent_id"] == lone]])
    with _loaded(tmp_path, v1) as store:
        for name in ("Patent", "APPLIED", "CITES"):  # as an older load recorded them: no years' digests
            rec = json.loads(store._get_meta(f"{store_mod.PARTS_META}{name}"))
            rec.pop("years")
            store._set_meta(f"{store_mod.PARTS_META}{name}", json.dumps(rec))
        edited = {k: v.copy() for k, v in tables.items()}
        _move_one_link(edited, (2011,))
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        monkeypatch.setattr(store_mod, "HASH_SHARE", 0)  # the years' keys and hashes
        calls = _record_blocks(store, monkeypatch)
        counts = store.load(tmp_path / "v2")
        new_links = edited["patent_applicants"]["patent_id"].isin(
            edited["patents"].loc[edited["patents"]["app_year"] == 2014, "patent_id"])
        assert "years" not in counts["APPLIED"]  # every row prepared: no partitions
        assert counts["APPLIED"]["changed"] == 1 and counts["APPLIED"]["new"] == new_links.sum()
        asked = {name: params["years"] for name, params in calls if name.startswith("fetch_years_")}
        assert asked["fetch_years_APPLIED"] == [2010, 2011, 2012, 2013]
        assert asked["fetch_years_CITES"] == [2010, 2011, 2012, 2013]
        assert asked["fetch_years_Patent"] == [2010, 2011, 2012, 2013, 2014]
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")


def test_the_links_of_several_merged_applicants_are_checked_in_one_statement(tmp_path, monkeypatch):
    """Three applicants merged into others: their stored links are looked up one applicant at a time
    but handed to the gone-rows check as one table (each statement of that check builds a hash table
    over every prepared row: at 10M patents, 98 tables cost 21 s of CPU; docs/scale.md, "Sixth round
    (session 14)"); the links are deleted and the store equals a fresh load but for the merged nodes."""
    from citynet.graph.store import BaseStore, open_store

    from citynet.workspace import Workspace

    tables = _corpus()
    with _loaded(tmp_path, tables) as store:
        edited = {k: v.copy() for k, v in tables.items()}
        links = edited["patent_applicants"]
        per_applicant = links.groupby("applicant_id")["patent_id"].agg(set)
        merged = [a for a, pats in per_applicant.items() if len(pats) >= 2][:3]
        gone = 0
        for m in merged:
            into = next(a for a, pats in per_applicant.items() if a not in merged and not pats & per_applicant[m])
            gone += int((links["applicant_id"] == m).sum())
            links.loc[links["applicant_id"] == m, "applicant_id"] = into
            for col in ("from_applicant_id", "to_applicant_id"):
                edited["transfers"].loc[edited["transfers"][col] == m, col] = into
        edited["applicants"] = edited["applicants"][~edited["applicants"]["applicant_id"].isin(merged)]
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        handed: list[int] = []
        real = BaseStore._absent_applicant_links
        monkeypatch.setattr(BaseStore, "_absent_applicant_links",
                            lambda self, con: (got := list(real(self, con)), handed.append(len(got)))[0])
        counts = store.load(tmp_path / "v2")
        assert counts["APPLIED"].get("deleted") == gone
        assert handed == [1]
        got = _store_rows(store)
        with open_store(Workspace.open(tmp_path / "fresh", create=True)) as other:
            other.load(tmp_path / "v2")
            want = _store_rows(other)
        for name in ("Patent", "APPLIED", "CITES", "TRANSFERRED"):
            pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False, obj=name)


@pytest.mark.parametrize("recorded", [None, 64])
def test_a_store_whose_partitions_had_another_bucket_count_is_read_whole_once(tmp_path, monkeypatch, recorded):
    """A store last loaded while a year had 64 buckets (before session 15: its meta records no bucket
    count, ``recorded`` None, or another one): its partitions' names mean other rows ("2012/5" was
    ``hash % 64 = 5``), so their digests and recorded rows cannot be compared with this load's. The next
    load reads every row once (its counts name no partition), finds the one moved link changed and
    nothing else, records the bucket count and equals a fresh load; the load after it again re-reads only
    the partition of a moved link."""
    from citynet.graph import load_years as ly
    from citynet.graph import store as store_mod

    tables = _corpus()
    buckets = ly.BUCKETS
    monkeypatch.setattr(ly, "BUCKETS", 64)
    with _loaded(tmp_path, tables) as store:
        for name in ly.YEAR_ENTITIES:
            rec = json.loads(store._get_meta(f"loaded:{name}"))
            parts = json.loads(store._get_meta(f"{store_mod.PARTS_META}{name}"))
            assert len(parts["years"]) > 5 and all(int(p.split("/")[1]) < 64 for p in parts["years"] if p != "none")
            rec.pop(ly.BUCKETS_META)
            if recorded is None:  # as written before session 15: the partitions inside the load's record
                rec.update(parts)
                store._set_meta(f"{store_mod.PARTS_META}{name}", "")
            else:
                rec[ly.BUCKETS_META] = recorded
            store._set_meta(f"loaded:{name}", json.dumps(rec))
        monkeypatch.setattr(ly, "BUCKETS", buckets)
        edited = {k: v.copy() for k, v in tables.items()}
        _move_one_link(edited, [2012])
        write_tables(edited, tmp_path / "v2", patents_by_year=True)
        stages = []
        counts = store.load(tmp_path / "v2", progress=lambda stage, *_: stages.append(stage))
        assert "preparing every row, once (year partitions recorded by an older citynet)" in stages  # says why
        for name in ly.YEAR_ENTITIES:
            assert "partitions" not in counts[name], name  # every row read
            assert json.loads(store._get_meta(f"loaded:{name}"))[ly.BUCKETS_META] == buckets
            # (the partitions apart: the record every load reads, a no-op reload included, stays small)
            assert len(store._get_meta(f"loaded:{name}")) < 300
            assert len(json.loads(store._get_meta(f"{store_mod.PARTS_META}{name}"))["years"]) > 64
        assert (counts["APPLIED"]["new"], counts["APPLIED"]["changed"]) == (0, 1)
        assert counts["Patent"]["new"] == counts["Patent"]["changed"] == counts["CITES"]["new"] == 0
        _assert_equals_fresh_load(store, tmp_path / "v2", tmp_path / "fresh")

        _move_one_link(edited, [2013])
        write_tables(edited, tmp_path / "v3", patents_by_year=True)
        stages = []
        counts = store.load(tmp_path / "v3", progress=lambda stage, *_: stages.append(stage))
        assert not any("older citynet" in s for s in stages)
        assert counts["APPLIED"]["years"] == ["2013"] and counts["APPLIED"]["partitions"] == 1
        assert counts["APPLIED"]["changed"] == 1
        _assert_equals_fresh_load(store, tmp_path / "v3", tmp_path / "fresh3")


def test_partition_digest_text_is_the_json_of_its_sums():
    """``year_digests`` builds each partition's text from a fixed head and its sums (``_json_sum``): the
    same text as ``json.dumps`` of the list, so that digests recorded by earlier loads still compare."""
    from citynet.graph.load_years import _json_sum

    for head in ([3, "1.4.1", "APPLIED", None], ["v2", "1.2.0", "Patent", "ab12"]):
        for sums in ([None, "12:345"], ["1:2"], [None], ["7:123456789012345678901234567890", None]):
            built = json.dumps(head)[:-1] + ", [" + ", ".join(_json_sum(v) for v in sums) + "]]"
            assert built == json.dumps([*head, sums])
