"""``citynet synth``: file formats, noise, determinism, truth consistency and the planted effects."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from citynet.etl.classify import GreenMatcher, classify_green
from citynet.etl.normalize import (
    normalize_app_numbers,
    normalize_ipc_symbols,
    normalize_name,
    parse_dates,
    split_list,
)

from citynet.synth import SynthConfig, city_parameters, synthesize, true_panels
from citynet.synth.appno import check_digit, check_digits, format_numbers, is_valid
from citynet.synth.vocab import symbol_pools
from citynet.synth.writer import PATENT_HEADERS, TRANSFER_HEADERS

SMALL = SynthConfig(seed=11, n_patents=20_000, years=(2010, 2015), policy_effect=0.3, distance_decay=1.2)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    truth = synthesize(out, SMALL)
    patents = pd.read_csv(out / "raw" / "patents.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    transfers = pd.read_csv(out / "raw" / "transfers.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    covariates = pd.read_csv(out / "raw" / "covariates.csv", dtype={"city_code": str}, encoding="utf-8-sig")
    return out, truth, patents, transfers, covariates


def test_check_digit_hand_worked():
    # 2·2+3·0+4·1+5·5+6·1+7·0+8·1+9·2+2·3+3·4+4·5+5·6 = 133 ≡ 1 (mod 11)
    assert check_digit("201510123456") == "1"
    assert is_valid("CN201510123456.1") and not is_valid("CN201510123456.2")
    x = next(n for n in range(10_000) if check_digit(f"20151{n:07d}") == "X")
    assert format_numbers(np.array([2015]), np.array([1]), np.array([x]))[0] == f"CN20151{x:07d}.X"
    bodies = np.random.default_rng(0).integers(200_300_000_000, 202_599_999_999, 2_000)
    assert list(check_digits(bodies)) == [check_digit(str(b)) for b in bodies]


def test_headers_and_encoding(run):
    out, _, patents, transfers, covariates = run
    assert list(patents.columns) == PATENT_HEADERS
    assert list(transfers.columns) == TRANSFER_HEADERS
    assert (out / "raw" / "patents.csv").read_bytes()[:3] == b"\xef\xbb\xbf"  # UTF-8 BOM
    assert {"城市", "city_code", "year", "gdp_per_capita", "population", "industry_share", "rd_intensity", "fdi",
            "low_carbon", "carbon_trading"} <= set(covariates.columns)  # fmt: skip


def test_every_application_number_has_a_valid_check_digit(run):
    _, truth, patents, transfers, _ = run
    for col in (patents["申请号"], transfers["申请号"]):
        given = col[col != ""]
        assert given.map(is_valid).all()
    assert (patents["申请号"] == "").sum() == truth["counts"]["bad_rows_by_reason"].get("missing_app_number", 0)


def test_noise_is_present_and_counted(run):
    _, truth, patents, transfers, _ = run
    c = truth["counts"]
    assert len(patents) == c["patent_rows"] == c["patents"] + c["duplicates"] + c["bad_rows"]
    assert len(transfers) == c["transfer_rows"] == c["transfers"] + c["transfer_duplicates"] + c["transfer_bad_rows"]
    assert 0.01 <= c["duplicates"] / c["patents"] <= 0.02
    assert 0.001 <= c["bad_rows"] / c["patents"] <= 0.006
    ids = normalize_app_numbers(patents["申请号"])["patent_id"]
    assert ids.dropna().duplicated().sum() == c["duplicates"]
    dates = patents["申请日"]
    assert dates.str.fullmatch(r"\d{8}").any() and dates.str.fullmatch(r"\d{4}-\d\d-\d\d").any()
    assert dates.str.fullmatch(r"\d{4}\.\d\d\.\d\d").any() and dates.isin(["19700101", "20991231"]).any()
    assert (patents["授权公告日"] == "0").any()
    assert patents["申请人"].str.contains("；").any() and patents["申请人"].str.contains(";").any()
    assert patents["申请人"].str.contains(r"[\uff01-\uff5e\u3000]").any()  # full-width characters
    assert patents["申请人"].str.contains(r"[\u4e00-\u9fff] [\u4e00-\u9fff]").any()  # stray spaces
    assert (patents["主分类号"] == "H01M/0X").any()
    assert patents["申请人地址"].str.contains("襄樊市|莱芜市|巢湖市").any()  # historical names
    assert patents["国省代码"].str.fullmatch(r"江苏\(32\)").any() and patents["国省代码"].str.contains(r"\(JP\)").any()
    assert set(patents["专利类型"]) == {"发明公开", "发明授权", "实用新型", "外观设计"}
    design = patents["专利类型"] == "外观设计"
    assert patents.loc[design, "主分类号"].str.fullmatch(r"\d\d-\d\d").all()  # Locarno classes
    assert patents["分类号"].str.contains(r"^[A-H]\d\d[A-Z]\d+/\d+;[A-H]\d\d[A-Z]\d+/\d+").any()
    assert patents["CPC分类号"].str.contains("Y02").any()
    assert patents["引证专利"].str.contains(r"CN\d{9}[AU]").any() and patents["引证专利"].str.contains("US|JP").any()
    addr = patents["申请人地址"]
    assert addr.str.match(r"^\d{6}[\u4e00-\u9fff]").mean() > 0.8


def test_green_share_and_symbol_pools():
    green, _, plain, _ = symbol_pools()
    m = GreenMatcher()
    g = normalize_ipc_symbols(pd.Series(green))["symbol"]
    p = normalize_ipc_symbols(pd.Series(plain))["symbol"]
    assert g.notna().all() and p.notna().all()
    assert all(m.topics(s) for s in g) and not any(m.topics(s) for s in p)
    assert "H01L31/18" in set(plain)  # just outside H01L 31/000-078


def _clean_records(patents: pd.DataFrame) -> pd.DataFrame:
    """The records a correct ETL keeps: valid number, date, applicants and IPC; first of each number."""
    ids = normalize_app_numbers(patents["申请号"])["patent_id"]
    date = parse_dates(patents["申请日"])
    ok = ids.notna() & date.between("1985-01-01", "2030-01-01") & (patents["申请人"].str.strip() != "")
    ok &= ~patents["主分类号"].str.contains("/0X")
    df = patents[ok].assign(patent_id=ids[ok], year=date[ok].dt.year)
    return df.drop_duplicates("patent_id")


def test_truth_is_consistent_with_the_files(run):
    out, truth, patents, transfers, covariates = run
    clean = _clean_records(patents)
    assert len(clean) == truth["counts"]["patents"]
    city_of = truth["applicant_city"]
    # every spelling of every applicant normalises to a key of applicant_city
    names = split_list(clean["申请人"]).explode()
    keys = names.map(normalize_name)
    assert keys.isin(city_of.keys()).all()
    assert split_list(transfers["受让人"]).explode().dropna().map(normalize_name).isin(city_of.keys()).all()
    # green invention patents per city-year recomputed from the file equal the true panel
    inv = clean[clean["专利类型"].str.startswith("发明")]
    ipc = split_list(inv["主分类号"] + ";" + inv["分类号"]).explode()
    sym = normalize_ipc_symbols(ipc)["symbol"]
    by_row = {k: list(v) for k, v in sym.dropna().groupby(level=0)}
    lists = pd.Series([by_row.get(i, []) for i in inv.index], index=inv.index, dtype=object)
    green = inv[classify_green(lists)["green"].to_numpy()]
    links = pd.DataFrame({"pid": green["patent_id"], "year": green["year"], "name": split_list(green["申请人"])})
    links = links.explode("name")
    links["city"] = links["name"].map(normalize_name).map(city_of)
    per = links.dropna(subset=["city"]).drop_duplicates(["pid", "city"])
    got = per.groupby(["city", "year"]).size()
    want = pd.read_csv(out / "truth" / "green_city_year.csv", dtype={"city_code": str})
    want = want[want["green_patents"] > 0].set_index(["city_code", "year"])["green_patents"]
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
    assert truth["counts"]["green_invention_planted"] == per["pid"].nunique()
    # dyads
    pairs = per.groupby("pid")["city"].agg(sorted)
    pairs = pairs[pairs.map(len) == 2]
    dy = pd.read_csv(out / "truth" / "collab_dyad_year.csv", dtype={"city_a": str, "city_b": str})
    assert len(pairs) == dy["collab"].sum()
    # covariates carry the same policy dummy as the truth
    lc = covariates.set_index(["city_code", "year"])["low_carbon"]
    w = pd.read_csv(out / "truth" / "green_city_year.csv", dtype={"city_code": str}).set_index(["city_code", "year"])
    assert (lc.reindex(w.index) == w["low_carbon"]).all()
    assert truth["policy_effect"] == 0.3 and truth["distance_decay"] == 1.2 and truth["seed"] == 11
    assert set(truth["a_i"]) == set(covariates["city_code"]) and len(truth["g_t"]) == 6


def test_hard_cases_planted(run):
    _, truth, *_ = run
    hard = truth["applicant_hard_cases"]
    for tag in ("no_city_in_name", "county_city_only", "unique_district", "street_other_city", "foreign"):
        assert hard.get(tag), tag
    foreign = hard["foreign"]
    assert all(truth["applicant_city"][k] is None for k in foreign)
    assert sum(v is None for v in truth["applicant_city"].values()) == len(foreign)


def test_determinism_by_seed(tmp_path):
    cfg = SynthConfig(seed=3, n_patents=2_000, years=(2012, 2014))
    synthesize(tmp_path / "a", cfg)
    synthesize(tmp_path / "b", cfg)
    synthesize(tmp_path / "c", SynthConfig(seed=4, n_patents=2_000, years=(2012, 2014)))
    for f in ("raw/patents.csv", "raw/transfers.csv", "raw/covariates.csv", "truth.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a/raw/patents.csv").read_bytes() != (tmp_path / "c/raw/patents.csv").read_bytes()
    t = json.loads((tmp_path / "a/truth.json").read_text(encoding="utf-8"))
    assert t["n_patents"] == 2_000


def test_gb18030_encoding(tmp_path):
    synthesize(tmp_path, SynthConfig(seed=5, n_patents=1_000, years=(2015, 2016), encoding="gb18030"))
    df = pd.read_csv(tmp_path / "raw" / "patents.csv", dtype=str, encoding="gb18030")
    assert list(df.columns) == PATENT_HEADERS


# --- the planted parameters, recovered from the true data with the named estimators -----------------
# The distance decay is checked on the expected counts (exact, no draw); coverage over draws of the whole chain
# is tests/test_chain_montecarlo.py.
BIG = SynthConfig(seed=42, n_patents=200_000, years=(2010, 2015), policy_effect=0.25, distance_decay=1.3)


@pytest.fixture(scope="module")
def panels():
    p = city_parameters(BIG)
    city_year, dyad_year = true_panels(BIG, p)
    return p, city_year, dyad_year


def test_expected_counts_hold_exactly(panels):
    p, city_year, dyad_year = panels
    # E[green_it] = (1 - c) T_it + Σ_j m_i m_j K_ij = T_it
    implied = (1 - BIG.coapp_share) * p.T + p.m * (p.K @ p.m)
    assert np.allclose(implied, p.T, rtol=1e-9)
    assert np.allclose(np.log(p.T), p.a[:, None] + p.g[None, :] + BIG.policy_effect * p.D)


def test_policy_effect_recovered_by_ppml(panels):
    import pyfixest as pf

    _, city_year, _ = panels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.fepois("green_patents ~ low_carbon | city_code + year", data=city_year, vcov={"CRV1": "city_code"})
    lo, hi = fit.confint().loc["low_carbon"]
    assert lo <= BIG.policy_effect <= hi


def test_distance_decay_planted_exactly(panels):
    """The generator plants E[collab_ijt] = m_it m_jt d_ij^(−θ): a PPML of the expected counts on the full
    dyad grid with origin-year and destination-year effects returns −θ to 1e-6. (A single Poisson draw is
    not used: with ~0.1 co-applications per origin-year effect, PPML has an incidental-parameter bias —
    docs/methods.md; the chain Monte Carlo checks the draws.)"""
    from citynet.analysis.estimators import fit

    p, _, _ = panels
    n = len(p.codes)
    iu, ju = np.triu_indices(n, 1)
    years = p.years
    grid = pd.DataFrame(
        {
            "city_a": np.tile(p.codes[iu], len(years)),
            "city_b": np.tile(p.codes[ju], len(years)),
            "year": np.repeat(years, len(iu)),
            "log_distance": np.log(np.tile(p.dist[iu, ju], len(years))),
            "mu": np.concatenate([p.m[iu, k] * p.m[ju, k] * p.K[iu, ju] for k in range(len(years))]),
        }
    )
    r = fit(grid, "mu ~ log_distance | city_a^year + city_b^year", model="ppml", vcov="hc1")
    assert abs(r.params["log_distance"] + BIG.distance_decay) < 1e-6
