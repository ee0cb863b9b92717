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
import pyarrow as pa
import pyarrow.compute as pc
from citynet.etl.classify import GreenMatcher, classify_green_arrow, patent_kind_arrow
from citynet.etl.normalize import (
    LIST_SEP,
    app_numbers_arrow,
    as_mask,
    blank_records,
    explode_arrow,
    explode_codes_arrow,
    first_pairs,
    fold,
    in_scientific_notation,
    ipc_symbols_arrow,
    is_blank_arrow,
    lists_from_items,
    locarno_arrow,
    normalize_app_numbers,
    normalize_names_arrow,
    parse_dates_arrow,
    per_distinct,
    pub_numbers_arrow,
    strip_arrow,
    text_arrow,
    to_arrow,
)
from citynet.etl.quarantine import Quarantine

EARLIEST = pd.Timestamp("1985-01-01")


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


def reject_app_numbers(reject, records: pd.DataFrame, error, raw) -> None:
    """The application-number checks of a batch of patent or transfer records, in order, through the caller's
    ``reject(mask, code, field, detail)``: a record with every field blank (``empty_row``), then one without a
    number, one in scientific notation (Excel's rounding, 2.01511E+11: the digits are lost, not mistyped), one
    in no CNIPA format, one whose check digit does not match. ``error``: each record's ``missing``,
    ``malformed``, ``check_digit`` or None (``app_numbers_arrow``, ``normalize_app_numbers``); ``raw``: the
    numbers as written, the detail of the rejected rows."""
    error = np.asarray(error, dtype=object)
    missing = error == "missing"
    reject(blank_records(records, missing), "empty_row", "(record)")
    reject(missing, "missing_app_number", "app_number")
    malformed = error == "malformed"
    if malformed.any():
        reject(malformed & in_scientific_notation(raw), "app_number_scientific", "app_number", raw)
    reject(malformed, "bad_app_number", "app_number", raw)
    reject(error == "check_digit", "app_number_check_digit", "app_number", raw)


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

    def reject(mask, code: str, field: str, detail: pd.Series | pa.Array | None = None) -> None:
        nonlocal keep
        mask = np.asarray(mask, dtype=bool) & keep
        if mask.any():
            rows = np.flatnonzero(mask)  # positions: a small take instead of a full-width boolean filter
            if isinstance(detail, pa.Array):  # only the rejected rows' values leave Arrow
                detail = pd.Series(detail.take(pa.array(rows, type=pa.int64())).to_numpy(zero_copy_only=False),
                                   index=records.index[rows], dtype=object)
            elif detail is not None:
                detail = detail.iloc[rows]
            quarantine.add(records.iloc[rows], code, field, detail)
            keep &= ~mask

    columns: dict[str, pa.Array] = {}

    def text(name: str) -> pa.Array:
        """A field as Arrow ("" where missing or absent), converted once per batch."""
        if name not in columns:
            columns[name] = (text_arrow(records[name]) if name in records.columns
                             else pa.nulls(n, pa.large_string()).fill_null(""))
        return columns[name]

    # application number
    appno_raw = text("app_number")
    pid, err = app_numbers_arrow(appno_raw)
    reject_app_numbers(reject, records, err, appno_raw)

    # dates (timestamp[s] in Arrow; a comparison with a null date is false, as with NaT)
    raw_app = text("app_date")
    app_date, app_blank = per_distinct(raw_app, _date_and_blank)  # a batch has a few thousand distinct dates
    reject(as_mask(app_blank), "missing_date", "app_date")
    reject(as_mask(pc.is_null(app_date)), "bad_date", "app_date", raw_app)
    earliest, latest = (pa.scalar(pd.Timestamp(d).to_pydatetime(), pa.timestamp("s")) for d in (EARLIEST, today_ts))
    reject(as_mask(pc.or_(pc.less(app_date, earliest), pc.greater(app_date, latest))), "impossible_date", "app_date", raw_app)
    raw_grant = text("grant_date")
    grant_date, grant_blank = per_distinct(raw_grant, _date_and_blank)
    grant_blank = as_mask(grant_blank)
    reject(~grant_blank & as_mask(pc.is_null(grant_date)), "bad_date", "grant_date", raw_grant)
    reject(
        ~grant_blank & as_mask(pc.or_(pc.less(grant_date, app_date), pc.greater(grant_date, latest))),
        "impossible_grant_date",
        "grant_date",
        raw_grant,
    )

    # applicants (normalised; order kept; a name listed twice counts once)
    name_rows, name_items = explode_arrow(text("applicants"), LIST_SEP)
    name_norm = per_distinct(name_items, normalize_names_arrow)  # names repeat within a batch
    ok = pc.is_valid(name_norm)
    name_rows, name_items = name_rows[ok.to_numpy(zero_copy_only=False)], name_norm.filter(ok)
    has_name = np.zeros(n, dtype=bool)
    has_name[name_rows] = True
    reject(~has_name, "no_applicant", "applicants")

    # kind and classification symbols (per record: the main symbol first, then the list)
    kind = patent_kind_arrow(text("patent_type"), pc.fill_null(pid, ""))
    design = as_mask(pc.equal(kind, "design"))
    main_rows, main_items = explode_codes_arrow(text("ipc_main"))
    list_rows, list_items = explode_codes_arrow(text("ipc"))
    order = np.concatenate([np.arange(len(main_rows)) - len(main_rows), np.arange(len(list_rows))])
    all_rows = np.concatenate([main_rows, list_rows]).astype(np.int64)
    perm = np.lexsort((order, all_rows))
    all_rows = all_rows[perm]
    all_raw = pa.concat_arrays([main_items, list_items]).take(pa.array(perm, type=pa.int64()))
    nd = np.flatnonzero(~design[all_rows])
    sym_rows, sym_raw = all_rows[nd], all_raw.take(pa.array(nd, type=pa.int64()))
    symbol, valid_sym = ipc_symbols_arrow(sym_raw)
    bad_idx = np.flatnonzero(~valid_sym)
    bad_first = bad_idx[np.unique(sym_rows[bad_idx], return_index=True)[1]] if len(bad_idx) else bad_idx
    bad_rows = np.zeros(n, dtype=bool)
    bad_rows[sym_rows[bad_first]] = True
    first_bad = np.full(n, "", dtype=object)
    first_bad[sym_rows[bad_first]] = sym_raw.take(pa.array(bad_first, type=pa.int64())).to_pylist()
    reject(bad_rows, "bad_ipc", "ipc", pd.Series(first_bad, index=records.index))
    has_ipc = np.zeros(n, dtype=bool)
    has_ipc[sym_rows] = True
    reject(~design & ~has_ipc, "missing_ipc", "ipc")

    # completeness of each surviving record: the duplicate rule keeps the most complete one
    pos = np.flatnonzero(keep)
    fields = [c for c in records.columns if not c.startswith(("_", "raw:"))]
    filled = sum(
        pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(text(c)), ""), False)
        .to_numpy(zero_copy_only=False).astype(np.int16)
        for c in fields
    )
    filled = np.asarray(filled, dtype=np.int16)[pos] if fields else np.zeros(len(pos), dtype=np.int16)
    m = len(pos)
    new_pos = np.full(n, -1, dtype=np.int64)
    new_pos[pos] = np.arange(m)
    take_pos = pa.array(pos, type=pa.int64())

    def kept(rows: np.ndarray, items: pa.Array, dedupe: bool = True) -> tuple[np.ndarray, pa.Array]:
        """(new position, item) of the items of surviving records, repeated (position, item) pairs dropped."""
        p = new_pos[rows]
        sel = np.flatnonzero(p >= 0)
        p, items = p[sel], items.take(pa.array(sel, type=pa.int64()))
        if dedupe:
            first = first_pairs(p, items)
            p, items = p[first], items.take(pa.array(first, type=pa.int64()))
        return p, items

    ok_sym = np.flatnonzero(valid_sym)
    ipc_rows, ipc_vals = kept(sym_rows[ok_sym], symbol.take(pa.array(ok_sym, type=pa.int64())))
    cpc_rows, cpc_raw = explode_codes_arrow(text("cpc"))
    cpc_sym, cpc_ok = ipc_symbols_arrow(cpc_raw)
    ok_cpc = np.flatnonzero(cpc_ok)
    cpc_rows, cpc_vals = kept(cpc_rows[ok_cpc], cpc_sym.take(pa.array(ok_cpc, type=pa.int64())))

    # the main symbol: the first valid IPC symbol, else (designs) the first valid Locarno class
    dsel = np.flatnonzero(design[all_rows] & (new_pos[all_rows] >= 0))
    loc = locarno_arrow(all_raw.take(pa.array(dsel, type=pa.int64())))
    loc_ok = np.flatnonzero(pc.is_valid(loc).to_numpy(zero_copy_only=False))
    loc_rows = new_pos[all_rows[dsel[loc_ok]]]
    take = np.full(m, -1, dtype=np.int64)
    if len(loc_ok):
        u, first = np.unique(loc_rows, return_index=True)
        take[u] = len(ipc_vals) + loc_ok[first]
    if len(ipc_rows):
        u, first = np.unique(ipc_rows, return_index=True)
        take[u] = first
    main_pool = pa.concat_arrays([pc.cast(ipc_vals, pa.large_string()), pc.cast(loc, pa.large_string())])
    ipc_main = main_pool.take(pa.array(take, mask=take < 0, type=pa.int64()))
    green, green_topics = classify_green_arrow(ipc_rows, ipc_vals, m, matcher)
    y02 = np.zeros(m, dtype=bool)
    if len(cpc_rows):
        y02[cpc_rows[pc.match_substring_regex(cpc_vals, "^(?:Y02|Y04S)").to_numpy(zero_copy_only=False)]] = True
    granted = ~grant_blank[pos]
    dates = pc.cast(app_date.take(take_pos), pa.date32())
    gdates = pc.if_else(pa.array(granted), pc.cast(grant_date.take(take_pos), pa.date32()), pa.scalar(None, pa.date32()))
    kept_records = records[["_source_file", "_row"]].iloc[pos].reset_index(drop=True)

    def stripped(name: str) -> pa.Array:
        return strip_arrow(text(name).take(take_pos))
    patent_id = pid.take(take_pos)

    def arrow_series(arr: pa.Array) -> pd.Series:
        return pd.Series(pd.arrays.ArrowExtensionArray(arr))

    title = stripped("title")
    patents = pd.DataFrame(
        {
            "patent_id": arrow_series(patent_id),
            "app_date": arrow_series(dates),
            "app_year": pc.year(dates).to_numpy(zero_copy_only=False).astype("int16"),
            "pub_number": arrow_series(pub_numbers_arrow(text("pub_number").take(take_pos))),
            "grant_date": arrow_series(gdates),
            "granted": granted,
            "patent_kind": kind.take(take_pos).to_numpy(zero_copy_only=False),
            "ipc_main": arrow_series(ipc_main),
            "ipc": arrow_series(lists_from_items(ipc_rows, ipc_vals, m)),
            "cpc": arrow_series(lists_from_items(cpc_rows, cpc_vals, m)),
            "green": green,
            "green_topics": arrow_series(green_topics),
            "y02": y02,
            "title": arrow_series(pc.if_else(pc.equal(title, ""), pa.scalar(None, title.type), title)),
            "source_file": kept_records["_source_file"].astype(str),
            "source_row": kept_records["_row"].astype("int64"),
            "_pos": np.arange(m, dtype=np.int64),
            "_filled": filled,
        }
    )

    # applicants of each record, in order (seq per record: the record is one patent once de-duplicated)
    rec, names = kept(name_rows, name_items)
    starts = np.flatnonzero(np.r_[True, rec[1:] != rec[:-1]]) if len(rec) else np.zeros(0, dtype=np.int64)
    seq = (np.arange(len(rec)) - np.repeat(starts, np.diff(np.r_[starts, len(rec)])) + 1).astype("int16")
    links = pd.DataFrame({"_pos": rec, "patent_id": arrow_series(patent_id.take(pa.array(rec, type=pa.int64()))),
                          "name": arrow_series(names), "seq": seq})
    is_first = seq == 1
    first_pos = rec[is_first]
    first = pd.DataFrame({"_pos": first_pos,
                          "patent_id": arrow_series(patent_id.take(pa.array(first_pos, type=pa.int64()))),
                          "name": arrow_series(names.filter(pa.array(is_first)))})
    first_take = pa.array(first_pos, type=pa.int64())
    first["address"] = arrow_series(strip_arrow(text("address").take(take_pos.take(first_take))))  # stays Arrow
    first["country_province"] = arrow_series(strip_arrow(text("country_province").take(take_pos.take(first_take))))

    ref_rows, ref_items = explode_arrow(text("citations").take(take_pos), LIST_SEP)
    cited = pub_numbers_arrow(ref_items)
    keep_ref = first_pairs(ref_rows, cited)
    ref_rows = ref_rows[keep_ref]
    refs = pd.DataFrame({"_pos": ref_rows,
                         "citing_patent_id": arrow_series(patent_id.take(pa.array(ref_rows, type=pa.int64()))),
                         "cited_ref": arrow_series(cited.take(pa.array(keep_ref, type=pa.int64())))})
    return CandidateBatch(patents=patents, applicant_links=links, first_addresses=first, citation_refs=refs,
                          survivors=pos)


def _date_and_blank(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The parsed date (``timestamp[s]``, null where not a date) and whether the field is blank, of each value."""
    folded = fold(raw)
    return parse_dates_arrow(folded, folded=True), is_blank_arrow(folded, folded=True)


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
