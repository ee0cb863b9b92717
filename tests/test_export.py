"""citynet export: the Stata 118 round trip keeps values and labels; CSV and Parquet; covariates join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.etl.cities import city_set
from citynet.graph.network_filter import NetworkFilter
from citynet.metrics.export import export_panel, to_stata_frame
from citynet.metrics.labels import LABELS, STATA_NAME_MAX, label, stata_name
from citynet.metrics.panels import CITY_YEAR_COLUMNS, DYAD_YEAR_COLUMNS, NETWORK_YEAR_COLUMNS
from citynet.metrics.pipeline import TableStore, read_panel, run_metrics
from click.testing import CliRunner

from citynet.cli import cli
from citynet.workspace import Workspace

BJ, TJ, SH, NJ = "110000", "120000", "310000", "320100"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = Workspace.open(tmp_path_factory.mktemp("export") / "ws", create=True)
    e = pd.DataFrame(
        [("collab", 2010, BJ, TJ, 2), ("collab", 2011, BJ, SH, 1), ("collab", 2011, TJ, SH, 3),
         ("transfer", 2011, SH, NJ, 4), ("citation", 2010, NJ, BJ, 1)],
        columns=["network", "year", "src", "dst", "weight"],
    )
    c = pd.DataFrame({"city_code": [BJ, SH, NJ], "year": [2011, 2011, 2010], "green_patents": [7, 3, 1]})
    run_metrics(w, NetworkFilter(green="y02"), store=TableStore(e, c))
    w.select_network("invention.y02.all")  # not the default filter: its panels are in metrics/<key>/
    w.canonical.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"city_code": [BJ, SH], "year": np.array([2011, 2010], dtype="int16"),
                  "gdp": [3.5, 2.5], "low_carbon": [1, 0],
                  "a_covariate_with_a_very_long_name_beyond_stata": [1.0, 2.0]}).to_parquet(w.table("covariates"))
    return w


def _read_dta(path):
    with pd.io.stata.StataReader(path) as r:
        labels, data_label = r.variable_labels(), r.data_label
    return pd.read_stata(path, convert_categoricals=False), labels, data_label


def test_every_column_has_a_label_and_a_stata_name():
    for col in (*CITY_YEAR_COLUMNS, *DYAD_YEAR_COLUMNS, *NETWORK_YEAR_COLUMNS):
        assert col in LABELS, col
        assert len(col) <= STATA_NAME_MAX and stata_name(col) == col
        assert len(label(col)) <= 80
    assert label("collab_degree") == "DC 合作网络度数中心度"
    assert label("collab_betweenness").startswith("BC ")


def test_stata_name_truncates_and_stays_unique():
    taken: set[str] = set()
    long = "x" * 40
    a, b = stata_name(long, taken), stata_name(long, taken)
    assert len(a) == len(b) == 32 and a != b
    assert stata_name("2nd-gdp (亿元)") == "_2nd_gdp__亿元_"


def test_dta_round_trip_city_year(ws, tmp_path):
    out = export_panel(ws, "city-year", "dta", tmp_path / "cy.dta")
    data, labels, data_label = _read_dta(out)
    panel = read_panel(ws.panel("city-year"))
    assert len(data) == len(panel) == 2 * len(city_set())
    assert "invention.y02.all" in data_label
    assert labels["collab_degree"] == "DC 合作网络度数中心度"
    assert labels["green_patents"].startswith("gpatent ")
    assert all(len(c) <= 32 for c in data.columns)
    long = [c for c in data.columns if c.startswith("a_covariate")][0]
    assert labels[long] == "a_covariate_with_a_very_long_name_beyond_stata"
    assert labels["gdp"] == "gdp 地区生产总值"  # covariates: the report's label table
    for col in CITY_YEAR_COLUMNS:
        ours = panel[col]
        theirs = data[col]
        if col == "city_code":
            assert (theirs.to_numpy() == ours.to_numpy()).all()
        else:
            np.testing.assert_allclose(theirs.to_numpy(dtype=float), ours.to_numpy(dtype=float, na_value=np.nan),
                                       rtol=0, atol=0, equal_nan=True)
    # churn of the first year and constraint of isolates are Stata missing
    assert data.loc[data["year"] == 2010, "partners_new"].isna().all()
    # covariates joined by city and year
    bj = data[(data["city_code"] == BJ) & (data["year"] == 2011)].iloc[0]
    assert bj["gdp"] == 3.5 and bj["low_carbon"] == 1 and bj["green_patents"] == 7
    assert data[(data["city_code"] == BJ) & (data["year"] == 2010)]["gdp"].isna().all()


def test_dta_round_trip_dyad_and_network(ws, tmp_path):
    out = export_panel(ws, "dyad-year", "dta", tmp_path / "dy.dta")
    data, labels, _ = _read_dta(out)
    panel = read_panel(ws.panel("dyad-year"))
    assert [c for c in data.columns if not c.endswith("_name")] == list(DYAD_YEAR_COLUMNS)
    cols = list(data.columns)
    assert cols[cols.index("city_a") + 1] == "city_a_name" and cols[cols.index("city_b") + 1] == "city_b_name"
    for col in ("collab", "transfer_ab", "transfer_ba", "citations_ab", "distance_km", "log_distance", "same_province"):
        np.testing.assert_array_equal(data[col].to_numpy(dtype=float), panel[col].to_numpy(dtype=float))
    assert labels["distance_km"] == label("distance_km")
    out = export_panel(ws, "network-year", None, tmp_path / "ny.dta")
    data, labels, _ = _read_dta(out)
    assert list(data["network"]) == list(read_panel(ws.panel("network-year"))["network"])
    assert labels["modularity"].startswith("Q ")


def test_to_stata_frame_converts_nullable_and_bool():
    df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "b": [True, False], "s": ["甲", None]})
    out, labels = to_stata_frame(df)
    assert out["n"].dtype == float and np.isnan(out["n"][1])
    assert out["b"].tolist() == [1, 0]
    assert out["s"].tolist() == ["甲", ""]


def test_cli_export_csv_and_parquet(ws, tmp_path):
    runner = CliRunner()
    net = ["--network", "invention.y02.all"]  # the panels are not the workspace's default filter's
    res = runner.invoke(cli, ["export", "-w", str(ws.root), "--panel", "network-year", "--format", "csv",
                              "--out", str(tmp_path / "ny.csv"), *net])
    assert res.exit_code == 0, res.output
    ny = pd.read_csv(tmp_path / "ny.csv")
    assert list(ny.columns) == list(NETWORK_YEAR_COLUMNS) and len(ny) == 6
    res = runner.invoke(cli, ["export", "-w", str(ws.root), "--panel", "city-year", "--out", str(tmp_path / "cy.parquet"),
                              *net])
    assert res.exit_code == 0, res.output
    cy = read_panel(tmp_path / "cy.parquet")
    assert "gdp" in cy.columns and cy.attrs["citynet"]["network"] == "invention.y02.all"
    # --format csv with --out x.dta wrote a CSV that Stata's `use` refuses: now one message, exit 2, no file
    from citynet.cli import main

    with pytest.raises(SystemExit) as ex:
        main(["export", "-w", str(ws.root), "--panel", "city-year", "--format", "csv", "--out",
              str(tmp_path / "cy.dta"), *net])
    assert ex.value.code == 2 and not (tmp_path / "cy.dta").exists()


def test_dta_labels_names_and_value_labels_read_back_by_pandas_and_pyreadstat(ws, tmp_path):
    """The .dta carries the report's labels (人均GDP), city names and value labels; two readers agree."""
    import pyreadstat

    w = ws
    cov = pd.read_parquet(w.table("covariates"))
    cov2 = cov.assign(gdp_per_capita=[80000.0, 60000.0], carbon_trading=[0, 1])
    cov2.to_parquet(w.table("covariates"))
    try:
        out = export_panel(w, "city-year", "dta", tmp_path / "cy.dta")
    finally:
        cov.to_parquet(w.table("covariates"))
    data, meta = pyreadstat.read_dta(str(out))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["gdp_per_capita"] == "pgdp 人均GDP（元）"
    assert labels["low_carbon"].startswith("DID 低碳城市试点") and labels["city_name"] == "城市名称"
    assert list(data.columns[:5]) == ["city_code", "city_name", "tier", "region", "year"]
    bj = data[data["city_code"] == BJ].iloc[0]
    assert bj["city_name"] == "北京市" and bj["tier"] == 1 and bj["region"] == 1
    assert data.loc[data["city_code"] == NJ, "tier"].iloc[0] == 2  # 南京: sub-provincial
    vl = meta.variable_value_labels
    assert vl["tier"][1] == "直辖市 municipality" and vl["region"][4] == "东北 northeast"
    assert vl["low_carbon"] == {0: "非试点 not a pilot", 1: "试点 pilot"} and "carbon_trading" in vl
    # pandas reads the same labels, values and categories
    with pd.io.stata.StataReader(out) as r:
        plabels, pvl = r.variable_labels(), r.value_labels()
    assert plabels == labels
    cat = pd.read_stata(out)
    assert cat.loc[cat["city_code"] == BJ, "tier"].iloc[0] == "直辖市 municipality"
    assert set(pvl) >= {"tier", "region", "low_carbon"}
    raw = pd.read_stata(out, convert_categoricals=False)
    np.testing.assert_array_equal(raw["tier"].to_numpy(float), data["tier"].to_numpy(float))
    assert (raw["city_name"] == data["city_name"]).all()
    names = city_set().cities.set_index("city_code")["name_zh"]
    assert (data["city_name"] == data["city_code"].map(names)).all()
    # dyad-year: both cities named, same_province labelled
    dy, dmeta = pyreadstat.read_dta(str(export_panel(w, "dyad-year", "dta", tmp_path / "dy.dta")))
    assert {"city_a_name", "city_b_name"} <= set(dy.columns)
    assert dmeta.variable_value_labels["same_province"][1] == "同省 same province"


def test_a_csv_export_starts_with_a_bom_that_pandas_duckdb_and_csv_read_past(ws, tmp_path):
    """Excel reads a UTF-8 CSV without a byte order mark in the system's code page (GBK: 城市 garbled), so a
    CSV export starts with EF BB BF; pandas, DuckDB and Python's csv (utf-8-sig) still name the first column
    city_code and read the Chinese header back. --no-bom: plain UTF-8 (the bytes written by hand below)."""
    import csv
    import shutil

    import duckdb

    from tests.cli import exit_code

    w = tmp_path / "ws"
    shutil.copytree(ws.root, w)
    cov = pd.read_parquet(ws.table("covariates"))
    cov.assign(**{"人均GDP": [1.5, 2.5]}).to_parquet(w / "canonical" / "covariates.parquet")
    net = ["--network", "invention.y02.all"]
    out, plain = tmp_path / "cy.csv", tmp_path / "cy_plain.csv"
    for args in ([], ["--no-bom"]):
        assert exit_code("export", "-w", w, "--panel", "city-year", "--out", plain if args else out, *net, *args) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfcity_code,city_name,year,") and "人均GDP".encode() in raw
    assert plain.read_bytes() == raw[3:]  # the same CSV without the mark
    want = read_panel(ws.panel("city-year"))
    got = pd.read_csv(out, dtype={"city_code": str})
    assert got.columns[0] == "city_code" and "人均GDP" in got.columns and len(got) == len(want)
    assert got.loc[got["city_code"] == BJ, "city_name"].iloc[0] in ("北京", "北京市")
    assert sorted(got["city_code"]) == sorted(want["city_code"].astype(str))
    con = duckdb.connect()
    cols = [d[0] for d in con.execute(f"SELECT * FROM read_csv('{out}')").description]
    assert cols[0] == "city_code" and "人均GDP" in cols
    with open(out, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[0] == "city_code" and "人均GDP" in header
    with open(plain, encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh))[0] == "city_code"
    # --no-bom names a CSV export; on another format it would be ignored: refused
    assert exit_code("export", "-w", w, "--panel", "city-year", "--out", tmp_path / "cy.dta", "--no-bom", *net) == 2
    assert not (tmp_path / "cy.dta").exists()


def test_quarantine_csvs_start_with_a_bom_too(tmp_path):
    """The quarantine files (raw Chinese fields, for a person in Excel) are UTF-8 with a BOM as the CSV export;
    pandas and DuckDB name their first column source_file."""
    import duckdb

    from tests.cli import exit_code
    from tests.test_ingest_stream import _lines

    export = tmp_path / "p.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:50]), encoding="utf-8")
    assert exit_code("-q", "ingest", "-w", tmp_path / "ws", export) == 0
    (q,) = (tmp_path / "ws" / "quarantine").glob("patents__*.csv")
    assert q.read_bytes().startswith(b"\xef\xbb\xbfsource_file,")
    assert pd.read_csv(q).columns[0] == "source_file"
    assert duckdb.connect().execute(f"SELECT * FROM read_csv('{q}')").description[0][0] == "source_file"


def test_xlsx_holds_the_csv_values_and_the_stata_labels(ws, tmp_path):
    """The workbook read back by python-calamine (not the writer's library) against the CSV export read by
    pandas, and its label sheet against the Stata file's variable labels (read by pandas' Stata reader)."""
    from python_calamine import CalamineWorkbook

    xlsx = export_panel(ws, "city-year", None, tmp_path / "cy.xlsx")
    csv = pd.read_csv(export_panel(ws, "city-year", "csv", tmp_path / "cy.csv"), dtype={"city_code": str})
    book = CalamineWorkbook.from_path(str(xlsx))
    assert book.sheet_names == ["panel", "variables"]
    rows = book.get_sheet_by_name("panel").to_python()
    sheet = pd.DataFrame(rows[1:], columns=rows[0]).replace("", np.nan)
    assert list(sheet.columns) == list(csv.columns) and len(sheet) == len(csv) == 2 * len(city_set())
    assert sheet["city_code"].tolist() == csv["city_code"].tolist()  # codes stay text
    for col in csv.columns:
        if pd.api.types.is_numeric_dtype(csv[col]):
            np.testing.assert_allclose(sheet[col].astype(float), csv[col].astype(float), rtol=1e-12, err_msg=col)
        else:
            assert sheet[col].fillna("").astype(str).tolist() == csv[col].fillna("").astype(str).tolist(), col
    about = book.get_sheet_by_name("variables").to_python()
    labels_xlsx = {r[0]: r[1] for r in about[1:] if r and r[0] and r[0] != "data"}
    _, labels_dta, data_label = _read_dta(export_panel(ws, "city-year", "dta", tmp_path / "cy.dta"))
    for col in ("collab_degree", "green_patents", "gdp", "city_name", "year"):
        assert labels_xlsx[col] == labels_dta[col], col
    assert ["data", data_label] in about


def test_xlsx_beyond_excels_rows_is_refused(ws, tmp_path, monkeypatch):
    from citynet.metrics import export

    from citynet.errors import UserError

    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 10)  # Excel's 1,048,576, small enough for this panel
    with pytest.raises(UserError, match="the panel has 674 rows; an Excel sheet holds 9$"):
        export_panel(ws, "city-year", "xlsx", tmp_path / "big.xlsx")
    assert not list(tmp_path.glob("*big*"))


@pytest.mark.parametrize("target", ["citynet.toml", "raw/p.csv", "metrics/network_year.parquet",
                                    "canonical/new.csv", "store/x.csv", ".citynet/x.csv"])
def test_an_output_onto_the_workspaces_own_files_is_refused(tmp_path, capsys, target):
    """``export --out`` (and ``map``/``report --out``) onto the workspace's settings, an ``[inputs]`` file or
    into the folders citynet writes and checks replaced them without a word (an export over citynet.toml broke
    every later command): one message, exit 2, the file as it was. results/ and other folders are fine."""
    from tests.cli import invoke

    w = Workspace.open(tmp_path / "ws", create=True)
    e = pd.DataFrame([("collab", 2010, BJ, TJ, 2)], columns=["network", "year", "src", "dst", "weight"])
    run_metrics(w, NetworkFilter(), store=TableStore(e, pd.DataFrame({"city_code": [BJ], "year": [2010],
                                                                      "green_patents": [1]})))
    (w.root / "raw").mkdir()
    (w.root / "raw" / "p.csv").write_text("申请号\n", encoding="utf-8")
    (w.root / "citynet.toml").write_text('[inputs]\npatents = ["raw/p.csv"]\n', encoding="utf-8")
    path = w.root / target
    before = path.read_bytes() if path.exists() else None
    fmt = "parquet" if target.endswith(".parquet") else "csv"
    code, _, err = invoke(capsys, "export", "-w", w.root, "--panel", "network-year", "--format", fmt, "--out", path)
    assert code == 2 and err.count("error:") == 1 and "would " in err, err
    assert (path.read_bytes() if path.exists() else None) == before
    if target == "citynet.toml":
        code, _, err = invoke(capsys, "report", "-w", w.root, "--out", w.root / "metrics" / "r.html")
        assert code == 2 and "would write into the workspace's metrics/" in err, err
    for ok in (w.root / "results" / "ny.csv", tmp_path / "ny.csv"):
        ok.parent.mkdir(exist_ok=True)
        assert invoke(capsys, "export", "-w", w.root, "--panel", "network-year", "--out", ok)[0] == 0


def test_a_covariate_named_like_a_stata_word_keeps_its_label(tmp_path, capsys):
    """Covariates named ``float`` and ``_b`` (Stata's reserved words): pandas renamed them with its own warning
    (InvalidColumnName) after the labels were keyed, so the variables lost their labels. Now they are ``_float``
    and ``__b`` (pandas' own renaming, read back by pandas' reader) with their labels, and nothing is warned."""
    import warnings

    from tests.cli import invoke

    w = Workspace.open(tmp_path / "ws", create=True)
    e = pd.DataFrame([("collab", 2010, BJ, TJ, 2)], columns=["network", "year", "src", "dst", "weight"])
    run_metrics(w, NetworkFilter(), store=TableStore(e, pd.DataFrame({"city_code": [BJ], "year": [2010],
                                                                      "green_patents": [1]})))
    w.canonical.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"city_code": [BJ], "year": np.array([2010], dtype="int16"), "float": [1.5],
                  "_b": [2.5]}).to_parquet(w.table("covariates"))
    out = tmp_path / "cy.dta"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = invoke(capsys, "export", "-w", w.root, "--panel", "city-year", "--out", out)
    assert code == 0, err
    with pd.io.stata.StataReader(out) as r:
        data, labels = r.read(), r.variable_labels()
    row = data.set_index("city_code").loc[BJ]
    assert row["_float"] == 1.5 and row["__b"] == 2.5
    assert labels["_float"] and labels["__b"]


def test_an_out_path_with_a_tilde_is_the_home_folder(ws, tmp_path, capsys, monkeypatch):
    """``--out=~/ny.csv`` (bash does not expand ``~`` after ``=``): the check expanded it, the writer did not —
    a folder literally named ``~`` was made in the current folder, or the export failed with exit 1 leaving its
    temporary file in the home folder. Now the file is written in the home folder."""
    from tests.cli import invoke

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    for name in ("ny.csv", "ny.xlsx", "ny.dta"):
        code, _, err = invoke(capsys, "export", "-w", ws.root, "--panel", "network-year", "--network",
                              "invention.y02.all", f"--out=~/{name}")
        assert code == 0, err
        assert (home / name).is_file()
    assert sorted(p.name for p in home.iterdir() if not p.name.startswith(".")) == ["ny.csv", "ny.dta", "ny.xlsx"]
    assert not list(cwd.iterdir())


def test_xlsx_progress_off_a_terminal_is_plain_lines_only(ws, tmp_path, monkeypatch):
    """With stderr not a terminal (a pipe, a log) the Excel progress came twice: the plain lines and then the
    bar (rich prints its last frame when the command ends). Now the lines only; the lines' delay is set to 0 so
    that a small panel writes them."""
    import functools

    import citynet.progress

    monkeypatch.setattr(citynet.progress, "LineReporter", functools.partial(citynet.progress.LineReporter, delay=0))
    out = tmp_path / "cy.xlsx"
    r = CliRunner().invoke(cli, ["export", "-w", str(ws.root), "--network", "invention.y02.all", "--panel",
                                 "city-year", "--out", str(out)])
    assert r.exit_code == 0, r.output
    n = len(pd.read_parquet(ws.root / "metrics" / "invention.y02.all" / "city_year.parquet"))
    # (the console wraps "wrote PATH" where the path is long, as pytest's worker folders are)
    assert "".join(r.output.split()).endswith(f"wrote{out}") and out.exists(), r.output
    lines = r.output.strip().split("wrote ")[0].strip().splitlines()
    assert f"writing the Excel sheet: {n:,}/{n:,} (100%)" in lines[-1], r.output
    assert all(line.startswith("writing the Excel sheet: ") for line in lines), r.output  # no bar
    assert "━" not in r.output and f"{n}/{n} 0:00" not in r.output, r.output  # (the bar: count and elapsed)


def test_the_patent_count_is_labelled_with_the_filter_of_its_panel(tmp_path):
    """``green_patents`` counts the patents of the panel's network filter, but its Stata and Excel label was
    "gpatent 绿色专利数" for every filter: an all-technology panel (all.all.all) said green. Each filter's
    export (read back by pyreadstat and python-calamine) now names what was counted; labels written by hand."""
    import pyreadstat
    from python_calamine import CalamineWorkbook

    w = Workspace.open(tmp_path / "ws", create=True)
    e = pd.DataFrame([("collab", 2011, BJ, SH, 1)], columns=["network", "year", "src", "dst", "weight"])
    c = pd.DataFrame({"city_code": [BJ, SH], "year": [2011, 2011], "green_patents": [2, 1]})
    want = {NetworkFilter(): "gpatent 绿色发明专利数（WIPO绿色清单；至少一位申请人在本市）",
            NetworkFilter(green="all", kind="all"): "gpatent 专利数（不限技术领域；至少一位申请人在本市）",
            NetworkFilter(green="y02", year_basis="grant"):
                "gpatent 低碳授权发明专利数（CPC Y02/Y04S；至少一位申请人在本市）",
            NetworkFilter(green="wipo", kind="utility", granted_only=True):
                "gpatent 绿色授权实用新型专利数（WIPO绿色清单；至少一位申请人在本市）"}
    for flt, text in want.items():
        run_metrics(w, flt, store=TableStore(e, c))
        w.select_network(flt.key)
        _, meta = pyreadstat.read_dta(str(export_panel(w, "city-year", "dta", tmp_path / f"{flt.key}.dta")))
        assert meta.column_names_to_labels["green_patents"] == text, flt.key
        book = CalamineWorkbook.from_path(str(export_panel(w, "city-year", "xlsx", tmp_path / f"{flt.key}.xlsx")))
        about = {r[0]: r[1] for r in book.get_sheet_by_name("variables").to_python()[1:] if r and r[0]}
        assert about["green_patents"] == text, flt.key
    assert label("green_patents") == "gpatent 专利数（网络筛选条件下，至少一位申请人在本市）"  # no filter known


def test_panels_older_than_the_canonical_tables_are_said_so_by_export_report_map_and_fit(tmp_path, capsys):
    """After `citynet ingest` of another corpus, export, report, map and fit showed the old corpus's panels
    without a word until load and metrics ran again. The panels now carry a digest of the canonical tables they
    were built from (the sha256 ingest recorded of patents, applicants, links, transfers and citations), and
    the four commands warn when the canonical tables are no longer those: not after an ingest that only adds
    a covariate file, and not once load and metrics ran again. metrics itself, before the load, refuses
    (exit 2): its networks would come from the store's old corpus and its partner kinds from the new canonical
    tables. The panel files stay byte-identical for the same corpus (determinism)."""
    from citynet.synth import SynthConfig, synthesize
    from tests.cli import invoke

    for seed, name in ((3, "a"), (4, "b")):
        synthesize(tmp_path / name, SynthConfig(seed=seed, n_patents=1_000, years=(2014, 2016)))
    w = tmp_path / "ws"
    raw = tmp_path / "a" / "raw"

    def cli_ok(*args):
        code, _, err = invoke(capsys, "-q", *args)
        assert code == 0, err

    cli_ok("ingest", "-w", w, raw / "patents.csv", "--transfers", raw / "transfers.csv")
    cli_ok("load", "-w", w)
    cli_ok("metrics", "-w", w)
    first = (w / "metrics" / "city_year.parquet").read_bytes()
    warn = "were computed before the last `citynet ingest` changed the patents"

    def said(*args) -> str:
        code, _, err = invoke(capsys, *args)
        assert code == 0, err
        return " ".join(err.split())

    export = ("export", "-w", w, "--panel", "city-year", "--out", tmp_path / "cy.csv")
    assert warn not in said(*export)
    cli_ok("ingest", "-w", w, raw / "patents.csv", "--transfers", raw / "transfers.csv",
           "--covariates", raw / "covariates.csv")
    assert warn not in said(*export)  # covariates are joined at export: the panels still show the corpus
    other = tmp_path / "b" / "raw"
    cli_ok("ingest", "-w", w, other / "patents.csv", "--transfers", other / "transfers.csv")
    for args in (export, ("report", "-w", w, "--permutations", "0", "--out", tmp_path / "r.html"),
                 ("map", "-w", w, "--var", "collab_degree", "--out", tmp_path / "m.png"),
                 ("fit", "-w", w, "--formula", "collab_degree ~ green_patents | city_code + year")):
        err = said(*args)
        assert warn in err and f"run `citynet load -w {w}`, then `citynet metrics -w {w}`" in err, (args[0], err)
    assert warn in " ".join((tmp_path / "r.html").read_text(encoding="utf-8").split())
    # metrics before the load: the store's networks are the old corpus's, the partner kinds the new one's
    code, _, err = invoke(capsys, "metrics", "-w", w)
    err = " ".join(err.split())
    assert code == 2 and "the store was loaded from other canonical tables than the workspace holds now" in err, err
    assert f"fix: citynet load -w {w}" in err and err.count("error:") == 1, err
    cli_ok("load", "-w", w)
    # the load added corpus b to a's patents: metrics refuses a store of two corpora (its panels would mix them)
    code, _, err = invoke(capsys, "metrics", "-w", w)
    err = " ".join(err.split())
    assert code == 2 and "patents that the canonical tables no longer have" in err and "--rebuild" in err, err
    cli_ok("load", "-w", w, "--rebuild")
    cli_ok("metrics", "-w", w)
    assert warn not in said(*export)
    cli_ok("ingest", "-w", w, raw / "patents.csv", "--transfers", raw / "transfers.csv")
    cli_ok("load", "-w", w, "--rebuild")  # (a load adds: the store held both corpora)
    cli_ok("metrics", "-w", w)
    assert (w / "metrics" / "city_year.parquet").read_bytes() == first  # the same corpus, the same bytes
