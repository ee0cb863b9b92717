"""Synthetic canonical tables (etl/schema.py) for the load benchmark and the graph tests.

``synth_tables(n_patents)`` returns the six canonical tables as DataFrames: the real city set, about
``n_patents / 2`` applicants (8% not located to a city), 1–3 applicants per patent, transfers for 10%
of the patents and 0–4 references per patent (70% to earlier corpus patents, 10% foreign). Fully
vectorised: a million patents take a few seconds.

    python -m bench.canonical_synth OUT_DIR [--patents N] [--seed S]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from citynet.etl.schema import CANONICAL


def _cities(n_cities: int | None) -> pd.DataFrame:
    from citynet.etl.cities import city_set

    cities = city_set().cities.copy()
    cols = CANONICAL["cities"].names
    cities = cities.reindex(columns=cols)
    return cities.head(n_cities).reset_index(drop=True) if n_cities else cities


def synth_tables(n_patents: int = 1000, seed: int = 0, years: tuple[int, int] = (2006, 2020),
                 n_cities: int | None = None) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cities = _cities(n_cities)
    codes = cities["city_code"].to_numpy()
    w = 1.0 / np.arange(1, len(codes) + 1) ** 0.9
    w /= w.sum()

    n_app = max(n_patents // 2, 4)
    app_ids = np.char.add("A", np.char.zfill(np.arange(n_app).astype(str), 8))
    app_city = rng.choice(codes, size=n_app, p=w).astype(object)
    app_city[rng.random(n_app) < 0.08] = None
    prov = pd.Series(cities["province_code"].to_numpy(), index=codes)
    kinds = np.array(["firm", "university", "institute", "individual", "government", "other"])
    applicants = pd.DataFrame({
        "applicant_id": app_ids,
        "name": np.char.add("applicant ", np.arange(n_app).astype(str)),
        "kind": rng.choice(kinds, size=n_app, p=[0.6, 0.15, 0.1, 0.1, 0.03, 0.02]),
        "country": "CN",
        "city_code": app_city,
        "province_code": pd.Series(app_city).map(prov).to_numpy(),
        "located_by": np.where(pd.isna(app_city), "unresolved", "address"),
    })

    pids = np.char.add("CN", np.char.zfill(np.arange(n_patents).astype(str), 9))
    year = rng.integers(years[0], years[1] + 1, size=n_patents)
    app_date = pd.to_datetime(year.astype(str) + "-01-01") + pd.to_timedelta(rng.integers(0, 365, n_patents), unit="D")
    granted = rng.random(n_patents) < 0.5
    grant_date = (app_date + pd.to_timedelta(rng.integers(300, 1500, n_patents), unit="D")).where(granted)
    green = rng.random(n_patents) < 0.4
    y02 = rng.random(n_patents) < 0.2
    ipc_pool = np.array(["H01M", "F03D", "H02J", "B01D", "C02F", "G06F", "A01B"])
    ipc_main = rng.choice(ipc_pool, size=n_patents)
    patents = pd.DataFrame({
        "patent_id": pids,
        "app_date": app_date.date,
        "app_year": year.astype("int16"),
        "pub_number": np.char.add("CN1", np.char.zfill(np.arange(n_patents).astype(str), 8)),
        "grant_date": pd.Series(grant_date).dt.date.where(granted, None),
        "granted": granted,
        "patent_kind": rng.choice(np.array(["invention", "utility", "design"]), size=n_patents, p=[0.6, 0.35, 0.05]),
        "ipc_main": ipc_main,
        "ipc": [[x] for x in ipc_main],
        "cpc": [["Y02E"] if y else [] for y in y02],
        "green": green,
        "green_topics": [["energy"] if g else [] for g in green],
        "y02": y02,
        "title": np.char.add("title ", np.arange(n_patents).astype(str)),
        "source_file": "synthetic",
        "source_row": np.arange(n_patents, dtype="int64"),
    })

    n_apps = rng.choice([1, 2, 3], size=n_patents, p=[0.6, 0.3, 0.1])
    link_pid = np.repeat(np.arange(n_patents), n_apps)
    starts = np.cumsum(n_apps) - n_apps
    seq = np.arange(len(link_pid)) - np.repeat(starts, n_apps) + 1
    link_app = rng.integers(0, n_app, size=len(link_pid))
    links = pd.DataFrame({
        "patent_id": pids[link_pid],
        "applicant_id": app_ids[link_app],
        "seq": seq.astype("int16"),
        "city_code": app_city[link_app],
    }).drop_duplicates(["patent_id", "applicant_id"])

    tr_idx = np.flatnonzero(rng.random(n_patents) < 0.1)
    first_app = link_app[starts[tr_idx]]
    to_app = rng.integers(0, n_app, size=len(tr_idx))
    tr_year = year[tr_idx] + rng.integers(0, 4, size=len(tr_idx))
    transfers = pd.DataFrame({
        "transfer_id": np.char.add("T", np.char.zfill(np.arange(len(tr_idx)).astype(str), 8)),
        "patent_id": pids[tr_idx],
        "date": (pd.to_datetime(tr_year.astype(str) + "-06-01")).date,
        "year": tr_year.astype("int16"),
        "from_applicant_id": app_ids[first_app],
        "to_applicant_id": app_ids[to_app],
        "from_city": app_city[first_app],
        "to_city": app_city[to_app],
    })

    n_refs = rng.integers(0, 5, size=n_patents)
    citing = np.repeat(np.arange(n_patents), n_refs)
    u = rng.random(len(citing))
    cited = (citing * rng.random(len(citing))).astype(int)
    in_corpus = (u < 0.7) & (citing > 0)
    foreign = u >= 0.9
    cited_ref = np.where(
        in_corpus, np.char.add("CN1", np.char.zfill(cited.astype(str), 8)),
        np.where(foreign, np.char.add("US", np.char.zfill(np.arange(len(citing)).astype(str), 9)),
                 np.char.add("CN2", np.char.zfill(np.arange(len(citing)).astype(str), 9))),
    )
    citations = pd.DataFrame({
        "citing_patent_id": pids[citing],
        "cited_ref": cited_ref,
        "cited_patent_id": np.where(in_corpus, pids[cited], None),
        "foreign": foreign,
    })
    return {"cities": cities, "applicants": applicants, "patents": patents, "patent_applicants": links,
            "transfers": transfers, "citations": citations}


def write_tables(tables: dict[str, pd.DataFrame], canonical_dir: Path, patents_by_year: bool = False) -> None:
    """Write the tables as Parquet with the canonical Arrow schemas. ``patents_by_year``: patents
    sorted by ``app_year`` (stable), one row group per year, as the ingest writes them."""
    canonical_dir = Path(canonical_dir)
    canonical_dir.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        schema = CANONICAL[name]
        if name == "patents" and patents_by_year:
            df = df.sort_values("app_year", kind="stable", na_position="last")
            with pq.ParquetWriter(canonical_dir / f"{name}.parquet", schema) as writer:
                for _, part in df.groupby("app_year", dropna=False, sort=False):
                    writer.write_table(pa.Table.from_pandas(part.reindex(columns=schema.names), schema=schema,
                                                            preserve_index=False))
            continue
        table = pa.Table.from_pandas(df.reindex(columns=schema.names), schema=schema, preserve_index=False)
        pq.write_table(table, canonical_dir / f"{name}.parquet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--patents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write_tables(synth_tables(a.patents, a.seed), a.out)


if __name__ == "__main__":
    main()
