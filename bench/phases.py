"""Where a ``citynet`` command's time, CPU, disk writes and memory go, per progress stage.

Runs one command in this process and follows every progress stage it reports (``citynet.progress``: the
``load`` stages ``year digests``, ``preparing Patent``, ``Patent``, …): for each stage, its first and last
report (seconds since the start), the process's peak resident memory while it ran (sampled every 0.25 s),
and the bytes the process wrote and the user and system CPU it used between those two reports. Stages
overlap where two threads work (the load's copies beside DuckDB's next tables), and CPU and bytes are
the whole process's, so read them for the stages that run alone. The table goes to stderr when the
command ends. Linux only (``/proc/self``). docs/scale.md, "Thirteenth round (session 19)", was measured
with it; run it under ``flock /work/wt/bench.lock`` (or nothing else running) and ``/usr/bin/time -v``:

    python -m bench.phases load -w WS
"""

from __future__ import annotations

import os
import sys
import threading
import time


class Phases:
    """First and last report, peak RSS, bytes written and CPU at both ends, per stage."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.first: dict[str, tuple[float, int, float, float]] = {}
        self.last: dict[str, tuple[float, int, float, float]] = {}
        self.peak: dict[str, int] = {}
        self.rss_kb = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            with open("/proc/self/status") as f:
                self.rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
            time.sleep(0.25)

    @staticmethod
    def _written() -> int:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes"))

    def __call__(self, stage: str, done: int, total: int) -> None:
        cpu = os.times()
        now = (time.monotonic() - self.t0, self._written(), cpu.user, cpu.system)
        with self.lock:
            self.first.setdefault(stage, now)
            self.last[stage] = now
            self.peak[stage] = max(self.peak.get(stage, 0), self.rss_kb)

    def table(self) -> str:
        lines = [f"{'start':>8} {'end':>8} {'wall s':>7} {'peak MB':>8} {'GB written':>10} {'user s':>7} "
                 f"{'sys s':>6}  stage"]
        for stage in sorted(self.first, key=lambda s: self.first[s][0]):
            (t0, w0, u0, s0), (t1, w1, u1, s1) = self.first[stage], self.last[stage]
            lines.append(f"{t0:8.1f} {t1:8.1f} {t1 - t0:7.1f} {self.peak[stage] / 1024:8.0f} {(w1 - w0) / 1e9:10.2f} "
                         f"{u1 - u0:7.1f} {s1 - s0:6.1f}  {stage}")
        lines.append(f"total {time.monotonic() - self.t0:.1f} s")
        return "\n".join(lines)


def main(argv: list[str]) -> None:
    import citynet.commands.load as load_command
    import citynet.progress as progress

    phases = Phases()
    plain_tee = progress.tee

    def tee(*callbacks):  # every reporter the command builds also tells the phases
        return plain_tee(*callbacks, phases)

    progress.tee = load_command.tee = tee
    from citynet.cli import main as citynet_main

    try:
        citynet_main(argv)
    finally:
        print("\n" + phases.table(), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
