"""``citynet ARGS`` run in this process through the installed command's entry point (``citynet.cli.main``),
for the fuzzers: its exit code, what it printed (stdout and stderr), and the exception that escaped it."""

from __future__ import annotations

import contextlib
import io


def run_citynet(args: list[str]) -> tuple[int, str, BaseException | None]:
    """(exit code, output, escaped exception or None): a ``SystemExit`` is the exit code, anything else that
    escapes the entry point is the failure a fuzzer looks for."""
    from citynet.cli import main

    out, err = io.StringIO(), io.StringIO()
    code, escaped = 0, None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - an escape is the failure being looked for
        escaped = exc
    return code, out.getvalue() + err.getvalue(), escaped
