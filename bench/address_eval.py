"""Location evaluation on real labelled addresses: citynet's parser and ``cpca`` side by side.

    python -m bench.address_eval [--set independent|internal] [--show-errors]

``independent`` (default): ``bench/data/address_eval_independent.csv``, 3,377 real addresses whose
city label comes from their source, not from anyone here and not from a parser:

* ``registry``: 2,512 registered addresses of enterprises (public business-registration records,
  2019), labelled by the source's own area code, confirmed by the registering authority's code
  inside the unified social credit code;
* ``universities``: 865 addresses of universities and colleges as a map service gives them, labelled
  by the service's own ``city`` field.

``bench/address_eval_build.py`` rebuilds the file from the two public sources; provenance in
``bench/data/PROVENANCE.md``. Categories, by text rules over the gazetteer's names:

``full``              province and prefecture (or a municipality) at the start — the patent-style address
``prefecture_first``  the prefecture first, no province (深圳市南山区…)
``province_county``   province and a county-level unit, no prefecture (贵州省仁怀市…)
``province_other``    province then neither (河南自贸试验区郑州片区…)
``bare_county``       a county or county-level city alone at the start (庆安县…, 同江市…)
``district_only``     a district alone at the start
``former_name``       a county-level name no longer in use (黔西县, 双城市, 港闸区)
``other``             no unit at the start (a zone, a town)
``traditional``       every fourth row of the first five categories and ``former_name``, converted to
                      traditional characters with OpenCC (s2t) — converted, not native traditional text

``internal`` (earlier, NOT independent): ``bench/data/address_eval.csv``, 212 addresses of cpca's test
file labelled by hand by the session that wrote the parser, categories as in that file.

Scores, as in PatentsView's location evaluation: *precision* = correct cities / cities given;
*recall* = correct cities / addresses with a true city. By category, and for citynet by method (the
tier that decided: ``key`` a chain of names looked up in Arrow, ``prefix`` a shared prefix, ``whole``
the address read whole). cpca's adcode is mapped to the city set with ``city_set().unit_to_city``.
Nothing is asserted here (``tests/test_address_eval.py`` checks floors); the figures are printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.etl.cities import city_set

SETS = {
    "independent": Path(__file__).parent / "data" / "address_eval_independent.csv",
    "internal": Path(__file__).parent / "data" / "address_eval.csv",
}
CATEGORIES = {
    "independent": ["full", "prefecture_first", "province_county", "province_other", "bare_county", "district_only",
                 "former_name", "other", "traditional"],
    "internal": ["full", "county_level_city", "bare_county_level_city", "former_name", "district_only", "no_unit",
                 "traditional"],
}  # fmt: skip
TRADITIONAL_FROM = {
    "independent": ["full", "prefecture_first", "province_county", "province_other", "bare_county", "former_name"],
    "internal": ["full", "county_level_city", "bare_county_level_city", "former_name"],
}


def load(which: str = "independent") -> pd.DataFrame:
    """A labelled set plus its traditional-character copies (every fourth row of the named categories)."""
    import opencc

    d = pd.read_csv(SETS[which], dtype=str, keep_default_na=False)
    d["truth"] = d["city_code"].replace("", None)
    pick = d[d["category"].isin(TRADITIONAL_FROM[which])].iloc[::4]
    conv = opencc.OpenCC("s2t")
    trad = pick.assign(address=pick["address"].map(conv.convert), category="traditional")
    trad = trad[trad["address"] != pick["address"]]
    return pd.concat([d, trad], ignore_index=True)


def score(pred: pd.Series, truth: pd.Series) -> dict:
    located = pred.notna()
    has = truth.notna()
    correct = located & has & (pred == truth)
    return {
        "n": int(len(pred)),
        "with_city": int(has.sum()),
        "located": int(located.sum()),
        "correct": int(correct.sum()),
        "precision": float(correct.sum() / located.sum()) if located.any() else float("nan"),
        "recall": float(correct.sum() / has.sum()) if has.any() else float("nan"),
    }


def methods(addresses: pd.Series) -> pd.Series:
    """The tier of ``parse_addresses`` that decides each address (key, prefix or whole)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from citynet.etl import address as A

    body = pa.array(addresses.tolist(), type=pa.large_string())
    body = pc.replace_substring_regex(pc.utf8_ltrim_whitespace(body), r"^[0-9０-９]{6}", "")
    cons = np.zeros(len(body), dtype="int64")
    k_city, _m = A._key_cities(body, cons, [(None, "")])
    rest = np.flatnonzero(pd.isna(k_city))  # as in parse_addresses: the prefix tier sees the rest, and
    p_city = np.full(len(body), None, dtype=object)  # reads only the prefixes two or more of them share
    if len(rest) > 1:
        p_city[rest] = A._fast_cities(body.take(pa.array(rest)), cons[rest], [(None, "")], min_share=2)[0]
    return pd.Series(np.where(pd.notna(k_city), "key", np.where(pd.notna(p_city), "prefix", "whole")), index=addresses.index)


def evaluate(which: str = "independent") -> pd.DataFrame:
    """The labelled set with citynet's city (``ours``), its status and method, and cpca's city (``cpca``)."""
    import cpca
    from citynet.etl.address import parse_addresses

    d = load(which)
    ours = parse_addresses(d["address"])
    u2c = city_set().unit_to_city
    theirs = cpca.transform(d["address"].tolist())["adcode"].astype("string").str[:6]
    d["ours"] = ours["city_code"].to_numpy()
    d["status"] = ours["status"].to_numpy()
    d["cpca"] = theirs.map(lambda c: u2c.get(c) if isinstance(c, str) else None).to_numpy()
    d["method"] = methods(d["address"]).to_numpy()
    return d


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.address_eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), default="independent", help="labelled set (default independent)")
    ap.add_argument("--show-errors", action="store_true", help="print every wrong or missed address")
    args = ap.parse_args(argv)
    d = evaluate(args.set)

    print(f"labelled addresses: {len(d)} ({int(d['truth'].notna().sum())} with a true city); source {SETS[args.set].name}")
    print(f"{'category':24s} {'n':>4s} | {'citynet P':>9s} {'R':>6s} | {'cpca P':>7s} {'R':>6s}")
    for cat in [*CATEGORIES[args.set], "ALL"]:
        sub = d if cat == "ALL" else d[d["category"] == cat]
        a, b = score(sub["ours"], sub["truth"]), score(sub["cpca"], sub["truth"])
        print(f"{cat:24s} {a['n']:4d} | {a['precision']:9.4f} {a['recall']:6.4f} | {b['precision']:7.4f} {b['recall']:6.4f}"
              + (f"   (false locations: citynet {a['located'] - a['correct']}, cpca {b['located'] - b['correct']})"
                 if cat == "no_unit" else ""))
    if "source" in d:
        print("by source:")
        for src, sub in d.groupby("source"):
            a, b = score(sub["ours"], sub["truth"]), score(sub["cpca"], sub["truth"])
            print(f"  {src:22s} {a['n']:4d} | {a['precision']:9.4f} {a['recall']:6.4f} | {b['precision']:7.4f} {b['recall']:6.4f}")
    print("citynet by method:")
    for m, sub in d.groupby("method"):
        a = score(sub["ours"], sub["truth"])
        print(f"  {m:8s} n={a['n']:4d} precision {a['precision']:.4f} recall {a['recall']:.4f}")
    print("citynet status counts:", d["status"].value_counts().to_dict())
    if args.show_errors:
        bad = d[(d["ours"] != d["truth"]) & (d["ours"].notna() | d["truth"].notna())]
        for r in bad.itertuples(index=False):
            print(f"  [{r.category}] {r.address} truth={r.truth} citynet={r.ours} ({r.status}) cpca={r.cpca}")


if __name__ == "__main__":
    main()
