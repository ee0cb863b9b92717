"""Per-phase timeline of one whole ``citynet ingest`` command: wall, CPU and idle cores per step.

Why: the 1M target is wall time on a 2-core machine, so what matters is where the command runs on
one core only. This runs the command in a child process (``this file ``--child ...``: the ``citynet`` entry point with every ingest step's start and end written to stderr with a
timestamp), samples the child's CPU time (``/proc/PID/stat``, all its threads), its RSS and the
machine's idle time (``/proc/stat``) every 50 ms, and prints one row per phase: wall, the command's
CPU, CPU/wall (cores used), and the machine's idle core-seconds in the phase (a second core that sat
idle while the command ran serially). Run under ``flock /work/wt/bench.lock`` on a shared machine.

    python -m bench.ingest_timeline -- -q ingest -w WS patents.csv --transfers transfers.csv
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")
MARK = "@@phase"


def _child(argv: list[str]) -> None:
    """The citynet command line with the ingest steps' boundaries on stderr (``@@phase T begin NAME``)."""
    t_start = time.time()
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    from citynet.commands.ingest import JEMALLOC_CONF  # as the command sets them, before pyarrow loads

    os.environ.setdefault("JE_ARROW_MALLOC_CONF", JEMALLOC_CONF)
    from citynet.etl import pipeline

    def mark(what: str) -> None:
        os.write(2, f"{MARK} {time.time():.4f} {what}\n".encode())

    os.write(2, f"{MARK} {t_start:.4f} begin (imports, workspace)\n".encode())
    begin, end = pipeline.Steps.begin, pipeline.Steps.end

    def _begin(self, name, rows=None):
        begin(self, name, rows)
        mark(f"begin {name}")

    def _end(self):
        was = self.current
        end(self)
        if was is not None:
            mark("begin (between steps)")

    pipeline.Steps.begin, pipeline.Steps.end = _begin, _end
    from citynet.etl import stream

    for fn_name in ("resolve_citations", "write_patents", "quarantine_duplicates"):  # the threads: their spans
        fn = getattr(stream, fn_name)

        def wrapped(*a, _fn=fn, _n=fn_name, **k):
            mark(f"thread+ {_n}")
            try:
                return _fn(*a, **k)
            finally:
                mark(f"thread- {_n}")

        setattr(stream, fn_name, wrapped)
    ingest = pipeline.ingest

    def _ingest(*a, **k):
        try:
            return ingest(*a, **k)
        finally:
            mark("begin (publishing, summary, exit)")

    pipeline.ingest = _ingest
    from citynet.cli import main

    sys.argv = ["citynet", *argv]
    main()


def _cpu(pid: int) -> tuple[float, float, int]:
    """User and system CPU seconds (all threads) and minor page faults of ``pid``."""
    with open(f"/proc/{pid}/stat") as fh:
        parts = fh.read().rsplit(")", 1)[1].split()
    return int(parts[11]) / TICK, int(parts[12]) / TICK, int(parts[7])


def _runnable(pid: int) -> int:
    """The number of ``pid``'s threads running or waiting for a core (state R) now: how many cores the
    command could use at this moment, whatever the other jobs on the machine leave it."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                n += fh.read().rsplit(")", 1)[1].split()[0] == "R"
        except OSError:
            pass
    return n


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _idle() -> float:
    with open("/proc/stat") as fh:
        parts = fh.readline().split()
    return (int(parts[4]) + int(parts[5])) / TICK  # idle + iowait, all cores


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        _child(argv[1:])
        return
    if argv and argv[0] == "--":
        argv = argv[1:]
    load0 = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", *argv],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    samples: list[tuple[float, tuple[float, float, int], float, int, int]] = []
    marks: list[tuple[float, str]] = []
    other: list[str] = []

    def read():
        for line in proc.stderr:
            if line.startswith(MARK):
                _, t, what = line.rstrip("\n").split(" ", 2)
                marks.append((float(t), what))
            else:
                other.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    t_launch = time.time()
    samples.append((t_launch, (0.0, 0.0, 0), _idle(), 0, 0))
    while proc.poll() is None:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
            samples.append((time.time(), _cpu(proc.pid), _idle(), _rss(proc.pid), _runnable(proc.pid)))
        time.sleep(0.05)
    t_exit = time.time()
    reader.join()
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    samples.append((t_exit, (usage.ru_utime, usage.ru_stime, usage.ru_minflt), _idle(), 0, 0))
    if proc.returncode:
        sys.stderr.write("".join(other))
        raise SystemExit(f"command failed: {proc.returncode}")
    phases = [(t_launch, "python start")] + [(t, w[6:]) for t, w in marks if w.startswith("begin ")] + [(t_exit, "")]
    threads = [(t, w) for t, w in marks if w.startswith("thread")]

    def at(t: float):
        best = min(samples, key=lambda s: abs(s[0] - t))
        return best[1], best[2], best[3]

    print(f"{'phase':46s} {'start':>6s} {'wall':>6s} {'CPU':>6s} {'sys':>5s} {'cores':>5s} {'idle':>6s} "
          f"{'faults':>7s} {'RSS max':>8s} {'runnable':>8s}")
    tot_idle = 0.0
    for (t0, name), (t1, _) in zip(phases, phases[1:], strict=False):
        if t1 - t0 < 0.05:
            continue
        c0, i0, _ = at(t0)
        c1, i1, _ = at(t1)
        inside = [s for s in samples[1:-1] if t0 <= s[0] <= t1]
        rss = max((s[3] for s in inside), default=0)
        runnable = sum(s[4] for s in inside) / max(len(inside), 1)  # threads wanting a core, on average
        tot_idle += i1 - i0
        cpu = c1[0] + c1[1] - c0[0] - c0[1]
        print(f"{name[:46]:46s} {t0 - t_launch:6.1f} {t1 - t0:6.2f} {cpu:6.2f} {c1[1] - c0[1]:5.2f} "
              f"{cpu / (t1 - t0):5.2f} {i1 - i0:6.2f} {(c1[2] - c0[2]) / 1000:6.0f}k {rss / 2**30:7.2f}G {runnable:8.2f}")
    for t, w in threads:
        print(f"  {w} at {t - t_launch:.1f} s")
    wall = t_exit - t_launch
    cpu = usage.ru_utime + usage.ru_stime
    print(f"total: wall {wall:.2f} s, CPU {cpu:.2f} s (user {usage.ru_utime:.2f} + sys {usage.ru_stime:.2f}), "
          f"cores used {cpu / wall:.2f}, machine idle {tot_idle:.2f} core-s, peak RSS "
          f"{usage.ru_maxrss / 2**20:.2f} GiB, load {load0:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
