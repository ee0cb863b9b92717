"""The canonical fields of a patent export and of a transfer export, and the headers they are known by.

Kept apart from ``etl/headers.py`` (which matches headers and imports the readers, pandas and Arrow) so that
the settings check of every command (``citynet.workspace``: ``[columns]``, ``[transfer_columns]``) reads them
without those imports.
"""

from __future__ import annotations

PATENT_FIELDS: dict[str, tuple[str, ...]] = {
    "app_number": ("申请号", "专利申请号", "申请号码", "申请/专利号", "ApplyNum", "ApplicationNumber",
                   "Application No", "Application Number"),
    "app_date": ("申请日", "申请日期", "ApplyDate", "ApplicationDate", "Application Date"),
    "grant_date": ("授权公告日", "授权日", "授权日期", "公告日", "GrantDate", "Grant Date"),
    "pub_number": ("公开（公告）号", "公开号", "授权公告号", "公开公告号", "公告号", "公开/公告号", "PublicationNumber",
                   "Publication Number", "Display Key"),
    "title": ("名称", "专利名称", "发明名称", "标题", "题名", "Title"),
    "applicants": ("申请人", "申请（专利权）人", "专利权人", "申请人名称", "申请/专利权人", "当前权利人",
                   "Applicants", "Assignee", "Original Assignee"),
    "address": ("申请人地址", "地址", "申请人地址信息", "第一申请人地址", "主申请人地址", "申请(专利权)人地址",
                "Address", "Original Assignee Address"),
    "ipc_main": ("主分类号", "IPC主分类", "IPC主分类号", "主IPC", "MainIPC", "MainClass", "IPC Main"),
    "ipc": ("分类号", "IPC", "IPC分类号", "IPC分类", "IPCList", "ClassNum", "IPCR Classifications"),
    "cpc": ("CPC分类号", "CPC", "CPC分类", "CPC Classifications"),
    "country_province": ("国省代码", "申请人国省代码", "国家/省市", "国别省市代码", "申请人所在国(省)",
                         "ProvinceCode", "申请人省市代码"),
    "patent_type": ("专利类型", "专利种类", "类型", "PatentType", "Patent Type", "Document Type"),
    "legal_status": ("法律状态", "当前法律状态", "简单法律状态", "LegalStatus", "Legal Status", "Simple Legal Status"),
    "citations": ("引证专利", "引用专利", "引证文献", "Citations", "Cited Patents"),
    "applicant_type": ("申请人类型",),
}  # fmt: skip
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
