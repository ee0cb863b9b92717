"""Run the ``citynet`` command line in-process, as a user would, for the CLI tests."""

from __future__ import annotations

from citynet.cli import main


def exit_code(*args) -> int:
    """Exit code of ``citynet ARGS`` run in-process (0 when the command returns)."""
    try:
        main([str(a) for a in args])
        return 0
    except SystemExit as exc:
        return exc.code or 0


def invoke(capsys, *args) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``citynet ARGS``; a traceback on either stream fails the test."""
    code = exit_code(*args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def call(*args) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``citynet ARGS`` outside a test's capsys (module fixtures)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = exit_code(*args)
    return code, out.getvalue(), err.getvalue()
