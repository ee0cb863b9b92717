"""Header layouts: vendor column names (CNIPA, incoPat, Patsnap, …) → the canonical input fields.

Headers are compared after NFKC normalisation with spaces removed, so ``公开（公告）号`` and
``公开(公告)号`` are the same header. A layout none of the aliases covers is mapped in
``citynet.toml``::

    [columns]            # canonical field = "the header in your file"
    app_number = "Application No."
    applicants = "Assignee"
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from citynet.etl.fields import (  # noqa: F401 - the field tables (a module without heavy imports), re-exported
    PATENT_FIELDS,
    PATENT_ONE_OF,
    PATENT_REQUIRED,
    TRANSFER_FIELDS,
    TRANSFER_REQUIRED,
)
from citynet.etl.readers import sheet_note, summarise

from citynet.errors import DataError

# --- export dialects ------------------------------------------------------------------------------
# The column headers each vendor's export prints, in the vendor's order, written from the vendor's
# field list (help pages of the export dialogs; sources in docs/ingest.md, "Export dialects").
# ``detect_dialect`` names the dialect whose headers a file shares most; the aliases below map them.
DIALECT_HEADERS: dict[str, tuple[str, ...]] = {
    "cnipa": (  # CNIPA 专利检索及分析系统 (pss-system), 导出 → 著录项目
        "申请号", "申请日", "公开（公告）号", "公开（公告）日", "发明名称", "IPC分类号", "申请（专利权）人",
        "发明人", "优先权号", "优先权日", "申请人地址", "申请人邮编", "CPC分类号", "申请人所在国（省）",
    ),
    "incopat": (  # incoPat 导出字段
        "序号", "标题", "公开（公告）号", "公开（公告）日", "申请号", "申请日", "申请人", "标准化申请人",
        "当前申请(专利权)人", "申请人地址", "申请人国别代码", "中国申请人地市", "中国申请人区县", "申请人省市代码",
        "发明人", "IPC", "IPC主分类", "CPC", "专利类型", "当前法律状态", "授权日", "引证专利", "被引证专利",
        "申请人类型", "同族专利",
    ),
    "patsnap_zh": (  # 智慧芽 Patsnap, 中文界面导出
        "序号", "公开(公告)号", "公开(公告)日", "申请号", "申请日", "标题", "申请(专利权)人",
        "当前申请(专利权)人", "申请(专利权)人地址", "发明人", "IPC分类号", "IPC主分类号", "CPC分类号", "专利类型",
        "简单法律状态", "法律状态/事件", "授权日", "引用专利", "被引用专利",
    ),
    "patsnap_en": (  # Patsnap, English interface export
        "No.", "Publication Number", "Publication Date", "Application Number", "Application Date", "Title",
        "Original Assignee", "Current Assignee", "Original Assignee Address", "Inventor", "IPC", "IPC Main",
        "CPC", "Patent Type", "Simple Legal Status", "Legal Status/Event", "Grant Date", "Cited Patents",
        "Citing Patents",
    ),
    "wanfang": (  # 万方 中外专利数据库, 导出 → 自定义格式
        "专利名称", "申请/专利号", "申请日期", "公开/公告号", "公开/公告日", "申请/专利权人", "发明/设计人",
        "主申请人地址", "国别省市代码", "主分类号", "分类号", "专利类型", "主权项", "摘要", "代理机构", "代理人",
        "法律状态",
    ),
    "cnki": (  # 中国知网 专利库, 导出 → 自定义 (English key, hyphen, Chinese label)
        "SrcDatabase-来源库", "Title-题名", "Author-发明人", "Organ-申请人", "Address-地址", "ApplyNum-申请号",
        "ApplyDate-申请日", "PubNo-公开号", "PubTime-公开日", "MainClass-主分类号", "ClassNum-分类号",
        "ProvinceCode-国省代码", "Agency-代理机构", "Agent-代理人", "Summary-摘要", "PageCount-页数",
    ),
    "soopat": (  # SooPAT 导出
        "申请号", "申请日", "名称", "公开(公告)号", "公开(公告)日", "主分类号", "分类号", "申请(专利权)人",
        "发明(设计)人", "地址", "国省代码", "摘要", "专利代理机构", "代理人", "专利类型",
    ),
    "google_patents": (  # patents.google.com, Download (CSV); the first line is "search URL:,<url>"
        "id", "title", "assignee", "inventor/author", "priority date", "filing/creation date",
        "publication date", "grant date", "result link", "representative figure link",
    ),
    "lens": (  # lens.org, Export → CSV
        "#", "Jurisdiction", "Kind", "Display Key", "Lens ID", "Publication Date", "Publication Year",
        "Application Number", "Application Date", "Priority Numbers", "Earliest Priority Date", "Title",
        "Abstract", "Applicants", "Inventors", "Owners", "URL", "Document Type", "Has Full Text",
        "Cited by Patent Count", "Simple Family Size", "Extended Family Size", "Sequence Count",
        "CPC Classifications", "IPCR Classifications", "US Classifications", "NPL Citation Count",
        "NPL Resolved Citation Count", "NPL Resolved Lens ID(s)", "NPL Resolved External ID(s)", "NPL Citations",
        "Legal Status",
    ),
}  # fmt: skip
DIALECT_LABELS = {
    "cnipa": "CNIPA patent search system", "incopat": "incoPat", "patsnap_zh": "Patsnap (Chinese headers)",
    "patsnap_en": "Patsnap (English headers)", "wanfang": "Wanfang", "cnki": "CNKI", "soopat": "SooPAT",
    "google_patents": "Google Patents CSV", "lens": "Lens.org CSV", "generic": "generic (known aliases)",
    "mapped": "mapped in citynet.toml [columns]",
}  # fmt: skip


_CNKI_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*-(?=[^\x00-\x7f])")


def header_key(name: str) -> str:
    """Comparison form of a header: NFKC, no spaces, lower case, CNKI's English key dropped.

    ``公开（公告）号`` → ``公开(公告)号``; ``Title-题名`` → ``题名``; ``Application Number`` → ``applicationnumber``.
    """
    s = _CNKI_KEY.sub("", unicodedata.normalize("NFKC", str(name)).strip())
    return "".join(s.split()).lower()


def detect_dialect(headers: list[str]) -> str:
    """The export dialect a header row belongs to: the one of ``DIALECT_HEADERS`` sharing most headers.

    Needs at least three shared headers and more than half of the file's headers; otherwise
    ``generic``. Ties go to the first dialect in ``DIALECT_HEADERS`` order (CNIPA first). A Google
    Patents CSV is recognised by its first line (``search URL:``) too.
    """
    keys = {header_key(h) for h in headers if h != "_row"}
    if any(k.startswith("searchurl") for k in keys):
        return "google_patents"
    best, best_n = "generic", 2
    for name, cols in DIALECT_HEADERS.items():
        n = len(keys & {header_key(c) for c in cols})
        if n > best_n and n * 2 > len(keys):
            best, best_n = name, n
    return best


def unusable_dialect(headers: list[str], source: str = "") -> None:
    """Stop with one clear message for a recognised export that cannot give patents (Google Patents CSV)."""
    if detect_dialect(headers) == "google_patents":
        raise DataError(
            f"{source}: a Google Patents CSV (recognised) has no application number, applicant address or "
            "IPC symbols; citynet needs all three",
            fix="export the same search from CNIPA, incoPat, Patsnap or Lens.org (CSV with Application Number "
            "and IPCR Classifications), or map your own columns in citynet.toml [columns]",
        )


def header_row_below(rows: list[list[str]], fields: dict[str, tuple[str, ...]], required: tuple[str, ...],
                     one_of: tuple[tuple[str, ...], ...] = (), mapping: dict[str, str] | None = None) -> int | None:
    """The spreadsheet row (2, 3, …) of the first of ``rows`` after the first that names every required
    field (by the user's mapping or the aliases, as :func:`resolve_columns`): the header of an export that a
    database wrote below a title or a search query. None when no row does.

    >>> header_row_below([["incoPat 导出"], ["检索式: AP=(南京)"], [], ["申请号", "申请日", "申请人", "分类号"],
    ...                   ["CN1", "2015", "甲", "H01M"]], PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF)
    4
    """
    def names_every_field(names: list[str]) -> bool:
        if len(names) < len(required):
            return False
        try:
            resolve_columns(names, fields, required, one_of, mapping)
        except DataError:
            return False
        return True

    return first_row_naming(rows, names_every_field, start=2)


def first_row_naming(rows: list[list[str]], names_ok: Callable[[list[str]], bool], start: int = 1) -> int | None:
    """The spreadsheet row (``start``, ``start`` + 1, …) of the first of ``rows`` whose non-empty cells pass
    ``names_ok``: a header below a title (patents, transfers: :func:`header_row_below`; covariates:
    ``etl.covariates.header_row``). None when no row does."""
    for k, cells in enumerate(rows[start - 1:], start=start):
        if names_ok([str(c) for c in cells if str(c).strip()]):
            return k
    return None


def _other_kind_note(by_key: dict[str, str], config_section: str) -> str:
    """The file has every required header of another kind of input (a transfer file given as a patent export, or
    the reverse; a covariate table's city and year columns given as either): a sentence saying how to pass it;
    else ""."""
    def has(fields: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> bool:
        return all(any(header_key(a) in by_key for a in fields[f]) for f in required)

    if config_section == "columns" and has(TRANSFER_FIELDS, TRANSFER_REQUIRED):
        return "\n  its headers are those of a patent-right transfer file: pass it with --transfers FILE"
    if config_section == "transfer_columns" and has(PATENT_FIELDS, PATENT_REQUIRED):
        return "\n  its headers are those of a patent export: pass it as FILE, not with --transfers"
    from citynet.etl.covariates import CODE_HEADERS, NAME_HEADERS, YEAR_HEADERS  # (it imports this module)

    def named(aliases: tuple[str, ...]) -> bool:
        return any(header_key(a) in by_key for a in aliases)

    cities = tuple(a for a in NAME_HEADERS if a not in ("名称", "name"))  # (a patent export's title is 名称)
    if named(YEAR_HEADERS) and (named(CODE_HEADERS) or named(cities)):  # a city column and a year column
        return "\n  its headers are those of a city-year covariate table: pass it with --covariates FILE"
    return ""


def resolve_columns(
    headers: list[str],
    fields: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    one_of: tuple[tuple[str, ...], ...] = (),
    mapping: dict[str, str] | None = None,
    source: str = "",
    config_section: str = "columns",
) -> dict[str, str]:
    """Map canonical field → header of this file, from the user's mapping first, then the aliases.

    Stops with a message listing the headers found, the fields missing and how to map them.
    """
    by_key: dict[str, str] = {}
    for h in headers:
        by_key.setdefault(header_key(h), h)
    found: dict[str, str] = {}
    for fld, header in (mapping or {}).items():
        if fld not in fields:
            raise DataError(
                f"citynet.toml [{config_section}]: unknown field {fld!r}",
                fix=f"use one of: {', '.join(fields)}",
            )
        if header_key(header) not in by_key:
            raise DataError(
                f"{source}: citynet.toml [{config_section}] maps {fld} to {header!r}, which is not a header of this file",
                fix=f"headers found: {summarise(headers)}",
            )
        found[fld] = by_key[header_key(header)]
    for fld, aliases in fields.items():
        if fld in found:
            continue
        for alias in aliases:
            if header_key(alias) in by_key and by_key[header_key(alias)] not in found.values():
                found[fld] = by_key[header_key(alias)]
                break
    missing = [f for f in required if f not in found]
    missing += ["/".join(group) for group in one_of if not any(f in found for f in group)]
    if missing:
        example = "\n".join(f'    {f.split("/")[0]} = "<your header>"' for f in missing)
        raise DataError(
            f"{source}: unrecognised header layout.\n  headers found: {summarise([h for h in headers if h != '_row'])}\n"
            f"  fields missing: {', '.join(missing)} (known names: "
            + "; ".join(f"{f.split('/')[0]}: {'/'.join(fields[f.split('/')[0]][:4])}" for f in missing)
            + ")" + sheet_note(source) + _other_kind_note(by_key, config_section),
            fix=f"map them in citynet.toml:\n  [{config_section}]\n{example}",
        )
    return found
