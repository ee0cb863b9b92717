"""Scale work of issue 12: the embedded query path without the Neo4j driver, the O(1) skip of
unchanged canonical tables on reload, year-scoped metrics, ``ingest --append`` and the canonical
tables' identity with the frozen fixture of a synth corpus."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.canonical_synth import synth_tables, write_tables
from tests.cli import exit_code


def _ws(tmp_path):
    write_tables(synth_tables(300, seed=5, years=(2010, 2012), n_cities=12), tmp_path / "canonical")
    (tmp_path / "citynet.toml").write_text('[network]\ngreen = "all"\nkind = "all"\n', encoding="utf-8")
    return tmp_path


def _imported_by(args: list[str], prefix: str) -> tuple[bool, str]:
    """Whether ``citynet ARGS``, run in a fresh interpreter, imported a module ``prefix`` or
    ``prefix.*``; and the command's output."""
    code = (
        "import sys\n"
        "from citynet.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print('IMPORTED' if any(m == {prefix!r} or m.startswith({prefix + '.'!r}) for m in sys.modules) else 'CLEAN')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout.strip().endswith("IMPORTED"), run.stdout + run.stderr


def test_embedded_query_does_not_import_neo4j(tmp_path):
    ws = _ws(tmp_path)
    assert exit_code("-q", "load", "-w", str(ws)) == 0
    imported, out = _imported_by(["query", "-w", str(ws), "MATCH (c:City) RETURN c.city_code AS c, c.lon AS lon LIMIT 3",
                                  "--format", "json"], "neo4j")
    assert not imported, out


def test_a_reload_that_changes_nothing_does_not_import_pandas(tmp_path):
    """Issue 12: "a reload that changes nothing: at most 1 s". Importing pandas was about 0.3 s of the
    0.6 s of CPU such a reload took at 1M patents; its meta reads and writes need no DataFrame."""
    ws = _ws(tmp_path)
    assert exit_code("-q", "load", "-w", str(ws)) == 0
    imported, out = _imported_by(["load", "-w", str(ws)], "pandas")
    assert "unchanged" in out and not imported, out


def test_manifest_digest_trusted_only_while_file_unchanged(tmp_path):
    import os

    from citynet.etl import manifest

    f = tmp_path / "patents.parquet"
    f.write_bytes(b"one")
    d1 = manifest.record(f)
    assert manifest.digests(tmp_path, ["patents", "citations"]) == {"patents": d1, "citations": None}
    f.write_bytes(b"two")  # rewritten by another tool: the stale entry is not trusted
    os.utime(f, ns=(1, 1))
    assert manifest.digest(f) == manifest.file_digest(f) != d1


def test_reload_skips_unchanged_tables_and_rebuilds_projections_only_on_change(tmp_path):
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    ws_dir = _ws(tmp_path)
    ws = Workspace.open(ws_dir)
    flt = NetworkFilter(green="all", kind="all")
    with open_store(ws) as store:
        first = store.load(ws.canonical)
        assert not any(c.get("skipped") for c in first.values())
        store.build_projections(flt)
        assert store.projections_current(flt)
        again = store.load(ws.canonical)
        assert all(c["skipped"] and c["new"] == c["changed"] == 0 for c in again.values())
        assert {k: c["rows"] for k, c in again.items()} == {k: c["rows"] for k, c in first.items()}
        assert store.projections_current(flt)
        # a second corpus with more patents: tables that depend on changed inputs are reloaded
        bigger = synth_tables(400, seed=5, years=(2010, 2012), n_cities=12)
        write_tables(bigger, ws.canonical)
        third = store.load(ws.canonical)
        assert third["City"]["skipped"] and not third["Patent"].get("skipped")
        assert third["Patent"]["new"] > 0
        # the projections built on the old data are stale: city_edges rebuilds them
        assert not store.projections_current(flt)
        before = store._read_edges(flt, None)
        store.city_edges(flt)
        assert store.projections_current(flt)
        # rebuilt on the new data: building again from scratch writes nothing
        assert not store._read_edges(flt, None).equals(before)
        again = store.build_projections(flt)
        assert all(c["new"] == c["changed"] == c["deleted"] == 0 for c in again.values())


FIXTURE = __import__("pathlib").Path(__file__).parent / "fixtures" / "ingest_identity"


def _ungzip(src, dst):
    import gzip
    import shutil

    with gzip.open(src, "rb") as f, open(dst, "wb") as g:
        shutil.copyfileobj(f, g)
    return dst


def _digest_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ingest_identity_digest", FIXTURE / "digest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ingest_identical_to_the_main_branch_fixture(tmp_path):
    """The canonical tables, the quarantine rows (file, row, field, reason, raw fields) and the row
    accounting of a frozen export are exactly those the main branch's ingest wrote (expected.json,
    made by digest.py from main's output; see its docstring)."""
    import json

    raw = tmp_path / "raw"
    raw.mkdir()
    pat = _ungzip(FIXTURE / "patents.csv.gz", raw / "patents.csv")
    tr = _ungzip(FIXTURE / "transfers.csv.gz", raw / "transfers.csv")
    ws = tmp_path / "ws"
    assert exit_code("-q", "ingest", "-w", str(ws), str(pat), "--transfers", str(tr)) == 0
    got = json.loads(json.dumps(_digest_module().workspace_digest(ws)))  # tuples as JSON lists
    want = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    assert got["report"] == want["report"]
    assert got["quarantine"] == want["quarantine"]
    for name, table in want["tables"].items():
        assert got["tables"][name] == table, name


def test_adding_a_year_marks_only_changed_years_stale(tmp_path):
    """Load every year but the last, build all projections, load the full corpus: only the years the
    new rows touch are stale, rebuilding them gives exactly a full rebuild's edges, and the
    city-year counts of the new year match the pandas reference."""
    import pandas as pd
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.reference import reference_city_edges, reference_city_year_counts
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    tables = synth_tables(600, seed=9, years=(2010, 2014), n_cities=12)
    early_ids = set(tables["patents"].loc[tables["patents"]["app_year"] <= 2013, "patent_id"])
    # as in a real corpus, a patent of 2010-2013 does not cite one filed in 2014
    ci = tables["citations"]
    tables["citations"] = ci[~(ci["citing_patent_id"].isin(early_ids) & ci["cited_patent_id"].notna()
                               & ~ci["cited_patent_id"].isin(early_ids))]
    early = dict(tables)
    early["patents"] = tables["patents"][tables["patents"]["patent_id"].isin(early_ids)]
    for name, col in (("patent_applicants", "patent_id"), ("transfers", "patent_id"), ("citations", "citing_patent_id")):
        early[name] = tables[name][tables[name][col].isin(early_ids)]
    ws = Workspace.open(tmp_path, create=True)
    flt = NetworkFilter(green="all", kind="all")
    with open_store(ws) as store:
        write_tables(early, tmp_path / "early")
        store.load(tmp_path / "early")
        assert store.missing_years(flt) is None  # never built
        store.refresh_projections(flt)
        assert store.projections_current(flt)
        write_tables(tables, tmp_path / "full")
        counts = store.load(tmp_path / "full")
        assert counts["Patent"]["new"] == len(tables["patents"]) - len(early_ids) and counts["Patent"]["changed"] == 0
        # the new patents' year and the years of their transfers (transfer year), nothing else
        tr = tables["transfers"]
        want = {2014} | {int(y) for y in tr.loc[~tr["patent_id"].isin(early_ids), "year"].dropna()}
        stale = store.missing_years(flt)
        assert stale == sorted(want) and 2010 not in stale, stale
        assert store.missing_years(flt, [2010]) == ([2010] if 2010 in stale else [])
        store.refresh_projections(flt)
        assert store.projections_current(flt)
        again = store.build_projections(flt)  # a full rebuild finds nothing to change
        assert all(c["new"] == c["changed"] == c["deleted"] == 0 for c in again.values()), again
        pd.testing.assert_frame_equal(store.city_edges(flt, [2014]), reference_city_edges(tables, flt, [2014]))
        pd.testing.assert_frame_equal(store.city_year_counts(flt, [2014]), reference_city_year_counts(tables, flt, [2014]))


@pytest.mark.parametrize("backend", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_a_changed_transfer_marks_its_old_and_new_year(tmp_path, request, backend):
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    tables = synth_tables(300, seed=4, years=(2010, 2013), n_cities=12)
    ws = Workspace.open(tmp_path, create=True)
    ws.settings["store"]["backend"] = backend
    if backend == "neo4j":
        server = request.getfixturevalue("neo4j_clean")
        ws.settings["store"].update(uri=server.uri, user=server.user, password=server.password)
    flt = NetworkFilter(green="all", kind="all")
    tr = tables["transfers"]
    tid = tr["transfer_id"].iloc[0]
    old_year = int(tr["year"].iloc[0])
    new_year = old_year + 7
    with open_store(ws) as store:
        write_tables(tables, tmp_path / "v1")
        store.load(tmp_path / "v1")
        store.refresh_projections(flt)
        tables["transfers"] = tr.assign(year=tr["year"].where(tr["transfer_id"] != tid, new_year))
        write_tables(tables, tmp_path / "v2")
        counts = store.load(tmp_path / "v2")
        assert counts["TRANSFERRED"]["changed"] == 1 and counts["Patent"].get("skipped")
        assert store.missing_years(flt) == sorted({old_year, new_year})
        store.refresh_projections(flt)
        again = store.build_projections(flt)
        assert all(c["new"] == c["changed"] == c["deleted"] == 0 for c in again.values()), again


def test_progress_reports_rows_and_rates(tmp_path):
    """Ingest announces its first step before reading and ends each step with rows and rows/s; load
    reports the canonical rows (from the Parquet footers) before reading and every written table."""
    from citynet.etl.pipeline import ingest
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    raw = tmp_path / "raw"
    raw.mkdir()
    pat = _ungzip(FIXTURE / "patents.csv.gz", raw / "patents.csv")
    ws = Workspace.open(tmp_path / "ws", create=True)
    msgs: list[str] = []
    ingest(ws, [pat], progress=msgs.append)
    assert msgs[0] == "reading patents.csv…"
    done = [m for m in msgs if m.startswith("✓")]
    assert any(m.startswith("✓ reading patents.csv: 1,537 rows in ") for m in done), done
    assert all(m.endswith(" rows/s)") for m in done if "rows in" in m)
    for name in ("patents: de-duplication", "applicants: locating (address, corpus vote, name)",
                 "citations: resolving references", "writing canonical tables"):
        assert any(m.startswith(f"✓ {name}: ") and m.endswith(" rows/s)") for m in done), name
    stages: list[tuple[str, int, int]] = []
    with open_store(ws) as store:
        counts = store.load(ws.canonical, progress=lambda s, d, t: stages.append((s, d, t)))
    import pyarrow.parquet as pq

    rows = sum(pq.read_metadata(ws.canonical / f"{n}.parquet").num_rows for n in
               ("cities", "applicants", "patents", "patent_applicants", "transfers", "citations"))
    assert stages[0] == ("reading canonical tables", 0, rows)
    for name, c in counts.items():
        if c["new"]:
            assert (name, c["new"], c["new"]) in stages, name
