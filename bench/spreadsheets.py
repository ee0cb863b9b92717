"""Benchmark: reading a spreadsheet export with citynet's readers against ``pandas.read_excel``'s default.

    python -m bench.spreadsheets [--rows N] [--rounds K] [--seed S] [--workdir DIR]

A user without citynet reads an ``.xlsx`` export with ``pandas.read_excel(path, dtype=str)``, whose
engine for ``.xlsx`` is openpyxl; citynet's reader (``etl.readers.read_excel``) uses python-calamine
(Rust). The workbook is ``N`` records of a ``citynet synth`` export (the CNIPA-style header, Chinese
text, dates as text), written once by pandas with openpyxl into ``--workdir``. Each round reads it
with both, the order alternated from round to round, after one warm-up read each (imports and first
calls); the medians of the wall and CPU times and their ratios are printed, and the two frames are
compared cell by cell (the same text in every cell, or the benchmark says where not). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd


def workbook(rows: int, seed: int, workdir: Path) -> Path:
    """``rows`` records of a synthetic CNIPA-style export as ``.xlsx`` (made once per size and seed)."""
    path = workdir / f"export-{rows}-{seed}.xlsx"
    if path.exists():
        return path
    from citynet.synth import SynthConfig, synthesize

    out = workdir / f"synth-{seed}"
    if not (out / "raw" / "patents.csv").exists():
        synthesize(out, SynthConfig(seed=seed, n_patents=max(rows, 1_000)))
    frame = pd.read_csv(out / "raw" / "patents.csv", dtype=str, keep_default_na=False, nrows=rows)
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def _pandas_default(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl").fillna("")  # today's default


def _citynet(path: Path) -> pd.DataFrame:
    from citynet.etl.readers import read_excel

    return read_excel(path).frame.drop(columns="_row")


def _timed(read, path: Path) -> tuple[float, float, pd.DataFrame]:
    wall, cpu = time.perf_counter(), time.process_time()
    frame = read(path)
    return time.perf_counter() - wall, time.process_time() - cpu, frame


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="citynet-bench-xlsx-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workbook(args.rows, args.seed, workdir)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {args.rows:,} records)")
    sides = {"pandas.read_excel (openpyxl)": _pandas_default, "citynet (calamine)": _citynet}
    frames = {name: read(path) for name, read in sides.items()}  # warm-up: imports, first calls
    a, b = frames.values()
    same = a.shape == b.shape and list(a.columns) == list(b.columns) and a.astype(str).equals(b.astype(str))
    if not same and a.shape == b.shape:
        diff = (a.astype(str) != b.astype(str)).to_numpy().nonzero()
        where = [(int(r) + 2, a.columns[c]) for r, c in list(zip(*diff, strict=True))[:5]]
        print(f"the frames differ in {len(diff[0]):,} cells, first at (row, column) {where}")
    print("same cells" if same else f"shapes {a.shape} and {b.shape}")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for k in range(args.rounds):
        order = list(sides) if k % 2 == 0 else list(reversed(sides))
        for name in order:
            wall, cpu, _ = _timed(sides[name], path)
            times[name].append((wall, cpu))
    med = {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for name, t in times.items()}
    for name, (wall, cpu) in med.items():
        print(f"{name:30s} wall {wall:7.2f} s  cpu {cpu:7.2f} s  {args.rows / wall:,.0f} records/s")
    (pw, pc), (cw, cc) = med.values()
    print(f"ratio pandas default / citynet: wall {pw / cw:.1f}x, cpu {pc / cc:.1f}x (medians of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
