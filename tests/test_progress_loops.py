"""Long resampling loops report progress with counts (``citynet.progress.report``), like the placebo and
the DID bootstraps: the wild cluster bootstrap, randomization inference, the threshold-model bootstrap and
Moran's I permutations (global by year and local). Each test collects the reports and checks that every
stage starts at 0, never goes back, stays within its total and ends at it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from citynet.analysis.inference import randomization_inference, wild_cluster_bootstrap
from citynet.analysis.spatial import inverse_distance, moran_by_year, moran_local
from citynet.analysis.threshold import panel_threshold
from citynet.etl.cities import city_set

from citynet.progress import reporting


def _collect(fn):
    seen: dict[str, list[tuple[int, int]]] = {}
    with reporting(lambda stage, done, total: seen.setdefault(stage, []).append((done, total))):
        fn()
    return seen


def _complete(seen: dict, word: str) -> dict[str, list[tuple[int, int]]]:
    stages = {k: v for k, v in seen.items() if word in k}
    assert stages, f"no progress stage with {word!r} in {list(seen)}"
    for stage, reps in stages.items():
        done = [d for d, _ in reps]
        total = {t for _, t in reps}
        assert len(total) == 1, stage
        assert done[0] == 0 and done[-1] == total.pop(), (stage, reps)
        assert done == sorted(done), (stage, reps)
    return stages


def _panel(G=12, T=6, seed=1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(G), T), "year": np.tile(np.arange(2000, 2000 + T), G)})
    df["x"], df["z"] = rng.normal(size=(2, len(df)))
    df["d"] = ((df["city_code"] % 3 == 0) & (df["year"] >= 2003)).astype(float)
    df["y"] = 0.2 * df["x"] + 0.5 * df["d"] + rng.normal(size=len(df))
    return df


def test_wild_cluster_bootstrap_reports_pvalue_and_interval():
    seen = _collect(lambda: wild_cluster_bootstrap(_panel(), "y ~ x + z | city_code + year", "x", reps=199))
    (stage, reps), = _complete(seen, "wild cluster bootstrap").items()
    assert "draws" in stage and [d for d, _ in reps] == [0, 1, 2, 3]
    seen = _collect(lambda: wild_cluster_bootstrap(_panel(), "y ~ x | city_code", "x", reps=199, ci=False))
    assert [d for d, _ in next(iter(_complete(seen, "wild").values()))] == [0, 1]


def test_randomization_inference_reports_draws():
    seen = _collect(lambda: randomization_inference(_panel(), "y ~ d + x | city_code + year", "d", reps=120, chunk=50))
    (stage, reps), = _complete(seen, "randomization inference").items()
    assert [d for d, _ in reps] == [0, 50, 100, 120] and reps[0][1] == 120


def test_threshold_bootstrap_reports_grid_points_and_draws():
    rng = np.random.default_rng(0)
    N, T = 40, 5
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    df["x"] = rng.normal(size=len(df))
    df["q"] = rng.uniform(0, 10, len(df))
    df["y"] = np.where(df["q"] <= 5, 0.2, 1.5) * df["x"] + rng.normal(size=len(df))
    seen = _collect(lambda: panel_threshold(df, "y", ["x"], "q", reps=19, grid=40))
    stages = _complete(seen, "threshold bootstrap")
    assert any("single" in s for s in stages) and any("double" in s and "draws" in s for s in stages)
    second = next(v for s, v in stages.items() if "second threshold" in s)
    assert second[-1] == (19, 19)


def test_moran_permutations_report_draws_and_cities():
    codes = city_set().cities["city_code"].tolist()[:30]
    w = inverse_distance(codes=codes)
    rng = np.random.default_rng(4)
    panel = pd.DataFrame([(c, t, v) for t in (2007, 2008, 2009) for c, v in zip(codes, rng.normal(size=30), strict=True)],
                         columns=["city_code", "year", "v"])
    seen = _collect(lambda: moran_by_year(panel, "v", w, permutations=99))
    (stage, reps), = _complete(seen, "Moran").items()
    assert [d for d, _ in reps] == [0, 99, 198, 297]
    seen = _collect(lambda: moran_local(rng.normal(size=w.n), w, permutations=49))
    (stage, reps), = _complete(seen, "local Moran").items()
    assert reps[-1] == (30, 30)
    assert _collect(lambda: moran_by_year(panel, "v", w, permutations=0)) == {}


def test_line_progress_for_a_log_file():
    """Without a terminal (a log file, nohup, CI) progress is plain lines: a stage once it has run 2 s,
    then at most one line every 10 s, and its end, with rows/s (hand-worked: 60 rows in 12 s = 5/s);
    a quick stage writes nothing."""
    from citynet.progress import LineReporter, report, reporting, tee

    lines: list[str] = []
    clock = iter([0.0, 0.5, 12.0, 13.0, 20.0, 20.1, 20.2]).__next__
    seen = []
    with reporting(tee(lambda *a: seen.append(a), None, LineReporter(lines.append, every=10, clock=clock))):
        for done in (0, 10, 60, 100):
            report("rows", done, 100)
        for done in (0, 5, 9):
            report("quick", done, 9)
    assert lines == ["rows: 60/100 (60%), 5/s, 12 s", "rows: 100/100 (100%), 8/s, 13 s"]
    assert len(seen) == 7
    # a few slow units (three passes in 13 s) tell their count and time, not "0/s"
    lines.clear()
    slow = LineReporter(lines.append, every=10, clock=iter([0.0, 6.0, 13.0]).__next__)
    for done in (0, 1, 3):
        slow("passes", done, 3)
    assert lines == ["passes: 1/3 (33%), 6 s", "passes: 3/3 (100%), 13 s"]


def test_the_load_bar_of_a_step_with_nothing_to_do_reads_0_of_0_finished():
    """``citynet load``'s bars: a table without rows (total 0) is drawn finished as 0/0 (it read 0/1 and
    stayed unfinished), a table with rows as rows done/total."""
    import io
    import re

    from rich.console import Console

    from citynet.commands.load import load_bars

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    bar, tasks, draw = load_bars(console)
    draw("TRANSFERRED", 0, 0)
    draw("Patent", 0, 10)
    draw("Patent", 5, 10)
    draw("schema", 0, 1)  # a one-unit step and a step of passes: no rows/s
    draw("schema", 1, 1)
    draw("store keys", 2, 3)
    by_name = {t.description: t for t in bar.tasks}
    assert by_name["TRANSFERRED"].finished and not by_name["Patent"].finished
    console.print(bar.get_renderable())
    text = re.sub(r"\x1b\[[0-9;]*m", "", console.file.getvalue())
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert " 0/0 " in lines["TRANSFERRED"] and "rows/s" not in lines["TRANSFERRED"], text
    assert " 5/10 " in lines["Patent"], text
    assert "rows/s" not in lines["schema"] and "rows/s" not in lines["store"], text
