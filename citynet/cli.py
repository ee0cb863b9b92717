"""The ``citynet`` command line: one sub-command per file in ``citynet/commands/``.

Sub-commands are imported lazily so that ``citynet --help`` is fast and a layer's heavy imports
(igraph, pyfixest, the database drivers) happen only when that layer runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys

import click

from citynet.errors import (
    EXIT_CHECK,
    READ_ONLY_FIX,
    UNWRITABLE_ERRNOS,
    UserError,
    engine_disk_full,
    out_of_memory,
)

COMMANDS = {
    "init": "Write a commented citynet.toml into the workspace.",
    "synth": "Write a synthetic CNIPA-style export with planted effects (and truth.json).",
    "ingest": "Read raw exports into the canonical tables, quarantining bad rows.",
    "load": "Load the canonical tables into the graph store and build the yearly city projections.",
    "metrics": "Compute the yearly network metrics and the city-year, dyad-year and network-year panels.",
    "export": "Export a panel to Parquet, CSV, Stata .dta (version 118, labelled) or Excel .xlsx.",
    "query": "Run a Cypher query against the store (read-only unless --write).",
    "fit": "Fit a model from a formula, or a table of models from a SPEC.toml.",
    "map": "Draw a map of China of a city-year variable or of a network's edges (PNG).",
    "report": "Write results/report.html: data quality, networks, panels, tables and figures.",
    "run": "Run every stage whose inputs changed since its last run (ingest → load → metrics → fit → report).",
    "demo": "Run the whole pipeline on synthetic data: synth, ingest, load, metrics, fit, report.",
    "neo4j": "Start, stop or inspect the project's local Neo4j 5.26 server (no Docker needed).",
}


def _set_global(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``-q``/``-v`` given after the sub-command: the same effect as before it."""
    if not value:
        return
    root = ctx.find_root()
    root.ensure_object(dict)
    root.obj[param.name] = True
    _logging(root.obj.get("quiet", False), root.obj.get("verbose", False))


def _with_global_options(cmd: click.Command) -> click.Command:
    """Accept the global ``-q/--quiet`` and ``-v/--verbose`` after the sub-command too (and after the
    sub-commands of a group such as ``neo4j``)."""
    names = {n for p in cmd.params for n in p.opts}
    if "--quiet" not in names and "-q" not in names:
        cmd.params.append(click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True,
                                       callback=_set_global, help="Print only errors."))
    if "--verbose" not in names and "-v" not in names:
        cmd.params.append(click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True,
                                       callback=_set_global, help="Print debugging detail."))
    for sub in getattr(cmd, "commands", {}).values():
        _with_global_options(sub)
    _refuse_option_as_value(cmd)
    return cmd


#: options whose empty value means something (an empty password) or is refused by the command with its own words
EMPTY_TAKEN = frozenset({"--password", "--param"})


def _refuse_option_as_value(cmd: click.Command) -> None:
    """An option given without its value before another option of the command (``init -w --force``) is one
    message, exit 2: click took the next option as the value (a workspace folder named ``--force``). So is an
    empty text or path (``--weights "$W"`` with W unset): it was the option left out — an unweighted fit, the
    default clustering, sample, network filter or workspace — without a word."""
    if getattr(cmd, "_citynet_option_values_checked", False):
        return
    cmd._citynet_option_values_checked = True
    options = {o: p for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
    names = set(options) | {"-h", "--help", "--"}
    parse_args = cmd.parse_args

    def texts(option: click.Option) -> bool:  # (click refuses an empty choice or number itself)
        return (isinstance(option.type, (click.types.StringParamType, click.Path)) and option.opts[-1] not in EMPTY_TAKEN
                and option.name != "ws")  # (-w '': its own message, commands/common.workspace_option)

    def checked(ctx: click.Context, args: list[str]) -> list[str]:
        where = f"citynet {ctx.command_path.split(' ', 1)[-1]} --help"
        _refuse_non_utf8(args)
        seen: dict[str, str] = {}

        def once(option: click.Option, given: str) -> None:
            """A one-value option given twice (``fit -f A -f B``) kept the last value without a word."""
            if option.multiple or option.is_flag or option.count:
                return
            if option.name in seen:
                first = "" if seen[option.name] == given else f" (first as {seen[option.name]})"
                raise UserError(f"{given} is given twice{first}; it takes one value, and only the last one would be "
                                "used", fix=f"give {given} once ({where})")
            seen[option.name] = given

        for i, given in enumerate(args):
            value = args[i + 1] if i + 1 < len(args) else None
            if given == "--":
                break
            if given.startswith("--") and "=" in given:  # --network= : the value after the sign
                given, value = given.split("=", 1)
                option = options.get(given)
                if option is not None and not option.is_flag and texts(option) and not value.strip():
                    raise UserError(f"{given} is empty", fix=f"give {given} a value, or leave it out for its default "
                                                             f"({where})")
                if option is not None:
                    once(option, given)
                continue
            option = options.get(given)
            if option is None or option.is_flag or option.nargs < 1 or value is None:
                continue
            once(option, given)
            if value in names:
                raise UserError(f"{given} has no value: the next word, {value}, is an option",
                                fix=f"give {given} its value ({given} VALUE), see {where}")
            for k in range(2, option.nargs + 1):  # report --years 2010 --permutations 0: "'--permutations' is not
                later = args[i + k] if i + k < len(args) else None  # a valid integer" (click)
                if later in names:
                    shape = option.metavar or " ".join(["VALUE"] * option.nargs)
                    raise UserError(f"{given} takes {option.nargs} values and has {k - 1}: the next word, {later}, is an "
                                    "option", fix=f"give {given} its {option.nargs} values ({given} {shape}), see {where}")
            if texts(option) and not value.strip():
                raise UserError(f"{given} is empty", fix=f"give {given} a value, or leave it out for its default "
                                                         f"({where})")
        try:
            return parse_args(ctx, args)
        except click.UsageError as err:  # (click's parser raises some without the command: --years 2010 at the end)
            if err.ctx is None:
                err.ctx = ctx
            raise

    cmd.parse_args = checked


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # lone surrogates: bytes the command line or a folder name had that are not UTF-8
        return False


def _shown(text: str) -> str:
    """``text`` with the bytes that are not UTF-8 (lone surrogates) shown as ``\\xNN`` (a surrogate that stands for
    no byte, possible only in-process, as ``\\udNNN``)."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse_non_utf8(args: list[str]) -> None:
    """An argument, or the current folder, whose name is not UTF-8 (a GBK file name from a Windows zip, a
    terminal in another encoding: Python keeps such bytes as lone surrogates) is one message, exit 2. citynet
    writes every file name it reads or makes into UTF-8 files (the write lock, quarantine/, reports/, Parquet),
    which cannot hold them: ``export --out $'\\xff.parquet'`` and ``ingest $'\\xff.csv'`` escaped as
    UnicodeEncodeError."""
    import os

    fix = ("rename it in UTF-8 (convmv -f gbk -t utf-8 --notest NAME, or by hand), or type it in a UTF-8 "
           "terminal (LANG=C.UTF-8)")
    for arg in args:
        if not _utf8(arg):
            raise UserError(f"the argument '{_shown(arg)}' is not UTF-8 (bytes of another encoding, such as GBK, shown "
                            "as \\xNN)", fix=fix)
    if "-h" in args or "--help" in args:
        return
    try:
        here = os.getcwd()
    except OSError:  # a current folder removed meanwhile: the command says what it cannot find
        return
    if not _utf8(here):
        raise UserError(f"the current folder {_shown(here)} has a name that is not UTF-8 (bytes of another encoding, "
                        "such as GBK, shown as \\xNN)",
                        fix="run citynet from a folder whose path is UTF-8, or rename the folder in UTF-8 (convmv -f "
                            "gbk -t utf-8 --notest NAME)")


def _logging(quiet: bool, verbose: bool) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    logging.getLogger().setLevel(level)
    # the Neo4j driver logs its retries and dead connections ("Transaction failed and will be retried in 1.1s
    # (…)", "[#D2E0]  _: <CONNECTION> error: Failed to read from defunct connection …"): two dozen lines
    # before citynet's one message when the server stops during a load. Its text is in that message (the
    # StoreError's cause); -v shows the driver's log.
    logging.getLogger("neo4j").setLevel(logging.NOTSET if verbose else logging.CRITICAL + 1)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._module(name) is not None]

    @staticmethod
    def _module(name: str):
        try:
            return importlib.util.find_spec(f"citynet.commands.{name}")
        except ModuleNotFoundError:
            return None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or self._module(name) is None:
            return None
        module = importlib.import_module(f"citynet.commands.{name}")
        return _with_global_options(module.command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Example: citynet demo ./demo-ws   (then open ./demo-ws/results/report.html)
Global options (-q, -v) also work after the sub-command.
Exit codes: 0 success, 1 a check said no (neo4j status), 2 usage or configuration (bad option,
missing or unwritable file, a step before the one it needs, a Cypher query the store refuses),
3 bad input data, 4 store unreachable or incompatible, 5 analysis error, 130 interrupted.""",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (also accepted after the sub-command).")
@click.option("-v", "--verbose", is_flag=True, help="Print debugging detail (also accepted after the sub-command).")
@click.version_option(package_name="citynet")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """citynet: city networks from patent records, and the panels and regressions built on them."""
    _logging(quiet, verbose)
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["verbose"] = verbose


def _damaged_file(err: BaseException) -> bool:
    """A pyarrow error about a file that a reader met after the manifest and footer checks (a damaged page
    of a workspace without a manifest): one message naming the file, exit 3. True when it was one."""
    import re

    text = " ".join(str(err).split())
    arrow = type(err).__module__.startswith("pyarrow") and "parquet" in text.lower()
    if not arrow and not (isinstance(err, OSError) and not getattr(err, "filename", None)
                          and re.search(r"thrift|page header|Parquet|magic bytes|IOError: Corrupt", text)):
        return False
    m = re.search(r"'([^']+\.(?:parquet|arrow|feather))'", text)
    where = m.group(1) if m else "a Parquet file of the workspace"
    click.secho(f"error: {where} is damaged: {text[:300]}", fg="red", err=True)
    click.echo("  fix: run the command that wrote it again (citynet ingest for canonical/, citynet metrics for "
               "metrics/)", err=True)
    return True


def _interrupted(err: BaseException) -> bool:
    """A Ctrl-C that DuckDB turned into an exception: SIGINT during one of its queries raises
    ``RuntimeError('Query interrupted')`` (``InterruptException`` after ``interrupt()``), not KeyboardInterrupt."""
    return type(err).__name__ == "InterruptException" or (
        isinstance(err, RuntimeError) and str(err).strip() == "Query interrupted")


def _exit_with(err: UserError) -> None:
    """Print ``err``'s message and fix, and exit with its code."""
    click.secho(f"error: {err.message}", fg="red", err=True)
    if err.fix:
        click.echo(f"  fix: {err.fix}", err=True)
    sys.exit(err.exit_code)


def usage_error(err: click.UsageError) -> UserError:
    """click's own usage error (an unknown option or command, a missing argument, a value of the wrong type or not
    among the choices, an extra argument) as citynet's: one ``error:`` line and a ``fix:`` with the command's usage
    and where its help is (click printed ``Usage: …``, ``Try '… --help' for help.`` and ``Error: …``), exit 2."""
    ctx = err.ctx
    path = ctx.command_path if ctx is not None else "citynet"
    message = " ".join(err.format_message().split()).removesuffix(".")
    if ctx is not None and isinstance(ctx.command, click.Group) and re.match(r"No such command", message):
        fix = f"the commands: {', '.join(ctx.command.list_commands(ctx))} ({path} --help says what each does)"
    else:
        usage = ctx.get_usage().removeprefix("Usage:").strip() if ctx is not None else "citynet COMMAND ..."
        fix = f"see {path} --help for its options and examples (usage: {usage})"
    return UserError(message, fix=fix, exit_code=err.exit_code)


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="citynet", standalone_mode=False)
    except UserError as err:
        _exit_with(err)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # `citynet`, `citynet neo4j` alone: the help (exit 2)
            err.show()
            sys.exit(err.exit_code)
        _exit_with(usage_error(err))
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as err:  # a file or folder the commands did not check first: still one message, exit 2
        if _damaged_file(err):
            sys.exit(3)
        import errno

        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        if err.errno == errno.ENOSPC:  # the disk is full: the transaction exit code (a check said no)
            _exit_with(UserError(f"no space left on the device while writing{where}",
                                 fix="free disk space (or write to a larger disk), then run the command again",
                                 exit_code=EXIT_CHECK))
        if err.errno in UNWRITABLE_ERRNOS:  # a read-only workspace or folder (docs/reliability.md)
            _exit_with(UserError(f"cannot write{where}: {err.strerror or err}", fix=READ_ONLY_FIX))
        _exit_with(UserError(f"cannot access{where}: {err.strerror or err}",
                             fix="check the path and its permissions (outputs need an existing, writable folder)"))
    except Exception as err:
        if _interrupted(err):
            click.echo("interrupted", err=True)
            sys.exit(130)
        if type(err).__name__ == "OutOfMemoryException":  # DuckDB's, where a command did not name its setting
            _exit_with(out_of_memory(err, "DuckDB needed more memory than its limit",
                                     fix="raise the command's limit in citynet.toml ([ingest] memory_limit, [store] "
                                         "load_memory_limit or [metrics] memory_limit) and run it again"))
        full = engine_disk_full(err)
        if full is not None:  # (the engines' errors are not OSErrors)
            _exit_with(full)
        if not _damaged_file(err):
            raise
        sys.exit(3)
    # with standalone_mode=False click returns ctx.exit(n)'s code instead of exiting
    if isinstance(rc, int) and rc != 0:
        sys.exit(rc)


if __name__ == "__main__":
    main()
