"""citynet.toml mistakes a demanding user made: each is one message (``error:`` and ``fix:``), exit 2, no traceback,
and found before anything is written (docs/configuration.md §1). The expected words come from the messages a
user should read, the encodings from Python's codecs, and the workspaces from hand-written files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import call, invoke


def one_message(code: int, err: str) -> str:
    assert code == 2, err
    assert err.count("error:") == 1 and err.count("fix:") == 1 and "Traceback" not in err, err
    return " ".join(err.split())


def write(folder: Path, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "citynet.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    assert call("-q", "synth", root / "A", "--patents", 1000, "--years", "2010-2012", "--seed", 1)[0] == 0
    return root / "A" / "raw"


@pytest.fixture(scope="module")
def loaded(raw, tmp_path_factory) -> Path:
    """A workspace through ingest, load and the default filter's metrics."""
    w = tmp_path_factory.mktemp("ws")
    for args in (("ingest", "-w", w, raw / "patents.csv"), ("load", "-w", w), ("metrics", "-w", w)):
        code, _, err = call("-q", *args)
        assert code == 0, err
    return w


# --- 1. the file's encoding and full-width characters --------------------------------------------------------
def test_a_citynet_toml_saved_in_gbk_is_one_message(tmp_path, capsys):
    """Chinese Windows Notepad's "ANSI" is GBK: it was a UnicodeDecodeError traceback in every command."""
    ws = write(tmp_path, '[columns]\napp_number = "申请号"\n'.encode("gb18030"))
    text = one_message(*invoke(capsys, "metrics", "-w", ws)[::2])
    assert str(ws / "citynet.toml") in text and "not UTF-8" in text and "GBK/GB18030" in text, text
    assert "fix: save it as UTF-8" in text, text


def test_a_citynet_toml_saved_in_utf16_is_one_message(tmp_path, capsys):
    ws = write(tmp_path, '[network]\ngreen = "y02"\n'.encode("utf-16"))
    text = one_message(*invoke(capsys, "metrics", "-w", ws)[::2])
    assert "not UTF-8" in text and "UTF-16" in text and "save it as UTF-8" in text, text


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Older Notepad saves UTF-8 with a BOM: it was "Invalid statement (at line 1, column 1)"."""
    from citynet.workspace import Workspace

    ws = write(tmp_path, '[network]\ngreen = "y02"\n'.encode("utf-8-sig"))
    assert Workspace.open(ws).settings["network"]["green"] == "y02"


@pytest.mark.parametrize("toml,char,ascii_char", [
    ('［network］\ngreen = "y02"\n', "［", "["),
    ('[network]\ngreen ＝ "y02"\n', "＝", "="),
    ('[network]\ngreen = “y02”\n', "“", '"'),
    ('[columns]\napp_number = "申请号（中国）"\n[network]\ngreen ＝ "y02"\n', "＝", "="),
])
def test_a_full_width_character_is_named_with_its_ascii_one(tmp_path, capsys, toml, char, ascii_char):
    """A Chinese input method types ［ ］ ＝ “ ”: the generic TOML message pointed at nothing visible."""
    ws = write(tmp_path, toml)
    text = one_message(*invoke(capsys, "metrics", "-w", ws)[::2])
    assert f"full-width character '{char}'" in text and f"ASCII {ascii_char!r}" in text, text
    assert f"fix: replace {char} with {ascii_char}" in text, text


def test_a_full_width_character_inside_a_header_is_kept(tmp_path):
    from citynet.workspace import Workspace

    ws = write(tmp_path, '[columns]\napp_number = "申请号（中国）"\n')
    assert Workspace.open(ws).settings["columns"] == {"app_number": "申请号（中国）"}


# --- 2. sizes need a unit; load checks its settings before it touches the store ------------------------------
@pytest.mark.parametrize("section,key", [("store", "load_memory_limit"), ("store", "buffer_pool"),
                                         ("metrics", "memory_limit"), ("metrics", "buffer_pool"),
                                         ("ingest", "memory_limit")])
@pytest.mark.parametrize("value", ["5", '"5"', '" 5 "'])
def test_a_size_without_a_unit_asks_for_one(tmp_path, capsys, section, key, value):
    """``load_memory_limit = 5`` went to DuckDB ("Unknown unit for memory") after ``--rebuild`` had emptied the
    store; ``[metrics] memory_limit = 5`` was 5 bytes ("0MiB" in the message)."""
    ws = write(tmp_path, f"[{section}]\n{key} = {value}\n")
    text = one_message(*invoke(capsys, "export", "-w", ws, "--panel", "city-year", "--out", tmp_path / "x.csv")[::2])
    assert f"[{section}] {key}" in text and "has no unit" in text and f'{key} = "5GB"' in text, text
    assert "0MiB" not in text


@pytest.mark.parametrize("value", ['"0GB"', '"lots"', "true", '"5iB"'])
def test_a_size_that_is_not_one_is_refused(tmp_path, capsys, value):
    ws = write(tmp_path, f"[store]\nbuffer_pool = {value}\n")
    text = one_message(*invoke(capsys, "metrics", "-w", ws)[::2])
    assert "[store] buffer_pool" in text and "not a size" in text, text


def test_sizes_with_units_are_read_as_before(tmp_path):
    """Hand-computed: K/M/G/T are powers of 1024; the load hands DuckDB the number and its unit."""
    import duckdb
    from citynet.graph.store import load_settings, size_bytes

    from citynet.workspace import Workspace

    assert size_bytes("2GB", "x") == 2 * 1024**3 and size_bytes("512MB", "x") == 512 * 1024**2
    assert size_bytes("1.5GiB", "x") == 1610612736 and size_bytes(" 3 G ", "x") == 3 * 1024**3
    ws = write(tmp_path, '[store]\nload_memory_limit = "1.5 GB"\nload_batch_rows = 10\n')
    got = load_settings(Workspace.open(ws))
    assert got == {"memory_limit": "1.5GB", "batch_rows": 10}
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{got['memory_limit']}'")  # DuckDB reads it
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].endswith("GiB")


@pytest.mark.parametrize("bad", ["load_memory_limit = 5", "load_batch_rows = -1"])
def test_a_load_mistake_leaves_the_store_as_it_was(loaded, tmp_path, capsys, bad):
    """``load --rebuild`` emptied the store and then stopped on the setting: every later command said "the last
    load did not finish" (exit 4). Now the setting is refused first and the store still answers."""
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(loaded, ws)
    store_files = {p.relative_to(ws): p.stat().st_size for p in (ws / "store").rglob("*") if p.is_file()}
    toml = ws / "citynet.toml"
    toml.write_text(f"[store]\n{bad}\n", encoding="utf-8")
    text = one_message(*invoke(capsys, "load", "-w", ws, "--rebuild")[::2])
    assert bad.split(" =")[0] in text, text
    assert {p.relative_to(ws): p.stat().st_size for p in (ws / "store").rglob("*") if p.is_file()} == store_files
    toml.unlink()
    code, _, err = invoke(capsys, "-q", "metrics", "-w", ws)
    assert code == 0, err


# --- 3. [run]: element types, the keys of a spec entry, its network key before any stage ----------------------
@pytest.mark.parametrize("toml,words", [
    ("[run]\nspecs = [5]\n", ["[run] specs", "the element 5"]),
    ('[run]\nspecs = [["specs/t.toml"]]\n', ["[run] specs", "the element ['specs/t.toml']"]),
    ("[run]\nspecs = [{file = 5}]\n", ["[run] specs", "file = 5"]),
    ('[run]\nspecs = [{network = "invention.y02.granted"}]\n', ["[run] specs", "has no file"]),
    ("[inputs]\npatents = [1, 2]\n", ["[inputs] patents", "the element 1"]),
    ("[run]\nnetworks = [3]\n", ["[run] networks", "the element 3"]),
    ('[run]\nspecs = [{file = "specs/t.toml", netwrk = "utility.y02.granted"}]\n',
     ["[run] specs: unknown key 'netwrk'", "did you mean 'network'"]),
    ('[run]\nspecs = [{file = "specs/t.toml", network = "bogus"}]\n', ["[run] specs", "'bogus' is not a network"]),
    ('[run]\nnetworks = ["invention.Y02.granted"]\n', ["[run] networks", "use invention.y02.granted"]),
])
def test_run_settings_of_the_wrong_shape_are_refused_before_any_stage(tmp_path, capsys, raw, toml, words):
    """They were a TypeError (exit 1), a silently ignored key (the fit ran on the default filter), or an error
    after ingest, load and metrics had run."""
    ws = tmp_path / "ws"
    (ws / "specs").mkdir(parents=True)
    (ws / "specs" / "t.toml").write_text("[spec]\n", encoding="utf-8")
    if "[inputs]" not in toml:
        toml = f'[inputs]\npatents = ["{raw / "patents.csv"}"]\n' + toml
    write(ws, toml)
    text = one_message(*invoke(capsys, "run", "-w", ws)[::2])
    assert all(w in text for w in words), text
    assert not (ws / "canonical").exists() and not (ws / ".citynet-run.json").exists()


# --- 4. a network key that is not one; the default filter's panels missing -----------------------------------
def test_a_network_key_in_capitals_is_said_plainly(loaded, capsys):
    code, _, err = invoke(capsys, "fit", "-w", loaded, "--network", "INVENTION.WIPO.ALL", "--formula", "a ~ b")
    text = one_message(code, err)
    assert "'INVENTION.WIPO.ALL' is not a network filter key" in text and "fix: use invention.wipo.all" in text
    assert "GREEN" not in text and "no filter has the key" not in text, text


def test_a_key_that_is_no_key_at_all(loaded, capsys):
    code, _, err = invoke(capsys, "fit", "-w", loaded, "--network", "wipo", "--formula", "a ~ b")
    text = one_message(code, err)
    assert "'wipo' is not a network filter key" in text and "fix: e.g. invention.wipo.all" in text, text


def test_the_default_panels_missing_beside_their_copy(loaded, tmp_path, capsys):
    """With metrics/city_year.parquet removed the message said "no panels of 'invention.wipo.all' (computed:
    invention.wipo.all)". The commands now read the filter's own folder, metrics/invention.wipo.all/, which
    ``metrics`` writes for every filter: the copy's absence no longer matters (the fit reaches the formula)."""
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(loaded, ws)
    (ws / "metrics" / "city_year.parquet").unlink()
    code, _, err = invoke(capsys, "fit", "-w", ws, "--formula", "a ~ b")
    assert code == 5 and err.count("error:") == 1, err
    assert "the formula names 'a', 'b', which the panel does not have" in err, err


def test_a_filter_never_computed_keeps_its_message(loaded, capsys):
    code, _, err = invoke(capsys, "fit", "-w", loaded, "--network", "invention.y02.all", "--formula", "a ~ b")
    text = one_message(code, err)
    assert "no panels of network filter 'invention.y02.all'" in text and "(computed: invention.wipo.all)" in text
    assert f"fix: run `citynet metrics -w {loaded} --green y02 --kind invention`" in text, text


# --- 5. [columns] mistakes are configuration (exit 2), found before any file is read -------------------------
@pytest.mark.parametrize("toml,words", [
    ('[columns]\napp_numbr = "申请号"\n', ["[columns]: unknown field 'app_numbr'", "did you mean 'app_number'"]),
    ("[columns]\napp_number = 5\n", ["[columns] app_number = 5", "quoted"]),
    ('[transfer_columns]\nassignee = ""\n', ["[transfer_columns] assignee = ''"]),
    ('[transfer_columns]\nasignee = "受让人"\n', ["unknown field 'asignee'", "did you mean 'assignee'"]),
])
def test_columns_mistakes_are_exit_2(tmp_path, capsys, raw, toml, words):
    ws = write(tmp_path / "ws", toml)
    text = one_message(*invoke(capsys, "ingest", "-w", ws, raw / "patents.csv")[::2])
    assert all(w in text for w in words), text
    assert not (ws / "canonical").exists()


def test_a_right_columns_mapping_still_ingests(tmp_path, capsys, raw):
    ws = write(tmp_path / "ws", '[columns]\napp_number = "申请号"\n')
    code, _, err = invoke(capsys, "-q", "ingest", "-w", ws, raw / "patents.csv")
    assert code == 0 and (ws / "canonical" / "patents.parquet").exists(), err


def test_the_settings_check_reads_the_field_names_without_pandas():
    """citynet.workspace checks [columns] against etl/fields.py, which imports neither pandas nor the readers
    (etl/headers.py does: 0.4 s for every command with a [columns] section); the names are the headers module's."""
    import subprocess
    import sys

    from citynet.etl.headers import PATENT_FIELDS, TRANSFER_FIELDS

    from citynet.workspace import column_fields

    assert column_fields("PATENT_FIELDS") == list(PATENT_FIELDS)
    assert column_fields("TRANSFER_FIELDS") == list(TRANSFER_FIELDS)
    code = ("import sys\nfrom citynet.workspace import column_fields\ncolumn_fields('PATENT_FIELDS')\n"
            "assert 'pandas' not in sys.modules and 'pyarrow' not in sys.modules\n")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- 6. init -q; [years] with one end -------------------------------------------------------------------------
def test_init_quiet_prints_nothing(tmp_path, capsys):
    for args in (("-q", "init", "-w", tmp_path / "a"), ("init", "-w", tmp_path / "b", "-q")):
        code, out, err = invoke(capsys, *args)
        assert code == 0 and out == "" and err == "", (out, err)
        assert (Path(args[-1] if args[-1] != "-q" else args[-2]) / "citynet.toml").is_file()
    code, out, _ = invoke(capsys, "init", "-w", tmp_path / "c")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'c' / 'citynet.toml'}"


@pytest.mark.parametrize("toml,have,lack", [("[years]\nstart = 2010\n", "start", "end"),
                                            ("[years]\nend = 2015\n", "end", "start")])
def test_years_need_both_ends(tmp_path, capsys, toml, have, lack):
    ws = write(tmp_path, toml)
    text = one_message(*invoke(capsys, "metrics", "-w", ws)[::2])
    assert f"[years] has {have} but no {lack}" in text and f"fix: add {lack} = " in text, text


def test_a_workspace_given_as_a_file_says_so(tmp_path, capsys):
    """-w ws/citynet.toml (or an export's path) for a command that reads a workspace said 'workspace … does not
    exist' of a file that does: it is a file, not a folder, and the fix names its folder (exit 2)."""
    from citynet.cli import main

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "citynet.toml").write_text("", encoding="utf-8")
    with pytest.raises(SystemExit) as ex:
        main(["fit", "-w", str(ws / "citynet.toml"), "--formula", "y ~ x"])
    err = capsys.readouterr().err
    assert ex.value.code == 2 and err.splitlines() == [
        f"error: workspace {(ws / 'citynet.toml').resolve()} is a file, not a folder",
        f"  fix: pass -w with the folder that holds citynet.toml (-w {ws.resolve()}?)"], err
