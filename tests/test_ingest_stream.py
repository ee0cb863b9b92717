"""Streaming ingest (issue 12 item 1) and ``ingest --append`` (item 2): the streamed batches give exactly
the tables, quarantine rows and row accounting of one whole read, and ingesting A then appending B
gives exactly what ingesting A and B together gives."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import re
from pathlib import Path

import pytest

from tests.cli import exit_code

FIXTURE = Path(__file__).parent / "fixtures" / "ingest_identity"


def _digest():
    spec = importlib.util.spec_from_file_location("ingest_identity_digest", FIXTURE / "digest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lines(name: str) -> list[str]:
    with gzip.open(FIXTURE / name, "rt", encoding="utf-8", newline="") as fh:
        return fh.read().splitlines(keepends=True)


def _quarantine_rows(ws: Path) -> list[str]:
    rows = []
    for f in sorted((ws / "quarantine").glob("*.csv")):
        with open(f, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                if not r.get("raw_text"):  # a column of the file's CSV only when a malformed row is in it
                    r.pop("raw_text", None)
                for path in {r["source_file"], *re.findall(r"kept row \d+ of (.+)$", r["reason"])}:  # (a duplicate's kept file)
                    r["reason"] = r["reason"].replace(path, Path(path).name)
                rows.append(json.dumps({**r, "source_file": Path(r["source_file"]).name}, ensure_ascii=False,
                                       sort_keys=True))
    return sorted(rows)


def _ingest(ws_root: Path, files, transfers=(), block_bytes=None, append=False, workers=2):
    from citynet.etl import stream
    from citynet.etl.pipeline import IngestOptions, ingest

    from citynet.workspace import Workspace

    ws = Workspace.open(ws_root, create=True)
    prev = stream.State.load(ws.canonical / stream.STATE) if append else None
    if prev is not None:  # as the CLI does: the new state is written next to the old one, then replaces it
        staged = Workspace.open(ws_root.with_name(ws_root.name + "_next"), create=True)
        rep = ingest(staged, list(files), list(transfers), [],
                     IngestOptions(stream=stream.StreamSettings(block_bytes=block_bytes, workers=workers),
                                   append_from=prev))
        return staged.root, rep
    rep = ingest(ws, list(files), list(transfers), [],
                 IngestOptions(stream=stream.StreamSettings(block_bytes=block_bytes, workers=workers)))
    return ws.root, rep


@pytest.mark.parametrize("workers", [2, 1])
def test_streamed_batches_give_the_tables_of_one_whole_read(tmp_path, workers):
    """The fixture without its malformed last line is regular, so it streams (32 KiB batches: more than ten,
    with duplicates across batches), normalised by two worker processes or in the ingest's own process;
    with the line, the careful reader reads it whole. The canonical tables are the frozen main-branch ones
    in every case, and the quarantine rows are the same but the malformed one."""
    lines = _lines("patents.csv.gz")
    assert lines[-1].startswith('"broken row')
    regular = tmp_path / "patents.csv"
    regular.write_text("".join(lines[:-1]), encoding="utf-8", newline="")
    tr = tmp_path / "transfers.csv"
    tr.write_text("".join(_lines("transfers.csv.gz")), encoding="utf-8", newline="")
    ws, rep = _ingest(tmp_path / "ws", [regular], [tr], block_bytes=32 << 10, workers=workers)
    assert len(list((ws / "canonical" / "state" / "patents").glob("*.parquet"))) > 10  # really streamed
    want = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    got = json.loads(json.dumps(_digest().workspace_digest(ws)))
    for name, table in want["tables"].items():
        assert got["tables"][name] == table, name
    f = rep["files"][0]
    assert (f["rows_read"], f["rows_loaded"], f["rows_quarantined"]) == (1536, 1500, 36) and f["balanced"]
    whole = tmp_path / "whole" / "patents.csv"
    whole.parent.mkdir()
    whole.write_text("".join(lines), encoding="utf-8", newline="")
    ws2, _ = _ingest(tmp_path / "ws2", [whole], [tr])
    assert not list((ws2 / "canonical" / "state" / "raw").glob("00000_000001.*"))  # one careful batch
    careful = [r for r in _quarantine_rows(ws2) if '"malformed_row"' not in r]
    assert _quarantine_rows(ws) == careful



def test_patents_table_is_sorted_by_year_then_corpus_order(tmp_path):
    """An export whose records are not in year order (the fixture's records reversed, streamed in small
    batches): ``patents.parquet`` is in ``app_year`` order, then file order (``source_row``) within a
    year, and no row group holds two years (so a year filter reads only that year's row groups)."""
    import pyarrow.parquet as pq

    lines = _lines("patents.csv.gz")
    rev = tmp_path / "patents.csv"
    rev.write_text(lines[0] + "".join(reversed(lines[1:-1])), encoding="utf-8", newline="")
    ws, rep = _ingest(tmp_path / "ws", [rev], block_bytes=32 << 10, workers=1)
    assert rep["files"][0]["balanced"]
    path = ws / "canonical" / "patents.parquet"
    t = pq.read_table(path, columns=["app_year", "source_row"])
    keys = list(zip(t.column("app_year").to_pylist(), t.column("source_row").to_pylist(), strict=True))
    assert keys == sorted(keys) and len(set(y for y, _ in keys)) > 5
    assert keys[0][1] > keys[-1][1]  # really re-ordered: the reversed file's first rows are the latest years
    meta = pq.ParquetFile(path).metadata
    col = meta.schema.names.index("app_year")
    for g in range(meta.num_row_groups):
        st = meta.row_group(g).column(col).statistics
        assert st.min == st.max


def test_patents_in_year_order_are_written_without_the_sort_to_the_same_bytes(tmp_path):
    """An export already in year order (the fixture, in small batches, with duplicates across them) is
    written without DuckDB's sort (``etl.stream._in_year_order``); the file is byte for byte the one the
    sort writes from the same staged rows, and the reversed export is not taken for sorted."""
    import pyarrow.parquet as pq
    from citynet.etl import stream

    lines = _lines("patents.csv.gz")
    fwd = tmp_path / "patents.csv"
    fwd.write_text(lines[0] + "".join(lines[1:-1]), encoding="utf-8", newline="")
    ws, rep = _ingest(tmp_path / "ws", [fwd], block_bytes=32 << 10, workers=1)
    state = stream.State(ws / "canonical" / stream.STATE)
    files = state.files_of("patents")
    assert len(files) > 10 and stream._in_year_order(files)
    kept = pq.read_table(ws / "canonical" / "patents.parquet")
    dup_pos = _dup_positions(state, kept)
    assert len(dup_pos)  # duplicates across batches are dropped on both paths
    sorted_path = tmp_path / "sorted.parquet"
    real = stream._in_year_order
    try:
        stream._in_year_order = lambda _files: False  # the DuckDB sort, on the same staged rows
        stream.write_patents(state, dup_pos, sorted_path, stream.StreamSettings(workers=1))
    finally:
        stream._in_year_order = real
    fast_path = tmp_path / "fast.parquet"
    stream.write_patents(state, dup_pos, fast_path, stream.StreamSettings(workers=1))
    assert fast_path.read_bytes() == sorted_path.read_bytes() == (ws / "canonical" / "patents.parquet").read_bytes()
    assert rep["files"][0]["balanced"] and kept.num_rows < sum(pq.read_metadata(f).num_rows for f in files)
    rev = tmp_path / "reversed.csv"
    rev.write_text(lines[0] + "".join(reversed(lines[1:-1])), encoding="utf-8", newline="")
    ws2, _ = _ingest(tmp_path / "ws2", [rev], block_bytes=32 << 10, workers=1)
    assert not stream._in_year_order(stream.State(ws2 / "canonical" / stream.STATE).files_of("patents"))


def _dup_positions(state, kept):
    """The staged positions whose record is not in the published patent table (the duplicates dropped)."""
    import pandas as pd
    import pyarrow.parquet as pq

    staged = pd.concat([pq.read_table(f, columns=["_pos", "patent_id", "source_row"]).to_pandas()
                        for f in state.files_of("patents")], ignore_index=True)
    keep = set(zip(kept.column("patent_id").to_pylist(), kept.column("source_row").to_pylist(), strict=True))
    mask = [(p, r) not in keep for p, r in zip(staged["patent_id"], staged["source_row"], strict=True)]
    return staged.loc[mask, ["_pos"]].reset_index(drop=True)


def _canonical_digests(ws: Path) -> dict:
    d = _digest()
    return {f.name: d.table_digest(f) for f in sorted((ws / "canonical").glob("*.parquet"))}


def _assert_same_corpus(inc: Path, both: Path) -> dict:
    """The appended workspace ``inc`` holds what one ingest ``both`` holds: canonical tables, quarantine rows,
    per-file accounting (balanced) and the report's counts. Returns ``both``'s report."""
    assert _canonical_digests(inc) == _canonical_digests(both)
    assert _quarantine_rows(inc) == _quarantine_rows(both)
    rep_inc = json.loads((inc / "reports" / "ingest.json").read_text(encoding="utf-8"))
    rep_both = json.loads((both / "reports" / "ingest.json").read_text(encoding="utf-8"))
    keys = ("file", "kind", "rows_read", "rows_loaded", "rows_quarantined", "quarantined_by_reason", "balanced")
    assert [{k: f[k] for k in keys} for f in rep_inc["files"]] == [{k: f[k] for k in keys} for f in rep_both["files"]]
    assert all(f["balanced"] for f in rep_inc["files"])
    for part in ("patents", "applicants", "patent_applicants", "citations", "addresses", "transfers"):
        assert rep_inc[part] == rep_both[part], part
    return rep_both


def test_ingest_a_then_append_b_equals_ingest_of_a_and_b(tmp_path):
    """The fixture split in two exports (B has the bad rows and the malformed one; duplicates across A and B,
    some kept in B) and two transfer files: ``ingest A`` then ``ingest B --append`` writes the same canonical
    tables, quarantine rows and per-file row accounting as ``ingest A B``; appending a file of the corpus
    again, or to a workspace without a corpus, is one message (exit 2); appending a file with no record
    that can be loaded (a header only, rejected rows only) is one message (exit 3), as a whole ingest of it
    is; none of the refused appends changes the corpus."""
    lines = _lines("patents.csv.gz")
    head, body = lines[0], lines[1:]
    raw = tmp_path / "raw"
    raw.mkdir()
    a, b = raw / "a.csv", raw / "b.csv"
    a.write_text(head + "".join(body[:700]), encoding="utf-8", newline="")
    b.write_text(head + "".join(body[700:]), encoding="utf-8", newline="")
    tr = _lines("transfers.csv.gz")
    ta, tb = raw / "ta.csv", raw / "tb.csv"
    ta.write_text(tr[0] + "".join(tr[1:25]), encoding="utf-8", newline="")
    tb.write_text(tr[0] + "".join(tr[25:]), encoding="utf-8", newline="")

    both = tmp_path / "both"
    assert exit_code("-q", "ingest", "-w", str(both), str(a), str(b), "--transfers", str(ta), "--transfers", str(tb)) == 0
    inc = tmp_path / "inc"
    assert exit_code("-q", "ingest", "-w", str(inc), str(a), "--transfers", str(ta)) == 0
    assert exit_code("-q", "ingest", "-w", str(inc), str(b), "--transfers", str(tb), "--append") == 0

    rep_both = _assert_same_corpus(inc, both)
    dup_b = rep_both["files"][1]["quarantined_by_reason"].get("duplicate", 0)
    dup_a = rep_both["files"][0]["quarantined_by_reason"].get("duplicate", 0)
    assert dup_a and dup_b  # duplicates on both sides of the split

    assert exit_code("-q", "ingest", "-w", str(inc), str(b), "--append") == 2
    assert exit_code("-q", "ingest", "-w", str(tmp_path / "empty"), str(b), "--append") == 2
    # a file of no record, or of rejected rows only, is refused as a whole ingest of it is (exit 3)
    header_only, rejected = raw / "header_only.csv", raw / "rejected.csv"
    header_only.write_text(head, encoding="utf-8", newline="")
    rejected.write_text(head + "not,a record\nnor,this\n", encoding="utf-8", newline="")
    assert exit_code("-q", "ingest", "-w", str(inc), str(header_only), "--append") == 3
    assert exit_code("-q", "ingest", "-w", str(inc), str(rejected), "--append") == 3
    assert _canonical_digests(inc) == _canonical_digests(both)  # the refused appends changed nothing


def test_a_killed_append_leaves_the_previous_corpus_or_the_new_one(tmp_path):
    """SIGKILL at file events of an ``--append`` publication (the state of the old corpus is hard-linked into
    the staging folder): the workspace is afterwards exactly the corpus before or exactly the appended one,
    and an append re-run after a kill before the switch completes it."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    from citynet import transaction
    from tests.test_transaction import _export, _same_state, _snapshot

    a, b = _export(tmp_path / "a.csv", 1, 8), _export(tmp_path / "b.csv", 2, 11)
    ws_a = tmp_path / "ws_a"
    assert exit_code("-q", "ingest", "-w", str(ws_a), str(a)) == 0
    ws_ab = tmp_path / "ws_ab"
    shutil.copytree(ws_a, ws_ab)
    cmd = [sys.executable, "-m", "citynet", "-q", "ingest", "-w"]
    subprocess.run([*cmd, str(ws_ab), str(b), "--append"], check=True)
    snap_a, snap_ab = _snapshot(ws_a), _snapshot(ws_ab)
    outcomes = []
    for n in range(1, 400, 7):
        ws = tmp_path / f"ws{n}"
        shutil.copytree(ws_a, ws)
        proc = subprocess.run([*cmd, str(ws), str(b), "--append"], env={**os.environ, "CITYNET_FAULT": f"kill:{n}"},
                              capture_output=True, text=True)
        if proc.returncode == 0:
            assert _same_state(_snapshot(ws), snap_ab)
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        transaction.verify_workspace(ws)  # recovers: exactly the old or the new corpus
        snap = _snapshot(ws)
        outcomes.append("A" if _same_state(snap, snap_a) else "AB" if _same_state(snap, snap_ab) else "mixed")
        assert outcomes[-1] != "mixed", n
        if outcomes[-1] == "A":
            assert exit_code("-q", "ingest", "-w", str(ws), str(b), "--append") == 0
            assert _same_state(_snapshot(ws), snap_ab)
        shutil.rmtree(ws)
    assert "A" in outcomes and "AB" in outcomes, outcomes


def test_ingest_settings_are_checked(tmp_path):
    """``[ingest] block_mb`` / ``memory_limit`` that are not sizes: one message, exit 2."""
    from tests.test_transaction import _export

    a = _export(tmp_path / "a.csv", 1, 8)
    for bad in ("block_mb = 0", 'memory_limit = "lots"', "workers = 0", 'workers = "two"'):
        ws = tmp_path / f"ws{len(bad)}"
        ws.mkdir()
        (ws / "citynet.toml").write_text(f"[ingest]\n{bad}\n", encoding="utf-8")
        assert exit_code("-q", "ingest", "-w", str(ws), str(a)) == 2
    ws = tmp_path / "ok"
    ws.mkdir()
    (ws / "citynet.toml").write_text('[ingest]\nblock_mb = 1\nmemory_limit = "1GB"\n', encoding="utf-8")
    assert exit_code("-q", "ingest", "-w", str(ws), str(a)) == 0


def test_the_readers_nul_and_blank_line_check_is_the_regular_expression():
    """``etl.readers._irregular_bytes`` (numpy) finds a NUL byte or a blank line exactly where the regular
    expression of the rule does, on random blocks of the bytes that matter."""
    import random
    import re

    from citynet.etl.readers import _irregular_bytes

    rule = re.compile(rb"\x00|\n\n|\n\r\n|\r\r")
    rnd = random.Random(5)
    for _ in range(20_000):
        block = bytes(rnd.choice(b"ab,\"\n\r\x00\t\x0b") for _ in range(rnd.randint(0, 14)))
        assert _irregular_bytes(block) == (rule.search(block) is not None), block
        assert _irregular_bytes(memoryview(bytearray(block))) == (rule.search(block) is not None)


def test_the_readers_block_by_block_utf8_check_is_pythons_decoder():
    """``etl.readers._Utf8Check`` (Arrow's validator on whole blocks, a character cut by a block's end
    carried over) says a byte stream is UTF-8 exactly when Python's decoder does, however the stream is
    cut: random streams of ASCII, two- to four-byte characters and stray bytes, in random blocks."""
    import random

    from citynet.etl.readers import _Utf8Check

    rnd = random.Random(11)
    pieces = [b"a", b",", b"\n", "é".encode(), "中".encode(), "国".encode(), "𠀀".encode(), b"\xff", b"\x80", b"\xe4\xb8",
              b"\xc3", b"\xf0\x9f"]
    weights = [30, 5, 3, 5, 20, 20, 3, 1, 1, 1, 1, 1]
    for _ in range(3_000):
        data = b"".join(rnd.choices(pieces, weights, k=rnd.randint(0, 40)))
        try:
            data.decode("utf-8")
            want = True
        except UnicodeDecodeError:
            want = False
        check, ok, at = _Utf8Check(), True, 0
        while at < len(data):
            n = rnd.choice([1, 2, 3, 5, 8, 9, 13, 40])
            ok &= check.valid(memoryview(bytearray(data[at:at + n])))
            at += n
        ok &= check.valid(b"")
        assert ok == want, data


def test_a_streamed_export_with_bytes_that_are_not_utf8_is_read_carefully(tmp_path):
    """A byte that is not UTF-8 in one record of a streamed export (32 KiB batches): the file is read by the
    careful reader, which quarantines that record (``bad_encoding``) and loads the others; rows read =
    loaded + quarantined."""
    lines = _lines("patents.csv.gz")[:-1]
    body = "".join(lines).encode("utf-8")
    cut = body.index(b"\n", len(body) // 2) + 1  # the start of a record in the middle of the file
    comma = body.index(b",", cut)
    bad = tmp_path / "patents.csv"
    bad.write_bytes(body[:comma] + b"\xff" + body[comma:])
    ws, rep = _ingest(tmp_path / "ws", [bad], [], block_bytes=32 << 10, workers=2)
    f = rep["files"][0]
    assert f["quarantined_by_reason"].get("bad_encoding") == 1 and f["balanced"]
    assert f["rows_read"] == 1536


def _rows(lines: list[str]) -> list[list[str]]:
    return list(csv.reader(lines))


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def test_appends_that_share_numbers_applicants_and_citations_equal_one_ingest(tmp_path):
    """B and C share what an append must decide again with the corpus before them: B holds a more complete
    copy of an A record (kept in B, A's row quarantined) and a less complete one (A's kept); fifteen records
    of a variant of an A applicant's name (…股份有限公司 of …有限公司: more records, so the merged applicant's
    representative name, hence its id, changes) with addresses in another city (the corpus vote moves it);
    a reference to A patents by publication and by application number, and an A record cites B patents
    (old references that resolve only once B is in). C then repeats a B number and cites B. ``ingest A``,
    ``--append B``, ``--append C`` gives exactly the tables, quarantine rows and accounting of ``ingest A B C``."""
    import pyarrow.parquet as pq

    rows = _rows(_lines("patents.csv.gz"))
    head, body = [rows[0][0].lstrip("\ufeff"), *rows[0][1:]], rows[1:1500]
    a = [list(r) for r in body[:700]]
    b = [list(r) for r in body[700:800]]
    c = [list(r) for r in body[900:960]]
    firm, variant = "福州隆凯电气有限公司", "福州隆凯电气股份有限公司"
    assert sum(r[6] == firm for r in a) == 8
    fuller = list(a[0])  # its CPC field is empty in A
    assert fuller[12] == ""
    fuller[12] = fuller[11]
    poorer = list(a[1])
    poorer[14] = ""
    b += [fuller, poorer]
    for r in body[815:830]:  # the variant, in Xiamen
        r = list(r)
        r[6], r[7], r[8] = variant, "361000福建省厦门市思明区湖滨南路100号", "福建(35)"
        b.append(r)
    cites_a = list(body[810])
    cites_a[15] = f"{a[2][2]};{a[3][0]}"  # an A patent by publication number, another by application number
    b.append(cites_a)
    a[5][15] = f"{a[5][15]};{body[811][2]};{body[812][0]}".strip(";")  # A cites two B patents
    b += [list(body[811]), list(body[812])]
    again = list(body[811])  # C: a more complete copy of a B record, and a reference to B
    again[14] = again[14] or "有效"
    again[12] = again[12] or again[11]
    c.append(again)
    c[0][15] = body[812][2]

    raw = tmp_path / "raw"
    raw.mkdir()
    fa, fb, fc = (_write_rows(raw / f"{n}.csv", [head, *rs]) for n, rs in (("a", a), ("b", b), ("c", c)))
    both = tmp_path / "both"
    assert exit_code("-q", "ingest", "-w", str(both), str(fa), str(fb), str(fc)) == 0
    inc = tmp_path / "inc"
    assert exit_code("-q", "ingest", "-w", str(inc), str(fa)) == 0
    ids_a = pq.read_table(inc / "canonical" / "applicant_names.parquet").to_pydict()
    assert exit_code("-q", "ingest", "-w", str(inc), str(fb), "--append") == 0
    assert exit_code("-q", "ingest", "-w", str(inc), str(fc), "--append") == 0

    _assert_same_corpus(inc, both)

    # what the appends had to decide again really happened
    pats = pq.read_table(inc / "canonical" / "patents.parquet").to_pydict()
    src = dict(zip(pats["patent_id"], pats["source_file"], strict=True))
    assert Path(src[fuller[0]]).name == "b.csv" and Path(src[poorer[0]]).name == "a.csv"
    assert Path(src[body[811][0]]).name == "c.csv"
    names = pq.read_table(inc / "canonical" / "applicant_names.parquet").to_pydict()
    id_of = dict(zip(names["name"], names["applicant_id"], strict=True))
    assert id_of[firm] == id_of[variant] != dict(zip(ids_a["name"], ids_a["applicant_id"], strict=True))[firm]
    apps = pq.read_table(inc / "canonical" / "applicants.parquet").to_pydict()
    city = dict(zip(apps["applicant_id"], apps["city_code"], strict=True))
    assert city[id_of[firm]] == "350200"  # Xiamen: fifteen records against eleven in Fuzhou
    cit = pq.read_table(inc / "canonical" / "citations.parquet").to_pydict()
    resolved = set(zip(cit["citing_patent_id"], cit["cited_patent_id"], strict=True))
    cn = [n if n.startswith("CN") else "CN" + n for n in (a[5][0], body[811][0], body[812][0], cites_a[0], a[2][0],
                                                           a[3][0], c[0][0])]
    assert {(cn[0], cn[1]), (cn[0], cn[2]), (cn[3], cn[4]), (cn[3], cn[5]), (cn[6], cn[2])} <= resolved


def test_index_in_many_is_arrow_index_in():
    """``etl.stream.index_in_many`` (the look-up of each staged batch's names among every applicant name,
    session 16) gives what ``pyarrow.compute.index_in`` gives: the first position in the set, null for a
    value not in it or a null value; chunked or not, empty inputs, a set with repeated values."""
    import random

    import pyarrow as pa
    import pyarrow.compute as pc
    from citynet.etl.stream import index_in_many

    rng = random.Random(16)
    for _ in range(400):
        pool = [None, ""] + ["".join(rng.choice("ab甲乙 ") for _ in range(rng.randint(1, 4))) for _ in range(30)]
        values_set = [v for v in (rng.choice(pool) for _ in range(rng.randint(0, 25))) if v is not None]
        values = pa.array([rng.choice(pool) for _ in range(rng.randint(0, 40))], pa.string())
        if rng.random() < 0.5:
            values = pa.chunked_array([values.slice(0, len(values) // 2), values.slice(len(values) // 2)])
        want = pc.index_in(values, value_set=pa.array(values_set, pa.string()))
        want = want.combine_chunks() if isinstance(want, pa.ChunkedArray) else want
        assert index_in_many(values, pa.array(values_set, pa.string())).equals(want.cast(pa.int32()))


def test_a_background_result_once_taken_is_held_by_the_caller_only():
    """``etl.pipeline._Background.take`` (the transfer thread's result, session 18: the transfer files' raw
    fields were held by the finished job until the ingest returned, beside locating at 10M): the value is
    the thread's, the job keeps no reference to it, and a failed thread's error is raised as by ``result``."""
    import gc
    import weakref

    from citynet.etl.pipeline import _Background

    class Frames(list):  # a list that can be weakly referenced
        pass

    job = _Background(lambda: Frames([1, 2]), name="test-take")
    value = job.take()
    assert value == [1, 2]
    ref = weakref.ref(value)
    del value
    gc.collect()
    assert ref() is None  # nothing else held it
    assert job.value is None

    def fail():
        raise ValueError("read error")

    with pytest.raises(ValueError, match="read error"):
        _Background(fail, name="test-take-error").take()


def _careful_batches(path: Path, batch_rows: int, header_row: int = 1, encoding: str = "auto"):
    from citynet.etl.readers import stream_table

    raw = stream_table(path, encoding, careful=True, batch_rows=batch_rows, header_row=header_row)
    frames = list(raw.batches())
    return raw, frames


def test_the_careful_reader_hands_out_the_records_of_pythons_csv_in_batches(tmp_path):
    """An irregular export (a byte-order mark, a title above the header, CRLF, a field across lines, a blank
    line, a record with an extra field, a byte that is not UTF-8), read by the careful path in batches of two
    records: the records are those of Python's csv module on the whole decoded text, numbered as a
    spreadsheet numbers rows (written out by hand), the damaged ones set apart with their own rows; the
    batches together are the whole read of ``read_table``."""
    import pandas as pd
    from citynet.etl.readers import read_table

    text = ('\ufeffSearch: 光伏 2019\r\n申请号,名称,申请人\r\nCN1,"一种\r\n电池",甲公司\r\nCN2,组件,乙公司\r\n\r\n'
            'CN3,支架,丙公司,多余\r\nCN4,"逆变器",丁公司\r\nCN5,X,戊公司\r\n')
    data = text.encode("utf-8").replace(b"CN5,X", b"CN5,\xff")
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    raw, frames = _careful_batches(path, batch_rows=2, header_row=2)
    assert raw.header == ["申请号", "名称", "申请人"]
    assert [len(f) for f in frames] == [2, 1]
    got = pd.concat(frames, ignore_index=True)
    python = list(csv.reader(data.decode("utf-8", "surrogateescape").split("\r\n", 1)[1].splitlines(keepends=True)))
    assert python[0] == raw.header
    good = [r for r in python[1:] if len(r) == 3 and "\udcff" not in "".join(r)]
    assert got[raw.header].values.tolist() == good
    assert got["_row"].tolist() == [3, 4, 7]  # the title is row 1, the header row 2, the blank line row 5
    assert [(row, reason) for row, _, reason in raw.malformed] == [(6, "malformed_row"), (8, "bad_encoding")]
    assert raw.malformed[0][1] == "CN3,支架,丙公司,多余"
    whole = read_table(path, header_row=2)
    pd.testing.assert_frame_equal(got, whole.frame)
    assert whole.malformed == raw.malformed
    assert list(raw.batches()) and len(raw.malformed) == 2  # read again: the same rows, not twice


def test_the_careful_reader_holds_a_batch_not_the_file(tmp_path):
    """Memory is bounded by a batch, not by the file: streaming an irregular export (a blank line in it) in
    batches of 500 records peaks (tracemalloc, from opening the file to its last batch) at the same height
    for 30,000 and 60,000 records, where a whole read holds several times the file (the readers' fixed 4 MB
    sample of the encoding check is the same in both)."""
    import tracemalloc

    from citynet.etl.readers import stream_table

    def peak_of(records: int) -> tuple[int, int]:
        path = tmp_path / f"export-{records}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write("申请号,名称,申请人,地址\n")
            for i in range(records):
                fh.write(f"CN{i:09d},一种用于光伏组件的支架及其安装方法{i},某某新能源科技有限公司{i % 97},"
                         f"江苏省苏州市工业园区{i}号\n")
                if i == records // 2:
                    fh.write("\n")
        tracemalloc.start()
        try:
            raw = stream_table(path, careful=True, batch_rows=500)
            rows = sum(len(frame) for frame in raw.batches())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert rows == records and not raw.malformed
        return peak, path.stat().st_size

    small, small_size = peak_of(30_000)
    large, large_size = peak_of(60_000)
    assert large - small < (large_size - small_size) / 4, (small, large, small_size, large_size)


def test_a_file_mostly_undecodable_stops_the_careful_stream(tmp_path):
    """Records that are mostly undecodable in the chosen encoding: the file is in another one, one message
    (DataError) when the careful stream has seen them all."""
    from citynet.errors import DataError

    path = tmp_path / "gbk.csv"
    path.write_bytes("申请号,名称\nCN1,电池\nCN2,组件\n".encode("gb18030"))
    from citynet.etl.readers import stream_table

    raw = stream_table(path, "utf-8", careful=True, batch_rows=1)
    with pytest.raises(DataError, match="cannot decode the file as utf-8: 2 of 2 records"):
        list(raw.batches())


@pytest.mark.parametrize("roles", [("patents", "patents"), ("transfers", "transfers"), ("patents", "transfers")])
def test_a_file_named_twice_is_one_message(tmp_path, capsys, roles):
    """The same file twice on the command line (as the same path spelt otherwise too): one message, exit 2,
    nothing written. It used to be read twice — every row of the second reading quarantined as a duplicate
    of the first, a report of rows that were never there, or for patents a traceback of the row check."""
    from tests.cli import invoke

    lines = _lines("patents.csv.gz")
    export = tmp_path / "export.csv"
    export.write_text(lines[0] + "".join(lines[1:50]), encoding="utf-8", newline="")
    tr = tmp_path / "tr.csv"
    tr.write_text("".join(_lines("transfers.csv.gz")[:20]), encoding="utf-8", newline="")
    named = export if "patents" in roles else tr
    args = [export] if "patents" not in roles else []
    for role, f in zip(roles, (named, tmp_path / "." / named.name), strict=True):
        args += [f] if role == "patents" else ["--transfers", f]
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", *args)
    assert code == 2
    assert f"is given twice (as {roles[0] if roles[0] == roles[1] else 'patents and as transfers'})" in err
    assert not (tmp_path / "ws").exists()
