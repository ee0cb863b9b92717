"""``citynet demo``: the whole pipeline on synthetic data, in one workspace.

synth → ingest → load (embedded LadybugDB) → metrics → the example specs of the four papers
(and the spatial one) → report. Each stage calls the layer's Python API — the same code the
individual commands run — and the closing summary says what was written where.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from citynet import transaction
from citynet.errors import UserError
from citynet.graph import lifecycle
from citynet.workspace import Workspace

DEMO_PATENTS = 200_000
DEMO_YEARS = (2006, 2020)
# A quarter of the synthetic inventions are WIPO-green (the generator's default is a tenth): the default
# network filter (green inventions) then keeps as many patents (~21,000) from 200,000 as it would from a
# 500,000-patent export, so the planted effects are recovered as well while ingest and load read 60% fewer rows.
DEMO_GREEN_SHARE_INVENTION = 0.25


def examples_dir() -> Path | None:
    """The ``examples/`` folder of the source tree (the demo's specs), if it is there."""
    here = Path(__file__).resolve().parent.parent / "examples"
    return here if here.is_dir() else None


@dataclass
class DemoRun:
    root: Path
    seconds: dict[str, float] = field(default_factory=dict)
    written: dict[str, list[Path]] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    #: specs the fit stage could not estimate on this sample ("name: reason")
    failed: list[str] = field(default_factory=list)


Step = Callable[[str], None]


def refuse_foreign_folder(root: Path) -> None:
    """The demo writes its own citynet.toml, canonical tables, store and results into ``root``: refuse a folder
    that holds anything else than an earlier demo (``citynet demo mystudy`` replaced a study's settings and
    tables with synthetic ones and added synthetic patents to its store). Allowed: a missing or empty folder,
    an earlier demo (its manifest has the ``synth`` unit), or one whose only file is the template citynet.toml."""
    from citynet.commands.init import TEMPLATE

    if root.exists() and not root.is_dir():
        raise UserError(f"{root} is a file, not a folder", fix="give the demo a new folder: citynet demo DIR")
    if not root.exists():
        return
    entries = {p.name for p in root.iterdir()} - {transaction.STATE_DIR}
    if not entries:
        return
    cfg = root / "citynet.toml"
    template_only = entries == {"citynet.toml"} and cfg.read_text(encoding="utf-8", errors="replace") == TEMPLATE
    try:
        demo = "synth" in transaction.read_manifest(root).get("units", {})
    except UserError:  # a damaged manifest: not known to be a demo
        demo = False
    if not (template_only or demo):
        shown = ", ".join(sorted(entries)[:6]) + (" …" if len(entries) > 6 else "")
        raise UserError(f"{root} is not empty and is not a demo workspace ({shown}): the demo would replace its "
                        "citynet.toml, canonical tables and results and add synthetic patents to its store",
                        fix="run the demo into a new (or empty) folder: citynet demo NEW_FOLDER")


def run_demo(root: str | Path, patents: int = DEMO_PATENTS, seed: int = 42, step: Step | None = None,
             specs: list[Path] | None = None) -> DemoRun:
    """Run every stage into ``root``; ``step(name)`` is called as each stage starts."""
    from citynet.commands.init import TEMPLATE

    step = step or (lambda name: None)
    root = Path(root).expanduser().resolve()
    refuse_foreign_folder(root)
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "citynet.toml"
    if not cfg.is_file() or cfg.read_text(encoding="utf-8", errors="replace") != TEMPLATE:
        tmp = cfg.with_name(cfg.name + ".tmp")  # atomic: a kill never leaves a torn citynet.toml
        tmp.write_text(TEMPLATE, encoding="utf-8")
        os.replace(tmp, cfg)
    ws = Workspace.open(root)
    command = f"citynet demo {root}"
    transaction.recover(root)  # finish (or drop) a publication of a demo killed earlier
    run = DemoRun(root=root)

    def timed(name: str):
        step(name)
        run.seconds[name] = -time.perf_counter()
        return name

    def done(name: str) -> None:
        run.seconds[name] += time.perf_counter()

    # 1. synthetic CNIPA export with planted effects
    from citynet.synth import SynthConfig, synthesize

    timed("synth")
    # every stage publishes through the workspace transaction (citynet/transaction.py), as the commands do:
    # staged, then one atomic switch with a manifest, so a killed demo leaves the previous state complete
    with transaction.publish(root, "synth", owned=["raw", "truth", "truth.json"], command=command) as tx:
        info = synthesize(tx.staging, SynthConfig(seed=seed, n_patents=patents, years=DEMO_YEARS,
                                                  green_share_invention=DEMO_GREEN_SHARE_INVENTION))
    done("synth")
    run.written["synth"] = [root / "raw" / "patents.csv", root / "raw" / "transfers.csv",
                            root / "raw" / "covariates.csv", root / "truth.json"]
    run.facts["synth"] = (f"{patents:,} patents ({DEMO_GREEN_SHARE_INVENTION:.0%} of inventions green), "
                          f"{DEMO_YEARS[0]}–{DEMO_YEARS[1]}, CNIPA-style with noise")
    run.facts["planted"] = (f"policy effect {info.get('policy_effect', 0.3)}, distance decay "
                            f"{info.get('distance_decay', 1.0)}")

    # 2. ETL
    from citynet.etl.pipeline import ingest

    timed("ingest")
    with transaction.publish(root, "ingest", owned=transaction.INGEST_OWNED, carry=transaction.INGEST_CARRY,
                             command=command) as tx:
        rep = ingest(Workspace(root=tx.staging, settings=ws.settings), [root / "raw" / "patents.csv"],
                     [root / "raw" / "transfers.csv"], [root / "raw" / "covariates.csv"],
                     progress=lambda msg: step(f"ingest: {msg}"))
    done("ingest")
    run.written["ingest"] = [ws.canonical, ws.quarantine, ws.reports / "ingest.json"]
    t = rep["totals"]
    run.facts["ingest"] = (f"{t['rows_read']:,} rows read, {t['rows_loaded']:,} loaded, "
                           f"{t['rows_quarantined']:,} quarantined; applicants located "
                           f"{rep['applicants']['located_share']:.1%}")

    # 3. graph store (embedded) and the yearly city projections
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.store import open_store

    flt = NetworkFilter.from_settings(ws.settings["network"])
    timed("load")
    ws.require(ws.table("cities"), "ingest")  # the canonical tables of the manifest, as `citynet load` checks
    with open_store(ws, backend="embedded") as store:
        store.ensure_schema()
        # the store's writer lock and load record, as `citynet load` (graph/lifecycle.py)
        with lifecycle.writing(store, f"{command} (load)", manifest=transaction.manifest_entry(root, "ingest")):
            store.load(ws.canonical)
            proj = store.build_projections(flt)
        done("load")
        run.written["load"] = [ws.store]
        run.facts["load"] = ", ".join(f"{k} {v['edges']:,} edges" for k, v in proj.items())

        # 4. metrics
        from citynet.metrics.pipeline import run_metrics

        timed("metrics")
        mrun = run_metrics(ws, flt, store=store)
        done("metrics")
    run.written["metrics"] = list((mrun.mirror or mrun.paths).values())
    run.facts["metrics"] = (f"network {mrun.network}, {mrun.panel_years[0]}–{mrun.panel_years[-1]}, "
                            f"{len(mrun.panels.city_year):,} city-years")

    # 5. the papers' designs
    from citynet.analysis.spec import run_spec

    specs = specs if specs is not None else sorted((examples_dir() or Path("/nonexistent")).glob("*.toml"))
    if not specs:
        run.skipped["fit"] = "examples/ not found (install from the source tree: pip install -e .)"
    timed("fit")
    tables: list[Path] = []
    failed: list[str] = []
    for spec in specs:
        step(f"fit {spec.stem}")
        try:
            out = run_spec(spec, ws)
        except (UserError, ValueError, ArithmeticError) as exc:  # a design a small sample cannot identify
            msg = exc.message if isinstance(exc, UserError) else str(exc)
            failed.append(f"{spec.stem}: {' '.join(msg.split())[:160]}")
            continue
        tables += [ws.results / f"{name}.md" for name in out.tables]
    done("fit")
    run.written["fit"] = tables
    run.facts["fit"] = f"{len(specs)} specs, {len(tables)} tables (Markdown, LaTeX, CSV, HTML) and figures"
    if failed:
        run.facts["fit"] += f"; not estimable on this sample: {len(failed)} spec(s)"
        run.failed = failed

    # 6. report
    timed("report")
    transaction.verify_workspace(root)  # as `citynet report`: refuse parts of two runs
    report_path = _report(ws, run)
    done("report")
    if report_path:
        run.written["report"] = [report_path]
    return run


def _report(ws: Workspace, run: DemoRun) -> Path | None:
    try:
        from citynet.analysis.report import write_report
    except ImportError:
        run.skipped["report"] = "the report module is not installed"
        return None
    return Path(write_report(ws))
