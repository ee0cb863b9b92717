"""What ``citynet ingest`` says about the files it wrote and the rows it set apart, checked through the command
line on hand-made exports (expected values from the rows written here, or read back with pandas)."""

from __future__ import annotations

import json

import pandas as pd

from tests.cli import invoke
from tests.test_etl_ingest import BAD, GOOD, write_csv


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_last_line_names_quarantine_files_only_when_rows_were_quarantined(tmp_path, capsys):
    """A clean export: no quarantine file is written, and the last line says so (it named quarantine/, a folder
    that did not exist). An export with bad rows: the line names the file written and the rows set apart."""
    clean = write_csv(tmp_path / "clean.csv", GOOD)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", clean)
    assert code == 0, err
    assert not (tmp_path / "ws" / "quarantine").exists()
    assert "; no row quarantined" in _one_line(err), err
    assert "quarantine/" not in err

    mixed = write_csv(tmp_path / "mixed.csv", GOOD + BAD)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws2", mixed)
    assert code == 0, err
    written = tmp_path / "ws2" / "quarantine" / "patents__mixed.csv"
    assert len(pd.read_csv(written, dtype=str)) == len(BAD)
    assert f"; {len(BAD)} rows quarantined, with the reason of each: {written}" in _one_line(err), err
    report = json.loads((tmp_path / "ws2" / "reports" / "ingest.json").read_text(encoding="utf-8"))
    assert report["quarantine_files"] == ["quarantine/patents__mixed.csv"]


def _transfers(path, rows):
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["申请号", "转让人", "受让人", "生效日"])
        w.writerows(rows)
    return path


def test_a_duplicate_across_two_files_names_the_file_and_row_kept(tmp_path, capsys):
    """An application number in two exports: the copy set apart names the record kept — its row and its file,
    the other export (it said "kept row 2", a row of the wrong file). So does a transfer record repeated in a
    second transfer file, and a duplicate added by ``--append``."""
    first = write_csv(tmp_path / "first.csv", GOOD[:2])  # GOOD[1] is row 3 of first.csv
    again = list(GOOD[1])
    again[4] = ""  # the same number, fewer fields: the copy in first.csv is kept
    second = write_csv(tmp_path / "second.csv", [GOOD[2], again])  # row 3 of second.csv
    t1 = _transfers(tmp_path / "t1.csv", [[GOOD[1][0], "苏州绿能有限公司", "杭州新能科技有限公司", "20190101"]])
    t2 = _transfers(tmp_path / "t2.csv", [[GOOD[0][0], "南京南瑞科技有限公司", "杭州新能科技有限公司", "20190101"],
                                           [GOOD[1][0], "苏州绿能有限公司", "杭州新能科技有限公司", "20190101"]])
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", first, second, "--transfers", t1, "--transfers", t2)
    assert code == 0, err
    q = pd.read_csv(tmp_path / "ws" / "quarantine" / "patents__second.csv", dtype=str)
    assert q[["source_row", "reason_code"]].values.tolist() == [["3", "duplicate"]]
    assert q["reason"].iloc[0] == f"duplicate of a record that was kept: kept row 3 of {first}"
    qt = pd.read_csv(tmp_path / "ws" / "quarantine" / "transfers__t2.csv", dtype=str)
    assert qt[["source_row", "reason_code"]].values.tolist() == [["3", "duplicate"]]
    assert qt["reason"].iloc[0] == ("duplicate of a record that was kept: the same transfer (patent, date, assignor, "
                                    f"assignee) as kept row 2 of {t1}")
    report = json.loads((tmp_path / "ws" / "reports" / "ingest.json").read_text(encoding="utf-8"))
    for f in report["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"], f

    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "wa", first)
    assert code == 0, err
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "wa", second, "--append")
    assert code == 0, err
    q = pd.read_csv(tmp_path / "wa" / "quarantine" / "patents__second.csv", dtype=str)
    assert q["reason"].tolist() == [f"duplicate of a record that was kept: kept row 3 of {first}"]


def test_two_records_of_one_transfer_that_differ_are_not_called_identical(tmp_path, capsys):
    """甲 → (甲;乙) is the transfer 甲 → 乙 (docs/methods.md §1.3), so a record 甲 → 乙 of the same patent and day is
    the same transfer, counted once: the second is a duplicate. Its reason said "identical transfer record" of two
    records that differ; it now says what is the same."""
    export = write_csv(tmp_path / "p.csv", GOOD[:1])
    t = _transfers(tmp_path / "t.csv", [[GOOD[0][0], "苏州绿能有限公司", "苏州绿能有限公司;杭州新能科技有限公司", "20190101"],
                                        [GOOD[0][0], "苏州绿能有限公司", "杭州新能科技有限公司", "20190101"],
                                        [GOOD[0][0], "苏州绿能有限公司", "杭州新能科技有限公司", "20190102"]])
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", export, "--transfers", t)
    assert code == 0, err
    kept = pd.read_parquet(tmp_path / "ws" / "canonical" / "transfers.parquet")
    assert sorted(kept["date"].astype(str)) == ["2019-01-01", "2019-01-02"]
    qt = pd.read_csv(tmp_path / "ws" / "quarantine" / "transfers__t.csv", dtype=str)
    assert qt[["source_row", "reason_code", "field"]].values.tolist() == [["3", "duplicate", "(record)"]]
    assert qt["reason"].iloc[0] == ("duplicate of a record that was kept: the same transfer (patent, date, assignor, "
                                    f"assignee) as kept row 2 of {t}")
    assert qt["受让人"].iloc[0] == "杭州新能科技有限公司"  # the raw fields of the record set apart


def test_duplicates_kept_by_an_older_ingest_state_are_decided_again_with_their_file(tmp_path):
    """An ingest state written before the kept record's file was kept (its dups/ file without ``kept_file``):
    an append decides the duplicate rule again over every record, so the old duplicates name their file too."""
    import pyarrow.parquet as pq
    from citynet.etl import stream
    from citynet.etl.pipeline import ingest

    from citynet.workspace import Workspace

    first = write_csv(tmp_path / "first.csv", [GOOD[0], GOOD[1], GOOD[1][:4] + [""] + GOOD[1][5:]])
    ws = Workspace.open(tmp_path / "ws", create=True)
    ingest(ws, [first])
    state = stream.State.load(ws.canonical / stream.STATE)
    (old,) = state.files_of("dups")
    pq.write_table(pq.read_table(old).drop(["kept_file"]), old)  # as an older citynet kept it
    dups = stream.duplicates(state, stream.StreamSettings(), new_from=state.meta["next_file"])
    assert dups[["kept_row", "kept_file"]].values.tolist() == [[3, str(first)]]


def test_every_quarantine_reason_is_in_the_docs_table():
    """A user reads a reason code in quarantine/ and looks it up in docs/methods.md §1.7: every code the ETL can
    write (etl/quarantine.REASONS) has a row there (bad_encoding, nul_character and overlong_field had none)."""
    import re
    from pathlib import Path

    from citynet.etl.quarantine import REASONS

    text = (Path(__file__).parents[1] / "docs" / "methods.md").read_text(encoding="utf-8")
    section = text[text.index("### 1.7 Row accounting and quarantine"):text.index("### 1.8 ")]
    documented = set(re.findall(r"`([a-z_]+)`", "\n".join(ln for ln in section.splitlines() if ln.startswith("|"))))
    assert set(REASONS) - documented == set()
