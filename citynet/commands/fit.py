"""``citynet fit``: one model from a formula (table or JSON), or a table of models from a SPEC.toml."""

from __future__ import annotations

import json
from pathlib import Path

import click

from citynet.commands.common import ensure_folder, is_quiet, network_option, progress_bars, workspace_option
from citynet.errors import UserError

#: suffixes of the files a SPEC writes: an --out that ends so names a file, not the folder --out is
TABLE_SUFFIXES = frozenset([".md", ".tex", ".csv", ".html", ".htm", ".json", ".xlsx", ".docx", ".txt", ".pdf"])


@click.command(
    "fit",
    epilog="""\b
Examples:
  citynet fit -w ws --formula "ln_collab_patents ~ l1_collab_degree + l1_collab_betweenness | city_code + year"
  citynet fit -w ws --formula "green_patents ~ low_carbon | city_code + year" --model ppml --json
  citynet fit -w ws --panel dyad-year --model ppml --formula "collab ~ log_distance | origin_year + dest_year"
  citynet fit -w ws --formula "y ~ x | city_code + year" --vcov hc1 --sample "year >= 2010"
  citynet fit -w ws --formula "y ~ low_carbon | city_code + year" --inference wild:999
  citynet fit -w ws --formula "y ~ csw(x1, x2) | sw0(city_code + year)"   (four models, a column each)
  citynet fit -w ws --formula "y ~ low_carbon | city_code + year" --fsplit region   (full sample, then each region)
  citynet fit -w ws examples/p001_tables3_5.toml        (a paper's table into ws/results/)
  citynet fit -w ws examples/p001_tables3_5.toml --network invention.y02.granted   (into ws/results/invention.y02.granted/)
Formula names: ln_X = ln(1+X); l1_X = X one year earlier within the city; fixest syntax for FE and IV,
and for multiple estimation: sw(), sw0(), csw(), csw0(), mvsw(), c(y1, y2) ~ … (docs/methods.md §4).
Every result (the JSON of a table, --json) records the network filter and the panel's first and last year.
Warnings (a regressor nearly collinear with the fixed effects, fewer than 40 clusters, granted patents
by application year in the last years) go to stderr and into the table notes.
A SPEC's CSV files (its tables and side tables: group-time ATTs, PSM balance, event-study coefficients …)
are UTF-8 with a byte order mark, as citynet export writes them, so that Excel shows Chinese names;
--no-bom writes plain UTF-8 (for Python's csv with encoding="utf-8", R's read.csv, cut or awk).""",
)
@workspace_option()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--formula", "-f", help='fixest syntax, e.g. "ln_collab_patents ~ l1_collab_degree | city_code + year"; '
                                      'IV: "y ~ exog | fe | endog ~ instr". ln_X = ln(1+X), l1_X = X at t-1.')
@click.option("--model", "-m", type=click.Choice(["ols", "ppml", "2sls"]), default="ols", show_default=True)
@click.option("--panel", "panel_name", type=click.Choice(["city-year", "dyad-year"]), default="city-year",
              show_default=True)
@click.option("--cluster", help="Cluster standard errors by this column, named as in a formula (a covariate's header "
                                "in backquotes: `GDP (亿元)`; A+B: two-way) (default: city_code on the city-year "
                                "panel; city pair on the dyad-year panel).")
@click.option("--vcov", type=click.Choice(["hc1", "iid"]), help="Robust (HC1) or classical standard errors instead.")
@click.option("--sample", help='A pandas query restricting the sample, e.g. "year >= 2010".')
@click.option("--split", "split", help="Fit the model once per value of this column (fixest's split: region, tier, "
                                       "tier_high …), a column each.")
@click.option("--fsplit", "fsplit", help="As --split, with the full sample first (fixest's fsplit).")
@click.option("--inference", help="Extra inference for an OLS formula: wild:REPS[:webb] (wild cluster bootstrap p-value "
                                  "and CI; one-way clusters: --cluster A or A^B, not A+B), ri:REPS (randomization inference over treatment paths) or conley:KM[:LAG] "
                                  "(Conley SEs, distance cutoff in km, serial lags in years).")
@click.option("--param", help="Coefficient tested by --inference wild/ri (default: the first regressor).")
@click.option("--weights", help="Regression weights: a column (e.g. population), as fixest's weights or Stata's "
                                "[aweight]; rows with a missing or zero weight are left out.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (coefficients, statistics, the "
                                                     "network filter and the panel's years; several models from "
                                                     "sw()/csw(): a list).")
@click.option("--out", type=click.Path(file_okay=False), help="Folder for a SPEC's outputs, created if missing (default: "
                                                             "WS/results, or WS/results/KEY for another filter than the "
                                                             "default).")
@click.option("--no-bom", is_flag=True, help="A SPEC's CSV files in plain UTF-8, without the byte order mark Excel "
                                             "needs to read Chinese text.")
@network_option
@click.pass_context
def command(ctx, ws, spec, formula, model, panel_name, cluster, vcov, sample, split, fsplit, inference, param, weights,
            as_json, out, network, no_bom):
    """Fit a model from --formula, or run a SPEC.toml of several models into results/."""
    if bool(spec) == bool(formula):
        raise UserError("give either --formula or a SPEC.toml file (not both, not neither)",
                        fix='citynet fit -w WS --formula "y ~ x | city_code + year"  or  citynet fit -w WS spec.toml')
    if cluster and vcov:
        raise UserError("--cluster and --vcov exclude each other", fix="pick one kind of standard errors")
    _refuse_ignored(ctx, spec, panel_name, inference)
    from pathlib import Path

    if param:  # a covariate's header in backquotes, as in the formula: its column name
        from citynet.analysis.formula import unquote

        param = unquote(param)

    if out:
        ensure_folder(out, "output folder")
    key = ws.select_network(network)
    _warn_if_stale(ws, "city-year" if spec else panel_name)
    if spec:
        from citynet.analysis.spec import load_spec, run_spec

        spec_dict = load_spec(spec)
        out_dir = Path(out) if out else (ws.results if ws.network is None else ws.results / key)
        if out and not out_dir.exists() and out_dir.suffix.lower() in TABLE_SUFFIXES:
            # a folder named results.md was made, the tables inside it: a file was meant
            raise UserError(f"--out {out} names a file, and --out is the folder of the tables (each written as "
                            "NAME.md, .tex, .csv, .html, .json, NAME from the spec)",
                            fix=f"--out {out_dir.with_suffix('')} (a folder, created if missing)")
        if not out:  # WS/results of a read-only workspace: said before the models are fitted
            ensure_folder(out_dir, "the tables into", fix="write them elsewhere: --out DIR")
        with progress_bars(ctx):
            res = run_spec(spec_dict, ws, out_dir, bom=not no_bom)
        if as_json:
            click.echo(json.dumps({k: [r.to_json() | {"name": r.name} for r in v] for k, v in res.results.items()},
                                  indent=2, default=float))
            return
        quiet = is_quiet(ctx)  # -q: only errors, and the warning below
        for name, t in res.tables.items():
            if not quiet:
                click.echo(t.to_markdown())
                click.echo(f"wrote {name}.{{md,tex,csv,html,json}} to {out_dir}", err=True)
        table_files = {f"{n}.{ext}" for n in res.tables for ext in ("md", "tex", "csv", "html", "json")}
        side = [Path(f).name for f in dict.fromkeys(res.files) if Path(f).name not in table_files]
        if side and not quiet:  # figures and side tables (an event-study plot, a balance table, Moran's I …)
            click.echo(f"wrote {', '.join(side)} to {out_dir}", err=True)
        if not res.files:
            click.echo("the spec wrote no file (no model gave a table, a figure or a side table)", err=True)
        return
    from citynet.analysis.estimators import fit, gravity_formula
    from citynet.analysis.spec import load_panels, panel_stamp
    from citynet.analysis.tables import regression_table

    df = load_panels(ws)(panel_name)
    subject = "--cluster"
    if not cluster and not vcov and panel_name == "city-year":
        cluster = ws.settings.get("analysis", {}).get("cluster")  # citynet.toml [analysis] cluster
        subject = "citynet.toml [analysis] cluster"
    if cluster:  # spelled as in a formula: the column, or a covariate's header in backquotes
        from citynet.analysis.formula import column_names

        cluster = column_names(cluster, df.columns, subject, several=True)
    if weights:  # spelled as in a formula, as --cluster
        from citynet.analysis.formula import column_names

        weights = column_names(weights, df.columns, "--weights")
    v = vcov or (f"cluster:{cluster}" if cluster else None)
    if panel_name == "dyad-year" and v is None:  # clustered by city pair unless told otherwise
        v = "cluster:pair"

    #: how the messages name a split's sample: as the user wrote it, not as the query made of it ('`year` == 2006')
    labels: dict[str | None, str] = {}

    def one(formula: str, sample: str | None):
        """The fit of one model (a formula without stepwise functions) on ``sample``."""
        label = labels.get(sample)
        if panel_name == "dyad-year":
            if model != "ppml":
                return fit(df, formula, model=model, vcov=v, sample=sample, weights=weights, sample_label=label)
            return gravity_formula(df, formula, vcov=v, sample=sample, weights=weights, sample_label=label)
        if inference:  # analysis/inference.py: wild bootstrap, randomization inference, Conley
            from citynet.analysis.estimators import apply_sample
            from citynet.analysis.formula import derive
            from citynet.analysis.inference import fit_with_inference

            # lags on every row, then the sample (as fit() does): the sample's first year keeps its lag
            return fit_with_inference(apply_sample(derive(df, [formula]), sample), formula, inference, param=param, vcov=v,
                                      cluster=cluster or "city_code", model=model)
        return fit(df, formula, model=model, vcov=v, sample=sample, weights=weights, sample_label=label)

    from citynet.analysis.multiple import expand, fit_each, models, split_labels, split_samples

    if split and fsplit:
        raise UserError("--split and --fsplit exclude each other", fix="--fsplit is --split with the full sample first")
    formulas = expand(formula)  # several models: sw(), csw() … (analysis/multiple.py)
    samples: list[tuple[str | None, str | None]] = [(None, sample)]
    if split or fsplit:
        from citynet.analysis.formula import column_names

        option = "--split" if split else "--fsplit"
        by = column_names(split or fsplit, df.columns, option)
        samples = split_samples(df, by, sample, full=bool(fsplit))
        labels.update(split_labels(samples, by, f"{option} {by}", sample))
    def named(f: str, where: str | None, column: str | None):
        r = one(f, where)
        if column is not None:  # else the estimator's own name (a gravity model's)
            r.name = column
        return r

    # the samples outermost, as fixest; a model the data cannot identify leaves its column out, with a note
    planned = models(formulas, samples)
    results = fit_each(planned, named, df, labels)
    for note in dict.fromkeys(n for r in results for n in r.notes):
        if note.startswith("Warning:"):
            click.echo(note, err=True)
    if as_json:
        docs = [r.to_json() | panel_stamp(ws) for r in results]
        click.echo(json.dumps(docs[0] if len(planned) == 1 else docs, indent=2, default=float))  # a list if several asked
    else:
        from citynet.analysis.tables import filter_note
        from citynet.metrics.pipeline import panel_meta

        shown = ("kp_rk_f", "first_stage_F", "wild_pvalue", "wild_ci_low", "wild_ci_high", "ri_pvalue")
        t = regression_table(results, stats=[k for k in shown if any(k in r.stats for r in results)])
        note = filter_note(panel_meta(ws.panel("city-year")))
        if note:  # the table names the panels it was fitted on, as the tables of a SPEC do
            t.notes.append(note)
        click.echo(t.to_markdown())


def _warn_if_stale(ws, panel: str) -> None:
    """One warning when an ingest changed the corpus after the panels were computed (as export, report and map
    say it): the fit would otherwise run on the old corpus's networks without a word."""
    from citynet.metrics.pipeline import panel_meta, stale_note

    try:
        stale = stale_note(ws, panel_meta(ws.panel(panel)))
    except Exception:  # noqa: BLE001 - a missing or damaged panel: reading it below says which, with the fix
        return
    if stale:
        click.secho(f"warning: {stale}", fg="yellow", err=True)


# options that only a --formula fit reads (a SPEC.toml sets them per model) and the one option they need
FORMULA_ONLY = ("model", "panel_name", "cluster", "vcov", "sample", "split", "fsplit", "inference", "param", "weights")


def _refuse_ignored(ctx: click.Context, spec: str | None, panel: str, inference: str | None) -> None:
    """An option the chosen path would not read is a usage error, never silently dropped: the options of a
    formula fit given with a SPEC, ``--out`` without a SPEC, ``--param`` without ``--inference``, and
    ``--inference`` on the dyad-year panel (its bootstraps and permutations are those of city panels)."""
    from click.core import ParameterSource

    def given(name: str) -> str | None:
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            return None
        opt = next(p for p in ctx.command.params if p.name == name)
        return max(opt.opts, key=len)

    if spec and "~" in spec and not Path(spec).exists():
        return  # a formula where the SPEC goes: load_spec says so with its fix, and with -f these options apply
    if spec:
        ignored = [o for o in map(given, FORMULA_ONLY) if o]
        if ignored:
            raise UserError(f"{', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} to a --formula fit, "
                            "not to a SPEC file (it would be ignored)",
                            fix="set them per model in the SPEC (docs/configuration.md §7), or fit with --formula")
        return
    if given("out"):
        raise UserError("--out is the folder of a SPEC's outputs; a --formula fit prints its table",
                        fix='redirect it: citynet fit -w WS --formula "…" > table.md  (or --json > fit.json)')
    if given("no_bom"):
        raise UserError("--no-bom is for the CSV files of a SPEC; a --formula fit prints its table and writes no file",
                        fix='drop --no-bom (citynet fit -w WS --formula "…" > table.md writes plain UTF-8)')
    if given("param") and not inference:
        raise UserError("--param names the coefficient tested by --inference wild/ri, and no --inference is given",
                        fix="add --inference wild:999 (or ri:999), or drop --param")
    if given("weights") and inference:
        raise UserError("--weights and --inference exclude each other (the wild bootstrap, randomization inference and "
                        "Conley SEs here are unweighted)", fix="drop one of them")
    if inference and panel == "dyad-year":
        raise UserError("--inference works on the city-year panel, not on the dyad-year panel",
                        fix="drop --inference, or fit the city-year panel (--panel city-year)")
