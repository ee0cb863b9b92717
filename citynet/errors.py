"""Errors meant for the user: one clear message, the fix, and an exit code — never a traceback."""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_STORE = 4
EXIT_ANALYSIS = 5


class UserError(Exception):
    """An error the user can fix; the CLI prints ``message`` and ``fix`` and exits with ``exit_code``."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, fix: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code


class DataError(UserError):
    exit_code = EXIT_DATA


class StoreError(UserError):
    exit_code = EXIT_STORE


class AnalysisError(UserError):
    exit_code = EXIT_ANALYSIS
