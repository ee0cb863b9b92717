"""The CI sample of bench/fuzz_cli.py: mistaken command lines mutated from every command's documented examples
(``citynet CMD --help``), run in-process on copies of a 1,000-patent workspace — each a result or one ``error:``
message with its ``fix:`` and a documented exit code, never a traceback, never exit 0 on input that cannot be
right. A fixed seed; ``run`` is left out here (its first run on the prepared workspace redoes every stage, 10 s);
the longer runs (``python -m bench.fuzz_cli --seed S --count N``) take every command."""

from __future__ import annotations

from bench.fuzz_cli import run, summary

COMMANDS = ["init", "synth", "ingest", "load", "metrics", "export", "query", "fit", "map", "report", "neo4j", "demo"]


def test_the_cli_fuzz_sample_finds_no_failure():
    report = run(seed=20261207, count=39, commands=COMMANDS)
    assert not report["failures"], summary(report)
    assert report["count"] == 39
    assert {c.split()[0] for c in report["by_command"]} == set(COMMANDS)
    exits = {k for k in report["outcomes"]}
    assert "ok (exit 2)" in exits and "ok (exit 0)" in exits, report["outcomes"]  # refusals and results both
