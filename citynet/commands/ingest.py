"""``citynet ingest``: raw exports → canonical tables, quarantine/ and reports/ingest.json."""

from __future__ import annotations

import re
from pathlib import Path

import click

from citynet.commands.common import is_quiet, workspace_option
from citynet.errors import DataError, UserError

# Arrow's jemalloc (the ingest's pool, below) never hands freed pages back to the kernel on its own: by
# default it purged them within about a second, so the next batch's buffers were faulted in and zeroed
# again (measured on eight 100,000-record batches: 567k page faults, 244k with this and the reader's
# read_buffer; a decay of 5 or 30 s set by jemalloc_set_decay_ms or here did not lower them). The pool
# is purged explicitly once the exports are read (etl/pipeline.py: _release_arrow_memory), so the
# corpus steps after it do not carry the reading's pages. Read by jemalloc when pyarrow loads; a user's
# JE_ARROW_MALLOC_CONF is kept.
JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


@click.command(
    "ingest",
    epilog="""\b
Examples:
  citynet ingest -w ws raw/patents.csv --transfers raw/transfers.csv --covariates raw/covariates.csv
  citynet ingest -w ws export_2019.xlsx export_2020.xlsx
  citynet ingest -w ws            (inputs from citynet.toml [inputs])
  citynet ingest -w ws --policies policies.xlsx   (policy documents → zts, gjs, rps)
  citynet ingest -w ws export_2021.csv --append   (add a new export to the corpus ingested before)
Every ingest REPLACES the canonical tables with the files given (several files are one corpus) and
says what it replaced; with --append it adds the new files to the corpus without reading the old
ones again (same tables as one ingest of all files). A store loaded earlier keeps its rows until
`citynet load --rebuild`; `citynet load` after an ingest writes only what changed.
Headers of CNIPA, incoPat, Patsnap, Wanfang, CNKI, SooPAT and Lens.org exports are recognised (the
dialect is shown and written to reports/ingest.json); map any other layout in citynet.toml [columns].""",
)
@workspace_option(create=True)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--transfers", "transfer_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Transfer-records file (申请号, 转让人, 受让人, 生效日). Repeatable.")
@click.option("--covariates", "covariate_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="City-year covariates (CSV, XLSX or .dta), keyed by city code or name.")
@click.option("--policies", "policy_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Policy documents (CSV/XLSX: province or city, year, issuing bodies, tool classes or text) → "
                   "provincial synergy indices zts, gjs, rps in the city-year panel. Repeatable.")
@click.option("--encoding", default=None, help="Force the input encoding (default: detect UTF-8 / GB18030).")
@click.option("--append", is_flag=True,
              help="Add FILES (and --transfers) to the corpus already ingested, without reading its files again: "
                   "duplicates, applicants' locations and citations are decided again over old and new records, "
                   "which gives what one ingest of all the files gives.")
@click.pass_context
def command(ctx, ws, files, transfer_files, covariate_files, policy_files, encoding, append):
    """Read raw patent exports into the canonical tables; bad rows go to quarantine/ with the reason."""
    import os
    import sys

    # Arrow's allocator, chosen before pyarrow loads (etl/pipeline.py: _arrow_allocator says why): jemalloc
    # where pyarrow's wheels have it (Linux), else the C library's; a user's ARROW_DEFAULT_MEMORY_POOL is kept
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc" if sys.platform.startswith("linux") else "system")
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", JEMALLOC_CONF)
    from rich.console import Console

    from citynet.etl.pipeline import IngestOptions, ingest
    from citynet.etl.stream import StreamSettings

    inputs = ws.settings["inputs"]
    missing = [str(f) for f in policy_files if not Path(f).is_file()]
    if missing:  # as a missing export (exit 2); the reader's own "no such file" is a data error (exit 3)
        ws.discard_created()
        raise UserError(f"no such policy file: {', '.join(missing)}", fix=_missing_fix(missing))
    if policy_files:  # etl/policy_docs.py; may run alone
        from citynet import transaction
        from citynet.etl.policy_docs import ingest_policy_docs
        from citynet.workspace import Workspace

        # staged and published as their own unit of the workspace manifest (citynet/transaction.py)
        with transaction.publish(ws.root, "policies", owned=transaction.POLICIES_OWNED) as tx:
            rep = ingest_policy_docs(Workspace(root=tx.staging, settings=ws.settings), list(policy_files))
        for f in rep["files"]:
            click.echo(f"policies {Path(f['file']).name}: read {f['rows_read']:,}, loaded {f['rows_loaded']:,}, "
                       f"quarantined {f['rows_quarantined']:,}", err=True)
        if not files and not transfer_files and not covariate_files:
            return

    def rel(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else ws.root / p

    if append and not files and not transfer_files:
        if covariate_files:  # covariates are written by an ingest of the exports, and replace the earlier ones
            raise UserError(
                "--append adds new export files; covariates alone cannot be appended",
                fix="covariates are read by an ingest of the exports, and the covariate files given replace the "
                    "earlier ones: give every export and every covariate file, citynet ingest -w WS EXPORT.csv [...] "
                    "[--transfers T.csv] --covariates OLD.csv --covariates NEW.csv (with [inputs] patents in "
                    "citynet.toml: citynet ingest -w WS --covariates OLD.csv --covariates NEW.csv); or give them with "
                    "the next new export: citynet ingest -w WS NEW_EXPORT.csv --append --covariates OLD.csv "
                    "--covariates NEW.csv")
        raise UserError("--append needs the new export files", fix="citynet ingest -w WS NEW_FILE.csv --append")
    if not files and not append:
        files = tuple(rel(p) for p in _as_list(inputs.get("patents")))
        transfer_files = transfer_files or tuple(rel(p) for p in _as_list(inputs.get("transfers")))
        covariate_files = covariate_files or tuple(rel(p) for p in _as_list(inputs.get("covariates")))
    if not files and not append:
        raise UserError("no input files", fix="citynet ingest -w WS raw/patents.csv, or list them in citynet.toml [inputs] patents = [...]")
    missing = [str(f) for f in (*files, *transfer_files, *covariate_files) if not Path(f).is_file()]
    if missing:
        ws.discard_created()
        raise UserError(f"no such input file: {', '.join(missing)}", fix=_missing_fix(missing))
    _refuse_a_file_given_twice(ws, files, transfer_files, covariate_files)
    enc = encoding or inputs.get("encoding", "auto")
    if enc not in ("auto", ""):
        import codecs

        try:
            codecs.lookup(enc)
        except LookupError:  # a mistyped option is a usage error (exit 2), not bad data in a file (it was exit 3)
            ws.discard_created()
            where = "--encoding" if encoding else "citynet.toml [inputs] encoding"
            raise UserError(f"{where} {enc!r} is not an encoding Python knows",
                            fix="use auto (the default), utf-8, gb18030, utf-16 or latin-1") from None
        _refuse_utf8_read_as(enc, "--encoding" if encoding else "citynet.toml [inputs] encoding",
                             (*files, *transfer_files), ws)
    opts = IngestOptions(
        encoding=enc,
        columns=dict(ws.settings.get("columns", {})),
        transfer_columns=dict(ws.settings.get("transfer_columns", {})),
        stream=StreamSettings.from_settings(ws.settings),
    )
    if append:
        opts.append_from = _appendable(ws, files, transfer_files)
    before = previous_corpus(ws)
    existed = {p for p in (ws.canonical, ws.quarantine, ws.reports) if p.exists()}
    console = Console(stderr=True, quiet=is_quiet(ctx))
    from citynet import transaction
    from citynet.workspace import Workspace

    try:
        with console.status("ingesting…") as status, transaction.publish(
                ws.root, "ingest", owned=transaction.INGEST_OWNED, carry=transaction.INGEST_CARRY) as tx:
            import time

            shown = [time.monotonic()]

            def show(msg: str) -> None:  # a finished step stays on screen with its rows and rows/s
                if msg.startswith("✓"):
                    console.print(f"  {msg}", highlight=False, soft_wrap=True)
                elif console.is_terminal:
                    status.update(msg)
                elif time.monotonic() - shown[0] >= 10:
                    # no terminal (a log file, nohup): the running step at most every 10 s
                    shown[0] = time.monotonic()
                    console.print(f"  {msg}", highlight=False, soft_wrap=True, markup=False)

            # written to a staging folder, published as one atomic switch with a manifest (citynet/transaction.py)
            staged = Workspace(root=tx.staging, settings=ws.settings)
            if append:  # under the write lock now: the state checked above must still be the published one
                from citynet.etl.stream import STATE, State

                now = State.load(ws.canonical / STATE)
                if now is None or now.meta != opts.append_from.meta:
                    raise UserError(f"{ws.root} was changed by another citynet command while --append started",
                                    fix="run the command again")
            report = ingest(staged, list(files), list(transfer_files), list(covariate_files), opts, progress=show)
    except BaseException:
        ws._remove_empty([p for p in (ws.canonical, ws.quarantine, ws.reports) if p not in existed])
        if ws.root in ws.created and not transaction.read_manifest(ws.root)["units"]:
            import shutil  # a workspace this ingest created and never published to: its lock folder goes too

            shutil.rmtree(ws.root / transaction.STATE_DIR, ignore_errors=True)
        ws.discard_created()
        raise
    _summary(console, ws, report)
    if not covariate_files:
        _say_carried_covariates(console, ws)
    if append:
        was = f" ({before['patents']:,} and {before['transfers']:,} before)" if before else ""
        console.print(f"[bold]appended[/] {len(files) + len(transfer_files)} file(s) to the corpus: now "
                      f"{report['patents']['count']:,} patents, {report['transfers']['count']:,} transfers{was}")
    elif before:
        console.print(replaced_text(before, report))


def _refuse_utf8_read_as(enc: str, where: str, paths, ws) -> None:
    """A forced encoding other than UTF-8 for a text export that is valid UTF-8 with non-ASCII characters below an
    ASCII header: one message (exit 3, as the header check's for a Chinese header: ``pipeline._refuse_another_
    encoding``). With English headers (Lens.org) that check passes, and ``--encoding latin-1`` loaded
    every Chinese name as mojibake (南京 → å\x8d\x97äº¬), every applicant unlocated, exit 0. UTF-8 text of
    non-ASCII characters is almost never valid in another encoding by chance; its first MiB is checked."""
    import codecs

    if codecs.lookup(enc).name in ("utf-8", "utf-8-sig"):
        return
    for path in paths:
        if Path(path).suffix.lower() in (".xlsx", ".xlsm", ".xls", ".dta"):
            continue
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.isascii():
            continue
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if not text.lstrip("\ufeff").split("\n", 1)[0].isascii():
            continue  # a header of Chinese names: the reader's header check names the encoding that reads it
        sample = next((w for w in re.findall(r"[^\x00-\x7f]+", text)), "")[:4]
        ws.discard_created()
        raise DataError(f"{Path(path).name} is UTF-8 text, and {where} {enc!r} would read its characters as others "
                        f"({sample} as {sample.encode('utf-8').decode(enc, 'replace')!r})",
                        fix="drop the encoding: citynet detects UTF-8, GB18030 and UTF-16 (or give utf-8)")


def _missing_fix(missing: list[str]) -> str:
    """The fix of input files not found: a pattern (``raw/*.csv``) or several names in one text (``"a.csv,
    b.csv"``, citynet.toml) are named as such — neither is expanded — else the path rule."""
    import re

    if any(re.search(r"[*?\[]", Path(m).name) for m in missing):
        return ('name the files one by one (citynet does not expand * ? [ ]): patents = ["raw/a.csv", "raw/b.csv"] '
                "in citynet.toml, or citynet ingest -w WS raw/a.csv raw/b.csv")
    if any(re.search(r"[,;，；]\s*\S+\.(?:csv|xlsx?|txt|dta)$", m, re.I) for m in missing):
        return 'give each file as its own quoted path: patents = ["a.csv", "b.csv"], not "a.csv, b.csv"'
    return ("check the path (relative paths on the command line are from the current folder, in citynet.toml "
            "[inputs] from the workspace)")


def _say_carried_covariates(console, ws) -> None:
    """An ingest without covariate files keeps the covariates of an earlier one (``transaction.INGEST_CARRY``):
    said, with their columns, since fit, map and export join them to the new corpus's panels."""
    import pyarrow.parquet as pq

    path = ws.canonical / "covariates.parquet"
    if not path.is_file():
        return
    names = [n for n in pq.read_schema(path).names if n not in ("city_code", "year")]
    shown = ", ".join(names[:8]) + (f" … and {len(names) - 8} more" if len(names) > 8 else "")
    console.print(f"covariates: kept from an earlier ingest ({path.relative_to(ws.root)}: {shown}); they are joined "
                  "to this corpus's panels. To replace them: citynet ingest … --covariates FILE",
                  markup=False, highlight=False, soft_wrap=True)


def _refuse_a_file_given_twice(ws, files, transfer_files, covariate_files) -> None:
    """One message when a file is named twice (the same path, in any role): its rows would be read twice and
    every row of the second reading quarantined as a duplicate of the first."""
    seen: dict[Path, str] = {}
    for role, group in (("patents", files), ("transfers", transfer_files), ("covariates", covariate_files)):
        for f in group:
            key = Path(f).resolve()
            if key in seen:
                ws.discard_created()
                where = role if seen[key] == role else f"{seen[key]} and as {role}"
                from citynet.etl.readers import SPREADSHEETS

                sheets = (" (a sheet of transfer records in a patent workbook is read with it: give the workbook "
                          "once, as a patent export)" if {seen[key], role} == {"patents", "transfers"}
                          and Path(f).suffix.lower() in SPREADSHEETS else "")
                raise UserError(f"{f} is given twice (as {where})", fix="name each file once" + sheets)
            seen[key] = role


def _appendable(ws, files, transfer_files):
    """The state of the corpus to append to (``etl.stream.State``), or one message why there is none."""
    from citynet import transaction
    from citynet.etl.stream import STATE, State

    if ws.canonical.exists():
        transaction.verify(ws.root, "ingest", fix=f"run `citynet ingest -w {ws.root}` with every file of the corpus")
    state = State.load(ws.canonical / STATE)
    if state is None:
        ws.discard_created()
        raise UserError(f"--append: {ws.root} has no ingested corpus to append to (or it was ingested by an older "
                        "citynet, which kept no ingest state)",
                        fix=f"ingest every file once without --append: citynet ingest -w {ws.root} FILES…")
    known = {str(Path(e["file"]).resolve()) for e in state.meta["files"]}
    known |= {str(Path(t["entry"]["file"]).resolve()) for t in state.meta["transfer_files"]}
    again = [str(f) for f in (*files, *transfer_files) if str(Path(f).resolve()) in known]
    if again:
        raise UserError(f"--append: {', '.join(again)} is already in the corpus",
                        fix="append only new files; to read a changed file again, ingest every file without --append")
    return state


def previous_corpus(ws) -> dict | None:
    """What the canonical tables held before this ingest (from reports/ingest.json), or None."""
    import json

    p = ws.reports / "ingest.json"
    if not p.exists() or not ws.table("patents").exists():
        return None
    try:
        rep = json.loads(p.read_text(encoding="utf-8"))
        return {"patents": int(rep["patents"]["count"]), "transfers": int(rep.get("transfers", {}).get("count", 0)),
                "files": [f["file"] for f in rep.get("files", [])], "years": rep["patents"].get("years")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def replaced_text(before: dict, report: dict) -> str:
    """One line saying that ingest replaced the corpus: old counts vs new (ingest never adds to a corpus)."""
    new_files = [f["file"] for f in report["files"]]
    same = sorted(before["files"]) == sorted(new_files)
    files = "the same files" if same else f"{len(before['files'])} file(s): {', '.join(Path(f).name for f in before['files'])}"
    tr = report.get("transfers", {}).get("count", 0)
    return (f"[bold]replaced[/] the previous corpus ({files}; {before['patents']:,} patents, "
            f"{before['transfers']:,} transfers) by this one ({report['patents']['count']:,} patents, {tr:,} transfers). "
            "ingest always replaces the canonical tables; to add files, list every file of the corpus. "
            "A store loaded from the old corpus keeps its rows until `citynet load --rebuild`.")


def _as_list(value) -> list:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def _summary(console, ws, report: dict) -> None:
    import json

    from rich.table import Table

    t = Table(title="ingest", show_lines=False)
    for col in ("file", "dialect", "read", "loaded", "quarantined", "top reasons"):
        t.add_column(col, justify="right" if col in ("read", "loaded", "quarantined") else "left")
    for f in report["files"]:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(f["quarantined_by_reason"].items(), key=lambda kv: -kv[1])[:3])
        t.add_row(Path(f["file"]).name, f.get("dialect", ""), f"{f['rows_read']:,}", f"{f['rows_loaded']:,}", f"{f['rows_quarantined']:,}", reasons)
    console.print(t)
    a = report["applicants"]
    console.print(
        f"patents {report['patents']['count']:,} (green {report['patents']['green_wipo']:,}); "
        f"applicants {a['count']:,}, located {a['located_share']:.1%} "
        f"({', '.join(f'{k} {v:,}' for k, v in a['located_by'].items())})"
    )
    st = report.get("addresses", {}).get("by_status", {})
    h = a.get("harmonised", {})
    if st or h:
        console.print(
            f"addresses: {st.get('city', 0):,} to a city, {st.get('ambiguous', 0):,} ambiguous (not guessed); "
            f"name variants merged: {h.get('names_merged', 0):,} of {h.get('names', 0):,} names"
        )
    for f in report["files"]:  # a repeated header: its first column is read, the others are not
        for fld, cols in f.get("repeated_headers", {}).items():
            console.print(f"warning: {Path(f['file']).name} names {cols[0]!r} {len(cols)} times: the first column "
                          f"is read as {fld}, the others ({', '.join(map(repr, cols[1:]))}) are not. To read another: "
                          f"citynet.toml [columns] {fld} = {json.dumps(cols[1], ensure_ascii=False)}", markup=False,
                          highlight=False, soft_wrap=True, style="yellow")
    for f in report["files"]:  # the other sheets of a patent workbook: read as transfers, or said not read
        _say_sheets(console, f)
    for cov in report.get("covariates", []):  # cells and columns that are not numbers: said, never dropped silently
        name = Path(cov["file"]).name
        if cov.get("not_numbers"):
            cells = "; ".join(f"{c} {v['cells']:,} (e.g. {', '.join(map(repr, v['examples']))})"
                              for c, v in cov["not_numbers"].items())
            console.print(f"[yellow]warning:[/] {name}: cells that are not numbers were left missing: {cells}",
                          markup=True, highlight=False)
        if cov.get("county_keys"):  # a district's or county's code or name, read as its city's (etl.covariates.resolve_city_keys)
            ck = cov["county_keys"]
            shown = ", ".join(f"{k} → {c}" for k, c in ck["examples"])
            console.print(f"warning: {name}: {ck['rows']:,} row{'s' if ck['rows'] != 1 else ''} keyed by the code of a "
                          f"district, county or county-level city (or its name) were loaded as their city's values ({shown}): a "
                          "district's or county's figures are not the city's. Key the city's rows by its own code "
                          "(320100) and leave the others out (reports/ingest.json 'county_keys')", markup=False,
                          highlight=False, soft_wrap=True, style="yellow")
        if cov.get("former_keys"):  # 532700 思茅地区 → 530800 普洱市: one city as a whole (etl.cities.prefecture_successors)
            fk = cov["former_keys"]
            console.print(f"{name}: {fk['rows']:,} row{'s' if fk['rows'] != 1 else ''} keyed by former codes or names "
                          f"were loaded as their successor city: {'; '.join(fk['loaded_as'])} (reports/ingest.json "
                          "'former_keys')", markup=False, highlight=False, soft_wrap=True)
        if cov.get("wide"):  # one column per year: one variable named after the file
            years = cov["wide"]["years"]
            console.print(f"{name}: one column per year ({years[0]}–{years[-1]}), read as the variable "
                          f"{cov['wide']['variable']} (named after the file)", markup=False, highlight=False)
        for key, what in (("percent", "cells written with '%' read as percent (19.7% → 19.7)"),
                          ("footnote_marks", "footnote marks after numbers dropped (103,796* → 103796)")):
            if cov.get(key):
                cells = "; ".join(f"{c} {v['cells']:,} (e.g. {', '.join(map(repr, v['examples']))})"
                                  for c, v in cov[key].items())
                console.print(f"{name}: {what}: {cells}", markup=False, highlight=False, soft_wrap=True)
        if cov.get("renamed"):  # headers that are not formula names, and the names fit/export/map use
            console.print(f"{name}: columns renamed for formulas (in a formula write the new name, or the header "
                          "in backquotes; reports/ingest.json 'renamed'): "
                          + ", ".join(f"{h!r} → {n}" for h, n in cov["renamed"].items()), markup=False, highlight=False,
                          soft_wrap=True)
        if cov.get("kept_as_text"):  # codes of 17+ digits: a number would round them
            cols = "; ".join(f"{c} (up to {v['digits']} digits, e.g. {', '.join(v['examples'][:2])})"
                             for c, v in cov["kept_as_text"].items())
            console.print(f"{name}: whole numbers beyond the 15–16 digits a floating-point number holds exactly were "
                          f"kept as text, every digit as written (codes, not quantities): {cols}. export writes them "
                          "as text (a Stata str variable); a formula cannot use them as numbers", markup=False,
                          highlight=False, soft_wrap=True, style="yellow")
        if cov.get("values_not_kept"):  # a city-year an earlier covariate file gave another value
            cols = "; ".join(f"{c} {v['cells']:,} (e.g. {v['examples'][0][0]} {v['examples'][0][1]}: "
                             f"{v['examples'][0][2]!r} kept, {v['examples'][0][3]!r} not)"
                             for c, v in cov["values_not_kept"].items())
            console.print(f"warning: {name}: values that differ from an earlier --covariates file's for the same "
                          f"city and year were not kept (the first file's value is; reports/ingest.json "
                          f"'values_not_kept'): {cols}. Give the file you trust first, or drop the column from "
                          "one of them", markup=False, highlight=False, soft_wrap=True, style="yellow")
        if cov.get("sheets_not_read"):  # a covariate workbook's other sheets: only the first is read
            from citynet.etl.readers import say_sheets_not_read

            console.print(say_sheets_not_read(
                name, cov["sheets_not_read"], "citynet reads the first sheet of a covariate workbook",
                "If another sheet holds covariates, save it as a file of its own (Excel: right-click the sheet tab → "
                "Move or Copy → (new book)) and give it with --covariates too"), markup=False, highlight=False,
                soft_wrap=True, style="yellow")
        if cov.get("dropped_columns"):
            console.print(f"[yellow]warning:[/] {name}: columns without any number were left out: "
                          f"{', '.join(cov['dropped_columns'])}", highlight=False)
    if report.get("covariates") and (ws.canonical / "covariates.parquet").is_file():
        import pyarrow.parquet as pq

        from citynet.metrics.export import covariate_renames
        from citynet.metrics.panels import CITY_YEAR_COLUMNS

        clash = covariate_renames(pq.read_schema(ws.canonical / "covariates.parquet").names, CITY_YEAR_COLUMNS)
        if clash:
            console.print("covariates named like a column of citynet's city-year panel are, in fit, map and export, "
                          + ", ".join(f"{c} → {n}" for c, n in clash.items()) + " (the panel's own column keeps "
                          "its name)", markup=False, highlight=False, soft_wrap=True, style="yellow")
    console.print(wrote_text(ws, report), markup=False, highlight=False, soft_wrap=True)


def _say_sheets(console, entry: dict) -> None:
    """What ingest did with the sheets after the first of a patent workbook (``etl.pipeline._survey_sheets``)."""
    from citynet.etl.readers import summarise

    name = Path(entry["file"]).name
    for sheet in entry.get("sheets_read_as_transfers", []):
        console.print(f"{name}: sheet {sheet!r} read as transfer records (its header names the transfer fields): "
                      f"'{name} (sheet {sheet})' above", markup=False, highlight=False, soft_wrap=True)
    for sh in entry.get("sheets_not_read", []):
        rows = f"{sh['rows']:,} row{'s' if sh['rows'] != 1 else ''}"
        header = f"header on row {sh['header_row']}: {summarise(sh['header'], limit=8)}" if sh["header"] else "no header"
        console.print(f"warning: {name}: sheet {sh['sheet']!r} was not read ({rows} below its {header}): its header "
                      "names neither the patent nor the transfer fields. If it holds records, save it as a file of its "
                      "own and give it to citynet ingest (transfer records: --transfers FILE; covariates: --covariates "
                      "FILE), or name its columns in citynet.toml [transfer_columns] and it is read with the workbook",
                      markup=False, highlight=False, soft_wrap=True, style="yellow")


def wrote_text(ws, report: dict) -> str:
    """The last line of an ingest: the files written, and the quarantine files only when rows were quarantined
    (``quarantine/`` is not written otherwise: the line named a folder that did not exist)."""
    text = f"wrote {ws.canonical}/*.parquet, {ws.reports / 'ingest.json'}"
    n = int(report.get("totals", {}).get("rows_quarantined", 0))
    if not n:
        return text + "; no row quarantined"
    files = report.get("quarantine_files") or []
    shown = ", ".join(str(ws.root / f) for f in files[:5]) + (f" and {len(files) - 5:,} more" if len(files) > 5 else "")
    return text + f"; {n:,} row{'s' if n != 1 else ''} quarantined, with the reason of each: {shown}"
