"""Header layouts: vendor column names (CNIPA, incoPat, Patsnap, …) → the canonical input fields.

Headers are compared after NFKC normalisation with spaces removed, so ``公开（公告）号`` and
``公开(公告)号`` are the same header. A layout none of the aliases covers is mapped in
``citynet.toml``::

    [columns]            # canonical field = "the header in your file"
    app_number = "Application No."
    applicants = "Assignee"
"""

from __future__ import annotations

import unicodedata

from citynet.etl.readers import summarise

from citynet.errors import DataError

PATENT_FIELDS: dict[str, tuple[str, ...]] = {
    "app_number": ("申请号", "专利申请号", "申请号码", "ApplicationNumber", "Application No", "Application Number"),
    "app_date": ("申请日", "申请日期", "ApplicationDate", "Application Date"),
    "grant_date": ("授权公告日", "授权日", "授权日期", "公告日", "GrantDate"),
    "pub_number": ("公开（公告）号", "公开号", "授权公告号", "公开公告号", "公告号", "PublicationNumber"),
    "title": ("名称", "专利名称", "发明名称", "标题", "Title"),
    "applicants": ("申请人", "申请（专利权）人", "专利权人", "申请人名称", "当前权利人", "Applicants", "Assignee"),
    "address": ("申请人地址", "地址", "申请人地址信息", "第一申请人地址", "Address"),
    "ipc_main": ("主分类号", "IPC主分类", "IPC主分类号", "主IPC", "MainIPC"),
    "ipc": ("分类号", "IPC", "IPC分类号", "IPC分类", "IPCList"),
    "cpc": ("CPC分类号", "CPC", "CPC分类"),
    "country_province": ("国省代码", "申请人国省代码", "国家/省市"),
    "patent_type": ("专利类型", "专利种类", "类型", "PatentType"),
    "legal_status": ("法律状态", "当前法律状态", "LegalStatus"),
    "citations": ("引证专利", "引用专利", "引证文献", "Citations"),
    "applicant_type": ("申请人类型",),
}
PATENT_REQUIRED = ("app_number", "app_date", "applicants")
PATENT_ONE_OF = (("ipc", "ipc_main"),)

TRANSFER_FIELDS: dict[str, tuple[str, ...]] = {
    "app_number": ("申请号", "专利申请号", "ApplicationNumber"),
    "assignor": ("转让人", "变更前权利人", "原权利人", "让与人", "Assignor"),
    "assignee": ("受让人", "变更后权利人", "现权利人", "Assignee"),
    "date": ("生效日", "转让日期", "登记生效日", "变更生效日", "生效日期", "Date"),
    "assignee_address": ("受让人地址", "变更后权利人地址", "当前权利人地址"),
    "assignor_address": ("转让人地址", "变更前权利人地址"),
}
TRANSFER_REQUIRED = ("app_number", "assignor", "assignee", "date")


def header_key(name: str) -> str:
    """Comparison form of a header: NFKC, no spaces, lower case (``公开（公告）号`` → ``公开(公告)号``)."""
    return "".join(unicodedata.normalize("NFKC", str(name)).split()).lower()


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
            + ")",
            fix=f"map them in citynet.toml:\n  [{config_section}]\n{example}",
        )
    return found
