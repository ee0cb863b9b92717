"""``citynet run``: every stage whose inputs changed since its last run, make-style.

Stages, in order: ``ingest`` (the files of ``[inputs]``) → ``load`` → ``metrics`` of every filter (the
workspace's ``[network]`` and ``[run] networks``) → ``fit`` of every spec of ``[run] specs`` →
``report``. A stage runs when the SHA-256 of its inputs differs from the one recorded at its last
successful run in ``WS/.citynet-run.json`` (``stages``; ``last_run`` holds the last summary) (or when its output is missing); its inputs are the
content of the files it reads (raw exports, canonical tables, panels, spec files, results) and the
settings it uses, so a stage whose upstream re-ran but produced identical files is skipped too.
Content hashes, not modification times: ``touch`` alone re-runs nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import click

from citynet.commands.common import is_quiet, workspace_option
from citynet.errors import UserError

STATE_FILE = ".citynet-run.json"


@dataclass
class Stage:
    name: str  # shown in the summary, key in the state file
    key: str  # SHA-256 of the stage's inputs
    output: Path | None  # must exist for the stage to be skipped
    action: object  # () -> None
    stale: object = None  # () -> why the output is out of date whatever its inputs (None: it is not)


def _hash_files(h, paths) -> None:
    for p in paths:
        p = Path(p)
        h.update(str(p.name).encode())
        if p.is_file():
            with p.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        else:
            h.update(b"<missing>")


def digest(*, files=(), settings=None, upstream=()) -> str:
    """SHA-256 of the contents of ``files``, the JSON of ``settings`` and the keys of ``upstream`` stages."""
    h = hashlib.sha256()
    _hash_files(h, files)
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for u in upstream:
        h.update(str(u).encode())
    return h.hexdigest()


def _as_list(value) -> list:
    if not value:
        return []
    return [value] if isinstance(value, str | dict) else list(value)


def _spec_entries(ws) -> list[tuple[Path, str | None]]:
    """``[run] specs``: ``"spec.toml"`` (default filter) or ``{file = "spec.toml", network = "KEY"}``; the types,
    keys and network keys of the entries are checked when citynet.toml is read (``citynet.workspace``), before
    any stage runs."""
    out = []
    for item in _as_list(ws.settings.get("run", {}).get("specs")):
        if isinstance(item, dict):
            file, net = item.get("file"), item.get("network")
        else:
            file, net = item, None
        if not file:
            raise UserError(f"{ws.config_path} [run] specs: an entry has no file", fix='specs = ["specs/table3.toml"]')
        p = Path(file) if Path(file).is_absolute() else ws.root / file
        if not p.is_file():
            raise UserError(f"{ws.config_path} [run] specs: {p} does not exist", fix="correct the path (relative to the workspace)")
        out.append((p, net))
    return out


def plan(ws, ctx) -> list[Stage]:
    """The stages of ``citynet run`` for workspace ``ws``, in order, with the hash of each one's inputs."""
    from citynet.commands.ingest import _as_list as as_list
    from citynet.workspace import Workspace, parse_network_key

    settings = ws.settings
    inputs = settings.get("inputs", {})

    def rel(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else ws.root / p

    raw = [rel(p) for kind in ("patents", "transfers", "covariates") for p in as_list(inputs.get(kind))]
    if not as_list(inputs.get("patents")):
        raise UserError(f"{ws.config_path} [inputs] lists no patent files",
                        fix='add patents = ["raw/patents.csv"] under [inputs] (citynet init writes the template)')
    missing = [str(p) for p in raw if not p.is_file()]
    if missing:
        raise UserError(f"input files of {ws.config_path} [inputs] not found: {', '.join(missing)}",
                        fix="correct the paths (relative to the workspace folder)")
    fresh = lambda: Workspace.open(ws.root)  # noqa: E731 - every stage starts from the workspace's defaults
    stages: list[Stage] = []

    k_ingest = digest(files=raw, settings={k: settings.get(k) for k in ("inputs", "columns", "transfer_columns")})

    def do_ingest():
        from citynet.commands import ingest

        ctx.invoke(ingest.command, ws=fresh(), files=(), transfer_files=(), covariate_files=(), encoding=None)

    stages.append(Stage("ingest", k_ingest, ws.table("patents"), do_ingest))

    canon = lambda: sorted(ws.canonical.glob("*.parquet"))  # noqa: E731 - read when the stage is checked

    def k_load():
        return digest(files=canon(), settings=settings.get("store"))

    def do_load():
        from citynet.commands import load

        ctx.invoke(load.command, ws=fresh(), backend=None, uri=None, user=None, password=None, rebuild=False)
        if (settings.get("store", {}).get("backend") or "embedded") != "embedded":
            return  # a Neo4j database may hold another corpus on purpose: metrics refuses it, the user decides
        with load.open_ws_store(fresh(), None, None, None, None, read_only=True) as store:
            beyond = store.patents_beyond_canonical()
        if beyond:  # the inputs dropped patents: the workspace's own store is made to hold them alone
            click.secho(f"run: the embedded store of this workspace held {beyond:,} patents that [inputs] no longer "
                        "has; rebuilding it from the canonical tables (citynet load --rebuild)", fg="yellow", err=True)
            ctx.invoke(load.command, ws=fresh(), backend=None, uri=None, user=None, password=None, rebuild=True)

    stages.append(Stage("load", k_load, None, do_load))

    default = ws.default_network
    keys = [default] + [k for k in _as_list(settings.get("run", {}).get("networks")) if k != default]
    for k in keys:
        parse_network_key(k)
    for key in dict.fromkeys(keys):
        def k_metrics(key=key):
            return digest(files=canon(), settings={"network": key, "years": settings.get("years"),
                                                   "store": settings.get("store")})

        def do_metrics(key=key):
            from citynet.commands import metrics

            ctx.invoke(metrics.command, ws=fresh(), years_text=None, green=None, kind=None, granted_only=None,
                       year_basis=None, network_key=key, backend=None, uri=None,
                       rebuild_projections=key != default)

        def other_copy(key=key):
            """``metrics/*.parquet`` hold another filter's panels (``[network]`` changed, then changed back)."""
            held = ws.copy_network("city_year.parquet")
            return f"metrics/*.parquet hold the panels of {held}" if held and held != key else None

        stages.append(Stage(f"metrics {key}", k_metrics, ws.filter_panel("city_year", key), do_metrics,
                            other_copy if key == default else None))

    for spec, net in _spec_entries(ws):
        key = net or default

        def k_fit(spec=spec, key=key):
            panels = [ws.filter_panel(p, key) for p in ("city_year", "dyad_year")]
            return digest(files=[spec, *panels, ws.canonical / "covariates.parquet"],
                          settings={"network": key, "analysis": settings.get("analysis")})

        def do_fit(spec=spec, key=key):
            from citynet.commands import fit

            ctx.invoke(fit.command, ws=fresh(), spec=str(spec), formula=None, model="ols", panel_name="city-year",
                       cluster=None, vcov=None, sample=None, as_json=False, out=None, network=key)

        stages.append(Stage(f"fit {spec.name}" + (f" ({key})" if key != default else ""), k_fit, None, do_fit))

    if settings.get("run", {}).get("report", True):
        def k_report():
            res = [p for p in sorted(ws.results.rglob("*")) if p.is_file() and p.name != "report.html"]
            panels = [ws.metrics / f"{p}.parquet" for p in ("city_year", "dyad_year", "network_year")]
            return digest(files=[*panels, ws.reports / "ingest.json", *res],
                          settings={"names": [str(p.relative_to(ws.results)) for p in res]})

        def do_report():
            from citynet.commands import report

            ctx.invoke(report.command, ws=fresh(), city=None, years=None, out=None, permutations=999, network=None)

        stages.append(Stage("report", k_report, ws.results / "report.html", do_report))
    return stages


@click.command(
    "run",
    epilog="""\b
Examples:
  citynet run -w ws                 every stage whose inputs changed since its last run
  citynet run -w ws --dry-run       say what would run, run nothing
  citynet run -w ws --force         run every stage
\b
Stages: ingest (citynet.toml [inputs]) → load → metrics of [network] and of every [run] networks
filter → fit of every [run] specs file → report. A stage runs when the SHA-256 of what it reads
(file contents and its settings) differs from its last successful run (recorded in
WS/.citynet-run.json), or its output is missing; then every later stage whose inputs changed runs
too. Ends with a summary of what ran and what was skipped. The yearly refresh job: replace the
exports listed in [inputs], then `citynet run -w ws`. When the new [inputs] no longer have patents
that the embedded store holds, run rebuilds the store (load --rebuild: the workspace's own store
holds its corpus alone); a Neo4j store is never emptied by run (metrics then refuses it, saying so).""",
)
@workspace_option()
@click.option("--dry-run", is_flag=True, help="Print the stages that would run and why; run nothing.")
@click.option("--force", is_flag=True, help="Run every stage, whatever the recorded hashes say.")
@click.pass_context
def command(ctx, ws, dry_run, force):
    """Run every stage whose inputs changed since its last run (ingest → load → metrics → fit → report)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, quiet=is_quiet(ctx))
    state_path = ws.root / STATE_FILE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    except (OSError, ValueError):
        state = {}
    state = state if isinstance(state, dict) else {}
    summary: list[tuple[str, str, str]] = []
    for stage in plan(ws, ctx):
        key = stage.key() if callable(stage.key) else stage.key
        last = (state.get("stages", {}).get(stage.name) or {}).get("key")
        if force:
            why = "--force"
        elif last is None:
            why = "never run"
        elif last != key:
            why = "inputs changed"
        elif stage.output is not None and not Path(stage.output).exists():
            why = "output missing"
        elif stage.stale is not None and (reason := stage.stale()):
            why = reason
        else:
            summary.append((stage.name, "skipped", "inputs unchanged"))
            continue
        if dry_run:
            summary.append((stage.name, "would run", why))
            continue
        console.rule(f"[bold]{stage.name}[/] ({why})")
        t0 = time.perf_counter()
        stage.action()
        state.setdefault("stages", {})[stage.name] = {"key": key, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(state_path)
        summary.append((stage.name, "ran", f"{why}, {time.perf_counter() - t0:.1f} s"))
    if not dry_run:
        state["last_run"] = [{"stage": n, "result": r, "why": w} for n, r, w in summary]
        state_path.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    t = Table(title=f"citynet run {ws.root}")
    for col in ("stage", "", "why"):
        t.add_column(col)
    for row in summary:
        t.add_row(*row)
    console.print(t)
    ran = sum(1 for _, what, _ in summary if what == "ran")
    console.print(f"{ran} stage(s) ran, {sum(1 for _, w, _ in summary if w == 'skipped')} skipped"
                  + (" (dry run)" if dry_run else ""))
