"""Formula-driven estimators on the city-year and dyad-year panels, each returning a ``FitResult``.

``fit(panel, "ln_collab_patents ~ l1_collab_degree + l1_gdp_per_capita | city_code + year",
model="ols", vcov={"CRV1": "city_code"})`` — fixest syntax (pyfixest 0.60 does the fitting):

- ``model="ols"``: two-way (or any-way) fixed-effects OLS; FE absorbed by alternating projections.
- ``model="ppml"``: Poisson pseudo-maximum likelihood, ``E[y|x] = exp(xβ + FE)`` (Santos Silva &
  Tenreyro 2006), by IRLS with absorbed FE (Correia, Guimarães & Zylkin 2020).
- ``model="2sls"``: ``y ~ exog | fe | endog ~ instr``; one endogenous regressor (a pyfixest limit).
  Reports the first-stage F of the excluded instruments (with the model's vcov), the
  Olea–Pflueger effective F and the Kleibergen–Paap (2006) rk Wald statistic (``kp_rk_wald``,
  chi²(L−K+1) p-value) and rk Wald F (``kp_rk_f`` = statistic / L) computed here.

Standard errors (``vcov``): ``"iid"``, ``"hc1"`` (White, N/(N−k) correction), or clustered
CRV1 (default: by ``city_code`` when the panel has it). CRV1 uses the fixest/reghdfe small-sample
convention: ``V = G/(G−1) · (N−1)/(N−k) · (X'X)⁻¹ Σ_g X_g'u_g u_g'X_g (X'X)⁻¹`` where k counts
the slope coefficients plus the levels of the fixed effects *not nested* in the cluster variable
(city FE nested in city clusters add nothing; year FE add their T levels), and t-tests use G−1 degrees of freedom. With
``ssc={"k_fixef": "full"}`` every FE level counts, which is what statsmodels' cluster covariance
gives on a dummy-variable regression (tests check both).

A design in which a regressor is collinear with others or with the fixed effects is an error
that names the collinear terms (pyfixest would drop them silently with a warning).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.formula import NAME, formula_names, prepare, split_outside_parentheses
from citynet.analysis.results import FitResult
from citynet.analysis.sample import apply_sample, sample_hints
from scipy import stats

from citynet.errors import AnalysisError

MODELS = ("ols", "ppml", "2sls")
DEFAULT_CLUSTER = "city_code"


# ------------------------------------------------------------------------------------------ vcov
def parse_vcov(vcov: Any, df: pd.DataFrame | None = None) -> tuple[Any, str]:
    """Normalise a vcov spec to (pyfixest argument, FitResult label).

    Accepts ``None`` (cluster by city_code if present, else HC1), ``"iid"``, ``"hc1"``/``"robust"``,
    ``"cluster:VAR"``, ``{"CRV1": "VAR"}`` or a bare column name (cluster by it).
    """
    if vcov is None:
        if df is not None and DEFAULT_CLUSTER in df.columns:
            return {"CRV1": DEFAULT_CLUSTER}, f"cluster:{DEFAULT_CLUSTER}"
        return "hetero", "hc1"
    if not isinstance(vcov, str | dict):  # vcov = 3 in a SPEC clustered by a column "3"
        raise AnalysisError(f"vcov = {vcov!r} is not a text", fix='write vcov = "hc1", "iid" or "cluster:city_code"')
    arg, label = _vcov_argument(vcov)
    missing = [c for c in _cluster_var(arg) if df is not None and c not in df.columns]
    if missing:  # every estimator names it, not only those whose formula lists the cluster (a KeyError in sunab)
        from citynet.analysis.formula import _unknown, refuse_listed_columns

        for name in missing:  # vcov = "cluster:city_code year"
            refuse_listed_columns(name, df.columns, f"vcov {label!r}")
        raise _unknown(missing, {}, list(df.columns), subject=f"vcov {label!r}")
    return arg, label


def _vcov_argument(vcov: str | dict) -> tuple[Any, str]:
    if isinstance(vcov, dict):
        (kind, var), = vcov.items()
        return {kind: var}, f"cluster:{var}" if kind.upper() == "CRV1" else f"{kind.lower()}:{var}"
    v = vcov.strip()
    low = v.lower()
    if low in ("iid", "classical", "ols"):
        return "iid", "iid"
    if low in ("hc1", "hetero", "robust", "hc"):
        return "hetero", "hc1"
    if low.startswith("cluster:") or low.startswith("crv1:"):
        var = v.split(":", 1)[1].strip()
        return {"CRV1": var}, f"cluster:{var}"
    if low.startswith("crv3:"):
        var = v.split(":", 1)[1].strip()
        return {"CRV3": var}, f"crv3:{var}"
    if low.startswith(("conley", "wild", "ri:")):  # read as a column to cluster by: "names 'conley:300'"
        raise AnalysisError(f"vcov = {v!r}: Conley standard errors, the wild bootstrap and randomization inference "
                            "are computed for kind \"fit\" (a formula) only",
                            fix='write the model as kind "fit", e.g. formula = "ln_green_patents ~ low_carbon | '
                                f'city_code + year" with vcov = {v!r} (wild and ri: inference = {v!r}), or give '
                                'this kind vcov = "cluster:city_code", "hc1" or "iid"')
    return {"CRV1": v}, f"cluster:{v}"


def _cluster_var(vcov_arg: Any) -> list[str]:
    if isinstance(vcov_arg, dict):
        return [c.strip() for c in re.split(r"[+^]", next(iter(vcov_arg.values())))]
    return []


def with_interaction(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """``df`` with a column ``A^B`` (one value per pair of values of A and B, missing where either is) for an
    interacted cluster or fixed effect; unchanged when ``name`` is no interaction or a column is missing
    (the fit names it)."""
    from functools import reduce

    if "^" not in name or name in df.columns:
        return df
    parts = [p.strip() for p in name.split("^")]
    if any(p not in df.columns for p in parts):
        return df
    code = reduce(lambda a, b: a + "^" + b, [df[p].astype(str) for p in parts])
    return df.assign(**{name: code.where(df[parts].notna().all(axis=1))})


# ----------------------------------------------------------------------------------------- parts
def split_formula(formula: str) -> dict[str, Any]:
    """``y ~ x | fe | endog ~ instr`` → depvar, rhs, fe list, endog, instr."""
    parts = [p.strip() for p in formula.split("|")]
    if "~" not in parts[0]:
        raise AnalysisError(f"formula {formula!r} has no '~'", fix="write it as 'y ~ x1 + x2 | fe1 + fe2'")
    dep, rhs = (s.strip() for s in parts[0].split("~", 1))
    fe: list[str] = []
    endog = instr = None
    rest = parts[1:]
    if rest and "~" in rest[-1]:
        endog, instr = (s.strip() for s in rest[-1].split("~", 1))
        if not endog or not instr:
            missing = "endogenous regressor before" if not endog else "instrument after"
            raise AnalysisError(f"the IV part {rest[-1]!r} of {formula!r} has no {missing} its '~'",
                                fix="write it as '… | fixed effects | endogenous ~ instrument1 + instrument2'")
        rest = rest[:-1]
    if rest:
        fe = [f.strip() for f in rest[0].split("+") if f.strip() and f.strip() != "0"]
    return {"depvar": dep, "rhs": rhs, "fe": fe, "endog": endog, "instr": instr}


def _terms(side: str | None) -> list[str]:
    """The terms of one side of a formula (checked by formula.check_syntax), split at the '+' outside parentheses
    and quotes (``log(x + 1)``, ``I(a + b)`` and ``i(kind, ref='a+b')`` are one term each); not the constants 1, 0.
    A side that does not close (a stepwise block ``log(x``) is one term, for the fit's syntax check to name."""
    try:
        terms = split_outside_parentheses(side or "", "+")
    except ValueError:
        terms = [side or ""]
    return [t.strip() for t in terms if t.strip() and t.strip() not in ("1", "0")]


def _collinear_partners(df: pd.DataFrame, dropped: list[str], kept: list[str], fe: list[str]) -> dict[str, list[str]]:
    """For each dropped term, the kept terms (or 'the fixed effects') it is a linear combination of."""
    import pyfixest as pf
    from citynet.analysis.pyfixest_order import pin

    pin()  # fixed effects in formula order, whatever the hash seed

    out: dict[str, list[str]] = {}
    for v in dropped:
        col = re.sub(r"\W", "_", v)
        rhs = " + ".join(kept) if kept else "1"
        fml = f"__{col} ~ {rhs}" + (f" | {' + '.join(fe)}" if fe else "")
        level = re.fullmatch(r"C\((\w+)\)\[T\.(.*)\]", v)  # a level of C(tier): its dummy
        try:  # a term pandas cannot evaluate has no partners named
            if v in df.columns:
                x = df[v]
            elif level and level.group(1) in df.columns:
                x = (df[level.group(1)].astype(str) == level.group(2)).astype(float)
            else:
                x = df.eval(v)
            d = df.assign(**{f"__{col}": x})
            with warnings.catch_warnings():  # a dummy absorbed whole: its t statistic is 0/0
                warnings.simplefilter("ignore")
                coefs = pf.feols(fml, d).coef()
            partners = [str(k) for k, b in coefs.items() if abs(b) > 1e-6 and k != "Intercept"]
            out[v] = partners if partners else (["the fixed effects " + " + ".join(fe)] if fe else ["the intercept"])
        except Exception:
            out[v] = ["other regressors or the fixed effects"]
    return out


def _collinear_detail(f, df: pd.DataFrame, parts: dict[str, Any]) -> tuple[list[str], str]:
    dropped = [str(v) for v in (getattr(f, "_collin_vars", None) or [])]
    if not dropped:
        return [], ""
    kept = [str(c) for c in f._coefnames if str(c) != "Intercept"]
    partners = _collinear_partners(df, dropped, kept, parts["fe"])
    return dropped, "; ".join(f"{v} is collinear with {', '.join(p)}" for v, p in partners.items())


_I_LEVEL = re.compile(r"(\w+)::([^:]+?)(?::(\w+))?")  # a level of i(var) or i(var, x): year::2006:low_carbon


def _zero_levels(df: pd.DataFrame, dropped: list[str]) -> tuple[str, str | None, list[str], list[str]] | None:
    """When every dropped term is a level of one ``i(var, x)`` whose column is 0 in every row of the sample:
    the variable, ``x`` (None for ``i(var)``), the dropped levels and the levels kept (where it is not)."""
    found = [_I_LEVEL.fullmatch(v) for v in dropped]
    if not all(found) or len({(m.group(1), m.group(3)) for m in found}) != 1:
        return None
    var, x = found[0].group(1), found[0].group(3)
    if var not in df.columns or (x is not None and x not in df.columns):
        return None
    value = pd.to_numeric(df[x], errors="coerce").fillna(0) if x else pd.Series(1.0, index=df.index)
    nonzero = df.loc[value != 0, var].astype(str)
    levels = [m.group(2) for m in found]
    if nonzero.isin(levels).any():
        return None
    return var, x, levels, sorted(set(nonzero))


def _check_collinear(f, df: pd.DataFrame, parts: dict[str, Any]) -> None:
    dropped, detail = _collinear_detail(f, df, parts)
    if not dropped:
        return
    zero = _zero_levels(df, dropped)
    if zero:  # an event study over years in which no unit is treated: i(year, low_carbon)
        var, x, levels, kept = zero
        numeric = all(re.fullmatch(r"-?\d+", v) for v in levels + kept)
        where = ""
        if numeric and kept and max(map(int, levels)) < min(map(int, kept)):
            where = f'--sample "{var} >= {min(map(int, kept))}" (a SPEC: [sample]), '
        elif numeric and kept and min(map(int, levels)) > max(map(int, kept)):
            where = f'--sample "{var} <= {max(map(int, kept))}" (a SPEC: [sample]), '
        raise AnalysisError(
            f"singular design in the model of {parts['depvar']}: {', '.join(dropped)} "
            + (f"are 0 in every row of the sample ({x} is 0 wherever {var} is {', '.join(levels)})" if x else
               f"have no row in the sample ({var} is never {', '.join(levels)})"),
            fix=f"keep the {var} values where {x or var} varies: {where}"
                + (f"or take it as the reference (i({var}{', ' + x if x else ''}, ref={levels[0]})), " if len(levels) == 1
                   else "") + "or use an event time (years since treatment) instead of the calendar year",
        )
    terms = dict.fromkeys(re.sub(r"\[T\..*\]$", "", v) for v in dropped)  # C(tier), not its levels C(tier)[T.2]
    raise AnalysisError(
        f"singular design in the model of {parts['depvar']}: {detail}",
        fix=f"drop {', '.join(terms)} (time-invariant city variables are absorbed by city fixed effects)",
    )


def _separating_terms(f, df: pd.DataFrame, n_separated: int, left: Sequence[str] = ()) -> list[str]:
    """The regressors left constant once the ``n_separated`` observations they separate were dropped: those pyfixest
    dropped that are constant columns, and ``left`` (:func:`separation.left_constant`: a level of ``i()`` that has
    no row left, which pyfixest does not form at all)."""
    if not n_separated:
        return []
    dropped = [str(v) for v in (getattr(f, "_collin_vars", None) or [])]
    return list(dict.fromkeys([*left, *(v for v in dropped if v in df.columns and df[v].nunique(dropna=True) <= 1)]))


def _separating_text(terms: list[str], y: str, n_separated: int) -> str:
    return (f"{', '.join(terms)} {'is' if len(terms) == 1 else 'are'} constant once the {n_separated:,} observations "
            f"separated by the regressors and fixed effects are dropped ({y} is 0 wherever {' or '.join(terms)} differs "
            "from that value): its maximum-likelihood coefficient is infinite (fixest, which keeps those rows, does not "
            "converge: it reports a large number or drops the term as collinear)")


def _check_separating(f, df: pd.DataFrame, parts: dict[str, Any], n_separated: int, left: Sequence[str] = ()) -> None:
    """A regressor left constant once the observations it separates are dropped (a dummy that is 1 only where the
    count is 0): the data say its coefficient is −∞, not that it is collinear with the fixed effects. One message."""
    const = _separating_terms(f, df, n_separated, left)
    if const:
        y = parts["depvar"]
        raise AnalysisError(f"PPML of {y}: {_separating_text(const, y, n_separated)}",
                            fix=f"drop {', '.join(const)}, or pool it with a category where {y} is positive; in a SPEC, "
                                "allow_collinear = true fits the model without it (a note says so)")


def constant_within(df: pd.DataFrame, terms: Sequence[str], fes: Sequence[str]) -> dict[str, str]:
    """``{term: fe}`` for each of ``terms`` (panel columns) constant within every group of one of the fixed effects
    ``fes`` (``A^B``: the pairs), which therefore absorbs it: a time-invariant city variable under city fixed
    effects, a distance under pair fixed effects."""
    absorbed = {}
    for term in terms:
        for fe in fes:
            cols = [fe] if fe in df.columns else [c.strip() for c in fe.split("^")]
            if (term in df.columns and all(c in df.columns for c in cols)
                    and (df.groupby(cols, observed=True)[term].nunique(dropna=True) <= 1).all()):
                absorbed[term] = fe
                break
    return absorbed


def _absorbed_text(absorbed: dict[str, str]) -> str:
    return "; ".join(f"{term} is constant within each {fe}" for term, fe in absorbed.items())


#: the fix of a 2SLS left without an excluded instrument (checked before the fit, and after it in iv_diagnostics)
NO_INSTRUMENT_FIX = ("use an instrument that varies within the fixed effects' groups (over time within a city), or drop "
                     "the fixed effect that absorbs it")


def _all_collinear(df: pd.DataFrame, parts: dict[str, Any]) -> AnalysisError:
    """pyfixest's "All variables are collinear" as one message naming, for each regressor that is a column,
    the fixed effect within whose groups it is constant (distance with pair fixed effects; a city's tier with
    city fixed effects)."""
    absorbed = constant_within(df, [*_terms(parts["rhs"]), *_terms(parts.get("instr") or "")], parts["fe"])
    return AnalysisError(
        f"no regressor of the model of {parts['depvar']} is left once the fixed effects {' + '.join(parts['fe'])} "
        "are absorbed: every one is collinear with them" + (f" ({_absorbed_text(absorbed)})" if absorbed else ""),
        fix="drop the fixed effect that absorbs the regressor (e.g. pair with a distance, city with a city's tier), or "
            "use regressors that vary within its groups")


# pyfixest, as fixest, forms the PPML covariance from the IRLS weights of the iteration before the last (the mean
# before the final update), so the SEs are as far from the sandwich at the estimates as that iteration is from them:
# at pyfixest's default tolerance (1e-8 on the relative deviance change) ~2e-6, at 1e-10 up to 4.5e-7 on the awkward
# panel (the coefficients equal to 1e-14); at 1e-12 (one more iteration, quadratic convergence) within 4e-9 of the
# sandwich and 7e-8 of fixest at glm.tol 1e-12 (tests/test_references_awkward.py). Demeaning: pyfixest's tolerance.
PPML_TOL = {"iwls_tol": 1e-12}
# Where pyfixest's alternating projections stall (sparse counts, two high-dimensional FE) they stall
# for good: 2,500 iterations (pyfixest's default is 10,000, ~4× the time) before LSMR takes over.
PPML_MAP_MAXITER = 2500
SEPARATION_CHECK_ROWS = 100_000  # the separation programme runs before every PPML fit up to this size
MU_VANISHES = 1e-8  # fitted mean / mean outcome below which a zero-outcome row looks separated


def _fitted_mean_vanishes(f: Any) -> bool:
    """ppmlhdfe's "mu" back-stop: some zero-outcome row has a fitted mean ≈ 0 (its FE drift to −∞)."""
    try:
        y, mu = np.asarray(f._Y, dtype=float).ravel(), np.asarray(f._Y_hat_response, dtype=float).ravel()
    except AttributeError:
        return False
    zero = y == 0
    return bool(zero.any() and len(mu) == len(y) and mu[zero].min() < MU_VANISHES * max(y.mean(), 1e-300))


def _fe_groups(df: pd.DataFrame, fe: Sequence[str]) -> list[np.ndarray]:
    """Integer group codes (0..G−1) of each fixed-effect term; ``a^b`` terms are interacted groups."""
    out = []
    for term in fe:
        cols = [c.strip() for c in term.split("^")]
        if not all(c in df.columns for c in cols):
            continue
        group = np.zeros(len(df), dtype=np.int64)
        for c in cols:
            codes = pd.factorize(df[c], sort=True)[0].astype(np.int64)
            group = group * (int(codes.max(initial=0)) + 2) + (codes + 1)
        out.append(np.unique(group, return_inverse=True)[1].ravel())
    return out


def drop_singletons(df: pd.DataFrame, fe: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Drop observations alone in a fixed-effect group, repeated until none remain (dropping one can leave another
    alone in another dimension), as fixest (``fixef.rm = "singleton"`` of feols) and reghdfe drop them."""
    groups = _fe_groups(df, fe)
    keep = np.ones(len(df), dtype=bool)
    while groups:
        idx = np.flatnonzero(keep)
        new = keep.copy()
        for g in groups:
            gk = g[idx]
            new[idx] &= np.bincount(gk)[gk] > 1
        if (new == keep).all():
            break
        keep = new
    return (df if keep.all() else df[keep]), int((~keep).sum())


def singletons_note(n: int) -> str:
    return (f"{n:,} observation{'s' if n > 1 else ''} alone in {'their' if n > 1 else 'its'} fixed-effect group "
            "(singletons, found repeatedly) dropped, as fixest and reghdfe drop them.")


def drop_separated(df: pd.DataFrame, depvar: str, fe: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Drop observations in fixed-effect groups with an all-zero outcome, and singleton groups (PPML),
    repeated until none remain.

    An all-zero group's fixed effect goes to −∞ and its observations carry no information on β
    (Correia, Guimarães & Zylkin 2020, *Fast Poisson estimation with high-dimensional fixed effects*,
    §3); a singleton is fitted perfectly by its own effect. Removing either can create new ones in
    another dimension (a dropped singleton with y > 0 can leave its other group all-zero), so the pass
    repeats until nothing changes — what ``fixest::fepois`` does by default (``fixef.rm =
    "perfect_fit"``; same N as fixest 0.14.2, tests/references).
    """
    y = np.nan_to_num(df[depvar].to_numpy(dtype=float))
    groups = _fe_groups(df, fe)
    keep = np.ones(len(df), dtype=bool)
    while groups:
        new = keep.copy()
        idx = np.flatnonzero(keep)
        for g in groups:
            gk = g[idx]
            sums = np.bincount(gk, weights=y[idx])
            sizes = np.bincount(gk)
            new[idx] &= (sums[gk] > 0) & (sizes[gk] > 1)
        if (new == keep).all():
            break
        keep = new
    return (df if keep.all() else df[keep]), int((~keep).sum())


def _refuse_all_separated(df: pd.DataFrame, rows: pd.DataFrame, parts: dict[str, Any]) -> None:
    """No observation left once the separated ones are dropped (a count positive in a handful of rows, split over
    fixed effects finer than it: every group all zero, or left with one row): one message, as fixest's "all
    observations removed" (pyfixest and the separation check failed on the empty design: a traceback)."""
    if len(df):
        return
    y = parts["depvar"]
    positive = int((pd.to_numeric(rows[y], errors="coerce") > 0).sum()) if y in rows else 0
    fe = parts["fe"] if isinstance(parts["fe"], str) else " + ".join(parts["fe"] or [])
    fe = f" {fe}" if fe else ""
    raise AnalysisError(f"PPML: every one of the {len(rows):,} observations is separated ({y} is positive in "
                        f"{positive:,} of them, and no group of the fixed effects{fe} keeps both a zero and a positive "
                        "count once those are dropped): nothing is left to fit",
                        fix="the count is too sparse for these fixed effects: coarser or fewer fixed effects (e.g. "
                            "origin + dest + year), another outcome, or a larger corpus")


def drop_separated_lp(df: pd.DataFrame, parts: dict[str, Any]) -> tuple[pd.DataFrame, int, str]:
    """Drop the observations separated by a combination of regressors and fixed effects
    (``analysis.separation.separated``; what ``ppmlhdfe`` adds to fixest's all-zero-group check), then
    the fixed-effect check again, until neither drops anything. Returns the frame, the number dropped
    here, and a note ('' when nothing was dropped and the check ran)."""
    from citynet.analysis.separation import MAX_ROWS, rhs_design, separated

    y_name, total = parts["depvar"], 0
    for _ in range(10):
        if df.empty:  # everything dropped: the caller says so (no design to check)
            break
        if len(df) > MAX_ROWS:
            return df, total, (f"PPML: separation checked by fixed-effect groups only (as fixest); the check for "
                               f"combinations of regressors and fixed effects runs up to {MAX_ROWS:,} rows.")
        A = rhs_design(df, parts["rhs"], _fe_groups(df, parts["fe"]))
        sep = separated(df[y_name].to_numpy(dtype=float), A) if A is not None else None
        if sep is None:
            return df, total, ("PPML: separation checked by fixed-effect groups only (as fixest): the check for "
                               "combinations of regressors and fixed effects could not run on this design.")
        if not sep.any():
            break
        n_sep = int(sep.sum())
        df, more = drop_separated(df[~sep], y_name, parts["fe"]) if parts["fe"] else (df[~sep], 0)
        total += n_sep + more
    note = (f"PPML: {total:,} observations separated by a combination of regressors and fixed effects (fitted mean "
            "0 at estimates of ±∞; Correia, Guimarães & Zylkin 2021) dropped, as ppmlhdfe, with the fixed-effect "
            "groups this left all-zero or single; the remaining estimates exist and are unchanged.") if total else ""
    return df, total, note


def check_numeric(df: pd.DataFrame, columns: Sequence[str], role: str,
                  fix: str | Callable[[str], str] = "use numeric columns (a 0/1 dummy such as tier_high for a category)"
                  ) -> None:
    """A text column where a number is needed (a regressor, a PSM covariate, a threshold or Tobit variable) is one
    message naming it and three of its values (pandas or pyfixest would stop with a TypeError); ``fix`` may be a
    function of the column's name."""
    for c in columns:
        if c in df.columns and not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            shown = ", ".join(repr(v) for v in df[c].dropna().astype(str).unique()[:3])
            raise AnalysisError(f"the {role} {c!r} is text" + (f" (values such as {shown})" if shown else "")
                                + ", not a number",
                                fix=fix(c) if callable(fix) else fix)


def _check_sample(df: pd.DataFrame, fml: str, parts: dict[str, Any], sample: str | None, panel: pd.DataFrame,
                  sample_label: str | None = None) -> None:
    """Guard pyfixest against inputs it aborts or tracebacks on: a text regressor, an empty sample (its Rust
    core aborts the process), and a sample in which every observation is a fixed-effect singleton. The messages
    name the sample as the user wrote it: ``--sample 'QUERY'``, or ``sample_label`` (a split's sample)."""
    used = [c for c in formula_names(fml) if c in df.columns]
    fe_cols = {c.strip() for t in parts["fe"] for c in t.split("^")}
    # names inside C(...) or i(...) are categorical by request
    fe_cols |= {n for call in re.findall(r"\b[Ci]\(([^)]*)\)", fml) for n in NAME.findall(call)}
    check_numeric(df, [c for c in used if c not in fe_cols], "term",
                  fix=lambda c: f"use a numeric column, or C({c}) / i({c}) for a categorical regressor, or put it "
                                "after '|' as a fixed effect")
    rows = df.dropna(subset=used) if used else df
    where = f" with {sample_label}" if sample_label else f" with --sample {sample!r}" if sample else ""
    split = bool(sample_label) and "split " in sample_label  # --split year (year = 2006): no sample to widen
    rows = _finite_rows(rows, parts, where)
    _check_depvar(rows, parts, where)
    if rows.empty:
        yr = ""
        if "year" in panel.columns and len(panel):
            yr = f"; the panel's years are {int(panel['year'].min())}–{int(panel['year'].max())}"
        hint = sample_hints(panel, sample)
        raise AnalysisError(
            f"the estimation sample is empty{where}: 0 of {len(panel):,} rows have every variable of {fml!r}{yr}"
            + (f" ({hint})" if hint else ""),
            fix=("check the variables for missing values in that sample (lags lose the first year)" if split else
                 "widen --sample, or check the variables for missing values (lags lose the first year)"))
    if parts["fe"]:
        groups = _fe_groups(rows, parts["fe"])
        single = np.zeros(len(rows), dtype=bool)
        for g in groups:
            single |= np.bincount(g)[g] == 1
        if single.all():
            raise AnalysisError(
                f"every one of the {len(rows):,} observations{where} is alone in its fixed-effect group "
                f"({' + '.join(parts['fe'])}), so nothing is left once singletons are dropped",
                fix="split by a coarser column, or fit the split samples with coarser fixed effects (a sample of "
                    "the split keeps one observation per group here)" if split else
                    "use a wider sample (more years per city) or coarser fixed effects")


def _finite_rows(rows: pd.DataFrame, parts: dict[str, Any], where: str) -> pd.DataFrame:
    """The rows on which every expression of the formula (``log(x)``, ``I(1/x)``, ``np.sqrt(x)`` …; evaluated by
    formulaic, as pyfixest evaluates them) is finite, as pyfixest keeps them; none is one message — pyfixest's Rust
    core aborted the process on the empty design (``log(copat_gov)`` of a column of zeros: exit 134)."""
    lhs = parts["depvar"]
    sides = [parts["rhs"], parts["endog"], parts["instr"]]
    exprs = [t for t in dict.fromkeys([lhs, *(t for side in sides for t in _terms(side))])
             if t not in rows.columns and not re.match(r"(?:i|C)\(|-?\d+$", t)]
    if not exprs or rows.empty:
        return rows
    import formulaic

    finite: dict[str, np.ndarray] = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for t in exprs:
            try:
                m = formulaic.model_matrix(f"{t} ~ 1" if t == lhs else f"0 + {t}", rows, na_action="ignore")
                a = np.asarray(m.lhs if t == lhs else m, dtype=float)
            except Exception:  # noqa: BLE001 - a term formulaic cannot evaluate is the fit's to refuse, with its words
                continue
            if a.ndim == 2 and a.shape[0] == len(rows) and a.shape[1]:
                finite[t] = np.isfinite(a).all(axis=1)
    if not finite:
        return rows
    ok = np.logical_and.reduce(list(finite.values()))
    if ok.any():
        return rows[ok]
    dead = [t for t, f in finite.items() if not f.any()]
    if not dead:  # each finite somewhere, never together
        raise AnalysisError(f"the estimation sample is empty{where}: no row of the {len(rows):,} that have the formula's "
                            f"variables has {', '.join(finite)} finite together",
                            fix="use ln_X = ln(1 + X) for the variables with zeros, or check the expressions' domains")
    logs = [m.group(1) for t in dead if (m := _LOG_OF.fullmatch(t))]
    if len(logs) < len(dead):  # I(1/x), np.sqrt(-x), log10(x) …
        raise AnalysisError(
            f"the estimation sample is empty{where}: {', '.join(dead)} {'is' if len(dead) == 1 else 'are'} infinite or "
            f"undefined in every one of the {len(rows):,} rows that have the formula's variables",
            fix="check the expression's domain (a log or a root of values ≤ 0, a division by 0); for a count with "
                "zeros ln_X = ln(1 + X)")
    outcome = lhs in dead
    raise AnalysisError(
        f"the estimation sample is empty{where}: {', '.join(dead)} {'is' if len(dead) == 1 else 'are'} −∞ or undefined "
        f"in every one of the {len(rows):,} rows that have the formula's variables ({' and '.join(logs)} ≤ 0 in each)",
        fix=f"use ln_{logs[0]} = ln(1 + {logs[0]})" + (" (0 in every row here: a constant)" if (rows[logs[0]] == 0).all()
                                                      else "")
            + (f", or a Poisson model of {logs[0]} (--model ppml)" if outcome else ""))


def _check_iv_roles(parts: dict[str, Any], instruments: list[str]) -> None:
    """In ``y ~ exog | fe | endog ~ instr`` each variable has one role: an endogenous regressor or an excluded
    instrument written again among the exogenous regressors is one message (pyfixest: "Endogeneous variables
    specified as covariates")."""
    if not parts["endog"]:
        return
    exog = set(_terms(parts["rhs"])) | set(formula_names(parts["rhs"]))  # i(year, d): d too
    endog = _terms(parts["endog"])
    both = [t for t in endog if t in exog]
    if both:
        raise AnalysisError(f"{', '.join(both)} is both an exogenous regressor and the endogenous one of the 2SLS",
                            fix=f"write it once, after the last '|': y ~ exogenous | fixed effects | {both[0]} ~ "
                                f"{parts['instr']}")
    excluded = [t for t in instruments if t in exog]
    if excluded:
        raise AnalysisError(f"{', '.join(excluded)} is both an exogenous regressor and an excluded instrument of the "
                            "2SLS; an instrument is left out of the second stage by definition",
                            fix=f"drop {excluded[0]} from the regressors (it then instruments {parts['endog']}), or "
                                "from the instruments")


_I_CALL = re.compile(r"\bi\(([^()]*)\)")
_SEVERAL_REFS = re.compile(r"\bi\([^()]*?\bref2?\s*=\s*(?:c\(|\[)")
_REF = re.compile(r"^\s*ref\s*=\s*(.+?)\s*$")


def _check_references(df: pd.DataFrame, fml: str) -> None:
    """``i(var, …, ref=V)``: V must be a value of ``var`` in the estimation sample (pyfixest: "Value `2009` for
    `TreatmentContrasts.base` is not among the provided levels"). A number is written bare, a text quoted."""
    several = _SEVERAL_REFS.search(fml)
    if several:  # fixest's ref = c(2009, 2010); pyfixest's i() takes one
        raise AnalysisError(f"{several.group(0)}…: i() takes one reference level here (pyfixest's i(); fixest's "
                            "takes several)", fix="write one, e.g. ref=2009; for several, make a column in which "
                                                 "they are one level and name that level as the reference")
    calls = _I_CALL.findall(fml)
    if not calls:
        return
    used = [c for c in formula_names(fml) if c in df.columns]
    rows = df.dropna(subset=used)
    for call in calls:
        args = [a.strip() for a in split_outside_parentheses(call, ",")]  # ref='east, coastal' is one argument
        if len(args) > 2 and "=" not in args[2]:
            raise AnalysisError(f"i({call}): its third argument {args[2]} has no name",
                                fix=f"name the reference level: i({args[0]}, {args[1]}, ref={args[2]})")
        ref = next((m.group(1) for a in args[1:] if (m := _REF.match(a))), None)
        var = args[0]
        if ref is None or var not in rows.columns:
            continue
        values = pd.Series(rows[var].unique())
        numeric = pd.api.types.is_numeric_dtype(values)
        text = ref.strip("'\"")
        if numeric and ref == text:
            found = _number(text) in set(values.astype(float))
        else:
            found = not numeric and ref != text and text in set(values.astype(str))
        if found:
            continue
        shown = sorted(values.astype(str))
        if any("," in v for v in shown):  # 'east, coastal', 'west': a level's comma is not the list's
            shown = [repr(v) for v in shown]
        listing = (f"{values.min():g}–{values.max():g}" if numeric and len(values) > 8
                   else ", ".join(shown[:8]) + (" …" if len(values) > 8 else ""))
        example = f"{values.min():g}" if numeric else repr(sorted(values.astype(str))[0]) if len(values) else "…"
        raise AnalysisError(f"i({call}): the reference {ref} is not a value of {var} in the estimation sample "
                            f"({listing or 'no row'})",
                            fix=f"choose a value the sample has, a number bare and a text quoted: ref={example}")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _weighted_rows(df: pd.DataFrame, weights: str) -> tuple[pd.DataFrame, str]:
    """The rows a weighted fit uses (a positive weight) and the note of those left out; a text or negative weight
    is one message."""
    check_numeric(df, [weights], "weight")
    w = pd.to_numeric(df[weights], errors="coerce")
    if (w < 0).any():
        raise AnalysisError(f"the weights {weights} are negative in {int((w < 0).sum()):,} rows",
                            fix="weight by a positive column (population, GDP …)")
    keep = w > 0
    left = int((~keep).sum())
    if len(df) and not keep.any():  # it was "the estimation sample is empty … check the variables", weights unnamed
        raise AnalysisError(f"the weights {weights} are missing or 0 in every one of the {len(df):,} rows, and a fit "
                            "leaves such rows out", fix="weight by a column that is positive (population, GDP …)")
    note = f" ({left:,} rows with a missing or zero weight left out)" if left else ""
    return (df if not left else df[keep]), note


def _cluster_rows(df: pd.DataFrame, vcov_arg: Any, fml: str) -> tuple[pd.DataFrame, str, int]:
    """The rows with a cluster (each of two-way clusters; ``A^B``: both), the note of those left out and their
    number: fixest drops them ("observations removed because of NA values (vcov)"); pyfixest stops. The note counts
    the rows the cluster alone took out (every variable of the formula present)."""
    if not isinstance(vcov_arg, dict):
        return df, "", 0
    names = [c.strip() for c in next(iter(vcov_arg.values())).split("+")]
    names = [c for c in names if c in df.columns]
    missing = df[names].isna().any(axis=1) if names else pd.Series(False, index=df.index)
    for c in names:  # pyfixest's Wald test fails on the infinite matrix ("SVD did not converge")
        if df.loc[~missing, c].nunique() == 1:
            raise _one_cluster(c, int((~missing).sum()))
    if not missing.any():
        return df, "", 0
    used = [c for c in formula_names(fml) if c in df.columns]
    lost = int((missing & df[used].notna().all(axis=1)).sum()) if used else int(missing.sum())
    note = (f"{lost:,} observations with a missing {' or '.join(names)} (the cluster) left out, as fixest leaves them out."
            if lost else "")
    return df[~missing], note, lost


def missing_rows(df: pd.DataFrame, names: Sequence[str]) -> tuple[pd.Series, str]:
    """The rows with a missing (or infinite) value in one of the columns ``names`` and the note that counts them
    by variable, as fixest counts them ("NOTE: 6 observations removed because of NA values (LHS: 2, RHS: 4)"): a
    row missing two variables is counted under each, once in the total. pyfixest left them out without a word."""
    used = [c for c in dict.fromkeys(names) if c in df.columns]
    if not used or not len(df):
        return pd.Series(False, index=df.index), ""
    bad = pd.DataFrame({c: (~np.isfinite(pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float))
                            if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
                            else df[c].isna().to_numpy()) for c in used}, index=df.index)
    rows = bad.any(axis=1)
    n = int(rows.sum())
    if not n:
        return rows, ""
    counts = bad.sum()
    infinite = any(pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
                   and np.isinf(pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)).any() for c in used)
    by = ", ".join(f"{c}: {int(k):,}" for c, k in counts.items() if k)
    return rows, (f"{n:,} observation{'s' if n > 1 else ''} with a missing{' or infinite' if infinite else ''} value "
                  f"left out ({by}), as fixest leaves them out.")


def _check_clusters(res: FitResult, label: str) -> None:
    """One cluster (in a dimension) is no cluster-robust standard error at all: G/(G−1) is infinite."""
    g = res.stats.get("n_clusters")
    if g is not None and g < 2:
        raise _one_cluster(label.split(":", 1)[-1], res.nobs)


def _one_cluster(var: str, n: int) -> AnalysisError:
    return AnalysisError(f"the standard errors are clustered by {var}, which has one value in the estimation sample "
                         f"of {n:,} observations: a cluster-robust variance needs two clusters or more (and about 40 "
                         "to be reliable)", fix="cluster by a finer variable (city_code, the default), or use --vcov hc1")


def _check_depvar(rows: pd.DataFrame, parts: dict[str, Any], where: str) -> None:
    """A dependent variable that is a number (``1 ~ x``), also a regressor (``y ~ y``) or constant in the
    sample: pyfixest fitted each (a zero coefficient with a NaN standard error, or a perfect fit)."""
    y = parts["depvar"].strip()
    if re.fullmatch(r"[-+]?\d+(\.\d*)?", y):
        raise AnalysisError(f"the dependent variable is the number {y}, not a column",
                            fix="put a panel column left of '~', e.g. ln_green_patents ~ low_carbon")
    if y in _terms(parts["rhs"]) or y in _terms(parts.get("endog") or ""):
        raise AnalysisError(f"{y} is both the dependent variable and a regressor",
                            fix=f"drop {y} from the right of '~' (its lag, l1_{y}, is a regressor)")
    if y in rows.columns and len(rows) and rows[y].nunique(dropna=True) == 1:
        raise AnalysisError(f"the dependent variable {y} is {rows[y].iloc[0]} in every one of the {len(rows):,} "
                            f"observations{where}: there is nothing to explain",
                            fix="choose another dependent variable, or widen the sample")


# ------------------------------------------------------------------------------------------- fit
def fit(
    panel: pd.DataFrame,
    formula: str,
    model: str = "ols",
    vcov: Any = None,
    *,
    sample: str | None = None,
    name: str | None = None,
    ssc: dict | None = None,
    allow_collinear: bool = False,
    engine_kw: dict | None = None,
    weights: str | None = None,
    sample_label: str | None = None,
) -> FitResult:
    """Fit one model; see the module docstring for the models and the standard-error conventions.

    ``sample_label``: how messages name the sample when the user did not write ``sample`` as such (``citynet fit
    --split year``: ``--split year (year = 2006)``); by default ``--sample 'QUERY'``.

    ``weights``: a column of regression weights (fixest's ``weights``, Stata's ``[aweight]``: weighted least
    squares, or a weighted Poisson likelihood): rows where it is missing or 0 are left out (with a note),
    negative weights are refused."""
    from citynet.analysis.multiple import refuse

    refuse(formula, "this step")  # sw(), csw() …: the command and a SPEC fit each model (analysis/multiple.py)
    model = model.lower()
    if model in ("iv", "tsls"):
        model = "2sls"
    if model not in MODELS:
        raise AnalysisError(f"unknown model {model!r}", fix=f"use one of {', '.join(MODELS)}")
    vcov_arg, vcov_label = parse_vcov(vcov, panel)
    df, fml = prepare(panel, formula, extra=[*_cluster_var(vcov_arg), *([weights] if weights else [])])
    df = apply_sample(df, sample)
    for cluster in (next(iter(vcov_arg.values())).split("+") if isinstance(vcov_arg, dict) else []):
        df = with_interaction(df, cluster.strip())  # --cluster city_code^year: one cluster per city-year
    weight_note = ""
    if weights:
        df, weight_note = _weighted_rows(df, weights)
    parts = split_formula(fml)
    missing, missing_note = missing_rows(df, formula_names(fml))
    n_missing = int(missing.sum())
    df, cluster_note, cluster_lost = _cluster_rows(df, vcov_arg, fml)
    n_missing += cluster_lost
    _check_sample(df, fml, parts, sample, panel, sample_label)
    if model == "2sls" and not parts["endog"]:
        raise AnalysisError("model 2sls needs an IV part", fix="write 'y ~ exog | fe | endog ~ instruments'")
    if parts["endog"] and model != "2sls":
        model = "2sls"
    if parts["endog"] and len(parts["endog"].split("+")) > 1:  # as pyfixest counts them: I(d + w) is two
        raise AnalysisError("2SLS with more than one endogenous regressor is not supported",
                            fix="instrument one regressor per model (pyfixest limit)")
    instruments = _terms(parts["instr"] or "") if parts["endog"] else []
    _check_iv_roles(parts, instruments)
    _check_references(df, fml)
    absorbed = constant_within(df, instruments, parts["fe"])
    if instruments and len(absorbed) == len(set(instruments)):  # pyfixest: a singular matrix, or a fit with none left
        raise AnalysisError(f"the 2SLS has no excluded instrument left once the fixed effects are absorbed "
                            f"({_absorbed_text(absorbed)}), so {parts['endog']} is not identified", fix=NO_INSTRUMENT_FIX)
    dropped_separated = 0
    if model == "ppml" and parts["depvar"] not in df.columns:
        raise AnalysisError(f"PPML models a count or a level: its dependent variable is a panel column, not "
                            f"{parts['depvar']}",
                            fix="name the count itself (green_patents ~ … --model ppml: Poisson's log link models "
                                "ln E[y], with the zeros kept), or fit the expression by OLS")
    if model == "ppml" and pd.api.types.is_numeric_dtype(df[parts["depvar"]]) and (df[parts["depvar"]] < 0).any():
        y = df[parts["depvar"]]  # pyfixest: "fitting … failed: The dependent variable must be a weakly positive number"
        raise AnalysisError(f"PPML models a count or a level, which is never negative: {parts['depvar']} is negative "
                            f"in {int((y < 0).sum()):,} of {len(y):,} rows (smallest {y.min():g}); fixest refuses it too",
                            fix="model a non-negative outcome (a count, a level), or fit a change or a difference by OLS")
    if model == "ppml":  # the estimation rows, before the separation checks (which need a finite design)
        used = [c for c in formula_names(fml) if c in df.columns]
        numeric = [c for c in used if pd.api.types.is_numeric_dtype(df[c])]
        complete = df[used].notna().all(axis=1) & np.isfinite(df[numeric].to_numpy(dtype=float)).all(axis=1)
        df = df if complete.all() else df[complete]
        ppml_rows = df
        if parts["fe"]:
            df, dropped_separated = drop_separated(df, parts["depvar"], parts["fe"])
            _refuse_all_separated(df, ppml_rows, parts)
    import pyfixest as pf  # imported once the checks above passed: 2–3 s that a refused formula does not wait for
    from citynet.analysis.pyfixest_order import pin

    pin()  # fixed effects in formula order, whatever the hash seed
    kw: dict[str, Any] = {"vcov": vcov_arg, **(engine_kw or {}), **({"weights": weights} if weights else {})}
    if model == "ppml":
        kw = {**PPML_TOL, "fixef_maxiter": PPML_MAP_MAXITER, **kw}
    if ssc is not None:
        kw["ssc"] = pf.ssc(**ssc)

    singletons = [0]  # observations pyfixest dropped as fixed-effect singletons (it says so in a warning only)

    def estimate(d: pd.DataFrame) -> tuple[Any, bool]:
        """pyfixest's fit; for PPML whose alternating projections stall, the same fit with LSMR."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = (pf.fepois(fml, d, **kw) if model == "ppml" else pf.feols(fml, d, **kw)), False
            said = [_SINGLETONS.search(str(w.message)) for w in caught]
            singletons[0] = sum(int(m.group(1)) for m in said if m)
            if model == "ppml" and getattr(out[0], "convergence", True) is False:
                # pyfixest marks convergence at the start of the next pass: a fit whose deviance settled on its
                # last iteration is flagged. One more iteration tells; converged, its estimates are kept (its
                # warnings are the first fit's again: not counted twice)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    again = pf.fepois(fml, d, **{**kw, "iwls_maxiter": getattr(out[0], "maxiter", 25) + 1})
                if again.convergence:
                    out = again, False
            return out
        except Exception as first:
            if model != "ppml" or "Demeaning failed" not in str(first):
                raise
            # Sparse counts with two high-dimensional FE: pyfixest's alternating projections (MAP) can
            # stall where fixest's accelerated MAP converges. The same problem solved by LSMR (Krylov)
            # converges and gives fixest's estimates (tests/references: seeds where MAP stalls).
            from pyfixest.estimation import LsmrDemeaner

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return pf.fepois(fml, d, **{**kw, "demeaner": LsmrDemeaner()}), True
            except Exception:
                raise first from None

    # PPML separation by combinations of regressors and FE: checked before the fit on designs of up to
    # SEPARATION_CHECK_ROWS rows (cheap there); on larger ones only when the fit shows it — the fit
    # stalls, or a zero-outcome row gets a fitted mean near 0 (ppmlhdfe's "mu" back-stop) — and refit
    combo_note, dropped_combo, checked = "", 0, False
    before_separation = df
    if model == "ppml" and len(df) <= SEPARATION_CHECK_ROWS:
        df, dropped_combo, combo_note = drop_separated_lp(df, parts)
        _refuse_all_separated(df, ppml_rows, parts)
        checked = True
    try:
        try:
            f, retried = estimate(df)
        except Exception as first:
            if model != "ppml" or checked or "Demeaning failed" not in str(first):
                raise
            df, dropped_combo, combo_note = drop_separated_lp(df, parts)
            checked = True
            if not dropped_combo:
                raise
            f, retried = estimate(df)
        if model == "ppml" and not checked and _fitted_mean_vanishes(f):
            df_sep, n_sep, note = drop_separated_lp(df, parts)
            checked, combo_note = True, note
            if n_sep:
                df, dropped_combo = df_sep, n_sep
                f, retried = estimate(df)
    except AnalysisError:
        raise
    except Exception as exc:
        msg = str(exc)
        if model == "ppml" and "Demeaning failed" in msg:
            y = df[parts["depvar"]]
            raise AnalysisError(
                f"PPML of {fml!r} did not converge: {msg} The outcome is positive in {int((y > 0).sum()):,} of "
                f"{len(y):,} rows; with such sparse counts some observations are perfectly predicted by the "
                "fixed effects (separation) and the estimates do not exist.",
                fix="use coarser fixed effects (e.g. origin + destination + year instead of origin-year and "
                    "destination-year), pool years, or a denser network filter (--green all)") from exc
        from citynet.analysis.formula import shadowing_columns, shadowing_error

        if "All variables are collinear" in msg:  # pyfixest: not one regressor is left
            raise _all_collinear(df, parts) from exc
        shadowed = shadowing_columns(df.columns)
        if shadowed:  # formulaic may reach a function of that name without the formula's text calling it
            raise shadowing_error(shadowed, f"fitting {fml!r} failed ({msg}), maybe for that reason") from exc
        raise AnalysisError(f"fitting {fml!r} failed: {msg}",
                            fix="check the formula, the sample and that the variables vary") from exc
    dropped_separated += dropped_combo
    if model == "2sls" and parts["endog"].strip() in [str(v) for v in (getattr(f, "_collin_vars", None) or [])]:
        endog = parts["endog"].strip()  # with allow_collinear, pyfixest dropped it: an OLS of the rest, called 2SLS
        detail = _collinear_detail(f, df, parts)[1]
        raise AnalysisError(f"the 2SLS of {parts['depvar']} is not identified: the endogenous regressor {endog} is a "
                            f"linear combination of the exogenous regressors and the fixed effects ({detail}), as "
                            "fixest says ('fully explained by the exogenous variables')",
                            fix=f"drop the exogenous regressors that determine {endog}")
    left: list[str] = []
    if dropped_combo:  # e.g. a level of i() with no row left: pyfixest does not form it, silently
        from citynet.analysis.separation import left_constant

        left = left_constant(before_separation, df, parts["rhs"])
    if not allow_collinear:
        if dropped_combo:
            _check_separating(f, df, parts, dropped_combo, left)
        _check_collinear(f, df, parts)
    with warnings.catch_warnings():  # pyfixest's NaN standard errors of a degenerate design: said by the checks below
        warnings.simplefilter("ignore", RuntimeWarning)
        res = to_result(f, model=model, vcov_label=vcov_label, fe=parts["fe"], name=name, depvar=parts["depvar"])
    _check_clusters(res, vcov_label)
    if missing_note:
        res.notes.append(missing_note)
    if n_missing:
        res.stats["n_missing"] = float(n_missing)
    if singletons[0]:
        res.notes.append(singletons_note(singletons[0]))
        res.stats["n_singletons"] = float(singletons[0])
    if weights:
        res.notes.append(f"Weighted by {weights}{weight_note}.")
    if cluster_note:
        res.notes.append(cluster_note)
    if model == "ppml" and getattr(f, "convergence", True) is False:
        res.notes.append(f"Warning: PPML did not converge in {getattr(f, 'maxiter', 25)} iterations (the change in deviance is "
                         f"still above {PPML_TOL['iwls_tol']:g}): the estimates are not the maximum of the likelihood, as "
                         "fixest's 'Absence of convergence' says; look for a regressor whose coefficient runs away "
                         "(separation) or rescale the regressors.")
    if retried:
        res.notes.append("PPML: the fixed effects were absorbed by LSMR (pyfixest's alternating projections "
                         f"did not converge in {PPML_MAP_MAXITER:,} iterations).")
    if dropped_separated - dropped_combo:
        res.notes.append(f"{dropped_separated - dropped_combo:,} observations in fixed-effect groups with an all-zero "
                         "outcome or a single observation dropped, repeatedly until none remain (as fixest::fepois).")
    if dropped_separated:
        res.stats["n_separated"] = float(dropped_separated)
    if combo_note:
        res.notes.append(combo_note)
    if allow_collinear:
        separating = _separating_terms(f, df, dropped_combo, left)
        if separating:
            res.notes.append(f"{name or parts['depvar']}: dropped {', '.join(separating)}: "
                             f"{_separating_text(separating, parts['depvar'], dropped_combo)}.")
        dropped, detail = _collinear_detail(f, df, parts)
        dropped = [v for v in dropped if v not in separating]
        if dropped:
            detail = "; ".join(p for p in detail.split("; ") if not any(p.startswith(f"{v} ") for v in separating))
            res.notes.append(f"{name or parts['depvar']}: dropped {', '.join(dropped)} ({detail}).")
    if model == "2sls":
        dropped_z = [z for z in instruments if z in {str(v) for v in (getattr(f, "_collin_vars_z", None) or [])}]
        if dropped_z:  # fixest: "The instrument 'x2' has been removed because of collinearity"; pyfixest: silent
            why = _absorbed_text({z: fe for z, fe in absorbed.items() if z in dropped_z}) or \
                "collinear with the other instruments and the exogenous regressors"
            kept = [z for z in instruments if z not in dropped_z]
            res.notes.append(f"The instrument{'s' if len(dropped_z) > 1 else ''} {', '.join(dropped_z)} "
                             f"({why}) left out, as fixest leaves {'them' if len(dropped_z) > 1 else 'it'} out; "
                             f"excluded instrument{'s' if len(kept) > 1 else ''}: {', '.join(kept)}.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res.stats.update(iv_diagnostics(f))
    res.notes += paper_warnings(f, df, parts, res, panel)
    res.notes += singleton_cluster_notes(f, res)
    return res


def singleton_cluster_notes(f, res: FitResult) -> list[str]:
    """A note per cluster variable of which every cluster holds one observation of the estimation sample (a
    cross-section clustered by city, ``--cluster`` on a row id): the cluster-robust variance is then the
    heteroskedasticity-robust one, ``G/(G−1)·(N−1)/(N−K) = N/(N−K)`` at G = N (HC1: the same standard
    errors); in two-way clusters ``A + B`` with A so, ``V_A − V_A∩B = 0`` and
    they are B's one-way clusters. pyfixest 0.60 and fixest say nothing; the numbers are kept, the note says it."""
    names = [str(c) for c in (getattr(f, "_clustervar", None) or [])] if "cluster" in res.vcov else []
    data = getattr(f, "_data", None)
    if not names or data is None or len(data) != res.nobs or res.nobs < 2:
        return []
    single = [c for c in names if c in data.columns and data[c].nunique(dropna=False) == res.nobs]
    if not single:
        return []
    if len(names) == 1:
        return [f"Every cluster of {names[0]} holds one observation ({res.nobs:,} clusters of one): these are "
                "heteroskedasticity-robust standard errors (the same as --vcov hc1's), not clustered ones."]
    rest = [c for c in names if c not in single]
    what = (f"the two-way clustered standard errors are those clustered by {rest[0]} alone" if rest else
            "these are heteroskedasticity-robust standard errors, not clustered ones")
    return [f"Every cluster of {' and of '.join(single)} holds one observation: {what}."]


_SINGLETONS = re.compile(r"(\d+) singleton fixed effect\(s\) dropped")  # pyfixest's warning (its count: observations)
COLLINEAR_RATIO = 1e-6  # residual / raw variance below which a regressor is flagged
FEW_CLUSTERS = 40  # Cameron, Gelbach & Miller (2008); Cameron & Miller (2015, §VI)
TRUNCATION_YEARS = 3  # invention grants take 2–4 years after filing


_LOG_OF = re.compile(r"(?<![\w.])(?:np\.)?log\(\s*([A-Za-z_]\w*)\s*\)")


def _log_warnings(df: pd.DataFrame, parts: dict[str, Any]) -> list[str]:
    """A ``log(x)`` term of a variable with zeros or negative values: those observations are −∞ or
    undefined and leave the fit (pyfixest drops them, as fixest does) — silently, unless said here.
    For a count with zeros the literature uses ln(1 + x) (the panel's ``ln_x``) or a Poisson model.

    >>> _log_warnings(pd.DataFrame({"y": [0, 1, 2, 0]}), {"depvar": "log(y)", "rhs": "x", "endog": None, "instr": None})
    ['Warning: log(y) is −∞ or undefined for the 2 of 4 observations with y ≤ 0, which the fit dropped; for a count with zeros use ln_y = ln(1 + y), or a Poisson model (--model ppml).']
    """
    text = " ".join(str(parts.get(k) or "") for k in ("depvar", "rhs", "endog", "instr"))
    out = []
    for name in dict.fromkeys(_LOG_OF.findall(text)):
        if name not in df.columns or not pd.api.types.is_numeric_dtype(df[name]):
            continue
        bad = int((df[name] <= 0).sum())
        if bad:
            out.append(f"Warning: log({name}) is −∞ or undefined for the {bad:,} of {len(df):,} observations with "
                       f"{name} ≤ 0, which the fit dropped; for a count with zeros use ln_{name} = ln(1 + {name}), "
                       "or a Poisson model (--model ppml).")
    return out


def paper_warnings(f, df: pd.DataFrame, parts: dict[str, Any], res: FitResult, panel: pd.DataFrame) -> list[str]:
    """Notes (prefixed "Warning:") that protect a paper: a regressor (nearly) collinear with the fixed effects
    (residual variance after demeaning below ``COLLINEAR_RATIO`` of its variance), a ``log`` of a variable
    with zeros (:func:`_log_warnings`), fewer than ~40 clusters,
    and a panel of granted patents by application year whose last years are right-truncated."""
    out: list[str] = []
    if parts["fe"] and res.model == "ols":  # PPML's stored design is weighted by the IRLS weights
        try:
            X = np.asarray(f._X, dtype=float)
            names = [str(c) for c in f._coefnames]
        except Exception:
            X, names = np.empty((0, 0)), []
        for j, v in enumerate(names):
            if v not in df.columns or not pd.api.types.is_numeric_dtype(df[v]) or X.shape[0] == 0:
                continue
            raw = float(np.nanvar(df[v].to_numpy(dtype=float)))
            resid = float(np.var(X[:, j]))
            if raw > 0 and resid / raw < COLLINEAR_RATIO:
                from citynet.metrics.labels import term_label

                label = term_label(v)  # the formula name after the label when it says more than the name
                name = v if label.replace(" ", "_").lower() == v.lower() else f"{label} ({v})"
                out.append(f"Warning: {name} is (nearly) collinear with the fixed effects {' + '.join(parts['fe'])}: "
                           f"its residual variance after demeaning is {resid:.3g} ({resid / raw:.1e} of its variance "
                           f"{raw:.3g}), so its coefficient rests on rounding-level variation; drop it or use a "
                           "measure that varies within cities over time.")
    out += _log_warnings(df, parts)
    g = res.stats.get("n_clusters")
    if g is not None and g < FEW_CLUSTERS:
        out.append(f"Warning: only {int(g)} clusters; cluster-robust standard errors over-reject with fewer than "
                   f"about {FEW_CLUSTERS} clusters — use the wild cluster bootstrap (Cameron, Gelbach & Miller 2008).")
    meta = panel.attrs.get("citynet") if hasattr(panel, "attrs") else None
    flt = (meta or {}).get("filter") or {}
    if flt.get("granted_only") and flt.get("year_basis", "application") == "application" and "year" in panel.columns:
        last = int(panel["year"].max())
        yrs = df["year"] if "year" in df.columns else panel["year"]
        if int(yrs.max()) > last - TRUNCATION_YEARS:
            out.append(f"Warning: the panel counts granted patents by application year; patents filed in "
                       f"{last - TRUNCATION_YEARS + 1}–{last} are mostly not granted yet at the data's date (right "
                       f"truncation), so counts fall in the last years. Restrict the sample "
                       f"(--sample 'year <= {last - TRUNCATION_YEARS}') or count all applications.")
    return out


#: the eigenvalue that replaces a covariance matrix's non-positive ones, and the change worth a note (fixest's)
POSDEF_FLOOR, POSDEF_NOTICEABLE = 1e-16, 1e-8


def posdef_fix(f) -> str | None:
    """Make the covariance matrix of a pyfixest fit positive definite as ``fixest`` does (``vcov.fixest``, always,
    whatever ``vcov_fix`` says): eigenvalues ≤ 0 become 1e-16 and the SEs, t, p-values and intervals are
    recomputed (Cameron, Gelbach & Miller 2011, §2.3, the multiway clustered matrix). A two-way clustered matrix
    (``A + B``: V_A + V_B − V_AB) is not positive semi-definite in finite samples; pyfixest keeps it, so its SEs
    differed from fixest's — every one, not only the coefficient of a negative direction. Returns the note when
    the change is noticeable (an element moves by more than 1e-8, fixest's threshold for its warning)."""
    V = np.asarray(getattr(f, "_vcov", np.empty((0, 0))), dtype=float)
    if V.ndim != 2 or not V.size or not np.isfinite(V).all():
        return None
    V = (V + V.T) / 2
    w, U = np.linalg.eigh(V)
    if (w > 0).all():
        return None
    fixed = (U * np.maximum(w, POSDEF_FLOOR)) @ U.T
    change = float(np.abs(V - fixed).max())
    f._vcov = fixed
    f.get_inference()
    if change <= POSDEF_NOTICEABLE:
        return None
    return (f"Warning: the {'two-way clustered ' if len(getattr(f, '_clustervar', None) or []) > 1 else ''}covariance "
            f"matrix was not positive semi-definite (smallest eigenvalue {w.min():.3g}); its eigenvalues ≤ 0 were set to "
            "1e-16 as fixest does (Cameron, Gelbach & Miller 2011), which changes the standard errors. With few clusters "
            "in one dimension, cluster one way (by the coarser), where the wild cluster bootstrap is available too.")


def ppml_pseudo_r2(f) -> float:
    """McFadden's pseudo R² of a (weighted) Poisson fit, ``1 − ℓ/ℓ₀``: ``ℓ = Σ wᵢ(yᵢ log μ̂ᵢ − μ̂ᵢ − log yᵢ!)``
    and ℓ₀ the same sum at the intercept-only fit ``μ₀ = Σwy/Σw`` on the fit's sample (w = 1 unweighted).
    Unweighted it is fixest's ``r2(fit, "pr2")`` (and pyfixest's ``_pseudo_r2``). Weighted, it is
    ``1 − logLik(fit)/logLik(fepois(y ~ 1, weights))`` from fixest, but not fixest's ``r2(fit, "pr2")``: fixest
    0.14.2 leaves the log-factorials of its closed-form ℓ₀ unweighted (femlm.R ``get_model_null``:
    ``s log(s/Σw) − s − Σ log yᵢ!``, ``s = Σwy``), so its weighted pseudo R² changes when the weights are
    rescaled and goes negative (−1.44 on the reference panel with weights of mean 5.2). pyfixest reports none
    for a weighted fit, which left the table cell blank. Checked against fixest in tests/test_conley_fixest.py."""
    from scipy.special import gammaln, xlogy

    try:  # pyfixest's Fepois: the outcome, the fitted means and the user's weights on the fit's rows
        y = np.asarray(f._Y_untransformed, dtype=float).ravel()
        mu = np.asarray(f._Y_hat_response, dtype=float).ravel()
        w = (np.asarray(f._data[f._weights_name], dtype=float).ravel() if getattr(f, "_has_weights", False)
             else np.ones_like(y))
    except (AttributeError, KeyError):
        pseudo = getattr(f, "_pseudo_r2", None)
        return float(pseudo) if pseudo is not None else np.nan
    if not len(y) == len(mu) == len(w) or w.sum() <= 0:
        return np.nan
    mu0 = np.sum(w * y) / np.sum(w)
    lfact = gammaln(y + 1)
    ll = float(np.sum(w * (xlogy(y, mu) - mu - lfact)))
    ll0 = float(np.sum(w * (xlogy(y, mu0) - mu0 - lfact)))
    return 1.0 - ll / ll0 if ll0 else np.nan


def to_result(f, model: str, vcov_label: str, fe: Sequence[str], name: str | None = None,
              depvar: str | None = None) -> FitResult:
    """A pyfixest fit as a FitResult (p-values and t reference distribution as pyfixest computes them), its
    covariance matrix made positive definite as fixest makes it (:func:`posdef_fix`, with a note)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fixed = posdef_fix(f)
    params = f.coef().astype(float)
    params.index = [str(i) for i in params.index]
    se = f.se().astype(float)
    se.index = params.index
    pv = f.pvalue().astype(float)
    pv.index = params.index
    st: dict[str, float] = {}
    r2 = adj = r2w = None
    if model == "ppml":
        st["pseudo_r2"] = ppml_pseudo_r2(f)
        st["deviance"] = float(np.asarray(getattr(f, "deviance", np.nan)).ravel()[0])
    elif getattr(f, "_is_iv", False):
        r2, adj, r2w = _second_stage_r2(f)
    else:
        r2, adj = float(f._r2), float(f._adj_r2)
        r2w = float(f._r2_within) if getattr(f, "_r2_within", None) is not None else None
    if getattr(f, "_G", None) and "cluster" in vcov_label:
        st["n_clusters"] = float(min(f._G))
    df_resid = getattr(f, "_df_t", None)
    if params.empty:  # y ~ 1 | fe (csw0's first column): the fixed effects alone, as fixest reports them
        r2, adj, df_resid = _fixed_effects_only_fit(f) if model != "ppml" else (None, None, np.nan)
        r2w = None
    return FitResult(
        depvar=depvar or str(f._depvar), params=params, se=se, pvalues=pv, nobs=int(f._N), model=model,
        r2=r2, adj_r2=adj, r2_within=r2w, fixed_effects=list(fe), vcov=vcov_label,
        df_resid=float(df_resid), stats=st, name=name, raw=f, notes=[fixed] if fixed else [],
    )


def second_stage_r2(Y: np.ndarray, X: np.ndarray, Z: np.ndarray, beta: np.ndarray, y_raw: np.ndarray, k: int,
                    within: bool = True, weights: np.ndarray | None = None) -> tuple[float, float, float | None]:
    """R², adjusted R² (``k`` parameters, the fixed effects' levels among them) and within R² (``within``: the
    fixed effects were absorbed) of a 2SLS fit as fixest reports them: those of the second stage, whose residuals
    are ``ỹ − X̂β`` with X̂ = P_Z X (``Y``, ``X``, ``Z``: demeaned; ``Z`` holds the exogenous regressors beside the
    instruments, which P_Z leaves as they are): R² = 1 − Σû²/Σ(y − ȳ)², within R² = 1 − Σû²/Σỹ². Stata's
    ivreghdfe reports the structural residuals' ``y − Xβ`` instead (higher).

    ``weights``: ``Y``, ``X``, ``Z`` are the weighted-demeaned columns times √w (pyfixest's), so Σû² and Σỹ² are
    weighted sums, and the total sum of squares is Σw(y − ȳ_w)², as a weighted OLS's R². fixest 0.14.2's ``r2()``
    of a weighted 2SLS divides the unweighted Σû² by these weighted sums instead (0.986 for 0.743 on the awkward
    panel, tests/test_references_awkward.py), a number no weighted regression has."""
    u = Y - Z @ np.linalg.lstsq(Z, X, rcond=None)[0] @ beta
    n, ssr = len(y_raw), float(u @ u)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    r2 = 1.0 - ssr / float((w * (y_raw - np.average(y_raw, weights=w)) ** 2).sum())
    return r2, 1.0 - (1.0 - r2) * (n - 1) / (n - k), 1.0 - ssr / float(Y @ Y) if within else None


def _second_stage_r2(f) -> tuple[float | None, float | None, float | None]:
    """:func:`second_stage_r2` of a pyfixest 2SLS fit (pyfixest gives NaN), k = coefficients + fixed-effect levels
    − (number of FE − 1); a weighted fit's sums weighted."""
    weighted = getattr(f, "_weights_name", None) is not None
    X = np.asarray(f._X, dtype=float)
    k_fe = getattr(f, "_k_fe", None)
    has_fe = k_fe is not None and len(k_fe) > 0
    k = X.shape[1] + (int(np.sum(k_fe)) - (len(k_fe) - 1) if has_fe else 1)
    return second_stage_r2(np.asarray(f._Y, dtype=float).ravel(), X, np.asarray(f._Z, dtype=float),
                           np.asarray(f._beta_hat, dtype=float).ravel(),
                           np.asarray(f._Y_untransformed, dtype=float).ravel(), k, within=has_fe,
                           weights=np.asarray(f._weights, dtype=float).ravel() if weighted else None)


def _fixed_effects_only_fit(f) -> tuple[float, float, float]:
    """R², adjusted R² and residual degrees of freedom of a model of fixed effects alone (pyfixest gives NaN):
    R² = 1 − Σû² / Σ(y − ȳ)²; the fixed effects count Σ levels − (number of FE − 1) parameters, as pyfixest
    counts them beside regressors (exact for one FE, and for two-way FE on a connected panel)."""
    u = np.asarray(f._u_hat, dtype=float).ravel()
    y = np.asarray(f._Y_untransformed, dtype=float).ravel()
    n = len(y)
    r2 = 1.0 - float(u @ u) / float(((y - y.mean()) ** 2).sum())
    k_fe = getattr(f, "_k_fe", None)
    k = int(np.sum(k_fe)) - (len(k_fe) - 1) if k_fe is not None and len(k_fe) else 1
    return r2, 1.0 - (1.0 - r2) * (n - 1) / (n - k), float(n - k)


def stepwise(panel: pd.DataFrame, depvar: str, blocks: Sequence[Sequence[str] | str], fe: str = "city_code + year",
             model: str = "ols", vcov: Any = None, names: Sequence[str] | None = None, **kw) -> list[FitResult]:
    """Cumulative columns: block 1, block 1+2, … (the papers' core → + controls → + policies)."""
    out, terms = [], []
    for i, b in enumerate(blocks):
        terms += _terms(b) if isinstance(b, str) else list(b)
        fml = f"{depvar} ~ {' + '.join(terms)}" + (f" | {fe}" if fe else "")
        out.append(fit(panel, fml, model=model, vcov=vcov, name=(names[i] if names else f"({i + 1})"), **kw))
    return out


# ------------------------------------------------------------------------------- IV diagnostics
def iv_diagnostics(f) -> dict[str, float]:
    """First-stage F, effective F and Kleibergen–Paap rk Wald statistics of a pyfixest IV fit."""
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if getattr(f, "_f_stat_1st_stage", None) is None:
            f.first_stage()
        out["first_stage_F"] = float(f._f_stat_1st_stage)
        out["first_stage_F_pvalue"] = float(f._p_value_1st_stage)
        try:
            f.IV_Diag()
            out["effective_F"] = float(f._eff_F)
        except Exception:
            pass
    m = f._model_1st_stage  # demeaned first-stage design: instruments + exogenous, and the endogenous
    names_z = [str(c) for c in m._coefnames]
    names_x = [str(c) for c in f._coefnames]
    excl = [i for i, c in enumerate(names_z) if c not in names_x]
    exog = [i for i, c in enumerate(names_z) if c in names_x]
    Z = np.asarray(m._X, dtype=float)
    X = np.asarray(m._Y, dtype=float).reshape(len(Z), -1)
    W = Z[:, exog]
    Zx = Z[:, excl]
    if not Zx.shape[1]:  # every instrument dropped as collinear: under-identified (a ZeroDivisionError here)
        raise AnalysisError("the 2SLS has no excluded instrument left: each is collinear with the fixed effects or the "
                            "exogenous regressors (a city-level instrument such as tier_high is absorbed by city fixed "
                            "effects), so the endogenous regressor is not identified", fix=NO_INSTRUMENT_FIX)
    if W.shape[1]:
        Zx = Zx - W @ np.linalg.lstsq(W, Zx, rcond=None)[0]
        X = X - W @ np.linalg.lstsq(W, X, rcond=None)[0]
    cl = None
    if getattr(f, "_is_clustered", False):
        cl = np.asarray(f._cluster_df.iloc[:, 0])
    vt = "cluster" if cl is not None else ("iid" if f._vcov_type == "iid" else "hetero")
    scale = float(np.asarray(m._ssc).ravel()[0])
    stat, dof = kleibergen_paap_rk(X, Zx, vcov=vt, clusters=cl, scale=scale)
    out["kp_rk_wald"] = stat
    out["kp_rk_pvalue"] = float(stats.chi2.sf(stat, dof))
    out["kp_rk_f"] = stat / Zx.shape[1]
    # fixest's p-value of the first-stage Wald F (fitstat ivwald): F(L, N − K), K its small-sample count of parameters
    # (fixed effects nested in the cluster left out); pyfixest's is χ²(L)'s (6.6e-25 for fixest's 5.2e-21)
    df2 = int(m._N) - int(getattr(m, "_df_k", Z.shape[1]))
    if df2 > 0:
        out["first_stage_F_pvalue"] = float(stats.f.sf(out["first_stage_F"], Zx.shape[1], df2))
    return out


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def kleibergen_paap_rk(X: np.ndarray, Z: np.ndarray, vcov: str = "hetero", clusters: np.ndarray | None = None,
                       scale: float | None = None) -> tuple[float, int]:
    """Kleibergen & Paap (2006) rk Wald statistic for H0: rank(Π) = K−1 in X = ZΠ + V.

    X (n×K) endogenous regressors and Z (n×L) excluded instruments, both already partialled of
    the exogenous regressors and fixed effects. Θ = F Π G⁻¹ with F'F = Z'Z, G'G = X'X (Cholesky);
    from the SVD Θ = USV', λ = (B ⊗ A') vec Θ for the last singular direction, and
    ``rk = λ' [(B ⊗ A') V_Θ (B ⊗ A')']⁻¹ λ`` ~ χ²(L−K+1), with V_Θ the robust (HC1 or CRV1)
    covariance of vec Θ (ranktest ``wald`` form; Kleibergen & Schaffer's ranktest for Stata).
    Small-sample factor ``scale``: that of the first-stage regression (pyfixest's: hetero
    (N−1)/(N−k)·N/(N−1), cluster G/(G−1)·(N−1)/(N−k), k counting non-nested FE levels; default:
    the no-FE value with k = L), so with K = 1 the statistic equals L × the robust first-stage F.
    """
    X = np.asarray(X, float).reshape(len(X), -1)
    Z = np.asarray(Z, float).reshape(len(Z), -1)
    n, K = X.shape
    L = Z.shape[1]
    ZZ = Z.T @ Z
    Pi = np.linalg.solve(ZZ, Z.T @ X)  # L×K
    V = X - Z @ Pi
    Fm = np.linalg.cholesky(ZZ).T  # upper, F'F = Z'Z
    Gm = np.linalg.cholesky(X.T @ X).T
    theta = Fm @ Pi @ np.linalg.inv(Gm)
    u, _, vt = np.linalg.svd(theta, full_matrices=True)
    if K == 1:
        a_qq = _sqrtm_psd(u @ u.T)
        b_qq = _sqrtm_psd(vt @ vt.T)
    else:
        u12, u22 = u[: K - 1, K - 1:], u[K - 1:, K - 1:]
        v12, v22 = vt[K - 1, : K - 1], vt[K - 1, K - 1]  # V = vt.T: v12 = V[:K-1, K-1]
        a_qq = np.vstack([u12, u22]) @ np.linalg.solve(u22, _sqrtm_psd(u22 @ u22.T))
        b_qq = np.sqrt(v22 * v22) / v22 * np.concatenate([v12, [v22]])[None, :]
    kronv = np.kron(b_qq, a_qq.T)
    lam = kronv @ theta.reshape(-1, order="F")
    # robust covariance of vec(Π): (I_K ⊗ (Z'Z)^-1) S (I_K ⊗ (Z'Z)^-1), S = Σ_g s_g s_g', s = vec(Z_g' V_g)
    zzi = np.linalg.inv(ZZ)
    if vcov == "iid":
        sig = V.T @ V / n * (scale if scale is not None else n / (n - L))
        v_pi = np.kron(sig, zzi)
    else:
        scores = np.concatenate([Z * V[:, [j]] for j in range(K)], axis=1)  # n × (L K), column-major vec
        if vcov == "cluster":
            codes, _ = pd.factorize(pd.Series(clusters))
            G = codes.max() + 1
            sg = np.zeros((G, scores.shape[1]))
            np.add.at(sg, codes, scores)
            meat = sg.T @ sg * (scale if scale is not None else G / (G - 1) * (n - 1) / (n - L))
        else:
            meat = scores.T @ scores * (scale if scale is not None else n / (n - L))
        bread = np.kron(np.eye(K), zzi)
        v_pi = bread @ meat @ bread
    A = np.kron(np.linalg.inv(Gm).T, Fm)  # vec(F Π G^-1) = (G^-T ⊗ F) vec Π
    v_theta = A @ v_pi @ A.T
    mid = kronv @ v_theta @ kronv.T
    stat = float(lam @ np.linalg.solve(np.atleast_2d(mid), lam))
    return stat, L - K + 1


def first_stage(res: FitResult, name: str | None = None) -> FitResult:
    """The first-stage regression of a 2SLS FitResult (from its pyfixest object) as a FitResult."""
    f = res.raw
    if getattr(f, "_model_1st_stage", None) is None:
        f.first_stage()
    m = f._model_1st_stage
    return to_result(m, model="ols", vcov_label=res.vcov, fe=res.fixed_effects, name=name or "First stage",
                     depvar=str(m._depvar))


# --------------------------------------------------------------------------------------- gravity
def gravity(dyads: pd.DataFrame, y: str = "collab", x: Sequence[str] = ("log_distance",),
            fe: str = "origin_year + dest_year", vcov: Any = None, origin: str = "city_a",
            dest: str = "city_b", name: str | None = None, sample: str | None = None) -> FitResult:
    """PPML gravity on the dyad-year panel: ``E[y_ijt] = exp(β'x_ij + o_it + d_jt [+ p_ij])``.

    ``fe`` is any of ``origin_year``, ``dest_year``, ``pair``, ``year`` joined by '+'; default
    vcov clusters by pair (Santos Silva & Tenreyro 2006; Yotov et al. 2016, *An Advanced Guide
    to Trade Policy Analysis*). With ``pair`` FE, time-invariant regressors such as
    ``log_distance`` are not identified (and raise the singular-design error). ``sample`` (a pandas
    query, ``citynet fit --sample``) keeps the dyad-years it selects before the fixed effects are built.
    """
    need = [y, *x, origin, dest, "year"]
    miss = [c for c in need if c not in dyads.columns]
    if miss:
        raise AnalysisError(f"gravity: the dyad panel has no {', '.join(miss)}",
                            fix=f"columns: {', '.join(map(str, dyads.columns))}")
    kept = apply_sample(dyads, sample)
    if not len(kept):
        years = f"; the panel's years are {int(dyads['year'].min())}–{int(dyads['year'].max())}" if len(dyads) else ""
        raise AnalysisError(f"the estimation sample is empty with --sample {sample!r}: 0 of {len(dyads):,} "
                            f"dyad-years{years}", fix="widen --sample")
    wanted = [f.strip() for f in fe.split("+") if f.strip()]
    unknown = [w for w in wanted if w not in GRAVITY_FIXED_EFFECTS]
    if unknown:
        raise AnalysisError(f"gravity: unknown fixed effect {unknown[0]!r}", fix="use origin_year, dest_year, pair, year")
    return gravity_formula(kept, f"{y} ~ {' + '.join(x)} | {' + '.join(wanted)}", vcov=vcov, name=name,
                           origin=origin, dest=dest)


#: the fixed effects of a gravity model: columns of the dyad-year panel (analysis.panel.add_dyad_keys) and the year
GRAVITY_FIXED_EFFECTS = ("origin_year", "dest_year", "pair", "year")


def gravity_formula(dyads: pd.DataFrame, formula: str, vcov: Any = None, name: str | None = None,
                    sample: str | None = None, weights: str | None = None, origin: str = "city_a",
                    dest: str = "city_b", sample_label: str | None = None) -> FitResult:
    """PPML of a gravity ``formula`` on the dyad-year panel (``citynet fit --panel dyad-year --model ppml``, a
    SPEC's ``gravity`` kind): its fixed effects ``origin_year``, ``dest_year``, ``pair`` are the panel's columns
    (made here when absent), its terms derived as any formula's (``l1_collab``, ``C(x)``); clustered by pair
    unless ``vcov`` says otherwise."""
    from citynet.analysis.panel import add_dyad_keys

    if not {"pair", "origin_year", "dest_year"} <= set(dyads.columns):
        dyads = add_dyad_keys(dyads, origin, dest)
    # no copy of the 850k-row frame and no stored data: ~20% faster on the full dyad panel
    res = fit(dyads, formula, model="ppml", vcov=vcov or "cluster:pair", name=name, sample=sample, weights=weights,
              engine_kw={"copy_data": False, "store_data": False}, sample_label=sample_label)
    res.notes.append("PPML gravity; FE: " + ", ".join(split_formula(formula)["fe"] or ["none"]))
    return res
