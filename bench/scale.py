"""Scale benchmark: synth → ingest → load → metrics at growing corpus sizes, each stage a child process
whose wall time, CPU time and peak RSS are measured by ``/usr/bin/time -v`` (GNU time: ``Elapsed
(wall clock) time``, ``User time`` + ``System time``, ``Maximum resident set size`` of that process
tree's largest member). On a shared machine the CPU time is the steadier figure.

    python -m bench.scale [--sizes 1000000,2000000] [--root DIR] [--peer-python python3 --peer-dir /work/main]

Per size N (patents) it runs, in a fresh workspace under ``--root``:

- ``synth`` (kept and reused when ``--root`` already holds that size's export),
- ``ingest`` of the patent and transfer exports,
- ``load`` into an empty embedded store, then ``reload`` (nothing changed: skipped tables),
- ``metrics`` (every year of the default filter),
- the yearly refresh: the export split into "every year but the last" (A) and "the last year" (B);
  a second workspace ingests and loads A, computes metrics, then appends B (``ingest B --append``),
  loads (incremental) and runs ``metrics --years LAST``. Its ``ingest --append + load + metrics
  --years`` (the issue's measure) is printed as a share of the full run's ``ingest + load + metrics``,
  and so is its ``load + metrics --years`` alone.

With ``--peer-python`` the same 1M-or-smallest ``ingest`` runs with another citynet (e.g. the main
branch: ``--peer-python python3 --peer-dir /work/main``) on the same input, and the ratio is printed.
Growth between sizes is printed as the ratio of each stage's time and memory to the previous size.
Targets (issue 12): 10M raw → panels ≤ 5 min and ≤ 4 GB peak RSS per stage; 1M ingest ≤ 15 s;
a no-op reload ≤ 1 s; appending a year then load + metrics --years ≤ 10 % of the full run.
A benchmark printed from one run, not a test. The machine is shared: run big sizes deliberately.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

TIME = "/usr/bin/time"


def measure(cmd: list[str], cwd: str | None = None, log: Path | None = None) -> dict:
    """Run ``cmd`` under GNU time; ``{"seconds", "cpu_s", "rss_gib", "rc"}`` (cpu = user + system)."""
    proc = subprocess.run([TIME, "-v", *cmd], cwd=cwd, capture_output=True, text=True)
    err = proc.stderr
    if log is not None:
        log.write_text(proc.stdout + "\n" + err, encoding="utf-8")
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", err)
    parts = [float(x) for x in m.group(1).split(":")] if m else [float("nan")]
    secs = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    r = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    rss = int(r.group(1)) / 2**20 if r else float("nan")
    cpu = sum(float(c.group(1)) for c in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", err))
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[:4])}… exited {proc.returncode}; log: {log}", file=sys.stderr)
    return {"seconds": round(secs, 2), "cpu_s": round(cpu, 2), "rss_gib": round(rss, 3), "rc": proc.returncode}


def citynet(python: str, *args: str) -> list[str]:
    return [python, "-m", "citynet", "-q", *args]


def split_last_year(raw: Path, out: Path) -> int:
    """Write ``out/a.csv`` (every row whose application date is not in the last year) and
    ``out/b.csv`` (the rest) from ``raw/patents.csv``; returns the last year. The year is the first
    four digits of the 申请日 field; rows where that is unreadable go to A (they are quarantined
    or located by ingest as usual)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    src = raw / "patents.csv"
    table = pv.read_csv(src, read_options=pv.ReadOptions(encoding="utf-8"),
                        convert_options=pv.ConvertOptions(column_types=None, strings_can_be_null=False,
                                                          auto_dict_encode=False))
    table = table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))
    date_col = next(c for c in table.column_names if "申请日" in c)
    year = pc.utf8_slice_codeunits(pc.replace_substring_regex(table[date_col], r"\D", ""), 0, 4)
    years = pc.cast(pc.if_else(pc.match_substring_regex(year, r"^(19|20)\d\d$"), year, None), pa.int32())
    counts = pc.value_counts(years).to_pylist()  # the last year with real volume (noise has 2099 etc.)
    last = max(c["values"] for c in counts if c["values"] is not None and c["counts"] >= 0.01 * len(table))
    in_b = pc.fill_null(pc.equal(years, last), False)
    out.mkdir(parents=True, exist_ok=True)
    opts = pv.WriteOptions(quoting_style="all_valid")
    pv.write_csv(table.filter(pc.invert(in_b)), out / "a.csv", opts)
    pv.write_csv(table.filter(in_b), out / "b.csv", opts)
    return last


def run_size(n: int, root: Path, python: str, peer: tuple[str, str] | None) -> dict:
    base = root / f"n{n}"
    raw = base / "synth" / "raw"
    logs = base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    res: dict[str, dict] = {}
    if not (raw / "patents.csv").exists():
        res["synth"] = measure(citynet(python, "synth", str(base / "synth"), "--patents", str(n), "--seed", "7"),
                               log=logs / "synth.log")
    ws = base / "ws"
    ingest_args = ["ingest", "-w", str(ws), str(raw / "patents.csv"), "--transfers", str(raw / "transfers.csv")]
    if peer is not None:
        py, cwd = peer
        res["ingest (peer)"] = measure(citynet(py, "ingest", "-w", str(base / "ws_peer"), str(raw / "patents.csv"),
                                               "--transfers", str(raw / "transfers.csv")), cwd=cwd,
                                       log=logs / "ingest_peer.log")
    res["ingest"] = measure(citynet(python, *ingest_args), log=logs / "ingest.log")
    res["load"] = measure(citynet(python, "load", "-w", str(ws)), log=logs / "load.log")
    res["reload (no change)"] = measure(citynet(python, "load", "-w", str(ws)), log=logs / "reload.log")
    res["metrics"] = measure(citynet(python, "metrics", "-w", str(ws)), log=logs / "metrics.log")

    # yearly refresh: A = every year but the last, then A+B
    split = base / "split"
    last = split_last_year(raw, split)
    wy = base / "ws_year"
    res["ingest A"] = measure(citynet(python, "ingest", "-w", str(wy), str(split / "a.csv"), "--transfers",
                                      str(raw / "transfers.csv")), log=logs / "ingest_a.log")
    res["load A"] = measure(citynet(python, "load", "-w", str(wy)), log=logs / "load_a.log")
    res["metrics A"] = measure(citynet(python, "metrics", "-w", str(wy)), log=logs / "metrics_a.log")
    res["ingest --append B"] = measure(citynet(python, "ingest", "-w", str(wy), str(split / "b.csv"), "--append"),
                                       log=logs / "ingest_append_b.log")
    res["load +B"] = measure(citynet(python, "load", "-w", str(wy)), log=logs / "load_b.log")
    res[f"metrics --years {last}"] = measure(citynet(python, "metrics", "-w", str(wy), "--years", str(last)),
                                             log=logs / "metrics_b.log")
    res["_summary"] = _summary(res, ("ingest", "load", "metrics"), last, append="ingest --append B")
    return res


def _summary(res: dict, full_stages: tuple[str, ...], last: int, append: str | None = None) -> dict:
    """The refresh's share of the full run: ``load +B`` + ``metrics --years LAST`` (and, when the
    refresh ingested by ``append``, that stage too: the issue's measure), in wall and CPU seconds."""
    refresh_stages = ("load +B", f"metrics --years {last}")
    full = sum(res[k]["seconds"] for k in full_stages)
    full_cpu = sum(res[k]["cpu_s"] for k in full_stages)
    refresh = sum(res[k]["seconds"] for k in refresh_stages)
    refresh_cpu = sum(res[k]["cpu_s"] for k in refresh_stages)
    out = {"full_run_s": round(full, 2), "refresh_load_metrics_s": round(refresh, 2),
           "refresh_share": round(refresh / full, 3), "last_year": last,
           "full_run_cpu_s": round(full_cpu, 2), "refresh_cpu_s": round(refresh_cpu, 2),
           "refresh_share_cpu": round(refresh_cpu / full_cpu, 3) if full_cpu else None,
           "basis": " + ".join(full_stages)}
    if append is not None:
        total, total_cpu = refresh + res[append]["seconds"], refresh_cpu + res[append]["cpu_s"]
        out.update({"append_refresh_s": round(total, 2), "append_refresh_share": round(total / full, 3),
                    "append_refresh_cpu_s": round(total_cpu, 2),
                    "append_refresh_share_cpu": round(total_cpu / full_cpu, 3) if full_cpu else None})
    return out


def replicate(src: Path, k: int, out: Path, last_year: int | None = None) -> None:
    """Canonical tables of ``k`` copies of the canonical tables in ``src`` (a real ingest's output),
    written to ``out`` by DuckDB without loading them into memory: copy ``i > 0`` suffixes every
    patent, applicant and transfer id (and publication number) with ``.i``, so the corpus has ``k``
    times the patents, links, citations, transfers and applicants with the real distributions.
    With ``last_year``, patents of that application year are left out, with their links and the
    citations they make (A of the yearly refresh; transfers are kept, as the export split keeps them
    with A). ``patents`` is written as the ingest writes it (sorted by year, no row group spanning
    two years: ``_write_by_year``). The digests are recorded in ``out/manifest.json`` (as ingest does)."""
    import duckdb
    from citynet.etl.manifest import record

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET memory_limit = '3GB'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{out.parent / 'duckdb_tmp'}'")
    sfx = "CASE WHEN r.i = 0 THEN '' ELSE '.' || CAST(r.i AS VARCHAR) END"

    def ids(col: str) -> str:
        return f"{col} || {sfx} AS {col}"

    keep = "" if last_year is None else f"WHERE app_year IS DISTINCT FROM {int(last_year)}"
    q = {
        "cities": "SELECT * FROM read_parquet('{s}')",
        "applicants": f"SELECT * REPLACE ({ids('applicant_id')}) FROM read_parquet('{{s}}', file_row_number = true) t, "
                      f"range({k}) r(i) ORDER BY r.i, file_row_number",
        "patents": f"SELECT * REPLACE ({ids('patent_id')}, {ids('pub_number')}) FROM read_parquet('{{s}}', "
                   f"file_row_number = true) t, range({k}) r(i) {keep} ORDER BY r.i, file_row_number",
        "patent_applicants": f"SELECT * REPLACE ({ids('patent_id')}, {ids('applicant_id')}) FROM read_parquet('{{s}}', "
                             f"file_row_number = true) t, range({k}) r(i) ORDER BY r.i, file_row_number",
        "transfers": f"SELECT * REPLACE ({ids('transfer_id')}, {ids('patent_id')}, {ids('from_applicant_id')}, "
                     f"{ids('to_applicant_id')}) FROM read_parquet('{{s}}', file_row_number = true) t, range({k}) r(i) "
                     "ORDER BY r.i, file_row_number",
        "citations": f"SELECT * REPLACE ({ids('citing_patent_id')}, {ids('cited_patent_id')}) FROM read_parquet("
                     f"'{{s}}', file_row_number = true) t, range({k}) r(i) ORDER BY r.i, file_row_number",
    }
    for name, sql in q.items():
        sql = sql.format(s=src / f"{name}.parquet")
        if last_year is not None and name in ("patent_applicants", "citations"):
            col = "patent_id" if name == "patent_applicants" else "citing_patent_id"
            pat = src / "patents.parquet"
            sql = (f"SELECT * FROM ({sql}) x WHERE regexp_replace({col}, '\\.[0-9]+$', '') NOT IN "
                   f"(SELECT patent_id FROM read_parquet('{pat}') WHERE app_year = {int(last_year)})")
        cols = [c for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src / f'{name}.parquet'}')").fetchall()]
        names = ", ".join(f'"{c[0]}"' for c in cols)
        if name == "patents":  # as the ingest writes it: sorted by year, no row group spans two years
            _write_by_year(con, f"SELECT {names} FROM ({sql})", out / "patents.parquet")
        else:
            con.execute(f"COPY (SELECT {names} FROM ({sql})) TO '{out / f'{name}.parquet'}' (FORMAT parquet)")
        record(out / f"{name}.parquet")
    con.close()


def _write_by_year(con, sql: str, path: Path) -> None:
    """``sql``'s rows to ``path`` in the layout of ``etl.stream.write_patents``: sorted by
    ``app_year`` (then the query's order), one year per row group of at most ``PATENT_ROW_GROUP`` rows,
    written by pyarrow (the ingest's writer)."""
    import pyarrow.parquet as pq
    from citynet.etl.schema import CANONICAL
    from citynet.etl.stream import PATENT_ROW_GROUP

    con.execute(f"CREATE OR REPLACE TEMP TABLE _p AS SELECT *, row_number() OVER () AS _o FROM ({sql})")
    years = [r[0] for r in con.execute("SELECT DISTINCT app_year FROM _p ORDER BY 1 NULLS LAST").fetchall()]
    writer = None
    try:
        for y in years:
            cond = "app_year IS NULL" if y is None else f"app_year = {int(y)}"
            t = con.sql(f"SELECT * EXCLUDE (_o) FROM _p WHERE {cond} ORDER BY _o").to_arrow_table()
            if t.schema.names == CANONICAL["patents"].names:
                t = t.cast(CANONICAL["patents"])
            writer = writer or pq.ParquetWriter(path, t.schema)
            writer.write_table(t, row_group_size=PATENT_ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()
    con.execute("DROP TABLE _p")


def run_replicated(n: int, src: Path, root: Path, python: str) -> dict:
    """The load and metrics stages at ``n`` patents on ``replicate``d canonical tables of ``src``
    (``n`` a multiple of its patents): load (empty store), reload, metrics; then the yearly refresh:
    a second workspace loads and computes A (every year but the last), its canonical tables are
    replaced by the whole corpus (what ``ingest --append`` of the last year publishes), then
    ``load`` and ``metrics --years LAST``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    n_src = pq.ParquetFile(src / "patents.parquet").metadata.num_rows
    k = max(1, round(n / n_src))
    years = pq.read_table(src / "patents.parquet", columns=["app_year"]).column(0)
    last = int(pc.max(years).as_py())
    base = root / f"r{k * n_src}"
    logs = base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ws, wy = base / "ws", base / "ws_year"
    res: dict[str, dict] = {}
    if not (ws / "canonical" / "patents.parquet").exists():
        replicate(src, k, ws / "canonical")
    res["load"] = measure(citynet(python, "load", "-w", str(ws)), log=logs / "load.log")
    res["reload (no change)"] = measure(citynet(python, "load", "-w", str(ws)), log=logs / "reload.log")
    res["metrics"] = measure(citynet(python, "metrics", "-w", str(ws)), log=logs / "metrics.log")
    import shutil

    for sub in ("canonical", "store", "metrics"):
        shutil.rmtree(wy / sub, ignore_errors=True)
    replicate(src, k, wy / "canonical", last_year=last)
    res["load A"] = measure(citynet(python, "load", "-w", str(wy)), log=logs / "load_a.log")
    res["metrics A"] = measure(citynet(python, "metrics", "-w", str(wy)), log=logs / "metrics_a.log")
    shutil.rmtree(wy / "canonical")
    shutil.copytree(ws / "canonical", wy / "canonical")
    res["load +B"] = measure(citynet(python, "load", "-w", str(wy)), log=logs / "load_b.log")
    res[f"metrics --years {last}"] = measure(citynet(python, "metrics", "-w", str(wy), "--years", str(last)),
                                             log=logs / "metrics_b.log")
    res["_summary"] = _summary(res, ("load", "metrics"), last)
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000", help="comma-separated patent counts (default 1000000)")
    ap.add_argument("--root", default="/tmp/citynet-bench-scale", help="work folder (exports are reused)")
    ap.add_argument("--python", default=sys.executable, help="python of the citynet under test")
    ap.add_argument("--peer-python", default=None, help="python of the citynet to compare ingest with")
    ap.add_argument("--peer-dir", default=None, help="working directory for the peer (its checkout)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--canonical-from", type=Path, default=None,
                    help="load and metrics stages only, on copies of this folder's canonical tables (a real "
                         "ingest's output) replicated to each size (bench.scale.replicate)")
    args = ap.parse_args(argv)
    if not os.path.exists(TIME):
        sys.exit(f"{TIME} (GNU time) is needed: apt-get install time")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    root = Path(args.root)
    out: dict[int, dict] = {}
    for i, n in enumerate(sizes):
        peer = (args.peer_python, args.peer_dir) if args.peer_python and i == 0 else None
        print(f"== {n:,} patents", flush=True)
        if args.canonical_from is not None:
            out[n] = run_replicated(n, args.canonical_from, root, args.python)
        else:
            out[n] = run_size(n, root, args.python, peer)
        prev = out[sizes[i - 1]] if i else None
        for stage, r in out[n].items():
            if stage.startswith("_"):
                continue
            growth = ""
            if prev and stage in prev and prev[stage]["seconds"]:
                growth = (f"  growth x{r['seconds'] / prev[stage]['seconds']:.2f} time, "
                          f"x{r['rss_gib'] / prev[stage]['rss_gib']:.2f} memory")
            print(f"  {stage:<24} {r['seconds']:8.1f} s  cpu {r['cpu_s']:8.1f} s  {r['rss_gib']:6.2f} GiB{growth}",
                  flush=True)
        if "ingest (peer)" in out[n]:
            ratio = out[n]["ingest (peer)"]["seconds"] / out[n]["ingest"]["seconds"]
            print(f"  ingest: peer / this = {ratio:.2f}x time, "
                  f"{out[n]['ingest (peer)']['rss_gib'] / out[n]['ingest']['rss_gib']:.2f}x memory")
        s = out[n]["_summary"]
        print(f"  full run ({s['basis']}) {s['full_run_s']:.1f} s; after adding year {s['last_year']}: "
              f"load + metrics --years {s['refresh_load_metrics_s']:.1f} s = {100 * s['refresh_share']:.0f} % "
              f"of the full run (CPU: {s['refresh_cpu_s']:.1f} of {s['full_run_cpu_s']:.1f} s = "
              f"{100 * (s['refresh_share_cpu'] or 0):.0f} %)", flush=True)
        if "append_refresh_s" in s:
            print(f"  ingest --append + load + metrics --years {s['append_refresh_s']:.1f} s = "
                  f"{100 * s['append_refresh_share']:.0f} % of the full run (CPU: {s['append_refresh_cpu_s']:.1f} s "
                  f"= {100 * (s['append_refresh_share_cpu'] or 0):.0f} %; target of issue 12: 10 %)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
