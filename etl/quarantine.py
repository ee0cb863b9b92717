"""Rejected rows: every row that does not load is kept with its file, row, field and reason.

Row accounting is checked here: for each input file, rows read = rows loaded + rows
quarantined; a mismatch is a bug and raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from citynet.csvfile import write_csv
from citynet.errors import DataError

REASONS = {
    "malformed_row": "the record has a different number of fields than the header",
    "bad_encoding": "the record has bytes that are not valid in the file's encoding (shown as \\xNN)",
    "nul_character": "the record contains a NUL character (shown as \\x00)",
    "overlong_field": "a field is longer than 131,072 characters",
    "empty_row": "an empty row: every field blank (a workbook's empty row, or a line of separators only)",
    "missing_app_number": "no application number",
    "bad_app_number": "application number not in a CNIPA format (CN + 12 or 8 digits + check digit)",
    "app_number_scientific": "application number in scientific notation (2.01511E+11): Excel rounded it when the "
                             "file was saved and its digits are lost; export again with the column as text",
    "app_number_check_digit": "application number check digit does not match its digits",
    "missing_date": "no application date",
    "missing_transfer_date": "no effective date of the transfer (生效日)",
    "bad_date": "date cannot be parsed",
    "impossible_date": "date before 1985 or in the future",
    "impossible_grant_date": "grant date before the application date or in the future",
    "no_applicant": "no applicant name",
    "bad_ipc": "malformed IPC symbol on a non-design patent",
    "missing_ipc": "no IPC symbol on a non-design patent",
    "duplicate": "duplicate of a record that was kept",
    "no_assignor": "no assignor (转让人)",
    "no_assignee": "no assignee (受让人)",
    "unknown_city": "city key matches no city of the city set",
    "abolished_city": "city code or name of a former unit (split, merged or abolished), not a city of today's set",
    "city_key_conflict": "the city code and the city name are of different cities",
    "bad_year": "year missing or not a number",
}


INTERNAL = {"_source_file", "_row"}


@dataclass
class Quarantine:
    """Collects rejected rows per source file."""

    frames: list[pd.DataFrame] = field(default_factory=list)

    def add(self, raw: pd.DataFrame, reason_code: str, field_name: str, detail: pd.Series | str | None = None) -> None:
        """Quarantine the rows of ``raw`` (which carries ``_source_file`` and ``_row``)."""
        if raw.empty:
            return
        text = REASONS[reason_code]
        if detail is not None:
            text = text + ": " + (detail.astype(str) if isinstance(detail, pd.Series) else str(detail))
        q = pd.DataFrame(
            {
                "source_file": _column(raw, "_source_file").astype(str),
                "source_row": _column(raw, "_row").astype("int64"),
                "field": field_name,
                "reason_code": reason_code,
                "reason": text,
            },
            index=raw.index,
        )
        raw_fields = raw.drop(columns=[c for c in raw.columns if c in INTERNAL or c.startswith("_")])
        # an input column named like a quarantine column keeps its value under "<name> (input)"
        raw_fields.columns = [f"{c} (input)" if c in q.columns or c == "raw_text" else c for c in raw_fields.columns]
        raw_fields = raw_fields.loc[:, ~raw_fields.columns.duplicated()]
        self.frames.append(pd.concat([q, raw_fields.astype(str)], axis=1))

    def add_malformed(self, source_file: str, rows: list[tuple]) -> None:
        """Records the reader could not split or decode: ``(row, raw text shown safely[, reason code])``."""
        if rows:
            codes = [r[2] if len(r) > 2 else "malformed_row" for r in rows]
            self.frames.append(
                pd.DataFrame(
                    {
                        "source_file": source_file,
                        "source_row": [r[0] for r in rows],
                        "field": "(record)",
                        "reason_code": codes,
                        "reason": [REASONS[c] for c in codes],
                        "raw_text": [r[1] for r in rows],
                    }
                )
            )

    def table(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(columns=["source_file", "source_row", "field", "reason_code", "reason"])
        return pd.concat(self.frames, ignore_index=True).sort_values(["source_file", "source_row"], kind="stable")

    def counts(self) -> dict[str, dict[str, int]]:
        t = self.table()
        return {
            f: g["reason_code"].value_counts().sort_index().to_dict() for f, g in t.groupby("source_file", sort=True)
        }

    def nothing_loaded(self, files: list[str], what: str = "patent", note: str = "") -> DataError:
        """The refusal when no record of any input file could be loaded: the reasons, summarised (``note``
        added after them)."""
        t = self.table()
        counts = t["reason_code"].value_counts() if len(t) else pd.Series(dtype="int64")
        reasons = ", ".join(f"{k} {v:,}" for k, v in counts.head(3).items()) or "no records"
        if len(counts) > 3:
            reasons += f" and {len(counts) - 3:,} more reasons"
        first = ""
        if len(t):
            r = t.iloc[0]
            first = f"; first: {Path(str(r['source_file'])).name} row {int(r['source_row'])} ({r['reason_code']})"
        names = ", ".join(Path(f).name for f in files[:3]) + (f" and {len(files) - 3:,} more" if len(files) > 3 else "")
        return DataError(
            f"no {what} record of {names} could be loaded ({reasons}){first}{note}",
            fix="check that the file is the patent export and its header row names the columns "
                "(map other names in citynet.toml [columns])",
        )

    def write(self, folder: Path, kind: str) -> list[Path]:
        """One CSV per input file: ``quarantine/<kind>__<file stem>.csv`` (UTF-8 with BOM for Excel)."""
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{kind}__*.csv"):
            old.unlink()
        written = []
        t = self.table()
        stems: dict[str, int] = {}
        for source, g in t.groupby("source_file", sort=True):
            stem = Path(source).stem
            stems[stem] = stems.get(stem, 0) + 1
            suffix = "" if stems[stem] == 1 else f"_{stems[stem]}"  # same file name in two folders
            path = folder / f"{kind}__{stem}{suffix}.csv"
            write_csv(g.dropna(axis=1, how="all"), path)
            written.append(path)
        return written


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``; with duplicate names (an input column named like an internal one) the last,
    which is the internal one the pipeline appended."""
    col = frame[name]
    return col.iloc[:, -1] if isinstance(col, pd.DataFrame) else col
