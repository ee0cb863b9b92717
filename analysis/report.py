"""``citynet report``: one self-contained HTML file from a workspace.

Sections (each says which file and which filter its numbers come from):

1. Data quality — ``reports/ingest.json``: rows read / loaded / quarantined per input file, quarantine
   reasons, applicant location methods and rates.
2. Descriptive statistics in the layout of paper 001 table 2 (variable, symbol, label, N, mean, SD,
   min, max) — ``metrics/city_year.parquet`` (all city-years) joined with ``canonical/covariates.parquet``.
3. Partner churn of one city (paper 001 table 1): Cn, Xn, Zn, Tn, Xn/Cn, Zn/Cn, Tn/C(n−1) (partners
   exited over the previous year's partners).
4. Collaboration network maps of two years — ``metrics/dyad_year.parquet`` (``collab > 0``) on maps of
   China (``analysis.maps``: Albers projection, province boundaries, South China Sea inset), edge width
   on one scale shared by both years; and a choropleth of the degree centrality of the last year.
5. Network-year time series — ``metrics/network_year.parquet``, small multiples by statistic.
6. Regression tables — every ``results/<table>.json`` written by ``citynet fit`` (its ``.html`` twin),
   and every side table (``results/*.csv`` that is not a regression table: group-time ATTs, PSM balance …).
7. Event-study and placebo figures — the PNGs ``citynet fit`` writes (found through their side files).
8. Spatial autocorrelation — always the table of Moran's I values: the spec's ``results/*moran*.csv``
   with its figures when a spec wrote them, otherwise global Moran's I per year of ln(1+green_patents) with
   row-standardised inverse-distance W and Moran scatter plots of two years.

Everything is embedded: figures as base64 PNG (matplotlib, Agg backend), CSS inline, no script and no
external resource. A missing input gives a visible "not available: run `citynet …`" note; the file is
still valid HTML. Figures carry Chinese names in Noto Sans SC (``analysis.fonts``, installed with
citynet). p-values print as "< 0.001" below one in a thousand.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.analysis.tables import GREEN_TEXT, KIND_TEXT, filter_description  # noqa: F401 - the tables' wording

from citynet.errors import AnalysisError, UserError

CHURN_COLUMNS = ("collab_partners", "partners_continuing", "partners_new", "partners_exited")

# Paper 001 table 2: the panel's main variables (outcomes and margins, then network position), then
# the log outcomes the regressions use, then every covariate found in canonical/covariates.parquet.
DESCRIPTIVE_VARS = (
    "green_patents", "collab_patents", "collab_partners", "collab_intensity", "collab_degree",
    "collab_betweenness", "transfers_out", "transfers_in", "transfers_local", "transfer_partners_out",
    "transfer_intensity_out", "transfer_outdegree", "transfer_indegree", "transfer_betweenness",
    "citations_made", "citations_received",
)
LOG_VARS = ("green_patents", "collab_patents", "collab_partners", "collab_intensity", "transfers_out")
NETWORK_STATS = (
    ("density", "density"), ("mean_degree", "mean degree"), ("giant_share", "giant-component share"),
    ("clustering", "clustering (transitivity)"), ("edges", "edges"), ("nodes", "cities with edges"),
)
NETWORK_COLORS = {"collab": "#1f4e79", "transfer": "#c55a11", "citation": "#548235"}
MAX_MAP_EDGES = 600

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC",
"Microsoft YaHei",sans-serif;max-width:1200px;margin:0 auto;padding:1.5em 2em;color:#222;line-height:1.45;
background:#fff}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #1f4e79;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em}
.meta{color:#555;font-size:.92em}
.source{color:#555;font-size:.88em;background:#f5f7fa;border-left:3px solid #9dc3e6;padding:.35em .7em}
.na{background:#fff4e5;border-left:4px solid #e69138;padding:.5em .8em;color:#7a4a00}
.na code,.source code{background:#fff;padding:0 .2em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em}
th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right;vertical-align:top}
th{background:#eef2f7;border-bottom:2px solid #1f4e79}
td:first-child,th:first-child{text-align:left}
td.t,th.t{text-align:left}
table.regression td:first-child{white-space:nowrap}
table.regression tr.sep td{border-top:2px solid #999}
caption{caption-side:top;text-align:left;font-weight:bold;padding:.3em 0}
.scroll{overflow-x:auto}
figure{margin:.8em 0 1.2em}figure img{max-width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:.88em;color:#444;margin-top:.3em}
.row{display:flex;flex-wrap:wrap;gap:1.2em}.row figure{flex:1 1 500px;min-width:0}
nav.toc{background:#f5f7fa;padding:.6em 1.2em;border-radius:4px}nav.toc ol{margin:.3em 0}
.notes{font-size:.85em;color:#444}
"""


# --------------------------------------------------------------------------------------------------------------
# small helpers


def esc(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def cjk_font() -> str:
    """The matplotlib family that draws Chinese (Noto Sans SC, registered by ``analysis.fonts``)."""
    from citynet.analysis.fonts import use_cjk_font

    return use_cjk_font()


def fmt_p(p) -> str:
    """A p-value for print: "< 0.001" below one in a thousand, else three decimals; "–" when missing."""
    from citynet.analysis.tables import fmt_p as _f

    try:
        out = _f(float(p))
    except (TypeError, ValueError):
        return "–"
    return out or "–"


def fig_to_data_uri(fig, dpi: int = 110) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_to_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _fmt(x, digits: int = 3) -> str:
    """A value for the report: "–" when missing, integers (and whole floats of 1,000 or more) with thousands
    separators, every other number by the one rule of the regression tables (``tables.fmt_number``:
    ``digits`` decimals, significant digits where those would print a non-zero value as 0, none from
    100,000 up), so a statistic prints alike in every section and in the tables ``citynet fit`` writes."""
    from citynet.analysis.tables import fmt_number

    if x is None or (isinstance(x, float) and not math.isfinite(x)) or x is pd.NA:
        return "–"
    try:
        if pd.isna(x):
            return "–"
    except (TypeError, ValueError):
        pass
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    xf = float(x)
    if xf.is_integer() and abs(xf) >= 1000:
        return f"{int(xf):,}"
    return fmt_number(xf, digits, grouping=True) or "–"


def fmt_stat(x) -> str:
    """A descriptive statistic (Table 2): :func:`_fmt` with three decimals — 0.407, 0.0123 as 0.012, the
    demo's transfer_betweenness max 0.000231 as 0.000231 (not 0.000), its mean 4.4e-7 as 4.40e-07."""
    return _fmt(x, 3)


def html_table(rows: Sequence[Sequence], header: Sequence[str], *, caption: str | None = None,
               left: int = 1, cls: str = "") -> str:
    """An HTML table; the first ``left`` columns are left-aligned text, the rest right-aligned numbers."""
    out = [f'<div class="scroll"><table class="{esc(cls)}">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th class="{"t" if i < left else ""}">{h if isinstance(h, _Raw) else esc(h)}</th>'
        for i, h in enumerate(header)) + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(
            f'<td class="{"t" if i < left else ""}">{c if isinstance(c, _Raw) else esc(c)}</td>'
            for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def figure_html(uri: str, caption: str, fig_id: str, alt: str | None = None) -> str:
    return (f'<figure id="{esc(fig_id)}"><img src="{uri}" alt="{esc(alt or caption)}" data-figure="{esc(fig_id)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def not_available(what: str, command: str) -> str:
    return (f'<p class="na"><strong>Not available:</strong> {esc(what)} — run <code>{esc(command)}</code> '
            "and then <code>citynet report</code> again.</p>")


def source(text: str) -> str:
    """``text`` may hold <code> markup made by this module only."""
    return f'<p class="source"><strong>Source:</strong> {text}</p>'


def code(x) -> str:
    return f"<code>{esc(x)}</code>"


# --------------------------------------------------------------------------------------------------------------
# inputs


@dataclass
class Inputs:
    ws: object
    ingest: dict | None = None
    city_year: pd.DataFrame | None = None
    dyad_year: pd.DataFrame | None = None
    network_year: pd.DataFrame | None = None
    cities: pd.DataFrame | None = None
    covariates: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)  # panel name -> the file read (metrics/<filter key>/NAME.parquet)

    @property
    def wsarg(self) -> str:
        return str(self.ws.root)

    def cite(self, name: str) -> str:
        """The panel file ``name`` the numbers come from, as ``<code>`` relative to the workspace: the --network
        filter's own ``metrics/<key>/…`` (``metrics/NAME.parquet`` holds the default filter's panels only)."""
        path = self.paths.get(name)
        if path is None:
            return code(f"metrics/{name}.parquet")
        try:
            rel = Path(path).resolve().relative_to(Path(self.ws.root).resolve()).as_posix()
        except ValueError:
            rel = str(path)
        return code(rel)


def read_inputs(ws) -> Inputs:
    from citynet.metrics.pipeline import read_panel

    inp = Inputs(ws=ws)
    p = ws.reports / "ingest.json"
    if p.exists():
        inp.ingest = json.loads(p.read_text(encoding="utf-8"))
    for name in ("city_year", "dyad_year", "network_year"):
        path = ws.panel(name)
        inp.paths[name] = path
        if path.exists():
            df = read_panel(path)
            if "city_code" in df.columns:
                df["city_code"] = df["city_code"].astype(str)
            for c in ("city_a", "city_b"):
                if c in df.columns:
                    df[c] = df[c].astype(str)
            setattr(inp, name, df)
            if not inp.meta:
                inp.meta = dict(df.attrs.get("citynet", {}))
    cp = ws.table("cities")
    if cp.exists():
        inp.cities = pd.read_parquet(cp)
    else:
        from citynet.etl.cities import city_set

        inp.cities = city_set().cities.copy()
    inp.cities["city_code"] = inp.cities["city_code"].astype(str)
    cov = ws.canonical / "covariates.parquet"
    if cov.exists():
        inp.covariates = pd.read_parquet(cov)
        inp.covariates["city_code"] = inp.covariates["city_code"].astype(str)
    return inp


def city_name(cities: pd.DataFrame, code: str) -> str:
    row = cities.loc[cities["city_code"] == str(code)]
    return str(row["name_zh"].iloc[0]) if len(row) else str(code)


def resolve_city(cities: pd.DataFrame, text: str) -> str:
    """A city code from a code (``110000``), a full name (``北京市``) or a short name (``北京``)."""
    t = str(text).strip()
    c = cities.assign(city_code=cities["city_code"].astype(str))
    if t in set(c["city_code"]):
        return t
    for col in ("name_zh", "short_name"):
        if col in c.columns:
            hit = c.loc[c[col].astype(str) == t, "city_code"]
            if len(hit) == 1:
                return str(hit.iloc[0])
    stripped = t.rstrip("市")
    if stripped and "short_name" in c.columns:
        hit = c.loc[c["short_name"].astype(str) == stripped, "city_code"]
        if len(hit) == 1:
            return str(hit.iloc[0])
    hit = c.loc[c["name_zh"].astype(str).str.startswith(stripped), "city_code"] if stripped else []
    if len(hit) == 1:
        return str(hit.iloc[0])
    if len(hit) > 1:
        names = ", ".join(c.loc[c["city_code"].isin(hit), "name_zh"].astype(str).head(8))
        raise UserError(f"city {text!r} is ambiguous: {names}", fix="pass the 6-digit city code")
    raise UserError(f"city {text!r} is not in the city set",
                        fix="pass a 6-digit city code (e.g. 110000) or a name (e.g. 北京 / 北京市)")


def default_city(city_year: pd.DataFrame) -> str:
    """The city with the most collaboration partners in the last panel year (ties: more co-patents, lower code)."""
    last = city_year.loc[city_year["year"] == city_year["year"].max()]
    by = ["collab_partners"] + (["collab_patents"] if "collab_patents" in last.columns else [])
    last = last.sort_values(by + ["city_code"], ascending=[False] * len(by) + [True])
    return str(last["city_code"].iloc[0])


# --------------------------------------------------------------------------------------------------------------
# sections


@dataclass
class Section:
    id: str
    title: str
    body: str
    available: bool = True


def section_quality(inp: Inputs) -> Section:
    cmd = f"citynet ingest -w {inp.wsarg} FILE..."
    if not inp.ingest:
        return Section("quality", "1. Data quality", not_available("the ingest report reports/ingest.json", cmd), False)
    rep = inp.ingest
    parts = [source(f"{code('reports/ingest.json')} (written by {code('citynet ingest')}, "
                    f"{esc(rep.get('generated', 'time unknown'))}); every rejected row is in "
                    f"{code('quarantine/*.csv')} with file, row, reason and raw fields.")]
    files = rep.get("files", [])
    rows = [[Path(f.get("file", "?")).name, f.get("kind", ""), f.get("encoding", ""), _fmt(f.get("rows_read")),
             _fmt(f.get("rows_loaded")), _fmt(f.get("rows_quarantined")),
             "yes" if f.get("balanced", f.get("rows_read") == (f.get("rows_loaded", 0) + f.get("rows_quarantined", 0)))
             else "NO"] for f in files]
    tot = rep.get("totals", {})
    if tot:
        rows.append(["total", "", "", _fmt(tot.get("rows_read")), _fmt(tot.get("rows_loaded")),
                     _fmt(tot.get("rows_quarantined")), ""])
    parts.append(html_table(rows, ["file", "kind", "encoding", "rows read", "loaded", "quarantined",
                                   "read = loaded + quarantined"], caption="Rows per input file", left=3))
    reasons = sorted({r for f in files for r in f.get("quarantined_by_reason", {})})
    if reasons:
        rrows = [[Path(f.get("file", "?")).name] + [_fmt(f.get("quarantined_by_reason", {}).get(r, 0)) for r in reasons]
                 for f in files]
        parts.append(html_table(rrows, ["file"] + reasons, caption="Quarantined rows by reason code"))
    else:
        parts.append("<p>No row was quarantined.</p>")
    app = rep.get("applicants", {})
    if app.get("located_by"):
        share = app.get("located_by_share", {})
        n = app.get("count") or sum(app["located_by"].values())
        lrows = [[k, _fmt(v), f"{100 * share.get(k, v / n if n else 0):.1f}%"] for k, v in
                 sorted(app["located_by"].items(), key=lambda kv: -kv[1])]
        lrows.append(["all applicants", _fmt(n), "100.0%"])
        parts.append(html_table(lrows, ["located by", "applicants", "share"],
                                caption="Applicant location method (address → corpus → name → province only / "
                                        "foreign / unresolved)"))
        extra = []
        if "located_share" in app:
            extra.append(f"applicants located to a city: <strong>{100 * app['located_share']:.1f}%</strong>")
        pa = rep.get("patent_applicants", {})
        if "located_share" in pa:
            extra.append(f"patent–applicant links with a city: <strong>{100 * pa['located_share']:.1f}%</strong>")
        if "first_applicant_located_share" in pa:
            extra.append(f"first applicants with a city: <strong>{100 * pa['first_applicant_located_share']:.1f}%</strong>")
        if extra:
            parts.append("<p>" + "; ".join(extra) + ".</p>")
    pat = rep.get("patents", {})
    if pat:
        bits = [f"patents loaded: <strong>{_fmt(pat.get('count'))}</strong>"]
        if pat.get("by_kind"):
            bits.append("by kind: " + ", ".join(f"{esc(k)} {_fmt(v)}" for k, v in pat["by_kind"].items()))
        for k, lab in (("granted", "granted"), ("green_wipo", "green (WIPO IPC Green Inventory)"), ("y02", "CPC Y02/Y04S")):
            if k in pat:
                bits.append(f"{lab} {_fmt(pat[k])}")
        if pat.get("years"):
            bits.append(f"application years {esc(pat['years'][0])}–{esc(pat['years'][-1])}")
        tr, ci = rep.get("transfers", {}), rep.get("citations", {})
        if tr:
            bits.append(f"transfers {_fmt(tr.get('count'))} ({_fmt(tr.get('both_cities_known'))} with both cities known)")
        if ci:
            bits.append(f"citations {_fmt(ci.get('count'))} ({_fmt(ci.get('in_corpus'))} inside the corpus, "
                        f"{_fmt(ci.get('foreign'))} foreign)")
        parts.append("<p>" + "; ".join(bits) + ".</p>")
    return Section("quality", "1. Data quality", "\n".join(parts))


def _filter_text(inp: Inputs) -> str:
    m = inp.meta
    if not m:
        return "network filter unknown"
    txt = f"network filter {code(m.get('network', '?'))}"
    desc = filter_description(m.get("filter") or {})
    if desc:
        txt += f" ({esc(desc)})"
    return txt


def _panel_span(df: pd.DataFrame) -> str:
    yrs = sorted(df["year"].unique())
    return f"{df['city_code'].nunique():,} cities × {yrs[0]}–{yrs[-1]} ({len(df):,} city-years)"


def descriptive_table(city_year: pd.DataFrame, covariates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Paper 001 table 2: variable, symbol, Chinese and English label, N, mean, SD, min, max."""
    from citynet.metrics.labels import LABELS, column_label, term_label

    df = city_year
    rows = []

    def add(name, values, symbol, zh, en):
        v = pd.to_numeric(values, errors="coerce").astype(float).dropna()
        rows.append({"variable": name, "symbol": symbol, "label_zh": zh, "label_en": en, "N": len(v),
                     "mean": v.mean() if len(v) else np.nan, "sd": v.std(ddof=1) if len(v) > 1 else np.nan,
                     "min": v.min() if len(v) else np.nan, "max": v.max() if len(v) else np.nan})

    flt = ((df.attrs.get("citynet") or {}).get("filter")) or None
    for c in DESCRIPTIVE_VARS:
        if c in df.columns:
            lab = column_label(c, flt)  # (green_patents: the patents of the panel's filter)
            add(c, df[c], lab.symbol if lab else "", lab.zh if lab else "", lab.en if lab else c)
    for c in LOG_VARS:
        if c in df.columns:
            lab = column_label(c, flt)
            sym = f"ln {lab.symbol}" if lab and lab.symbol else f"ln {c}"
            add(f"ln_{c}", np.log1p(df[c].astype(float)), sym, f"ln(1+{lab.symbol if lab else c})",
                f"ln(1 + {c})")
    if covariates is not None and len(covariates):
        keys = ["city_code", "year"]
        merged = df[keys].merge(covariates, on=keys, how="left")
        for c in covariates.columns:
            if c in keys or not pd.api.types.is_numeric_dtype(covariates[c]):
                continue
            lab = LABELS.get(c)
            add(c, merged[c], lab.symbol if lab else "", lab.zh if lab else "", lab.en if lab else term_label(c))
    return pd.DataFrame(rows)


def section_descriptive(inp: Inputs) -> Section:
    title = "2. Descriptive statistics (paper 001, table 2 layout)"
    if inp.city_year is None:
        return Section("descriptive", title, not_available("the city-year panel", f"citynet metrics -w {inp.wsarg}"),
                       False)
    t = descriptive_table(inp.city_year, inp.covariates)
    src = (f"{inp.cite('city_year')}, every row ({_panel_span(inp.city_year)}), {_filter_text(inp)}; "
           "labels from <code>metrics/labels.py</code>; ln variables are ln(1+x).")
    if inp.covariates is not None:
        src += (f" Covariates: {code('canonical/covariates.parquet')} joined on city_code and year "
                "(N counts the city-years with a value).")
    else:
        src += " No covariates (<code>citynet ingest --covariates FILE</code> adds them)."
    rows = [[_Raw(code(r.variable)), r.symbol, r.label_zh, r.label_en, _fmt(int(r.N)),
             fmt_stat(r["mean"]), fmt_stat(r.sd), fmt_stat(r["min"]), fmt_stat(r["max"])] for _, r in t.iterrows()]
    body = source(src) + html_table(rows, ["variable", "symbol", "说明", "description", "N", "mean", "SD", "min", "max"],
                                    caption="Table 2. Descriptive statistics", left=4)
    return Section("descriptive", title, body)


def churn_table(city_year: pd.DataFrame, code_: str) -> pd.DataFrame:
    """Paper 001 table 1 for one city: year, Cn, Xn, Zn, Tn, Xn/Cn, Zn/Cn and Tn/C(n−1) — partners exited over
    the previous year's partners — in column ``Tn/C(n-1)`` (shares NaN when undefined)."""
    d = city_year.loc[city_year["city_code"] == str(code_)].sort_values("year")
    out = pd.DataFrame({"year": d["year"].to_numpy()})
    cols = {"Cn": "collab_partners", "Xn": "partners_continuing", "Zn": "partners_new", "Tn": "partners_exited"}
    for k, c in cols.items():
        out[k] = pd.to_numeric(d[c], errors="coerce").astype(float).to_numpy()
    cn = out["Cn"].where(out["Cn"] > 0)
    prev = out["Cn"].shift(1)
    prev = prev.where(out["year"].diff() == 1).where(lambda s: s > 0)
    out["Xn/Cn"] = out["Xn"] / cn
    out["Zn/Cn"] = out["Zn"] / cn
    out["Tn/C(n-1)"] = out["Tn"] / prev
    return out


def section_churn(inp: Inputs, city: str | None) -> Section:
    title = "3. Partner churn (paper 001, table 1 layout)"
    if inp.city_year is None:
        return Section("churn", title, not_available("the city-year panel", f"citynet metrics -w {inp.wsarg}"), False)
    if not set(CHURN_COLUMNS) <= set(inp.city_year.columns):
        return Section("churn", title, not_available("the churn columns partners_* in the city-year panel",
                                                     f"citynet metrics -w {inp.wsarg}"), False)
    chosen = resolve_city(inp.cities, city) if city else default_city(inp.city_year)
    how = "chosen with --city" if city else "default: the city with the most collaboration partners in the last year"
    t = churn_table(inp.city_year, chosen)
    name = city_name(inp.cities, chosen)
    rows = [[str(int(r.year)), _fmt(r.Cn, 0), _fmt(r.Xn, 0), _fmt(r.Zn, 0), _fmt(r.Tn, 0), _fmt(r["Xn/Cn"]),
             _fmt(r["Zn/Cn"]), _fmt(r["Tn/C(n-1)"])] for _, r in t.iterrows()]
    src = (f"{inp.cite('city_year')}, rows with city_code = {code(chosen)}, {_filter_text(inp)}. "
           "Cn = collab_partners, Xn = partners_continuing, Zn = partners_new, Tn = partners_exited; "
           "T<sub>n</sub>/C<sub>n−1</sub> = partners exited in year n over the partners of year n−1; "
           "churn is missing (–) in the first panel year, whose n−1 is unobserved; a share is – when its "
           "denominator is 0.")
    body = (f"<p>City: <strong>{esc(name)}</strong> ({esc(chosen)}) — {esc(how)}.</p>" + source(src)
            + html_table(rows, ["year"] + [_Raw(h) for h in (
                "C<sub>n</sub>", "X<sub>n</sub>", "Z<sub>n</sub>", "T<sub>n</sub>", "X<sub>n</sub>/C<sub>n</sub>",
                "Z<sub>n</sub>/C<sub>n</sub>", "T<sub>n</sub>/C<sub>n−1</sub>")],
                         caption=f"Table 1. Collaboration partners of {name} and their churn"))
    return Section("churn", title, body)


def section_maps(inp: Inputs, years: Sequence[int] | None) -> tuple[Section, list[int]]:
    """Network maps of two years on one weight scale, and a choropleth of degree centrality (``analysis.maps``)."""
    from citynet.analysis import geo, maps

    title = "4. Collaboration network maps"
    if inp.dyad_year is None:
        return Section("maps", title, not_available("the dyad-year panel", f"citynet metrics -w {inp.wsarg}"), False), []
    panel_years = sorted(int(y) for y in inp.dyad_year["year"].unique())
    if years:
        years = [int(y) for y in years]
        bad = [y for y in years if y not in panel_years]
        if bad:
            raise UserError(f"--years {' '.join(map(str, years))}: {bad} not in the panel "
                                f"({panel_years[0]}–{panel_years[-1]})", fix="pick two years of the panel")
    else:
        years = [panel_years[0], panel_years[-1]] if len(panel_years) > 1 else panel_years
    years = sorted(dict.fromkeys(years))  # left to right in time, as map --edges draws them (--years 2020 2010)
    cities = inp.cities
    if "short_name" not in cities.columns:
        from citynet.etl.cities import short_name

        cities = cities.assign(short_name=cities["name_zh"].map(short_name))
    by_year = {y: inp.dyad_year.loc[(inp.dyad_year["year"] == y) & (inp.dyad_year["collab"] > 0),
                                    ["city_a", "city_b", "collab"]].rename(columns={"collab": "weight"})
               for y in years}
    fig, info = maps.network_maps(cities, by_year)
    yid = "-".join(map(str, years))
    figs = [figure_html(fig_to_data_uri(fig, dpi=120), (
        f"Figure: collaboration network {', '.join(map(str, years))} on one scale — line width and opacity ∝ "
        f"√(weight / {info['w_max']:,.0f}), the heaviest edge of all years shown; dot size ∝ √(partners / "
        f"{info['d_max']:,.0f}); names of the 10 best-connected cities of each year where they fit without "
        "overlap. Albers equal-area projection; inset: South China Sea islands (南海诸岛)."), f"map-{yid}")]
    tops = []
    for y in years:
        top = info[y]["degree"].head(8)
        tops.append(html_table([[_Raw(code(k)), city_name(inp.cities, k), _fmt(int(v))] for k, v in top.items()],
                               ["code", "city", "partners"], caption=f"Best-connected cities, {y}", left=2))
    last = years[-1]
    if inp.city_year is not None and "collab_degree" in inp.city_year.columns and last in set(inp.city_year["year"]):
        from citynet.metrics.labels import LABELS

        d = inp.city_year.loc[inp.city_year["year"] == last]
        lab = LABELS["collab_degree"]
        cfig, cinfo = maps.choropleth(d.set_index(d["city_code"].astype(str))["collab_degree"],
                                      title=f"{lab.en}, {last}", legend_title=f"{lab.symbol} {lab.zh}")
        figs.append(figure_html(fig_to_data_uri(cfig, dpi=120), (
            f"Figure: degree centrality DC of every city, {last} (classes: quantiles, or the distinct values "
            f"when there are at most six; city count in brackets; citynet map --var VAR --year Y draws "
            "any other city-year variable)."), f"map-choropleth-{last}"))
    src = (f"{inp.cite('dyad_year')}, rows with collab &gt; 0 in {', '.join(map(str, years))} "
           f"({_filter_text(inp)}); city seats from {code('canonical/cities.parquet')} (lon, lat); "
           f"{esc(geo.provenance())}.")
    body = (source(src) + '<div class="row">' + "".join(figs) + "</div>" + '<div class="row">'
            + "".join(f"<div>{t}</div>" for t in tops) + "</div>")
    return Section("maps", title, body), years


def network_series_figure(ny: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = [(c, lab) for c, lab in NETWORK_STATS if c in ny.columns]
    ncol = 3
    nrow = math.ceil(len(stats) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(10.5, 3.0 * nrow), squeeze=False)
    for ax, (col, lab) in zip(axes.flat, stats, strict=False):
        for net, g in ny.groupby("network", sort=False):
            g = g.sort_values("year")
            ax.plot(g["year"], pd.to_numeric(g[col], errors="coerce"), "o-", ms=3, lw=1.4,
                    color=NETWORK_COLORS.get(str(net)), label=str(net))
        ax.set_title(lab, fontsize=10)
        ax.grid(color="#eeeeee", lw=0.5)
        ax.tick_params(labelsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in list(axes.flat)[len(stats):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def section_network_series(inp: Inputs) -> Section:
    title = "5. Network statistics by year"
    if inp.network_year is None:
        return Section("networks", title, not_available("the network-year panel", f"citynet metrics -w {inp.wsarg}"),
                       False)
    ny = inp.network_year
    fig = network_series_figure(ny)
    cols = ["network", "year"] + [c for c in ("nodes", "edges", "total_weight", "density", "components", "giant_share",
                                              "clustering", "mean_degree", "communities", "modularity") if c in ny.columns]
    rows = [[str(r["network"]), str(int(r["year"]))] + [_fmt(r[c], 4) if c in ("density", "giant_share", "clustering",
                                                                               "mean_degree", "modularity")
                                                        else _fmt(r[c], 0) for c in cols[2:]]
            for _, r in ny.sort_values(["network", "year"]).iterrows()]
    src = (f"{inp.cite('network_year')}, every row ({_filter_text(inp)}). Density and mean degree use the "
           "whole city set as denominator (isolated cities included); components count two cities or more; "
           "definitions in <code>metrics/README.md</code>.")
    body = (source(src) + figure_html(fig_to_data_uri(fig), "Figure: network statistics by year, one line per network "
                                      "(collab undirected; transfer and citation directed).", "network-series")
            + "<details><summary>Table of the network-year panel</summary>"
            + html_table(rows, cols, caption="Network-year panel", left=2) + "</details>")
    return Section("networks", title, body)


# results/ discovery ------------------------------------------------------------------------------------------


@dataclass
class ResultFiles:
    tables: list[tuple[str, Path]] = field(default_factory=list)  # (name, json path)
    event_studies: list[Path] = field(default_factory=list)
    placebos: list[tuple[Path, dict | None]] = field(default_factory=list)
    moran: list[Path] = field(default_factory=list)
    other: list[Path] = field(default_factory=list)


def discover_results(results: Path, exclude: Sequence[Path] = ()) -> ResultFiles:
    """Classify what ``citynet fit`` wrote (see ``analysis/spec.py``): a regression table is a ``<t>.json``
    holding a list of fit results (rendered from its ``<t>.html``); an event-study PNG has a
    ``<stem>_coefficients.csv`` twin; a placebo PNG has a ``<stem>.json`` twin with the placebo summary; Moran
    figures have "moran" in their name; any other PNG is listed under "other figures"."""
    out = ResultFiles()
    if not results.is_dir():
        return out
    exclude = {Path(p).resolve() for p in exclude}
    side_json: dict[str, dict] = {}
    # tables fitted on another network filter than the default are in results/<filter key>/
    for jp in [*sorted(results.glob("*.json")), *sorted(results.glob("*.*.*/*.json"))]:
        try:
            obj = json.loads(jp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(obj, list) and obj and all(isinstance(r, dict) and "coefficients" in r for r in obj):
            out.tables.append((jp.stem, jp))
        elif isinstance(obj, dict) and jp.parent == results:
            side_json[jp.stem] = obj
    for png in sorted(results.glob("*.png")):
        if png.resolve() in exclude:
            continue
        stem = png.stem
        low = stem.lower()
        sj = side_json.get(stem)
        if (results / f"{stem}_coefficients.csv").exists() or "event_study" in low or "event-study" in low:
            out.event_studies.append(png)
        elif (sj is not None and "placebo_mean" in sj) or "placebo" in low:
            out.placebos.append((png, sj))
        elif "moran" in low:
            out.moran.append(png)
        else:
            out.other.append(png)
    return out


def section_tables(inp: Inputs, rf: ResultFiles) -> Section:
    title = "6. Regression tables"
    cmd = f"citynet fit -w {inp.wsarg} examples/p004_did.toml"
    if not rf.tables:
        return Section("tables", title, not_available("regression tables in results/", cmd), False)
    parts = [source(f"every {code('results/<table>.json')} that {code('citynet fit SPEC.toml')} wrote, rendered from "
                    f"its {code('.html')} twin (the same numbers as {code('.md')}, {code('.tex')}, {code('.csv')}). "
                    "Samples, filters and variable definitions are those of the spec file.")]
    table_csv = {f"{n}.csv" for n, _ in rf.tables}
    side = sorted(p.name for p in rf.tables[0][1].parent.glob("*.csv") if p.name not in table_csv)
    shown = inp.meta.get("network")
    groups: dict[str, list[tuple[str, Path, str]]] = {}
    for name, jp in rf.tables:  # grouped by the network filter each table records (citynet fit writes it)
        first = (json.loads(jp.read_text(encoding="utf-8")) or [{}])[0]
        years = first.get("panel_years") or [None, None]
        span = f", panel {years[0]}–{years[1]}" if years[0] is not None else ""
        groups.setdefault(first.get("network") or "", []).append((name, jp, span))
    for net in sorted(groups, key=lambda k: (k != shown, k == "", k)):
        label = (f"Network filter {code(net)}" if net else "Network filter not recorded (fitted by an older citynet)")
        note = " — the filter of the panels in the sections above" if net and net == shown else (
            " — <strong>not</strong> the filter of the panels in the sections above" if net else "")
        parts.append(f"<h3>{label}{note}</h3>")
        for name, jp, span in groups[net]:
            _table_block(parts, name, jp, net, span)
    side = [n for n in side if "moran" not in n.lower()]  # Moran tables: section 8
    if side:
        parts.append("<h3>Side tables</h3>")
        parts.append(source("the other <code>.csv</code> files that <code>citynet fit</code> wrote beside the tables "
                            "(group-time ATTs of Callaway–Sant'Anna, PSM balance, …)."))
        for n in side:
            parts.append(_side_table(rf.tables[0][1].parent / n))
    return Section("tables", title, "\n".join(parts))


def _table_block(parts: list[str], name: str, jp: Path, net: str, span: str) -> None:
    """One regression table of section 6 with the filter and panel span it was fitted on."""
    hp = jp.with_suffix(".html")
    rel = f"{jp.parent.name}/" if jp.parent.name == net and net else ""
    parts.append(f'<h4 id="table-{esc(rel + name)}">{esc(name)}</h4>')
    used = f"; fitted on network filter {code(net)}{span}" if net else ""
    parts.append(f"<p class=\"notes\">File: {code(rel + (hp.name if hp.exists() else jp.name))}{used}</p>")
    if hp.exists():
        parts.append(f'<div class="scroll">{hp.read_text(encoding="utf-8")}</div>')
    else:
        parts.append(_table_from_json(jp))


SIDE_ROWS = 60


def _side_num(v) -> str:
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and math.isfinite(v) and v.is_integer()):
        return str(int(v))
    return _fmt(v, 4) if isinstance(v, (float, np.floating)) else str(v)


def _side_table(path: Path) -> str:
    """A side CSV as a collapsible table (first ``SIDE_ROWS`` rows; the file has them all)."""
    from citynet.metrics.labels import term_label

    df = pd.read_csv(path)
    first = df.columns[0]
    if str(first).startswith("Unnamed"):
        df = df.rename(columns={first: "variable"})
        df["variable"] = df["variable"].map(lambda v: term_label(str(v)))
    shown = df.head(SIDE_ROWS)
    rows = [[(fmt_p(v) if str(c).lower().startswith("p") and str(c).lower() not in ("pre", "post") else
              _side_num(v)) for c, v in r.items()] for _, r in shown.iterrows()]
    more = f" (first {SIDE_ROWS} of {len(df):,} rows)" if len(df) > SIDE_ROWS else ""
    return (f"<details><summary>{esc(path.name)}{esc(more)}</summary>"
            + html_table(rows, [str(c) for c in df.columns], caption=path.stem) + "</details>")


def _table_from_json(jp: Path) -> str:
    res = json.loads(jp.read_text(encoding="utf-8"))
    terms: list[str] = []
    for r in res:
        terms += [t for t in r["coefficients"] if t not in terms]
    rows = []
    for t in terms:
        rows.append([t] + [(_fmt(r["coefficients"][t]["coef"]) if t in r["coefficients"] else "") for r in res])
        rows.append([""] + [(f"({_fmt(r['coefficients'][t]['se'])})" if t in r["coefficients"] else "") for r in res])
    rows.append(["N"] + [_fmt(r.get("nobs")) for r in res])
    return html_table(rows, [""] + [str(r.get("name", "")) for r in res], cls="regression")


def section_figures(inp: Inputs, rf: ResultFiles) -> Section:
    title = "7. Event study and placebo"
    cmd = f"citynet fit -w {inp.wsarg} examples/p004_did.toml"
    parts = []
    parts.append("<h3>Event study</h3>")
    if rf.event_studies:
        parts.append(source(f"{', '.join(code('results/' + p.name) for p in rf.event_studies)} with the coefficients in "
                            "the <code>_coefficients.csv</code> twin (models of kind <code>event_study</code>)."))
        for p in rf.event_studies:
            parts.append(figure_html(file_to_data_uri(p), f"Figure: event study ({p.name}); 95% confidence intervals.",
                                     f"event-study-{p.stem}"))
    else:
        parts.append(not_available("an event-study figure (a model of kind event_study)", cmd))
    parts.append("<h3>Placebo test</h3>")
    if rf.placebos:
        parts.append(source(f"{', '.join(code('results/' + p.name) for p, _ in rf.placebos)} and the JSON summaries "
                            "beside them (models of kind <code>placebo</code>: treatment reassigned at random)."))
        for p, sj in rf.placebos:
            cap = f"Figure: placebo distribution ({p.name})"
            if sj:
                cap += (f": real estimate {_fmt(sj.get('estimate'))}, placebo mean {_fmt(sj.get('placebo_mean'))}, "
                        f"SD {_fmt(sj.get('placebo_sd'))}, {_fmt(int(sj.get('n', 0)))} draws, "
                        f"p {_p_text(sj.get('pvalue'))} (share of placebo estimates at least as large in absolute "
                        "value as the real one).")
            parts.append(figure_html(file_to_data_uri(p), cap, f"placebo-{p.stem}"))
    else:
        parts.append(not_available("a placebo figure (a model of kind placebo)", cmd))
    ok = bool(rf.event_studies or rf.placebos)
    return Section("did", title, "\n".join(parts), ok)


def moran_table(city_year: pd.DataFrame, cities: pd.DataFrame, var: str = "green_patents", *,
                permutations: int = 999):
    """Global Moran's I per year of ln(1+var) with row-standardised inverse-distance W; returns the table, the
    panel used and W."""
    from citynet.analysis.spatial import inverse_distance, moran_by_year

    panel = city_year[["city_code", "year", var]].copy()
    lv = f"ln_{var}"
    panel[lv] = np.log1p(panel[var].astype(float))
    codes = sorted(set(panel["city_code"]) & set(cities.dropna(subset=["lon", "lat"])["city_code"]))
    panel = panel.loc[panel["city_code"].isin(codes)]
    w = inverse_distance(cities, codes=codes)
    with np.errstate(divide="ignore", invalid="ignore"):  # a year without variation: I is undefined, printed –
        tab = moran_by_year(panel, lv, w, permutations=permutations)
    return tab, panel, w


def _patents_word(inp: Inputs) -> str:
    """What ``green_patents`` counts in the panel's filter, for captions: "green patents" (WIPO, and panels
    without a recorded filter), "low-carbon (Y02) patents", or "patents" (every technology)."""
    green = ((inp.meta or {}).get("filter") or {}).get("green")
    return {"y02": "low-carbon (Y02) patents", "all": "patents"}.get(str(green), "green patents")


def _p_text(p) -> str:
    """"= 0.042" or "< 0.001" (for running text)."""
    t = fmt_p(p)
    return t if t.startswith("<") else f"= {t}"


def moran_rows(tab: pd.DataFrame) -> list[list[str]]:
    """Rows year, I, E[I], z, p (normal), p (permutation) of a Moran table (index or column ``year``)."""
    t = tab.reset_index() if "year" not in tab.columns else tab
    return [[str(int(r["year"])), _fmt(r["I"], 4), _fmt(r["EI"], 4), _fmt(r["z_norm"], 2), fmt_p(r["p_norm"]),
             fmt_p(r.get("p_sim", np.nan))] for _, r in t.iterrows()]


MORAN_HEADER = ["year", "Moran's I", "E[I]", "z", "p (normal)", "p (permutation)"]


def section_moran(inp: Inputs, rf: ResultFiles, years: Sequence[int], permutations: int) -> Section:
    title = "8. Spatial autocorrelation (Moran's I)"
    results_dir = inp.ws.results
    csvs = sorted(p for p in results_dir.glob("*moran*.csv")) if results_dir.is_dir() else []
    if rf.moran or csvs:
        parts = [source(f"{', '.join(code('results/' + p.name) for p in [*csvs, *rf.moran])} (written by a spec: "
                        "its variable, W and permutations).")]
        for cp in csvs:
            tab = pd.read_csv(cp)
            if {"year", "I", "EI", "z_norm", "p_norm"} <= set(tab.columns):
                parts.append(html_table(moran_rows(tab), MORAN_HEADER, caption=f"Global Moran's I ({cp.stem})"))
        if not csvs:
            parts.append("<p class=\"notes\">The spec wrote figures only; the values below are computed here.</p>")
            tab, _, _ = moran_table(inp.city_year, inp.cities, permutations=permutations) \
                if inp.city_year is not None else (None, None, None)
            if tab is not None:
                parts.append(html_table(moran_rows(tab), MORAN_HEADER,
                                        caption=f"Global Moran's I of ln(1+{_patents_word(inp)}), inverse-distance W"))
        parts.append('<div class="row">' + "".join(figure_html(file_to_data_uri(p), f"Figure: {p.name}", f"moran-{p.stem}")
                                                   for p in rf.moran) + "</div>")
        return Section("moran", title, "\n".join(parts))
    if inp.city_year is None:
        return Section("moran", title, not_available("the city-year panel", f"citynet metrics -w {inp.wsarg}"), False)
    from citynet.analysis.spatial import moran_scatter

    tab, panel, w = moran_table(inp.city_year, inp.cities, permutations=permutations)
    rows = moran_rows(tab.rename_axis("year"))
    src = (f"computed here: {inp.cite('city_year')}, ln(1+green_patents) of {panel['city_code'].nunique():,} "
           f"cities per year ({_filter_text(inp)}); W = inverse great-circle distance (1/d, row-standardised) from "
           f"{code('canonical/cities.parquet')}; <code>analysis.spatial.moran_by_year</code> "
           f"(normal-approximation z and p; permutation p from {permutations:,} permutations). "
           "No Moran figure was found in <code>results/</code>.")
    figs = []
    ok_years = [y for y in years if y in set(panel["year"])] or sorted(panel["year"].unique())[-1:]
    with tempfile.TemporaryDirectory() as tmp:
        for y in ok_years:
            p = Path(tmp) / f"moran_{y}.png"
            moran_scatter(panel, "ln_green_patents", w, y, p,
                          title=f"Moran scatter, ln(1+{_patents_word(inp)}), {y}")
            figs.append(figure_html(file_to_data_uri(p), f"Figure: Moran scatter plot of ln(1+{_patents_word(inp)}), {y} "
                                    "(x: standardised value; y: spatial lag Wz; slope = Moran's I).", f"moran-{y}"))
    body = (source(src) + html_table(rows, MORAN_HEADER,
                                     caption=f"Global Moran's I of ln(1+{_patents_word(inp)}), inverse-distance W")
            + '<div class="row">' + "".join(figs) + "</div>")
    return Section("moran", title, body)


def section_other(rf: ResultFiles) -> Section | None:
    if not rf.other:
        return None
    parts = [source("other PNG figures in <code>results/</code>.")]
    parts += [figure_html(file_to_data_uri(p), f"Figure: {p.name}", f"other-{p.stem}") for p in rf.other]
    return Section("other", "9. Other figures", "\n".join(parts))


# --------------------------------------------------------------------------------------------------------------


@dataclass
class ReportOutput:
    path: Path
    sections: list[Section]
    city: str | None
    years: list[int]
    stale: str | None = None  # the panels predate the canonical tables (metrics.pipeline.stale_note)

    @property
    def missing(self) -> list[str]:
        return [s.title for s in self.sections if not s.available]


def _guard(fn: Callable[[], Section], sid: str, title: str) -> Section:
    """A section whose inputs exist but cannot be read still leaves a valid report (with the reason)."""
    try:
        return fn()
    except AnalysisError:
        raise
    except Exception as exc:  # noqa: BLE001 - shown in the report, never swallowed silently
        if type(exc) is UserError:  # a value of --city or --years: the command says it (exit 2)
            raise
        return Section(sid, title, f'<p class="na"><strong>Could not build this section:</strong> '
                                   f"{esc(type(exc).__name__)}: {esc(exc)}</p>", False)


def build_report(ws, *, city: str | None = None, years: Sequence[int] | None = None, out: str | Path | None = None,
                 permutations: int = 999, progress: Callable[[str], None] | None = None) -> ReportOutput:
    """Write the report of workspace ``ws`` to ``out`` (default ``WS/results/report.html``)."""
    import matplotlib

    matplotlib.use("Agg")
    step = progress or (lambda s: None)
    out = Path(out) if out else ws.results / "report.html"
    step("reading inputs")
    inp = read_inputs(ws)
    if city and inp.city_year is not None:
        resolve_city(inp.cities, city)  # fail early on a bad --city
    rf = discover_results(ws.results, exclude=[out])
    sections: list[Section] = []
    step("data quality")
    sections.append(_guard(lambda: section_quality(inp), "quality", "1. Data quality"))
    step("descriptive statistics")
    sections.append(_guard(lambda: section_descriptive(inp), "descriptive", "2. Descriptive statistics"))
    step("partner churn")
    chosen_city = None
    sec = _guard(lambda: section_churn(inp, city), "churn", "3. Partner churn")
    sections.append(sec)
    if inp.city_year is not None and sec.available:
        chosen_city = resolve_city(inp.cities, city) if city else default_city(inp.city_year)
    step("network maps")
    map_years: list[int] = []

    def maps() -> Section:
        sec, yrs = section_maps(inp, years)
        map_years.extend(yrs)
        return sec

    sections.append(_guard(maps, "maps", "4. Collaboration network maps"))
    step("network time series")
    sections.append(_guard(lambda: section_network_series(inp), "networks", "5. Network statistics by year"))
    step("regression tables")
    sections.append(_guard(lambda: section_tables(inp, rf), "tables", "6. Regression tables"))
    sections.append(_guard(lambda: section_figures(inp, rf), "did", "7. Event study and placebo"))
    step("Moran's I")
    moran_years = map_years
    if not moran_years and inp.city_year is not None:
        ys = sorted(inp.city_year["year"].unique())
        moran_years = [int(ys[0]), int(ys[-1])]
    sections.append(_guard(lambda: section_moran(inp, rf, moran_years, permutations), "moran",
                           "8. Spatial autocorrelation (Moran's I)"))
    other = section_other(rf)
    if other:
        sections.append(other)
    step("writing HTML")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")  # written whole, then renamed: a kill never leaves half a report
    tmp.write_text(render_html(inp, sections), encoding="utf-8")
    os.replace(tmp, out)
    from citynet.metrics.pipeline import stale_note

    return ReportOutput(out, sections, chosen_city, list(map_years), stale_note(ws, inp.meta))


def render_html(inp: Inputs, sections: list[Section]) -> str:
    from citynet import __version__

    now = dt.datetime.now().isoformat(timespec="seconds")
    meta = inp.meta
    span = ""
    if meta.get("first_year") is not None:
        span = f"; panel years {esc(meta['first_year'])}–{esc(meta['last_year'])}, {esc(meta.get('n_cities', '?'))} cities"
    from citynet.metrics.pipeline import stale_note

    note = stale_note(inp.ws, meta)
    stale = f'\n<p class="meta"><strong>Warning:</strong> {esc(note)}.</p>' if note else ""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title.split(". ", 1)[-1])}</a>'
                  f'{"" if s.available else " <em>(not available)</em>"}</li>' for s in sections)
    body = "\n".join(f'<section id="{esc(s.id)}" class="{"" if s.available else "missing"}">'
                     f"<h2>{esc(s.title)}</h2>\n{s.body}\n</section>" for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="citynet {esc(__version__)}">
<link rel="icon" href="data:,">
<title>citynet report — {esc(inp.ws.root.name)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>citynet report</h1>
<p class="meta">Workspace <code>{esc(inp.ws.root)}</code>; generated {esc(now)} by citynet {esc(__version__)};
{_filter_text(inp)}{span}.</p>{stale}
</header>
<nav class="toc" id="toc"><strong>Contents</strong><ol>{toc}</ol></nav>
{body}
<footer><p class="notes">Every number above is read from the workspace files named in each section's
<em>Source</em> line; re-running <code>citynet report -w {esc(inp.wsarg)}</code> after
<code>citynet metrics</code> or <code>citynet fit</code> refreshes it. The file is self-contained (figures are
embedded PNG images, no scripts, no external resources).</p></footer>
</body>
</html>
"""


def write_report(ws, **kwargs) -> Path:
    """:func:`build_report` returning only the path of the written file (used by ``citynet demo``)."""
    return build_report(ws, **kwargs).path
