"""Newcomer mistakes across the command line: each command's documented examples (the "Examples:" of
``citynet CMD --help``) mutated into the command lines a user gets wrong, run in-process against fresh copies of a
small prepared workspace, each judged by the project rule (README, "exit codes"): a result, or one ``error:``
message with its ``fix:`` and a documented exit code — never a traceback, never exit 0 on input that cannot be
right.

Mutations: a value swapped for another option's value, a missing value, an empty string, a wrong type (text for
a number, negative or huge numbers, ``2021-2019`` ranges), years outside the data, unknown network keys, variables,
panels, formats, library queries and parameters, input paths that do not exist or are folders, outputs in a
missing folder, onto a folder or inside a read-only folder (``chattr +i``: the fuzzer runs as root), non-UTF-8
and odd Unicode in names, a workspace that is not one (missing, a file, an empty or unrelated folder), a step
before the one it needs (the workspace after init, ingest or load only), an option of another command, options
that contradict the example or the data (``CONFLICTS``), a Neo4j URI where nothing listens (must be exit 4) or
that is not Bolt (exit 2). Every Neo4j address is a loopback port where nothing listens (``citynet.toml`` of the
workspace included). ``neo4j install/start`` are left out (a download, a JVM), and ``demo`` gets only cases
refused before any work.

A case FAILS on an escaped exception, a traceback, an exit code outside 0, 1, 2, 3, 4, 5, 130 (1 only from
``neo4j status`` or a full disk), a refusal without an ``error:`` line (click's own usage errors included:
citynet/cli.py gives them one, with a ``fix:``), an ``error:`` without its ``fix:``, a message of more than 12 lines
from its ``error:`` line, several ``error:`` lines, exit 0 on a mutation that cannot be right, or
another exit code than the one a mutation must give (exit 4 for the dead URI, 2 for a non-Bolt one).

Usage::

    python -m bench.fuzz_cli --seed 1 --count 100 [--commands export,map] [--keep-workspace DIR] [--cases] [--json]

The workspace (``citynet synth`` of 1,000 patents, ``init``, ``ingest``, ``load``, ``metrics``, a copy kept after
each step) is built once per run under a temporary folder (or once into ``--keep-workspace DIR`` and reused by
later runs, about 10 s saved). Cases are drawn over the commands in turn. Prints counts by outcome and by command,
the slowest cases and, for each failure, its command line and the head of its output (``--cases``: every case's
exit code, command line and message); exits 1 when a case failed. The CI sample is tests/test_fuzz_cli.py (a fixed
seed, every command but ``run``, about 20 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

#: README, "exit codes"
DOCUMENTED_EXITS = (0, 1, 2, 3, 4, 5, 130)
MAX_MESSAGE_LINES = 12
REPO = Path(__file__).resolve().parents[1]
#: the workspace's states, each a copy kept after its step (a step before the one it needs runs on an earlier one)
STATES = ("fresh", "ingested", "loaded", "full")
#: the step each command needs before it (its state), for the "step before" mutation
NEEDS = {"load": "ingested", "metrics": "loaded", "query": "loaded", "export": "full", "fit": "full", "map": "full"}
#: never run: a download of Neo4j, a JVM started
SKIPPED = ("neo4j install", "neo4j start")
#: files the examples name that the prepared case folder does not have, and the file used instead
ALIASES = {"export_2019.xlsx": "raw/patents.csv", "export_2020.xlsx": "raw/patents2.csv",
           "export_2021.csv": "raw/patents2.csv"}
#: values of options whose names say what they take, the wrong ones a newcomer writes
UNKNOWN = {
    "--network": ["nope", "invention.y02.granted", "invention.wipo", "invention.wipo.all.extra", "INVENTION.WIPO.ALL",
                  "invention..all", "发明.wipo.all", "invention.wipo.granted.grant"],
    "--var": ["nope", "collab_degre", "year", "city_code", "Collab_Degree", "l1_nope", "ln_", "绿色专利"],
    "--panel": ["city_year", "cityyear", "dyad", "CITY-YEAR"],
    "--format": ["docx", "CSV", "stata", "xls"],
    "--named": ["nope", "top-partners", "TOP_PARTNERS", "../top_partners"],
    "--edges": ["roads", "collaboration", "Collab"],
    "--green": ["WIPO", "y03", "none"],
    "--kind": ["inventions", "patent"],
    "--city": ["不存在市", "999999", "北京省", "New York", "0", "1100", "北"],
    "--year-basis": ["publication", "Grant"],
    "--store": ["ladybug", "Neo4j", "sqlite"],
    "--model": ["logit", "OLS"],
    "--encoding": ["latin-1", "utf8", "gbk", "nope"],
    "--low-carbon-coding": ["announced", "2010"],
    "--param": ["city", "city=", "=320100", "city=不存在", "year=abc", "year=2030", "nope=1", "city:nope=1",
                "year:int=x", "city_a=110000=1"],
    "--years": ["2021-2019", "2030", "1990-1995", "2019-", "-2019", "abc", "2010-2012-2014", "20100", "0",
                "2015 2016", "2015..2016"],
    "--year": ["1990", "2030", "-1", "0", "20200", "2015.5"],
    "--inference": ["wild", "wild:x", "ri:-1", "conley:", "boot:9", "wild:0"],
    "--sample": ["year >", "nope == 1", "year >= 2030", "region == 'mars'"],
    "--formula": ["y ~", "nope ~ collab_degree", "ln_green_patents ~ nope | city_code + year", "~ x", "y = x"],
    "--cluster": ["nope", "city_code +", "region"],
    "--split": ["nope", "year"], "--fsplit": ["nope"], "--weights": ["nope", "region"],
    "--setting": ["nope", "a=b=c"], "--password": ["", "x"], "--user": ["", "nobody"],
    "--uri": ["http://localhost:7474", "localhost:7687", "bolt://", "bolt://:0", "neo4j+s://", "bolt:/x"],
}
#: options added to an example that contradict it or the data, (options, must fail): each documented as refused
#: where the flag is True
CONFLICTS = {
    "export": [(["--format", "dta", "--out", "x.csv"], True), (["--format", "csv", "--out", "x"], False),
               (["--no-bom", "--format", "dta", "--out", "x.dta"], False), (["--out", "x.docx"], True),
               (["--out", "results"], True), (["--out", "ws/metrics/city_year.parquet"], True),
               (["--out", "ws/raw/patents.csv"], True), (["--panel", "dyad-year", "--no-covariates"], False)],
    "map": [(["--edges", "collab"], True), (["--classes", "1"], True), (["--classes", "10"], True),
            (["--var", "region", "--classes", "3"], True), (["--var", "l1_collab_degree", "--year", "2006"], True),
            (["--var", "collab_degree", "--year", "2010", "--year", "2012"], True), (["--out", "x.pdf"], False),
            (["--out", "ws/citynet.toml"], True), (["--var", "collab_community"], False), (["--out", "x.docx"], True),
            (["--edges", "citation", "--year", "2030"], True)],
    "metrics": [(["--all-patents", "--year-basis", "grant"], True), (["--network", "invention.wipo.all", "--green",
                                                                      "y02"], True),
                (["--years", "2021"], True), (["--years", "2006-2030"], True), (["--network", "utility.y02.granted"],
                                                                               False),
                (["--network", "invention.wipo.all.grant"], True), (["--rebuild-projections", "--years", "2015"], False)],
    "query": [(["--network", "invention.wipo.all"], True), (["--file", "nowhere.cypher"], True),
              (["--format", "xml"], True), (["--list", "--write"], True),
              (["--param", "year=2015", "--param", "year=2016"], True), (["--named", "top_partners"], True),
              (["--named", "top_partners", "--param", "city=320100", "--param", "year=2015", "--file",
                "cypher/queries/partner_churn.cypher"], True)],
    "report": [(["--permutations", "-1"], True), (["--permutations", "100000"], True), (["--city", "不存在市"], True),
               (["--city", "999999"], True), (["--out", "x.pdf"], True), (["--out", "nowhere/r.html"], True),
               (["--years", "2020", "2010"], False), (["--network", "invention.wipo.all"], False)],
    "load": [(["--import-dir", "raw"], True), (["--import-dir", "raw/patents.csv"], True),
             (["--store", "neo4j", "--uri", "http://127.0.0.1:7474"], True)],
    "fit": [(["--inference", "wild:19", "--model", "ppml"], True), (["--param", "nope", "--inference", "wild:19"], True),
            (["--out", "x"], True), (["--split", "nope"], True), (["--weights", "nope"], True),
            (["--panel", "dyad-year"], True), (["--vcov", "hc1", "--cluster", "province_code"], False),
            (["--sample", "year >= 2030"], True)],
    "synth": [(["--years", "2020-2010"], True), (["--years", "2010"], False), (["--policy-effect", "nan"], True),
              (["--distance-decay", "inf"], True), (["--years", "1900-1910"], True), (["--years", "2010-2100"], True),
              (["--seed", "-1"], False)],
    "ingest": [(["raw/patents.csv", "raw/patents.csv"], True), (["--covariates", "raw/patents.csv"], True),
               (["--transfers", "raw/covariates.csv"], True), (["--policies", "raw/patents.csv"], True),
               (["--encoding", "utf-9"], True), (["--encoding", "utf-16"], True), (["--append"], False)],
    "init": [(["--force"], False)],
    "run": [(["--dry-run", "--force"], False)],
    "neo4j status": [(["--data", "raw/patents.csv"], False)],
    "neo4j stop": [(["--timeout", "-1"], True), (["--timeout", "nan"], True)],
}
WRONG_INT = ["abc", "-5", "0", "1e3", "3.5", "99999999999999999999", "３", "", "1,000", "0x10", "nan"]
WRONG_FLOAT = ["abc", "", "nan", "inf", "-inf", "1e999", "1,5", "--", "0x1"]
ODD_NAMES = ["城市 数据.csv", "a\u200bb.csv", "\u202etxt.csv", "e\u0301.csv", "\udcff\udcfe.csv", "-dash.csv",
             " lead.csv", "x" * 300 + ".csv", "a\nb.csv", "semi;colon.csv", "..csv", "$HOME.csv", "*.csv"]
#: options that write a file or folder (the rest that take a path read one)
OUTPUT_OPTIONS = ("--out", "--import-dir")
FOREIGN_OPTIONS = ["--patents", "--years", "--year", "--panel", "--var", "--formula", "--store", "--append",
                   "--rebuild", "--force", "--bogus", "--city", "--json", "--dry-run", "-x", "--workspace="]


@dataclass
class Case:
    """One command line (after ``citynet``), relative to the case folder: ``ws`` is the workspace copy in the
    state ``state``; ``setup`` names a fixture the case folder gets (``readonly``: ``ro/`` immutable)."""

    args: list[str]
    mutation: str
    must_fail: bool = False
    expect: tuple[int, ...] | None = None
    state: str = "full"
    setup: tuple[str, ...] = ()
    example: str = ""

    @property
    def command(self) -> str:
        words = [a for a in self.args[:2] if not a.startswith("-")]
        return " ".join(words[:2]) if words[:1] == ["neo4j"] else words[0] if words else "?"


@dataclass
class Outcome:
    case: Case
    code: int
    output: str
    verdict: str  # "ok" or the failure's kind
    seconds: float
    reason: str = ""
    escaped: str = ""


# ---------------------------------------------------------------------------------------------------------
# the documented examples, and what each token of them is


def _click_command(words: list[str]):
    import click

    from citynet.cli import cli

    ctx = click.Context(cli)
    cmd = cli.get_command(ctx, words[0])
    if isinstance(cmd, click.Group) and len(words) > 1:
        cmd = cmd.get_command(ctx, words[1])
    return cmd


def examples() -> list[tuple[str, list[str]]]:
    """(command, args) of every ``citynet …`` line of the commands' "Examples:" sections, comments cut."""
    import click

    from citynet.cli import cli

    ctx = click.Context(cli)
    out = []
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        subs = [(name, cmd)]
        if isinstance(cmd, click.Group):
            subs = [(f"{name} {s}", cmd.get_command(ctx, s)) for s in cmd.list_commands(ctx)]
        for full, sub in subs:
            if full in SKIPPED:
                continue
            for line in (sub.epilog or "").splitlines():
                m = re.match(r"^\s*(?:[A-Z_]+=\S+\s+)?citynet (.*)$", line)
                if not m:
                    continue
                text = re.split(r"\s{2,}", m.group(1).strip())[0].replace("\\$", "$")
                out.append((full, shlex.split(text)))
    return out


def _params(cmd) -> dict[str, object]:
    """Option string → click parameter."""
    import click

    return {opt: p for p in cmd.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}


def split_tokens(cmd, words: int, args: list[str]) -> list[tuple[str, list[int]]]:
    """The example's tokens after the command words as items: ("opt", [i, value indices…]) or ("arg", [i])."""
    params = _params(cmd)
    items, i = [], words
    while i < len(args):
        tok = args[i]
        p = params.get(tok)
        if p is not None and not getattr(p, "is_flag", False) and getattr(p, "nargs", 1) != 0:
            n = max(1, getattr(p, "nargs", 1))
            items.append(("opt", [i] + list(range(i + 1, min(i + 1 + n, len(args))))))
            i += 1 + n
        elif p is not None:
            items.append(("flag", [i]))
            i += 1
        else:
            items.append(("arg", [i]))
            i += 1
    return items


def _kind(cmd, opt: str | None) -> str:
    """What a value slot takes: int, float, choice, path_in, path_out, text."""
    import click

    if opt is None:  # a positional argument
        args = [p for p in cmd.params if isinstance(p, click.Argument)]
        if args and args[0].name in ("out", "directory"):
            return "path_out"
        if args and args[0].name in ("files", "spec"):
            return "path_in"
        return "text"
    p = _params(cmd).get(opt)
    t = getattr(p, "type", None)
    if opt in OUTPUT_OPTIONS:
        return "path_out"
    if isinstance(t, click.Choice):
        return "choice"
    if isinstance(t, (click.IntRange,)) or t is click.INT:
        return "int"
    if isinstance(t, click.FloatRange) or t is click.FLOAT:
        return "float"
    if isinstance(t, click.Path) or opt in ("--file", "--transfers", "--covariates", "--policies", "--data"):
        return "path_in"
    return "text"


# ---------------------------------------------------------------------------------------------------------
# the mutations


def _localise(args: list[str]) -> list[str]:
    """An example's paths made those of the case folder: /tmp/x → x, aliases for files the folder lacks, and a
    1,000-patent synth instead of a million."""
    out = []
    for a in args:
        a = ALIASES.get(a, a)
        if a.startswith("/tmp/"):
            a = a[len("/tmp/"):]
        out.append(a)
    if out[:1] == ["synth"] and "--patents" in out:
        out[out.index("--patents") + 1] = "1000"
    if out[:1] == ["synth"] and "--patents" not in out:
        out += ["--patents", "1000"]
    return out


def _dead_uri(port: int) -> str:
    return f"bolt://127.0.0.1:{port}"


def _neo4j_safe(args: list[str], port: int) -> list[str]:
    """Any command line that would reach a Neo4j server reaches only a port where nothing listens (another
    engineer's test server may run on 7687), unless its --uri is one that is not Bolt."""
    if "neo4j" not in args or args[:1] == ["neo4j"]:
        return args
    out = list(args)
    if "--uri" in out:
        i = out.index("--uri")
        if i + 1 < len(out) and re.match(r"^(bolt|neo4j)(\+s|\+ssc)?://[^/]*localhost|^(bolt|neo4j)://127\.", out[i + 1]):
            out[i + 1] = _dead_uri(port)
    else:
        out += ["--uri", _dead_uri(port)]
    return out


def mutate(rng: random.Random, name: str, base: list[str], pool: list[str], port: int) -> Case:
    """One mistaken command line from the example ``base`` (``name``: its command words)."""
    cmd = _click_command(name.split())
    words = len(name.split())
    args = list(base)
    items = split_tokens(cmd, words, args)
    slots = [(it[1][0], j, args[it[1][0]]) for it in items if it[0] == "opt" for j in it[1][1:]]
    slots += [(None, it[1][0], None) for it in items if it[0] == "arg"]
    has_ws = "-w" in args or "--workspace" in args
    choices = ["swap", "missing", "empty", "wrong_type", "unknown", "foreign_option", "duplicate"]
    if name in CONFLICTS:
        choices += ["conflict"] * 3
    if has_ws:
        choices += ["workspace", "stage"] * 2
    if any(_kind(cmd, args[o] if o is not None else None) in ("path_in", "path_out") for o, _, _ in slots):
        choices += ["path", "path", "odd_name"]
    if name in ("load", "metrics", "query"):
        choices += ["dead_uri", "bad_uri"]
    if name in ("map", "report", "metrics", "query"):
        choices += ["years", "years"]
    how = rng.choice(choices)
    case = Case(args, how, example=" ".join(base))

    def put(i: int, value: str, must_fail: bool) -> Case:
        new = list(args)
        new[i] = value
        return Case(new, how, must_fail, example=case.example)

    def slot_of(kinds: tuple[str, ...]):
        fits = [(o, j) for o, j, _ in slots if _kind(cmd, args[o] if o is not None else None) in kinds]
        return rng.choice(fits) if fits else None

    if how == "swap" and slots:
        o, j, _ = rng.choice(slots)
        return put(j, rng.choice(pool), False)
    if how == "missing" and slots:
        o, j, _ = rng.choice(slots)
        if o is None:  # a positional argument left out: the command may have a default (ingest's [inputs])
            return Case(args[:j] + args[j + 1:], how, False, example=case.example)
        return Case(args[:j] + args[j + 1:], how, True, example=case.example)
    if how == "empty" and slots:
        o, j, _ = rng.choice(slots)
        opt = args[o] if o is not None else None
        return put(j, "", opt not in ("--password", "--user", "--sample", "--param", "--data"))
    if how == "wrong_type" and slots:
        o, j, _ = rng.choice(slots)
        kind = _kind(cmd, args[o] if o is not None else None)
        if kind == "int":
            value = rng.choice(WRONG_INT)
            return put(j, value, not _in_range(_params(cmd).get(args[o]) if o is not None else None, value))
        if kind == "float":
            return put(j, rng.choice(WRONG_FLOAT), True)
        return put(j, rng.choice(WRONG_INT + WRONG_FLOAT), False)
    if how == "unknown":
        known = [(o, j) for o, j, _ in slots if o is not None and args[o] in UNKNOWN]
        if known:
            o, j = rng.choice(known)
            value = rng.choice(UNKNOWN[args[o]])
            lenient = args[o] in ("--password", "--user", "--cluster", "--split", "--weights", "--years")
            lenient |= value in ("region", "year", "2015 2016")  # columns that exist (a fit may take them)
            return put(j, value, not lenient and value != "")
        # an option the command has, with a wrong value, added
        opts = [o for o in _params(cmd) if o in UNKNOWN and o.startswith("--")]
        if opts:
            opt = rng.choice(opts)
            value = rng.choice(UNKNOWN[opt])
            must = opt in ("--network", "--var", "--panel", "--format", "--named", "--edges")
            must |= name == "query" and "--list" in args  # --list runs no query: refused with any query option
            # a Neo4j option, an empty password included, on the embedded store (no --store neo4j): refused
            must |= opt in ("--password", "--user", "--uri") and name in ("query", "load") and "neo4j" not in args
            return Case(args + [opt, value], how, must, example=case.example)  # (query --list: refused with any)
    if how == "foreign_option":
        opt = rng.choice(FOREIGN_OPTIONS)
        new = list(args)
        new.insert(rng.randint(words, len(new)), opt)
        known = opt in _params(cmd) or opt == "--workspace="
        return Case(new, how, not known, example=case.example)
    if how == "duplicate" and slots:
        o, j, _ = rng.choice(slots)
        if o is not None:
            return Case(args + [args[o], rng.choice(pool)], how, False, example=case.example)
    if how == "workspace" and has_ws:
        i = (args.index("-w") if "-w" in args else args.index("--workspace")) + 1
        where = rng.choice(["nowhere", "raw/patents.csv", "empty", "raw", "", "ws/citynet.toml", "ws/canonical",
                            "garbage", "ws/store"])
        makers = ("init", "ingest")  # they make a workspace of a missing or unrelated folder
        must = {"nowhere": name not in makers, "raw/patents.csv": True, "ws/citynet.toml": True, "": True,
                "garbage": name != "init" or "--force" not in args}.get(
            where, name not in (*makers, "run"))  # run says what it would run; report refuses a folder without inputs
        if name == "query" and "--list" in args:
            must = False
        c = put(i, where, must)
        c.setup = ("empty", "garbage")
        return c
    if how == "stage" and has_ws and name in NEEDS:
        earlier = STATES[:STATES.index(NEEDS[name])]
        c = Case(args, how, True, state=rng.choice(earlier), example=case.example)
        if name == "query" and "--list" in args:
            c.must_fail = False
        return c
    if how in ("path", "odd_name"):
        s = slot_of(("path_in", "path_out"))
        if s is not None:
            o, j = s
            kind = _kind(cmd, args[o] if o is not None else None)
            if how == "odd_name":
                value = rng.choice(ODD_NAMES)
                if kind == "path_out" and name == "export":  # keep the suffix: the format comes from it
                    value = value.removesuffix(".csv") + Path(args[j]).suffix
                not_utf8 = "\udcff" in value  # refused by every command (citynet/cli.py), an input or an output
                return put(j, value, (kind == "path_in" and not name.startswith("neo4j")) or not_utf8)
            if kind == "path_in":
                value = rng.choice(["nowhere.csv", "raw", "ws", "ws/store/graph.lbdb", "/dev/null", "ro",
                                    "raw/patents.csv/x"])
                c = put(j, value, (value != "ws" or name != "ingest") and not name.startswith("neo4j"))
            else:
                value = rng.choice(["nowhere/out" + Path(args[j]).suffix, "raw", "ro/out" + Path(args[j]).suffix,
                                    "raw/patents.csv/out" + Path(args[j]).suffix, "ws/citynet.toml",
                                    "/proc/out" + Path(args[j]).suffix])
                c = put(j, value, True)
                if name in ("synth", "demo") and value == "raw":  # a folder is what they write into
                    c.must_fail = name == "demo"
                if name == "synth" and value.startswith("nowhere/"):  # synth makes its folder
                    c.must_fail = False
            c.setup = ("readonly",)
            return c
    if how == "conflict":
        extra, must = rng.choice(CONFLICTS[name])
        new = list(args)
        for opt in [e for e in extra if e.startswith("--") and e not in ("--param", "--year")]:
            p = _params(cmd).get(opt)
            if opt in new and p is not None and not p.is_flag:  # the example's own value replaced, not doubled
                i = new.index(opt)
                del new[i:i + 1 + p.nargs]
        if name == "ingest" and extra[0] == "raw/patents.csv":
            new = new[:words + 2] + extra + [a for a in new[words + 2:] if a != "raw/patents.csv"]
        elif name == "query" and "--named" in extra:
            new = [a for a in new if not a.startswith("MATCH")]
            new = _drop_options(new, ("--param", "--file"))
            new += extra
        else:
            new += extra
        if name == "export" and extra in (["--out", "x.docx"], ["--out", "results"]):  # --format writes a suffix it
            must = "--format" not in new  # does not know (.txt) or a name without one, as --format csv --out x
        if name == "query" and "--network" in extra:  # refused only on a query without $network
            texts = list(new)
            given = new[new.index("--file") + 1:new.index("--file") + 2] if "--file" in new else []
            if given and (REPO / given[0]).is_file():  # the query in the file (cypher/ is the repository's)
                texts.append((REPO / given[0]).read_text(encoding="utf-8"))
            must = not any("$network" in a for a in texts) and "--named" not in new
        return Case(new, how, must or (name == "query" and "--list" in new), example=case.example)  # --list runs none
    if how == "dead_uri":
        new = [a for a in args if a not in ("--store", "neo4j", "--uri") and not a.startswith("bolt://")]
        c = Case(new + ["--store", "neo4j", "--uri", _dead_uri(port)], how, True, expect=(4,), example=case.example)
        if name == "query" and "--list" in args:  # --list runs no query: --store and --uri are refused with it
            c.expect = (2,)
        if name == "load" and "--import-dir" in args:
            c.expect = (2, 4)  # the import folder is checked first
        return c
    if how == "bad_uri":
        new = [a for a in args if a not in ("--store", "neo4j", "--uri") and not a.startswith("bolt://")]
        uri = rng.choice(UNKNOWN["--uri"])
        c = Case(new + ["--store", "neo4j", "--uri", uri], how, True, expect=(2,), example=case.example)
        return c
    if how == "years":
        opt = {"map": "--year", "report": "--years", "metrics": "--years", "query": "--param"}[name]
        if name == "query":
            if "--named" not in args:
                return Case(args, "example", example=case.example)
            value = rng.choice(["year=2030", "year=1990", "year=-1", "year=99999", "year=abc", "year_a=2030"])
            new = [a for a in args if not a.startswith("year")]
            return Case(new + ["--param", value], how, True, example=case.example)
        if name == "report":
            pair = rng.choice([["2030", "2031"], ["1990", "2010"], ["2020", "2010"], ["2010", "2010"], ["x", "y"],
                               ["2010"], ["-1", "2010"]])
            new = list(args)
            if "--years" in new:
                i = new.index("--years")
                del new[i:i + 3]
            return Case(new + ["--years", *pair], how, pair not in (["2020", "2010"], ["2010", "2010"]),
                        example=case.example)
        value = rng.choice(UNKNOWN[opt])
        new = list(args)
        if opt in new:
            new[new.index(opt) + 1] = value
        else:
            new += [opt, value]
        return Case(new, how, True, example=case.example)
    return Case(args, "example", example=case.example)  # the example itself


def _in_range(option, value: str) -> bool:
    """``value`` is a whole number within the option's IntRange (``--seed 0``): a value the option takes."""
    import click

    try:
        number = int(value)
    except ValueError:
        return False
    t = getattr(option, "type", None)
    return isinstance(t, click.IntRange) and (t.min is None or number >= t.min) and (t.max is None or number <= t.max)


def _drop_options(args: list[str], options: tuple[str, ...]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in options:
            skip = True
        else:
            out.append(a)
    return out


def cases(rng: random.Random, count: int, commands: list[str] | None, port: int) -> list[Case]:
    """``count`` cases drawn over the commands in turn (each command as often), from their examples."""
    by_command: dict[str, list[list[str]]] = {}
    for name, args in examples():
        if name == "demo":
            continue
        by_command.setdefault(name, []).append(_localise(args))
    pool = [a for exs in by_command.values() for args in exs for a in args[1:] if not a.startswith("-")]
    pool = sorted(set(pool))
    names = sorted(by_command) + ["demo"]
    if commands:
        names = [n for n in names if n in commands or n.split()[0] in commands]
    out: list[Case] = []
    for k in range(count):
        name = names[k % len(names)]
        if name == "demo":
            out.append(demo_case(rng))
            continue
        base = rng.choice(by_command[name])
        case = mutate(rng, name, base, pool, port)
        case.args = _neo4j_safe(case.args, port)
        if case.args[:1] == ["synth"] and not case.must_fail:  # a synth that may run stays small
            case.args = _small_synth(case.args)
        if case.args[:1] == ["run"] and "--force" in case.args and not case.must_fail:
            case.args = [a for a in case.args if a != "--force"]  # every stage again: a minute, for nothing new
        out.append(case)
    return out


def _small_synth(args: list[str]) -> list[str]:
    out = list(args)
    if "--patents" in out and out.index("--patents") + 1 < len(out):
        v = out[out.index("--patents") + 1]
        if v.isdigit() and 1000 <= int(v) <= 10_000_000:
            out[out.index("--patents") + 1] = "1000"
    return out


def demo_case(rng: random.Random) -> Case:
    """``citynet demo`` refused before any work: a folder that is not a demo's, a bad size or seed."""
    target = rng.choice(["ws", "raw", "raw/patents.csv", "ro/demo", "nowhere/x/y", "ws/citynet.toml"])
    size = rng.choice(["5", "abc", "-1", "", "20000000", "1e3"])
    if rng.random() < 0.5:
        args = ["demo", target, "--patents", "1000"] if target not in ("nowhere/x/y",) else ["demo", target, "--patents", size]
    else:
        args = ["demo", "new-demo", "--patents", size] if rng.random() < 0.7 else ["demo", "new-demo", "--seed", "x",
                                                                                   "--patents", size]
    return Case(args, "demo", True, setup=("readonly",), example="demo /tmp/demo --patents 50000")


# ---------------------------------------------------------------------------------------------------------
# running and judging


class _CurrentStderr:
    """A stream that writes to whatever ``sys.stderr`` is now: logging's handler was bound to the stream of the
    first command run in this process; this one follows each case's capture."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _follow_logging() -> None:
    for h in logging.getLogger().handlers:
        if type(h) is logging.StreamHandler and not isinstance(h.stream, _CurrentStderr):  # basicConfig's (not pytest's)
            h.setStream(_CurrentStderr())


def judge(case: Case, code: int, output: str, escaped: BaseException | None) -> tuple[str, str]:
    """("ok", "") or (failure kind, why)."""
    if escaped is not None:
        return "escaped", f"{type(escaped).__name__}: {escaped}"[:300]
    if "Traceback (most recent call last)" in output:
        return "traceback", "a traceback in the output"
    if code not in DOCUMENTED_EXITS:
        return "exit_code", f"exit {code} is not documented"
    if case.expect is not None and code not in case.expect:
        return "wrong_code", f"exit {code}, expected {'/'.join(map(str, case.expect))}"
    if code == 0:
        return ("accepted", "exit 0 on input that cannot be right") if case.must_fail else ("ok", "")
    if code == 130:
        return "ok", ""
    lines = output.splitlines()
    if code == 1 and not (case.command == "neo4j status" or re.search(r"no space left|disk is full", output, re.I)):
        return "wrong_code", "exit 1 (a check said no: neo4j status, a full disk) for another refusal"
    if code == 1 and case.command == "neo4j status" and not any(ln.startswith("error:") for ln in lines):
        return "ok", ""
    starts = [i for i, ln in enumerate(lines) if ln.startswith("error:")]
    if not starts:  # (click's own usage errors too: citynet/cli.py gives them an error: and a fix: line)
        return "no_message", f"exit {code} without an 'error:' line"
    if len(starts) > 1:
        return "several_messages", f"{len(starts)} 'error:' lines"
    tail = [ln for ln in lines[starts[0]:] if ln.strip()]
    if len(tail) > MAX_MESSAGE_LINES:
        return "long_message", f"{len(tail)} lines from 'error:'"
    if not any(ln.strip().startswith("fix:") for ln in tail):
        return "no_fix", "an 'error:' without its 'fix:' line"
    return "ok", ""


def _setup(folder: Path, case: Case) -> list[Path]:
    """The case folder's fixtures; returns the folders made immutable (undone after the case)."""
    frozen = []
    if "empty" in case.setup:
        (folder / "empty").mkdir(exist_ok=True)
    if "garbage" in case.setup:
        (folder / "garbage").mkdir(exist_ok=True)
        (folder / "garbage" / "citynet.toml").write_bytes(b"[store\nbackend = \xff\n")
    if "readonly" in case.setup and os.geteuid() == 0:
        ro = folder / "ro"
        ro.mkdir(exist_ok=True)
        (ro / "f.csv").write_text("x\n")
        if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode == 0:
            frozen.append(ro)
    return frozen


def run_case(case: Case, base: Path, folder: Path) -> Outcome:
    """Copy the workspace state into ``folder``/ws, run the case there (the folder as current directory)."""
    from bench.in_process import run_citynet

    folder.mkdir(parents=True)
    shutil.copytree(base / case.state, folder / "ws", symlinks=True)
    shutil.copytree(base / "raw", folder / "raw")
    for name in ("examples", "cypher"):
        (folder / name).symlink_to(REPO / name)
    frozen = _setup(folder, case)
    here = os.getcwd()
    os.chdir(folder)
    started = time.perf_counter()
    try:
        _follow_logging()
        code, output, escaped = run_citynet(list(case.args))
    finally:
        os.chdir(here)
        for ro in frozen:
            subprocess.run(["chattr", "-i", str(ro)], capture_output=True)
    seconds = time.perf_counter() - started
    verdict, reason = judge(case, code, output, escaped)
    text = "".join(traceback.format_exception(escaped))[-3000:] if escaped is not None else ""
    return Outcome(case, code, output, verdict, seconds, reason, text)


def _quiet_call(args: list[str]) -> tuple[int, str]:
    from bench.in_process import run_citynet

    _follow_logging()
    code, output, escaped = run_citynet(args)
    if escaped is not None or code:
        raise RuntimeError(f"preparing the workspace: citynet {' '.join(args)} → exit {code}: {output[-2000:]}"
                           f"{escaped!r}")
    return code, output


def prepare(base: Path, patents: int = 1000) -> Path:
    """The workspace's states under ``base``: fresh (init), ingested, loaded, full (metrics), and raw/ (the
    synth's files). ``citynet.toml``'s Neo4j address is a port where nothing listens."""
    ws = base / "build"
    _quiet_call(["-q", "synth", str(ws), "--patents", str(patents), "--seed", "7"])
    shutil.copytree(ws / "raw", base / "raw")  # the ws keeps its own: citynet.toml [inputs] names it (run)
    shutil.copy(base / "raw" / "patents.csv", base / "raw" / "patents2.csv")
    _quiet_call(["-q", "init", "-w", str(ws)])
    toml = ws / "citynet.toml"
    toml.write_text(re.sub(r'uri = "bolt://localhost:7687"', f'uri = "{_dead_uri(dead_port())}"',
                           toml.read_text(encoding="utf-8")), encoding="utf-8")
    shutil.copytree(ws, base / "fresh", symlinks=True)
    raw = base / "raw"
    _quiet_call(["-q", "ingest", "-w", str(ws), str(raw / "patents.csv"), "--transfers", str(raw / "transfers.csv"),
                 "--covariates", str(raw / "covariates.csv")])
    shutil.copytree(ws, base / "ingested", symlinks=True)
    _quiet_call(["-q", "load", "-w", str(ws)])
    shutil.copytree(ws, base / "loaded", symlinks=True)
    _quiet_call(["-q", "metrics", "-w", str(ws)])
    ws.rename(base / "full")
    return base


def dead_port() -> int:
    """A loopback port where nothing listens (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(seed: int, count: int, commands: list[str] | None = None, base: Path | None = None,
        progress: bool = False) -> dict:
    """``count`` cases from ``seed``; the report (counts by outcome, each failure). ``base``: a folder prepared
    by :func:`prepare` (else one is built under a temporary folder)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="citynet-fuzz-cli-") as tmp:
        tmp = Path(tmp)
        if base is None:
            base = prepare(tmp / "base")
        prepared = time.perf_counter() - started
        port = dead_port()
        drawn = cases(rng, count, commands, port)
        outcomes = []
        for k, case in enumerate(drawn):
            if progress:
                print(f"[{k + 1}/{len(drawn)}] citynet {shlex.join(case.args)}"[:200], file=sys.stderr, flush=True)
            o = run_case(case, base, tmp / f"case{k}")
            outcomes.append(o)
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp / f"case{k}")
    by_outcome: dict[str, int] = {}
    by_command: dict[str, dict[str, int]] = {}
    for o in outcomes:
        key = o.verdict if o.verdict != "ok" else f"ok (exit {o.code})"
        by_outcome[key] = by_outcome.get(key, 0) + 1
        row = by_command.setdefault(o.case.command, {})
        row[key] = row.get(key, 0) + 1
    failures = [{"command": "citynet " + shlex.join(o.case.args), "mutation": o.case.mutation,
                 "state": o.case.state, "example": o.case.example, "failure": o.verdict, "why": o.reason,
                 "exit": o.code, "output_head": "\n".join(o.output.splitlines()[:15])[:1500],
                 "escaped": o.escaped} for o in outcomes if o.verdict != "ok"]
    return {"seed": seed, "count": len(outcomes), "outcomes": by_outcome, "by_command": by_command,
            "failures": failures, "seconds": round(time.perf_counter() - started, 1),
            "prepare_seconds": round(prepared, 1),
            "cases": [{"command": "citynet " + shlex.join(o.case.args), "mutation": o.case.mutation,
                       "must_fail": o.case.must_fail, "exit": o.code, "verdict": o.verdict,
                       "message": next((ln for ln in o.output.splitlines() if ln.lower().startswith("error")),
                                       (o.output.splitlines() or [""])[-1])[:200]} for o in outcomes],
            "slowest": sorted(((round(o.seconds, 1), "citynet " + shlex.join(o.case.args)[:120]) for o in outcomes),
                              reverse=True)[:5]}


def summary(report: dict) -> str:
    lines = [f"fuzz_cli seed {report['seed']}: {report['count']} cases in {report['seconds']} s "
             f"(workspace {report['prepare_seconds']} s), {len(report['failures'])} failures"]
    lines += [f"  {k}: {v}" for k, v in sorted(report["outcomes"].items())]
    lines.append("slowest: " + "; ".join(f"{sec} s {cmd}" for sec, cmd in report["slowest"][:3]))
    lines.append("by command:")
    lines += [f"  {c}: " + ", ".join(f"{k} {v}" for k, v in sorted(row.items()))
              for c, row in sorted(report["by_command"].items())]
    for f in report["failures"]:
        lines += ["", f"FAILURE {f['failure']} ({f['why']}) [{f['mutation']}, workspace {f['state']}]",
                  f"  {f['command']}", *("    | " + ln for ln in f["output_head"].splitlines())]
        if f["escaped"]:
            lines += ["    " + ln for ln in f["escaped"].splitlines()[-8:]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--commands", default="", help="comma-separated commands (default: all)")
    ap.add_argument("--keep-workspace", type=Path, default=None,
                    help="a folder for the prepared workspace states, built once and reused by later runs")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--progress", action="store_true", help="print each command line before it runs")
    ap.add_argument("--cases", action="store_true", help="list every case: exit code, command line, message")
    args = ap.parse_args(argv)
    base = args.keep_workspace
    if base is not None and not (base / "full").exists():
        base.mkdir(parents=True, exist_ok=True)
        prepare(base)
    commands = [c.strip() for c in args.commands.split(",") if c.strip()] or None
    report = run(args.seed, args.count, commands, base, args.progress)
    text = json.dumps(report, indent=1, ensure_ascii=False) if args.json else summary(report)
    if args.cases and not args.json:
        text += "\n\ncases:\n" + "\n".join(f"  {c['exit']} {c['verdict']:<8} {c['mutation']:<14} {c['command'][:150]}"
                                           f"\n      {c['message']}" for c in report["cases"])
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"))  # a non-UTF-8 name's surrogates shown as \\udcff
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
