"""Which assignee a transfer record goes to (etl/transfers.py, docs/methods.md §1.3 "Transfers").

Expected values are worked by hand from the records below: the destination is the first assignee that is
not one of the record's assignors (names compared after normalisation); when every assignee is an assignor
(a change of name or address recorded as a transfer) the first assignee, as before. The transfer_id is
``T`` + SHA-1(patent|date|from|to)[:16], computed here from the hand-chosen names.
"""

from __future__ import annotations

import csv
import hashlib

import pandas as pd
from citynet.etl.normalize import app_number_check_digit
from citynet.etl.pipeline import ingest
from citynet.etl.quarantine import Quarantine
from citynet.etl.transfers import process_transfer_records

from citynet.workspace import Workspace


def _appno(serial: int) -> tuple[str, str]:
    digits = f"20151{serial:07d}"
    no = f"CN{digits}.{app_number_check_digit(digits)}"
    return no, no


def _records(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["app_number", "assignor", "assignee", "date"])
    df["_row"] = range(2, 2 + len(df))
    df["_source_file"] = "t.csv"
    return df


def _tid(patent: str, date: str, a: str, b: str) -> str:
    return "T" + hashlib.sha1(f"{patent}|{date}|{a}|{b}".encode()).hexdigest()[:16]


def test_a_transfer_goes_to_the_first_assignee_that_is_not_an_assignor():
    rows = [
        (_appno(1)[0], "甲公司", "甲公司;乙大学", "20190101"),          # co-owner: 甲 keeps a share, brings in 乙 → 甲→乙
        (_appno(2)[0], "甲公司;乙大学", "甲公司;丙研究院", "20190102"),  # (甲;乙) → (甲;丙): 甲→丙
        (_appno(3)[0], "甲公司", "甲公司", "20190103"),                  # change of name/address: 甲→甲, as before
        (_appno(4)[0], "甲 公司", "ｊｉａ公司;甲公司 ;乙大学", "20190104"),  # 甲 公司 = 甲公司 after normalisation → 甲→JIA公司
        (_appno(5)[0], "乙大学（南京）", "乙大学(南京)；丁公司", "20190105"),  # full-width brackets and ；: same name → 乙(南京)→丁
        (_appno(6)[0], "甲公司;乙大学", "乙大学 ;甲公司", "20190106"),   # every assignee an assignor: first→first, 甲→乙
        (_appno(7)[0], "甲公司", "乙大学;丙研究院", "20190107"),         # an ordinary transfer: 甲→乙
    ]
    t = process_transfer_records(_records(rows), Quarantine(), today="2020-01-01").transfers
    want = [("甲公司", "乙大学"), ("甲公司", "丙研究院"), ("甲公司", "甲公司"), ("甲公司", "JIA公司"),
            ("乙大学(南京)", "丁公司"), ("甲公司", "乙大学"), ("甲公司", "乙大学")]
    assert list(zip(t["from_name"], t["to_name"], strict=True)) == want
    p1 = _appno(1)[1]
    assert t["patent_id"].iloc[0] == p1
    assert t["transfer_id"].iloc[0] == _tid(p1, "2019-01-01", "甲公司", "乙大学")


def test_identical_records_are_still_duplicates_and_the_first_is_kept():
    """Two identical co-owner records: one transfer 甲→乙, the second quarantined as duplicate naming row 2."""
    no = _appno(1)[0]
    q = Quarantine()
    b = process_transfer_records(_records([(no, "甲公司", "甲公司;乙大学", "20190101")] * 2), q, today="2020-01-01")
    assert list(zip(b.transfers["from_name"], b.transfers["to_name"], strict=True)) == [("甲公司", "乙大学")]
    rej = pd.concat(q.frames)
    assert rej["reason_code"].tolist() == ["duplicate"] and rej["source_row"].tolist() == [3]
    assert "kept row 2 of t.csv" in rej["reason"].iloc[0]
    assert sorted(b.names) == sorted(["甲公司", "甲公司", "乙大学"])  # the kept record's assignor and assignees


def test_ingest_writes_the_co_owner_transfer_to_the_new_owner(tmp_path):
    """End to end: transfers.parquet holds 甲→乙 (南京 → 杭州), not a local 甲→甲 (南京 → 南京)."""
    no = _appno(1)[0]
    export = tmp_path / "e.csv"
    with open(export, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["申请号", "申请日", "授权公告日", "申请人", "申请人地址", "主分类号", "分类号", "国省代码", "专利类型", "引证专利", "公开（公告）号"])
        w.writerow([no, "20150312", "0", "南京甲科技有限公司", "210000江苏省南京市玄武区中山路1号", "H01M8/04", "H01M8/04", "江苏(32)", "发明公开", "", "CN104000001A"])
    tr = tmp_path / "tr.csv"
    with open(tr, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["申请号", "转让人", "受让人", "生效日", "受让人地址"])
        w.writerow([no, "南京甲科技有限公司", "南京甲科技有限公司;杭州乙大学", "20190101", "210000江苏省南京市玄武区中山路1号"])
    ws = Workspace.open(tmp_path / "ws", create=True)
    ingest(ws, [export], [tr])
    t = pd.read_parquet(ws.canonical / "transfers.parquet")
    assert len(t) == 1
    apps = pd.read_parquet(ws.canonical / "applicants.parquet")
    name = dict(zip(apps["applicant_id"], apps["name"], strict=True))
    assert (name[t["from_applicant_id"].iloc[0]], name[t["to_applicant_id"].iloc[0]]) == ("南京甲科技有限公司", "杭州乙大学")
    # the record's address (南京) stays its first assignee's; 杭州乙大学 is located by its name (L5): 南京 → 杭州
    assert (t["from_city"].iloc[0], t["to_city"].iloc[0]) == ("320100", "330100")
