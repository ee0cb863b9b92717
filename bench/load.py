"""Load benchmark: synthetic canonical tables (bench/canonical_synth.py, 1,000,000 patents by default)
into each graph store, in rows per second, against row-at-a-time driver calls on a sample (ratio).

    python -m bench.load [--patents N] [--stores embedded,neo4j] [--neo4j-uri bolt://… --neo4j-password …]

Without --neo4j-uri a temporary Neo4j 5.26 server is started through citynet.neo4j_server. On Neo4j
the run also times the bare ``neo4j`` driver with the loader's CITES statement on rows prepared
beforehand: the rate the server itself allows, to read the loader's rate against.
With a local server the run then times a first load through Neo4j's offline importer on a fresh
server (files, neo4j-admin, restart, schema) and prints its ratio to the batched path of the same run,
and Neo4j's own part of it (the importer's run and the server's stop and start): the bound of any
end-to-end rate through the importer. ``--import-only`` times that first load alone (no batched load).
Targets (issue): embedded 1M-patent load ≤ 60 s and one year's projection ≤ 1 s; Neo4j first load
≥ 200,000 relationships/s end to end. This is a benchmark, printed from one run; it is not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from citynet.graph.network_filter import NetworkFilter
from citynet.graph.store import open_store

from bench.canonical_synth import synth_tables, write_tables
from citynet.workspace import Workspace

SAMPLE = 2_000
BARE_SAMPLE = 300_000


def _ws(root: Path, **store) -> Workspace:
    ws = Workspace.open(root, create=True)
    ws.settings["store"].update(store)
    return ws


def _report(name: str, counts: dict, seconds: float) -> tuple[int, int]:
    nodes = sum(c["new"] for k, c in counts.items() if k[0].isupper() and not k.isupper())
    rels = sum(c["new"] for k, c in counts.items() if k.isupper())
    print(f"{name}: loaded {nodes:,} nodes + {rels:,} relationships in {seconds:.1f} s "
          f"= {(nodes + rels) / seconds:,.0f} rows/s ({rels / seconds:,.0f} relationships/s)")
    return nodes, rels


def bare_driver_rate(uri: str, password: str, n: int = BARE_SAMPLE) -> float:
    """Relationships/s of the bare ``neo4j`` driver on this server: the loader's CITES statement
    (end nodes by elementId, the same properties) on ``n`` stored citations, rows prepared before the
    clock starts, the loader's batch size and writer count — no citynet code while it runs. What
    Neo4j itself allows here; the relationships are written as BENCH_CITES and deleted after."""
    from concurrent.futures import ThreadPoolExecutor

    import neo4j
    from citynet.graph.neo4j_store import BATCH, WRITERS

    from citynet import cypher

    (loader_stmt,) = cypher.blocks("load", "neo4j")["create_CITES"]
    stmt = loader_stmt.replace("[:CITES ", "[:BENCH_CITES ")
    assert stmt != loader_stmt, "create_CITES no longer writes [:CITES {…}]: update bare_driver_rate"
    with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password)) as driver:
        found, _, _ = driver.execute_query(
            "MATCH (p:Patent)-[c:CITES]->(q:Patent) RETURN elementId(p) AS from_id, elementId(q) AS to_id, "
            "c.refs AS refs, c.row_hash AS row_hash LIMIT $n", n=n)
        rows = [r.data() for r in found]
        batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]

        def write(batch: list[dict]) -> None:
            with driver.session() as session:
                session.execute_write(lambda tx: tx.run(stmt, rows=batch).consume())

        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            list(pool.map(write, batches))
        seconds = time.perf_counter() - t
        with driver.session() as session:
            session.run("MATCH ()-[r:BENCH_CITES]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS").consume()
    return len(rows) / seconds


def bench_store(ws: Workspace, backend: str, canonical: Path, tables: dict) -> dict:
    flt = NetworkFilter()
    with open_store(ws, backend=backend) as s:
        s.ensure_schema()
        stamps: dict[str, list[float]] = {}

        def progress(stage, done, total):
            stamps.setdefault(stage, [time.perf_counter()]).append(time.perf_counter())

        t = time.perf_counter()
        counts = s.load(canonical, progress=progress)
        load_s = time.perf_counter() - t
        nodes, rels = _report(f"[{backend}] bulk load", counts, load_s)
        for name, c in counts.items():
            if name in stamps and c["new"]:
                secs = stamps[name][-1] - stamps[name][0]
                print(f"    {name:<12} {c['new']:>10,} rows in {secs:6.1f} s = {c['new'] / max(secs, 1e-9):>10,.0f} rows/s")
        rel_s = sum(stamps[n][-1] - stamps[n][0] for n in stamps if n.isupper())
        if rel_s:
            print(f"    relationships while writing them: {rels / rel_s:,.0f} relationships/s")
        if backend == "neo4j" and counts["CITES"]["new"]:
            cites_s = stamps["CITES"][-1] - stamps["CITES"][0]
            bare = bare_driver_rate(ws.settings["store"]["uri"], ws.settings["store"]["password"])
            print(f"    bare driver, same CITES rows prepared beforehand: {bare:,.0f} relationships/s; "
                  f"citynet's CITES / bare = {counts['CITES']['new'] / cites_s / bare:.2f}")
        t = time.perf_counter()
        s.load(canonical)
        print(f"[{backend}] reload (no changes): {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        s.build_projections(flt)
        print(f"[{backend}] projections, all years ({flt.key}): {time.perf_counter() - t:.2f} s")
        year = int(pd.Series(tables["patents"]["app_year"]).median())
        t = time.perf_counter()
        s.build_projections(flt, [year])
        print(f"[{backend}] projections, one year ({year}) rebuilt, unchanged: {time.perf_counter() - t:.2f} s")
        other = NetworkFilter(green="all")
        t = time.perf_counter()
        built = s.build_projections(other, [year])
        new = sum(v["new"] for v in built.values())
        print(f"[{backend}] projections, one year ({year}) built new ({other.key}, {new:,} edges): "
              f"{time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        e = s.city_edges(flt, [year])
        print(f"[{backend}] city_edges, one year: {len(e):,} edges in {time.perf_counter() - t:.2f} s")
        bulk_rate = rels / load_s if rels else 0
        batched = {"rels": rels, "seconds": load_s}

    # row-at-a-time baseline on a sample: one driver call per APPLIED relationship (with its nodes)
    pa_ = tables["patent_applicants"].head(SAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "embedded":  # MERGE of a relationship crashes LadybugDB 0.20 (docs/cypher.md, bug 4)
            bws = _ws(Path(tmp))
            stmt = ("MATCH (a:Applicant {applicant_id: $a}), (p:Patent {patent_id: $p}) "
                    "OPTIONAL MATCH (a)-[r:APPLIED]->(p) WITH a, p, r WHERE r IS NULL "
                    "CREATE (a)-[:APPLIED {seq: $seq, city_code: $c}]->(p)")
            nodes = "MERGE (a:Applicant {applicant_id: $a}) MERGE (p:Patent {patent_id: $p})"
        else:
            bws = ws
            stmt = ("MERGE (a:Applicant {applicant_id: 'bench-' + $a}) MERGE (p:Patent {patent_id: 'bench-' + $p}) "
                    "MERGE (a)-[r:APPLIED]->(p) SET r.seq = $seq, r.city_code = $c")
        with open_store(bws, backend=backend) as s:
            s.ensure_schema()
            t = time.perf_counter()
            for r in pa_.itertuples(index=False):
                if backend == "embedded":
                    s.query(nodes, {"a": r.applicant_id, "p": r.patent_id}, write=True)
                s.query(stmt, {"a": r.applicant_id, "p": r.patent_id, "seq": int(r.seq), "c": r.city_code}, write=True)
            row_s = time.perf_counter() - t
            if backend == "neo4j":
                s.query("MATCH (n) WHERE n.applicant_id STARTS WITH 'bench-' OR n.patent_id STARTS WITH 'bench-' "
                        "DETACH DELETE n", write=True)
    row_rate = len(pa_) / row_s
    print(f"[{backend}] row-at-a-time driver calls: {row_rate:,.0f} relationships/s on {len(pa_):,} rows; "
          f"bulk / row-at-a-time = {bulk_rate / row_rate:,.1f}x")
    return batched


def _importer_seconds(log: Path) -> float | None:
    """Seconds of neo4j-admin's own import, from its report (``IMPORT DONE in 1m 32s 373ms.``)."""
    import re

    m = re.search(r"IMPORT DONE in ([^.]*)\.", log.read_text()) if log.is_file() else None
    if not m:
        return None
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(v) * units[u] for v, u in re.findall(r"(\d+)(ms|h|m|s)", m.group(1)))


def bench_neo4j_import(root: Path, canonical: Path, batched: dict | None) -> None:
    """The first load through Neo4j's offline importer on a fresh local server, end to end: writing the
    CSV files, ``neo4j-admin database import full``, restarting the server, constraints and indexes
    populated; its relationships/s against the batched path's of the same run."""
    from citynet.graph.neo4j_import import first_load

    from citynet.neo4j_server import Neo4jServer

    server = Neo4jServer(root / "neo4j-import", password="bench-password-123", heap="2g", page_cache="3g",
                         stop_with_parent=True)
    server.start(timeout=300)
    try:
        ws = _ws(root / "neo4j-import-ws", backend="neo4j", uri=server.uri, password=server.password)
        with open_store(ws) as s:
            s.ensure_schema()
            stamps: dict[str, list[float]] = {}

            def progress(stage, done, total):
                stamps.setdefault(stage, [time.perf_counter()]).append(time.perf_counter())

            t = time.perf_counter()
            counts = first_load(s, server, canonical, progress=progress)
            seconds = time.perf_counter() - t
            nodes, rels = _report("[neo4j] first load by the offline importer, end to end", counts, seconds)
            for stage, ts in stamps.items():
                print(f"    {stage:<24} {ts[-1] - ts[0]:6.1f} s")
            importer = _importer_seconds(server.data_dir / "citynet-admin.log")
            if importer:
                print(f"    the importer's own run (neo4j-admin's IMPORT DONE): {importer:.1f} s = "
                      f"{rels / importer:,.0f} relationships/s — the bound of any end-to-end rate here")
                restart = sum(ts[-1] - ts[0] for stage, ts in stamps.items()
                              if stage in ("stopping the server", "starting the server"))
                floor = importer + restart
                print(f"    Neo4j's own part (the importer's run + the server's stop and start, no citynet "
                      f"code): {floor:.1f} s = at most {rels / floor:,.0f} relationships/s end to end")
            if batched:
                ratio = (rels / seconds) / (batched["rels"] / batched["seconds"])
                print(f"[neo4j] offline import / batched load (same run, same rows) = {ratio:.1f}x "
                      f"({rels / seconds:,.0f} vs {batched['rels'] / batched['seconds']:,.0f} relationships/s)")
            t = time.perf_counter()
            s.build_projections(NetworkFilter())
            print(f"[neo4j] projections on the imported store, all years: {time.perf_counter() - t:.2f} s")
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patents", type=int, default=1_000_000)
    ap.add_argument("--neo4j-patents", type=int, default=None, help="patents for the Neo4j run (default: --patents)")
    ap.add_argument("--stores", default="embedded,neo4j")
    ap.add_argument("--neo4j-uri")
    ap.add_argument("--neo4j-password")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--import-only", action="store_true",
                    help="on Neo4j time only the first load through the offline importer (no batched load)")
    a = ap.parse_args()
    stores = a.stores.split(",")
    with tempfile.TemporaryDirectory(prefix="citynet-bench-load-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        tables = synth_tables(a.patents, seed=a.seed)
        write_tables(tables, root / "canonical")
        print(f"synthetic canonical tables: {', '.join(f'{k} {len(v):,}' for k, v in tables.items())} "
              f"({time.perf_counter() - t:.1f} s)")
        if "embedded" in stores:
            bench_store(_ws(root / "embedded"), "embedded", root / "canonical", tables)
        if "neo4j" in stores:
            if a.neo4j_patents and a.neo4j_patents != a.patents:
                tables = synth_tables(a.neo4j_patents, seed=a.seed)
                write_tables(tables, root / "canonical-neo4j")
                canonical = root / "canonical-neo4j"
                print(f"neo4j run on {a.neo4j_patents:,} patents")
            else:
                canonical = root / "canonical"
            if a.import_only:
                bench_neo4j_import(root, canonical, None)
                return
            server = None
            uri, password = a.neo4j_uri, a.neo4j_password
            if not uri:
                from citynet.neo4j_server import Neo4jServer

                server = Neo4jServer(root / "neo4j", password="bench-password-123", heap="2g", page_cache="3g",
                                     stop_with_parent=True)
                server.start(timeout=300)
                uri, password = server.uri, server.password
            try:
                batched = bench_store(_ws(root / "neo4j-ws", backend="neo4j", uri=uri, password=password), "neo4j",
                                      canonical, tables)
            finally:
                if server is not None:
                    server.stop()
            if server is not None:  # the offline importer needs a local server (not --neo4j-uri)
                bench_neo4j_import(root, canonical, batched)


if __name__ == "__main__":
    main()
