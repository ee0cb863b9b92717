"""Benchmark: the analysis layer on synthetic panels of the real size.

    python -m bench.analysis [--years N] [--seed S] [--skip-peer]

1. PPML gravity on the full dyad-year panel: every unordered pair of the 337-city set × N years
   (15 years: 849,660 rows), ``collab ~ log_distance + same_province`` with origin-year and
   destination-year FE, clustered by pair — ``analysis.estimators.gravity`` against the peer a
   user would otherwise call, raw ``pyfixest.fepois`` on a prepared frame (ratio = citynet / peer:
   the overhead of the wrapper: FE construction, iterated singleton/all-zero removal, tighter
   IRLS tolerance (1e-10, so SEs match fixest), collinearity check). Warm, order alternated;
   target ratio ≤ 1.5.
2. The paper-001 spec set (``examples/p001_tables3_5.toml``: 9 two-way FE models, clustered by
   city) on a synthetic 337-city × 15-year workspace, against linearmodels ``PanelOLS`` fitting the
   same 9 models (entity + time effects, clustered by entity). Target ≤ 10 s.
3. The placebo test with 1,000 reassignments (FWL on within-transformed data) against 1,000 full
   pyfixest refits, on 100 draws scaled ×10. Target ≤ 10 s.

Figures are printed from one run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def dyad_panel(years: int, seed: int) -> pd.DataFrame:
    from citynet.etl.cities import city_set, haversine_km

    c = city_set().cities
    rng = np.random.default_rng(seed)
    n = len(c)
    ii, jj = np.triu_indices(n, 1)
    lon, lat, prov = c["lon"].to_numpy(), c["lat"].to_numpy(), c["province_code"].to_numpy()
    dist = haversine_km(lon[ii], lat[ii], lon[jj], lat[jj]) + 5
    size = rng.normal(0, 1, n)
    frames = []
    for t in range(2006, 2006 + years):
        mu = np.exp(-1 + size[ii] + size[jj] + 0.05 * (t - 2006) - 1.0 * (np.log(dist) - 6) + 0.5 * (prov[ii] == prov[jj]))
        frames.append(pd.DataFrame({"city_a": c["city_code"].to_numpy()[ii], "city_b": c["city_code"].to_numpy()[jj],
                                    "year": t, "collab": rng.poisson(mu), "distance_km": dist,
                                    "log_distance": np.log(dist), "same_province": (prov[ii] == prov[jj]).astype(int)}))
    return pd.concat(frames, ignore_index=True)


def bench_gravity(years: int, seed: int, peer: bool, rounds: int = 2) -> None:
    """Warm (one untimed run of each first), then ``rounds`` timed runs of each, order alternated."""
    import pyfixest as pf
    from citynet.analysis.estimators import gravity

    dy = dyad_panel(years, seed)
    df = dy[["collab", "log_distance", "same_province"]].assign(
        oy=dy["city_a"] + dy["year"].astype(str), dyr=dy["city_b"] + dy["year"].astype(str),
        pair=dy["city_a"] + dy["city_b"])

    def ours():
        return gravity(dy, "collab", ["log_distance", "same_province"])

    def raw():
        return pf.fepois("collab ~ log_distance + same_province | oy + dyr", df, vcov={"CRV1": "pair"})

    r = ours()
    if peer:
        raw()
    t_ours, t_peer = [], []
    for k in range(rounds):
        order = [(ours, t_ours), (raw, t_peer)] if k % 2 == 0 else [(raw, t_peer), (ours, t_ours)]
        for f, acc in order:
            if f is raw and not peer:
                continue
            t0 = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t0)
    print(f"gravity PPML: {len(dy):,} rows, {min(t_ours):.1f} s (best of {rounds}, warm); log_distance = "
          f"{r.params['log_distance']:.4f} (se {r.se['log_distance']:.4f}; planted −1.0)")
    if peer:
        print(f"  raw pyfixest.fepois (its defaults): {min(t_peer):.1f} s; ratio citynet/pyfixest = "
              f"{min(t_ours) / min(t_peer):.2f} (target ≤ 1.5)")


def bench_p001(seed: int, peer: bool) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from citynet.analysis.spec import load_spec, run_spec
    from test_fit_cli import build_workspace

    from citynet.workspace import Workspace

    root = Path(tempfile.mkdtemp()) / "ws"
    from citynet.etl.cities import city_set

    build_workspace(root, n_city=len(city_set().cities), seed=seed)
    ws = Workspace.open(root)
    spec = Path(__file__).resolve().parents[1] / "examples" / "p001_tables3_5.toml"
    t0 = time.perf_counter()
    out = run_spec(spec, ws, root / "results")
    t_ours = time.perf_counter() - t0
    n_models = sum(len(v) for v in out.results.values())
    print(f"paper-001 spec set: {n_models} models, {t_ours:.1f} s (includes panel assembly and writing 3×5 files)")
    if peer:
        from citynet.analysis.formula import prepare
        from citynet.analysis.spec import load_panels
        from linearmodels.panel import PanelOLS

        panel = load_panels(ws)("city-year")
        fmls = [m["formula"] for t in load_spec(spec)["tables"] for m in t["models"]]
        t0 = time.perf_counter()
        for f in fmls:
            df, f2 = prepare(panel, f)
            dep, rhs = f2.split("|")[0].split("~")
            xs = [x.strip() for x in rhs.split("+")]
            d = df[df["year"].between(2007, 2020)].dropna(subset=[dep.strip(), *xs]).set_index(["city_code", "year"])
            PanelOLS(d[dep.strip()], d[xs], entity_effects=True, time_effects=True).fit(
                cov_type="clustered", cluster_entity=True)
        t_peer = time.perf_counter() - t0
        print(f"  linearmodels PanelOLS, same 9 models: {t_peer:.1f} s; ratio = {t_ours / t_peer:.2f}")


def bench_placebo(seed: int) -> None:
    import pyfixest as pf
    from citynet.analysis.did import placebo
    from citynet.analysis.formula import lag  # noqa: F401

    rng = np.random.default_rng(seed)
    n_city, years = 300, np.arange(2006, 2021)
    coh = rng.choice([2010, 2012, 2017, np.inf], size=n_city)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(n_city), len(years)).astype(str),
                       "year": np.tile(years, n_city)})
    df["low_carbon"] = (df["year"].to_numpy() >= np.repeat(coh, len(years))).astype(int)
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.3 * df["low_carbon"] + df["x"] + rng.normal(size=len(df))
    t0 = time.perf_counter()
    placebo(df, "y", "low_carbon", controls=["x"], n=1000, seed=1)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(100):
        perm = rng.permutation(n_city)
        d = df.assign(f=df["low_carbon"].to_numpy().reshape(n_city, -1)[perm].ravel())
        pf.feols("y ~ f + x | city_code + year", d)
    t_peer = (time.perf_counter() - t0) * 10
    print(f"placebo ×1000 (300 cities × 15 years): {t_ours:.1f} s; 1000 pyfixest refits ≈ {t_peer:.1f} s; "
          f"ratio = {t_ours / t_peer:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--years", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-peer", action="store_true")
    a = ap.parse_args()
    bench_gravity(a.years, a.seed, not a.skip_peer)
    bench_p001(a.seed, not a.skip_peer)
    bench_placebo(a.seed)


if __name__ == "__main__":
    main()
