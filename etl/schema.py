"""Canonical tables: names, column order and Arrow types.

These schemas are the contract between the ETL layer and every layer to its right.
Extra columns may follow the listed ones; the listed ones never change meaning.
"""

from __future__ import annotations

import pyarrow as pa

STR = pa.string()
LIST_STR = pa.list_(pa.string())

CANONICAL: dict[str, pa.Schema] = {
    "cities": pa.schema(
        [
            ("city_code", STR),
            ("name_zh", STR),
            ("short_name", STR),
            ("province_code", STR),
            ("province_zh", STR),
            ("lon", pa.float64()),
            ("lat", pa.float64()),
            ("tier", STR),
            ("region", STR),
        ]
    ),
    "applicants": pa.schema(
        [
            ("applicant_id", STR),
            ("name", STR),
            ("kind", STR),  # firm, university, institute, individual, government, other
            ("country", STR),  # ISO-like code, "CN" for Chinese applicants
            ("city_code", STR),  # null when not located to a city of the city set
            ("province_code", STR),  # null when unknown
            ("located_by", STR),  # address, corpus, name, province_only, foreign, unresolved
        ]
    ),
    "patents": pa.schema(
        [
            ("patent_id", STR),
            ("app_date", pa.date32()),
            ("app_year", pa.int16()),
            ("pub_number", STR),
            ("grant_date", pa.date32()),
            ("granted", pa.bool_()),
            ("patent_kind", STR),  # invention, utility, design
            ("ipc_main", STR),
            ("ipc", LIST_STR),
            ("cpc", LIST_STR),
            ("green", pa.bool_()),
            ("green_topics", LIST_STR),
            ("y02", pa.bool_()),
            ("title", STR),
            ("source_file", STR),
            ("source_row", pa.int64()),
        ]
    ),
    "patent_applicants": pa.schema(
        [("patent_id", STR), ("applicant_id", STR), ("seq", pa.int16()), ("city_code", STR)]
    ),
    "transfers": pa.schema(
        [
            ("transfer_id", STR),
            ("patent_id", STR),
            ("date", pa.date32()),
            ("year", pa.int16()),
            ("from_applicant_id", STR),
            ("to_applicant_id", STR),
            ("from_city", STR),
            ("to_city", STR),
        ]
    ),
    "citations": pa.schema(
        [("citing_patent_id", STR), ("cited_ref", STR), ("cited_patent_id", STR), ("foreign", pa.bool_())]
    ),
}

APPLICANT_KINDS = ("firm", "university", "institute", "individual", "government", "other")
LOCATED_BY = ("address", "corpus", "name", "province_only", "foreign", "unresolved")
PATENT_KINDS = ("invention", "utility", "design")
