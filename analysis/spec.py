"""``SPEC.toml``: several models → tables (Markdown, LaTeX, CSV, HTML) and figures under results/.

Format (see ``examples/README.md`` for the full reference)::

    [spec]
    name = "p001_table3"            # output stem: results/p001_table3.{md,tex,csv,html}
    title = "Table 3 …"
    panel = "city-year"             # or "dyad-year"
    vcov = "cluster:city_code"      # default for every model; "hc1", "iid", "cluster:VAR"
    labels = { l1_collab_degree = "DC(t-1)" }
    stats = ["kp_rk_f"]             # extra rows from FitResult.stats
    keep = ["l1_collab_degree"]     # optional coefficient order / selection

    [panel_options]                 # how the analysis panel is assembled
    low_carbon_coding = "announce"  # announce | source | effective | paper004
    derive = { diff = "(citations_made + citations_received) / population * 10000" }  # pandas eval
    winsor = { columns = ["gdp_per_capita"], p = 0.01 }

    [sample]                        # default sample of every model
    years = [2006, 2020]
    drop_municipalities = false
    regions = ["east", "central"]
    exclude_years = [2020]
    query = "gdp_per_capita > 0"

    [[models]]                      # one column each, in order
    name = "(1)"
    kind = "fit"                    # fit | did | event_study | placebo | psm_did | cs | gardner | 3sls | gravity
                                    # | sdm | moran | spatial_tests | iv | mediation | sunab | tobit |
                                    # threshold | psm | cs_cov (analysis/designs.py)
    formula = "ln_collab_patents ~ l1_collab_degree | city_code + year"
    model = "ols"                   # ols | ppml | 2sls
    vcov = "hc1"                    # overrides [spec].vcov
    sample = { drop_municipalities = true }   # merged over [sample]

Several tables in one file: ``[[tables]]`` entries, each with its own ``name``, ``title`` and
``[[tables.models]]``. Kinds other than ``fit`` take their own keys (``y``, ``treat``,
``controls``, ``leads``, ``lags``, ``n``, ``covariates``, ``caliper``, ``equations``, ``fe``, ``x``)
and add figures (event study, placebo) or side tables (PSM balance) named after the model.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.designs import POSITION_KEY, TABLE_KEY, _require, model_label
from citynet.analysis.designs import RUNNERS as DESIGN_RUNNERS
from citynet.analysis.results import FitResult
from citynet.analysis.tables import Table, regression_table

from citynet.csvfile import csv_bom, write_csv
from citynet.errors import AnalysisError, UserError

log = logging.getLogger(__name__)
DESIGN_KINDS = tuple(DESIGN_RUNNERS)  # analysis/designs.py: the referees' designs

KINDS = ("fit", "did", "event_study", "placebo", "psm_did", "cs", "gardner", "3sls", "gravity", "sdm", "moran",
         *DESIGN_KINDS)
_SAMPLE_KEYS = {"years", "drop_municipalities", "regions", "tiers", "exclude_years", "query"}


@dataclass
class SpecOutput:
    tables: dict[str, Table] = field(default_factory=dict)
    results: dict[str, list[FitResult]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def load_spec(path: str | Path) -> dict[str, Any]:
    """The parsed SPEC.toml, read as ``citynet.toml`` is (``workspace.read_config_file``). A missing, unreadable or
    malformed file is a usage/configuration mistake (``UserError``, exit 2), not an analysis error."""
    path = Path(path)
    if not path.is_file():
        if "~" in str(path) and not path.exists():  # a formula where the spec goes
            raise UserError(f"{str(path)!r} is a formula, not a spec file",
                            fix=f'pass it with --formula: citynet fit -f "{path}"')
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise UserError(f"spec file {path} {what}",
                        fix="pass the path of a SPEC.toml, e.g. examples/p004_did.toml in the source tree "
                            "(examples/README.md lists them)")
    from citynet.workspace import read_config_file

    # as citynet.toml: UTF-8 with or without the BOM Notepad writes (with it, tomllib said "Invalid statement at
    # line 1, column 1" of a correct file), GBK or UTF-16 and full-width ＝ or “ named, each one message
    return read_config_file(path)


def load_panels(ws, spec_panel_opts: dict | None = None) -> Callable[[str], pd.DataFrame]:
    """A cached loader: ``city-year`` (metrics ⋈ covariates ⋈ policies) or ``dyad-year``."""
    from citynet.analysis.panel import assemble_panel, winsorize

    cache: dict[str, pd.DataFrame] = {}
    opts = dict(spec_panel_opts or {})

    def get(name: str) -> pd.DataFrame:
        key = name.replace("_", "-")
        if key in cache:
            return cache[key]
        if key not in ("city-year", "dyad-year"):
            raise AnalysisError(f"unknown panel {name!r}", fix="use city-year or dyad-year")
        path = ws.require(ws.panel(key), "metrics")
        df = pd.read_parquet(path)
        if key == "city-year":
            cov_path = ws.canonical / "covariates.parquet"
            cov = pd.read_parquet(cov_path) if cov_path.exists() else None
            coding = opts.get("low_carbon_coding", ws.settings.get("analysis", {}).get("low_carbon_coding", "announce"))
            if cov is not None and "low_carbon" in cov.columns:
                cov = _coding_against_covariates(opts, ws, cov, cov_path)
            df, rep = assemble_panel(df, cov, low_carbon_coding=coding, keyed=True)
            if cov is not None and (rep.panel_rows_without_covariates or rep.covariate_rows_outside_panel):
                log.info("%s", str(rep).replace("\n", "; "))
            from citynet.analysis.panel import add_city_attributes

            df = add_city_attributes(df)
            df = _with_partner_kinds(ws, df, path)
            docs_path = ws.canonical / "policy_docs.parquet"  # citynet ingest --policies: zts, gjs, rps
            if docs_path.exists():
                from citynet.analysis.policy import join_synergy, policy_synergy

                df = join_synergy(df, policy_synergy(pd.read_parquet(docs_path)))
            for new, expr in opts.get("derive", {}).items():
                try:
                    df[new] = df.eval(expr)
                except Exception as exc:
                    power = " (a power is written **, e.g. x**2)" if "^" in expr else ""
                    raise AnalysisError(f"panel_options.derive.{new} = {expr!r} failed{power}: {exc}",
                                        fix=f"columns: {', '.join(map(str, df.columns))}") from exc
            if opts.get("winsor"):
                df = winsorize(df, **opts["winsor"])
        else:
            if "log_distance" not in df.columns and "distance_km" in df.columns:
                df["log_distance"] = np.log(df["distance_km"].astype(float).clip(lower=1e-9))
            from citynet.analysis.panel import add_dyad_keys

            df = add_dyad_keys(df)  # pair, origin_year, dest_year: fixed effects (and clusters) any model can name
        from citynet.metrics.pipeline import panel_meta

        df.attrs["citynet"] = panel_meta(path) or {}  # the network filter, for fit's truncation warning
        cache[key] = df
        return df

    return get


def _coding_against_covariates(opts: dict, ws, cov: pd.DataFrame, cov_path: Path) -> pd.DataFrame:
    """Covariates that carry ``low_carbon`` are the panel's treatment as they are (``analysis.panel.assemble_panel``).
    A SPEC's ``[panel_options] low_carbon_coding`` asks for a coding for that table: it is applied, the covariates'
    ``low_carbon`` (and ``low_carbon_year``) set aside, and a note says so (examples/p004_did.toml asks for paper004's years;
    the demo's synthetic covariates carry the low_carbon the effect was planted with). A ``citynet.toml [analysis]
    low_carbon_coding`` other than the default is the workspace's general choice and the covariates' column the
    user's data: the column is used and a warning says the setting is not applied (both had been silent)."""
    where = cov_path.relative_to(ws.root) if cov_path.is_relative_to(ws.root) else cov_path
    coding = opts.get("low_carbon_coding")
    if coding is not None:
        log.info("note: the spec's [panel_options] low_carbon_coding = %r is applied: the low_carbon column of %s "
                 "(from ingest --covariates) is set aside for this spec", coding, where)
        return cov.drop(columns=[c for c in ("low_carbon", "low_carbon_year") if c in cov.columns])
    coding = ws.settings.get("analysis", {}).get("low_carbon_coding", "announce")
    if coding != "announce":
        log.warning("warning: citynet.toml [analysis] low_carbon_coding = %r is not applied: %s carries a low_carbon "
                    "column (from ingest --covariates), which the panel uses as it is; to have the coding's years, "
                    "ingest the covariates without that column, or set the coding in the spec's [panel_options]",
                    coding, where)
    return cov


_PARTNER_KINDS: dict = {}  # the last partner-kind panel, keyed by canonical files (mtime, size), filter, cities, years


def _with_partner_kinds(ws, df: pd.DataFrame, path) -> pd.DataFrame:
    """Add the collaboration-by-partner-kind columns (metrics/partner_kinds.py) from the canonical tables,
    with the city-year panel's filter, unless the panel already has them."""
    from citynet.metrics import partner_kinds as PK

    if set(PK.COLUMNS) <= set(df.columns):
        return df
    from citynet.metrics.pipeline import panel_meta

    meta = panel_meta(path) or {}
    cities = tuple(sorted(df["city_code"].astype(str).unique()))
    years = tuple(sorted(int(y) for y in df["year"].unique()))
    flt = meta.get("filter") or {}
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in
                  (ws.canonical / f"{t}.parquet" for t in ("patents", "patent_applicants", "applicants")) if p.exists())
    key = (str(Path(ws.canonical).resolve()), stamp, tuple(sorted(flt.items())), cities, years)
    if key not in _PARTNER_KINDS:  # one computation per process and corpus (citynet demo / run fit several specs)
        _PARTNER_KINDS.clear()
        _PARTNER_KINDS[key] = PK.from_workspace(ws, list(cities), list(years), flt)
    pk = _PARTNER_KINDS[key]
    if pk is None:
        return df
    pk = pk.copy()
    pk["city_code"] = pk["city_code"].astype(df["city_code"].dtype)
    return df.merge(pk, on=["city_code", "year"], how="left")


def _sample(df: pd.DataFrame, s: dict | None) -> pd.DataFrame:
    from citynet.analysis.panel import filter_sample, year_range

    if not s:
        return df
    bad = set(s) - _SAMPLE_KEYS
    if bad:
        raise AnalysisError(f"unknown sample key(s) {sorted(bad)}", fix=f"use {', '.join(sorted(_SAMPLE_KEYS))}")
    if s.get("years") is not None:
        year_range(s["years"])
    return filter_sample(df, **s)


def _variant_name(name: str | None, sample: dict | None, panel: pd.DataFrame) -> str | None:
    """A column title that names the sample as it is: "Drop 2020–2022" on a panel that ends in 2020 becomes
    "Drop 2020" (the years of ``exclude_years`` that the panel has)."""
    import re

    ex = (sample or {}).get("exclude_years")
    if not name or not ex or "year" not in panel.columns:
        return name
    ex = [ex] if isinstance(ex, int) else ex  # exclude_years = 2020 (checked by analysis.panel._sample_shapes)
    hit = sorted({int(y) for y in ex} & {int(y) for y in panel["year"].unique()})
    m = re.search(r"(\d{4})\s*[–-]\s*(\d{4})|\d{4}", name)
    if not m:
        return name
    if not hit:
        return f"{name} (none in the panel)"
    consecutive = hit == list(range(hit[0], hit[-1] + 1))
    txt = str(hit[0]) if len(hit) == 1 else f"{hit[0]}–{hit[-1]}" if consecutive else ", ".join(map(str, hit))
    return name[: m.start()] + txt + name[m.end():]



def _did_se(m: dict) -> str:
    """``se`` of a ``cs`` or ``gardner`` model: ``analytic`` (the authors' influence-function standard
    errors, the default) or ``bootstrap``; a spec that gives ``n_boot`` without ``se`` asks for the
    bootstrap (specs written before the analytic standard errors existed)."""
    return str(m.get("se", "bootstrap" if "n_boot" in m else "analytic"))


#: every key a [[models]] entry is read for, whatever its kind (tests/test_fit_cli.py checks this against
#: the keys the estimators read from ``m`` and against examples/)
MODEL_KEYS = frozenset([
    "M", "Mbar", "allow_collinear", "base", "caliper", "caliper_sd", "chain", "cluster", "cohort", "control",
    "controls", "covariates", "effects_draws", "endog", "equations", "exog", "fe", "filter", "formula", "grid",
    "inference", "instruments", "k", "kind", "labels", "lag_x", "lags", "leads", "left", "lr", "m", "method",
    "model", "mundlak", "n", "n_boot", "n_thresholds", "name", "names", "nodes", "panel", "param", "paths",
    "permutations", "q", "replace", "reps", "rm_grid", "rm_method", "sample", "scatter_years", "se", "seed", "split",
    "fsplit",
    "target", "time_effects", "title", "treat", "trim", "var", "vcov", "w", "wald", "weighted", "weights", "x", "y"
])


SPEC_KEYS = frozenset(["spec", "tables", "models", "sample", "panel_options"])
TABLE_KEYS = frozenset(["name", "title", "models", "panel", "vcov", "allow_collinear", "sample", "labels", "keep",
                        "drop", "stats", "digits"])


def _near_key(key: str, known: frozenset, where: str, keys: str | None = None) -> None:
    """A key no one reads that is near one read (``[[table]]``, ``fomula = …``) was ignored: one message naming
    both (``keys``: where the keys are listed; default: the known keys themselves)."""
    import difflib

    if key in known:
        return
    near = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    if near:
        raise AnalysisError(f"{where}: unknown key {key!r} (did you mean {near[0]!r}?)",
                            fix=f"write {near[0]} = … ({keys or 'the keys: ' + ', '.join(sorted(known))}; "
                                "examples/README.md)")


def check_spec(spec: dict) -> None:
    """The spec's shape before any model is fitted: misspelt keys of the spec and its tables, tables that are not
    a list of tables (``[tables]`` for ``[[tables]]``), and table names that are not file names."""
    for key in spec:
        _near_key(key, SPEC_KEYS, "the spec")
    tables = spec.get("tables", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise AnalysisError("the spec's tables are not a list of tables",
                            fix='write each table as [[tables]] (two brackets), with name = "…" and its [[tables.models]]')
    _check_panel_options(spec.get("panel_options"))
    head = spec.get("spec", {})
    for tab in [*tables, *([head] if isinstance(head, dict) else [])]:
        for key in tab:
            _near_key(key, TABLE_KEYS, f"table {tab.get('name')!r}" if tab is not head else "[spec]")
        name = str(tab.get("name") or "")
        if re.search(r'[/\\:*?"<>|]', name) or name.startswith("."):
            raise AnalysisError(f"table name {name!r} is not a file name (its files are NAME.md, NAME.csv …)",
                                fix="use letters, digits, spaces, '-' and '_' in name = \"…\"")


PANEL_OPTION_KEYS = frozenset(["low_carbon_coding", "derive", "winsor"])
WINSOR_KEYS = frozenset(["columns", "p", "by", "suffix"])


def _check_panel_options(opts) -> None:
    """``[panel_options]`` before any model is fitted: ``winsorize = {…}`` for ``winsor`` (ignored: the columns
    were not winsorised), ``low_carbon_coding = "announced"`` (an unknown coding),
    ``derive = "x = 1"`` (an AttributeError traceback), ``winsor.columns = "x"`` (read letter by letter: "no
    column 'c'") and ``winsor.p = 5`` (said as a model that "cannot be estimated") are each one message."""
    from citynet.etl.policies import LOW_CARBON_CODINGS

    if opts is None:
        return
    example = 'derive = { x2 = "collab_degree ** 2" }, winsor = { columns = ["x2"], p = 0.01 }'
    if not isinstance(opts, dict):
        raise AnalysisError(f"panel_options = {opts!r} is not a table", fix=f"write [panel_options] with {example}")
    for key in opts:
        if key not in PANEL_OPTION_KEYS:
            import difflib

            near = difflib.get_close_matches(key, sorted(PANEL_OPTION_KEYS), n=1, cutoff=0.5)
            raise AnalysisError(f"[panel_options]: unknown key {key!r}" + (f" (did you mean {near[0]!r}?)" if near
                                                                           else ""),
                                fix=f"the keys: {', '.join(sorted(PANEL_OPTION_KEYS))} (examples/README.md)")
    coding = opts.get("low_carbon_coding")
    if coding is not None and coding not in LOW_CARBON_CODINGS:
        raise AnalysisError(f"[panel_options] low_carbon_coding = {coding!r} is not a coding",
                            fix=f"use one of {', '.join(LOW_CARBON_CODINGS)}")
    derive = opts.get("derive")
    if derive is not None and (not isinstance(derive, dict) or not all(isinstance(v, str) for v in derive.values())):
        raise AnalysisError(f"[panel_options] derive = {derive!r} is not a table of name = \"expression\"",
                            fix='write derive = { x2 = "collab_degree ** 2" }')
    winsor = opts.get("winsor")
    if winsor is None:
        return
    if not isinstance(winsor, dict) or "columns" not in winsor or not set(winsor) <= WINSOR_KEYS:
        raise AnalysisError(f"[panel_options] winsor = {winsor!r} is not a table of columns, p, by, suffix",
                            fix='write winsor = { columns = ["x"], p = 0.01 } (by = "year", suffix = "_w": optional)')
    cols = winsor["columns"]
    if isinstance(cols, str):
        winsor["columns"] = [cols]  # one column, as a model's controls = "x" is ["x"]
    elif not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
        raise AnalysisError(f"[panel_options] winsor.columns = {cols!r} is not a list of columns",
                            fix='write winsor = { columns = ["x", "y"], p = 0.01 }')
    p = winsor.get("p", 0.01)
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p < 0.5:
        raise AnalysisError(f"[panel_options] winsor.p = {p!r} is not a share from 0 to 0.5 (each tail's)",
                            fix="write p = 0.01 (the 1st and 99th percentiles)")


def sample_table(value, where: str) -> dict:
    """A ``sample`` as written: a table of keys, or a pandas query as ``--sample`` takes it (``sample =
    "year >= 2010"`` is ``sample = {query = "year >= 2010"}``)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"query": value}
    if not isinstance(value, dict):
        raise AnalysisError(f"{where}: sample = {value!r} is neither a table nor a query",
                            fix='write sample = {years = [2010, 2020]} or sample = "year >= 2010"')
    return value


def _texts(value) -> list[str]:
    """Every text inside a model's values (formulas, variable names, lists and tables of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v)]
    return []


#: the shape of a model's values, checked before the panel is read: one column or formula (a text) …
NAME_KEYS = frozenset(["y", "treat", "cohort", "q", "var", "formula", "cluster", "param", "split", "fsplit", "fe", "w",
                       "weights",
                       "method", "control", "target", "base", "se", "model", "rm_method", "inference", "kind", "panel"])
#: … one or several columns (a text is one name, not its letters) …
NAMES_KEYS = frozenset(["controls", "covariates", "instruments", "exog", "endog", "x", "chain"])
#: … a whole number, at least this …
COUNT_KEYS = {"leads": 0, "lags": 0, "n": 1, "n_boot": 1, "reps": 0, "k": 1, "n_thresholds": 1, "permutations": 0,
              "effects_draws": 1, "grid": 1, "rm_grid": 1, "seed": None}
#: … one or several numbers, none negative (the M and M̄ of honest DiD) …
NUMBERS_KEYS = frozenset(["M", "Mbar"])
#: … a number, or true / false
NUMBER_KEYS = frozenset(["caliper", "left", "trim"])
BOOL_KEYS = frozenset(["replace", "weighted", "lag_x", "mundlak", "lr", "wald", "time_effects", "caliper_sd",
                       "allow_collinear"])


def _check_model_keys(m: dict) -> dict:
    """The model with its column lists as lists (``controls = "x"`` is ``["x"]``), after one message for the
    first key that is misspelt (``smaple = {…}``, ``fomula``: it was ignored and the model fitted without it) or
    has a value of the wrong shape (``y = ["x"]``, ``leads = "3"``, ``lags = -2``: each was a traceback inside
    the estimator, or the letters of a text taken as columns)."""
    where = model_label(m)
    for key in m:
        _near_key(key, MODEL_KEYS, where, keys="the keys of each kind")
    out = dict(m)
    for key, value in m.items():
        shown = json.dumps(value, ensure_ascii=False, default=str)
        if key in NAME_KEYS and not isinstance(value, str):
            raise AnalysisError(f"{where}: {key} = {shown} is not a text",
                                fix=f'write {key} = "…" (one column or formula, in quotes)')
        if key in NAMES_KEYS:
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
                raise AnalysisError(f"{where}: {key} = {shown} is not a list of column names",
                                    fix=f'write {key} = ["a", "b"] (or one name: {key} = "a")')
            out[key] = names
        if key in COUNT_KEYS and (not isinstance(value, int) or isinstance(value, bool)
                                  or (COUNT_KEYS[key] is not None and value < COUNT_KEYS[key])):
            least = COUNT_KEYS[key]
            raise AnalysisError(f"{where}: {key} = {shown} is not a whole number"
                                + (f" of at least {least}" if least is not None else ""),
                                fix=f"write {key} = {max(least or 0, 1)} (a number, without quotes)")
        if key in NUMBERS_KEYS:
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
                raise AnalysisError(f"{where}: {key} = {shown} is not a list of numbers of at least 0",
                                    fix=f"write {key} = [0, 0.5, 1] (or leave it out for the default)")
            out[key] = values
        if key in NUMBER_KEYS and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise AnalysisError(f"{where}: {key} = {shown} is not a number", fix=f"write {key} = 0.1 (without quotes)")
        if key in BOOL_KEYS and not isinstance(value, bool):
            raise AnalysisError(f"{where}: {key} = {shown} is not true or false", fix=f"write {key} = true or false")
    return out


#: keys other kinds read that kind "fit" does not (its model is the formula), with where to write each instead
_FIT_UNREAD = {
    **dict.fromkeys(("y", "x", "treat", "controls", "covariates", "cohort"),
                    'write the variables in the formula: formula = "y ~ x1 + x2 | city_code + year"'),
    "fe": 'write the fixed effects after "|" in the formula: formula = "y ~ x | city_code + year"',
    **dict.fromkeys(("endog", "instruments", "exog"),
                    'write the IV part in the formula: formula = "y ~ exog | city_code + year | endog ~ instrument", '
                    'or use kind = "iv"'),
}


def _refuse_keys_the_kind_does_not_read(m: dict, kind: str) -> None:
    """A key another kind reads, given to a kind that does not read it, was ignored without a word: ``fe``,
    ``controls``, ``y`` or ``x`` beside a kind ``fit``'s formula (the model fitted was the formula's alone),
    ``formula`` in any other kind (a ``did`` fitted without the formula's controls), ``cluster`` outside
    ``cs_cov`` (the standard errors stayed clustered by the default, ``vcov``'s). One message naming the key."""
    where = f"{model_label(m)} (kind {kind!r})"
    if kind == "fit":
        for key, fix in _FIT_UNREAD.items():
            if key in m:
                raise AnalysisError(f"{where}: {key} = {json.dumps(m[key], ensure_ascii=False)} is not read: kind "
                                    "\"fit\" reads its model from formula", fix=fix)
    elif "formula" in m:
        raise AnalysisError(f"{where}: formula is read by kind \"fit\" only (kind {kind!r} builds its model from its "
                            "own keys: y, treat, controls, fe …)",
                            fix=f'write kind = "fit" to fit the formula, or drop formula and give kind {kind!r} its '
                                "keys (examples/README.md)")
    if kind != "cs_cov" and "cluster" in m:
        raise AnalysisError(f"{where}: cluster = {json.dumps(m['cluster'], ensure_ascii=False)} is not read (kind "
                            "cs_cov reads cluster; the others take the clustering from vcov)",
                            fix=f'write vcov = "cluster:{m["cluster"]}"')
    if kind in _OWN_STANDARD_ERRORS and "vcov" in m:
        raise AnalysisError(f"{where}: vcov = {json.dumps(m['vcov'], ensure_ascii=False)} is not read: kind {kind!r} "
                            f"computes its standard errors its own way ({_OWN_STANDARD_ERRORS[kind]})",
                            fix="drop vcov from this model")
    if kind == "tobit" and str(m.get("vcov", "oim")).strip() not in ("oim", "cluster", "cluster:city_code"):
        raise AnalysisError(f"{where}: vcov = {json.dumps(m['vcov'], ensure_ascii=False)} is not one the random-"
                            "effects Tobit takes: \"oim\" (the inverse Hessian, as Stata's xttobit; the default) or "
                            "\"cluster:city_code\" (a sandwich over cities, the random effect's unit)",
                            fix='write vcov = "oim" or vcov = "cluster:city_code"')


#: kinds that ignore vcov, and how they compute their standard errors (docs/methods.md)
_OWN_STANDARD_ERRORS = {
    "cs": "the did package's influence function or its bootstrap: se = \"analytic\" | \"bootstrap\"",
    "gardner": "did2s's influence function or a city bootstrap: se = \"analytic\" | \"bootstrap\"",
    "cs_cov": "the multiplier bootstrap, clustered by cluster = \"VAR\"",
    "sdm": "the maximum-likelihood information matrix and simulated impacts",
    "moran": "Moran's I under randomisation and permutations",
    "spatial_tests": "the LM and LR tests' own variances",
}


def _unquoted(v):
    """A model's values with each backquoted covariate header (```GDP (亿元)```, in a formula or a list of
    names) replaced by its column name (``GDP_亿元``: ``analysis.formula.unquote``)."""
    from citynet.analysis.formula import unquote

    if isinstance(v, str):
        return unquote(v) if "`" in v else v
    if isinstance(v, list):
        return [_unquoted(x) for x in v]
    if isinstance(v, dict):
        return {k: _unquoted(x) for k, x in v.items()}
    return v


def _run_model(m: dict, get_panel, defaults: dict, out_dir: Path, files: list[str]) -> list[FitResult]:
    from citynet.analysis import did as D
    from citynet.analysis.estimators import fit, gravity
    from citynet.analysis.system import three_sls

    kind = m.get("kind", "fit")
    if kind not in KINDS:
        import difflib

        near = difflib.get_close_matches(str(kind).lower().replace("-", "_"), list(KINDS), n=1, cutoff=0.6)
        raise AnalysisError(f"{model_label(m)}: unknown kind {kind!r}"
                            + (f" (did you mean {near[0]!r}?)" if near else ""), fix=f"use one of {', '.join(KINDS)}")
    m = _check_model_keys(m)
    if kind != "fit" and ("split" in m or "fsplit" in m):  # read by kind fit only: never silently ignored
        raise AnalysisError(f"{model_label(m)} (kind {kind!r}): split/fsplit is read by kind \"fit\" only",
                            fix="write one model per sample with sample = {regions = [\"east\"]} (or a query), or "
                                "fit the formula with split")
    _refuse_keys_the_kind_does_not_read(m, kind)
    if kind not in ("fit", "did", "event_study") and "weights" in m:
        raise AnalysisError(f"{model_label(m)} (kind {kind!r}): weights is read by kinds fit, did and "
                            "event_study only", fix="drop weights, or write the model as one of those kinds")
    m = _unquoted(m)
    panel_name = m.get("panel", defaults.get("panel", "city-year"))
    if kind == "gravity":
        panel_name = m.get("panel", "dyad-year")
    sample = _unquoted({**defaults.get("sample", {}), **sample_table(m.get("sample"), model_label(m))})
    # the lags, leads and logs the model names, on every row; then the sample (its first year keeps its lag)
    from citynet.analysis.formula import derive

    df = _sample(derive(get_panel(panel_name), _texts({k: v for k, v in m.items() if k != "sample"})), sample)
    if df.empty:  # every estimator stops on it, some (pyfixest's Rust core, under Sun–Abraham) by aborting the process
        full = get_panel(panel_name)
        span = f" (the panel's years: {int(full['year'].min())}–{int(full['year'].max())})" if len(full) else ""
        raise AnalysisError(f"{model_label(m)}: the sample {json.dumps(sample, ensure_ascii=False)} keeps no row "
                            f"of the {panel_name} panel{span}", fix="widen the sample ([sample] or the model's sample)")
    vcov = m.get("vcov", defaults.get("vcov"))
    if kind not in ("fit", *_OWN_STANDARD_ERRORS, "tobit") and isinstance(vcov, str) \
            and vcov.strip().lower().startswith(("conley", "wild", "ri:")):  # estimators.parse_vcov's refusal, named
        from citynet.analysis.estimators import parse_vcov

        try:
            parse_vcov(vcov)
        except AnalysisError as err:
            given = "" if "vcov" in m else " (the spec's or table's vcov)"
            raise AnalysisError(f"{model_label(m)} (kind {kind!r}): {err.message}{given}", fix=err.fix) from None
    name = _variant_name(m.get("name"), sample, get_panel(panel_name))
    fe = m.get("fe", "city_code + year")
    ctrl = m.get("controls", [])
    if kind == "fit":
        if "formula" not in m:
            raise AnalysisError(f"{model_label(m)} has no formula", fix="add formula = \"y ~ x | city_code + year\"")
        # In a table of several models a collinear term is dropped from that column with a note
        # (pyfixest's behaviour); set allow_collinear = false to make it an error instead.
        allow = m.get("allow_collinear", defaults.get("allow_collinear", True))
        from citynet.analysis.designs import run_fit_inference, wants_inference
        from citynet.analysis.multiple import expand

        formulas = expand(m["formula"])  # several models from one formula: sw(), csw() … (a column each)
        samples: list[tuple[str | None, str | None]] = [(None, None)]
        labels: dict[str | None, str] = {}  # a split's samples, named in messages as the SPEC writes the split
        if m.get("split") or m.get("fsplit"):  # fixest's split / fsplit: one sample per value, outermost
            from citynet.analysis.formula import column_names
            from citynet.analysis.multiple import split_labels, split_samples

            by = column_names(str(m.get("split") or m.get("fsplit")), df.columns, f"{model_label(m)}: split")
            samples = split_samples(df, by, None, full=not m.get("split"))
            labels = split_labels(samples, by, f"{'split' if m.get('split') else 'fsplit'} = {by!r}")
        from citynet.analysis.multiple import fit_each, models

        inference = wants_inference(m, vcov)  # wild:REPS | ri:REPS | conley:KM[:LAG]
        if inference and m.get("weights"):
            raise AnalysisError(f"{model_label(m)}: weights and inference exclude each other (the wild bootstrap, "
                                "randomization inference and Conley SEs are unweighted)", fix="drop one of them")
        parts: dict[str | None, pd.DataFrame] = {None: df}

        def one(f: str, where: str | None, n: str | None):
            if where not in parts:
                parts[where] = df.query(where)
            part = parts[where]
            if inference:
                return run_fit_inference({**m, "formula": f}, part, n, vcov)
            return fit(part, f, model=m.get("model", "ols"), vcov=vcov, name=n, allow_collinear=allow,
                       weights=m.get("weights"), sample_label=labels.get(where))

        # a model the data cannot identify leaves its column out, with a note (analysis/multiple.fit_each)
        return fit_each(models(formulas, samples, name), one, df, labels)
    # the kinds run here that need y (and psm_did its covariates, 3sls its equations, sdm y and x) say so by name
    y = _require(m, "y", '"ln_green_patents"') if kind in ("did", "event_study", "placebo", "psm_did", "cs",
                                                            "gardner") else None
    if kind == "did":
        return [D.did(df, y, m.get("treat", "low_carbon"), ctrl, fe=fe, vcov=vcov, model=m.get("model", "ols"),
                      name=name, weights=m.get("weights"))]
    if kind == "event_study":
        from citynet.analysis.figures import event_study_plot

        es = D.event_study(df, y, m.get("treat", "low_carbon"), m.get("cohort"), ctrl, m.get("leads", 5),
                           m.get("lags", 5), fe=fe, vcov=vcov, name=name, weights=m.get("weights"))
        p = event_study_plot(es, out_dir / f"{_stem(name, 'event_study')}.png")
        files.append(str(p))
        files.append(write_csv(es.coefficients(), out_dir / f"{_stem(name, 'event_study')}_coefficients.csv"))
        return [es.result]
    if kind == "placebo":
        from citynet.analysis.figures import placebo_plot

        pl = D.placebo(df, y, m.get("treat", "low_carbon"), m.get("cohort"), ctrl, n=m.get("n", 500),
                       seed=m.get("seed", 0), fe=fe, vcov=vcov)
        p = placebo_plot(pl, out_dir / f"{_stem(name, 'placebo')}.png")
        jp = out_dir / f"{_stem(name, 'placebo')}.json"
        jp.write_text(json.dumps(pl.summary(), indent=2), encoding="utf-8")
        files += [str(p), str(jp)]
        # the table column shows the placebo distribution (mean, SD in parentheses), not the real estimate
        sm = pl.summary()
        r = FitResult(depvar=pl.real.depvar, params=pd.Series({pl.term: sm["placebo_mean"]}),
                      se=pd.Series({pl.term: sm["placebo_sd"]}), pvalues=pd.Series({pl.term: np.nan}),
                      nobs=pl.real.nobs, model="placebo", fixed_effects=list(pl.real.fixed_effects), vcov="placebo",
                      stats={"placebo_real": pl.estimate, "placebo_pvalue": pl.pvalue, "placebo_draws": sm["n"]},
                      name=name or "Placebo",
                      notes=[f"Placebo: treatment reassigned at random {int(sm['n']):,} times; the column shows the mean "
                             "and (SD) of the placebo estimates; p = share of |placebo| ≥ |real estimate|.",
                             *(n for n in pl.real.notes if not n.startswith("TWFE DID"))])
        return [r]
    if kind == "psm_did":
        covariates = _require(m, "covariates", '["gdp_per_capita", "population"]')
        out = D.psm_did(df, y, covariates, m.get("treat", "low_carbon"), m.get("cohort"), m.get("controls"),
                        caliper=m.get("caliper"), seed=m.get("seed", 0), fe=fe, vcov=vcov)
        files.append(write_csv(out.balance, out_dir / f"{_stem(name, 'psm')}_balance.csv", index=True))
        out.result.name = name or "PSM-DID"
        return [out.result]
    if kind == "cs":
        cs = D.callaway_santanna(df, y, m.get("treat", "low_carbon"), m.get("cohort"),
                                 control=m.get("control", "never"), n_boot=m.get("n_boot", 199), seed=m.get("seed", 0),
                                 se=_did_se(m))
        files.append(write_csv(cs.att_gt, out_dir / f"{_stem(name, 'cs')}_att_gt.csv"))
        cs.simple.name = name or cs.simple.name
        return [cs.simple]
    if kind == "gardner":
        return [D.gardner_did(df, y, m.get("treat", "low_carbon"), ctrl, n_boot=m.get("n_boot", 99),
                              seed=m.get("seed", 0), se=_did_se(m))]
    if kind == "3sls":
        sysres = three_sls(df, _require(m, "equations", '["y1 ~ y2 + x1", "y2 ~ y1 + x2"]'), fe=m.get("fe", "city_code + year"),
                           vcov=m.get("vcov", "unadjusted"), names=m.get("names"))
        return sysres.results
    if kind == "gravity":
        return [gravity(df, m.get("y", "collab"), m.get("x", ["log_distance"]),
                        fe=m.get("fe", "origin_year + dest_year"), vcov=m.get("vcov"), name=name)]
    if kind == "sdm":
        return _run_sdm(m, df, name)
    if kind == "moran":
        return _run_moran(m, df, name, out_dir, files)
    if kind in DESIGN_RUNNERS:
        return DESIGN_RUNNERS[kind](m, df, name, out_dir, files, vcov, spatial_weights)
    raise AssertionError(kind)


def spatial_weights(spec: str | dict | None, panel: pd.DataFrame | None = None):
    """W from a spec value: ``inverse_distance`` (default), ``inverse_squared_distance``, ``knn:5``,
    ``economic:gdp_per_capita`` (1/|Ȳi−Ȳj|), ``gdp_nested:gdp_per_capita`` (W_d·diag(Ȳj/Ȳ)), ``queen`` or
    ``rook`` contiguity of the prefecture polygons (``queen:nearest`` links islands to their nearest city).
    The suffix ``@centroids`` makes a distance-based W use polygon centroids instead of gazetteer points."""
    from citynet.analysis import spatial as S
    from citynet.analysis.spatial import weights as SW

    text = spec or "inverse_distance"
    text, at, where = text.partition("@")
    if at and where != "centroids":
        raise AnalysisError(f"unknown point set {where!r} in W {spec!r}", fix="write e.g. w = \"knn:5@centroids\"")
    cities = SW.polygon_centroids() if at else None
    kind, _, arg = text.partition(":")
    if kind in ("queen", "rook"):
        if arg not in ("", "nearest"):
            raise AnalysisError(f"unknown option {arg!r} in W {spec!r}", fix=f"write w = \"{kind}\" or \"{kind}:nearest\"")
        return SW.contiguity(kind, islands=arg or "error")
    if kind == "inverse_distance":
        return S.inverse_distance(cities)
    if kind == "inverse_squared_distance":
        return S.inverse_squared_distance(cities)
    if kind == "knn":
        if arg and not (arg.isdigit() and int(arg) >= 1):
            raise AnalysisError(f"W {spec!r}: k = {arg!r} is not a whole number of at least 1 (the neighbours of each "
                                "city)", fix='write e.g. w = "knn:5"')
        try:
            return S.knn(cities, k=int(arg or 5))
        except ValueError as exc:  # more neighbours than cities
            raise AnalysisError(f"W {spec!r}: {exc}", fix='write e.g. w = "knn:5"') from None
    if kind in ("economic", "gdp_nested"):
        if panel is None or not arg or arg not in panel.columns:
            raise AnalysisError(f"W {spec!r} needs a panel column for Ȳ", fix="write e.g. w = \"gdp_nested:gdp_per_capita\"")
        means = S.city_means(panel, arg)
        return S.economic_distance(means) if kind == "economic" else S.gdp_nested(means, cities)
    raise AnalysisError(f"unknown spatial weights {spec!r}",
                        fix="use inverse_distance, inverse_squared_distance, knn:K, economic:VAR, gdp_nested:VAR, "
                            "queen, rook (queen:nearest, rook:nearest), with @centroids for polygon centroids")


def _spatial_frame(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Derived columns (ln_, lK_) and the years in which every city has every column (balanced panel)."""
    from citynet.analysis.formula import prepare

    data, _ = prepare(df, f"{columns[0]} ~ {' + '.join(columns[1:]) or '1'}")
    complete = data.dropna(subset=columns).groupby("year")["city_code"].nunique()
    years = [int(y) for y, n in complete.items() if n == data["city_code"].nunique()]
    if not years:
        raise AnalysisError(f"no year in which every city has {', '.join(columns)}",
                            fix="restrict the sample (years, cities) so that the panel is balanced")
    return data, years


#: the fixed effects of the spatial panel models (``fit_sdm``, ``spatial_tests``: ``city`` / ``twoway``), also as
#: the other kinds spell them
SPATIAL_EFFECTS = {"city": "city", "city_code": "city", "twoway": "twoway", "city_code+year": "twoway",
                   "year+city_code": "twoway"}


def spatial_fixed_effects(fe: object, where: str, kind: str) -> str:
    """``fe`` of an sdm or spatial_tests model (``where``: how messages name it, ``designs.model_label``): city (city
    effects) or twoway (city and year), written either way."""
    key = "".join(str(fe).split()) if isinstance(fe, str) else None
    if key not in SPATIAL_EFFECTS:
        raise AnalysisError(f"{where} (kind {kind}): fe = {fe!r}; the spatial panel models absorb city effects "
                            "or city and year effects", fix='write fe = "city" (or "city_code") or fe = "twoway" '
                                                          '(or "city_code + year")')
    return SPATIAL_EFFECTS[key]


def _run_sdm(m: dict, df: pd.DataFrame, name: str | None) -> list[FitResult]:
    """Spatial Durbin model with LeSage–Pace effects: columns coefficients, direct, indirect, total."""
    from citynet.analysis import spatial as S

    y, x = _require(m, "y", '"ln_green_patents"'), list(_require(m, "x", '["l1_collab_degree"]'))
    data, years = _spatial_frame(df, [y, *x])
    w = spatial_weights(m.get("w"), data)
    res = S.fit_sdm(data, y, x, w, fe=spatial_fixed_effects(m.get("fe", "city"), model_label(m), "sdm"), lag_x=m.get("lag_x", True),
                    effects_draws=m.get("effects_draws", 1000), seed=m.get("seed", 0), years=years)
    out = [res.coef] + [res.effects[k] for k in ("direct", "indirect", "total")]
    titles = [name or "SDM", "Direct", "Indirect", "Total"]
    for r, t in zip(out, titles, strict=True):
        r.name = t
    return out


def _run_moran(m: dict, df: pd.DataFrame, name: str | None, out_dir: Path, files: list[str]) -> list[FitResult]:
    """Global Moran's I per year (CSV) and Moran scatter plots (PNG) for the chosen years; no table column."""
    from citynet.analysis import spatial as S

    var = m.get("var", "ln_green_patents")
    data, years = _spatial_frame(df, [var])
    w = spatial_weights(m.get("w"), data)
    stem = _stem(name, "moran")
    table = S.moran_by_year(data, var, w, years=years, permutations=m.get("permutations", 999))
    files.append(write_csv(table.reset_index(), out_dir / f"{stem}.csv"))
    for year in m.get("scatter_years", [years[0], years[-1]]):
        png = out_dir / f"{stem}_scatter_{year}.png"
        S.moran_scatter(data, var, w, year, png, title=f"Moran scatter, {var}, {year}")
        files.append(str(png))
    return []


def _stem(name: str | None, kind: str) -> str:
    import re

    base = re.sub(r"[^\w\-]+", "_", name or kind).strip("_") or kind
    return base


def panel_stamp(ws) -> dict[str, Any]:
    """``{"network": key, "panel_years": [first, last]}`` of the city-year panel the results were fitted on
    (its file metadata, written by ``citynet metrics``); empty when unknown."""
    from citynet.metrics.pipeline import panel_meta

    meta = panel_meta(ws.panel("city-year")) or {}
    if not meta.get("network"):
        return {}
    return {"network": meta["network"], "panel_years": [meta.get("first_year"), meta.get("last_year")]}


def run_spec(spec: dict[str, Any] | str | Path, ws, out_dir: Path | None = None, bom: bool = True) -> SpecOutput:
    """Run every model of a spec; write tables (md, tex, csv, html), figures and side tables. Every CSV file
    (tables and side tables) is UTF-8 with a byte order mark for Excel, plain UTF-8 with ``bom=False``
    (``citynet.csvfile``; ``citynet fit SPEC --no-bom``)."""
    if not isinstance(spec, dict):
        spec = load_spec(spec)
    check_spec(spec)
    head = spec.get("spec", {})
    out_dir = Path(out_dir or ws.results)
    out_dir.mkdir(parents=True, exist_ok=True)
    get_panel = load_panels(ws, spec.get("panel_options"))
    tables = spec.get("tables") or [{**head, "models": spec.get("models", [])}]
    out = SpecOutput()
    from citynet.analysis.tables import filter_note, source_note
    from citynet.metrics.pipeline import panel_meta

    note = filter_note(panel_meta(ws.panel("city-year")))
    # every table written (side tables of the designs too) names its network filter; every CSV has the BOM or not
    with source_note(note), csv_bom(bom):
        _run_tables(spec, tables, get_panel, ws, out_dir, out, note)
    return out


def _run_tables(spec: dict, tables: list[dict], get_panel, ws, out_dir: Path, out: SpecOutput,
                note: str | None) -> None:
    """Fit every table's models; write the table files and their JSON into ``out_dir``, record them in ``out``."""
    head = spec.get("spec", {})
    for tab in tables:
        tname = tab.get("name") or head.get("name") or "table"
        defaults = {"panel": tab.get("panel", head.get("panel", "city-year")),
                    "vcov": tab.get("vcov", head.get("vcov")),
                    "allow_collinear": tab.get("allow_collinear", head.get("allow_collinear", True)),
                    "sample": {**sample_table(spec.get("sample"), "the spec"),
                               **sample_table(tab.get("sample"), f"table {tname!r}")}}
        models = tab.get("models", [])
        if not models:
            raise AnalysisError(f"table {tname!r} has no models", fix="add [[models]] entries")
        results: list[FitResult] = []
        several = len(spec.get("tables") or []) > 1
        for i, m in enumerate(models, 1):
            if isinstance(m, dict) and not m.get("name"):  # named in messages by its position (was "model None")
                m = {**m, POSITION_KEY: i, **({TABLE_KEY: tname} if several else {})}
            try:
                results += _run_model(m, get_panel, defaults, out_dir, out.files)
            except AnalysisError:  # its own message and fix (an IslandsError is also a ValueError)
                raise
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, FloatingPointError) as exc:
                # numerical failures inside an estimator (a singular design on a small or narrow sample):
                # one message naming the model, not a traceback
                label = repr(m["name"]) if m.get("name") else m[POSITION_KEY]
                raise AnalysisError(
                    f"table {tname!r}, model {label} (kind {m.get('kind', 'fit')!r}) cannot be estimated on this "
                    f"sample: {exc}",
                    fix="check that its variables vary within the sample (regressors collinear or constant make the "
                        "design singular), widen the sample, or drop the model from the spec") from exc
        if not results:  # figures and side tables only (e.g. Moran's I)
            continue
        labels = {**head.get("labels", {}), **tab.get("labels", {})}
        t = regression_table(results, labels=labels, keep=tab.get("keep", head.get("keep")),
                             drop=tab.get("drop", head.get("drop", [])), stats=tab.get("stats", head.get("stats", [])),
                             title=tab.get("title", head.get("title")), digits=tab.get("digits", 3))
        if note:
            t.notes.append(note)
        out.files += t.write(str(out_dir / tname))
        jp = out_dir / f"{tname}.json"
        stamp = panel_stamp(ws)
        jp.write_text(json.dumps([r.to_json() | {"name": r.name} | stamp for r in results], indent=2, default=float),
                      encoding="utf-8")
        out.files.append(str(jp))
        out.tables[tname] = t
        out.results[tname] = results
