"""Benchmark: ingest of synthetic CNIPA exports (records/s, peak memory), and the address step vs cpca.

    python -m bench.etl [--patents 1000000] [--synth DIR] [--address-sample 200000]

The ingest runs as a child process (``citynet ingest``) so that its peak resident memory is
measured alone. The address-to-city step is compared with ``cpca.transform`` — the peer a user
would otherwise use — on the same first-applicant addresses, with the accuracy of both against
``truth.json`` (see ``bench.address``). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.etl", description=__doc__.split("\n\n")[0])
    ap.add_argument("--patents", type=int, default=1_000_000)
    ap.add_argument("--synth", type=Path, help="reuse an existing citynet synth output folder")
    ap.add_argument("--address-sample", type=int, default=200_000, help="addresses for the cpca comparison")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="citynet-bench-etl-"))
    synth_dir = args.synth
    if synth_dir is None:
        synth_dir = work / "synth"
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "citynet", "-q", "synth", str(synth_dir), "--patents", str(args.patents)], check=True
        )
        print(f"synth: {args.patents:,} patents in {time.perf_counter() - t:.1f} s")
    raw = synth_dir / "raw"
    ws = work / "ws"
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "citynet", "-q", "ingest", "-w", str(ws), str(raw / "patents.csv"),
         "--transfers", str(raw / "transfers.csv"), "--covariates", str(raw / "covariates.csv")],
        check=True,
    )
    elapsed = time.perf_counter() - t
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    report = json.loads((ws / "reports" / "ingest.json").read_text(encoding="utf-8"))
    rows = report["totals"]["rows_read"]
    pat = next(f for f in report["files"] if f["kind"] == "patents")
    print(f"ingest: {rows:,} rows read ({pat['rows_read']:,} patent records) in {elapsed:.1f} s "
          f"= {pat['rows_read'] / elapsed:,.0f} records/s; peak memory {peak_gb:.2f} GB "
          f"(process start-up and imports included)")
    print(f"        loaded {report['totals']['rows_loaded']:,}, quarantined {report['totals']['rows_quarantined']:,}; "
          f"applicants located {report['applicants']['located_share']:.1%}")
    print("target: 1,000,000 records ≤ 60 s with peak ≤ 3 GB on 2 cores")
    print()
    from bench import address

    address.main(["--synth", str(synth_dir), "--n", str(args.address_sample)])


if __name__ == "__main__":
    main()
