"""``citynet demo [DIR]``: the whole pipeline on synthetic data, with a closing summary."""

from __future__ import annotations

from pathlib import Path

import click

from citynet.commands.common import is_quiet, nonempty_folder


@click.command(
    "demo",
    epilog="""\b
Examples:
  citynet demo                       (into ./citynet-demo)
  citynet demo /tmp/demo --patents 50000
Then open DIR/results/report.html, or continue with any command: citynet query -w DIR "MATCH (c:City) RETURN count(c)".
DIR must be new, empty or an earlier demo: a folder holding other files (a study's workspace) is refused.""",
)
@click.argument("directory", required=False, default="citynet-demo", type=click.Path(file_okay=False),
                callback=nonempty_folder)
@click.option("--patents", default=200_000, show_default=True, type=click.IntRange(1_000, 10_000_000),  # DEMO_PATENTS
              help="Size of the synthetic export (a quarter of its inventions green).")
@click.option("--seed", default=42, show_default=True, type=click.IntRange(min=0),
              help="Seed of the synthetic data (0 or more).")
@click.pass_context
def command(ctx, directory: Path, patents: int, seed: int) -> None:
    """Synthesise a CNIPA export, then ingest, load (embedded store), compute metrics, fit the papers'
    designs and write the HTML report — all into DIR (a citynet workspace)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from citynet.demo import run_demo

    console = Console(stderr=True, quiet=is_quiet(ctx))
    stages = ["synth", "ingest", "load", "metrics", "fit", "report"]
    with Progress(TextColumn("[bold]demo[/] {task.description:<28}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, disable=is_quiet(ctx)) as bar:
        task = bar.add_task("starting", total=len(stages))

        def step(name: str) -> None:
            base = name.split()[0].rstrip(":")
            bar.update(task, description=name, completed=stages.index(base) if base in stages else 0)

        run = run_demo(directory, patents=patents, seed=seed, step=step)
        bar.update(task, description="done", completed=len(stages))

    t = Table(title=f"citynet demo — workspace {run.root}", show_lines=False)
    t.add_column("stage")
    t.add_column("seconds", justify="right")
    t.add_column("what")
    t.add_column("written")
    for name in stages:
        files = run.written.get(name, [])
        shown = ", ".join(str(_rel(p, run.root)) for p in files[:4]) + (f", … ({len(files)})" if len(files) > 4 else "")
        t.add_row(name, f"{run.seconds.get(name, 0):.1f}", run.facts.get(name, run.skipped.get(name, "")), shown)
    console.print(t)
    console.print(f"planted: {run.facts.get('planted', '')}")
    for line in run.failed:  # one line each, not a traceback: a design the sample cannot identify
        console.print(f"[yellow]not estimable on this sample:[/] {line}", highlight=False)
    if "report" in run.written:
        console.print(f"open [bold]{run.written['report'][0]}[/] in a browser")
    click.echo(str(run.root))


def _rel(p: Path, root: Path) -> Path:
    try:
        return Path(p).relative_to(root)
    except ValueError:
        return Path(p)
