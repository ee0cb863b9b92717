"""Regression tables in the papers' layout, from any list of ``FitResult`` (ours or the spatial ones).

Layout (one column per model): coefficient with stars (*** p<0.01, ** p<0.05, * p<0.10), the
standard error in parentheses on the line below, then rows for the fixed effects (City FE / Year
FE / … : Yes or No), extra statistics, N and adjusted R² (R² or pseudo R² when there is no
adjusted one). ``Table`` renders Markdown, LaTeX (booktabs), CSV and HTML.

Variable names print through the one label table of the project (``metrics.labels.term_label``:
``l1_ln_gdp_per_capita`` → "ln GDP per capita (t−1)"); a spec's ``labels`` override it. Columns that are
not regressions of their own show no FE, N or R² rows of their own: the direct/indirect/total effects
of a spatial Durbin model (they share the SDM column's), Callaway–Sant'Anna (no two-way FE regression:
"—"), the placebo column (mean and SD of the placebo estimates, with the real estimate and the placebo
p-value as rows). p-values print as ``p < 0.001`` rather than ``0.000``.

Every table names the panels it was fitted on: inside ``with source_note(filter_note(meta)):`` (``citynet
fit SPEC`` sets it from the city-year panel's metadata) ``Table.write`` adds "Network filter KEY (in words);
panel FIRST–LAST." to the notes of the Markdown, LaTeX and HTML files. The CSV stays a plain grid (the
report and spreadsheets read it as data); its ``.json`` twin records ``network`` and ``panel_years``.
"""

from __future__ import annotations

import contextvars
import csv
import html
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from citynet.analysis.results import FitResult
from citynet.metrics.labels import term_label

FE_LABELS = {
    "city_code": "City FE", "city": "City FE", "year": "Year FE", "time": "Year FE",
    "origin_year": "Origin×year FE", "dest_year": "Destination×year FE", "pair": "Pair FE",
    "province_code": "Province FE", "province": "Province FE",
}
STAT_LABELS = {
    "kp_rk_f": "KP rk Wald F", "kp_rk_wald": "KP rk Wald", "first_stage_F": "First-stage F",
    "effective_F": "Effective F", "rho": "ρ", "lambda": "λ", "pseudo_r2": "Pseudo R²", "loglik": "Log-likelihood",
    "placebo_real": "Real estimate", "placebo_pvalue": "Placebo p (share |placebo| ≥ |real|)",
    "placebo_draws": "Placebo draws",
    # the referees' designs (analysis/designs.py)
    "att": "ATT (post periods)", "att_se": "ATT s.e.", "n_cohorts": "Treated cohorts",
    "cragg_donald_F": "Cragg–Donald Wald F", "kp_rk_pvalue": "KP rk Wald p-value", "n_endog": "Endogenous regressors",
    "n_instruments": "Excluded instruments", "partial_F": "Partial F (excluded instruments)",
    "shea_partial_r2": "Shea partial R²", "partial_r2": "Partial R²",
    "sigma_u": "σ_u (city effect)", "sigma_e": "σ_e (idiosyncratic)", "n_censored": "Censored observations",
    "left": "Censoring point", "n_groups": "Cities",
    "F_single": "F (single threshold)", "p_single": "Bootstrap p (single threshold)",
    "F_double": "F (double threshold)", "p_double": "Bootstrap p (double threshold)",
    "uniform_crit": "Uniform band critical value", "n_units": "Units",
    "wild_pvalue": "Wild cluster bootstrap p", "wild_ci_low": "Wild bootstrap CI, low",
    "wild_ci_high": "Wild bootstrap CI, high", "ri_pvalue": "Randomization inference p",
}
# statistics shown whenever a column has them (not only when a spec lists them)
AUTO_STATS = ("placebo_real", "placebo_pvalue", "placebo_draws")
P_STATS = {"placebo_pvalue", "pvalue", "p_value", "kp_rk_pvalue", "p_single", "p_double", "wild_pvalue",
           "ri_pvalue"}


GREEN_TEXT = {"wipo": "green by the WIPO IPC Green Inventory", "y02": "green by CPC Y02/Y04S",
              "all": "all technologies (no green condition)"}
KIND_TEXT = {"invention": "invention patents", "utility": "utility models", "design": "designs",
             "all": "patents of every kind"}


def filter_description(f: dict) -> str:
    """The network filter in words: "invention patents, green by the WIPO IPC Green Inventory, granted or not,
    by application year"."""
    if not f:
        return ""
    parts = [KIND_TEXT.get(str(f.get("kind")), f"kind {f.get('kind')}"),
             GREEN_TEXT.get(str(f.get("green")), f"green = {f.get('green')}")]
    basis = f.get("year_basis", "application")
    parts.append("granted only" if f.get("granted_only") or basis == "grant" else "granted or not")
    parts.append("by grant year" if basis == "grant" else "by application year")
    return ", ".join(parts)


def filter_note(meta: dict | None) -> str | None:
    """The table note naming a panel's network filter and span, from its metadata (``citynet metrics``
    writes ``network``, ``filter``, ``first_year``, ``last_year``): "Network filter invention.wipo.all
    (invention patents, …); panel 2006–2020."; None when the metadata is missing."""
    if not meta or not meta.get("network"):
        return None
    desc = filter_description(meta.get("filter") or {})
    note = f"Network filter {meta['network']}" + (f" ({desc})" if desc else "")
    if meta.get("first_year") is not None and meta.get("last_year") is not None:
        note += f"; panel {meta['first_year']}–{meta['last_year']}"
    return note + "."


_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("citynet_table_source", default=None)


@contextmanager
def source_note(note: str | None) -> Iterator[None]:
    """Within the block, every ``Table.write`` adds ``note`` (see :func:`filter_note`) to the table's notes."""
    token = _SOURCE.set(note)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def is_effect_column(r: FitResult) -> bool:
    """Direct/indirect/total effects of a spatial model: they share the estimating column's N, R² and FE."""
    return str(r.model).endswith("_effect")


def is_no_fe_estimator(r: FitResult) -> bool:
    """Estimators that are not a two-way FE regression (Callaway–Sant'Anna group-time ATTs)."""
    return str(r.model).startswith("cs_did")


def fmt_p(p: float | None) -> str:
    """A p-value for print: ``< 0.001`` below one in a thousand, else three decimals."""
    if p is None or not np.isfinite(p):
        return ""
    return "< 0.001" if p < 0.0005 else f"{p:.3f}"


def stars(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


def fmt_number(x: float | None, digits: int = 3, *, grouping: bool = False) -> str:
    """A number for print, the one rule of every table citynet writes (regression tables here; the report's
    descriptive statistics, network-year, churn, Moran and side tables through ``report._fmt``):

    - ``digits`` decimals (0.072, 0.407, 209.000);
    - a non-zero value that would print as 0 with ``digits`` decimals (a coefficient of GDP in yuan,
      0.000231; a density of 3.5e-05) gets ``digits`` significant digits instead — 0.000231 — and scientific
      notation below 1e-6 (2.31e-07): never ``0.000 (0.000)`` for a value that is not 0;
    - 100,000 or more in magnitude: no decimals (123457);
    - ``grouping``: thousands separated by commas (the report's HTML; the regression tables' LaTeX and CSV
      keep plain digits).

    Missing and infinite values are ``""`` (the caller prints its own mark)."""
    if x is None:
        return ""
    x = float(x)
    if not np.isfinite(x):
        return ""
    sep = "," if grouping else ""
    if abs(x) >= 1e5:
        return f"{x:{sep}.0f}"
    if x != 0 and abs(x) < 0.5 * 10 ** -digits:
        sig = max(digits, 1)
        if abs(x) < 1e-6:
            return f"{x:.{sig - 1}e}"
        return f"{x:.{sig - 1 - int(np.floor(np.log10(abs(x))))}f}"
    return f"{x:{sep}.{digits}f}"


_fmt = fmt_number  # (the name the table builders below use)


@dataclass
class Table:
    """A rendered table: a header row, body rows (label + one cell per model) and notes."""

    header: list[str]
    rows: list[list[str]]
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    n_coef_rows: int = 0  # rows belonging to coefficients (before the FE/statistics block)

    def __str__(self) -> str:
        return self.to_markdown()

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.header)

    def to_markdown(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|").replace("*", "\\*")

        out = []
        if self.title:
            out += [f"**{self.title}**", ""]
        out.append("| " + " | ".join(esc(h) for h in self.header) + " |")
        out.append("|" + "|".join([":---"] + [":---:"] * (len(self.header) - 1)) + "|")
        out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        if self.notes:
            out += [""] + [f"{esc(n)}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_latex(self) -> str:
        def tex(s: str) -> str:
            for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                         ("$", r"\$"), ("×", r"$\times$"), ("²", r"$^2$"), ("ρ", r"$\rho$"), ("λ", r"$\lambda$"),
                         ("θ", r"$\theta$"), ("δ", r"$\delta$")):
                s = s.replace(a, b)
            if s.endswith("*"):
                base = s.rstrip("*")
                s = f"{base}$^{{{'*' * (len(s) - len(base))}}}$"
            return s

        ncol = len(self.header) - 1
        lines = [r"\begin{table}[htbp]", r"\centering"]
        if self.title:
            lines.append(rf"\caption{{{tex(self.title)}}}")
        lines += [rf"\begin{{tabular}}{{l{'c' * ncol}}}", r"\toprule",
                  " & ".join(tex(h) for h in self.header) + r" \\", r"\midrule"]
        for i, r in enumerate(self.rows):
            if i == self.n_coef_rows and i > 0:
                lines.append(r"\midrule")
            lines.append(" & ".join(tex(c) for c in r) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if self.notes:
            lines.append(r"\par\footnotesize " + " ".join(tex(n) for n in self.notes))
        lines.append(r"\end{table}")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(self.header)
        w.writerows(self.rows)
        return buf.getvalue()

    def to_html(self) -> str:
        h = html.escape
        out = ['<table class="regression">']
        if self.title:
            out.append(f"<caption>{h(self.title)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{h(c)}</th>" for c in self.header) + "</tr></thead><tbody>")
        for i, r in enumerate(self.rows):
            cls = ' class="sep"' if i == self.n_coef_rows and i > 0 else ""
            out.append(f"<tr{cls}>" + "".join(f"<td>{h(c)}</td>" for c in r) + "</tr>")
        out.append("</tbody></table>")
        if self.notes:
            out.append("<p class=\"notes\">" + "<br>".join(h(n) for n in self.notes) + "</p>")
        return "\n".join(out) + "\n"

    def write(self, stem: str, formats: Sequence[str] = ("md", "tex", "csv", "html")) -> list[str]:
        """Write ``stem.md``, ``stem.tex``, ``stem.csv``, ``stem.html``; returns the paths. Inside
        :func:`source_note` the note naming the network filter is added to the notes of the written files.
        The CSV is UTF-8 with a byte order mark unless inside ``citynet.csvfile.csv_bom(False)``."""
        from pathlib import Path

        from citynet.csvfile import csv_encoding

        src = _SOURCE.get()
        t = replace(self, notes=[*self.notes, src]) if src and src not in self.notes else self
        paths = []
        render = {"md": t.to_markdown, "tex": t.to_latex, "csv": t.to_csv, "html": t.to_html}
        for f in formats:
            p = Path(f"{stem}.{f}")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(render[f](), encoding=csv_encoding() if f == "csv" else "utf-8")
            paths.append(str(p))
        return paths


def regression_table(
    results: Sequence[FitResult],
    *,
    labels: dict[str, str] | None = None,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    column_names: Sequence[str] | None = None,
    fe_labels: dict[str, str] | None = None,
    stats: Sequence[str] = (),
    digits: int = 3,
    title: str | None = None,
    notes: Sequence[str] | None = None,
    show_depvar: bool = True,
) -> Table:
    """Lay several models side by side (the layout of papers 001/002/004's tables).

    ``labels`` maps variable (and dependent-variable) names to printed labels; ``keep``/``drop``
    select coefficients (order: ``keep`` if given, else first appearance); ``stats`` adds rows from
    ``FitResult.stats`` (e.g. ``kp_rk_f``, ``rho``).
    """
    results = list(results)
    labels = dict(labels or {})
    fel = {**FE_LABELS, **(fe_labels or {})}
    names: list[str] = []
    for r in results:
        for v in r.params.index:
            if v not in names:
                names.append(v)
    if keep is not None:
        names = [k for k in keep if k in names]
    names = [n for n in names if n not in set(drop) and n != "Intercept"] + (
        ["Intercept"] if "Intercept" in names and "Intercept" not in drop and keep is None else [])
    header = [""] + [
        column_names[i] if column_names else (r.name or f"({i + 1})") for i, r in enumerate(results)
    ]
    rows: list[list[str]] = []
    if show_depvar:
        rows.append(["Dependent variable"] + [labels.get(r.depvar, term_label(r.depvar)) for r in results])
    for v in names:
        coef_row, se_row = [labels.get(v, "Constant" if v == "Intercept" else term_label(v))], [""]
        for r in results:
            if v in r.params.index and np.isfinite(r.params[v]):
                coef_row.append(_fmt(r.params[v], digits) + stars(float(r.pvalues[v])))
                se_row.append(f"({_fmt(r.se[v], digits)})" if np.isfinite(r.se[v]) else "")
            else:
                coef_row.append("")
                se_row.append("")
        rows += [coef_row, se_row]
    n_coef = len(rows)
    fe_all: list[str] = []
    for r in results:
        for f in r.fixed_effects:
            lab = fel.get(f, f"{f} FE")
            if lab not in fe_all:
                fe_all.append(lab)
    def fe_cell(r: FitResult, lab: str) -> str:
        if is_effect_column(r):
            return ""
        if is_no_fe_estimator(r):
            return "—"
        return "Yes" if lab in {fel.get(f, f"{f} FE") for f in r.fixed_effects} else "No"

    for lab in fe_all:
        rows.append([lab] + [fe_cell(r, lab) for r in results])
    shown = list(stats) + [s for s in AUTO_STATS if s not in stats and any(s in r.stats for r in results)]
    for s in shown:
        cells = []
        for r in results:
            v = r.stats.get(s)
            if s in P_STATS:
                cells.append(fmt_p(v))
            elif s == "placebo_draws":
                cells.append(f"{int(v):,}" if v is not None and np.isfinite(v) else "")
            else:
                cells.append(_fmt(v, digits))
        rows.append([STAT_LABELS.get(s, term_label(s))] + cells)
    rows.append(["N"] + ["" if is_effect_column(r) else f"{int(r.nobs):,}" for r in results])
    if any(r.adj_r2 is not None for r in results):
        rows.append(["Adj. R²"] + ["" if is_effect_column(r) else _fmt(r.adj_r2, digits) for r in results])
    other_r2 = [r for r in results if r.adj_r2 is None and not is_effect_column(r)
                and (r.r2 is not None or "pseudo_r2" in r.stats)]
    if other_r2:
        rows.append(["R² / pseudo R²"] + [
            "" if r.adj_r2 is not None or is_effect_column(r)
            else _fmt(r.r2 if r.r2 is not None else r.stats.get("pseudo_r2"), digits)
            for r in results])
    vc = sorted({r.vcov for r in results})
    default_notes = [
        "Standard errors in parentheses (" + "; ".join(_vcov_text(v) for v in vc) + ").",
        "*** p<0.01, ** p<0.05, * p<0.10.",
    ]
    model_notes = list(dict.fromkeys(n for r in results for n in r.notes))
    all_notes = (list(notes) if notes is not None else default_notes) + model_notes
    return Table(header=header, rows=rows, title=title, notes=all_notes,
                 n_coef_rows=n_coef)


def _vcov_text(v: str) -> str:
    if v.startswith("cluster:"):
        return f"clustered by {v.split(':', 1)[1]}"
    return {"hc1": "heteroskedasticity-robust (HC1)", "iid": "classical", "ml_information": "ML information matrix",
            "bootstrap": "bootstrap", "analytic": "analytic",
            "influence": "influence function of the estimator, by city (Callaway-Sant'Anna, as did)",
            "simulated": "effects: s.d. of simulated draws",
            "placebo": "placebo column: SD of the placebo estimates"}.get(v, v)
