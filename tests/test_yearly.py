"""A yearly refresh through the real embedded store: load a corpus without year Y (or with year Y
missing), compute every panel, load the whole corpus, ``citynet metrics --years Y`` — the three
panels must equal, to the last digit, those of a separate workspace that loaded the whole corpus
once and ran ``citynet metrics`` over every year (the expected values are a full recomputation, not
the incremental path). Also: the panel files keep one row group per year, and metrics reports
rows and rows/s per step."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from citynet.metrics.pipeline import PANELS, read_panel

from bench.canonical_synth import synth_tables, write_tables
from citynet.cli import main

CONFIG = '[network]\ngreen = "all"\nkind = "all"\n'


def _run(*args) -> int:
    try:
        main(list(args))
        return 0
    except SystemExit as exc:
        return exc.code or 0


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
    assert _run("-q", "load", "-w", str(full)) == 0
    assert _run("-q", "metrics", "-w", str(full)) == 0
    return full


def test_refresh_of_a_new_year_through_the_store_equals_a_full_run(tmp_path):
    tables = _corpus()
    # transfers of the new year's patents recorded in another year would change that year too: here
    # each transfer is dated in its patent's year or later, and the refresh names the new year only
    pid_year = tables["patents"].set_index("patent_id")["app_year"]
    tr = tables["transfers"]
    tables["transfers"] = tr[~((tr["patent_id"].map(pid_year) == 2014) & (tr["year"] != 2014))]
    full = _full(tmp_path, tables)

    inc = _workspace(tmp_path / "inc", _without(tables, 2014))
    assert _run("-q", "load", "-w", str(inc)) == 0
    assert _run("-q", "metrics", "-w", str(inc)) == 0
    write_tables(tables, inc / "canonical")
    assert _run("-q", "load", "-w", str(inc)) == 0
    assert _run("-q", "metrics", "-w", str(inc), "--years", "2014") == 0
    _assert_same_panels(full, inc)
    # and the per-filter copy equals the default filter's files byte for byte
    (folder,) = [p.parent for p in (inc / "metrics").glob("*/city_year.parquet")]
    for name in PANELS:
        assert (inc / "metrics" / f"{name}.parquet").read_bytes() == (folder / f"{name}.parquet").read_bytes()


def test_refresh_of_a_middle_year_through_the_store_equals_a_full_run(tmp_path):
    tables = _corpus()
    pid_year = tables["patents"].set_index("patent_id")["app_year"]
    tr = tables["transfers"]
    tables["transfers"] = tr[~((tr["patent_id"].map(pid_year) == 2012) & (tr["year"] != 2012))]
    ci = tables["citations"]  # later patents citing 2012's would change the later years' counts too
    tables["citations"] = ci[~((ci["cited_patent_id"].map(pid_year) == 2012)
                               & (ci["citing_patent_id"].map(pid_year) != 2012)).astype(bool)]
    full = _full(tmp_path, tables)

    inc = _workspace(tmp_path / "inc", _without(tables, 2012))
    assert _run("-q", "load", "-w", str(inc)) == 0
    assert _run("-q", "metrics", "-w", str(inc)) == 0
    old = read_panel(inc / "metrics" / "city_year.parquet")
    write_tables(tables, inc / "canonical")
    assert _run("-q", "load", "-w", str(inc)) == 0
    assert _run("-q", "metrics", "-w", str(inc), "--years", "2012") == 0
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
