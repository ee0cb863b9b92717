"""Does a ``COPY`` into a relationship table that already holds rows cost with the rows it holds?

docs/scale.md says LadybugDB's does (at 10M patents about 1.43M appended ``APPLIED`` links took 14.1 s, 2-3x
a fresh load's time per row). This benchmark measures the same on an engine of the Kùzu family
(LadybugDB, Kùzu, ryugraph: one Python API, ``Database(path)``, ``Connection(db)``,
``conn.execute(query, parameters)``), in citynet's shape:

    Applicant(applicant_id STRING PK), Patent(patent_id STRING PK, app_year INT64),
    APPLIED(FROM Applicant TO Patent, seq INT64)

``--shape citynet`` (the default is ``--shape minimal``, the schema above) declares the three tables with
every column of cypher/schema.embedded.cypher instead (Applicant: name, kind, country, city_code,
province_code, located_by, row_hash; Patent: app_date, app_year, pub_number, grant_date, granted,
patent_kind, ipc_main, the lists ipc, cpc and green_topics, green, y02, title, grant_year, refs_made,
refs_foreign, row_hash; APPLIED: seq, city_code, row_hash) and fills them with citynet's value shapes:
applicant ids ``A`` + 16 hex digits (hashed, so in no order), patent ids like ``CN202010123456.7``
(16 characters: both kinds of id longer than the 12 bytes a string keeps inline, where the minimal ids
are not), names of 2-16 and titles of 20-40 CJK ideographs, IPC/CPC codes like ``H01M 10/0525`` (1-4
per patent, half the patents without CPC), dates, 6-digit city codes of 620 cities, random int64
``row_hash``. The same patents, years and links as the minimal shape, only wider. (LadybugDB 0.20.4, a
shared 2-core machine, --scale 1: the appended links cost 3.6-4.2 µs/row in the minimal shape, 1.4-1.7x
the same links into an empty table; 10.1-12.2 µs/row in the citynet shape, 2.0-2.3x.)

It generates (numpy ``default_rng(seed)``, ``--scale`` times 800,000 applicants and 10,000,000 patents,
about 1.22 links per patent from lognormally skewed applicants) a base, and an appended year of 12 %
more patents whose links come 90 % from old applicants and 10 % from new ones; all written once as
uncompressed Parquet under ``--workdir`` (``data-s{scale}-seed{seed}``, with ``-citynet`` for that shape;
reused by later runs with the same scale, seed and shape). Each is
loaded with ``COPY Table FROM 'file.parquet'`` on ``--threads`` threads (citynet's COPY runs on one)
with a ``--buffer-pool-mb`` page cache (citynet's default 2 GB), and times (``time.perf_counter``):

  (a) fresh: the base's nodes and links into an empty database;
  (b) append: that database closed and opened again, then the appended year's nodes and links;
  (c) empty: a fresh database holding the same nodes (base + appended) but an empty ``APPLIED``,
      closed and opened again, then the appended year's links alone: the same rows without prior rows.

Each ``COPY`` is followed by a timed ``CHECKPOINT``. It prints µs per row of every ``COPY``, the ratio
(b)/(c) of the links' ``COPY`` (the same rows, so the same ratio per row), and checks every table's
``count(*)``. Every measurement runs ``--repeats`` times (default 2), each in fresh directories (the
database of (a)-(b) is deleted before (c) is built unless ``--keep``).

Run once per engine, each in that engine's own venv (the engines cannot share one), e.g.:

    nice -n 10 /usr/bin/time -v VENV/bin/python bench/engine_append.py --engine kuzu \\
        --scale 0.25 --workdir /work/big/s32/engine_append
    nice -n 10 VENV/bin/python bench/engine_append.py --engine ladybug --shape citynet --scale 0.2 --repeats 1

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
def _citynet_schema() -> list[str]:
    """--shape citynet: Applicant, Patent and APPLIED as cypher/schema.embedded.cypher declares them (read from
    the file beside this script, so the benchmark follows the store's schema)."""
    text = (Path(__file__).resolve().parents[1] / "cypher" / "schema.embedded.cypher").read_text(encoding="utf-8")
    wanted = ("NODE TABLE IF NOT EXISTS Applicant(", "NODE TABLE IF NOT EXISTS Patent(",
              "REL TABLE IF NOT EXISTS APPLIED(")
    found = [line.strip().rstrip(";").replace(" IF NOT EXISTS", "") for line in text.splitlines()
             if line.startswith("CREATE ") and any(w in line for w in wanted)]
    if len(found) != len(wanted):
        raise SystemExit(f"cypher/schema.embedded.cypher: expected {len(wanted)} tables, found {len(found)}")
    return found


SCHEMA_CITYNET = _citynet_schema()
SCHEMAS = {"minimal": SCHEMA, "citynet": SCHEMA_CITYNET}
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


def draw(scale: float, seed: int) -> dict:
    """The corpus's sizes, the patents' years and every link's applicant and patent index (the same for
    both shapes: ``--shape citynet`` widens the same rows)."""
    rng = np.random.default_rng(seed)
    n_app, n_pat = round(800_000 * scale), round(10_000_000 * scale)
    n_app_new, n_pat_new = round(0.05 * n_app), round(0.12 * n_pat)
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
    return {"n_app": n_app, "n_pat": n_pat, "n_app_new": n_app_new, "n_pat_new": n_pat_new, "years": years,
            "patent": patent, "seq": seq, "applicant": applicant, "patent_b": patent_b, "seq_b": seq_b,
            "applicant_b": applicant_b, "new": new}


def minimal_tables(d: dict) -> dict:
    """``--shape minimal``: ids ``A`` + 9 digits and ``P`` + 10 digits, ``app_year``, ``seq``."""
    n_app, n_pat, n_app_new, n_pat_new = d["n_app"], d["n_pat"], d["n_app_new"], d["n_pat_new"]
    app_ids = ids("A", 0, n_app + n_app_new, 9)
    pat_ids = ids("P", 0, n_pat + n_pat_new, 10)
    return {
        "base_applicants": [pa.table({"applicant_id": app_ids.slice(0, n_app)})],
        "base_patents": [pa.table({"patent_id": pat_ids.slice(0, n_pat), "app_year": pa.array(d["years"])})],
        "base_links": [pa.table({"from": app_ids.take(pa.array(d["applicant"])),
                                 "to": pat_ids.take(pa.array(d["patent"])), "seq": pa.array(d["seq"])})],
        "append_applicants": [pa.table({"applicant_id": app_ids.slice(n_app, n_app_new)})],
        "append_patents": [pa.table({"patent_id": pat_ids.slice(n_pat, n_pat_new),
                                     "app_year": pa.array(np.full(n_pat_new, 2020, dtype=np.int64))})],
        "append_links": [pa.table({"from": app_ids.take(pa.array(d["applicant_b"])),
                                   "to": pat_ids.take(pa.array(d["patent_b"])), "seq": pa.array(d["seq_b"])})],
    }


# --shape citynet: value pools (numpy-generated from the seed, see citynet_tables)
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
             53, 54, 61, 62, 63, 64, 65]
KINDS = ["firm", "university", "institute", "individual", "government"]
LOCATED_BY = ["address", "name", "postcode", "province"]
TOPICS = ["alternative_energy_production", "transportation", "energy_conservation", "waste_management",
          "agriculture_forestry", "administrative_regulatory", "nuclear_power", "carbon_capture"]
CHUNK = 1_000_000  # rows per generated (and written) batch of the citynet shape's patents


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijection of uint64 (distinct in, distinct out): random-looking ids and hashes without collisions."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fixed_strings(chars: np.ndarray) -> pa.Array:
    """A string array from an (n, width) uint8 array of ASCII characters."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(
        np.ascontiguousarray(chars).tobytes())).cast(pa.string())


def hex_ids(prefix: str, start: int, n: int, salt: int) -> pa.Array:
    """``prefix`` + 16 hex digits of a hash of ``start .. start + n - 1`` (citynet's applicant ids look so)."""
    h = splitmix64(np.arange(start, start + n, dtype=np.uint64) ^ np.uint64(salt))
    nibbles = ((h[:, None] >> (np.arange(60, -1, -4, dtype=np.uint64))[None, :]) & np.uint64(15)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return pc.binary_join_element_wise(pa.scalar(prefix), fixed_strings(chars), "")


def cjk(rng: np.random.Generator, lengths: np.ndarray, pool: np.ndarray) -> pa.Array:
    """Strings of ``lengths`` characters drawn from ``pool`` (code points of CJK ideographs, 3 bytes in UTF-8)."""
    cps = pool[rng.integers(0, len(pool), int(lengths.sum()))]
    b = np.empty((len(cps), 3), dtype=np.uint8)
    b[:, 0] = 0xE0 | (cps >> 12)
    b[:, 1] = 0x80 | ((cps >> 6) & 0x3F)
    b[:, 2] = 0x80 | (cps & 0x3F)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(3 * lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets),
                                            pa.py_buffer(b.tobytes())).cast(pa.string())


def string_lists(rng: np.random.Generator, counts: np.ndarray, pool: pa.Array) -> pa.Array:
    """Lists of ``counts`` strings drawn from ``pool``."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pool.take(pa.array(rng.integers(0, len(pool), int(offsets[-1]))))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def citynet_tables(d: dict, seed: int) -> dict:
    """``--shape citynet``: every column of cypher/schema.embedded.cypher's ``Applicant``, ``Patent`` and
    ``APPLIED`` with citynet's value shapes: applicant ids ``A`` + 16 hex digits, patent ids like
    ``CN202010123456.7``, names and titles of CJK ideographs (2-16 and 20-40), IPC/CPC codes like ``H01M
    10/0525``, dates, 6-digit city codes (31 provinces x 20 cities), random ``row_hash``. The patents are
    generated and written in batches of :data:`CHUNK` rows."""
    rng = np.random.default_rng([seed, 1])
    n_app, n_pat, n_app_new, n_pat_new = d["n_app"], d["n_pat"], d["n_app_new"], d["n_pat_new"]
    n_a, n_p = n_app + n_app_new, n_pat + n_pat_new
    pool = np.unique(rng.integers(0x4E00, 0x9FA6, 5000)).astype(np.uint32)[:3500]
    cities = pa.array([f"{p}{c:02d}00" for p in PROVINCES for c in range(1, 21)])
    ipc_pool = pa.array([f"{chr(65 + s)}{c:02d}{chr(65 + u)} {g}/{sg:02d}" if sg < 100 else
                         f"{chr(65 + s)}{c:02d}{chr(65 + u)} {g}/{sg}"
                         for s, c, u, g, sg in zip(rng.integers(0, 8, 5000), rng.integers(1, 100, 5000),
                                                   rng.integers(0, 26, 5000), rng.integers(1, 100, 5000),
                                                   rng.integers(0, 10000, 5000), strict=True)])
    topics = pa.array(TOPICS)

    app_ids = hex_ids("A", 0, n_a, seed)
    kind_i = rng.choice(len(KINDS), n_a, p=[0.60, 0.08, 0.07, 0.22, 0.03])
    city_i = rng.integers(0, len(cities), n_a)
    city = cities.take(pa.array(city_i))
    applicants = pa.table({
        "applicant_id": app_ids,
        "name": cjk(rng, np.where(kind_i == 3, rng.integers(2, 4, n_a), rng.integers(6, 17, n_a)), pool),
        "kind": pa.array(KINDS).take(pa.array(kind_i)),
        "country": pa.array(np.where(rng.random(n_a) < 0.97, "CN", "US")),
        "city_code": city,
        "province_code": pc.binary_join_element_wise(pc.utf8_slice_codeunits(city, 0, 2), pa.scalar("0000"), ""),
        "located_by": pa.array(LOCATED_BY).take(pa.array(rng.choice(4, n_a, p=[0.8, 0.1, 0.05, 0.05]))),
        "row_hash": pa.array(rng.integers(-2**63, 2**63 - 1, n_a, dtype=np.int64)),
    })

    years = np.concatenate([d["years"], np.full(n_pat_new, 2020, dtype=np.int64)])
    invention = splitmix64(np.arange(n_p, dtype=np.uint64) ^ np.uint64(seed + 1)) % np.uint64(10) < np.uint64(6)
    serial = np.arange(n_p, dtype=np.int64) % 10_000_000
    pat_ids = pc.binary_join_element_wise(
        pa.scalar("CN"), pc.cast(pa.array(years), pa.string()), pa.array(np.where(invention, "1", "2")),
        pc.utf8_lpad(pc.cast(pa.array(serial), pa.string()), 7, "0"), pa.scalar("."),
        pc.cast(pa.array(serial % 10), pa.string()), "")

    def patents(lo: int, hi: int):
        for start in range(lo, hi, CHUNK):
            stop = min(start + CHUNK, hi)
            n = stop - start
            r = np.random.default_rng([seed, 2, start])
            inv = invention[start:stop]
            y = years[start:stop]
            app_date = ((y - 1970).astype("datetime64[Y]").astype("datetime64[D]")
                        + r.integers(0, 365, n).astype("timedelta64[D]"))
            granted = r.random(n) < np.where(inv, 0.45, 0.95)
            grant_date = app_date + r.integers(200, 1500, n).astype("timedelta64[D]")
            green = r.random(n) < 0.12
            ipc = string_lists(r, r.integers(1, 5, n), ipc_pool)
            yield pa.table({
                "patent_id": pat_ids.slice(start, n),
                "app_date": pa.array(app_date),
                "app_year": pa.array(y.astype(np.int64)),
                "pub_number": pc.binary_join_element_wise(
                    pa.scalar("CN"), pc.cast(pa.array(100_000_000 + np.arange(start, stop)), pa.string()),
                    pa.array(np.where(inv, "A", "U")), ""),
                "grant_date": pa.array(grant_date, mask=~granted),
                "granted": pa.array(granted),
                "patent_kind": pa.array(np.where(inv, "invention", "utility")),
                "ipc_main": pc.list_element(ipc, 0),
                "ipc": ipc,
                "cpc": string_lists(r, np.where(r.random(n) < 0.5, 0, r.integers(1, 5, n)), ipc_pool),
                "green": pa.array(green),
                "green_topics": string_lists(r, np.where(green, r.integers(1, 3, n), 0), topics),
                "y02": pa.array(green & (r.random(n) < 0.7)),
                "title": cjk(r, r.integers(20, 41, n), pool),
                "grant_year": pa.array(grant_date.astype("datetime64[Y]").astype(np.int64) + 1970, mask=~granted),
                "refs_made": pa.array(r.integers(0, 21, n)),
                "refs_foreign": pa.array(r.integers(0, 6, n)),
                "row_hash": pa.array(r.integers(-2**63, 2**63 - 1, n, dtype=np.int64)),
            })

    def links(applicant: np.ndarray, patent: np.ndarray, seq: np.ndarray) -> list:
        return [pa.table({"from": app_ids.take(pa.array(applicant)), "to": pat_ids.take(pa.array(patent)),
                          "seq": pa.array(seq), "city_code": cities.take(pa.array(city_i[applicant])),
                          "row_hash": pa.array(rng.integers(-2**63, 2**63 - 1, len(seq), dtype=np.int64))})]

    return {
        "base_applicants": [applicants.slice(0, n_app)],
        "base_patents": patents(0, n_pat),
        "base_links": links(d["applicant"], d["patent"], d["seq"]),
        "append_applicants": [applicants.slice(n_app, n_app_new)],
        "append_patents": patents(n_pat, n_p),
        "append_links": links(d["applicant_b"], d["patent_b"], d["seq_b"]),
    }


def generate(scale: float, seed: int, out: Path, shape: str = "minimal") -> dict:
    """The six Parquet files in ``out`` (made once per scale, seed and shape); returns their row counts."""
    manifest = out / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    d = draw(scale, seed)
    tables = minimal_tables(d) if shape == "minimal" else citynet_tables(d, seed)
    counts = {}
    for name, batches in tables.items():
        writer, rows = None, 0
        for t in batches:
            if writer is None:
                writer = pq.ParquetWriter(out / f"{name}.parquet", t.schema, compression="none")
            writer.write_table(t)
            rows += t.num_rows
        writer.close()
        counts[name] = rows
    counts["old_applicants_in_append_links"] = int((~d["new"]).sum())
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
    shape = "" if args.shape == "minimal" else f"-{args.shape}"
    root = Path(args.workdir) / f"db-{args.engine}-{eng.__version__}-s{args.scale}{shape}-r{rep}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log: list = []
    res: dict = {"ok": True}

    print(f"  repeat {rep}: (a) fresh", flush=True)
    s = Store(eng, root / "main.db", args)
    for q in SCHEMAS[args.shape]:
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
    if not args.keep:  # (disk: at scale 1 the citynet shape's two databases take about 2 x 3 GB)
        for f in root.glob("main.db*"):
            shutil.rmtree(f) if f.is_dir() else f.unlink()

    print(f"  repeat {rep}: (c) same links into an empty APPLIED", flush=True)
    s = Store(eng, root / "empty.db", args)
    for q in SCHEMAS[args.shape]:
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
    ap.add_argument("--shape", choices=list(SCHEMAS), default="minimal",
                    help="minimal: ids, app_year, seq; citynet: every column of citynet's three tables")
    args = ap.parse_args(argv)

    eng = importlib.import_module(args.engine)
    print(f"engine {args.engine} {eng.__version__}, python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"pyarrow {pa.__version__}; scale {args.scale}, seed {args.seed}, threads {args.threads}, "
          f"buffer pool {args.buffer_pool_mb} MB, shape {args.shape}", flush=True)
    shape = "" if args.shape == "minimal" else f"-{args.shape}"
    data = Path(args.workdir) / f"data-s{args.scale}-seed{args.seed}{shape}"
    n = generate(args.scale, args.seed, data, args.shape)
    print(f"data {data}: {n}", flush=True)

    results = [measure(eng, args, data, n, rep) for rep in range(1, args.repeats + 1)]

    print(f"\nsummary, shape {args.shape} (links: COPY APPLIED; µs/row of the COPY alone, [with its CHECKPOINT])")
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
