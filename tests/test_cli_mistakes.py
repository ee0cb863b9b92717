"""Newcomer mistakes on the command line found by bench/fuzz_cli.py, each one message and exit 2 (README, "exit
codes"): an option given without its value before another option (click took the option as the value: ``init -w
--force`` made a workspace folder named ``--force``), an empty ``-w ''`` (it was the current folder: ``init`` and
``ingest`` made a workspace of it), and an output that cannot be written for another reason than a full disk
(exit 1 is a full disk's; ``export --out /proc/x.csv`` was exit 1)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tests.cli import invoke


@pytest.mark.parametrize("args,option,value", [
    (["init", "-w", "--force"], "-w", "--force"),
    (["ingest", "-w", "--transfers", "t.csv"], "-w", "--transfers"),
    (["init", "-w", "--", "--force"], "-w", "--"),
    (["export", "-w", "ws", "--out", "--no-bom", "--panel", "city-year"], "--out", "--no-bom"),
    (["neo4j", "stop", "--data", "--timeout", "5"], "--data", "--timeout"),
    (["init", "--workspace", "-h"], "--workspace", "-h"),
])
def test_an_option_without_its_value_before_another_option_is_refused(tmp_path, monkeypatch, capsys, args, option,
                                                                       value):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, *args)
    assert code == 2, (out, err)
    assert err.startswith(f"error: {option} has no value: the next word, {value}, is an option"), err
    assert "fix:" in err
    assert list(tmp_path.iterdir()) == []  # no folder named like the option


def test_a_value_that_only_looks_like_an_option_is_still_taken(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, "init", "-w", "-study")  # not an option of init: a folder name
    assert code == 0, err
    assert (tmp_path / "-study" / "citynet.toml").is_file()


@pytest.mark.parametrize("args,message", [
    (["fit", "-w", "ws", "-f", "y ~ a | year", "--formula", "y ~ b | year"],
     "--formula is given twice (first as -f); it takes one value"),
    (["fit", "-w", "ws", "--formula", "y ~ a", "--sample", "year > 2010", "--sample=year > 2012"],
     "--sample is given twice; it takes one value"),
    (["metrics", "-w", "ws", "--years", "2015", "--years", "2016"], "--years is given twice; it takes one value"),
    (["init", "-w", "a", "--workspace", "b"], "--workspace is given twice (first as -w)"),
])
def test_a_one_value_option_given_twice_is_refused(tmp_path, monkeypatch, capsys, args, message):
    """Click kept the last value without a word: fit -f A -f B fitted B alone, metrics --years 2015 --years 2016
    refreshed 2016 alone."""
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, *args)
    assert code == 2, (out, err)
    assert err.startswith(f"error: {message}"), err
    assert "fix: give" in err and "once" in err
    assert list(tmp_path.iterdir()) == []


def test_options_that_take_several_values_may_be_repeated(tmp_path, monkeypatch, capsys):
    """--transfers (like every multiple option) is given once per file; -q twice is still quiet."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t1.csv").write_text("x\n", encoding="utf-8")
    code, out, err = invoke(capsys, "ingest", "-q", "-q", "-w", "ws", "p.csv", "--transfers", "t1.csv",
                            "--transfers", "t2.csv")
    assert "given twice" not in err, err
    assert code == 2 and "p.csv" in err, err  # the missing export is what is refused


@pytest.mark.parametrize("command", [["init"], ["init", "--force"], ["ingest", "x.csv"], ["report"], ["metrics"]])
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_workspace_is_refused_not_the_current_folder(tmp_path, monkeypatch, capsys, command, empty):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, command[0], "-w", empty, *command[1:])
    assert code == 2, (out, err)
    assert err.startswith("error: -w/--workspace is empty"), err
    assert "leave -w out for the current folder" in err
    assert list(tmp_path.iterdir()) == []  # no citynet.toml, results/ or canonical/ in the current folder


def test_disk_error_exit_codes():
    """Exit 1 is the disk's refusal (full, quota, too large, I/O); a folder that cannot be written is exit 2."""
    from citynet.transaction import disk_error

    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
        assert disk_error(OSError(code, "x"), "f").exit_code == 1, code
    for code in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
        err = disk_error(OSError(code, "x"), "f")
        assert err.exit_code == 2 and err.message.startswith("cannot write f"), code


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (a folder where no file can be made)")
def test_export_into_a_folder_that_takes_no_file_is_exit_2(tmp_path, capsys):
    from tests.test_fit_cli import build_workspace

    ws = build_workspace(tmp_path / "ws", n_city=5, years=range(2010, 2013))
    code, out, err = invoke(capsys, "export", "-w", ws, "--panel", "city-year", "--out", "/proc/citynet-x.csv")
    assert code == 2, (out, err)
    assert err.startswith("error: cannot write /proc/citynet-x.csv"), err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (a folder where no file can be made)")
def test_an_excel_export_that_cannot_be_written_is_one_message_and_nothing_after_it(tmp_path, capsys, monkeypatch):
    """export --out /proc/x.xlsx wrote every row (seconds) before the folder refused the file, and the sheet writers
    it left open printed lxml tracebacks when collected ('Exception ignored in: <generator object
    WorksheetWriter.get_stream>', found by bench/fuzz_cli.py seed 37). A failure while saving (a full disk) leaves
    none either."""
    import gc
    import sys

    from citynet.metrics import export as export_module

    from tests.test_fit_cli import build_workspace

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    ws = build_workspace(tmp_path / "ws", n_city=5, years=range(2010, 2013))
    code, out, err = invoke(capsys, "export", "-w", ws, "--panel", "city-year", "--out", "/proc/citynet-x.xlsx")
    assert code == 2, (out, err)
    assert err.startswith("error: cannot write /proc/citynet-x.xlsx"), err
    assert "writing the Excel sheet" not in err  # refused before the rows

    def full(book, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_save_stamped", full)
    code, out, err = invoke(capsys, "export", "-w", ws, "--panel", "city-year", "--out", tmp_path / "x.xlsx")
    assert code == 1, (out, err)  # a full disk (README: exit 1)
    gc.collect()
    assert unraisable == [] and "Exception ignored" not in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists() and list(tmp_path.glob(".x.xlsx*")) == []


@pytest.mark.parametrize("option,value", [("--policy-effect", "nan"), ("--distance-decay", "inf"),
                                          ("--distance-decay", "100"), ("--policy-effect", "-5.5")])
def test_synth_refuses_effects_it_cannot_plant(tmp_path, capsys, option, value):
    """nan and inf escaped as numpy's 'lam value too large' (a traceback); θ = 100 calibrated for minutes."""
    code, out, err = invoke(capsys, "synth", tmp_path / "out", "--patents", "1000", option, value)
    assert code == 2, (out, err)
    assert err.startswith(f"error: {option} ") and "outside -5 to 5" in err and "fix:" in err, err
    assert not (tmp_path / "out").exists()


def test_synth_takes_the_bounds(tmp_path, capsys):
    code, out, err = invoke(capsys, "-q", "synth", tmp_path / "out", "--patents", "1000", "--policy-effect", "-5",
                            "--distance-decay", "5", "--years", "2010-2011")
    assert code == 0, err
    assert (tmp_path / "out" / "raw" / "patents.csv").is_file()


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_neo4j_stop_refuses_a_timeout_that_is_not_seconds(tmp_path, capsys, value):
    code, out, err = invoke(capsys, "neo4j", "stop", "--data", tmp_path / "d", "--timeout", value)
    assert code == 2, (out, err)
    assert "is not a number of seconds (0 or more)" in err


def test_metrics_refuses_empty_years(tmp_path, capsys):
    """--years "$YEARS" with YEARS unset recomputed every year, exit 0; refused before the store is opened."""
    assert invoke(capsys, "-q", "init", "-w", tmp_path / "ws")[0] == 0
    code, out, err = invoke(capsys, "metrics", "-w", tmp_path / "ws", "--years", "")
    assert code == 2, (out, err)
    assert err.startswith("error: --years is empty"), err


def test_a_write_query_before_load_is_refused_and_makes_no_store(tmp_path, capsys):
    """As a read-only query: 'the store is empty'. It made an empty store and answered 0 rows, exit 0."""
    ws = tmp_path / "ws"
    assert invoke(capsys, "-q", "init", "-w", ws)[0] == 0
    code, out, err = invoke(capsys, "query", "-w", ws, "--write", "MATCH (c:City {city_code: '320100'}) SET c.tier = '1'")
    assert code == 2, (out, err)
    assert err.startswith("error: there is no embedded store at") and "citynet load -w" in err, err
    assert not (ws / "store").exists()


def test_a_missing_policy_file_is_a_missing_input_not_bad_data(tmp_path, monkeypatch, capsys):
    """It was exit 3 (the reader's 'no such file', a data error) where a missing export is exit 2, and the new
    workspace folder stayed behind."""
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, "ingest", "-w", "new-ws", "--policies", "policies.xlsx")
    assert code == 2, (out, err)
    assert err.startswith("error: no such policy file: policies.xlsx"), err
    assert not (tmp_path / "new-ws").exists()


def test_ppml_with_every_observation_separated_is_one_message(tmp_path, capsys):
    """The dyad-year example of `citynet fit --help` on a small corpus (7 collaborations in 792,624 dyad-years):
    dropping the all-zero origin-year and destination-year groups left no row, and the separation check failed on
    the empty design (numpy: 'zero-size array to reduction operation maximum', a traceback). Here 3 collaborations
    among 10 cities: the row of each is alone in its origin-year and destination-year groups with positives."""
    import pandas as pd

    from tests.test_fit_cli import build_workspace

    ws = build_workspace(tmp_path / "ws", n_city=10, years=range(2010, 2013))
    dyads = pd.read_parquet(ws / "metrics" / "dyad_year.parquet").reset_index(drop=True)
    dyads["collab"] = 0
    dyads.loc[[0, 50, 100], "collab"] = 1
    dyads.to_parquet(ws / "metrics" / "dyad_year.parquet")
    code, out, err = invoke(capsys, "fit", "-w", ws, "--panel", "dyad-year", "--model", "ppml", "--formula",
                            "collab ~ log_distance | origin_year + dest_year")
    assert code == 5, (out, err)
    assert err.startswith(f"error: PPML: every one of the {len(dyads):,} observations is separated (collab is "
                          "positive in 3 of them"), err
    assert "origin_year + dest_year" in err and "fix:" in err


@pytest.mark.parametrize("command", ["synth", "demo"])
def test_a_negative_seed_is_refused(tmp_path, capsys, command):
    """numpy's SeedSequence takes none: synth --seed -1 escaped as 'expected non-negative integer' (a traceback)."""
    code, out, err = invoke(capsys, command, tmp_path / "out", "--patents", "1000", "--seed", "-1")
    assert code == 2, (out, err)
    assert "'--seed': -1 is not in the range x>=0" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command,name", [("synth", "OUT"), ("demo", "DIRECTORY")])
def test_an_empty_output_folder_is_refused_not_the_current_folder(tmp_path, monkeypatch, capsys, command, name):
    """synth "$OUT" with OUT unset wrote raw/, truth/ and truth.json into the current folder, exit 0."""
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, command, "", "--patents", "1000")
    assert code == 2, (out, err)
    assert err.startswith(f"error: {name} is empty ('')"), err
    assert list(tmp_path.iterdir()) == []


def test_report_refuses_an_empty_city(tmp_path, capsys):
    """--city '' (--city "$CITY" unset) was the default city's churn table, exit 0."""
    assert invoke(capsys, "-q", "init", "-w", tmp_path / "ws")[0] == 0
    code, out, err = invoke(capsys, "report", "-w", tmp_path / "ws", "--city", "")
    assert code == 2, (out, err)
    assert err.startswith("error: --city is empty"), err
    assert not (tmp_path / "ws" / "results" / "report.html").exists()


@pytest.mark.parametrize("where", ["empty", "raw", "ws/canonical", "ws"])
def test_report_of_a_folder_with_nothing_to_report_is_refused(tmp_path, capsys, where):
    """report -w empty, -w raw (the exports), -w ws/canonical (the wrong level), or a workspace after init only
    wrote a report of eight "not available" sections, exit 0 (found by bench/fuzz_cli.py seeds 21 and 22)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "patents.csv").write_text("申请号\nCN1\n", encoding="utf-8")
    assert invoke(capsys, "-q", "init", "-w", tmp_path / "ws")[0] == 0
    (tmp_path / "ws" / "canonical").mkdir()
    folder = tmp_path / where
    code, out, err = invoke(capsys, "report", "-w", folder)
    assert code == 2, (out, err)
    assert err.startswith(f"error: nothing to report in {folder}"), err
    assert "fix: pass -w with your workspace folder" in err
    assert not (folder / "results").exists()


def test_report_of_a_workspace_with_one_input_notes_the_rest(tmp_path, capsys):
    """One input (here the ingest report alone) is enough: the other sections are notes, exit 0 (report --help)."""
    assert invoke(capsys, "-q", "init", "-w", tmp_path / "ws")[0] == 0
    (tmp_path / "ws" / "reports").mkdir()
    (tmp_path / "ws" / "reports" / "ingest.json").write_text("{}", encoding="utf-8")
    code, out, err = invoke(capsys, "report", "-w", tmp_path / "ws")
    assert code == 0, (out, err)
    assert (tmp_path / "ws" / "results" / "report.html").is_file()


# a name in another encoding than UTF-8 (b"\xff\xfe": not UTF-8; GBK's 北 is b"\xb1\xb1"), as Python has it
NOT_UTF8 = b"\xff\xfe".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("args", [
    ["export", "-w", "ws", "--panel", "dyad-year", "--format", "parquet", "--out", NOT_UTF8 + ".parquet"],
    ["export", "-w", "ws", "--panel", "city-year", f"--out={NOT_UTF8}.csv"],
    ["ingest", "-w", "new", NOT_UTF8 + ".csv"],
    ["ingest", "-w", "new", "ok.csv", "--transfers", NOT_UTF8 + ".csv"],
    ["report", "-w", NOT_UTF8],
])
def test_a_name_that_is_not_utf8_is_refused(tmp_path, monkeypatch, capsys, args):
    """export --out $'\\xff\\xfe.parquet' escaped as pyarrow's UnicodeEncodeError (bench/fuzz_cli.py seed 25), an
    ingest of $'\\xff\\xfe.csv' or into such a workspace as the write lock's: every file name citynet reads or makes
    is written into UTF-8 files (reports/, quarantine/, Parquet), which cannot hold it."""
    monkeypatch.chdir(tmp_path)
    assert invoke(capsys, "-q", "init", "-w", "ws")[0] == 0
    (tmp_path / "ok.csv").write_text("申请号\n", encoding="utf-8")
    (tmp_path / (NOT_UTF8 + ".csv")).write_text("申请号\n", encoding="utf-8")
    (tmp_path / NOT_UTF8).mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, out, err = invoke(capsys, *args)
    assert code == 2, (out, err)
    assert err.startswith("error: the argument '"), err
    assert "\\xff\\xfe" in err.splitlines()[0] and "is not UTF-8" in err, err  # the bytes shown as \xNN
    assert "\n  fix: rename it in UTF-8 (convmv -f gbk -t utf-8" in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no workspace, no file written


def test_a_current_folder_that_is_not_utf8_is_refused(tmp_path, monkeypatch, capsys):
    """-w left out (the current folder) or a relative path resolves inside it: the same names."""
    here = tmp_path / ("城市" + NOT_UTF8)
    here.mkdir()
    monkeypatch.chdir(here)
    code, out, err = invoke(capsys, "init", "-w", "ws")
    assert code == 2, (out, err)
    assert err.startswith(f"error: the current folder {tmp_path}/城市\\xff\\xfe has a name that is not UTF-8"), err
    assert "fix: run citynet from a folder whose path is UTF-8" in err
    assert list(here.iterdir()) == []
    assert invoke(capsys, "init", "--help")[0] == 0  # help still shows


def test_a_utf8_name_in_chinese_is_taken(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert invoke(capsys, "-q", "init", "-w", "城市 数据")[0] == 0
    assert (tmp_path / "城市 数据" / "citynet.toml").is_file()


def test_map_refuses_an_empty_out(tmp_path, capsys):
    """--out '' escaped as pathlib's "PosixPath('.') has an empty name" (adding .png to a name-less path); the
    command line refuses any empty option value now, and analysis.maps.figure_path a name-less path itself."""
    from citynet.analysis.maps import figure_path

    from citynet.errors import UserError
    from tests.test_fit_cli import build_workspace

    ws = build_workspace(tmp_path / "ws", n_city=5, years=range(2010, 2013))
    code, out, err = invoke(capsys, "map", "-w", ws, "--var", "green_patents", "--out", "")
    assert code == 2, (out, err)
    assert err.startswith("error: --out is empty"), err
    for path in ("", ".", Path("..")):
        with pytest.raises(UserError, match="names no file"):
            figure_path(path)
    assert figure_path("x") == Path("x.png")


@pytest.mark.parametrize("args,option", [
    (["fit", "-w", "WS", "--formula", "green_patents ~ low_carbon", "--weights", ""], "--weights"),
    (["fit", "-w", "WS", "--formula", "green_patents ~ low_carbon", "--cluster", " "], "--cluster"),
    (["fit", "-w", "WS", "--formula", "green_patents ~ low_carbon", "--sample", ""], "--sample"),
    (["fit", "-w", "WS", "--formula", "green_patents ~ low_carbon", "--split", ""], "--split"),
    (["fit", "-w", "WS", "--formula", "green_patents ~ low_carbon", "--inference", ""], "--inference"),
    (["export", "-w", "WS", "--panel", "city-year", "--out", "x.csv", "--network="], "--network"),
    (["metrics", "-w", "WS", "--network", ""], "--network"),
    (["ingest", "-w", "WS", "--transfers", ""], "--transfers"),
])
def test_an_empty_option_value_is_refused_not_the_option_left_out(tmp_path, monkeypatch, capsys, args, option):
    """--weights "$W" with W unset fitted an unweighted model, exit 0; --cluster '' clustered by city, --sample ''
    took every row, --network '' the workspace's filter: the option left out, without a word."""
    from tests.test_fit_cli import build_workspace

    ws = build_workspace(tmp_path / "ws", n_city=5, years=range(2010, 2013))
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, *[str(ws) if a == "WS" else a for a in args])
    assert code == 2, (out, err)
    assert err.splitlines()[0] == f"error: {option} is empty", err
    assert "leave it out for its default" in err


def test_a_command_without_any_argument_still_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, "neo4j", "stop")
    assert code == 0 and "no Neo4j server runs" in out + err, (out, err)


def test_shown_renders_the_bytes_that_are_not_utf8_as_hex():
    """One helper renders an argument and the current folder: GBK's 北京 (b"\\xb1\\xb1\\xbe\\xa9") read as UTF-8
    with surrogateescape is shown byte by byte; a surrogate that stands for no byte (in-process only) as itself."""
    from citynet.cli import _shown

    assert _shown(b"\xb1\xb1\xbe\xa9.csv".decode("utf-8", "surrogateescape")) == "\\xb1\\xb1\\xbe\\xa9.csv"
    assert _shown("城市\udcff") == "城市\\xff"
    assert _shown("a\ud800b") == "a\\ud800b"  # was a UnicodeEncodeError while the message was being written


def test_an_argument_with_a_surrogate_that_is_no_byte_is_refused_in_process(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, "export", "--out", "a\ud800.csv")
    assert code == 2, (out, err)
    assert err.startswith("error: the argument 'a\\ud800.csv' is not UTF-8"), err


@pytest.mark.parametrize("args,message,fix", [
    (["bogus"], "No such command 'bogus'",
     "the commands: init, synth, ingest, load, metrics, export, query, fit, map, report, run, demo, neo4j "
     "(citynet --help says what each does)"),
    (["neo4j", "bogus"], "No such command 'bogus'",
     "the commands: install, start, status, stop (citynet neo4j --help says what each does)"),
    (["synth"], "Missing argument 'OUT'",
     "see citynet synth --help for its options and examples (usage: citynet synth [OPTIONS] OUT)"),
    (["init", "--forse"], "No such option '--forse'. (Did you mean",  # (click's suggestions, --force among them)
     "see citynet init --help for its options and examples (usage: citynet init [OPTIONS])"),
    (["-x"], "No such option '-x'",
     "see citynet --help for its options and examples (usage: citynet [OPTIONS] COMMAND [ARGS]...)"),
    (["query", "--format", "xml"], "Invalid value for '--format': 'xml' is not one of 'table', 'csv', 'json'",
     "see citynet query --help for its options and examples (usage: citynet query [OPTIONS] [TEXT])"),
    (["neo4j", "stop", "--timeout", "x"], "Invalid value for '--timeout': 'x' is not a valid float",
     "see citynet neo4j stop --help for its options and examples (usage: citynet neo4j stop [OPTIONS])"),
    (["report", "--years", "2010"], "Option '--years' requires 2 arguments",
     "see citynet report --help for its options and examples (usage: citynet report [OPTIONS])"),
    (["report", "--years", "2010", "x"], "Invalid value for '--years': 'x' is not a valid integer",
     "see citynet report --help for its options and examples (usage: citynet report [OPTIONS])"),
    (["report", "a", "b"], "Got unexpected extra arguments (a b)",
     "see citynet report --help for its options and examples (usage: citynet report [OPTIONS])"),
    (["fit", "-w"], "Option '-w' requires an argument",
     "see citynet fit --help for its options and examples (usage: citynet fit [OPTIONS] [SPEC])"),
])
def test_click_usage_errors_are_one_message_with_a_fix(tmp_path, monkeypatch, capsys, args, message, fix):
    """README: every mistake is one error: line and a fix: line, exit 2 for a bad option. click's own usage errors
    printed 'Usage: …', "Try '… --help' for help." and 'Error: …' without a fix; the commands listed are those of
    README's command list, the usages those of each command's --help."""
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, *args)
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 2 and lines[1] == f"  fix: {fix}", err
    assert lines[0] == f"error: {message}" or (message.endswith("(Did you mean") and lines[0].startswith(
        f"error: {message}") and "'--force'" in lines[0]), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [[], ["neo4j"]])
def test_a_group_without_its_command_still_prints_its_help(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, *args)
    assert code == 2 and "Usage: citynet" in out + err and "Commands:" in out + err, (out, err)
