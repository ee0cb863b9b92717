"""The ``applicants`` table: one row per normalised name, with a stable id, a kind and a location."""

from __future__ import annotations

import hashlib

import pandas as pd
from citynet.etl.classify import applicant_kind


def applicant_ids(names: pd.Series) -> pd.Series:
    """Stable id of a normalised name: ``A`` + the first 16 hex digits of its SHA-1.

    Stable across runs and machines, so re-loading a store upserts the same nodes.
    """
    uniq = pd.unique(names.dropna().to_numpy(dtype=object))  # Python strings: iterating Arrow strings cost more
    ids = {n: "A" + hashlib.sha1(n.encode("utf-8")).hexdigest()[:16] for n in uniq}
    return names.map(ids)


def build_applicants(names: pd.Series, kinds: pd.Series | None = None, ids: pd.Series | None = None) -> pd.DataFrame:
    """Distinct names with ``applicant_id`` and ``kind`` (location is added by ``etl.locate``);
    ``kinds``: the ``applicant_kind`` of each name (index: name), when already known; ``ids`` likewise
    their :func:`applicant_ids` (``harmonize_names`` computed them for the representatives)."""
    uniq = pd.Series(pd.unique(names.dropna()), dtype="object")
    frame = pd.DataFrame({"applicant_id": applicant_ids(uniq) if ids is None else uniq.map(ids), "name": uniq})
    frame["kind"] = applicant_kind(frame["name"]) if kinds is None else frame["name"].map(kinds)
    return frame.sort_values("applicant_id").reset_index(drop=True)
