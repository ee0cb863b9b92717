"""Patent records → ``patents``, the applicant list of each patent, and raw citation references.

All steps are vectorised over the records (pandas with Arrow strings); per-value Python work runs
only over distinct values (names, IPC symbols). Checks run in a fixed order and a rejected record
is quarantined once, with the first reason that applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.classify import GreenMatcher, classify_green, classify_y02, patent_kind
from etl.normalize import (
    LOCARNO_RE,
    is_blank,
    normalize_app_numbers,
    normalize_ipc_symbols,
    normalize_name_series,
    parse_dates,
    split_list,
)
from etl.quarantine import Quarantine

EARLIEST = pd.Timestamp("1985-01-01")


@dataclass
class PatentBatch:
    patents: pd.DataFrame
    applicant_links: pd.DataFrame  # patent_id, name, seq
    first_addresses: pd.DataFrame  # patent_id, name, address, country_province
    citation_refs: pd.DataFrame  # citing_patent_id, cited_ref


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].fillna("").astype(str)
    return pd.Series("", index=frame.index, dtype="object")


def normalize_pub_numbers(raw: pd.Series) -> pd.Series:
    """``cn 104123456 a`` → ``CN104123456A``: NFKC, upper case, no spaces."""
    import unicodedata

    uniq = {u: "".join(unicodedata.normalize("NFKC", u).upper().split()) for u in pd.unique(raw.dropna())}
    return raw.map(uniq)


def process_patent_records(
    records: pd.DataFrame, quarantine: Quarantine, today: dt.date | None = None, matcher: GreenMatcher | None = None
) -> PatentBatch:
    """Validate, normalise, de-duplicate and classify patent records.

    ``records`` has the canonical input field names (see ``etl.headers.PATENT_FIELDS``) plus
    ``_source_file`` and ``_row``.
    """
    today_ts = pd.Timestamp(today or dt.date.today())
    keep = pd.Series(True, index=records.index)

    def reject(mask: pd.Series, code: str, field: str, detail: pd.Series | None = None) -> None:
        nonlocal keep
        mask = mask & keep
        if mask.any():
            quarantine.add(records[mask], code, field, None if detail is None else detail[mask])
            keep &= ~mask

    # application number
    appno = normalize_app_numbers(_col(records, "app_number"))
    err = appno["error"]
    reject(err == "missing", "missing_app_number", "app_number")
    reject(err == "malformed", "bad_app_number", "app_number", _col(records, "app_number"))
    reject(err == "check_digit", "app_number_check_digit", "app_number", _col(records, "app_number"))

    # dates
    raw_app = _col(records, "app_date")
    app_date = parse_dates(raw_app)
    reject(is_blank(raw_app), "missing_date", "app_date")
    reject(app_date.isna(), "bad_date", "app_date", raw_app)
    reject((app_date < EARLIEST) | (app_date > today_ts), "impossible_date", "app_date", raw_app)
    raw_grant = _col(records, "grant_date")
    grant_blank = is_blank(raw_grant)
    grant_date = parse_dates(raw_grant)
    reject(~grant_blank & grant_date.isna(), "bad_date", "grant_date", raw_grant)
    reject(
        ~grant_blank & ((grant_date < app_date) | (grant_date > today_ts)),
        "impossible_grant_date",
        "grant_date",
        raw_grant,
    )

    # applicants
    names = split_list(_col(records, "applicants"))
    reject(names.map(len) == 0, "no_applicant", "applicants")

    # kind and classification symbols
    kind = patent_kind(_col(records, "patent_type"), appno["patent_id"].fillna(""))
    main_raw = _col(records, "ipc_main").str.strip()
    ipc_raw = split_list(_col(records, "ipc"))
    design = kind == "design"
    combined = pd.Series(
        [([m] if m else []) + [x for x in rest if x != m] for m, rest in zip(main_raw, ipc_raw, strict=True)],
        index=records.index,
    )
    flat = combined[~design].explode().dropna()
    norm = normalize_ipc_symbols(flat)
    bad_symbol = flat[~norm["valid"].to_numpy()]
    bad_rows = pd.Series(False, index=records.index)
    bad_rows[bad_symbol.index.unique()] = True
    first_bad = bad_symbol.groupby(level=0).first().reindex(records.index)
    reject(bad_rows, "bad_ipc", "ipc", first_bad.fillna(""))
    reject(~design & (combined.map(len) == 0), "missing_ipc", "ipc")

    valid = records[keep].copy()
    valid["patent_id"] = appno.loc[keep, "patent_id"]
    # de-duplicate: keep the most complete record of each application number, ties by file order
    fields = [c for c in valid.columns if not c.startswith(("_", "raw:")) and c != "patent_id"]
    filled = sum((valid[c].fillna("").astype(str).str.strip() != "").astype("int8") for c in fields)
    valid["_filled"] = filled
    valid["_order"] = np.arange(len(valid))
    valid = valid.sort_values(["patent_id", "_filled", "_order"], ascending=[True, False, True], kind="stable")
    dup = valid.duplicated("patent_id", keep="first")
    if dup.any():
        kept_row = valid.loc[~dup].set_index("patent_id")["_row"]
        dups = valid[dup]
        quarantine.add(
            dups.drop(columns=["patent_id", "_filled", "_order"]),
            "duplicate",
            "app_number",
            "kept row " + dups["patent_id"].map(kept_row).astype(str) + " of " + dups["_source_file"].astype(str),
        )
    valid = valid[~dup].sort_values("_order", kind="stable").drop(columns=["_filled", "_order"])
    idx = valid.index

    ipc_norm = norm["symbol"].where(norm["valid"]).groupby(level=0).agg(lambda xs: list(dict.fromkeys(xs)))
    ipc_lists = ipc_norm.reindex(idx).map(lambda v: v if isinstance(v, list) else [])
    locarno = main_raw[idx].where(design[idx] & main_raw[idx].str.fullmatch(LOCARNO_RE).fillna(False))
    ipc_main = ipc_lists.map(lambda v: v[0] if v else None).fillna(locarno)

    cpc_flat = split_list(_col(valid, "cpc")).explode().dropna()
    cpc_norm = normalize_ipc_symbols(cpc_flat)
    cpc_lists = (
        cpc_norm["symbol"].dropna().groupby(level=0).agg(lambda xs: list(dict.fromkeys(xs))).reindex(idx)
    ).map(lambda v: v if isinstance(v, list) else [])
    green = classify_green(ipc_lists, matcher)
    granted = ~grant_blank[idx]
    patents = pd.DataFrame(
        {
            "patent_id": valid["patent_id"],
            "app_date": app_date[idx].dt.date,
            "app_year": app_date[idx].dt.year.astype("int16"),
            "pub_number": normalize_pub_numbers(_col(valid, "pub_number")).replace("", None),
            "grant_date": grant_date[idx].where(granted).dt.date,
            "granted": granted,
            "patent_kind": kind[idx],
            "ipc_main": ipc_main,
            "ipc": ipc_lists,
            "cpc": cpc_lists,
            "green": green["green"],
            "green_topics": green["green_topics"],
            "y02": classify_y02(cpc_lists),
            "title": _col(valid, "title").str.strip().replace("", None),
            "source_file": valid["_source_file"].astype(str),
            "source_row": valid["_row"].astype("int64"),
        }
    ).reset_index(drop=True)
    patents["grant_date"] = patents["grant_date"].where(patents["granted"], None)

    # applicants of each patent, in order
    links = pd.DataFrame({"patent_id": valid["patent_id"], "raw": names[idx]}).explode("raw")
    links["name"] = normalize_name_series(links["raw"])
    links = links.dropna(subset=["name"]).drop_duplicates(["patent_id", "name"])
    links["seq"] = links.groupby("patent_id", sort=False).cumcount().astype("int16") + 1
    first = links[links["seq"] == 1][["patent_id", "name"]]
    first = first.assign(
        address=_col(valid, "address").reindex(first.index).str.strip(),
        country_province=_col(valid, "country_province").reindex(first.index).str.strip(),
    )

    refs = pd.DataFrame({"citing_patent_id": valid["patent_id"], "ref": split_list(_col(valid, "citations"))})
    refs = refs.explode("ref").dropna(subset=["ref"])
    refs["cited_ref"] = normalize_pub_numbers(refs["ref"])
    refs = refs.drop(columns="ref").drop_duplicates().reset_index(drop=True)
    return PatentBatch(
        patents=patents,
        applicant_links=links[["patent_id", "name", "seq"]].reset_index(drop=True),
        first_addresses=first.reset_index(drop=True),
        citation_refs=refs,
    )


def resolve_citations(refs: pd.DataFrame, patents: pd.DataFrame) -> pd.DataFrame:
    """``citations``: each reference resolved to a corpus patent by publication number (kind code
    ignored: ``CN104123456A`` and ``…B`` are the same patent) or by application number; ``foreign``
    when the reference is not Chinese (does not start with ``CN``).
    """
    stem = patents["pub_number"].fillna("").str.replace(r"[A-Z]\d?$", "", regex=True)
    by_pub = pd.Series(patents["patent_id"].to_numpy(), index=stem).loc[lambda s: s.index != ""]
    by_pub = by_pub[~by_pub.index.duplicated()]
    ref_stem = refs["cited_ref"].str.replace(r"[A-Z]\d?$", "", regex=True)
    cited = ref_stem.map(by_pub)
    appno = normalize_app_numbers(refs["cited_ref"])["patent_id"]
    in_corpus = set(patents["patent_id"])
    cited = cited.fillna(appno.where(appno.isin(in_corpus)))
    return pd.DataFrame(
        {
            "citing_patent_id": refs["citing_patent_id"],
            "cited_ref": refs["cited_ref"],
            "cited_patent_id": cited,
            "foreign": ~refs["cited_ref"].str.startswith(("CN", "ZL")),
        }
    )
