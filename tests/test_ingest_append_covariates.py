"""``citynet ingest --append --covariates FILE`` without a new export (citynet/commands/ingest.py).

It is refused (exit 2, no file written), and the fix says how covariates are added: an ingest of every export
with every covariate file (the files given replace the earlier covariates), or the covariate files given with
the next new export. Checked by hand below: the fix's second command, run, keeps the new export and writes
the covariates of both files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from citynet.etl.normalize import app_number_check_digit

from citynet.cli import main

HEADERS = ["申请号", "申请日", "授权公告日", "申请人", "申请人地址", "主分类号", "分类号", "国省代码", "专利类型", "引证专利", "公开（公告）号"]


def _export(path: Path, serial: int) -> Path:
    digits = f"20151{serial:07d}"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerow([f"CN{digits}.{app_number_check_digit(digits)}", "20150312", "0", "南京南瑞科技有限公司",
                    "210000江苏省南京市玄武区中山路1号", "H01M8/04", "H01M8/04", "江苏(32)", "发明公开", "", ""])
    return path


def _run(argv) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return e.code or 0
    return 0


def test_covariates_alone_with_append_say_how_to_add_them(tmp_path, capsys):
    ws = tmp_path / "ws"
    old, new = tmp_path / "gdp.csv", tmp_path / "pop.csv"
    old.write_text("city_code,year,gdp\n320100,2015,1.5\n", encoding="utf-8")
    new.write_text("city_code,year,pop\n320100,2015,800\n", encoding="utf-8")
    assert _run(["ingest", "-w", str(ws), str(_export(tmp_path / "e1.csv", 1)), "--covariates", str(old)]) == 0
    capsys.readouterr()
    assert _run(["ingest", "-w", str(ws), "--append", "--covariates", str(new)]) == 2
    err = capsys.readouterr().err
    assert "covariates alone cannot be appended" in err and "Traceback" not in err
    assert "give every export and every covariate file" in err
    assert "--append --covariates OLD.csv --covariates NEW.csv" in " ".join(err.split())
    cov = pd.read_parquet(ws / "canonical" / "covariates.parquet")
    assert list(cov.columns) == ["city_code", "year", "gdp"]  # nothing written
    # the fix's second way, by hand: the next export with both covariate files
    assert _run(["ingest", "-w", str(ws), str(_export(tmp_path / "e2.csv", 2)), "--append",
                 "--covariates", str(old), "--covariates", str(new)]) == 0
    cov = pd.read_parquet(ws / "canonical" / "covariates.parquet")
    assert cov[["city_code", "year", "gdp", "pop"]].to_dict("records") == [
        {"city_code": "320100", "year": 2015, "gdp": 1.5, "pop": 800}]
    assert len(pd.read_parquet(ws / "canonical" / "patents.parquet")) == 2


def test_append_without_files_or_covariates_keeps_its_message(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert _run(["ingest", "-w", str(ws), str(_export(tmp_path / "e1.csv", 1))]) == 0
    capsys.readouterr()
    assert _run(["ingest", "-w", str(ws), "--append"]) == 2
    assert "--append needs the new export files" in capsys.readouterr().err
