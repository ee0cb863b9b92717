"""Does a ``COPY`` into a relationship table that already holds rows cost with the rows it holds?

LadybugDB's does (docs/scale.md: at 10M patents about 1.43M appended ``APPLIED`` links took 14.1 s, 2-3x
a fresh load's time per row). This benchmark measures the same on an engine of the Kùzu family
(LadybugDB, Kùzu, ryugraph: one Python API, ``Database(path)``, ``Connection(db)``,
``conn.execute(query, parameters)``), in citynet's shape:

    Applicant(applicant_id STRING PK), Patent(patent_id STRING PK, app_year INT64),
    APPLIED(FROM Applicant TO Patent, seq INT64)

It generates (numpy ``default_rng(seed)``, ``--scale`` times 800,000 applicants and 10,000,000 patents,
about 1.22 links per patent from lognormally skewed applicants) a base, and an appended year of 12 %
more patents whose links come 90 % from old applicants and 10 % from new ones; all written once as
uncompressed Parquet under ``--workdir`` (reused by later runs with the same scale and seed). Each is
loaded with ``COPY Table FROM 'file.parquet'`` on ``--threads`` threads (citynet's COPY runs on one)
with a ``--buffer-pool-mb`` page cache (citynet's default 2 GB), and times (``time.perf_counter``):

  (a) fresh: the base's nodes and links into an empty database;
  (b) append: that database closed and opened again, then the appended year's nodes and links;
  (c) empty: a fresh database holding the same nodes (base + appended) but an empty ``APPLIED``,
      closed and opened again, then the appended year's links alone: the same rows without prior rows.

Each ``COPY`` is followed by a timed ``CHECKPOINT``. It prints µs per row of every ``COPY``, the ratio
(b)/(c) of the links' ``COPY`` (the same rows, so the same ratio per row), and checks every table's
``count(*)``. Every measurement runs ``--repeats`` times (default 2), each in fresh directories.

Run once per engine, each in that engine's own venv (the engines cannot share one), e.g.:

    nice -n 10 /usr/bin/time -v VENV/bin/python bench/engine_append.py --engine kuzu \\
        --scale 0.25 --workdir /work/big/s32/engine_append

``--engine`` is ``ladybug``, ``kuzu`` or ``ryugraph`` (the module imported). Standalone: stdlib,
numpy, pyarrow and the engine only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SCHEMA = [
    "CREATE NODE TABLE Applicant(applicant_id STRING, PRIMARY KEY(applicant_id))",
    "CREATE NODE TABLE Patent(patent_id STRING, app_year INT64, PRIMARY KEY(patent_id))",
    "CREATE REL TABLE APPLIED(FROM Applicant TO Patent, seq INT64)",
]
COUNT = {
    "Applicant": "MATCH (a:Applicant) RETURN count(*)",
    "Patent": "MATCH (p:Patent) RETURN count(*)",
    "APPLIED": "MATCH ()-[r:APPLIED]->() RETURN count(*)",
}
FILES = ["base_applicants", "base_patents", "base_links", "append_applicants", "append_patents",
         "append_links"]


def ids(prefix: str, start: int, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``start .. start + n - 1``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string()),
                          width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def links_of(rng: np.random.Generator, n_patents: int) -> tuple[np.ndarray, np.ndarray]:
    """Each patent's links (1, or 2 for 22 % of them: about 1.22 per patent): patent index and seq."""
    per = 1 + (rng.random(n_patents) < 0.22).astype(np.int64)
    patent = np.repeat(np.arange(n_patents, dtype=np.int64), per)
    first = np.repeat(np.cumsum(per) - per, per)
    return patent, np.arange(len(patent), dtype=np.int64) - first


def skewed(rng: np.random.Generator, n: int) -> np.ndarray:
    """Probabilities of ``n`` applicants, lognormal (a few hold many patents)."""
    w = rng.lognormal(0.0, 2.0, n)
    return w / w.sum()


def generate(scale: float, seed: int, out: Path) -> dict:
    """The six Parquet files in ``out`` (made once per scale and seed); returns their row counts."""
    manifest = out / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_app, n_pat = round(800_000 * scale), round(10_000_000 * scale)
    n_app_new, n_pat_new = round(0.05 * n_app), round(0.12 * n_pat)

    app_ids = ids("A", 0, n_app + n_app_new, 9)
    pat_ids = ids("P", 0, n_pat + n_pat_new, 10)

    # base: years 2006..2019, the rows in year order as an ingest writes them
    years = np.sort(rng.integers(2006, 2020, n_pat))
    p_old = skewed(rng, n_app)
    patent, seq = links_of(rng, n_pat)
    applicant = rng.choice(n_app, size=len(patent), p=p_old)
    # appended year 2020: 90 % of its links from old applicants (same skew), 10 % from new ones
    patent_b, seq_b = links_of(rng, n_pat_new)
    new = rng.random(len(patent_b)) < 0.10
    applicant_b = np.where(new, n_app + rng.choice(n_app_new, size=len(patent_b), p=skewed(rng, n_app_new)),
                           rng.choice(n_app, size=len(patent_b), p=p_old))
    patent_b += n_pat

    tables = {
        "base_applicants": pa.table({"applicant_id": app_ids.slice(0, n_app)}),
        "base_patents": pa.table({"patent_id": pat_ids.slice(0, n_pat), "app_year": pa.array(years)}),
        "base_links": pa.table({"from": app_ids.take(pa.array(applicant)), "to": pat_ids.take(pa.array(patent)),
                                "seq": pa.array(seq)}),
        "append_applicants": pa.table({"applicant_id": app_ids.slice(n_app, n_app_new)}),
        "append_patents": pa.table({"patent_id": pat_ids.slice(n_pat, n_pat_new),
                                    "app_year": pa.array(np.full(n_pat_new, 2020, dtype=np.int64))}),
        "append_links": pa.table({"from": app_ids.take(pa.array(applicant_b)),
                                  "to": pat_ids.take(pa.array(patent_b)), "seq": pa.array(seq_b)}),
    }
    counts = {}
    for name, t in tables.items():
        pq.write_table(t, out / f"{name}.parquet", compression="none")
        counts[name] = t.num_rows
    counts["old_applicants_in_append_links"] = int((~new).sum())
    manifest.write_text(json.dumps(counts, indent=1))
    print(f"generated {out} in {time.perf_counter() - t0:.1f} s: {counts}", flush=True)
    return counts


class Store:
    def __init__(self, eng, path: Path, args):
        self.eng, self.path, self.args = eng, path, args
        self.open()

    def open(self):
        t0 = time.perf_counter()
        self.db = self.eng.Database(str(self.path), buffer_pool_size=self.args.buffer_pool_mb * 1024 * 1024,
                                    max_num_threads=self.args.threads)
        self.conn = self.eng.Connection(self.db)
        return time.perf_counter() - t0

    def close(self):
        self.conn.close()
        self.db.close()
        self.conn = self.db = None

    def reopen(self) -> float:
        self.close()
        return self.open()

    def run(self, q: str):
        return self.conn.execute(q)

    def scalar(self, q: str):
        r = self.run(q)
        return r.get_next()[0]

    def timed(self, q: str) -> float:
        t0 = time.perf_counter()
        self.run(q)
        return time.perf_counter() - t0

    def copy(self, table: str, data: Path, name: str, rows: int, log: list) -> tuple[float, float]:
        """``COPY table FROM name.parquet`` then ``CHECKPOINT``; both times, logged."""
        t = self.timed(f"COPY {table} FROM '{data / (name + '.parquet')}'")
        c = self.timed("CHECKPOINT")
        log.append((table, name, rows, t, c))
        print(f"    COPY {table:<9} {name:<17} {rows:>10,} rows  {t:8.2f} s  {1e6 * t / rows:6.2f} µs/row"
              f"   + CHECKPOINT {c:6.2f} s", flush=True)
        return t, c

    def verify(self, expected: dict) -> bool:
        got = {t: self.scalar(q) for t, q in COUNT.items()}
        ok = got == expected
        print(f"    counts {got} {'OK' if ok else 'MISMATCH, expected ' + str(expected)}", flush=True)
        return ok


def measure(eng, args, data: Path, n: dict, rep: int) -> dict:
    root = Path(args.workdir) / f"db-{args.engine}-{eng.__version__}-s{args.scale}-r{rep}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log: list = []
    res: dict = {"ok": True}

    print(f"  repeat {rep}: (a) fresh", flush=True)
    s = Store(eng, root / "main.db", args)
    for q in SCHEMA:
        s.run(q)
    s.copy("Applicant", data, "base_applicants", n["base_applicants"], log)
    s.copy("Patent", data, "base_patents", n["base_patents"], log)
    res["fresh"] = s.copy("APPLIED", data, "base_links", n["base_links"], log)
    res["ok"] &= s.verify({"Applicant": n["base_applicants"], "Patent": n["base_patents"],
                           "APPLIED": n["base_links"]})
    print(f"  repeat {rep}: (b) append (reopened in {s.reopen():.2f} s)", flush=True)
    s.copy("Applicant", data, "append_applicants", n["append_applicants"], log)
    s.copy("Patent", data, "append_patents", n["append_patents"], log)
    res["append"] = s.copy("APPLIED", data, "append_links", n["append_links"], log)
    res["ok"] &= s.verify({"Applicant": n["base_applicants"] + n["append_applicants"],
                           "Patent": n["base_patents"] + n["append_patents"],
                           "APPLIED": n["base_links"] + n["append_links"]})
    s.close()
    res["bytes_main"] = sum(f.stat().st_size for f in root.glob("main.db*") if f.is_file())

    print(f"  repeat {rep}: (c) same links into an empty APPLIED", flush=True)
    s = Store(eng, root / "empty.db", args)
    for q in SCHEMA:
        s.run(q)
    for table, name in [("Applicant", "base_applicants"), ("Applicant", "append_applicants"),
                        ("Patent", "base_patents"), ("Patent", "append_patents")]:
        s.copy(table, data, name, n[name], log)
    print(f"    reopened in {s.reopen():.2f} s", flush=True)
    res["empty"] = s.copy("APPLIED", data, "append_links", n["append_links"], log)
    res["ok"] &= s.verify({"Applicant": n["base_applicants"] + n["append_applicants"],
                           "Patent": n["base_patents"] + n["append_patents"],
                           "APPLIED": n["append_links"]})
    s.close()
    if not args.keep:
        shutil.rmtree(root)
    res["log"] = log
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=["ladybug", "kuzu", "ryugraph"], required=True)
    ap.add_argument("--scale", type=float, default=0.25, help="x 800,000 applicants, 10,000,000 patents")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default="/work/big/s32/engine_append")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="engine threads (citynet's COPY: 1)")
    ap.add_argument("--buffer-pool-mb", type=int, default=2048, help="citynet's [store] buffer_pool: 2GB")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    args = ap.parse_args(argv)

    eng = importlib.import_module(args.engine)
    print(f"engine {args.engine} {eng.__version__}, python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"pyarrow {pa.__version__}; scale {args.scale}, seed {args.seed}, threads {args.threads}, "
          f"buffer pool {args.buffer_pool_mb} MB", flush=True)
    data = Path(args.workdir) / f"data-s{args.scale}-seed{args.seed}"
    n = generate(args.scale, args.seed, data)
    print(f"data {data}: {n}", flush=True)

    results = [measure(eng, args, data, n, rep) for rep in range(1, args.repeats + 1)]

    print("\nsummary (links: COPY APPLIED; µs/row of the COPY alone, [with its CHECKPOINT])")
    print(f"{'engine':<9} {'version':<8} {'scale':>5} {'rep':>3} {'fresh links':>18} {'append links':>18} "
          f"{'into empty':>18} {'ratio b/c':>14} counts")
    for rep, r in enumerate(results, 1):
        cells = []
        for k, rows in [("fresh", n["base_links"]), ("append", n["append_links"]), ("empty", n["append_links"])]:
            t, c = r[k]
            cells.append(f"{1e6 * t / rows:7.2f} [{1e6 * (t + c) / rows:7.2f}]")
        (tb, cb), (te, ce) = r["append"], r["empty"]
        ratio = f"{tb / te:5.2f} [{(tb + cb) / (te + ce):5.2f}]"
        print(f"{args.engine:<9} {eng.__version__:<8} {args.scale:>5} {rep:>3} {cells[0]:>18} {cells[1]:>18} "
              f"{cells[2]:>18} {ratio:>14} {'OK' if r['ok'] else 'MISMATCH'}  (store {r['bytes_main'] / 1e6:.0f} MB)")
    print(f"peak RSS (ru_maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss:,} kB", flush=True)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
