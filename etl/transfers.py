"""Transfer records (专利权转移) → ``transfers``: one row per recorded transfer of a patent right.

A record may name several assignors or assignees; as with applicants, the first of each carries the
record's location (address). A record is one transfer from its first assignor to its first assignee
that is not also one of its assignors (normalised names): 甲 → 甲;乙 (the owner keeps a share and brings
in 乙) is 甲 → 乙, not a local 甲 → 甲; when every assignee is an assignor (甲 → 甲, a change of name or
address recorded as a transfer) it is first assignor → first assignee. All names still become
applicants. ``transfer_id`` is a hash of (patent, date, from, to), so identical records are duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from citynet.etl.applicants import hashed_ids
from citynet.etl.normalize import (
    explode_items,
    is_blank,
    normalize_app_numbers,
    normalize_name_series,
    parse_dates,
)
from citynet.etl.patents import EARLIEST, reject_app_numbers
from citynet.etl.quarantine import Quarantine

# A transfer is its patent, date, assignor and assignee as read (docs/methods.md §1.3): two records that differ
# only in names the rule sets aside (甲 → (甲;乙) and 甲 → 乙) are one transfer, counted once.
SAME_TRANSFER = "the same transfer (patent, date, assignor, assignee)"

@dataclass
class TransferBatch:
    transfers: pd.DataFrame  # transfer_id, patent_id, date, year, from_name, to_name
    names: pd.Series  # every assignor and assignee name
    addresses: pd.DataFrame  # name, address (assignee and assignor addresses when given)


def _first_names(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The first name of each record (None when empty) and every name, both indexed like ``raw``;
    the same vectorised item split as the patent applicants (``explode_items``)."""
    items = explode_items(raw)
    items.index = raw.index[items.index.to_numpy()]
    first = normalize_name_series(items.groupby(level=0, sort=False).first().reindex(raw.index))
    every = normalize_name_series(items)
    return first, every


def _first_new_names(to_every: pd.Series, from_every: pd.Series, to_first: pd.Series) -> pd.Series:
    """Each record's first assignee (normalised) that is none of its assignors, else ``to_first``.

    ``to_every`` / ``from_every``: every normalised name, indexed by record (as ``_first_names`` gives);
    a hash join of (record, name) pairs, no loop over records, over the records of several assignees only (with
    one, the first is the only choice)."""
    several = to_every.index.duplicated(keep=False)
    to_every = to_every[several]
    from_every = from_every[from_every.index.isin(to_every.index.unique())]
    both = pd.MultiIndex.from_arrays([to_every.index, to_every.to_numpy()])
    owners = pd.MultiIndex.from_arrays([from_every.index, from_every.to_numpy()])
    new = to_every[~both.isin(owners) & to_every.notna().to_numpy()]
    first_new = new.groupby(level=0, sort=False).first().reindex(to_first.index)
    return first_new.where(first_new.notna(), to_first).astype(object)


def process_transfer_records(records: pd.DataFrame, quarantine: Quarantine, today=None) -> TransferBatch:
    today_ts = pd.Timestamp(today) if today else pd.Timestamp.today().normalize()
    keep = pd.Series(True, index=records.index)

    def reject(mask: pd.Series, code: str, field: str, detail=None) -> None:
        nonlocal keep
        mask = mask & keep
        if mask.any():
            rows = np.flatnonzero(mask)  # positions: a small take instead of a full-width boolean filter
            quarantine.add(records.iloc[rows], code, field, None if detail is None else detail.iloc[rows])
            keep &= ~mask

    raw_no = records["app_number"].fillna("")
    appno = normalize_app_numbers(raw_no)
    reject_app_numbers(reject, records, appno["error"], raw_no)
    from_first, from_all = _first_names(records["assignor"])
    to_first, to_all = _first_names(records["assignee"])
    reject(from_first.isna(), "no_assignor", "assignor")
    reject(to_first.isna(), "no_assignee", "assignee")
    to_name = _first_new_names(to_all, from_all, to_first)
    raw_date = records["date"].fillna("")
    date = parse_dates(raw_date)
    reject(is_blank(raw_date), "missing_transfer_date", "date")
    reject(date.isna(), "bad_date", "date", raw_date)
    reject((date < EARLIEST) | (date > today_ts), "impossible_date", "date", raw_date)

    idx = keep[keep].index
    t = pd.DataFrame(
        {
            "patent_id": appno.loc[idx, "patent_id"],
            "date": date[idx].dt.date,
            "year": date[idx].dt.year.astype("int16"),
            "from_name": from_first[idx],
            "to_name": to_name[idx],
        }
    )
    key = t["patent_id"] + "|" + t["date"].astype(str) + "|" + t["from_name"] + "|" + t["to_name"]
    t.insert(0, "transfer_id", hashed_ids(key, "T").to_numpy(dtype=object))
    dup = t.duplicated("transfer_id", keep="first")
    if dup.any():  # each repeat names the record kept: its row and file (another transfer file, often)
        kept_at = pd.Series(t.index, index=t.index).groupby(t["transfer_id"]).transform("first")[dup]
        where = records.loc[kept_at.to_numpy()]
        detail = pd.Series((SAME_TRANSFER + " as kept row " + where["_row"].astype(str) + " of "
                            + where["_source_file"].astype(str)).to_numpy(), index=kept_at.index)
        quarantine.add(records.loc[dup[dup].index], "duplicate", "(record)", detail)
    t = t[~dup].reset_index(drop=True)
    kept = idx[~dup.to_numpy()]
    names = pd.concat([from_all[from_all.index.isin(kept)], to_all[to_all.index.isin(kept)]], ignore_index=True)
    addr_frames = []
    # the record's address is its first assignee's (first assignor's), whichever assignee is the destination
    for col, who in (("assignee_address", to_first), ("assignor_address", from_first)):
        if col in records.columns:
            a = pd.DataFrame({"name": who[kept], "address": records.loc[kept, col].fillna("").str.strip()})
            addr_frames.append(a[a["address"] != ""])
    addresses = pd.concat(addr_frames, ignore_index=True) if addr_frames else pd.DataFrame(columns=["name", "address"])
    return TransferBatch(transfers=t, names=names, addresses=addresses)
