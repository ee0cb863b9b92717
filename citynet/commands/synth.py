"""``citynet synth OUT``: a synthetic CNIPA-style export with planted effects."""

from __future__ import annotations

import re

import click

from citynet.commands.common import is_quiet, nonempty_folder
from citynet.errors import UserError


def _years(ctx, param, value: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{4})\s*[-–:]\s*(\d{4})\s*", value or "")
    if not m:
        raise click.BadParameter("use A-B, e.g. 2006-2020")
    return int(m.group(1)), int(m.group(2))


@click.command(
    "synth",
    epilog="""\b
Examples:
  citynet synth out                                  (100,000 patents, 2006-2020)
  citynet synth out --patents 1000000 --seed 7 --policy-effect 0.25 --distance-decay 1.2
  citynet synth out --years 2010-2020 --encoding gb18030
Writes out/raw/patents.csv, out/raw/transfers.csv, out/raw/covariates.csv, out/truth.json and
out/truth/*.csv (the true green city-year and dyad-year panels).""",
)
@click.argument("out", type=click.Path(file_okay=False), callback=nonempty_folder)
@click.option("--seed", default=42, show_default=True, type=click.IntRange(min=0),
              help="Random seed, 0 or more (same seed, same files).")
@click.option("--patents", "n_patents", default=100_000, show_default=True, type=click.IntRange(1_000, 10_000_000),
              help="Number of distinct patents (1,000 to 10,000,000); duplicates and bad rows come on top.")
@click.option("--years", default="2006-2020", show_default=True, callback=_years, help="Application years A-B.")
@click.option("--policy-effect", default=0.3, show_default=True, type=float,
              help="β in log E[green_patents_it] = a_i + g_t + β·low_carbon_it (-5 to 5).")
@click.option("--distance-decay", default=1.0, show_default=True, type=float,
              help="θ in E[collab_ijt] ∝ distance_ij^(−θ) (-5 to 5).")
@click.option("--low-carbon-coding", type=click.Choice(["announce", "source", "effective"]), default="announce",
              show_default=True, help="Treatment year of the low-carbon pilot batches (see etl.policies).")
@click.option("--encoding", type=click.Choice(["utf-8-sig", "utf-8", "gb18030"]), default="utf-8-sig",
              show_default=True, help="Encoding of the CSV files (utf-8-sig: UTF-8 with BOM, as Excel writes).")
@click.pass_context
def command(ctx, out, seed, n_patents, years, policy_effect, distance_decay, low_carbon_coding, encoding):
    """Write synthetic patents, transfers and covariates with a planted policy effect and distance decay."""
    from rich.console import Console

    from citynet.synth import SynthConfig, synthesize

    try:
        cfg = SynthConfig(seed=seed, n_patents=n_patents, years=years, policy_effect=policy_effect,
                          distance_decay=distance_decay, low_carbon_coding=low_carbon_coding, encoding=encoding)
    except ValueError as err:
        fix = ("e.g. --policy-effect 0.3 --distance-decay 1.0 (the defaults)" if str(err).startswith("--")
               else "citynet synth OUT --years 2006-2020 --patents 100000")
        raise UserError(str(err), fix=fix) from err
    console = Console(stderr=True, quiet=is_quiet(ctx))
    with console.status("generating…") as status:
        truth = synthesize(out, cfg, progress=lambda msg: status.update(msg))
    c = truth["counts"]
    console.print(
        f"wrote {out}/raw/patents.csv ({c['patent_rows']:,} rows: {c['patents']:,} patents, "
        f"{c['duplicates']:,} duplicates, {c['bad_rows']:,} bad rows), transfers.csv ({c['transfer_rows']:,} rows), "
        f"covariates.csv, truth.json ({c['applicants']:,} applicants; policy_effect {cfg.policy_effect}, "
        f"distance_decay {cfg.distance_decay})"
    )
