"""The command line as a user meets it: the network filter as workspace state, corpus semantics, one
message and the README's exit code for every mistake, and ``citynet run``.

Every test drives ``citynet.cli.main`` (the entry point of the ``citynet`` script, with its error
handling) on a workspace built by the real pipeline from a small synthetic export.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli import call, invoke

SPEC = """
[spec]
vcov = "cluster:city_code"
[[tables]]
name = "t1"
  [[tables.models]]
  name = "(1)"
  formula = "ln_green_patents ~ l1_collab_degree | city_code + year"
"""
Y02 = "invention.y02.granted"


def run(capsys, *args) -> tuple[int, str, str]:
    return invoke(capsys, *args)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Two synthetic corpora: A (2010-2013, 1,000 patents) and B (2015-2016, another seed)."""
    root = tmp_path_factory.mktemp("raw")
    assert call("-q", "synth", root / "A", "--patents", 1000, "--years", "2010-2013", "--seed", 3)[0] == 0
    assert call("-q", "synth", root / "B", "--patents", 1000, "--years", "2015-2016", "--seed", 4)[0] == 0
    return root


@pytest.fixture(scope="module")
def ws(raw, tmp_path_factory) -> Path:
    """A workspace through ingest, load and the default filter's metrics."""
    w = tmp_path_factory.mktemp("ws")
    a = raw / "A" / "raw"
    for args in (("ingest", "-w", w, a / "patents.csv", "--transfers", a / "transfers.csv", "--covariates",
                  a / "covariates.csv"), ("load", "-w", w), ("metrics", "-w", w)):
        code, out, err = call("-q", *args)
        assert code == 0, err
    return w


# --- Deliver 2: the network filter as state ------------------------------------------------------
def test_filters_live_side_by_side(ws, capsys, tmp_path):
    from citynet.metrics.pipeline import panel_meta

    default = "invention.wipo.all"
    top = pd.read_parquet(ws / "metrics" / "city_year.parquet")
    code, out, err = run(capsys, "metrics", "-w", ws, "--green", "y02", "--granted-only")
    assert code == 0, err
    assert "--network invention.y02.granted" in err
    # the default filter's panels are untouched; the new filter's are in their own folder
    assert panel_meta(ws / "metrics" / "city_year.parquet")["network"] == default
    pd.testing.assert_frame_equal(pd.read_parquet(ws / "metrics" / "city_year.parquet"), top)
    assert panel_meta(ws / "metrics" / default / "city_year.parquet")["network"] == default
    for p in ("city_year", "dyad_year", "network_year"):
        assert panel_meta(ws / "metrics" / Y02 / f"{p}.parquet")["network"] == Y02
    y02 = pd.read_parquet(ws / "metrics" / Y02 / "city_year.parquet")
    assert y02["green_patents"].sum() != top["green_patents"].sum()

    # export: --network picks the panel, the default stays the default
    code, out, err = run(capsys, "export", "-w", ws, "--panel", "city-year", "--network", Y02,
                         "--out", tmp_path / "y02.parquet", "--no-covariates")
    assert code == 0, err
    assert panel_meta(tmp_path / "y02.parquet")["network"] == Y02
    code, out, err = run(capsys, "export", "-w", ws, "--panel", "city-year", "--out", tmp_path / "d.parquet",
                         "--no-covariates")
    assert code == 0 and panel_meta(tmp_path / "d.parquet")["network"] == default

    # a filter never computed: one message listing the computed ones and the command
    code, out, err = run(capsys, "export", "-w", ws, "--panel", "city-year", "--network", "utility.all.all",
                         "--out", tmp_path / "u.csv")
    assert code == 2
    assert default in err and Y02 in err and "citynet metrics" in err and "--kind utility" in err
    assert run(capsys, "fit", "-w", ws, "--network", "not-a-key", "--formula", "y ~ x")[0] == 2

    # fit records the filter and the panel's years
    f = "ln_green_patents ~ l1_collab_degree | city_code + year"
    code, out, err = run(capsys, "fit", "-w", ws, "--network", Y02, "--formula", f, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["network"] == Y02 and res["panel_years"] == [int(y02["year"].min()), int(y02["year"].max())]
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    assert run(capsys, "-q", "fit", "-w", ws, spec)[0] == 0
    assert run(capsys, "-q", "fit", "-w", ws, spec, "--network", Y02)[0] == 0
    assert json.loads((ws / "results" / "t1.json").read_text())[0]["network"] == default
    assert json.loads((ws / "results" / Y02 / "t1.json").read_text())[0]["network"] == Y02
    # every table file names the filter (and the panel's span) in its notes; so does a --formula table
    for folder, key, words in ((ws / "results", default, "granted or not"), (ws / "results" / Y02, Y02, "granted only")):
        for ext in ("md", "tex", "html"):
            text = (folder / f"t1.{ext}").read_text(encoding="utf-8")
            assert f"Network filter {key} (invention patents" in text and words in text, (key, ext)
    code, out, err = run(capsys, "fit", "-w", ws, "--network", Y02, "--formula", f)
    assert code == 0 and f"Network filter {Y02} (invention patents" in out

    # the report groups the tables by filter and says which filter each used
    code, out, err = run(capsys, "report", "-w", ws, "--permutations", 0, "--out", tmp_path / "r.html")
    assert code == 0, err
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"fitted on network filter <code>{default}</code>" in html
    assert f"fitted on network filter <code>{Y02}</code>" in html
    assert "<strong>not</strong> the filter of the panels" in html

    # named queries take the filter: --network sets the $network parameter
    code, out, err = run(capsys, "query", "-w", ws, "--format", "json",
                         "MATCH (c:City)-[r:COLLABORATED]-(:City) RETURN DISTINCT r.network AS n ORDER BY n")
    assert code == 0 and {r["n"] for r in json.loads(out)} >= {default, Y02}
    city = str(top.sort_values("collab_degree").iloc[-1]["city_code"])
    year = int(top.sort_values("collab_degree").iloc[-1]["year"])
    outs = {}
    for key in (default, Y02):
        code, out, err = run(capsys, "query", "-w", ws, "--named", "top_partners", "--param", f"city={city}",
                             "--param", f"year={year}", "--network", key, "--format", "json")
        assert code == 0, err
        code2, out2, _ = run(capsys, "query", "-w", ws, "--named", "top_partners", "--param", f"city={city}",
                             "--param", f"year={year}", "--param", f"network={key}", "--format", "json")
        assert out == out2
        outs[key] = out
    code, out, err = run(capsys, "query", "-w", ws, "--named", "top_partners", "--param", f"city={city}",
                         "--param", f"year={year}", "--format", "json")
    assert out == outs[default]


# --- Deliver 3: corpus semantics -----------------------------------------------------------------
def test_ingest_replaces_and_load_says_so(raw, tmp_path, capsys):
    a, b = raw / "A" / "raw" / "patents.csv", raw / "B" / "raw" / "patents.csv"
    assert run(capsys, "-q", "ingest", "-w", tmp_path, a)[0] == 0
    assert run(capsys, "-q", "load", "-w", tmp_path)[0] == 0
    code, out, err = run(capsys, "ingest", "-w", tmp_path, b)
    assert code == 0 and "replaced" in err and "1,000 patents" in err
    code, out, err = run(capsys, "load", "-w", tmp_path)
    assert code == 0
    assert "warning: the store holds" in err and "no longer have" in err and "--rebuild" in err
    # the panels would mix the two corpora: refused, every time (the count is kept in the store's meta), and a
    # load that skips the unchanged Patent table still says so
    for _ in range(2):
        code, out, err = run(capsys, "metrics", "-w", tmp_path)
        assert code == 2 and err.startswith("error: the store holds") and "--rebuild" in err, err
        assert len(err.strip().splitlines()) == 2, err
        code, out, err = run(capsys, "load", "-w", tmp_path)
        assert code == 0 and "warning: the store holds" in err and "metrics` refuses" in err, err
    code, out, err = run(capsys, "load", "-w", tmp_path, "--rebuild")
    assert code == 0 and "warning" not in err
    code, out, err = run(capsys, "-q", "metrics", "-w", tmp_path)
    assert code == 0, err


# --- Deliver 4: one message, the README's exit code ---------------------------------------------
def test_unwritable_outputs(ws, tmp_path, capsys):
    afile = tmp_path / "a-file"
    afile.write_text("x")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    cases = [
        ("export", "-w", ws, "--panel", "city-year", "--out", afile / "x.dta"),
        ("export", "-w", ws, "--panel", "city-year", "--out", tmp_path / "no_dir" / "sub" / "x.dta"),
        ("report", "-w", ws, "--out", afile / "r.html"),
        ("fit", "-w", ws, spec, "--out", afile / "res"),
        ("init", "-w", afile / "ws"),
        ("ingest", "-w", afile / "ws", raw_patents(ws)),
    ]
    for args in cases:
        code, out, err = run(capsys, *args)
        assert code == 2, (args, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 2, err  # message + fix
    assert not (tmp_path / "no_dir").exists()  # export never creates folders
    code, out, err = run(capsys, "export", "-w", ws, "--panel", "city-year", "--out", tmp_path)
    assert code == 2 and "is a directory" in err  # click's usage error


def raw_patents(ws: Path) -> Path:
    return Path(json.loads((ws / "reports" / "ingest.json").read_text())["files"][0]["file"])


def test_metrics_before_load(raw, tmp_path, capsys):
    assert run(capsys, "-q", "ingest", "-w", tmp_path, raw / "A" / "raw" / "patents.csv")[0] == 0
    code, out, err = run(capsys, "metrics", "-w", tmp_path)
    assert code == 2 and "the store is empty" in err and "citynet load" in err and "Binder" not in err


def test_failed_ingest_leaves_no_folders(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    code, out, err = run(capsys, "ingest", "-w", tmp_path / "new" / "ws", bad)
    assert code == 3 and "header" in err
    assert not (tmp_path / "new").exists()
    code, out, err = run(capsys, "ingest", "-w", tmp_path / "new2", tmp_path / "missing.csv")
    assert code == 2 and "no such input file" in err
    assert not (tmp_path / "new2").exists()


def test_global_options_after_subcommand(ws, capsys):
    code, out, err = run(capsys, "metrics", "-w", ws, "-q")
    assert code == 0 and err == ""
    code, out, err = run(capsys, "export", "-w", ws, "--panel", "city-year", "--out",
                         ws / "q.csv", "--quiet")
    assert code == 0 and err == ""
    assert run(capsys, "query", "-w", ws, "RETURN 1 AS x", "-v")[0] == 0


def test_transfer_without_effective_date(raw, tmp_path, capsys):
    src = raw / "A" / "raw"
    tr = pd.read_csv(src / "transfers.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    tr.loc[0, "生效日"] = ""
    tr.to_csv(tmp_path / "t.csv", index=False, encoding="utf-8-sig")
    code, out, err = run(capsys, "-q", "ingest", "-w", tmp_path / "w", src / "patents.csv", "--transfers",
                         tmp_path / "t.csv")
    assert code == 0, err
    q = pd.concat([pd.read_csv(p, dtype=str) for p in (tmp_path / "w" / "quarantine").glob("*transfers*")])
    row = q.loc[q["reason_code"] == "missing_transfer_date"]
    assert len(row) == 1 and "生效日" in row.iloc[0]["reason"] and "application" not in row.iloc[0]["reason"]


def test_neo4j_address_checked_first(ws, capsys, monkeypatch):
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    code, out, err = run(capsys, "query", "-w", ws, "--store", "neo4j", "--uri", "http://localhost:7474", "RETURN 1")
    assert code == 2 and "not a Bolt address" in err
    # nothing listens there and no password is given: unreachable (4), not "no password"
    code, out, err = run(capsys, "query", "-w", ws, "--store", "neo4j", "--uri", "bolt://127.0.0.1:1", "RETURN 1")
    assert code == 4 and "cannot reach Neo4j" in err and "password" not in err.splitlines()[0]


# --- Deliver 9: citynet run ----------------------------------------------------------------------
def test_run_is_make_style(raw, tmp_path, capsys):
    w = tmp_path / "study"
    assert run(capsys, "-q", "init", "-w", w)[0] == 0
    shutil.copytree(raw / "A" / "raw", w / "raw")
    (w / "spec.toml").write_text(SPEC, encoding="utf-8")
    cfg = (w / "citynet.toml").read_text(encoding="utf-8")
    cfg = cfg.replace('# networks = ["invention.y02.granted"]', f'networks = ["{Y02}"]')
    cfg = cfg.replace("# specs = [", 'specs = ["spec.toml"]\n# specs = [')
    (w / "citynet.toml").write_text(cfg, encoding="utf-8")
    stages = ["ingest", "load", "metrics invention.wipo.all", f"metrics {Y02}", "fit spec.toml", "report"]

    def summary(err: str) -> dict[str, str]:
        last = json.loads((w / ".citynet-run.json").read_text(encoding="utf-8"))["last_run"]
        assert [r["stage"] for r in last] == stages
        return {r["stage"]: r["result"] for r in last}

    code, out, err = run(capsys, "run", "-w", w)
    assert code == 0, err
    assert summary(err) == dict.fromkeys(stages, "ran")
    assert (w / "metrics" / Y02 / "city_year.parquet").exists() and (w / "results" / "report.html").exists()
    code, out, err = run(capsys, "run", "-w", w)
    assert code == 0 and summary(err) == dict.fromkeys(stages, "skipped")
    # the spec changes: fit and what reads its results run again, nothing upstream
    (w / "spec.toml").write_text(SPEC.replace("cluster:city_code", "hc1"), encoding="utf-8")
    code, out, err = run(capsys, "run", "-w", w)
    assert code == 0, err
    s = summary(err)
    assert s["fit spec.toml"] == "ran" and s["report"] == "ran", s
    assert all(s[k] == "skipped" for k in stages[:4])
    # an input changes (the last two years dropped): everything from ingest on runs again
    p = pd.read_csv(w / "raw" / "patents.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    p.iloc[: len(p) // 2].to_csv(w / "raw" / "patents.csv", index=False, encoding="utf-8-sig")
    code, out, err = run(capsys, "run", "-w", w)
    s = summary(err)
    assert code == 0 and all(s[k] == "ran" for k in stages[:4]), (s, err)
    # the store held the dropped patents: run rebuilt it (metrics would refuse a store of two corpora)
    assert "rebuilding it from the canonical tables" in err, err
    code, out, err = run(capsys, "query", "-w", w, "--format", "json", "MATCH (p:Patent) RETURN count(p) AS n")
    assert code == 0 and json.loads(out)[0]["n"] == len(pd.read_parquet(w / "canonical" / "patents.parquet",
                                                                        columns=["patent_id"]))
    assert run(capsys, "run", "-w", w, "--dry-run")[0] == 0


def test_a_filter_changed_and_changed_back_reads_its_own_panels(raw, tmp_path, capsys):
    """``[network]`` set to another kind, ``metrics`` run, set back: ``metrics/*.parquet`` (the copy of the
    default filter's panels) then held the other filter's, and export, fit, map and report read them — even
    ``export --network`` of the right key — while ``run`` said "inputs unchanged". Now the commands read
    ``metrics/<key>/`` (what the right filter's metrics wrote, compared cell by cell) and ``run`` computes
    the default filter again, which restores the copy."""
    import pyarrow.parquet as pq

    w = tmp_path / "study"
    assert run(capsys, "-q", "init", "-w", w)[0] == 0
    shutil.copytree(raw / "A" / "raw", w / "raw")
    config = w / "citynet.toml"
    invention = config.read_text(encoding="utf-8")
    assert 'kind = "invention"' in invention
    assert run(capsys, "-q", "run", "-w", w)[0] == 0
    right = pd.read_parquet(w / "metrics" / "invention.wipo.all" / "city_year.parquet")
    config.write_text(invention.replace('kind = "invention"', 'kind = "utility"'), encoding="utf-8")
    assert run(capsys, "-q", "metrics", "-w", w)[0] == 0
    config.write_text(invention, encoding="utf-8")

    def network_of(path):
        return json.loads(pq.read_schema(path).metadata[b"citynet"])["network"]

    assert network_of(w / "metrics" / "city_year.parquet") == "utility.wipo.all"  # the stale copy
    for extra in ([], ["--network", "invention.wipo.all"]):
        out = tmp_path / f"cy{len(extra)}.parquet"
        assert run(capsys, "-q", "export", "-w", w, "--panel", "city-year", "--out", out, *extra)[0] == 0
        got = pd.read_parquet(out)
        assert got["green_patents"].sum() == right["green_patents"].sum()
        assert network_of(out) == "invention.wipo.all"
    code, _, err = run(capsys, "run", "-w", w)
    assert code == 0, err
    last = {r["stage"]: r for r in json.loads((w / ".citynet-run.json").read_text(encoding="utf-8"))["last_run"]}
    assert last["metrics invention.wipo.all"]["result"] == "ran"
    assert "hold the panels of utility.wipo.all" in last["metrics invention.wipo.all"]["why"]
    assert network_of(w / "metrics" / "city_year.parquet") == "invention.wipo.all"
    assert run(capsys, "-q", "run", "-w", w)[0] == 0
    last = {r["stage"]: r for r in json.loads((w / ".citynet-run.json").read_text(encoding="utf-8"))["last_run"]}
    assert last["metrics invention.wipo.all"]["result"] == "skipped"


# --- Targets: lazy imports -----------------------------------------------------------------------
def test_query_path_does_not_import_the_neo4j_driver(ws):
    """``citynet query`` on the embedded store, run for real in a fresh interpreter, never imports the
    Neo4j driver (nor pandas, igraph, pyfixest, matplotlib, nor ladybug's asyncio wrapper); ``citynet --help``
    imports no layer at all."""
    from citynet.graph import embedded, lean, store

    assert lean.DB_FILE == embedded.DB_FILE and lean.SCHEMA_VERSION == store.SCHEMA_VERSION
    code = (
        "import sys\n"
        "from citynet.cli import main\n"
        f"try:\n    main(['query', '-w', {str(ws)!r}, 'MATCH (c:City) RETURN count(*) AS n', '--format', 'json'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = [m for m in ('neo4j', 'pandas', 'igraph', 'pyfixest', 'matplotlib', 'asyncio') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr
    assert json.loads(r.stdout.strip()[:-2]) == [{"n": 337}]  # the city set, answered without pandas
    code = ("import sys\nfrom citynet.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in ('pandas', 'numpy', 'rich', 'neo4j', 'citynet.graph') if m in sys.modules]\n"
            "assert not loaded, loaded\nprint('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr


def test_missing_or_malformed_spec_is_a_usage_error(ws, capsys, tmp_path):
    """A SPEC.toml that is missing or not TOML is a usage/configuration mistake: exit 2, one message, the fix."""
    code, out, err = run(capsys, "fit", "-w", ws, tmp_path / "nope.toml")
    assert code == 2 and err.count("error:") == 1 and "nope.toml does not exist" in err and "fix:" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[spec\nvcov = 1\n", encoding="utf-8")
    code, out, err = run(capsys, "fit", "-w", ws, bad)
    assert code == 2 and err.count("error:") == 1 and "fix: correct the TOML syntax" in err


@pytest.mark.parametrize("toml,words", [
    ("[netwrok]\ngreen = \"y02\"\n", ["unknown section [netwrok]", "did you mean 'network'"]),
    ("[network]\ngranted-only = true\n", ["[network]: unknown key 'granted-only'", "did you mean 'granted_only'"]),
    ("[network]\ngranted_only = \"no\"\n", ["granted_only must be true or false, not 'no'"]),
    ("[years]\nstart = \"2010\"\n", ["[years] start must be a whole number, not '2010'"]),
    ("[years]\nstart = 2015\nend = 2010\n", ["start 2015 is after end 2010"]),
    ("[analysis]\nlow_carbon_coding = \"annouce\"\n", ["low_carbon_coding must be one of", "did you mean \"announce\""]),
    ("[store]\nbackend = \"ladybug\"\n", ["backend must be one of 'embedded', 'neo4j', not 'ladybug'"]),
    ("[run]\nspecs = \"t3.toml\"\n", ["[run] specs must be a list"]),
    ("network = \"y02\"\n", ["network must be a section [network]"]),
])
def test_citynet_toml_typos_and_wrong_types_are_refused(tmp_path, capsys, toml, words):
    """A citynet.toml mistake that was silently ignored or misread (a misspelt section or key kept the default;
    granted_only = "no" is a true string): one message naming the section and key, exit 2 (README: usage or
    configuration), whatever the command."""
    (tmp_path / "citynet.toml").write_text(toml, encoding="utf-8")
    for cmd in (["metrics", "-w", tmp_path], ["export", "-w", tmp_path, "--panel", "city-year", "--out",
                                                 tmp_path / "x.dta"]):
        code, out, err = run(capsys, *cmd)
        assert code == 2 and err.count("error:") == 1 and "Traceback" not in err, err
        assert all(w in " ".join(err.split()) for w in words), err


def test_citynet_toml_template_and_documented_keys_are_accepted(tmp_path):
    """Every key of `citynet init`'s template (commented ones too) and of docs/configuration.md §1 is known."""
    import re

    from citynet.commands.init import TEMPLATE
    from citynet.workspace import SCHEMA, Workspace

    text = re.sub(r"(?m)^# ?([a-z_]+ = )", r"\1", TEMPLATE)  # uncomment the commented keys
    (tmp_path / "citynet.toml").write_text(text, encoding="utf-8")
    Workspace.open(tmp_path)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    part = doc[doc.index("## 1. `citynet.toml`"):doc.index("## 2. Input headers")]
    sections = re.findall(r"(?ms)^### `\[([a-z_]+)\]`(.*?)(?=^### |\Z)", part)
    assert {s for s, _ in sections} == set(SCHEMA) - {"transfer_columns"}  # "[columns] and [transfer_columns]"
    for section, body in sections:
        tables = re.findall(r"(?ms)^\| key \|.*?(?=^[^|]|\Z)", body)  # the key tables, not the stage table of [run]
        keys = {k for t in tables for k in re.findall(r"(?m)^\| `([a-z_0-9]+)` \|", t)}
        keys |= set(re.findall(r"(?m)^([a-z_]+) = ", body))
        assert keys <= set(SCHEMA[section] or ()), (section, keys - set(SCHEMA[section] or ()))
        assert SCHEMA[section] is None or keys == set(SCHEMA[section]), (section, set(SCHEMA[section]) - keys)


def test_init_force_replaces_a_citynet_toml_that_does_not_parse(tmp_path, capsys):
    """`citynet init --force` is the way back from a broken citynet.toml, but it read (and refused) the file it
    was asked to replace: a TOML syntax error or an unknown section stopped it with exit 2."""
    from citynet.commands.init import TEMPLATE

    for broken in ("[network\n", "[netwrok]\n"):
        (tmp_path / "citynet.toml").write_text(broken, encoding="utf-8")
        assert run(capsys, "init", "-w", tmp_path)[0] == 2  # without --force the file is kept
        code, out, err = run(capsys, "init", "-w", tmp_path, "--force")
        assert code == 0 and (tmp_path / "citynet.toml").read_text(encoding="utf-8") == TEMPLATE, err


def test_a_mistake_in_load_or_metrics_is_the_first_line_of_the_output(ws, capsys):
    """The progress bars start before the arguments are read; on an error they leave nothing behind (rich
    ended a bar on a pipe with an empty line, so the message was not the first line)."""
    for args in (("metrics", "-w", ws, "--years", "2015,2017"),
                 ("load", "-w", ws, "--store", "neo4j", "--uri", "bolt://127.0.0.1:9")):
        code, out, err = run(capsys, *args)
        assert code in (2, 4), (args, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 2, err


@pytest.mark.parametrize("args", [("query", "MATCH (c:City) RETURN count(*) AS n", "--uri", "bolt://127.0.0.1:7688"),
                                  ("metrics", "--years", "2011", "--uri", "bolt://127.0.0.1:7688"),
                                  ("load", "--password", "secret-pw-1"),
                                  ("query", "MATCH (c:City) RETURN count(*) AS n", "--password", "")])
def test_neo4j_options_on_the_embedded_store_are_one_message(ws, capsys, args):
    """``--uri``/``--user``/``--password`` without ``--store neo4j`` (nor [store] backend): the embedded store
    answered, the options ignored without a word (the user meant a Neo4j server). Now one message, exit 2. An empty
    --password (``--password "$NEO4J_PASSWORD"`` with the variable unset; an empty password is a value, cli.EMPTY_TAKEN)
    is one too: it was ignored on the embedded store (bench/fuzz_cli.py seeds 41–50, query --write)."""
    command, *rest = args
    code, out, err = run(capsys, command, "-w", ws, *rest)
    assert code == 2 and err.count("error:") == 1, err
    assert "options of the Neo4j store, and this command uses the embedded store" in err and "--store neo4j" in err
