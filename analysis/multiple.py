"""Multiple estimation: one formula that asks for several models, as fixest writes it.

fixest (and pyfixest) read stepwise functions in a formula and fit one model per step:

===================  ============================================  =====================================
``sw(a, b)``         each in turn                                  ``a``; ``b``
``sw0(a, b)``        none, then each in turn                       (none); ``a``; ``b``
``csw(a, b)``        cumulatively                                  ``a``; ``a + b``
``csw0(a, b)``       none, then cumulatively                       (none); ``a``; ``a + b``
``mvsw(a, b)``       every subset, smallest first                  (none); ``a``; ``b``; ``a + b``
===================  ============================================  =====================================

One stepwise function may stand among the regressors and one among the fixed effects; several dependent
variables are written ``c(y1, y2) ~ …`` (fixest) or ``y1 + y2 ~ …`` (pyfixest). The models are every
combination, in fixest's order (its vignette "Multiple estimations": fixed effects outermost, then the
dependent variables, then the regressors' steps; pyfixest's order too). Each model is then fitted alone,
so every check citynet makes of one formula applies to each.

A split sample (fixest's ``split`` / ``fsplit``; ``citynet fit --split region``) fits each model once per value of
a column, the samples outermost (:func:`split_samples`).

Source: Bergé, L. (2018), fixest's documentation "Multiple estimations" (``stepwise``); pyfixest's
``FixestMulti``, against which ``tests/test_multiple_estimation.py`` checks the coefficients.

Example::

    >>> expand("y ~ x0 + csw(x1, x2) | sw0(city_code)")
    ['y ~ x0 + x1', 'y ~ x0 + x1 + x2', 'y ~ x0 + x1 | city_code', 'y ~ x0 + x1 + x2 | city_code']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import combinations
from typing import Any

from citynet.errors import AnalysisError

STEPWISE = ("sw", "sw0", "csw", "csw0", "mvsw")
_CALL = re.compile(r"(?<![\w.])(" + "|".join(sorted(STEPWISE, key=len, reverse=True)) + r")\s*\(")
_LHS_C = re.compile(r"^c\s*\((.*)\)$", re.S)
FIX = "write one stepwise function among the regressors and one among the fixed effects, e.g. " \
      "'y ~ csw(x1, x2) | sw0(city_code + year)'"


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses, brackets, backquoted headers and quoted texts
    (``i(year, d, ref=2010), x`` → two; ```人口,万人``` → one; ``i(g, x, ref='a)b'), x`` → two)."""
    out, depth, start, quote = [], 0, 0, ""
    for k, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
            continue
        if ch in "`'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(text[start:k])
            start = k + 1
    out.append(text[start:])
    return [s.strip() for s in out]


def _closing(text: str, open_at: int) -> int:
    """The index of the parenthesis closing the one at ``open_at``."""
    depth, quote = 0, ""
    for k in range(open_at, len(text)):
        ch = text[k]
        if quote:
            quote = "" if ch == quote else quote
            continue
        quote = ch if ch in "`'\"" else ""
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return k
    raise AnalysisError(f"the formula part {text!r} has an unclosed parenthesis", fix=FIX)


def _steps(kind: str, args: list[str]) -> list[list[str]]:
    """The terms of each step of ``kind(args)``."""
    if kind in ("sw", "sw0"):
        return ([[]] if kind == "sw0" else []) + [[a] for a in args]
    if kind in ("csw", "csw0"):
        return ([[]] if kind == "csw0" else []) + [args[:k] for k in range(1, len(args) + 1)]
    return [list(c) for k in range(len(args) + 1) for c in combinations(args, k)]  # mvsw


def _expand_part(part: str, where: str) -> list[str]:
    """The versions of one part of a formula (its regressors or its fixed effects), one per step."""
    calls = list(_CALL.finditer(part))
    if not calls:
        return [part]
    if len(calls) > 1:
        names = ", ".join(f"{m.group(1)}()" for m in calls)
        raise AnalysisError(f"the {where} of the formula hold {len(calls)} stepwise functions ({names}); fixest "
                            "allows one per part", fix=FIX)
    m = calls[0]
    close = _closing(part, m.end() - 1)
    args = [a for a in _split_top(part[m.end():close], ",") if a]
    if not args:
        raise AnalysisError(f"{m.group(1)}() in the {where} of the formula has no terms", fix=FIX)
    if _CALL.search(part[m.end():close]):
        raise AnalysisError(f"a stepwise function inside {m.group(1)}() cannot be read", fix=FIX)
    fixed = [t for t in _split_top(part[:m.start()] + part[close + 1:], "+") if t]
    before = len([t for t in _split_top(part[:m.start()], "+") if t])
    out = []
    for step in _steps(m.group(1), args):
        terms = fixed[:before] + step + fixed[before:]
        out.append(" + ".join(terms))
    return out


def _lhs(text: str) -> list[str]:
    """The dependent variables: ``c(y1, y2)``, ``y1 + y2`` or one name."""
    m = _LHS_C.match(text.strip())
    if m:
        names = [a for a in _split_top(m.group(1), ",") if a]
    else:
        names = [a for a in _split_top(text, "+") if a]
    if _CALL.search(text):
        raise AnalysisError("a stepwise function on the left of '~' cannot be read: several dependent variables "
                            "are written c(y1, y2) ~ …", fix=FIX)
    return names or [text.strip()]


def expand(formula: str) -> list[str]:
    """The single-model formulas that ``formula`` stands for (itself when it asks for one model)."""
    parts = _split_top(formula, "|")
    if "~" not in parts[0] or not _CALL.search(formula) and not _multi_lhs(parts[0]):
        return [formula]
    depvars_text, rhs = parts[0].split("~", 1)
    iv = parts[-1] if len(parts) > 1 and "~" in parts[-1] else None
    middle = parts[1:-1] if iv is not None else parts[1:]
    if iv is not None and _CALL.search(iv):
        raise AnalysisError("a stepwise function in the instruments' part of the formula cannot be read",
                            fix="write one formula per instrument set (a SPEC of several models)")
    if len(middle) > 1:
        return [formula]  # not a formula citynet reads: the single-model checks say why
    rhs_versions = _expand_part(rhs.strip(), "regressors")
    fe_versions = _expand_part(middle[0], "fixed effects") if middle else [None]
    out = []
    for fe in fe_versions:
        for y in _lhs(depvars_text):
            for x in rhs_versions:
                text = f"{y} ~ {x or '1'}" + (f" | {fe}" if fe else "") + (f" | {iv}" if iv is not None else "")
                out.append(text)
    return out


def _multi_lhs(lhs_and_rhs: str) -> bool:
    """True when the left of '~' names several dependent variables."""
    left = lhs_and_rhs.split("~", 1)[0]
    return len(_lhs(left)) > 1


def refuse(formula: str, where: str) -> None:
    """Stop with one message when ``formula`` asks for several models where one is fitted (``where``)."""
    models = expand(formula)
    if len(models) > 1:
        raise AnalysisError(f"the formula {formula!r} asks for {len(models)} models (multiple estimation), and "
                            f"{where} fits one", fix="write one formula per model: " + "; ".join(repr(m) for m in models))


MAX_SPLIT_VALUES = 20


def split_samples(panel, column: str, sample: str | None = None, full: bool = False) -> list[tuple[str, str | None]]:
    """fixest's ``split`` (``fsplit``: the full sample first): one sample per value of ``column``, as (label,
    pandas query joined to ``sample``). The values in sorted order; missing values form no sample. As fixest, the
    values are those of the rows ``sample`` keeps (fixest subsets the split variable before it takes its values:
    ``fixest_env``, ``split = split[subset]``): ``--split year --sample 'year > 2018'`` is two models, not one per
    year of the panel with every other empty. A sample that keeps no row leaves the panel's values, so that each
    model says so."""
    import pandas as pd
    from citynet.analysis.sample import apply_sample

    kept = apply_sample(panel, sample) if sample else panel
    values = sorted(pd.unique((kept if len(kept) else panel)[column].dropna()), key=lambda v: (str(type(v)), v))
    if len(values) > MAX_SPLIT_VALUES:
        raise AnalysisError(f"--split {column}: {len(values):,} values, a model for each", fix=f"split by a column of at "
                            f"most {MAX_SPLIT_VALUES} values (region, tier, tier_high), or restrict with --sample")
    out: list[tuple[str, str | None]] = [("Full sample", sample)] if full else []
    for v in values:
        v = v.item() if hasattr(v, "item") else v
        query = f"`{column}` == {v!r}"
        label = v if isinstance(v, str) else f"{column} = {v}"  # east; tier_high = 1
        out.append((label, f"({sample}) and ({query})" if sample else query))
    return out


def split_labels(samples: list[tuple[str, str | None]], column: str, written: str,
                 sample: str | None = None) -> dict[str | None, str]:
    """``{query: how the messages name it}`` for the split samples of :func:`split_samples` (not the full sample),
    as the user wrote the split (``written``: ``--split year``, ``split = 'year'``): ``--split year (year = 2006)``,
    ``--split region (region = 'east')``, and ``and --sample 'Q'`` with the user's own sample."""
    out = {}
    for label, where in samples:
        if label != "Full sample":  # east; tier_high = 1 (split_samples' column names)
            value = label if label.startswith(f"{column} = ") else f"{column} = {label!r}"
            out[where] = f"{written} ({value})" + (f" and --sample {sample!r}" if sample else "")
    return out


def models(formulas: list[str], samples: list[tuple[str | None, str | None]], name: str | None = None):
    """``(formula, sample query, column name)`` of every model: each sample (``(label, query)``, from
    :func:`split_samples`, or ``[(None, query)]``) with each formula, the samples outermost (fixest's order). A
    column is named ``name`` and the sample's label, numbered when one formula gave several models."""
    out = []
    for label, where in samples:
        base = " ".join(t for t in (name, label) if t) or None
        for k, f in enumerate(formulas, start=1):
            out.append((f, where, base if len(formulas) == 1 else f"{base} ({k})" if base else f"({k})"))
    return out


def fit_each(planned: list[tuple[str, str | None, str | None]], fit_one: Callable[[str, str | None, str | None], Any],
             panel: Any, labels: dict[str | None, str] | None = None) -> list:
    """Fit every planned model (``(formula, sample query, column name)`` from :func:`models`) with ``fit_one``.

    In a multiple estimation, a model that the data cannot identify (one :class:`AnalysisError` of its own: an
    instrument or a regressor absorbed by that model's fixed effects, a split sample too small, a constant
    outcome …) leaves its column out; the others are fitted, and the table's notes (and, from ``citynet fit``,
    standard error) say which column was not fitted and why. A mistake in a formula's text (an unknown column, a
    syntax error) stops before any fit, and so does a multiple estimation none of whose models can be fitted.
    ``labels`` names a sample query as the user wrote it (``--split year (year = 2006)``, not ```year` == 2006``)."""
    if len(planned) == 1:
        return [fit_one(*planned[0])]
    from citynet.analysis.formula import prepare

    no_rows = panel.iloc[:0]  # every formula's names and syntax before any fit, without copying the panel's rows
    for formula in dict.fromkeys(f for f, _, _ in planned):  # (each fit prepares its own copy)
        prepare(no_rows, formula)
    results, skipped = [], []
    for formula, where, column in planned:
        try:
            results.append(fit_one(formula, where, column))
        except AnalysisError as exc:
            skipped.append((formula, where, column, exc))
    if not results:
        raise skipped[0][3]
    for formula, where, column, exc in skipped:
        sample = f" on {labels[where]}" if where in (labels or {}) else f" on the sample {where}" if where else ""
        results[-1].notes.append(f"Warning: column {column or formula} was not fitted ({formula}{sample}): "
                                 f"{exc.message.rstrip('.')}.")
    return results
