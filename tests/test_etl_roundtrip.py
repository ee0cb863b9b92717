"""Round trip synth → ingest: every row accounted for, applicants located in their true city."""

import json

import pandas as pd
import pytest
from citynet.etl.pipeline import ingest

from citynet.synth import SynthConfig, synthesize
from citynet.workspace import Workspace


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, SynthConfig(seed=11, n_patents=30_000, years=(2008, 2016)))
    ws = Workspace.open(out / "ws", create=True)
    report = ingest(
        ws, [out / "raw" / "patents.csv"], [out / "raw" / "transfers.csv"], [out / "raw" / "covariates.csv"]
    )
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return ws, report, truth


def test_rows_read_equal_loaded_plus_quarantined_and_match_the_planted_noise(roundtrip):
    ws, report, truth = roundtrip
    c = truth["counts"]
    pat = next(f for f in report["files"] if f["kind"] == "patents")
    assert pat["rows_read"] == c["patent_rows"]
    assert pat["rows_loaded"] == c["patents"]
    assert pat["quarantined_by_reason"].pop("duplicate") == c["duplicates"]
    assert pat["quarantined_by_reason"] == c["bad_rows_by_reason"]
    tr = next(f for f in report["files"] if f["kind"] == "transfers")
    assert tr["rows_loaded"] == c["transfers"] and tr["rows_read"] == c["transfer_rows"]
    quarantined = pd.concat(pd.read_csv(p, dtype=str) for p in ws.quarantine.glob("*.csv"))
    assert len(quarantined) == sum(f["rows_quarantined"] for f in report["files"])
    assert quarantined["source_row"].notna().all() and quarantined["reason_code"].notna().all()


def test_applicants_located_in_their_true_city(roundtrip):
    ws, report, truth = roundtrip
    apps = pd.read_parquet(ws.table("applicants"))
    true_city = apps["name"].map(truth["applicant_city"])
    assert apps["name"].isin(truth["applicant_city"].keys()).all()
    chinese = true_city.notna()
    located = chinese & apps["city_code"].notna()
    assert located.sum() / chinese.sum() >= 0.90
    assert (apps.loc[located, "city_code"] == true_city[located]).mean() >= 0.98
    # foreign applicants are never put in a Chinese city
    assert apps.loc[~chinese, "city_code"].isna().all()


def test_green_classification_matches_the_generator(roundtrip):
    ws, report, truth = roundtrip
    patents = pd.read_parquet(ws.table("patents"))
    assert int(patents["green"].sum()) == truth["counts"]["green_any"]
    assert patents["patent_id"].is_unique
    cov = pd.read_parquet(ws.canonical / "covariates.parquet")
    assert {"city_code", "year", "low_carbon"} <= set(cov.columns)
