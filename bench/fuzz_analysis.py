"""Random newcomer input through the analysis layer: ``citynet fit --formula`` invocations, SPEC files and
covariate tables, each checked for what non-negotiable 5 promises — one message (one ``error:`` line with its
``fix:`` line) and a documented exit code, never a traceback; for covariates also rows read = rows loaded + rows
quarantined.

The generators mix what a user writes right (the panel's columns, fixest syntax, the SPEC keys of
``examples/README.md``, yearbook tables) with the mistakes met in practice: misspelt or absent columns,
expressions where a column is needed, a list where a text is (``y = ["x"]``), numbers as text, reversed years,
empty samples, missing keys, unknown kinds, yearbook titles, units and footnote marks, a year column absent or
one per year, duplicated rows. Session 31's runs of these generators found tracebacks of about fifteen causes and
a process abort (pyfixest's Rust core on an empty design), each now a message with its test.

Usage::

    python -m bench.fuzz_analysis --workspace WS [--seed 1] [--count 300] [--kinds fit,spec,covariates]

Kinds: ``fit`` (formulas mostly with mistakes), ``fit_valid`` (formulas of the panel's columns and options that
exist, so that the cases reach the estimators, inference and split samples), ``spec`` (half with mistakes, half
of drawn keys a kind reads), ``spec_valid`` (the example SPECs' models with valid values swapped in: each should
fit; the report lists the messages of those that did not, by case, for a reader to judge), ``covariates``.

``WS`` is a workspace with panels (``citynet demo WS``); the covariate files are written under a temporary folder.
The CI sample (tests/test_fuzz_analysis.py) runs a fixed seed on the test suite's workspace. Prints a JSON report
and exits 1 when a case failed.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import random
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: the exit codes of ``citynet fit`` (README): success, usage, bad data, analysis error
FIT_EXIT_CODES = (0, 2, 3, 5)

Y = ["green_patents", "ln_green_patents", "log(green_patents)", "collab_degree", "green_patent", "ln_collab_patents",
     "l1_collab_degree", "c(green_patents, collab_patents)", "collab_degree^2", "I(collab_degree**2)", "transfers_in",
     "`collab degree`", "绿色专利", "low_carbon", "0", "1", "y", "green_patents | city_code"]
X = ["low_carbon", "collab_degree", "l1_collab_degree", "l2_collab_degree", "f1_collab_degree",
     "i(year, low_carbon, ref=2009)", "i(year)", "C(region)", "region", "tier_high*low_carbon", "low_carbon:tier_high",
     "sw(collab_degree, collab_betweenness)", "csw0(collab_degree, collab_betweenness)", "poly(collab_degree, 2)",
     "collab_degree +", "+ collab_degree", "", "0", "1", "-1", "low_carbon_year", "ln_gdp", "tier", "province_code",
     "i(tier, low_carbon)", "mvsw(collab_degree, transfers_in)", "log(collab_degree)", "l1_ln_collab_degree",
     "l-1_collab_degree", "i(region, low_carbon, ref='east')", "low_carbon + low_carbon", "year", "city_code",
     "population", "gdp_per_capita", "i(region, low_carbon, ref='east, west')", "i(region, ref='a|b')",
     "I(collab_degree + +low_carbon)", "I(low_carbon | tier_high)", "i(region, low_carbon, ref='east)"]
FE = ["", "city_code + year", "city_code^year", "city_code", "year", "region + year", "city_code[year]",
      "province_code^year", "city_code + year + tier", "city_code + province_code^year", "sw(city_code, year)",
      "csw0(city_code, year)", "citycode + year", "city_code + ", "city_code year"]
IV = ["", "collab_degree ~ low_carbon", "low_carbon ~ tier_high", "x ~ z", "collab_degree ~", "~ low_carbon"]
FIT_OPTIONS = [[], ["--model", "ppml"], ["--model", "2sls"], ["--cluster", "province_code"],
               ["--cluster", "city_code + year"], ["--cluster", "city_code^year"], ["--cluster", "nope"],
               ["--vcov", "iid"], ["--vcov", "hc1"], ["--sample", "year >= 2010"], ["--sample", "region == east"],
               ["--sample", "year > "], ["--sample", "tier_high == 1"], ["--sample", "year >= 2030"],
               ["--split", "region"], ["--fsplit", "tier"], ["--split", "city_code"], ["--split", "nope"],
               ["--inference", "wild:19"], ["--inference", "ri:9"], ["--inference", "conley:300"],
               ["--inference", "conley:x"], ["--inference", "wild"], ["--inference", "boot:9"],
               ["--param", "nope", "--inference", "wild:19"], ["--panel", "dyad-year"], ["--json"],
               ["--network", "nope.x.y"], ["--out", "tables"], ["--weights", "population"], ["--weights", "region"],
               ["--weights", "nope"], ["--weights", "population", "--model", "ppml"]]

#: SPEC values: for each key, the right ones first (a "valid" case draws among the first two)
SPEC_VALUES = {
    "y": ["ln_green_patents", "green_patents", "collab_degree", "nope", 5, ["ln_green_patents"]],
    "treat": ["low_carbon", "low_carbon", "collab_degree", "nope", "tier_high", "low_carbon_year"],
    "cohort": ["low_carbon_year", "low_carbon_year", "nope", "low_carbon"],
    "controls": [[], ["l1_collab_degree"], "l1_collab_degree", ["nope"], [1], ["tier_high"]],
    "leads": [3, 2, 0, -1, "3"], "lags": [3, 2, 0, -2],
    "x": [["collab_degree"], "collab_degree", ["collab_degree", "transfers_in"], "nope"],
    "covariates": [["gdp_per_capita", "population"], ["gdp_per_capita"], ["nope"], "gdp_per_capita", [],
                   ["tier_high", "population"]],
    "fe": ["city_code + year", "city_code + year", "twoway", "city", "nope", ""],
    "vcov": ["cluster:city_code", "hc1", "cluster:nope", "iid", 3],
    "n": [5, 5, 0, -1, "x"], "reps": [9, 9, 0], "seed": [1, 2, -1, "a"], "caliper": [0.1, 0.2, 0, -1, "x"],
    "k": [1, 2, 0], "q": ["collab_degree", "gdp_per_capita", "nope"], "n_thresholds": [1, 1, 0, 5],
    "left": [0, 0, "x"], "endog": ["collab_degree", ["collab_degree"], "nope"],
    "instruments": [["tier_high"], "tier_high", [], ["nope"]],
    "chain": [["low_carbon", "collab_degree", "ln_green_patents"], ["low_carbon", "nope"], "x"],
    "M": [[0, 0.01], 0.01, [], [-1]], "Mbar": [[0.5, 1], [1], [], "x"], "method": ["dr", "reg", "ipw", "nope"],
    "control": ["never", "notyet", "nope"], "w": ["queen", "knn:5", "distance", "nope"],
    "formula": ["ln_green_patents ~ low_carbon | city_code + year",
                "ln_green_patents ~ csw(collab_degree, transfers_in) | city_code + year", "ln_green_patents ~ nope",
                "y ~"],
    "inference": ["wild:19", "ri:9", "conley:200", "nope", "wild:x"], "split": ["region", "nope", "city_code"],
    "sample": [{"years": [2010, 2020]}, "year >= 2012", {"years": [2030, 2031]}, {"regions": ["east"]},
               {"nope": 1}, {"years": [2020, 2008]}, 5],
    "target": ["first", "average", "nope"], "replace": [True, False, "yes"], "model": ["ols", "ppml", "nope"],
    "weights": ["population", "population", "region", "nope"],
    "equations": [["ln_green_patents ~ collab_degree", "collab_degree ~ ln_green_patents"], "x", []],
}
KINDS = ["fit", "did", "event_study", "placebo", "psm_did", "cs", "gardner", "sunab", "iv", "tobit", "threshold", "psm",
         "cs_cov", "honest", "mediation", "moran", "spatial_tests", "3sls", "sdm", "gravity"]
WRONG_KINDS = ["nope", "Fit", "event-study"]
#: keys kept small whatever was drawn, so that a case takes a second, not minutes
CHEAP = {"reps": 9, "n": 5}


def _fit_invocation(rng: random.Random, workspace: str, ys: list[str], xs: list[str], draw_fe, ivs: list[str],
                    iv_share: float, options: list[list[str]]) -> list[str]:
    """``citynet fit -w WS --formula "y ~ x | fe | endog ~ instr"`` with options, from the given pieces."""
    rhs = " + ".join(x for x in rng.sample(xs, rng.choice([1, 1, 2, 3])) if x or rng.random() < 0.5)
    formula = f"{rng.choice(ys)} ~ {rhs}"
    fe = draw_fe()
    iv = rng.choice(ivs) if rng.random() < iv_share else ""
    if fe or iv:
        formula += " | " + (fe or "1")
    if iv:
        formula += " | " + iv
    chosen = [o for pick in (rng.choice(options) for _ in range(rng.choice([0, 1, 1, 2]))) for o in pick]
    return ["fit", "-w", workspace, "--formula", formula, *chosen]


def fit_case(rng: random.Random, workspace: str) -> list[str]:
    """``citynet fit -w WS --formula …`` with options: one random invocation."""
    return _fit_invocation(rng, workspace, Y, X, lambda: rng.choice(FE) if rng.random() < 0.8 else "", IV, 0.15,
                           FIT_OPTIONS)


#: the pieces of a formula a careful user writes (kind fit_valid): every name is a panel column or a derived one
Y_VALID = ["ln_green_patents", "green_patents", "ln_collab_patents", "collab_degree", "log(green_patents + 1)",
           "c(ln_green_patents, ln_collab_patents)"]
X_VALID = ["low_carbon", "l1_collab_degree", "collab_betweenness", "transfers_in", "tier_high*low_carbon",
           "i(year, low_carbon, ref=2009)", "C(region)", "ln_gdp_per_capita", "l2_collab_degree",
           "csw(l1_collab_degree, transfers_in)", "sw0(collab_betweenness)", "population", "I(collab_degree**2)"]
FE_VALID = ["", "city_code + year", "city_code + year", "province_code^year + city_code", "region^year",
            "sw(city_code, year)", "year"]
IV_VALID = ["l1_collab_degree ~ tier_high", "collab_degree ~ l1_collab_degree", "transfers_in ~ low_carbon"]
OPTIONS_VALID = [[], [], ["--model", "ppml"], ["--cluster", "province_code"], ["--cluster", "city_code + year"],
                 ["--vcov", "hc1"], ["--sample", "year >= 2012"], ["--split", "region"], ["--fsplit", "tier_high"],
                 ["--inference", "wild:19"], ["--inference", "ri:9"], ["--inference", "conley:300"], ["--json"],
                 ["--weights", "population"]]


def fit_valid_case(rng: random.Random, workspace: str) -> list[str]:
    """``citynet fit`` with a formula of panel columns and options that exist: the estimators' own paths."""
    return _fit_invocation(rng, workspace, Y_VALID, X_VALID, lambda: rng.choice(FE_VALID), IV_VALID, 0.2,
                           OPTIONS_VALID)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)


def spec_case(rng: random.Random, valid: bool) -> str:
    """A SPEC file of one to three models; ``valid``: every kind known and values drawn among the right ones."""
    lines = ["[spec]", f'name = "{rng.choice(["t", "tab", "x y", "中文"])}"']
    if rng.random() < 0.2:
        lines += ["[sample]", f'years = {_toml(rng.choice([[2008, 2020], [2030, 2040], [2020, 2008]]))}']
    for i in range(rng.choice([1, 1, 2, 3])):
        kind = rng.choice(KINDS if valid or rng.random() < 0.9 else WRONG_KINDS)
        keys = rng.sample(sorted(SPEC_VALUES), rng.randint(1, 5))
        for key in ("y", "treat", "formula", "x", "covariates", "q", "chain", "endog", "instruments", "equations"):
            if rng.random() < 0.5 and key not in keys:
                keys.append(key)
        model = {"name": rng.choice([f"({i})", f"m{i}", "a/b", ""]), "kind": kind}
        if valid:  # the keys the kind reads (analysis.spec refuses the others): the valid cases reach the estimators
            keys = [k for k in keys if k not in (FIT_UNREAD if kind == "fit" else ("formula",))
                    and (k != "cluster" or kind == "cs_cov")]
        for key in keys:
            values = SPEC_VALUES[key]
            model[key] = rng.choice(values[:2] if valid or rng.random() < 0.75 else values)
        for key, cheap in CHEAP.items():
            if not isinstance(model.get(key), int) or isinstance(model.get(key), bool) or model[key] > cheap:
                model[key] = cheap
        lines.append("[[models]]")
        lines += [f"{k} = {_toml(v)}" for k, v in model.items()]
    return "\n".join(lines) + "\n"


#: keys of other kinds that kind fit does not read (analysis/spec.py refuses them there, and formula elsewhere)
FIT_UNREAD = ("y", "x", "fe", "treat", "controls", "covariates", "cohort", "endog", "instruments", "exog", "cluster")


#: valid alternatives for keys an example model already has (kind spec_valid): the kind reads the key, the value is
#: of the panel (covariates of the demo workspace included)
VALID_SWAPS = {
    "y": ["ln_green_patents", "ln_collab_patents", "ln_green_patents", "collab_degree"],
    "vcov": ["cluster:city_code", "hc1", "iid", "cluster:province_code", "conley:300", "conley:200:2"],
    "controls": [[], ["l1_ln_gdp_per_capita"], ["l1_collab_degree"], ["l1_ln_gdp_per_capita", "l1_collab_degree"]],
    "covariates": [["l1_ln_gdp_per_capita"], ["l1_ln_gdp_per_capita", "l1_collab_degree"]],
    "x": [["low_carbon"], ["low_carbon", "l1_ln_gdp_per_capita"], ["l1_collab_degree", "low_carbon"]],
    "leads": [2, 3, 4], "lags": [2, 3, 5], "inference": ["wild:19", "ri:19", "conley:300"],
    "fe": ["city_code + year", "city_code + year"], "weights": ["population"],
}
#: swaps a kind does not take (docs/configuration.md, examples/README.md): Conley standard errors are kind fit's
#: (conley:KM, "computed for kind fit"); tobit's vcov is oim or cluster:city_code; a 3SLS without fixed effects keeps
#: its time-invariant regressors (tier_high), which city_code + year would absorb
KIND_SWAPS = {"tobit": {"vcov": ["oim", "cluster:city_code"]}, "3sls": {"fe": []}}


def _swaps(kind: str, key: str) -> list:
    """The valid values of ``key`` for a model of ``kind`` (empty: the example's value is kept)."""
    if key in KIND_SWAPS.get(kind, {}):
        return KIND_SWAPS[kind][key]
    if key == "vcov" and kind != "fit":
        return [v for v in VALID_SWAPS[key] if not v.startswith("conley")]
    return VALID_SWAPS[key]
#: the [sample] tables a careful user writes
VALID_SAMPLES = [{}, {}, {"years": [2008, 2020]}, {"years": [2010, 2018]}, {"drop_municipalities": True},
                 {"regions": ["east", "central"]}, {"exclude_years": [2015]}]
#: counts kept small (draws, replications): a case takes seconds
CHEAP_VALID = {"reps": 19, "n": 5, "n_boot": 19, "permutations": 19, "draws": 19}


@functools.cache
def example_models() -> tuple[tuple[dict, dict], ...]:
    """Every model of the shipped example SPECs (``examples/*.toml``) with its table's ``vcov``, ``panel`` and
    ``allow_collinear`` when it has none, and its file's ``[panel_options]``: the models as the documentation
    writes them, one per kind at least."""
    import tomllib

    out = []
    for path in sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        options = doc.get("panel_options", {})
        out += [(dict(m), options) for m in doc.get("models", [])]
        for table in doc.get("tables", []):
            inherited = {k: table[k] for k in ("vcov", "panel", "allow_collinear") if k in table}
            out += [({**inherited, **m}, options) for m in table.get("models", [])]
    return tuple(out)


def spec_valid_case(rng: random.Random) -> str:
    """A SPEC of one to three of the example models, each with some keys swapped for other valid values, and a
    valid ``[sample]``: what a user who copies the examples and edits them writes. Such a SPEC should fit (exit 0);
    an exit 2–5 is legitimate only when the data cannot support it (too few treated cities in a sample)."""
    lines = ["[spec]", 'name = "valid"']
    sample = rng.choice(VALID_SAMPLES)
    if sample:
        lines.append("[sample]")
        lines += [f"{k} = {_toml(v)}" for k, v in sample.items()]
    chosen = rng.sample(example_models(), rng.choice([1, 1, 2, 3]))
    options: dict = {}
    for _, more in chosen:  # the examples' panel options do not collide: derive tables are merged
        options.update({k: {**options.get(k, {}), **v} if k == "derive" else v for k, v in more.items()})
    if options:
        lines.append("[panel_options]")
        lines += [f"{k} = {_toml(v)}" for k, v in options.items()]
    for i, (base, _) in enumerate(chosen):
        model = dict(base, name=f"m{i}")
        kind = model.get("kind", "fit")
        for key in [k for k in model if k in VALID_SWAPS and rng.random() < 0.4]:
            values = _swaps(kind, key)
            if values:
                model[key] = rng.choice(values)
        if isinstance(model.get("x"), list) and isinstance(model.get("controls"), list):  # a regressor is no control
            model["controls"] = [c for c in model["controls"] if c not in model["x"]]
        if "formula" in model and rng.random() < 0.4:
            rhs = model["formula"].split("~", 1)[1]
            model["formula"] = f"{rng.choice(VALID_SWAPS['y'])} ~{rhs}"
        for key, cheap in CHEAP_VALID.items():
            if isinstance(model.get(key), int) and not isinstance(model[key], bool):
                model[key] = min(model[key], cheap)
        if isinstance(model.get("inference"), str) and model["inference"].split(":")[0] in ("wild", "ri"):
            model["inference"] = model["inference"].split(":")[0] + ":19"
        lines.append("[[models]]")
        lines += [f"{k} = {_toml(v)}" for k, v in model.items()]
    return "\n".join(lines) + "\n"


NAME_HEADERS = ["城市", "地区", "城市名称", "city", "名称", "市"]
CODE_HEADERS = ["city_code", "代码", "行政区划代码", "城市代码", "code"]
YEAR_HEADERS = ["year", "年份", "年度", "统计年度", "年"]
VARIABLES = ["gdp_per_capita", "人均GDP（元）", "GDP (亿元)", "人口（万人）", "R&D", "fdi", "第二产业占比(%)", "x"]


def _cell(rng: random.Random) -> str:
    v = rng.uniform(0, 1e5)
    if rng.random() < 0.6:
        return f"{v:.2f}"
    return rng.choice([f"{v:,.1f}", f"{v / 1000:.1f}%", f"{v:.0f}*", "—", "-", "…", "NA", "", " ", "0.5万", "n/a",
                       "(缺)", "1e3", "１２３", f"{v:.1f} "])


def covariate_case(rng: random.Random, folder: Path, k: int, cities: list[dict]) -> Path:
    """A yearbook-like covariate table (CSV in UTF-8 or GB18030, or XLSX), long or wide, below a title or not."""
    chosen = rng.sample(cities, rng.randint(1, 12))
    years = list(range(2010, 2010 + rng.randint(1, 6)))
    variables = rng.sample(VARIABLES, rng.randint(1, 3))
    key = rng.choice(["name", "code", "both"])

    def city(c: dict) -> str:
        r = rng.random()
        if r < 0.2:
            return c["name_zh"].removesuffix("市")
        if r < 0.3:
            return rng.choice([c["name_zh"] + "市辖区", "江苏省", "全市", "合计", "不存在市"])
        return c["name_zh"]

    if rng.random() < 0.25:  # wide: one column per year
        header = [rng.choice(CODE_HEADERS if key == "code" else NAME_HEADERS)] + [
            rng.choice([f"{y}", f"{y}年"]) for y in years]
        rows = [[c["city_code"] if key == "code" else city(c)] + [_cell(rng) for _ in years] for c in chosen]
    else:
        header = (([rng.choice(NAME_HEADERS)] if key != "code" else []) + ([rng.choice(CODE_HEADERS)] if key != "name"
                  else []) + [rng.choice(YEAR_HEADERS)] + variables)
        rows = []
        for c in chosen:
            for y in years:
                keys = ([city(c)] if key != "code" else []) + ([c["city_code"]] if key != "name" else [])
                year = rng.choice([str(y), f"{y}年", f"{y}.0"]) if rng.random() < 0.9 else rng.choice(["", "x", "20100"])
                rows.append(keys + [year] + [_cell(rng) for _ in variables])
        if rng.random() < 0.2 and rows:
            rows.append(list(rows[0]))  # a duplicated city-year
    if rng.random() < 0.2:
        rows.append(["注：数据来源于统计年鉴"] + [""] * (len(header) - 1))
    if rng.random() < 0.15:
        rows.insert(rng.randrange(len(rows) + 1), [""] * len(header))
    title = rng.sample(["中国城市统计年鉴 2016", "单位：万元", "表 2-1 主要指标", ""], rng.randint(0, 2)) if rng.random() < 0.3 else []
    kind = rng.choice(["utf-8-sig", "utf-8-sig", "gb18030", "xlsx"])
    path = folder / f"c{k}.{'xlsx' if kind == 'xlsx' else 'csv'}"
    if kind == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        for r in [[t] for t in title] + [header] + rows:
            book.active.append(r)
        book.save(path)
    else:
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator=rng.choice(["\r\n", "\n", "\r"]))
        out.writerows([[t] for t in title] + [header] + rows)
        path.write_bytes(buf.getvalue().encode(kind))
    return path


def _failure(kind: str, case: str, detail: str) -> dict:
    return {"kind": kind, "case": case, "detail": detail[-2000:]}


def refusal_problem(code: int, output: str) -> str | None:
    """What a refusal lacks of the README's promise — one ``error:`` line, then its ``fix:`` line — or None (a
    success, or a refusal that keeps it). Warnings (``warning:``, ``Warning:``) may come before."""
    if code == 0:
        return None
    lines = output.splitlines()
    errors = [k for k, line in enumerate(lines) if line.startswith("error: ")]
    if len(errors) != 1:
        return f"exit {code} with {len(errors)} 'error:' lines (one message expected)"
    if not any(re.match(r"\s*fix: \S", line) for line in lines[errors[0] + 1:]):
        return f"exit {code}: the message has no 'fix:' line"
    return None


def run(seed: int, count: int, workspace: Path, kinds: list[str]) -> dict:
    """``count`` cases of each of ``kinds`` from ``seed``; the report with every failure."""
    from citynet.etl.cities import city_set
    from citynet.etl.covariates import load_covariates
    from citynet.etl.quarantine import Quarantine

    from bench.in_process import run_citynet
    from citynet.errors import UserError
    from citynet.progress import report as progress

    rng = random.Random(seed)
    failures: list[dict] = []
    exits: dict[str, dict[str, int]] = {}
    refusals: dict[str, list[int]] = {}
    started = time.perf_counter()
    cities = city_set().cities.to_dict("records")
    with tempfile.TemporaryDirectory(prefix="citynet-fuzz-") as tmp:
        folder = Path(tmp)
        for kind in kinds:
            seen = exits.setdefault(kind, {})
            for k in range(count):
                progress(f"analysis fuzz: {kind}", k, count)
                if kind == "covariates":
                    path = covariate_case(rng, folder, k, cities)
                    quarantine = Quarantine()
                    try:
                        _, rep = load_covariates(path, quarantine)
                    except UserError as exc:
                        seen["message"] = seen.get("message", 0) + 1
                        if not (exc.fix or "").strip():  # a refusal names its fix (README)
                            failures.append(_failure(kind, str(path), f"no fix: {exc.message}"))
                        continue
                    except Exception:  # noqa: BLE001 - any other exception is the failure this looks for
                        failures.append(_failure(kind, path.read_bytes()[:3000].decode("utf-8", "replace"),
                                                 traceback.format_exc()))
                        continue
                    held = sum(len(f) for f in quarantine.frames)
                    if rep["rows_read"] != rep["rows_loaded"] + rep["rows_quarantined"] or held != rep["rows_quarantined"]:
                        failures.append(_failure(kind, str(path), f"rows: {rep}"))
                    seen["loaded"] = seen.get("loaded", 0) + 1
                    continue
                if kind in ("fit", "fit_valid"):
                    args = (fit_case if kind == "fit" else fit_valid_case)(rng, str(workspace))
                    case = json.dumps(args, ensure_ascii=False)
                else:
                    text = spec_valid_case(rng) if kind == "spec_valid" else spec_case(rng, valid=k % 2 == 0)
                    spec = folder / f"s{k}.toml"
                    spec.write_text(text, encoding="utf-8")
                    args, case = ["fit", "-w", str(workspace), str(spec), "--out", str(folder / f"o{k}")], text
                code, output, escaped = run_citynet(args)
                seen[str(code)] = seen.get(str(code), 0) + 1
                if kind == "spec_valid" and code:  # a valid SPEC that did not fit: its message, for a reader
                    first = next((ln for ln in output.splitlines() if ln.startswith("error")), output[:200])
                    refusals.setdefault(first[:160], []).append(k)
                if escaped is not None or code not in FIT_EXIT_CODES or "Traceback" in output:
                    detail = "".join(traceback.format_exception(escaped)) if escaped else output
                    failures.append(_failure(kind, case, f"exit {code}\n{detail}"))
                elif problem := refusal_problem(code, output):
                    failures.append(_failure(kind, case, f"{problem}\n{output}"))
            progress(f"analysis fuzz: {kind}", count, count)
    return {"seed": seed, "count": count, "kinds": kinds, "outcomes": exits, "failures": failures,
            "valid_specs_refused": refusals,
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path, required=True, help="a workspace with panels (citynet demo WS)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300, help="cases of each kind")
    ap.add_argument("--kinds", default="fit,spec,covariates")
    args = ap.parse_args(argv)
    report = run(args.seed, args.count, args.workspace, [k.strip() for k in args.kinds.split(",") if k.strip()])
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
