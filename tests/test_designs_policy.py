"""Policy synergy: the reader (Chinese headers, names → counts, tool classes from a column or from text,
quarantine with row accounting), zts/gjs/rps against a pandas computation, `citynet ingest --policies`
and paper 002's moderation spec on the CLI test workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.policy import join_synergy, policy_synergy
from citynet.etl.policy_docs import count_bodies, read_policy_docs, tool_classes
from click.testing import CliRunner

from citynet.cli import cli
from citynet.errors import DataError
from tests.test_fit_cli import build_workspace

EX = Path(__file__).resolve().parents[1] / "examples" / "policies"


def test_reader_counts_classes_and_quarantine(tmp_path):
    f = tmp_path / "p.csv"
    pd.DataFrame({
        "省份": ["广东省", "广东", "440000", "火星省", "江苏省", "江苏省", "浙江"],
        "年份": ["2015", "2015", "2016", "2015", "二〇一五", "2016", "2016"],
        "发文机构": ["科技厅、财政厅", "3", "发展改革委;科技厅;财政厅;商务厅", "科技厅", "科技厅", "", "科技厅"],
        "政策工具": ["供给型；环境型", "需求型", "", "供给型", "供给型", "供给型", ""],
        "政策名称": ["", "", "关于完善税收减免和人才培训的通知", "", "", "", "关于召开会议的通知"],
    }).to_csv(f, index=False)
    loaded, quarantined, n = read_policy_docs(f)
    assert n == 7 and len(loaded) + len(quarantined) == 7
    assert loaded["province_code"].tolist() == ["440000", "440000", "440000"]
    assert loaded["n_bodies"].tolist() == [2, 3, 4]
    assert loaded["n_tools"].tolist() == [2, 1, 2]  # row 3: text → supply (人才培训) + environment (税收减免)
    assert sorted(quarantined["reason_code"]) == ["bad_year", "no_bodies", "no_tool_class", "unknown_province"]
    assert set(quarantined["source_row"]) == {5, 6, 7, 8}
    assert count_bodies("科技部、财政部、科技部") == 2 and tool_classes("supply, demand", None) == ["demand", "supply"]


def test_policy_files_in_every_format_the_exports_take(tmp_path):
    """A GB18030 CSV with a damaged record, an old workbook (.xls, written by xlwt) and an .xlsx give the
    same rows; the damaged record is quarantined with its row (read = loaded + quarantined); a workbook named
    .csv says what it is (it was a pandas traceback, and an .xls needed xlrd, which is not installed)."""
    import xlwt

    rows = [["省份", "年份", "发文机构", "政策工具"], ["广东省", "2015", "科技厅、财政厅", "供给型；环境型"],
            ["江苏省", "2016", "科技厅", "需求型"]]
    csv_gb = tmp_path / "p.csv"
    csv_gb.write_bytes(("\r\n".join(",".join(r) for r in rows) + '\r\n浙江,2016,"科技厅\r\n').encode("gb18030"))
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("政策")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            sheet.write(i, j, int(v) if v.isdigit() else v)  # the years as number cells
    book.save(str(tmp_path / "p.xls"))
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(tmp_path / "p.xlsx", index=False)
    (loaded, q, n), *others = (read_policy_docs(tmp_path / f) for f in ("p.csv", "p.xls", "p.xlsx"))
    assert (n, len(loaded), q["reason_code"].tolist(), q["source_row"].tolist()) == (3, 2, ["malformed_row"], [4])
    for other, _, m in others:
        assert m == 2
        pd.testing.assert_frame_equal(other.drop(columns="source_file"), loaded.drop(columns="source_file"))
    (tmp_path / "w.csv").write_bytes((tmp_path / "p.xlsx").read_bytes())
    with pytest.raises(DataError, match="is an Excel workbook"):
        read_policy_docs(tmp_path / "w.csv")


def test_synergy_equals_pandas_computation():
    rng = np.random.default_rng(0)
    docs = pd.DataFrame({"province_code": rng.choice(["110000", "440000", "320000"], 200),
                         "year": rng.choice([2015, 2016, 2017], 200), "n_bodies": rng.integers(1, 6, 200),
                         "n_tools": rng.integers(1, 4, 200)})
    s = policy_synergy(docs).set_index(["province_code", "year"])
    for (p, y), grp in docs.groupby(["province_code", "year"]):
        assert s.loc[(p, y), "zts"] == grp["n_bodies"].mean()
        assert s.loc[(p, y), "gjs"] == grp["n_tools"].mean()
        assert s.loc[(p, y), "rps"] == pytest.approx(grp["n_bodies"].mean() * grp["n_tools"].mean(), rel=1e-15)
    panel = pd.DataFrame({"city_code": ["440100", "440300", "110000", "510100"], "year": [2015, 2016, 2017, 2015]})
    j = join_synergy(panel, policy_synergy(docs))
    assert j.loc[0, "rps"] == s.loc[("440000", 2015), "rps"] and np.isnan(j.loc[3, "rps"])


def test_ingest_policies_and_moderation_spec(tmp_path):
    ws = build_workspace(tmp_path / "ws")
    r = CliRunner().invoke(cli, ["ingest", "-w", str(ws), "--policies", str(EX / "policy_docs_sample.csv")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    docs = pd.read_parquet(ws / "canonical" / "policy_docs.parquet")
    raw = pd.read_csv(EX / "policy_docs_sample.csv")
    assert len(docs) == len(raw)  # every sample row loads
    from citynet.analysis.spec import load_panels, run_spec

    from citynet.workspace import Workspace

    w = Workspace.open(ws)
    panel = load_panels(w)("city-year")
    assert {"zts", "gjs", "rps"} <= set(panel.columns) and panel["rps"].notna().mean() > 0.9
    res = run_spec(EX / "p002_moderation.toml", w, tmp_path / "out")
    col = res.results["p002_moderation"][0]
    assert "l1_ln_collab_patents_intraprov:rps" in col.params.index
    assert "ln rsi intra (t−1) × rps" in res.tables["p002_moderation"].to_markdown()


def test_a_policy_file_of_no_loadable_row_is_refused_and_keeps_the_earlier_table(tmp_path, capsys):
    """A policy file whose every row is quarantined (a province of no city, a year written 2015年, no issuing
    body, a tool class citynet does not know) ended 'loaded 0' with exit 0, and replaced the policy table of an
    earlier ingest by an empty one — zts, gjs and rps then missing in every row, and a fit of zts said 'the term
    is text'. Now one message with the reasons and the first row, exit 3 (as for patents and covariates), and the
    earlier table stays (the oracle: the sample file's rows, counted by pandas)."""
    from citynet.cli import main

    ws = build_workspace(tmp_path / "ws")
    assert CliRunner().invoke(cli, ["ingest", "-w", str(ws), "--policies", str(EX / "policy_docs_sample.csv")],
                              catch_exceptions=False).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("province,year,bodies,tools\n火星,2015,2,supply\n广东,2015年,2,supply\n广东,2016,,supply\n"
                   "广东,2016,2,命令型\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("province,year,bodies,tools\n", encoding="utf-8")
    for f, words in ((bad, "no policy document of bad.csv could be loaded (unknown_province 1, bad_year 1, no_bodies 1, "
                           "no_tool_class 1); first: bad.csv row 2"),
                     (empty, "no policy document of empty.csv could be loaded (no records)")):
        with pytest.raises(SystemExit) as ex:
            main(["ingest", "-w", str(ws), "--policies", str(f)])
        err = capsys.readouterr().err
        assert ex.value.code == 3 and words in " ".join(err.split()) and "Traceback" not in err, err
        assert len(pd.read_parquet(ws / "canonical" / "policy_docs.parquet")) == len(
            pd.read_csv(EX / "policy_docs_sample.csv"))
