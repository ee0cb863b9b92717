"""The same panel exported again later gives the same bytes, in every format of ``citynet export``.

The project's rule: the same inputs give the same outputs to the last digit. Stata files carry a time stamp
and Excel workbooks a created/modified time and a time per zip member; ``metrics.export`` writes a fixed
one (``FILE_TIME``) instead of the clock's. A real small chain (synth → ingest → load → metrics), then each
export twice: the second with every clock the writers read (pandas' Stata writer, openpyxl, zipfile) moved
on by a day.
"""

from __future__ import annotations

import datetime as dt
import time
import types

import pytest

from tests.cli import exit_code


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism_export")
    assert exit_code("-q", "synth", root / "s", "--patents", 1000, "--seed", 3) == 0
    raw = root / "s" / "raw"
    assert exit_code("-q", "ingest", "-w", root / "ws", raw / "patents.csv", "--transfers", raw / "transfers.csv",
                     "--covariates", raw / "covariates.csv") == 0
    assert exit_code("-q", "load", "-w", root / "ws") == 0
    assert exit_code("-q", "metrics", "-w", root / "ws") == 0
    return root / "ws"


def _a_day_later(monkeypatch) -> None:
    """Every clock an export's writers read, one day on."""
    import openpyxl.packaging.core as core
    import openpyxl.writer.excel as excel
    import pandas.io.stata as stata

    shift = 86_400.0
    real_time, real_localtime = time.time, time.localtime

    class Clock(type):  # isinstance(a datetime, Later) holds, as the writers check their arguments with it
        def __instancecheck__(cls, obj):
            return isinstance(obj, dt.datetime)

    class Later(dt.datetime, metaclass=Clock):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.fromtimestamp(real_time() + shift, tz)

    clock = types.SimpleNamespace(datetime=Later, timezone=dt.timezone)
    monkeypatch.setattr(stata, "datetime", Later)
    monkeypatch.setattr(core, "datetime", clock)
    monkeypatch.setattr(excel, "datetime", clock)
    monkeypatch.setattr(time, "localtime", lambda secs=None: real_localtime((real_time() if secs is None else secs)
                                                                             + shift))
    assert stata.datetime.now() - dt.datetime.now() > dt.timedelta(hours=23)


@pytest.mark.parametrize("panel", ["city-year", "network-year"])
@pytest.mark.parametrize("fmt", ["dta", "xlsx", "csv", "parquet"])
def test_an_export_a_day_later_has_the_same_bytes(ws, tmp_path, monkeypatch, panel, fmt):
    first, second = tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"
    assert exit_code("-q", "export", "-w", ws, "--panel", panel, "--out", first) == 0
    _a_day_later(monkeypatch)
    assert exit_code("-q", "export", "-w", ws, "--panel", panel, "--out", second) == 0
    assert second.read_bytes() == first.read_bytes()


def test_the_dyad_year_dta_a_day_later_has_the_same_bytes(ws, tmp_path, monkeypatch):
    first, second = tmp_path / "first.dta", tmp_path / "second.dta"
    assert exit_code("-q", "export", "-w", ws, "--panel", "dyad-year", "--out", first) == 0
    _a_day_later(monkeypatch)
    assert exit_code("-q", "export", "-w", ws, "--panel", "dyad-year", "--out", second) == 0
    assert second.read_bytes() == first.read_bytes()
