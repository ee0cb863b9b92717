"""Benchmark: address → city with ``etl.address.parse_addresses`` against ``cpca.transform``.

    python -m bench.address [--n N] [--seed S] [--synth DIR] [--repeat R] [--distinct] [--rounds K]
                            [--first-call P]

Addresses come from a ``citynet synth`` output when ``--synth DIR`` is given (``DIR/raw/patents.csv``:
申请人地址 and 国省代码 of the first applicant; ``DIR/truth.json``: ``applicant_city`` by normalised
name), otherwise they are generated from the gazetteer with known truth: every county-level unit
that belongs to a city of the city set, written in the styles of real exports (postal code, full or
short names, district only, county-level city only, decoy street names such as 上海路 or 中山北路),
plus a share of foreign addresses.

Both parsers get the same list of addresses. cpca's adcode is mapped to the city set with
``city_set().unit_to_city`` so that both are scored the same way against the truth:
*accuracy* = correct city / addresses with a true city; *located* = any city / addresses with a true
city; *precision* = correct / located.

Timing: each side's per-process setup is timed apart and printed (citynet: lexicon, automaton, OpenCC
and the key table with the trie of keys — loaded from ``$CITYNET_CACHE/address-setup-v1-<digest>/``
when an earlier process built them, else built from the key decisions shipped with the package,
``etl/data/address_keys.parquet``, and written there; with the key table, the first call of every
Arrow kernel the step uses, which initialises it; cpca: its import and first call). Then the
first call of ``parse_addresses`` in the process (run with an empty ``$CITYNET_CACHE`` to time the
setup as built), then ``--rounds`` interleaved rounds of
``parse_addresses`` on the addresses alone (the same input as cpca), with the ``国省代码`` hint that
real exports carry, and ``cpca.transform``; ratios use the medians (the machine may be shared), and a
whole-process ratio includes both setups. The CPU time of each call (``time.process_time``) is
printed too, with its ratios: on a machine shared with other work, wall times of both sides swing
with that load, CPU times much less. Throughput counts every input address (``parse_addresses``
works on distinct values; the number of distinct values is printed). Nothing is asserted.

``--distinct`` keeps the first occurrence of each address only, so that every input is distinct (the
worst case for ``parse_addresses``, which reads each distinct value once; cpca reads every row).
``--first-call P`` also measures the first call of a process robustly: P fresh Python processes per
side, interleaved (citynet, cpca, citynet, …), each doing its own setup (timed apart) and then one
timed call on the same addresses (citynet: ``parse_addresses`` without hint; cpca: ``transform``
after its warm-up call on one address); the medians and their ratio are printed, and the ratio of
each pair (a citynet process and the cpca process run right after it) with their median and worst.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.etl.cities import MUNICIPALITIES, city_set, gazetteer, short_name
from citynet.etl.postal import postal_prefixes_of

STREETS = (
    "中山北路", "人民路", "上海路", "北京东路", "南京大街", "解放路", "建设路", "长江路", "黄河路", "科技园路",
    "工业大道", "和平街", "新华路", "湖南路", "广州大道", "深圳湾路", "创新路", "学院路", "滨江大道", "文化路",
)  # fmt: skip
TOWNS = ("开发区", "高新区", "经济技术开发区", "工业园", "科技园", "")
FOREIGN = (
    ("日本国东京都港区芝浦1-1-1", None), ("日本大阪府门真市大字门真1006番地", None),
    ("美国加利福尼亚州圣克拉拉市", None), ("德国慕尼黑", None), ("大韩民国京畿道水原市", None),
    ("1 Infinite Loop, Cupertino, CA, USA", None), ("瑞士巴塞尔", None), ("中国台湾新竹科学园区", None),
)  # fmt: skip


def generated(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` addresses with columns ``address``, ``hint`` (国省代码) and ``truth`` (city code, None if foreign)."""
    rng = random.Random(seed)
    cs = city_set()
    g = gazetteer()
    u2c = cs.unit_to_city
    prov_name = dict(g.loc[g["rank"] == "province", ["code", "name"]].itertuples(index=False))
    pref_name = dict(g.loc[g["rank"] == "prefecture", ["code", "name"]].itertuples(index=False))
    counties = [
        (code, name)
        for code, name in g.loc[g["rank"] == "county", ["code", "name"]].itertuples(index=False)
        if code in u2c and name not in ("市辖区",)
    ]
    rows = []
    for _ in range(n):
        if rng.random() < 0.03:
            addr, truth = rng.choice(FOREIGN)
            rows.append((addr, rng.choice(["日本(JP)", "美国(US)", "德国(DE)", ""]), truth))
            continue
        code, county = rng.choice(counties)
        city = u2c[code]
        prov = code[:2] + "0000"
        pname = prov_name[prov]
        muni = prov in MUNICIPALITIES
        pref = pname if muni else pref_name.get(code[:4] + "00", "")
        if pref in ("市辖区", "县", "") or "直辖" in pref:
            pref = ""
        street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
        town = rng.choice(TOWNS)
        style = rng.random()
        if style < 0.35:  # postal code, province, prefecture, county
            postal = rng.choice(postal_prefixes_of(prov) or ["00"]) + f"{rng.randint(0, 9999):04d}"
            addr = f"{postal} {'' if muni else pname}{pref}{county}{town}{street}"
        elif style < 0.55:  # prefecture and county, no province
            addr = f"{pref}{county}{street}"
        elif style < 0.70:  # short names
            addr = f"{short_name(pname)}{short_name(pref) if pref and not muni else ''}{town}{street}"
        elif style < 0.85:  # county only (districts may be ambiguous without the hint)
            addr = f"{county}{town}{street}"
        else:  # province and county
            addr = f"{pname}{county}{town}{street}"
        hint = f"{short_name(pname)}({prov[:2]})"
        rows.append((addr, hint, city))
    return pd.DataFrame(rows, columns=["address", "hint", "truth"])


def from_synth(path: Path) -> pd.DataFrame:
    """Addresses, hints and true cities from a ``citynet synth`` output folder."""
    from citynet.etl.headers import PATENT_FIELDS, header_key
    from citynet.etl.normalize import normalize_name_series, split_list

    raw = pd.read_csv(path / "raw" / "patents.csv", dtype=str, keep_default_na=False)
    keys = {header_key(c): c for c in raw.columns}

    def col(field: str) -> pd.Series:
        for alias in PATENT_FIELDS[field]:
            if header_key(alias) in keys:
                return raw[keys[header_key(alias)]]
        return pd.Series([""] * len(raw), index=raw.index)

    first = split_list(col("applicants")).str[0]
    names = normalize_name_series(first)
    truth_map = json.loads((path / "truth.json").read_text(encoding="utf-8")).get("applicant_city", {})
    return pd.DataFrame(
        {"address": col("address"), "hint": col("country_province"), "truth": names.map(truth_map)}
    )


def score(pred: pd.Series, truth: pd.Series) -> dict:
    has = truth.notna()
    located = pred[has].notna()
    correct = (pred[has] == truth[has]) & located
    return {
        "accuracy": float(correct.mean()) if has.any() else float("nan"),
        "located": float(located.mean()) if has.any() else float("nan"),
        "precision": float(correct.sum() / max(located.sum(), 1)),
    }


def cpca_cities(addresses: list[str]) -> tuple[pd.Series, float, float, float]:
    """cpca's cities (mapped to the city set), the time of ``cpca.transform`` on ``addresses`` and cpca's
    per-process setup (import and the first call, which loads its tables), timed apart, and the CPU
    time of the call."""
    t = time.perf_counter()
    import cpca

    cpca.transform(["江苏省南京市鼓楼区"])
    setup = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    df = cpca.transform(addresses)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    u2c = city_set().unit_to_city
    adcode = df["adcode"].astype("string").str[:6]
    return adcode.map(lambda c: u2c.get(c) if isinstance(c, str) else None).reset_index(drop=True), dt, setup, cpu


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.address", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="addresses to generate (default 50,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synth", type=Path, help="a citynet synth output folder (raw/patents.csv, truth.json)")
    ap.add_argument(
        "--repeat",
        type=float,
        default=1.0,
        help="generated data: mean records per distinct address (an applicant files several patents; default 1)",
    )
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds of each parser after the first call (default 3)")
    ap.add_argument("--distinct", action="store_true", help="keep each address once: every input is distinct")
    ap.add_argument(
        "--first-call",
        type=int,
        default=0,
        metavar="P",
        help="also time the first call in P fresh processes per side, interleaved (default 0: off)",
    )
    ap.add_argument("--child", choices=("citynet", "cpca"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child, args.data)

    from citynet.etl import address as addr_mod

    if args.synth:
        data = from_synth(args.synth)
    elif args.repeat > 1:
        pool = generated(max(1, int(args.n / args.repeat)), args.seed)
        data = pool.sample(args.n, replace=True, random_state=args.seed)
    else:
        data = generated(args.n, args.seed)
    if args.synth and args.n and len(data) > args.n:
        data = data.iloc[: args.n]
    if args.distinct:
        data = data[~data["address"].fillna("").astype(str).duplicated()]
    data = data.reset_index(drop=True)
    addresses = data["address"].fillna("").astype(str)
    n = len(addresses)
    print(
        f"addresses: {n:,} ({'synth ' + str(args.synth) if args.synth else 'generated from the gazetteer'}"
        f"{', --distinct: each address once' if args.distinct else ''}), "
        f"distinct {addresses.nunique():,}, with a true city {int(data['truth'].notna().sum()):,}"
    )

    # one-time per-process setup, timed apart and reported: the lexicon and its automaton, OpenCC, and
    # the key table — the decisions of every key shipped with the package (etl/data/address_keys.parquet),
    # or, when they do not match the rules, the disk cache of keys read earlier ($CITYNET_CACHE)
    t = time.perf_counter()
    addr_mod.automaton(False)
    addr_mod._pattern_prefixes()
    t_lex = time.perf_counter() - t
    t = time.perf_counter()
    addr_mod._t2s()
    t_cc = time.perf_counter() - t
    t = time.perf_counter()
    table = addr_mod._key_table()
    t_keys = time.perf_counter() - t
    t_setup = t_lex + t_cc + t_keys
    print(f"setup: {t_setup:.2f} s (lexicon and automaton {t_lex:.2f}, OpenCC {t_cc:.2f}, key table {t_keys:.2f}: "
          f"{'shipped decisions' if table.shipped else 'disk cache as found, ' + str(int((table.state > 0).sum())) + ' keys read'})")
    t, c = time.perf_counter(), time.process_time()
    cold = addr_mod.parse_addresses(addresses)  # the first call of the process
    t_cold, c_cold = time.perf_counter() - t, time.process_time() - c
    # then ``--rounds`` interleaved rounds of both parsers (the machine may be shared: medians, and the
    # same conditions for both); cpca's setup (import, first call) is timed apart
    theirs, t_c, t_cpca_setup, c_c = cpca_cities(addresses.tolist())
    t_cpcas, t_ourss, t_ours_hs, c_cpcas, c_ourss = [t_c], [], [], [c_c], []
    for r in range(args.rounds):
        t, c = time.perf_counter(), time.process_time()
        ours = addr_mod.parse_addresses(addresses)
        t_ourss.append(time.perf_counter() - t)
        c_ourss.append(time.process_time() - c)
        t = time.perf_counter()
        ours_h = addr_mod.parse_addresses(addresses, data["hint"])
        t_ours_hs.append(time.perf_counter() - t)
        if r:
            _x, t_c, _s, c_c = cpca_cities(addresses.tolist())
            t_cpcas.append(t_c)
            c_cpcas.append(c_c)
    t_cpca, t_ours, t_ours_h = (float(np.median(x)) for x in (t_cpcas, t_ourss, t_ours_hs))

    assert cold.equals(ours)  # the first call and later calls give the same answers
    rows = [
        ("citynet parse_addresses (first call)", t_cold, score(cold["city_code"], data["truth"])),
        ("citynet parse_addresses (median)", t_ours, score(ours["city_code"], data["truth"])),
        ("citynet parse_addresses + 国省代码 (median)", t_ours_h, score(ours_h["city_code"], data["truth"])),
        ("cpca.transform (median)", t_cpca, score(theirs, data["truth"])),
    ]
    print(f"{'parser':42s} {'addr/s':>12s} {'accuracy':>9s} {'located':>8s} {'precision':>9s}")
    for name, dt, sc in rows:
        print(f"{name:42s} {n / dt:12,.0f} {sc['accuracy']:9.4f} {sc['located']:8.4f} {sc['precision']:9.4f}")
    print(f"times (s): citynet first {t_cold:.3f}, citynet {[round(x, 3) for x in t_ourss]}, "
          f"with hint {[round(x, 3) for x in t_ours_hs]}, cpca {[round(x, 3) for x in t_cpcas]}")
    print(f"throughput ratio, first call of the process / cpca median: {t_cpca / t_cold:.1f}x")
    print(f"throughput ratio, medians (same input): {t_cpca / t_ours:.1f}x")
    print(f"throughput ratio, medians, with 国省代码 hint: {t_cpca / t_ours_h:.1f}x")
    c_cpca, c_ours = float(np.median(c_cpcas)), float(np.median(c_ourss))
    print(f"CPU time (s, process time: what a shared machine's other load changes least): citynet first "
          f"{c_cold:.3f}, citynet median {c_ours:.3f}, cpca median {c_cpca:.3f}; ratios: first call "
          f"{c_cpca / c_cold:.1f}x, medians {c_cpca / c_ours:.1f}x")
    print(f"whole process, each side's setup included (citynet {t_setup:.2f} s, its modules already imported; "
          f"cpca import and first call {t_cpca_setup:.2f} s; citynet does not import cpca): "
          f"{(t_cpca + t_cpca_setup) / (t_cold + t_setup):.1f}x")
    print("status shares (with hint):", ours_h["status"].value_counts(normalize=True).round(4).to_dict())
    if args.first_call:
        first_calls(addresses, args.first_call)


def _child(side: str, data: Path) -> None:
    """One fresh process: setup (timed apart), then one timed call on the addresses in ``data``."""
    addresses = pd.read_parquet(data)["address"].astype(str)
    t = time.perf_counter()
    if side == "citynet":
        from citynet.etl import address as addr_mod

        addr_mod.automaton(False)
        addr_mod._pattern_prefixes()
        addr_mod._t2s()
        addr_mod._key_table()
        setup = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        addr_mod.parse_addresses(addresses)
    else:
        import cpca

        cpca.transform(["江苏省南京市鼓楼区"])
        setup = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        cpca.transform(addresses.tolist())
    print(json.dumps({"setup": setup, "call": time.perf_counter() - t, "cpu": time.process_time() - c}))


def first_calls(addresses: pd.Series, processes: int) -> None:
    """The first call of a fresh process, ``processes`` times per side, interleaved; medians and ratio."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "addresses.parquet"
        pd.DataFrame({"address": addresses}).to_parquet(path)
        got: dict[str, list[dict]] = {"citynet": [], "cpca": []}
        for _ in range(processes):
            for side in ("citynet", "cpca"):
                out = subprocess.run(
                    [sys.executable, "-m", "bench.address", "--child", side, "--data", str(path)],
                    capture_output=True, text=True, check=True, cwd=os.getcwd(),
                )  # fmt: skip
                got[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {side: {k: float(np.median([r[k] for r in rows])) for k in ("setup", "call", "cpu")} for side, rows in got.items()}
    calls = {side: [round(r["call"], 3) for r in rows] for side, rows in got.items()}
    print(f"first call in {processes} fresh processes per side (s): citynet {calls['citynet']} "
          f"(setup median {med['citynet']['setup']:.2f}), cpca {calls['cpca']} (setup median {med['cpca']['setup']:.2f})")
    print(f"throughput ratio, first call of a fresh process, medians: {med['cpca']['call'] / med['citynet']['call']:.1f}x "
          f"(CPU time: citynet {med['citynet']['cpu']:.3f} s, cpca {med['cpca']['cpu']:.3f} s, "
          f"{med['cpca']['cpu'] / med['citynet']['cpu']:.1f}x)")
    # each pair: a citynet process and the cpca process run right after it (same minutes, same load)
    pairs = list(zip(got["citynet"], got["cpca"], strict=True))
    cpu_r = [c["cpu"] / o["cpu"] for o, c in pairs]
    wall_r = [c["call"] / o["call"] for o, c in pairs]
    print(f"per pair (cpca / citynet), CPU: {[round(r, 1) for r in cpu_r]} (median {np.median(cpu_r):.1f}x, "
          f"worst {min(cpu_r):.1f}x); wall: {[round(r, 1) for r in wall_r]} (median {np.median(wall_r):.1f}x, "
          f"worst {min(wall_r):.1f}x); citynet CPU (ms) {[round(o['cpu'] * 1e3, 1) for o, _c in pairs]}, "
          f"cpca CPU (ms) {[round(c['cpu'] * 1e3, 1) for _o, c in pairs]}")


if __name__ == "__main__":
    main()
