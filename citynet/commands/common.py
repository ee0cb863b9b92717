"""Options shared by the sub-commands."""

from __future__ import annotations

import click

from citynet.workspace import Workspace


def workspace_option(create: bool = False, read_config: bool = True):
    """``-w/--workspace DIR`` (default: the current folder), passed as a ``Workspace`` (its citynet.toml not
    read when ``read_config`` is false: ``init`` writes it)."""

    def convert(ctx: click.Context, param: click.Parameter, value: str) -> Workspace:
        if not value.strip():  # -w "$WS" with WS unset: not the current folder, which -w left out means
            from citynet.errors import UserError

            raise UserError(f"-w/--workspace is empty ({value!r})",
                            fix="give the workspace folder (-w my-study), or leave -w out for the current folder")
        return Workspace.open(value, create=create, read_config=read_config)

    return click.option(
        "-w",
        "--workspace",
        "ws",
        default=".",
        show_default=True,
        callback=convert,
        help="Workspace folder (holds citynet.toml, canonical/, store/, metrics/, results/).",
    )


def nonempty_folder(ctx: click.Context, param: click.Parameter, value: str | None):
    """A folder argument as a ``Path``, refused when empty: ``citynet synth "$OUT"`` with OUT unset wrote into the
    current folder (``Path("")`` is ``.``); ``.`` itself is still the current folder."""
    from pathlib import Path

    from citynet.errors import UserError

    if value is None:
        return None
    if not value.strip():
        name = param.human_readable_name
        raise UserError(f"{name} is empty ({value!r})",
                        fix=f"give the folder (citynet {ctx.info_name} my-folder), or . for the current folder")
    return Path(value)


def is_quiet(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("quiet"))


def network_option(f):
    """``--network KEY``: the network filter whose panels the command reads (default: the workspace's,
    ``citynet.toml`` ``[network]``)."""
    return click.option(
        "--network", "network", metavar="KEY", default=None,
        help="Network filter of the panels to use, e.g. invention.y02.granted (default: the workspace's "
             "[network] filter; `citynet metrics --network KEY` computes another).",
    )(f)


def ensure_output(path, what: str = "output file", ws=None):
    """Check that ``path`` can be written (its folder exists, is a folder and is writable) before any
    work: one message and exit 2 otherwise. Folders are never created here. With ``ws``, a file of the
    workspace itself (:func:`workspace_file`) is refused too."""
    import os
    from pathlib import Path

    from citynet.errors import UserError

    path = Path(path).expanduser()
    if ws is not None and (own := workspace_file(ws, path)):
        raise UserError(f"{what} {path} would {own}", fix="write it elsewhere, e.g. into the workspace's results/")
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder", fix="give a file name, e.g. --out results/panel.dta")
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not parent.exists():
        if probe.is_dir():
            raise UserError(f"cannot write {what} {path}: folder {parent} does not exist",
                            fix=f"create it first (mkdir -p {parent}) or choose another path")
        raise UserError(f"cannot write {what} {path}: {probe} is a file, not a folder",
                        fix="choose a path inside a folder")
    if not parent.is_dir():
        raise UserError(f"cannot write {what} {path}: {parent} is a file, not a folder", fix="choose a path inside a folder")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"cannot write {what} {path}: {_denied(parent)}", fix="choose a writable location")
    return path


def workspace_file(ws, path) -> str | None:
    """What writing ``path`` would do when it is one of the workspace's own files: its settings (``citynet.toml``), its
    ``[inputs]`` files, or a file of the folders the commands write and check (canonical tables, quarantine,
    reports, store, metrics panels, the publication state); None otherwise (``results/`` is the outputs')."""
    from pathlib import Path

    target = Path(path).expanduser().resolve()
    root = Path(ws.root).resolve()
    if target == Path(ws.config_path).resolve():
        return "overwrite the workspace's settings"
    for folder in (ws.canonical, ws.quarantine, ws.reports, ws.store, ws.metrics, Path(ws.root) / ".citynet"):
        folder = Path(folder).resolve()
        if target == folder or folder in target.parents:
            name = folder.relative_to(root) if root in folder.parents else folder
            return f"write into the workspace's {name}/, whose files citynet writes and checks"
    inputs = ws.settings.get("inputs", {}) or {}
    for kind in ("patents", "transfers", "covariates"):
        listed = inputs.get(kind) or []
        for item in [listed] if isinstance(listed, str) else listed:
            if isinstance(item, str) and (Path(item) if Path(item).is_absolute() else root / item).resolve() == target:
                return f"overwrite an input file of citynet.toml [inputs] {kind}"
    return None


def _denied(folder) -> str:
    """Why ``folder`` cannot be written: its file system is mounted read-only, or permissions (or an immutable
    flag) refuse it."""
    import os

    try:
        return "read-only file system" if os.statvfs(folder).f_flag & os.ST_RDONLY else "permission denied"
    except OSError:
        return "permission denied"


def ensure_folder(path, what: str = "folder", fix: str = "choose a writable folder"):
    """Check that folder ``path`` exists and is writable, or can be created (its nearest existing
    ancestor is a writable folder): one message and exit 2 otherwise. Nothing is created here."""
    import os
    from pathlib import Path

    from citynet.errors import UserError

    path = Path(path).expanduser()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"cannot write {what} {path}: {probe} is a file, not a folder", fix="choose another folder")
    if not os.access(probe, os.W_OK):
        raise UserError(f"cannot write {what} {path}: {_denied(probe)} on {probe}", fix=fix)
    return path


def line_progress(console):
    """Plain progress lines (``citynet.progress.LineReporter``) when ``console`` (stderr) is not a
    terminal, where a live bar shows nothing until the command ends; ``None`` on a terminal or with -q."""
    if console.is_terminal or console.quiet:
        return None
    from citynet.progress import LineReporter

    return LineReporter(lambda text: console.print(text, highlight=False, soft_wrap=True, markup=False))


def progress_bars(ctx: click.Context):
    """A context manager showing a bar with counts (done/total, elapsed) for every long loop that calls
    ``citynet.progress.report`` inside it (placebo draws, bootstraps, …); silent with ``-q``. Off a terminal
    (a pipe, a log) plain lines (:func:`line_progress`) and no bar: rich prints the bar's last frame when it
    stops, which repeated the lines (export to .xlsx showed its progress twice)."""
    from contextlib import contextmanager

    @contextmanager
    def bars():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from citynet.progress import reporting, tee

        console = Console(stderr=True, quiet=is_quiet(ctx))
        lines = line_progress(console)
        with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False, disable=is_quiet(ctx) or lines is not None) as bar:
            tasks: dict[str, int] = {}

            def cb(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            with reporting(tee(cb, lines)):
                yield
            for t in bar.tasks:  # loops that report before each unit end one short of their total
                bar.update(t.id, completed=t.total)

    return bars()


def year_spans(years) -> str:
    """Years as text, consecutive ones as one span.

    >>> year_spans([2012, 2006, 2008, 2009, 2010])
    '2006, 2008–2010, 2012'
    """
    runs: list[list[int]] = []
    for y in sorted({int(y) for y in years}):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def panels_behind_note(ws: Workspace, key: str, years) -> str:
    """One line for ``load`` and ``metrics``: the panel years of network filter ``key`` that a load changed
    after they were computed (``years``: a list, or "all"; graph/store.py: ``panels_behind``), and the command
    that recomputes them.

    >>> class W: root, default_network = "ws", "invention.wipo.all"
    >>> panels_behind_note(W(), "invention.wipo.all", [2006, 2007, 2008, 2021])
    'the panels of invention.wipo.all show the store as it was before a load changed 2006–2008, 2021; recompute them: citynet metrics -w ws --years 2006-2021'
    """
    from citynet.workspace import network_flags

    if years == "all":
        span, rng = "every year", ""
    else:
        first, last = min(map(int, years)), max(map(int, years))
        span = year_spans(years)
        rng = f" --years {first}-{last}" if first != last else f" --years {first}"
    flags = "" if key == ws.default_network else " " + network_flags(key)
    return (f"the panels of {key} show the store as it was before a load changed {span}; "
            f"recompute them: citynet metrics -w {ws.root}{flags}{rng}")


def store_backend(ws, backend: str | None) -> str:
    """The store a command uses: ``--store``, else ``[store] backend``, else the embedded one."""
    return backend or ws.settings.get("store", {}).get("backend") or "embedded"


def refuse_neo4j_options(ws, backend: str | None, uri=None, user=None, password=None) -> None:
    """``--uri``/``--user``/``--password`` given to a command that uses the embedded store (:func:`store_backend`):
    one message (exit 2) instead of the embedded store's answers without a word (the user meant Neo4j)."""
    given = ", ".join(o for o, v in (("--uri", uri), ("--user", user), ("--password", password))
                      if v is not None)  # (an empty --password is one too: --password "$NEO4J_PASSWORD", unset)
    if store_backend(ws, backend) != "embedded" or not given:
        return
    from citynet.errors import UserError

    raise UserError(f"{given}: options of the Neo4j store, and this command uses the embedded store (they would be "
                    "ignored)", fix='add --store neo4j (or [store] backend = "neo4j" in citynet.toml), or drop ' + given)
