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
import pyarrow.compute as pc
from citynet.etl.classify import GreenMatcher, classify_green_items, classify_y02_items, patent_kind
from citynet.etl.normalize import (
    explode_codes,
    explode_items,
    is_blank,
    lists_by_row,
    normalize_app_numbers,
    normalize_ipc_symbols,
    normalize_locarno,
    normalize_name_series,
    normalize_pub_numbers,
    parse_dates,
    to_arrow,
)
from citynet.etl.quarantine import Quarantine

EARLIEST = pd.Timestamp("1985-01-01")


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].fillna("").astype(str)
    return pd.Series("", index=frame.index, dtype="object")


def _first_per_row(items: pd.Series) -> pd.Series:
    return items.groupby(level=0, sort=False).first()


def _symbols(raw_main: pd.Series, raw_list: pd.Series) -> pd.DataFrame:
    """Main symbol first, then the list, as (pos, raw) pairs in record order."""
    main = explode_codes(raw_main)
    items = explode_codes(raw_list)
    pairs = pd.concat(
        [
            pd.DataFrame({"pos": main.index.to_numpy(), "order": np.arange(len(main)) - len(main), "raw": main.to_numpy()}),
            pd.DataFrame({"pos": items.index.to_numpy(), "order": np.arange(len(items)), "raw": items.to_numpy()}),
        ],
        ignore_index=True,
    )
    return pairs.sort_values(["pos", "order"], kind="stable").reset_index(drop=True)


@dataclass
class CandidateBatch:
    """One batch of patent records after the per-record checks, before de-duplication (``etl.stream``).

    Every frame carries ``_pos``, the record's position in the batch; ``patents`` also ``_filled``
    (how many mapped fields are non-empty, for the duplicate rule) and ``_row``."""

    patents: pd.DataFrame  # canonical patent columns + _pos, _filled
    applicant_links: pd.DataFrame  # _pos, patent_id, name, seq
    first_addresses: pd.DataFrame  # _pos, patent_id, name, address, country_province
    citation_refs: pd.DataFrame  # _pos, citing_patent_id, cited_ref
    survivors: np.ndarray  # positions (in the batch) of the records that passed every per-record check


def normalise_patent_batch(
    records: pd.DataFrame, quarantine: Quarantine, today: dt.date | None = None, matcher: GreenMatcher | None = None,
) -> CandidateBatch:
    """Validate and normalise one batch of patent records; rejected records go to ``quarantine``.

    ``records`` has the canonical input field names (see ``etl.headers.PATENT_FIELDS``) plus
    ``_source_file`` and ``_row`` (and ``raw:`` copies of the input fields for quarantine rows).
    Every check here looks at one record only, so a batch gives the same rows whatever its size;
    the duplicate rule, which needs the whole corpus, is applied afterwards (``etl.stream``).
    Multi-valued fields are handled as exploded (record, item) pairs, so nothing loops over records.
    """
    records = records.reset_index(drop=True)
    n = len(records)
    today_ts = pd.Timestamp(today or dt.date.today())
    keep = np.ones(n, dtype=bool)

    def reject(mask, code: str, field: str, detail: pd.Series | None = None) -> None:
        nonlocal keep
        mask = np.asarray(mask, dtype=bool) & keep
        if mask.any():
            rows = np.flatnonzero(mask)  # positions: a small take instead of a full-width boolean filter
            quarantine.add(records.iloc[rows], code, field, None if detail is None else detail.iloc[rows])
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
    grant_blank = is_blank(raw_grant).to_numpy(bool)
    grant_date = parse_dates(raw_grant)
    reject(~grant_blank & grant_date.isna(), "bad_date", "grant_date", raw_grant)
    reject(
        ~grant_blank & ((grant_date < app_date) | (grant_date > today_ts)).to_numpy(bool),
        "impossible_grant_date",
        "grant_date",
        raw_grant,
    )

    # applicants (normalised; order kept; a name listed twice counts once)
    names = explode_items(_col(records, "applicants"))
    names = pd.Series(normalize_name_series(names).to_numpy(), index=names.index).dropna()
    has_name = np.zeros(n, dtype=bool)
    has_name[names.index.unique()] = True
    reject(~has_name, "no_applicant", "applicants")

    # kind and classification symbols
    kind = patent_kind(_col(records, "patent_type"), appno["patent_id"].fillna(""))
    design = (kind == "design").to_numpy(bool)
    main_raw = _col(records, "ipc_main")
    all_sym = _symbols(main_raw, _col(records, "ipc"))
    sym = all_sym[~design[all_sym["pos"].to_numpy()]]
    norm = normalize_ipc_symbols(pd.Series(sym["raw"].to_numpy(), dtype=object))
    valid_sym = norm["valid"].to_numpy(bool)
    bad = sym[~valid_sym].drop_duplicates("pos")
    bad_rows = np.zeros(n, dtype=bool)
    bad_rows[bad["pos"].to_numpy()] = True
    first_bad = pd.Series("", index=records.index, dtype=object)
    first_bad[bad["pos"].to_numpy()] = bad["raw"].to_numpy()
    reject(bad_rows, "bad_ipc", "ipc", first_bad)
    has_ipc = np.zeros(n, dtype=bool)
    has_ipc[sym["pos"].to_numpy()] = True
    reject(~design & ~has_ipc, "missing_ipc", "ipc")

    # completeness of each surviving record: the duplicate rule keeps the most complete one
    pos = np.flatnonzero(keep)
    fields = [c for c in records.columns if not c.startswith(("_", "raw:"))]
    filled = sum(
        pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(to_arrow(records[c])), ""), False)
        .to_numpy(zero_copy_only=False).astype(np.int16)
        for c in fields
    )
    filled = np.asarray(filled, dtype=np.int16)[pos] if fields else np.zeros(len(pos), dtype=np.int16)
    m = len(pos)
    new_pos = np.full(n, -1, dtype=np.int64)
    new_pos[pos] = np.arange(m)

    def kept_items(items: pd.Series) -> pd.Series:
        p = new_pos[items.index.to_numpy()]
        ok = p >= 0
        return pd.Series(items.to_numpy()[ok], index=p[ok], dtype=object)

    ipc_items = kept_items(pd.Series(norm["symbol"].to_numpy(dtype=object)[valid_sym], index=sym["pos"].to_numpy()[valid_sym]))
    ipc_items = _dedupe_items(ipc_items)
    cpc_raw = explode_codes(_col(records, "cpc"))
    cpc_norm = normalize_ipc_symbols(pd.Series(cpc_raw.to_numpy(), dtype=object))
    cpc_ok = cpc_norm["valid"].to_numpy(bool)
    cpc_items = _dedupe_items(kept_items(pd.Series(cpc_norm["symbol"].to_numpy(dtype=object)[cpc_ok], index=cpc_raw.index[cpc_ok])))

    dsym = all_sym[design[all_sym["pos"].to_numpy()] & (new_pos[all_sym["pos"].to_numpy()] >= 0)]
    loc = normalize_locarno(pd.Series(dsym["raw"].to_numpy(), dtype=object))
    locarno = pd.Series(loc.to_numpy(), index=new_pos[dsym["pos"].to_numpy()]).dropna()
    locarno = locarno.groupby(level=0, sort=False).first().reindex(range(m))
    ipc_main = _first_per_row(ipc_items).reindex(range(m)).fillna(locarno)
    green = classify_green_items(ipc_items, m, matcher)
    granted = ~grant_blank[pos]
    dates = app_date.iloc[pos].reset_index(drop=True)
    gdates = grant_date.iloc[pos].reset_index(drop=True)
    needed = [c for c in ("pub_number", "title", "address", "country_province", "citations", "_source_file", "_row")
              if c in records.columns]
    kept = records[needed].iloc[pos].reset_index(drop=True)
    patent_id = pd.Series(appno["patent_id"].to_numpy()[pos], dtype=object)
    patents = pd.DataFrame(
        {
            "patent_id": patent_id,
            "app_date": dates.dt.date,
            "app_year": dates.dt.year.astype("int16"),
            "pub_number": normalize_pub_numbers(_col(kept, "pub_number")),
            "grant_date": gdates.dt.date.where(granted, None),
            "granted": granted,
            "patent_kind": kind.iloc[pos].to_numpy(),
            "ipc_main": ipc_main,
            "ipc": lists_by_row(ipc_items, m),
            "cpc": lists_by_row(cpc_items, m),
            "green": green["green"],
            "green_topics": green["green_topics"],
            "y02": classify_y02_items(cpc_items, m),
            "title": _col(kept, "title").str.strip().replace("", None),
            "source_file": kept["_source_file"].astype(str),
            "source_row": kept["_row"].astype("int64"),
            "_pos": np.arange(m, dtype=np.int64),
            "_filled": filled,
        }
    )

    # applicants of each record, in order (seq per record: the record is one patent once de-duplicated)
    name_items = _dedupe_items(kept_items(names))
    rec = name_items.index.to_numpy()
    links = pd.DataFrame({"_pos": rec, "patent_id": patent_id.to_numpy()[rec], "name": name_items.to_numpy()})
    links["seq"] = (links.groupby("_pos", sort=False).cumcount() + 1).astype("int16")
    is_first = (links["seq"] == 1).to_numpy()
    first = links.loc[is_first, ["_pos", "patent_id", "name"]].reset_index(drop=True)
    first_pos = rec[is_first]
    first["address"] = _col(kept, "address").str.strip().to_numpy()[first_pos]
    first["country_province"] = _col(kept, "country_province").str.strip().to_numpy()[first_pos]

    ref_items = explode_items(_col(kept, "citations"))
    rpos = ref_items.index.to_numpy()
    refs = pd.DataFrame(
        {"_pos": rpos, "citing_patent_id": patent_id.to_numpy()[rpos], "cited_ref": normalize_pub_numbers(ref_items).to_numpy()}
    ).drop_duplicates(["_pos", "cited_ref"]).reset_index(drop=True)
    return CandidateBatch(patents=patents, applicant_links=links, first_addresses=first, citation_refs=refs,
                          survivors=pos)


def _dedupe_items(items: pd.Series) -> pd.Series:
    """Drop repeated (position, item) pairs, keeping the first; order is kept."""
    frame = pd.DataFrame({"pos": items.index.to_numpy(), "item": items.to_numpy()})
    frame = frame.drop_duplicates()
    return pd.Series(frame["item"].to_numpy(), index=frame["pos"].to_numpy(), dtype=object)


CITED_STEM = r"[A-Z]\d?$"  # the kind code: CN104123456A and CN104123456B are one patent


def pub_stems(values: pd.Series) -> pd.Series:
    """Publication numbers without their kind code (``CN104123456A`` → ``CN104123456``; missing → "")."""
    arr = pc.replace_substring_regex(pc.fill_null(to_arrow(values), ""), CITED_STEM, "")
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=values.index, dtype=object)


def resolve_citations(refs: pd.DataFrame, patents: pd.DataFrame) -> pd.DataFrame:
    """``citations``: each reference resolved to a corpus patent by publication number (kind code
    ignored: ``CN104123456A`` and ``…B`` are the same patent) or by application number; ``foreign``
    when the reference is not Chinese (does not start with ``CN``). In memory; ``etl.stream`` does the
    same batch by batch with the corpus's publication numbers in DuckDB (``resolve_references``).
    """
    pubs = pd.DataFrame({"stem": pub_stems(patents["pub_number"]).to_numpy(), "cited": patents["patent_id"].to_numpy()})
    pubs = pubs[pubs["stem"] != ""].drop_duplicates("stem")
    ids = set(patents["patent_id"])

    def by_stem(stems: pd.Series) -> pd.Series:
        return pd.DataFrame({"stem": stems.to_numpy()}).merge(pubs, on="stem", how="left")["cited"]

    return resolve_references(refs, by_stem, lambda appno: appno.isin(ids))


def resolve_references(refs: pd.DataFrame, by_stem, in_corpus) -> pd.DataFrame:
    """The rule of :func:`resolve_citations` with its two corpus look-ups given: ``by_stem(stems)`` the
    patent of each publication-number stem (a Series in the order of ``stems``, missing where none),
    ``in_corpus(ids)`` whether each application number is a corpus patent."""
    cited = by_stem(pub_stems(refs["cited_ref"]))
    cited.index = refs.index
    # references not found by publication number may be application numbers
    rest = cited.isna() & refs["cited_ref"].str.startswith(("CN", "ZL")).fillna(False)
    if rest.any():
        appno = normalize_app_numbers(refs.loc[rest, "cited_ref"])["patent_id"]
        cited[rest] = appno.where(in_corpus(appno))
    return pd.DataFrame(
        {
            "citing_patent_id": refs["citing_patent_id"],
            "cited_ref": refs["cited_ref"],
            "cited_patent_id": cited,
            "foreign": ~refs["cited_ref"].str.startswith(("CN", "ZL")),
        }
    )
