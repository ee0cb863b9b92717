"""Panel assembly: city-year metrics + covariates + policy dummies, transforms and sample filters.

``assemble_panel`` joins the city-year metrics with a covariate table — a DataFrame, or a CSV / XLSX /
XLS / Stata ``.dta`` file — keyed as ``citynet ingest --covariates`` keys it (``etl.covariates.load_covariates``:
city codes or names in the row's year, 巢湖市 of 2008 a split prefecture and not loaded, 532700 思茅地区 loaded
as 530800 普洱市, 昆山市 as 苏州 with a note), and with the built-in policy dummies (``analysis.policy``). It
returns the panel and a :class:`Coverage` report: rows read, loaded and not loaded with their reasons (the
ingest's quarantine), the county-key and former-key notes, and panel rows without covariates.

Transforms: ``add_ln1p`` (ln(1+x)), ``add_lags`` (aligned by year within city, see
``analysis.formula.lag``), ``winsorize`` (two-sided at the p and 1−p quantiles, pooled or by
year), ``filter_sample`` (years, drop the four municipalities, keep regions or tiers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.analysis.formula import lag, ln1p

from citynet.errors import AnalysisError, DataError

_ROWS_SHOWN = 10  # rejected rows printed by Coverage.__str__ (all are in Coverage.quarantine)


@dataclass
class Coverage:
    """What the covariate join kept and what it did not, as ``citynet ingest --covariates`` reports it.

    ``covariate_rows`` (rows read) = ``matched_rows`` (rows loaded) + the rows not loaded, counted per reason in
    ``quarantined_by_reason`` (``unknown_city``, ``abolished_city``, ``city_key_conflict``, ``bad_year``,
    ``duplicate``: docs/methods.md) and listed in ``quarantine`` (the columns of ingest's
    ``quarantine/covariates__<file>.csv``: source, row, field, reason, the row's cells; a file's rows are its
    lines, a DataFrame's (``source`` "DataFrame") are counted from 0, as ``.iloc``). ``unmatched_keys``: the keys
    of the rows that match no city of today's set (unknown, or a former unit). ``county_keys`` / ``former_keys``:
    rows loaded as their city's from a district's or county's key, or from a former prefecture's (ingest's notes).
    ``report``: ingest's report of the table (reports/ingest.json ``covariates[]``)."""

    covariate_rows: int = 0
    matched_rows: int = 0
    unmatched_keys: list[str] = field(default_factory=list)
    panel_rows: int = 0
    panel_rows_without_covariates: int = 0
    covariate_rows_outside_panel: int = 0  # loaded rows whose city-year the metrics panel lacks (a left join drops them)
    cities_without_covariates: list[str] = field(default_factory=list)
    key_column: str = ""
    source: str = ""
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantine: pd.DataFrame | None = None
    county_keys: dict = field(default_factory=dict)
    former_keys: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        if self.quarantine is not None:
            out["quarantine"] = self.quarantine.to_dict("records")
        return out

    def __str__(self) -> str:
        not_loaded = self.covariate_rows - self.matched_rows
        reasons = ", ".join(f"{r} {n:,}" for r, n in self.quarantined_by_reason.items())
        lines = [f"covariates: {self.matched_rows:,}/{self.covariate_rows:,} rows loaded (key: {self.key_column})"
                 + (f", {not_loaded:,} not loaded: {reasons}" if not_loaded else "")]
        q = self.quarantine if self.quarantine is not None else pd.DataFrame()
        where = "iloc" if self.source == "DataFrame" else "row"
        for r in q.head(_ROWS_SHOWN).itertuples(index=False):
            lines.append(f"  {where} {r.source_row} ({r.field}): {r.reason_code}: {r.reason}")
        if len(q) > _ROWS_SHOWN:
            lines.append(f"  … and {len(q) - _ROWS_SHOWN:,} more (Coverage.quarantine)")
        if self.county_keys:
            ck = self.county_keys
            lines.append(f"county keys: {ck['rows']:,} {_rows(ck['rows'])} keyed by the code or name of a district, "
                         "county or county-level city loaded as their city's values ("
                         + ", ".join(f"{k} → {c}" for k, c in ck["examples"]) + "): a district's or county's figures "
                         "are not the city's")
        if self.former_keys:
            fk = self.former_keys
            lines.append(f"former keys: {fk['rows']:,} {_rows(fk['rows'])} keyed by former codes or names loaded as "
                         f"their successor city: {'; '.join(fk['loaded_as'])}")
        if self.report.get("wide"):
            w = self.report["wide"]
            lines.append(f"one column per year ({w['years'][0]}–{w['years'][-1]}), read as the variable {w['variable']}")
        for col, v in self.report.get("not_numbers", {}).items():
            lines.append(f"{col}: {v['cells']:,} cells that are not numbers were left missing (e.g. "
                         f"{', '.join(map(repr, v['examples']))})")
        if self.report.get("dropped_columns"):
            lines.append("columns without any number left out: " + ", ".join(self.report["dropped_columns"]))
        lines.append(f"panel: {self.panel_rows_without_covariates:,}/{self.panel_rows:,} rows have no covariates")
        if self.covariate_rows_outside_panel:
            lines.append(f"covariates: {self.covariate_rows_outside_panel:,} loaded {_rows(self.covariate_rows_outside_panel)} "
                         "for city-years the metrics panel does not have (other years or cities), so not in the panel")
        if self.unmatched_keys:
            lines.append("unmatched keys: " + ", ".join(self.unmatched_keys[:30])
                         + (" …" if len(self.unmatched_keys) > 30 else ""))
        return "\n".join(lines)


def _rows(n: int) -> str:
    return "row was" if n == 1 else "rows were"


def key_covariates(cov: pd.DataFrame | str | Path, source: str = "covariates") -> tuple[pd.DataFrame, Coverage]:
    """A covariate table (a DataFrame, or a CSV/XLSX/XLS/.dta file) keyed as ``citynet ingest --covariates``
    keys it — ``etl.covariates.load_covariates`` for a file, its ``covariate_table`` for a DataFrame: the same
    rows, ``city_code`` (6-digit) and ``year`` first, the columns under their formula names — and the
    :class:`Coverage` of the rows read, loaded and not loaded (each with its reason, as ingest's quarantine).
    A table none of whose rows is keyed to a city stops (DataError), as ingest does. ``source`` names a DataFrame in
    the messages (and the variable of a wide one: one column per year, as ingest names it after the file)."""
    from citynet.etl.covariates import covariate_table, load_covariates
    from citynet.etl.quarantine import Quarantine

    q = Quarantine()
    if isinstance(cov, pd.DataFrame):
        # a copy (covariate_table names its columns as text), its rows counted from 0 as .iloc counts them
        table, report = covariate_table(cov.reset_index(drop=True), q, source, first_row=0)
        where = "DataFrame"
    else:
        path = Path(cov)
        if not path.is_file():
            raise DataError(f"covariate file {path} does not exist", fix="check the path")
        table, report = load_covariates(path, q)
        where = str(path)
    rejected = q.table().reset_index(drop=True)
    table = table.astype({"year": "int64"})
    rep = Coverage(covariate_rows=report["rows_read"], matched_rows=report["rows_loaded"], source=where,
                   quarantined_by_reason=rejected["reason_code"].value_counts().sort_index().to_dict(),
                   quarantine=rejected, county_keys=report.get("county_keys", {}),
                   former_keys=report.get("former_keys", {}), report=report,
                   key_column=" then ".join(report["key_columns"]), unmatched_keys=_unmatched(rejected))
    return table, rep


def _unmatched(rejected: pd.DataFrame) -> list[str]:
    """The keys of the rows quarantined because they match no city of today's set (``unknown_city``,
    ``abolished_city``), as the table has them, sorted."""
    keys = set()
    for r in rejected[rejected["reason_code"].isin(["unknown_city", "abolished_city"])].to_dict("records"):
        keys.add(str(r.get(r["field"], r.get(f"{r['field']} (input)"))))
    return sorted(keys)


def assemble_panel(
    metrics: pd.DataFrame | str | Path,
    covariates: pd.DataFrame | str | Path | None = None,
    *,
    policies: bool | Sequence[str] = True,
    low_carbon_coding: str = "announce",
    county_units: str = "prefecture",
    carbon_coding: str = "launch",
    ln: Sequence[str] = (),
    lags: dict[str, int | Sequence[int]] | None = None,
    winsor: dict | None = None,
    how: str = "left",
    keyed: bool = False,
) -> tuple[pd.DataFrame, Coverage]:
    """The analysis panel: metrics ⋈ covariates ⋈ policy dummies, plus requested transforms.

    ``keyed``: the covariates are ``canonical/covariates.parquet`` (a DataFrame), which ``ingest --covariates``
    has already keyed with :func:`key_covariates`'s rules: joined as they are, not keyed a second time.

    ``policies``: True adds ``low_carbon`` and ``carbon_trading`` (and ``low_carbon_year``, the
    cohort) unless the covariates already carry them (then ``low_carbon_year`` is each city's first panel
    year with ``low_carbon`` = 1); a list picks among them. ``ln``: columns to
    give an ``ln_`` twin; ``lags``: ``{column: k or [k, …]}`` adds ``l{k}_column``;
    ``winsor``: keyword arguments of :func:`winsorize`.
    """
    if not isinstance(metrics, pd.DataFrame):
        metrics = pd.read_parquet(metrics)
    panel = metrics.copy()
    panel["city_code"] = panel["city_code"].astype(str)
    panel["year"] = panel["year"].astype(int)
    rep = Coverage(panel_rows=len(panel))
    if covariates is not None:
        if keyed:  # a table ingested before headers got formula names keeps its 'log': read as log_, as ingest names it
            from citynet.etl.covariates import formula_names_of

            cov = covariates.astype({"city_code": object, "year": "int64"})  # as key_covariates gives them
            data = [c for c in cov.columns if c not in ("city_code", "year")]
            cov = cov.rename(columns=formula_names_of("canonical/covariates.parquet", data))
            rep = Coverage(covariate_rows=len(cov), matched_rows=len(cov), key_column="city_code",
                           source="canonical/covariates.parquet")
        else:
            cov, rep = key_covariates(covariates)
        from citynet.metrics.export import covariate_renames

        cov = cov.rename(columns=covariate_renames(cov.columns, panel.columns))
        if how in ("left", "inner"):  # the join keeps only the panel's city-years: count what it leaves out
            keys = panel[["city_code", "year"]].drop_duplicates()
            outside = cov[["city_code", "year"]].merge(keys, on=["city_code", "year"], how="left", indicator=True)
            rep.covariate_rows_outside_panel = int((outside["_merge"] == "left_only").sum())
        panel = panel.merge(cov, on=["city_code", "year"], how=how, indicator=True)
        no_cov = panel["_merge"] == "left_only"
        rep.panel_rows = len(panel)
        rep.panel_rows_without_covariates = int(no_cov.sum())
        rep.cities_without_covariates = sorted(set(panel.loc[no_cov, "city_code"]) - set(
            panel.loc[~no_cov, "city_code"]))
        panel = panel.drop(columns="_merge")
    if policies:
        from citynet.analysis.policy import policy_panel

        wanted = ["low_carbon", "carbon_trading"] if policies is True else list(policies)
        wanted = [w for w in wanted if w not in panel.columns]
        if wanted:
            pol = policy_panel(panel["city_code"].unique(), sorted(panel["year"].unique()),
                               coding=low_carbon_coding, county_units=county_units, carbon_coding=carbon_coding)
            keep = ["city_code", "year", *wanted]
            if "low_carbon" in wanted and "low_carbon_year" not in panel.columns:
                keep.append("low_carbon_year")
            panel = panel.merge(pol[keep], on=["city_code", "year"], how="left")
        if "low_carbon" in panel.columns and "low_carbon_year" not in panel.columns:
            # low_carbon from the covariates (ingest --policies, or the user's own coding): its cohort is each
            # city's first year with low_carbon = 1 in the panel (cohort = "low_carbon_year" was missing)
            first = panel.loc[panel["low_carbon"] == 1].groupby("city_code")["year"].min()
            panel["low_carbon_year"] = panel["city_code"].map(first).astype(float)
    for c in ln:
        panel = add_ln1p(panel, c)
    for c, ks in (lags or {}).items():
        for k in [ks] if isinstance(ks, int) else ks:
            panel = add_lags(panel, c, k)
    if winsor:
        panel = winsorize(panel, **winsor)
    return panel.sort_values(["city_code", "year"]).reset_index(drop=True), rep


def add_dyad_keys(dyads: pd.DataFrame, origin: str = "city_a", dest: str = "city_b") -> pd.DataFrame:
    """The dyad-year panel with the fixed effects of gravity models as columns, so that any model (OLS or
    PPML, a formula or a SPEC) can name them: ``pair`` (the city pair), ``origin_year`` and ``dest_year`` (a
    city in a year, on either side) — integer codes (Yotov et al. 2016, ch. 1)."""
    o, cities = pd.factorize(pd.concat([dyads[origin], dyads[dest]], ignore_index=True).astype(str))
    n = len(dyads)
    o, d = o[:n].astype(np.int64), o[n:].astype(np.int64)
    t = pd.factorize(dyads["year"])[0].astype(np.int64)
    nt = int(t.max()) + 1 if n else 1
    return dyads.assign(pair=o * len(cities) + d, origin_year=o * nt + t, dest_year=d * nt + t)


def add_ln1p(df: pd.DataFrame, column: str, name: str | None = None) -> pd.DataFrame:
    """Add ``ln_<column>`` = ln(1 + column)."""
    return df.assign(**{name or f"ln_{column}": ln1p(df[column]).to_numpy()})


def add_lags(df: pd.DataFrame, column: str, k: int = 1, name: str | None = None) -> pd.DataFrame:
    """Add ``l<k>_<column>``: the value k years earlier for the same city (by year, not by row)."""
    default = f"l{k}_{column}" if k > 0 else f"f{-k}_{column}"
    return df.assign(**{name or default: lag(df, column, k).to_numpy()})


def winsorize(df: pd.DataFrame, columns: Sequence[str], p: float = 0.01, by: str | None = None,
              suffix: str = "") -> pd.DataFrame:
    """Clip each column at its p and 1−p quantiles (pooled, or within groups ``by``, e.g. ``year``).

    ``suffix=""`` replaces the columns; ``suffix="_w"`` adds winsorised twins.
    """
    out = df.copy()
    for c in columns:
        if c not in out.columns:
            raise AnalysisError(f"winsorize: no column {c!r}", fix=f"columns: {', '.join(out.columns)}")
        x = out[c].astype(float)
        if by:
            lo = x.groupby(out[by]).transform(lambda s: s.quantile(p))
            hi = x.groupby(out[by]).transform(lambda s: s.quantile(1 - p))
        else:
            lo, hi = x.quantile(p), x.quantile(1 - p)
        out[c + suffix] = x.clip(lower=lo, upper=hi)
    return out


def year_range(years: object) -> tuple[int, int]:
    """A sample's years as ``(first, last)``, both included: two whole numbers, the first not after the
    last. Anything else (one year, a set of years, a reversed pair, text) is one message: a set of years is
    a range with ``exclude_years`` or a ``query``."""
    import numbers

    if isinstance(years, np.ndarray):
        years = years.tolist()
    if (isinstance(years, (list, tuple)) and len(years) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in years)
            and years[0] <= years[1]):
        return int(years[0]), int(years[1])
    raise AnalysisError(f"sample years = {years!r} is not [first, last] (two years, the first not after the last)",
                        fix="write years = [2008, 2020]; leave years out with exclude_years = [...] "
                            "or keep chosen ones with query = \"year in [2010, 2015]\"")


def filter_sample(
    df: pd.DataFrame,
    years: tuple[int, int] | Sequence[int] | None = None,
    drop_municipalities: bool = False,
    regions: Sequence[str] | None = None,
    tiers: Sequence[str] | None = None,
    exclude_years: Sequence[int] | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """Sample filters of the papers: a year range ``(first, last)`` inclusive (``year_range``), dropping
    北京/天津/上海/重庆, keeping regions (east/central/west/northeast) or tiers, dropping years, and a pandas
    ``query``. The city filters need a ``city_code`` column (not in the dyad-year panel)."""
    from citynet.etl.cities import city_set

    drop_municipalities, regions, tiers, exclude_years = _sample_shapes(drop_municipalities, regions, tiers,
                                                                        exclude_years)
    out = df
    if years is not None:
        first, last = year_range(years)
        out = out[out["year"].between(first, last)]
    if exclude_years:
        out = out[~out["year"].isin(list(exclude_years))]
    if drop_municipalities or regions or tiers:
        if "city_code" not in out.columns:
            raise AnalysisError("drop_municipalities, regions and tiers select cities; this panel has no city_code "
                                "column (the dyad-year panel has city_a and city_b)",
                                fix='select its pairs with a query, e.g. query = "same_province == 0" (a SPEC\'s [sample] reaches '
                                    'every model: there write drop_municipalities = false, regions = [], tiers = [] '
                                    'in the dyad model\'s own sample)')
        cities = city_set().cities.set_index("city_code")
        if drop_municipalities:
            out = out[out["city_code"].map(cities["tier"]) != "municipality"]
        if regions:
            bad = set(regions) - set(cities["region"])
            if bad:
                raise AnalysisError(f"unknown region(s) {sorted(bad)}", fix="use east, central, west, northeast")
            out = out[out["city_code"].map(cities["region"]).isin(list(regions))]
        if tiers:
            bad = set(tiers) - set(cities["tier"])
            if bad:  # a tier of no city kept no row ("keeps no row of the panel", the tier not named)
                raise AnalysisError(f"unknown tier(s) {sorted(bad)}",
                                    fix="use municipality, sub_provincial, provincial_capital, prefecture")
            out = out[out["city_code"].map(cities["tier"]).isin(list(tiers))]
    if query:
        from citynet.analysis.sample import check_sample_values

        check_sample_values(out, query)
        try:
            out = out.query(query)
        except Exception as exc:  # pandas raises many kinds
            raise AnalysisError(f"sample query {query!r} failed: {exc}",
                                fix=f"columns: {', '.join(map(str, df.columns))}") from exc
    return out


def _sample_shapes(drop_municipalities, regions, tiers, exclude_years):
    """The sample keys as ``filter_sample`` reads them, or one message: ``exclude_years = 2015`` (a number for a
    list) was a TypeError traceback, ``exclude_years = ["2015"]`` (texts) left every year in, ``regions = "east"``
    was read letter by letter (unknown regions a, e, s, t), ``drop_municipalities = "no"`` (a text, so true)
    dropped them. A single year or name is the list of it, as a model's ``controls = "x"`` is ``["x"]``."""
    if not isinstance(drop_municipalities, bool | np.bool_):
        raise AnalysisError(f"sample drop_municipalities = {drop_municipalities!r} is not true or false",
                            fix="write drop_municipalities = true (or false), without quotes")
    names = {}
    for key, value in (("regions", regions), ("tiers", tiers)):
        value = [value] if isinstance(value, str) else value
        if value is not None and (not isinstance(value, list | tuple | set) or not all(isinstance(v, str) for v in value)):
            raise AnalysisError(f"sample {key} = {value!r} is not a list of names",
                                fix=f'write e.g. {key} = ["{"east" if key == "regions" else "prefecture"}"]')
        names[key] = value
    years = [exclude_years] if isinstance(exclude_years, int | np.integer) and not isinstance(exclude_years, bool) \
        else exclude_years
    if years is not None and (not isinstance(years, list | tuple | set)
                              or not all(isinstance(y, int | np.integer) and not isinstance(y, bool) for y in years)):
        raise AnalysisError(f"sample exclude_years = {exclude_years!r} is not a list of years",
                            fix="write e.g. exclude_years = [2020, 2021] (numbers, without quotes)")
    return drop_municipalities, names["regions"], names["tiers"], years


def add_city_attributes(df: pd.DataFrame, columns: Sequence[str] = ("tier", "region", "province_code")) -> pd.DataFrame:
    """Add city-set attributes (tier, region, province) and ``tier_high`` (municipality, provincial
    capital or sub-provincial = 1, the control of paper 002)."""
    from citynet.etl.cities import city_set

    c = city_set().cities.set_index("city_code")
    out = df.copy()
    for col in columns:
        out[col] = out["city_code"].map(c[col])
    tier = out["city_code"].map(c["tier"])
    out["tier_high"] = tier.isin(["municipality", "provincial_capital", "sub_provincial"]).astype(np.int8)
    return out
