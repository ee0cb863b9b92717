"""Sun & Abraham (2021) interaction-weighted event study (as ``fixest::sunab``).

Saturated regression with unit and year FE (and controls)::

    y_it = α_i + λ_t + Σ_g Σ_{l ≠ ref} δ_{g,l} · 1{G_i = g} · 1{t − g = l} + x_it'β + ε_it

over all cohorts g (first treatment year) and all observed relative periods l; the control group is
the never-treated units (if there are none, the last-treated cohort, with the years from its treatment
on dropped — Sun & Abraham 2021 §4); cohorts never observed at the reference period (treated from the
sample's first year on) are dropped, since their δ_{g,l} are not identified relative to it. Every δ_{g,l} is a cohort-specific CATT free of the "forbidden comparisons" of TWFE.
Interaction-weighted estimate at relative period l: ``β_l = Σ_g w_{g,l} δ_{g,l}`` with
``w_{g,l} = n_{g,l} / Σ_{g'} n_{g',l}`` the share of cohort g among the observations at l (fixest's
``aggregate``); standard errors by the delta method with the weights fixed, ``√(w'Vw)`` from the
saturated regression's (clustered) covariance. Overall ATT: the cell-size-weighted mean of δ_{g,l} over
l ≥ 0 (``summary(agg = "ATT")``). Hand-written on pyfixest because pyfixest's ``SaturatedEventStudy``
is marked beta, takes no controls and aggregates only by period; tests cross-check the δ_{g,l} with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from citynet.analysis.treatment import first_treated

from citynet.errors import AnalysisError


@dataclass
class SunAbraham:
    result: FitResult  # the IW event-time coefficients (one per relative period) + ATT in stats
    cells: pd.DataFrame  # cohort, rel_time, delta, se, n (the saturated δ_{g,l})
    saturated: FitResult
    ref: int = -1
    vcov: pd.DataFrame | None = None  # covariance of the IW coefficients (W V W')

    def coefficients(self) -> pd.DataFrame:
        """rel_time, term, coef, se, ci_low, ci_high (the reference period with 0), as EventStudy."""
        ci = self.result.conf_int()
        rows = [(int(t.split("=")[1]), t, self.result.params[t], self.result.se[t], ci.loc[t, "ci_low"],
                 ci.loc[t, "ci_high"]) for t in self.result.params.index]
        rows.append((self.ref, f"l={self.ref}", 0.0, 0.0, 0.0, 0.0))
        return pd.DataFrame(rows, columns=["rel_time", "term", "coef", "se", "ci_low", "ci_high"]).sort_values(
            "rel_time").reset_index(drop=True)


def sun_abraham(panel: pd.DataFrame, y: str, treat: str | None = "low_carbon", cohort: str | None = None,
                controls: Sequence[str] = (), *, leads: int | None = None, lags: int | None = None,
                ref: int = -1, unit: str = "city_code", time: str = "year", vcov: Any = None,
                name: str | None = None) -> SunAbraham:
    """Sun–Abraham IW event study (module docstring); ``leads``/``lags`` select the relative periods reported
    (all are estimated)."""
    import warnings

    import pyfixest as pf
    from citynet.analysis.pyfixest_order import pin


    pin()  # fixed effects in formula order, whatever the hash seed
    from citynet.analysis.estimators import missing_rows, parse_vcov, singletons_note, to_result
    from citynet.analysis.formula import prepare

    controls = list(controls)
    data, _ = prepare(panel, f"{y} ~ {' + '.join(controls) or '1'}", extra=[unit, time])
    vcov_arg, vlabel = parse_vcov(vcov, data)  # a cluster the panel lacks: named among the panel's own columns
    g, treat_notes = first_treated(data, treat, cohort, unit, time)
    missing, missing_note = missing_rows(data, [y, *controls])
    d = data.assign(_g=g)[~missing].reset_index(drop=True)
    if d.empty:  # pyfixest's demeaning aborts the process on no rows
        raise AnalysisError(f"Sun–Abraham: no row has {', '.join([y, *controls])}", fix="check the sample and the variables")
    never = d["_g"].isna()
    note = "control group: never-treated units"
    if not never.any():
        last = d["_g"].max()
        d = d[d[time] < last].reset_index(drop=True)
        d.loc[d["_g"] == last, "_g"] = np.nan
        note = (f"no never-treated units: the last cohort ({int(last)}) is the control group and the years from "
                f"{int(last)} on are dropped")
    if d["_g"].notna().sum() == 0:
        raise AnalysisError("no treated units in the sample", fix="check treat/cohort and the sample")
    d["_rel"] = (d[time] - d["_g"]).astype("Int64")
    # cohorts never observed at the reference period (e.g. treated from the sample's first year on): their
    # δ_{g,l} are not identified relative to l = ref (their cell dummies sum to the unit FE), so they are
    # dropped, as did drops the units treated in the first period (fixest keeps them and drops a cell)
    at_ref = set(d.loc[d["_rel"] == ref, "_g"].dropna().unique())
    drop = d["_g"].notna() & ~d["_g"].isin(at_ref)
    if drop.any():
        gone = sorted(int(x) for x in d.loc[drop, "_g"].unique())
        note += (f"; {d.loc[drop, unit].nunique()} units of cohorts {', '.join(map(str, gone))} dropped "
                 f"(never observed at the reference period)")
        d = d[~drop].reset_index(drop=True)
    cells = (d[d["_g"].notna() & (d["_rel"] != ref)].groupby(["_g", "_rel"]).size().rename("n").reset_index())
    cols, names = {}, []
    for r in cells.itertuples():
        nm = f"sa_g{int(r._1)}_l{int(r._2)}".replace("-", "m")
        cols[nm] = ((d["_g"] == r._1) & (d["_rel"] == r._2)).astype(float).to_numpy()
        names.append(nm)
    d = d.assign(**cols)
    fml = f"{y} ~ {' + '.join([*names, *controls])} | {unit} + {time}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.feols(fml, d, vcov=vcov_arg)
    sat = to_result(f, model="ols", vcov_label=vlabel, fe=[unit, time], name="saturated", depvar=y)
    # the cells' sizes in the estimation sample, as fixest weighs them: a fixed-effect singleton pyfixest dropped
    # is in no cell (counted from d, it weighed in the ATT: 1.0314 for fixest's 1.0396, tests/test_references_awkward)
    cells["n"] = np.asarray(f._data[names].sum(axis=0), dtype=float).round().astype(int)
    n_singletons = len(d) - int(f._N)
    coefs = f.coef()
    V = pd.DataFrame(f._vcov, index=coefs.index, columns=coefs.index)
    ok = [nm for nm in names if nm in coefs.index and np.isfinite(coefs[nm])]
    cells["name"] = names
    cells = cells[cells["name"].isin(ok)].reset_index(drop=True)
    cells["delta"] = coefs[cells["name"]].to_numpy()
    cells["se"] = np.sqrt(np.diag(V.loc[cells["name"], cells["name"]].to_numpy()))
    cells = cells.rename(columns={"_g": "cohort", "_rel": "rel_time"})
    rels = sorted(int(x) for x in cells["rel_time"].unique())
    lo = -leads if leads is not None else min(rels)
    hi = lags if lags is not None else max(rels)
    params, ses = {}, {}
    kept = [r for r in rels if lo <= r <= hi]
    Wm = np.zeros((len(kept), len(cells)))
    for i, lval in enumerate(kept):
        c = cells[cells["rel_time"] == lval]
        w = (c["n"] / c["n"].sum()).to_numpy()
        Wm[i, c.index.to_numpy()] = w
        params[f"l={lval}"] = float(w @ c["delta"].to_numpy())
        Vc = V.loc[c["name"], c["name"]].to_numpy()
        ses[f"l={lval}"] = float(np.sqrt(w @ Vc @ w))
    Vall = V.loc[cells["name"], cells["name"]].to_numpy()
    names_iw = [f"l={lval}" for lval in kept]
    V_iw = pd.DataFrame(Wm @ Vall @ Wm.T, index=names_iw, columns=names_iw)
    post = cells[cells["rel_time"] >= 0]
    wa = (post["n"] / post["n"].sum()).to_numpy()
    att = float(wa @ post["delta"].to_numpy())
    att_se = float(np.sqrt(wa @ V.loc[post["name"], post["name"]].to_numpy() @ wa))
    res = FitResult(depvar=y, params=pd.Series(params), se=pd.Series(ses), nobs=int(f._N), model="sun_abraham",
                    fixed_effects=[unit, time], vcov=vlabel, df_resid=sat.df_resid,
                    stats={"att": att, "att_se": att_se, "n_cohorts": float(cells["cohort"].nunique())},
                    name=name or "Sun–Abraham", notes=[f"Sun–Abraham interaction-weighted event study; {note}; "
                                                     f"reference period {ref}.", *treat_notes,
                                                     *([missing_note] if missing_note else []),
                                                     *([singletons_note(n_singletons)] if n_singletons else [])],
                    raw=f)
    return SunAbraham(result=res, cells=cells.drop(columns="name"), saturated=sat, ref=ref, vcov=V_iw)
