"""Spec kinds of the referees' designs (``citynet fit SPEC.toml``): each runner reads the model's keys,
calls the estimator module and writes its side tables and figures next to the spec's tables.

=================  ========================================================================  ===========
kind               keys                                                                      module
=================  ========================================================================  ===========
``spatial_tests``  ``y``, ``x``, ``w``, ``fe`` (city | twoway), ``lr``, ``wald``,              spatial_tests
                   ``time_effects`` → table ``<name>`` of LM/LR/Wald tests
``iv``             ``y``, ``endog``, ``instruments``, ``exog`` (or ``controls``), ``fe``,      iv
                   ``vcov`` → 2SLS column; table ``<name>_first_stage``
``mediation``      ``chain = [X, M, Y]`` (or ``paths``), ``controls``, ``fe``, ``reps``,       mediation
                   ``seed`` → table ``<name>`` (three steps, Sobel, bootstrap CIs)
``sunab``          ``y``, ``treat`` or ``cohort``, ``controls``, ``leads``, ``lags`` → IW      sunab
                   event-time column (+ ``att``), figure ``<name>.png``, cells CSV
``tobit``          ``y``, ``x``, ``left`` (censoring point), ``mundlak``, ``vcov`` (oim |        tobit
                   cluster) → RE Tobit column and its average marginal effects
``threshold``      ``y``, ``x`` (regime-dependent), ``q``, ``controls``, ``n_thresholds``,        threshold
                   ``reps``, ``grid``, ``trim``, ``seed`` → regime-slope column; tables
                   ``<name>_tests``, ``<name>_thresholds``; figure ``<name>_lr.png``
``psm``            ``y``, ``covariates``, ``treat``, ``controls``, ``k``, ``caliper`` (SDs of    psm
                   the logit score), ``replace``, ``weighted`` → PSM-DID column; tables
                   ``<name>_balance`` (pstest layout), ``<name>_matches.csv``
``cs_cov``         ``y``, ``covariates``, ``treat``/``cohort``, ``method`` (dr | reg | ipw),      cs_covariates
                   ``control`` (never | notyet), ``base``, ``reps``, ``cluster`` → overall ATTs
                   of the four aggregations; ``<name>_att_gt.csv``, ``_aggregates.csv``, figure
``honest``         ``y``, ``treat``/``cohort``, ``controls``, ``leads``, ``lags``, ``M`` (list),  honest
                   ``target`` (first | average), ``Mbar`` (list) → FLCIs under Δ^SD(M) for the
                   Sun–Abraham event study: ``<name>.png``, ``<name>.csv``, table ``<name>_table``;
                   with ``Mbar`` the Δ^RM(M̄) identified sets and confidence sets
                   (``rm_method`` C-LF | Conditional, ``rm_grid``): ``<name>_rm.{csv,png}``,
                   table ``<name>_rm_table``
``fit`` +          ``inference = "wild:999" | "ri:999" | "conley:KM[:LAG]"``, ``param``          inference
=================  ========================================================================  ===========
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from citynet.analysis.results import FitResult

from citynet.csvfile import write_csv
from citynet.errors import AnalysisError

Runner = Callable[[dict, pd.DataFrame, "str | None", Path, list, Any, Callable], list[FitResult]]


def _stem(name: str | None, kind: str) -> str:
    import re

    return re.sub(r"[^\w\-]+", "_", name or kind).strip("_") or kind


#: keys that spec._run_tables adds to an unnamed model for its messages (its position, its table): not keys of
#: the SPEC file (so not in spec.MODEL_KEYS), hence read through these names
POSITION_KEY, TABLE_KEY = "_position", "_table"


def model_label(m: dict) -> str:
    """How a message names a model: ``model 'baseline'`` by its name, else by its position among its table's models
    (``model 2``, set by ``spec._run_tables``; ``of table 'robust'`` when the spec has several tables), else by its
    kind (``the did model``) — an unnamed model was ``model None``."""
    if m.get("name"):
        return f"model {m['name']!r}"
    if m.get(POSITION_KEY):
        return f"model {m[POSITION_KEY]}" + (f" of table {m[TABLE_KEY]!r}" if m.get(TABLE_KEY) else "")
    return f"the {m.get('kind', 'fit')} model"


def _require(m: dict, key: str, example: str) -> Any:
    if key not in m:
        raise AnalysisError(f"{model_label(m)} (kind {m.get('kind')}) has no {key!r}",
                            fix=f"add {key} = {example}")
    return m[key]


def _names(v: Any) -> list[str]:
    """A key naming one column or several: ``"x"`` or ``["x", "z"]`` → a list (a bare string is one name,
    not its characters)."""
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _check_columns(df: pd.DataFrame, names: list[str], key: str) -> None:
    from citynet.analysis.formula import prepare

    prepare(df, f"{names[0]} ~ {' + '.join(names[1:]) or '1'}")  # raises naming the missing column


def run_spatial_tests(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
                      spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.spatial_tests import spatial_test_table, spatial_tests
    from citynet.analysis.spec import _spatial_frame, spatial_fixed_effects

    y = _require(m, "y", '"ln_collab_patents"')
    x = _names(_require(m, "x", '["l1_collab_degree"]'))
    data, years = _spatial_frame(df, [y, *x])
    w = spatial_weights(m.get("w"), data)
    fe = spatial_fixed_effects(m.get("fe", "city"), model_label(m), "spatial_tests")
    tests = spatial_tests(data, y, x, w, fe=fe, lr=m.get("lr", True), wald=m.get("wald", True),
                          time_effects=m.get("time_effects", False), years=years)
    stem = out_dir / _stem(name, "spatial_tests")
    t = spatial_test_table(tests, title=m.get("title", f"Spatial specification tests: {y}"),
                           notes=[f"W: {m.get('w') or 'inverse_distance'}; fixed effects: {fe}; years {years[0]}–{years[-1]}."])
    files += t.write(str(stem))
    tests.to_json(f"{stem}.json", orient="records", indent=2)
    files.append(f"{stem}.json")
    return []


def run_iv(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
           spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.iv import first_stage_table, iv2sls

    y = _require(m, "y", '"ln_collab_patents"')
    endog = _names(_require(m, "endog", '["l1_collab_degree", "l1_collab_betweenness"]'))
    instr = _names(_require(m, "instruments", '["l2_collab_degree", "l2_collab_betweenness"]'))
    res = iv2sls(df, y, endog, instr, _names(m.get("exog", m.get("controls"))), fe=m.get("fe", "city_code + year"),
                 vcov=vcov, name=name)
    t = first_stage_table(res, title=f"First stage of {name or '2SLS'}")
    files += t.write(str(out_dir / f"{_stem(name, 'iv')}_first_stage"))
    return [res.result]


def run_mediation(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
                  spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.mediation import mediation, mediation_table, resolve_chain

    x, med, y = resolve_chain(m)
    res = mediation(df, x, med, y, _names(m.get("controls")), fe=m.get("fe", "city_code + year"), vcov=vcov,
                    reps=m.get("reps", 500), seed=m.get("seed", 0))
    t = mediation_table(res, labels=m.get("labels"), title=m.get("title", f"Mediation: {x} → {med} → {y}"))
    stem = out_dir / _stem(name, "mediation")
    files += t.write(str(stem))
    pd.Series(res.effects).to_json(f"{stem}.json", indent=2)
    files.append(f"{stem}.json")
    return []


def run_sunab(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
              spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.figures import event_study_plot
    from citynet.analysis.sunab import sun_abraham

    y = _require(m, "y", '"ln_green_patents"')
    sa = sun_abraham(df, y, treat=m.get("treat", "low_carbon"), cohort=m.get("cohort"),
                     controls=_names(m.get("controls")), leads=m.get("leads"), lags=m.get("lags"), vcov=vcov, name=name)
    stem = _stem(name, "sunab")
    files.append(str(event_study_plot(sa, out_dir / f"{stem}.png", title="Sun–Abraham event study (95% CI)")))
    files += [write_csv(sa.coefficients(), out_dir / f"{stem}_coefficients.csv"),
              write_csv(sa.cells, out_dir / f"{stem}_cells.csv")]
    return [sa.result]


def run_tobit(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
              spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.tobit import re_tobit

    y = _require(m, "y", '"ln_green_patents"')
    x = _names(_require(m, "x", '["l1_collab_degree"]'))
    v = m.get("vcov", "oim")
    r = re_tobit(df, y, x, left=float(m.get("left", 0.0)), mundlak=m.get("mundlak", False),
                 nodes=m.get("nodes", 12), vcov="cluster" if str(v).startswith("cluster") else "oim", name=name)
    return [r.result, r.marginal]


def run_threshold(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
                  spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.threshold import lr_plot, panel_threshold, threshold_tables

    y = _require(m, "y", '"ln_green_patents"')
    x = _names(_require(m, "x", '["l1_collab_degree"]'))
    q = _require(m, "q", '"l1_ln_gdp_per_capita"')
    r = panel_threshold(df, y, x, q, _names(m.get("controls")), n_thresholds=m.get("n_thresholds", 2),
                        reps=m.get("reps", 300), grid=m.get("grid", 300), trim=m.get("trim", 0.01),
                        seed=m.get("seed", 0), vcov=vcov, name=name)
    stem = _stem(name, "threshold")
    t1, t2 = threshold_tables(r, title=f"Threshold effect tests ({q})")
    files += t1.write(str(out_dir / f"{stem}_tests")) + t2.write(str(out_dir / f"{stem}_thresholds"))
    files.append(str(lr_plot(r, out_dir / f"{stem}_lr.png", qname=q)))
    return [r.result]


def run_psm(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
            spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.psm import balance_table, psm_did

    y = _require(m, "y", '"ln_green_patents"')
    cov = _names(_require(m, "covariates", '["gdp_per_capita", "population"]'))
    r = psm_did(df, y, cov, treat=m.get("treat", "low_carbon"), controls=None if m.get("controls") is None else _names(m.get("controls")), k=m.get("k", 1),
                caliper=m.get("caliper"), caliper_sd=m.get("caliper_sd", True), replace=m.get("replace", True),
                weighted=m.get("weighted", False), cohort=m.get("cohort"), fe=m.get("fe", "city_code + year"),
                vcov=vcov, name=name)
    stem = _stem(name, "psm")
    files += balance_table(r, labels=m.get("labels")).write(str(out_dir / f"{stem}_balance"))
    files.append(write_csv(r.matches, out_dir / f"{stem}_matches.csv"))
    return [r.result]


class _DynamicPlot:
    """Duck-typed event study for ``figures.event_study_plot`` (dynamic aggregation, uniform band)."""

    def __init__(self, dyn: pd.DataFrame, depvar: str):
        self.dyn, self.ref = dyn[dyn["term"] != "overall"], -1
        self.result = type("R", (), {"depvar": depvar})()

    def coefficients(self) -> pd.DataFrame:
        c = self.dyn.rename(columns={"event_time": "rel_time", "att": "coef"})
        return c[["rel_time", "term", "coef", "se", "ci_low", "ci_high"]].reset_index(drop=True)


def run_cs_cov(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
               spatial_weights: Callable) -> list[FitResult]:
    from citynet.analysis.cs_covariates import att_gt_covariates
    from citynet.analysis.figures import event_study_plot

    y = _require(m, "y", '"ln_green_patents"')
    r = att_gt_covariates(df, y, _names(m.get("covariates")), treat=m.get("treat", "low_carbon"), cohort=m.get("cohort"),
                          method=m.get("method", "dr"), control=m.get("control", "never"),
                          base=m.get("base", "varying"), reps=m.get("reps", 999), seed=m.get("seed", 0),
                          cluster=m.get("cluster"))
    stem = _stem(name, "cs")
    files.append(write_csv(r.att_gt, out_dir / f"{stem}_att_gt.csv"))
    agg = pd.concat([a.assign(aggregation=k) for k, a in r.aggregates.items()], ignore_index=True)
    files.append(write_csv(agg, out_dir / f"{stem}_aggregates.csv"))
    dyn = r.aggregates["dynamic"]
    files.append(str(event_study_plot(_DynamicPlot(dyn, y), out_dir / f"{stem}.png",
                                      title=f"Callaway–Sant'Anna ({r.method.upper()}), uniform 95% band")))
    cols = [*[f"ATT ({k})" for k in ("simple", "dynamic", "group", "calendar")]]
    vals = [float(r.aggregates[k].iloc[-1]["att"]) for k in ("simple", "dynamic", "group", "calendar")]
    ses = [float(r.aggregates[k].iloc[-1]["se"]) for k in ("simple", "dynamic", "group", "calendar")]
    res = FitResult(depvar=y, params=pd.Series(vals, index=cols), se=pd.Series(ses, index=cols), nobs=r.n_units,
                    model=f"cs_{r.method}", vcov="multiplier bootstrap", fixed_effects=[],
                    stats={"uniform_crit": r.crit, "n_units": float(r.n_units)}, name=name or f"CS ({r.method})",
                    notes=[f"Callaway–Sant'Anna, {r.method.upper()}, covariates {', '.join(m.get('covariates', []))}, "
                           f"control {m.get('control', 'never')}; units are cities (N = units).", *r.notes])
    return [res]


def run_honest(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list, vcov: Any,
               spatial_weights: Callable) -> list[FitResult]:
    import numpy as np
    from citynet.analysis.honest import from_event_study, honest_plot
    from citynet.analysis.sunab import sun_abraham
    from citynet.analysis.tables import Table

    y = _require(m, "y", '"ln_green_patents"')
    sa = sun_abraham(df, y, treat=m.get("treat", "low_carbon"), cohort=m.get("cohort"),
                     controls=_names(m.get("controls")), leads=m.get("leads", 4), lags=m.get("lags", 4), vcov=vcov)
    coefs = sa.coefficients()
    n_post = int((coefs["rel_time"] >= 0).sum())
    target = m.get("target", "first")
    lp = None if target == "first" else np.full(n_post, 1 / n_post)
    Ms = m.get("M", [0.0, 0.01, 0.02, 0.05, 0.1])
    r = from_event_study(coefs, sa.vcov, Ms, l_post=lp)
    stem = _stem(name, "honest")
    files.append(write_csv(r.table, out_dir / f"{stem}.csv"))
    files.append(str(honest_plot(r, out_dir / f"{stem}.png")))
    est, lo, hi = r.original
    rows = [["conventional", f"{est:.3f}", f"[{lo:.3f}, {hi:.3f}]"]] + [
        [f"M = {t.M:g}", f"{t.estimate:.3f}", f"[{t.ci_low:.3f}, {t.ci_high:.3f}]"] for t in r.table.itertuples()]
    t = Table(header=["Restriction", "Estimate", "95% CI"], rows=rows, n_coef_rows=len(rows),
              title=f"Sensitivity of the {'first post-period' if target == 'first' else 'average post'} effect "
                    "(Rambachan–Roth, smoothness Δ^SD(M), FLCI)",
              notes=["Event study: Sun–Abraham; M bounds the change in the slope of the differential trend per period."])
    files += t.write(str(out_dir / f"{stem}_table"))
    if m.get("Mbar") is not None:  # relative magnitudes: identified sets and RR's confidence sets
        from citynet.analysis.honest import rm_bounds, rm_plot
        from citynet.analysis.honest_rm import rm_confidence_sets

        c = coefs[coefs["se"] > 0].sort_values("rel_time")
        times = c["rel_time"].to_numpy(int)
        beta = c["coef"].to_numpy(float)
        mbars = [float(x) for x in m["Mbar"]]
        rm = rm_bounds(beta, times, mbars, l_post=lp)
        method = m.get("rm_method", "C-LF")
        terms = list(c["term"])
        cs = rm_confidence_sets(beta, sa.vcov.loc[terms, terms].to_numpy(float), int((times < 0).sum()),
                                int((times >= 0).sum()), mbars, l_vec=lp, method=method,
                                grid_points=int(m.get("rm_grid", 1000)), seed=int(m.get("seed", 0)))
        rm["ci_lb"], rm["ci_ub"] = cs["lb"].to_numpy(), cs["ub"].to_numpy()
        files.append(write_csv(rm, out_dir / f"{stem}_rm.csv"))
        files.append(str(rm_plot(rm, r.original, out_dir / f"{stem}_rm.png")))

        def interval(lo: float, hi: float) -> str:
            return "(none)" if np.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]"

        rows_rm = [[f"M̄ = {x.Mbar:g}", f"{x.estimate:.3f}", interval(x.lb, x.ub), interval(x.ci_lb, x.ci_ub)]
                   for x in rm.itertuples()]
        notes = [f"Largest pre-period change of the event study: {rm['max_pre_change'][0]:.4f}; the identified "
                 f"set contains 0 from M̄ = {rm.attrs['breakdown']:.3g} on.",
                 f"95% confidence sets: Rambachan–Roth {method} (Andrews–Roth–Pakes moment inequalities, union over "
                 "the period and sign of the largest pre-period change), as HonestDiD's "
                 "createSensitivityResults_relativeMagnitudes."]
        if cs.attrs["open"]:
            notes.append("The confidence set reaches the end of the grid (not closed) at M̄ = "
                         + ", ".join(f"{x:g}" for x in cs.attrs["open"]) + ".")
        t2 = Table(header=["Restriction", "Estimate", "Identified set", "95% confidence set"], rows=rows_rm,
                   n_coef_rows=len(rows_rm),
                   title="Relative magnitudes Δ^RM(M̄) (Rambachan–Roth)", notes=notes)
        files += t2.write(str(out_dir / f"{stem}_rm_table"))
    return []


def run_fit_inference(m: dict, df: pd.DataFrame, name: str | None, vcov: Any) -> FitResult:
    """Kind ``fit`` with ``inference`` (or ``vcov = "conley:KM[:LAG]"``)."""
    from citynet.analysis.inference import fit_with_inference

    inf = m.get("inference")
    if inf is None and isinstance(vcov, str) and vcov.lower().startswith("conley"):
        inf, vcov = vcov, None
    cluster = "city_code"
    if isinstance(vcov, str) and vcov.startswith("cluster:"):
        cluster = vcov.split(":", 1)[1]
    return fit_with_inference(df, m["formula"], inf, param=m.get("param"), vcov=vcov, cluster=cluster,
                              seed=m.get("seed", 0), name=name, model=m.get("model", "ols"))


def wants_inference(m: dict, vcov: Any) -> bool:
    return bool(m.get("inference")) or (isinstance(vcov, str) and vcov.lower().startswith("conley"))


RUNNERS: dict[str, Runner] = {
    "spatial_tests": run_spatial_tests,
    "iv": run_iv,
    "mediation": run_mediation,
    "sunab": run_sunab,
    "tobit": run_tobit,
    "threshold": run_threshold,
    "psm": run_psm,
    "cs_cov": run_cs_cov,
    "honest": run_honest,
}
