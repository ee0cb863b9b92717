"""Difference-in-differences for staggered policies (paper 004's design and what referees ask today).

- ``did``: two-way FE DID ``y_it = α + β D_it + ρ'X_it + η_t + λ_i + e_it`` with ``D_it = 1[t ≥ g_i]``.
- ``event_study``: ``y_it = Σ_{k≠−1} β_k 1[t − g_i = k] + ρ'X_it + η_t + λ_i + e_it`` with leads
  ``pre_K…pre_2``, ``current``, lags ``post_1…post_L``; the end points are binned (``pre_K`` collects
  every k ≤ −K, ``post_L`` every k ≥ L); reference period k = −1 (``pre_1``) left out;
  never-treated units have every dummy 0. Plot with 95% CI: ``analysis.figures.event_study_plot``.
- ``placebo``: N random reassignments: the same number of cities as were treated are drawn at
  random and given the real treatment years in a random order (keeping the timing distribution);
  β̂ of each draw by Frisch–Waugh–Lovell on the within-transformed data (exactly the TWFE β̂).
  Two-sided p = share of |β̂_placebo| ≥ |β̂|.
- ``psm_did``: logit propensity score of (ever-)treatment on pre-period city means of the
  covariates, 1:1 nearest neighbour without replacement (optional caliper on the score, in
  standard deviations of the logit score when ``caliper_sd`` else absolute), DID on the matched
  cities; balance table with the standardised bias
  ``100·(x̄_T − x̄_C)/√((s²_T + s²_C)/2)`` before and after matching (Rosenbaum & Rubin 1985).
- ``callaway_santanna``: group-time ATT(g,t) (Callaway & Sant'Anna 2021, unconditional parallel
  trends): ``ATT(g,t) = E[Y_t − Y_b | G=g] − E[Y_t − Y_b | C]`` with base b = g−1 after treatment
  and, before it, b = t−1 (``base="varying"``) or g−1 (``"universal"``); C = never-treated units or
  (``control="notyet"``) units not yet treated at t, ``G > t`` (with a universal base
  ``G > max(t, g−1)``), exactly as ``did::att_gt`` (checked against did 2.1.2 on mpdta and a synth
  panel, tests/references). ``control="notyet_strict"`` keeps the older rule ``G > max(t, g−1)`` with
  a varying base (fewer controls in pre-period cells; not the authors' estimator). ``simple`` aggregation
  ``θ = Σ_{g,t≥g} w_g ATT(g,t) / Σ w_g`` with weights the group sizes, and the dynamic
  (event-time) aggregation; analytic standard errors as ``did::att_gt`` / ``aggte`` (per cell
  ``√(Σ_g(ΔY−ΔȲ_g)²/n_g² + Σ_C(ΔY−ΔȲ_C)²/n_C²)``; aggregations from the combined influence function,
  including the estimated weights), or a cluster (city) bootstrap with ``se="bootstrap"``.
- ``gardner_did``: two-stage DID (Gardner 2022; Borusyak, Jaravel & Spiess 2024): unit and year FE
  estimated on untreated observations, ATT from regressing the residualised outcome on D
  among all observations; SE corrected for the first stage as ``did2s`` (GMM, clustered by city), or
  a city bootstrap with ``se="bootstrap"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.estimators import check_numeric, constant_within, fit
from citynet.analysis.formula import prepare
from citynet.analysis.results import FitResult
from citynet.analysis.treatment import check_treatment, first_treated, switching_off

from citynet.errors import AnalysisError
from citynet.progress import report


def _rhs(terms: Sequence[str]) -> str:
    return " + ".join(terms)


def did_controls(matched: pd.DataFrame, covariates: Sequence[str], controls: Sequence[str] | None, unit: str,
                 fe: str | None) -> tuple[list[str], list[str]]:
    """The controls of a PSM-DID's regression and its note: ``controls`` when given, else the covariates matched
    on, less those constant within each city when the city has fixed effects (tier_high: absorbed by them; the
    DID stopped as collinear)."""
    if controls is not None:
        return list(controls), []
    absorbed = []
    if fe and unit in [t.strip() for t in fe.split("+")]:
        absorbed = list(constant_within(matched, covariates, [unit]))
    note = [f"PSM-DID: {', '.join(absorbed)} matched on; constant within each city, absorbed by the city fixed "
            "effects, so not a control of the DID."] if absorbed else []
    return [c for c in covariates if c not in absorbed], note


def did(panel: pd.DataFrame, y: str, treat: str = "low_carbon", controls: Sequence[str] = (),
        fe: str = "city_code + year", vcov: Any = None, model: str = "ols", name: str | None = None,
        sample: str | None = None, weights: str | None = None) -> FitResult:
    """Two-way FE DID (staggered): the coefficient of ``treat`` (``weights``: regression weights, as ``fit``)."""
    fml = f"{y} ~ {_rhs([treat, *controls])}" + (f" | {fe}" if fe else "")
    r = fit(panel, fml, model=model, vcov=vcov, name=name, sample=sample, weights=weights)
    r.notes.append(f"TWFE DID on {treat}")
    return r


# ----------------------------------------------------------------------------------- event study
@dataclass
class EventStudy:
    result: FitResult
    terms: list[str]
    rel_times: list[int]
    ref: int = -1

    def coefficients(self) -> pd.DataFrame:
        """rel_time, term, coef, se, ci_low, ci_high (the reference period with 0)."""
        ci = self.result.conf_int()
        rows = [(k, t, self.result.params[t], self.result.se[t], ci.loc[t, "ci_low"], ci.loc[t, "ci_high"])
                for k, t in zip(self.rel_times, self.terms, strict=True)]
        rows.append((self.ref, f"pre_{-self.ref}", 0.0, 0.0, 0.0, 0.0))
        return pd.DataFrame(rows, columns=["rel_time", "term", "coef", "se", "ci_low", "ci_high"]).sort_values(
            "rel_time").reset_index(drop=True)


def _event_name(k: int) -> str:
    return "current" if k == 0 else (f"pre_{-k}" if k < 0 else f"post_{k}")


def event_study(panel: pd.DataFrame, y: str, treat: str | None = "low_carbon", cohort: str | None = None,
                controls: Sequence[str] = (), leads: int = 5, lags: int = 5, ref: int = -1,
                fe: str = "city_code + year", vcov: Any = None, model: str = "ols",
                unit: str = "city_code", name: str | None = None, weights: str | None = None) -> EventStudy:
    """Leads/lags regression with binned end points and reference period ``ref`` (module docstring);
    ``weights``: regression weights, as ``fit``."""
    df, _ = prepare(panel, f"{y} ~ {_rhs([*controls])}" if controls else f"{y} ~ 1")
    g, treat_notes = first_treated(df, treat, cohort, unit)
    rel = (df["year"] - g).clip(lower=-leads, upper=lags)
    ks = [k for k in range(-leads, lags + 1) if k != ref]
    cols = {}
    for k in ks:
        cols[_event_name(k)] = ((rel == k) & g.notna()).astype(np.int8).to_numpy()
    df = df.assign(**cols)
    present = [_event_name(k) for k in ks if cols[_event_name(k)].any()]
    fml = f"{y} ~ {_rhs([*present, *controls])}" + (f" | {fe}" if fe else "")
    r = fit(df, fml, model=model, vcov=vcov, name=name or "Event study", weights=weights)
    r.model = "event_study" if model == "ols" else f"event_study_{model}"
    r.notes += treat_notes
    return EventStudy(result=r, terms=present, rel_times=[k for k in ks if _event_name(k) in present], ref=ref)


# --------------------------------------------------------------------------------------- placebo
@dataclass
class Placebo:
    estimate: float
    draws: np.ndarray
    real: FitResult
    term: str

    @property
    def pvalue(self) -> float:
        return float((np.abs(self.draws) >= abs(self.estimate)).mean())

    def summary(self) -> dict[str, float]:
        return {"estimate": self.estimate, "placebo_mean": float(self.draws.mean()),
                "placebo_sd": float(self.draws.std(ddof=1)), "pvalue": self.pvalue, "n": float(len(self.draws))}


def _demean_cols(mat: np.ndarray, fe_codes: np.ndarray) -> np.ndarray:
    from pyfixest.estimation import demean

    out, _ = demean(np.ascontiguousarray(mat, dtype=float), fe_codes, np.ones(len(mat)), tol=1e-10)
    return out


def placebo(panel: pd.DataFrame, y: str, treat: str = "low_carbon", cohort: str | None = None,
            controls: Sequence[str] = (), n: int = 500, seed: int = 0, fe: str = "city_code + year",
            vcov: Any = None, unit: str = "city_code") -> Placebo:
    """Randomly reassign the treatment N times; returns the placebo β̂'s and the real estimate."""
    real = did(panel, y, treat, controls, fe=fe, vcov=vcov)
    df, _ = prepare(panel, f"{y} ~ {_rhs([treat, *controls])}")
    fe_list = [f.strip() for f in fe.split("+") if f.strip()]
    df = df.dropna(subset=[y, treat, *controls, *fe_list]).reset_index(drop=True)
    g, treat_notes = first_treated(df, treat, cohort, unit)
    units = df[unit].unique()
    per_unit = pd.Series(g.to_numpy(), index=df[unit]).groupby(level=0).first().reindex(units)
    treated_years = per_unit.dropna().to_numpy()
    codes = np.column_stack([pd.factorize(df[f])[0] for f in fe_list]).astype(np.uint64)
    base = _demean_cols(df[[y, *controls]].to_numpy(dtype=float), codes)
    yt, Xc = base[:, 0], base[:, 1:]
    if Xc.shape[1]:
        proj = np.linalg.pinv(Xc)
        yt = yt - Xc @ (proj @ yt)
    rng = np.random.default_rng(seed)
    uidx = pd.Index(units).get_indexer(df[unit])
    years = df["year"].to_numpy()
    draws = np.empty(n)
    batch = 50
    for s in range(0, n, batch):
        m = min(batch, n - s)
        D = np.zeros((len(df), m))
        for j in range(m):
            chosen = rng.choice(len(units), size=len(treated_years), replace=False)
            gy = np.full(len(units), np.inf)
            gy[chosen] = rng.permutation(treated_years)
            D[:, j] = years >= gy[uidx]
        Dt = _demean_cols(D, codes)
        if Xc.shape[1]:
            Dt = Dt - Xc @ (proj @ Dt)
        draws[s:s + m] = (Dt * yt[:, None]).sum(0) / (Dt * Dt).sum(0)
        report("placebo draws", s + m, n)
    real.notes += treat_notes
    return Placebo(estimate=float(real.params[treat]), draws=draws, real=real, term=treat)


# --------------------------------------------------------------------------------------- PSM-DID
@dataclass
class PSMDID:
    result: FitResult
    balance: pd.DataFrame
    matched_units: pd.DataFrame  # treated unit, control unit, scores
    pscore: pd.Series


def _std_bias(xt: pd.DataFrame, xc: pd.DataFrame) -> pd.Series:
    return 100 * (xt.mean() - xc.mean()) / np.sqrt((xt.var() + xc.var()) / 2)


def psm_did(panel: pd.DataFrame, y: str, covariates: Sequence[str], treat: str = "low_carbon",
            cohort: str | None = None, controls: Sequence[str] | None = None, caliper: float | None = None,
            caliper_sd: bool = True, seed: int = 0, fe: str = "city_code + year", vcov: Any = None,
            unit: str = "city_code", pre_years: Sequence[int] | None = None) -> PSMDID:
    """PSM-DID: logit score on pre-period city means, 1:1 NN without replacement, DID on matches."""
    import statsmodels.api as sm

    df, _ = prepare(panel, f"{y} ~ {_rhs([treat, *covariates])}")
    check_numeric(df, covariates, "PSM covariate")
    g, treat_notes = first_treated(df, treat, cohort, unit)
    df = df.assign(_g=g)
    first = float(np.nanmin(g)) if g.notna().any() else np.inf
    pre = df[df["year"] < first] if pre_years is None else df[df["year"].isin(list(pre_years))]
    if pre.empty:
        pre = df
    X = pre.groupby(unit)[list(covariates)].mean()
    d = df.groupby(unit)["_g"].first().notna().astype(int).reindex(X.index)
    ok = X.notna().all(axis=1)
    X, d = X[ok], d[ok]
    if d.nunique() < 2:
        raise AnalysisError("PSM: need treated and untreated cities with covariates", fix="check the sample")
    Xs = (X - X.mean()) / X.std().replace(0, 1)
    try:
        lm = sm.Logit(d, sm.add_constant(Xs)).fit(disp=0, maxiter=200)
        score = pd.Series(lm.predict(sm.add_constant(Xs)), index=X.index)
    except Exception as exc:
        raise AnalysisError(f"PSM: the logit failed ({exc})", fix="use fewer or less collinear covariates") from exc
    logit = np.log(score / (1 - score))
    cal = None
    if caliper is not None:
        cal = caliper * logit.std() if caliper_sd else caliper
    rng = np.random.default_rng(seed)
    treated = list(d.index[d == 1])
    rng.shuffle(treated)
    treated.sort(key=lambda u: -score[u])  # hardest matches first (highest scores), ties random
    pool = set(d.index[d == 0])
    pairs = []
    for u in treated:
        if not pool:
            break
        cands = np.array(sorted(pool))
        dist = np.abs(logit[cands].to_numpy() - logit[u])
        j = int(np.argmin(dist))
        if cal is not None and dist[j] > cal:
            continue
        pairs.append((u, cands[j], float(score[u]), float(score[cands[j]])))
        pool.discard(cands[j])
    if not pairs:
        raise AnalysisError("PSM: no treated city found a match within the caliper", fix="widen the caliper")
    matched = pd.DataFrame(pairs, columns=["treated", "control", "score_treated", "score_control"])
    keep = set(matched["treated"]) | set(matched["control"])
    Xt_b, Xc_b = X[d == 1], X[d == 0]
    Xt_a, Xc_a = X.loc[matched["treated"]], X.loc[matched["control"]]
    bal = pd.DataFrame({
        "mean_treated_before": Xt_b.mean(), "mean_control_before": Xc_b.mean(), "bias_before": _std_bias(Xt_b, Xc_b),
        "mean_treated_after": Xt_a.mean(), "mean_control_after": Xc_a.mean(), "bias_after": _std_bias(Xt_a, Xc_a),
    })
    bal["bias_reduction_pct"] = 100 * (1 - bal["bias_after"].abs() / bal["bias_before"].abs())
    sub = df[df[unit].isin(keep)].drop(columns="_g")
    controls, absorbed = did_controls(sub, covariates, controls, unit, fe)
    res = did(sub, y, treat, controls, fe=fe, vcov=vcov, name="PSM-DID")
    res.notes += absorbed + treat_notes
    res.stats["n_matched_pairs"] = float(len(matched))
    res.notes.append(f"PSM: logit on pre-period means of {', '.join(covariates)}; 1:1 NN without replacement"
                     + (f"; caliper {cal:.4f} on the logit score" if cal is not None else ""))
    return PSMDID(result=res, balance=bal, matched_units=matched, pscore=score)


# ------------------------------------------------------------------------------ Callaway–Sant'Anna
@dataclass
class CSResult:
    att_gt: pd.DataFrame  # g, t, att, n_g, se_analytic (influence function, as did::att_gt), se (the one shown)
    simple: FitResult
    dynamic: FitResult
    boot: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))  # bootstrap draws of the simple ATT
    simple_se_analytic: float = float("nan")  # as did::aggte(type = "simple", bstrap = FALSE)
    dynamic_se_analytic: pd.Series = field(default_factory=pd.Series)  # as did::aggte(type = "dynamic")


def _cs_core(Y: np.ndarray, G: np.ndarray, years: np.ndarray, control: str, base: str,
             influence: list[np.ndarray] | None = None):
    """ATT(g,t) on a balanced wide matrix Y (units × years), cohorts G (inf = never).

    With ``influence`` (a list), each cell's influence function over the n units is appended to it:
    ``ψ_i = n/n_g (ΔY_i − ΔȲ_g)`` for the cohort, ``−n/n_C (ΔY_i − ΔȲ_C)`` for the controls, 0 else
    (``did::att_gt``'s ``inffunc``, no covariates), so that ``se = √(mean(ψ²)/n)``.
    """
    out = []
    n = len(Y)
    groups = np.unique(G[np.isfinite(G)])
    if not np.isinf(G).any():
        groups = groups[groups < groups.max()]
    yidx = {int(t): i for i, t in enumerate(years)}
    for gg in groups:
        ing = gg == G
        if gg - 1 not in yidx:
            continue
        for t in years:
            if t >= gg:
                b = yidx[int(gg - 1)]
            else:
                if base == "universal":
                    b = yidx[int(gg - 1)]
                    if t == gg - 1:
                        continue
                else:
                    if int(t) - 1 not in yidx:
                        continue
                    b = yidx[int(t) - 1]
            ti = yidx[int(t)]
            if control == "never":
                cmask = ~np.isfinite(G)
            elif control == "notyet" and base == "varying":
                cmask = (t < G) & (gg != G)  # not yet treated at t (did::att_gt)
            else:  # universal base, or the stricter 'notyet_strict' rule: not treated by max(t, g−1)
                cmask = (max(t, gg - 1) < G) & (gg != G)
            if cmask.sum() == 0 or ing.sum() == 0:
                continue
            dy = Y[:, ti] - Y[:, b]
            a, c = dy[ing], dy[cmask]
            # analytic SE from the influence function of the difference in means (did::att_gt's, no covariates)
            se = np.sqrt(((a - a.mean()) ** 2).sum() / len(a) ** 2 + ((c - c.mean()) ** 2).sum() / len(c) ** 2)
            out.append((gg, t, a.mean() - c.mean(), ing.sum(), se))
            if influence is not None:
                psi = np.zeros(n)
                psi[ing] = n / len(a) * (a - a.mean())
                psi[cmask] = -n / len(c) * (c - c.mean())
                influence.append(psi)
    return out


def _aggregate_se(att: pd.DataFrame, psi: np.ndarray, G: np.ndarray, cells: np.ndarray) -> float:
    """Analytic SE of ``θ = Σ_k w_k ATT_k`` over the cells ``k`` selected by the boolean ``cells``,
    ``w_k = n_{g(k)} / Σ_k n_{g(k)}``, as ``did::aggte`` (bstrap = FALSE): the influence function
    ``Σ_k w_k ψ_k + Σ_k ATT_k ω_k`` adds the estimation of the weights,
    ``ω_ik = (1[G_i = g_k] − p_k)/Σp − (Σ_l (1[G_i = g_l] − p_l)) p_k/(Σp)²`` with ``p_k = n_{g(k)}/n``;
    ``se = √(mean(IF²)/n)`` (Callaway & Sant'Anna 2021, §4; did/R/compute.aggte.R ``wif``)."""
    n = len(G)
    p = att["n_g"].to_numpy(float)[cells] / n
    ind = (G[:, None] == att["g"].to_numpy(float)[cells][None, :]).astype(float) - p[None, :]
    wif = ind / p.sum() - ind.sum(axis=1, keepdims=True) * (p / p.sum() ** 2)[None, :]
    infl = psi[:, cells] @ (p / p.sum()) + wif @ att["att"].to_numpy(float)[cells]
    return float(np.sqrt(np.mean(infl ** 2) / n))


def callaway_santanna(panel: pd.DataFrame, y: str, treat: str | None = "low_carbon", cohort: str | None = None,
                      control: str = "never", base: str = "varying", n_boot: int = 199, seed: int = 0,
                      unit: str = "city_code", max_e: int | None = None, se: str = "analytic") -> CSResult:
    """Group-time ATTs and their simple and dynamic aggregations (module docstring).

    ``se="analytic"`` (default): the influence-function standard errors of ``did::att_gt`` and
    ``did::aggte`` with ``bstrap = FALSE`` (checked to 1e-8, tests/references); ``se="bootstrap"``: a
    city (unit) bootstrap with ``n_boot`` draws. Both are in the results (``att_gt["se_analytic"]``,
    ``stats["se_analytic"]`` of the simple aggregation) whichever one the table shows.
    """
    if control not in ("never", "notyet", "notyet_strict"):
        raise AnalysisError(f"control {control!r}", fix="use 'never', 'notyet' or 'notyet_strict'")
    if se not in ("analytic", "bootstrap"):
        raise AnalysisError(f"Callaway–Sant'Anna se={se!r}", fix="use se='analytic' or se='bootstrap'")
    df, _ = prepare(panel, f"{y} ~ 1")
    g, treat_notes = first_treated(df, treat, cohort, unit)
    df = df.assign(_g=g)
    wide = df.pivot_table(index=unit, columns="year", values=y, aggfunc="first")
    complete = wide.notna().all(axis=1)
    dropped = int((~complete).sum())
    wide = wide[complete]
    years = wide.columns.to_numpy()
    G = df.groupby(unit)["_g"].first().reindex(wide.index).fillna(np.inf).to_numpy()
    G = np.where(years.min() >= G, np.nan, G)  # always-treated: no pre-period, dropped
    keep = ~np.isnan(G)
    Y, G = wide.to_numpy(float)[keep], G[keep]
    if control == "never" and not np.isinf(G).any():
        raise AnalysisError("Callaway–Sant'Anna: no never-treated city in the sample", fix="use control='notyet'")
    if not np.isinf(G).any():
        # as did::att_gt: without never-treated units, the periods from the last cohort's first year on
        # are dropped and the last cohort serves only as a control
        last = G.max()
        Y, years = Y[:, years < last], years[years < last]
    influence: list[np.ndarray] = []
    core = _cs_core(Y, G, years, control, base, influence)
    if not core:
        raise AnalysisError("Callaway–Sant'Anna: no identifiable (g, t) cell", fix="check cohorts and years")
    att = pd.DataFrame(core, columns=["g", "t", "att", "n_g", "se_analytic"])
    psi = np.column_stack(influence)
    event = (att["t"] - att["g"]).astype(int).to_numpy()

    def aggregate(a: pd.DataFrame) -> tuple[float, pd.Series]:
        post = a[a["t"] >= a["g"]]
        simple = float((post["att"] * post["n_g"]).sum() / post["n_g"].sum())
        e = (a["t"] - a["g"]).astype(int)
        dyn = a.assign(e=e).groupby("e").apply(lambda s: (s["att"] * s["n_g"]).sum() / s["n_g"].sum(),
                                               include_groups=False)
        return simple, dyn

    simple, dyn = aggregate(att)
    simple_se_an = _aggregate_se(att, psi, G, event >= 0)
    dyn_se_an = pd.Series([_aggregate_se(att, psi, G, event == e) for e in dyn.index], index=dyn.index)
    draws = 0
    bs_simple = np.empty(0)
    if se == "bootstrap":
        rng = np.random.default_rng(seed)
        nu = len(Y)
        boot_simple, bs_cells, bs_dyn = [], [], []
        for b in range(n_boot):
            report("Callaway-Sant'Anna bootstrap", b, n_boot)
            idx = rng.integers(0, nu, nu)
            c = _cs_core(Y[idx], G[idx], years, control, base)
            if not c:
                continue
            a = pd.DataFrame(c, columns=["g", "t", "att", "n_g", "se_analytic"])
            s, dd = aggregate(a)
            boot_simple.append(s)
            bs_cells.append(a.set_index(["g", "t"])["att"])
            bs_dyn.append(dd)
        bs_simple = np.asarray(boot_simple)
        draws = len(bs_simple)
        cells = pd.concat(bs_cells, axis=1)
        att["se"] = cells.std(axis=1, ddof=1).reindex(pd.MultiIndex.from_frame(att[["g", "t"]])).to_numpy()
        dyn_se = pd.concat(bs_dyn, axis=1).std(axis=1, ddof=1).reindex(dyn.index)
        simple_se = float(bs_simple.std(ddof=1))
        se_note = f"city bootstrap ({draws} draws)"
    else:
        att["se"] = att["se_analytic"]
        dyn_se, simple_se = dyn_se_an, simple_se_an
        se_note = "analytic influence-function standard errors (as did::att_gt/aggte)"
    if max_e is not None:
        dyn = dyn[(dyn.index >= -max_e) & (dyn.index <= max_e)]
        dyn_se = dyn_se.reindex(dyn.index)
        dyn_se_an = dyn_se_an.reindex(dyn.index)
    notes = [f"Callaway & Sant'Anna (2021): {control}-treated controls, {base} base period, "
             f"{se_note}"] + ([f"{dropped} cities with gaps dropped"] if dropped else []) + treat_notes
    n = int(Y.size)
    vcov = "bootstrap" if se == "bootstrap" else "influence"
    s_res = FitResult(depvar=y, params=pd.Series({"ATT": simple}), se=pd.Series({"ATT": simple_se}),
                      nobs=n, model="cs_did", vcov=vcov, fixed_effects=[],
                      name="CS (2021)", notes=notes,
                      stats={"n_units": float(len(Y)), "se_analytic": simple_se_an})
    dnames = [_event_name(int(e)) for e in dyn.index]
    d_res = FitResult(depvar=y, params=pd.Series(dyn.to_numpy(), index=dnames),
                      se=pd.Series(dyn_se.to_numpy(), index=dnames), nobs=n, model="cs_did_dynamic",
                      vcov=vcov, fixed_effects=[], name="CS dynamic", notes=notes)
    return CSResult(att_gt=att, simple=s_res, dynamic=d_res, boot=bs_simple, simple_se_analytic=simple_se_an,
                    dynamic_se_analytic=pd.Series(dyn_se_an.to_numpy(), index=dnames))


@dataclass
class _UntreatedDesign:
    """The first stage's design, shared by the estimate and its standard error: unit dummies (swept out
    by unit means of the untreated rows) and ``Z`` = year dummies (the first untreated year left out) and
    controls, for every row."""

    un: np.ndarray  # rows with D = 0
    ucode: np.ndarray  # unit of each row, 0..nu−1
    Z: np.ndarray  # year dummies and controls, every row
    cnt: np.ndarray  # untreated rows per unit
    zsum: np.ndarray  # per unit, the sums of Z over its untreated rows (nu × k)
    known_year: np.ndarray  # the row's year occurs among the untreated rows

    @classmethod
    def of(cls, d: pd.DataFrame, treat: str, controls: Sequence[str], unit: str) -> _UntreatedDesign:
        un = (d[treat] == 0).to_numpy()
        ucode, _ = pd.factorize(d[unit], sort=True)
        years = d["year"].to_numpy()
        yrs_un = np.unique(years[un])
        Z = np.column_stack([(years == t).astype(float) for t in yrs_un[1:]] +
                            [d[c].to_numpy(dtype=float) for c in controls]) if len(yrs_un) > 1 or controls \
            else np.zeros((len(d), 0))
        nu = ucode.max() + 1
        cnt = np.bincount(ucode[un], minlength=nu).astype(float)
        zsum = np.stack([np.bincount(ucode[un], weights=Z[un, j], minlength=nu) for j in range(Z.shape[1])],
                        axis=1) if Z.shape[1] else np.zeros((nu, 0))
        return cls(un, ucode, Z, cnt, zsum, np.isin(years, yrs_un))

    @property
    def nu(self) -> int:
        return len(self.cnt)

    def unit_mean(self, sums: np.ndarray) -> np.ndarray:
        """Per-unit sums over the untreated rows → means (0 for a unit without untreated rows)."""
        cnt = np.where(self.cnt > 0, self.cnt, 1.0)
        return sums / (cnt[:, None] if sums.ndim == 2 else cnt)

    def swept_Z(self) -> np.ndarray:
        """Z on the untreated rows minus its unit means (the unit dummies partialled out)."""
        return self.Z[self.un] - self.unit_mean(self.zsum)[self.ucode[self.un]]


def _gardner_first_stage(d: pd.DataFrame, y: str, treat: str, controls: Sequence[str], unit: str) -> np.ndarray:
    """Fitted ``α_i + η_t + ρ'X_it`` of the untreated-rows regression, for every row (NaN where unknown).

    Solved exactly, not iteratively: the unit FE are swept out by subtracting unit means (one FE is
    exact in one pass), the year dummies and controls by a dense least-squares solve (LAPACK QR) of
    the demeaned design, then ``α_i = mean_i(y − η_t − ρ'X)`` — Frisch–Waugh–Lovell, the same numbers
    as R's ``lm`` on the dummy design (did2s's first stage), independent of hash seed and row order.
    """
    des = _UntreatedDesign.of(d, treat, controls, unit)
    un, ucode = des.un, des.ucode
    yv = d[y].to_numpy(dtype=float)
    beta = np.zeros(des.Z.shape[1])
    if des.Z.shape[1]:
        yd = yv[un] - des.unit_mean(np.bincount(ucode[un], weights=yv[un], minlength=des.nu))[ucode[un]]
        beta = np.linalg.lstsq(des.swept_Z(), yd, rcond=None)[0]
    xb = des.Z @ beta
    alpha = des.unit_mean(np.bincount(ucode[un], weights=(yv - xb)[un], minlength=des.nu))
    pred = alpha[ucode] + xb
    pred[(des.cnt == 0)[ucode] | ~des.known_year] = np.nan
    return pred


def _gardner_se(d: pd.DataFrame, y: str, treat: str, controls: Sequence[str], unit: str,
                pred: np.ndarray, theta: float) -> float:
    """Standard error of the two-stage DID corrected for the first stage, clustered by unit: the GMM
    influence function of ``did2s`` (Gardner 2022, §3; did2s/R/did2s.R ``IF = IF_fs − IF_ss``):

    ``IF_i = (x_1i'γ · u_i − D_i v_i) / N_1``, with ``u`` the first-stage residual (0 on treated rows),
    ``v = ỹ − θD`` the second-stage residual, ``γ = (X_10'X_10)⁻¹ X_1'D`` (X_1: unit and year dummies
    and controls; X_10 the same with treated rows zeroed), and ``se = √(Σ_c (Σ_{i∈c} IF_i)²)``.
    γ is solved by Frisch–Waugh–Lovell on the first stage's design (``_UntreatedDesign``): the unit
    dummies are swept out exactly, the year dummies and controls by a dense least-squares solve.
    """
    ok = np.isfinite(pred)
    d, pred = d[ok], pred[ok]
    ytil = d[y].to_numpy(dtype=float) - pred
    des = _UntreatedDesign.of(d, treat, controls, unit)
    un, ucode, Z = des.un, des.ucode, des.Z
    D = ~un
    b_u = np.bincount(ucode[D], minlength=des.nu).astype(float)  # X_1'D, unit block
    b_z = Z[D].sum(axis=0)  # X_1'D, years and controls
    gamma_z = np.zeros(Z.shape[1])
    if Z.shape[1]:
        Zd = des.swept_Z()
        gamma_z = np.linalg.lstsq(Zd.T @ Zd, b_z - des.unit_mean(des.zsum).T @ b_u, rcond=None)[0]
    gamma_u = des.unit_mean(b_u - des.zsum @ gamma_z)
    w = gamma_u[ucode] + Z @ gamma_z
    infl = np.where(un, w * ytil, 0.0) - np.where(D, ytil - theta, 0.0)
    by_unit = np.bincount(ucode, weights=infl / D.sum(), minlength=des.nu)
    return float(np.sqrt((by_unit ** 2).sum()))


def gardner_did(panel: pd.DataFrame, y: str, treat: str = "low_carbon", controls: Sequence[str] = (),
                unit: str = "city_code", n_boot: int = 199, seed: int = 0, se: str = "analytic") -> FitResult:
    """Two-stage DID (Gardner 2022): FE (and controls) fitted on D=0 rows, ATT = mean of the
    residualised outcome among D=1 rows (the regression of ỹ on D).

    ``se="analytic"`` (default): the first-stage-corrected GMM standard error of ``did2s``, clustered by
    unit (``_gardner_se``); ``se="bootstrap"``: a city bootstrap with ``n_boot`` draws. The analytic one
    is in ``stats["se_analytic"]`` either way. The first stage is an exact least-squares solve
    (``_gardner_first_stage``), so the estimate is the same to the last digit on every run (checked
    against ``did2s::did2s`` 1.2.1, tests/references).
    """
    if se not in ("analytic", "bootstrap"):
        raise AnalysisError(f"two-stage DID se={se!r}", fix="use se='analytic' or se='bootstrap'")
    from citynet.analysis.estimators import missing_rows

    df, _ = prepare(panel, f"{y} ~ {_rhs([treat, *controls])}")
    missing, missing_note = missing_rows(df, [y, treat, *controls])
    df = df[~missing].reset_index(drop=True)
    check_treatment(df, treat)
    ended = switching_off(df, treat, unit, "year", reading=(
        "the two-stage DID (as did2s) fits its first stage on every untreated row, those years after the treatment "
        "included, and averages over the treated rows: an ATT of adoption assumes the treatment stays on"))

    def est(d: pd.DataFrame) -> tuple[float, np.ndarray]:
        pred = _gardner_first_stage(d, y, treat, controls, unit)
        resid = d[y].to_numpy(dtype=float) - pred
        tr = (d[treat] == 1).to_numpy() & np.isfinite(resid)
        return float(resid[tr].mean()), pred

    theta, pred = est(df)
    se_an = _gardner_se(df, y, treat, controls, unit, pred, theta)
    # rows whose Y(0) the first stage cannot impute (a city or year without an untreated row, or a control's level
    # unseen there): left out of the ATT, as did2s leaves them out; they were counted in N and not said
    unimputed = ~np.isfinite(pred)
    n_treated_out = int((unimputed & (df[treat] == 1).to_numpy()).sum())
    extra = [missing_note] if missing_note else []
    if n_treated_out:
        extra.append(f"{n_treated_out:,} treated observation{'s' if n_treated_out > 1 else ''} left out of the ATT: "
                     "no untreated observation of the same city or year to impute Y(0) from (as did2s).")
    if se == "bootstrap":
        rng = np.random.default_rng(seed)
        units = df[unit].unique()
        groups = {u: g for u, g in df.groupby(unit)}
        bs = []
        for b in range(n_boot):
            report("two-stage DID bootstrap", b, n_boot)
            pick = rng.choice(units, size=len(units), replace=True)
            parts = [groups[u].assign(**{unit: k}) for k, u in enumerate(pick)]
            th = est(pd.concat(parts, ignore_index=True))[0]
            if np.isfinite(th):
                bs.append(th)
        shown, vcov = float(np.std(bs, ddof=1)), "bootstrap"
        note = f"city bootstrap ({len(bs)} draws)"
    else:
        shown, vcov = se_an, f"cluster:{unit}"
        note = "SE corrected for the first stage (GMM influence function, as did2s)"
    return FitResult(depvar=y, params=pd.Series({treat: theta}), se=pd.Series({treat: shown}),
                     nobs=int((~unimputed).sum()), model="did2s", vcov=vcov, fixed_effects=[unit, "year"],
                     name="Gardner 2S-DID", notes=[f"Gardner (2022) two-stage DID; {note}", *ended, *extra],
                     stats={"se_analytic": se_an})
