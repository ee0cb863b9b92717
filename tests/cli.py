"""Run the ``citynet`` command line in-process, as a user would, for the CLI tests."""

from __future__ import annotations

from citynet.cli import main


def invoke(capsys, *args) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``citynet ARGS``; a traceback on either stream fails the test."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err
