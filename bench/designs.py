"""Benchmark: the referee designs (analysis/inference.py, threshold.py, cs_covariates.py) at their targets.

    python -m bench.designs [--seed S] [--skip-peer] [--only wild|threshold|cs]

1. Wild cluster bootstrap, 999 Rademacher draws, p-value and test-inversion CI, on a 286-city ×
   14-year panel (4,004 rows) with city and year FE, clustered by city. Peer: pyfixest's
   ``wildboottest`` (p-value only, one-hot FE design) on the same model. Target ≤ 10 s.
2. Hansen panel threshold, single and double, 300 bootstrap draws each, grid 300, same panel.
   No Python peer exists (Stata's xthreg is the usual tool). Target ≤ 60 s.
3. Callaway–Sant'Anna with two covariates (doubly robust), 300 cities × 15 years, multiplier
   bootstrap with 999 draws and the four aggregations. Target ≤ 30 s.
4. Rambachan–Roth Δ^RM confidence sets (C-LF and Conditional, M̄ = 0.5 and 2, 1,000 grid points) on
   HonestDiD's README example (coefficients from ``tests/references/honestdid.json``). Peer: the authors'
   HonestDiD in R on the same input and M̄ = 0.5 (run only with ``--honestdid-r``; needs R set up by
   ``tests/references/install-honestdid.sh``; about 1.5 minutes per M̄ and method).

Figures are printed from one run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def panel(N: int, T: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    n = len(df)
    df["x"], df["z"] = rng.normal(size=(2, n))
    df["q"] = rng.uniform(0, 10, n)
    df["y"] = (np.repeat(rng.normal(size=N), T) + np.where(df["q"] <= 3, 0.2, np.where(df["q"] <= 7, 1.0, 1.8))
               * df["x"] + 0.3 * df["z"] + rng.normal(size=n))
    cohort = np.repeat(rng.choice([2010, 2012, 2014, 2016, 0], N), T)
    df["x1"] = np.repeat(rng.normal(size=N), T)
    df["x2"] = np.repeat(rng.normal(size=N), T)
    df["d"] = ((cohort > 0) & (df["year"] >= cohort)).astype(int)
    df["y_cs"] = (np.repeat(rng.normal(size=N), T) + 0.05 * (df["year"] - 2006) * (1 + df["x1"]) + 0.5 * df["d"]
                  + rng.normal(size=n))
    return df


def bench_wild(df: pd.DataFrame, skip_peer: bool) -> None:
    from citynet.analysis.inference import wild_cluster_bootstrap

    t = time.perf_counter()
    r = wild_cluster_bootstrap(df, "y ~ x + z | city_code + year", "x", reps=999, seed=1)
    mine = time.perf_counter() - t
    print(f"wild bootstrap 999 draws, {len(df):,} rows, p + CI: {mine:.2f} s (target ≤ 10 s); p = {r['pvalue']:.3f}, "
          f"CI [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
    if skip_peer:
        return
    import pyfixest as pf

    t = time.perf_counter()
    f = pf.feols("y ~ x + z | city_code + year", df, vcov={"CRV1": "city_code"})
    f.wildboottest(param="x", reps=999, seed=1)
    peer = time.perf_counter() - t
    print(f"  peer pyfixest.wildboottest (p only): {peer:.2f} s; ratio citynet/peer = {mine / peer:.2f}")


def bench_threshold(df: pd.DataFrame) -> None:
    from citynet.analysis.threshold import panel_threshold

    t = time.perf_counter()
    r = panel_threshold(df, "y", ["x"], "q", ["z"], n_thresholds=2, reps=300, grid=300)
    print(f"threshold (single + double, 300 draws each), {len(df):,} rows: {time.perf_counter() - t:.2f} s "
          f"(target ≤ 60 s); thresholds {r.thresholds['estimate'].round(3).tolist()}")


def bench_cs(seed: int) -> None:
    try:
        from citynet.analysis.cs_covariates import att_gt_covariates
    except ImportError:
        print("CS with covariates: not available in this build")
        return
    df = panel(300, 15, seed)
    t = time.perf_counter()
    r = att_gt_covariates(df, "y_cs", ["x1", "x2"], treat="d", method="dr", reps=999, seed=seed)
    print(f"CS with covariates (DR, 999 multiplier draws, 4 aggregations), 300 × 15: {time.perf_counter() - t:.2f} s "
          f"(target ≤ 30 s); simple ATT {r.aggregates['simple'].iloc[0]['att']:.3f}")


def bench_honest_rm(with_r: bool) -> None:
    import json
    import subprocess
    from pathlib import Path

    from citynet.analysis.honest_rm import rm_confidence_sets

    ref = json.loads((Path(__file__).resolve().parents[1] / "tests/references/honestdid.json").read_text())
    case = next(c for c in ref["cases"] if c["name"] == "ehec_first")
    b = np.asarray(case["betahat"])
    v = np.asarray(case["sigma"]).reshape(len(b), -1)
    rm_confidence_sets(b, v, 5, 2, [0.5], grid_points=50)  # warm-up (imports, first LAPACK calls)
    for method in ("C-LF", "Conditional"):
        t = time.perf_counter()
        r = rm_confidence_sets(b, v, 5, 2, [0.5, 2.0], method=method)
        print(f"Δ^RM confidence sets, {method}, 2 M̄ × 1,000 grid points: {time.perf_counter() - t:.3f} s; "
              f"M̄ = 0.5: [{r['lb'][0]:.4f}, {r['ub'][0]:.4f}]")
    if not with_r:
        return
    src = Path.home() / ".cache/r-reference/src/HonestDiD/R"
    script = (f'suppressPackageStartupMessages(library(foreach)); for (f in c("utilities.R", "delta_utility_functions.R",'
              f' "arp-nonuisance.R", "arp-nuisance.R", "deltarm.R", "sensitivityresults.R")) source(file.path("{src}", f));'
              f' b <- c({", ".join(map(repr, b.tolist()))}); V <- matrix(c({", ".join(map(repr, v.ravel().tolist()))}), 7);'
              ' t <- Sys.time(); r <- createSensitivityResults_relativeMagnitudes(b, V, 5, 2, Mbarvec = 0.5, method = "Conditional");'
              ' cat(as.numeric(Sys.time() - t, units = "secs"), r$lb, r$ub, "\\n")')
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True).stdout.split()
    if len(out) == 3:
        print(f"HonestDiD (R), Conditional, 1 M̄ × 1,000 grid points: {float(out[0]):.1f} s; "
              f"M̄ = 0.5: [{float(out[1]):.4f}, {float(out[2]):.4f}]")
    else:
        print("HonestDiD (R) did not run: set it up with tests/references/install-honestdid.sh")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--only", choices=["wild", "threshold", "cs", "honest"])
    ap.add_argument("--honestdid-r", action="store_true", help="also time the authors' HonestDiD in R")
    a = ap.parse_args()
    df = panel(286, 14, a.seed)
    if a.only in (None, "wild"):
        bench_wild(df, a.skip_peer)
    if a.only in (None, "threshold"):
        bench_threshold(df)
    if a.only in (None, "cs"):
        bench_cs(a.seed)
    if a.only in (None, "honest"):
        bench_honest_rm(a.honestdid_r)


if __name__ == "__main__":
    main()
