"""``citynet query --write`` changes the store outside a load: the next ``citynet load`` no longer trusts the
digests and row hashes of the last load (it reported every table "unchanged" and the store kept the change)
and makes the store hold exactly the canonical tables again, on both stores. The expected counts and values
come from the canonical tables (pandas), never from citynet's own output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli import invoke
from tests.test_query_cli import make_ws

NOTE = "note: the store no longer holds exactly the canonical tables"


def canonical(tmp_path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_parquet(tmp_path / "canonical" / f"{n}.parquet")
            for n in ("patents", "patent_applicants", "citations")}


def expected_counts(tables) -> dict[str, int]:
    links = tables["patent_applicants"].drop_duplicates(["patent_id", "applicant_id"])
    cites = tables["citations"].dropna(subset=["cited_patent_id"]).drop_duplicates(["citing_patent_id",
                                                                                     "cited_patent_id"])
    return {"patents": len(tables["patents"]), "links": len(links), "cites": len(cites),
            "granted": int(tables["patents"]["granted"].sum())}


COUNTS = ("MATCH (p:Patent) WITH count(p) AS patents, sum(CASE WHEN p.granted THEN 1 ELSE 0 END) AS granted "
          "MATCH ()-[a:APPLIED]->() WITH patents, granted, count(a) AS links "
          "MATCH ()-[c:CITES]->() RETURN patents, links, count(c) AS cites, granted")


def store_counts(capsys, ws, *store) -> dict[str, int]:
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--format", "json", COUNTS)
    assert code == 0, err
    return json.loads(out)[0]


def table_cells(out: str, table: str) -> list[str]:
    """The cells of ``table``'s row of the load's table (new, changed; "unchanged")."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│") if c.strip()]
        if cells and cells[0] == table:
            return cells
    raise AssertionError(f"no row {table} in:\n{out}")


def check_write_then_load(capsys, tmp_path, *store) -> None:
    ws = str(tmp_path)
    tables = canonical(tmp_path)
    want = expected_counts(tables)
    code, _, err = invoke(capsys, "-q", "load", "-w", ws, *store)
    assert code == 0, err
    assert store_counts(capsys, ws, *store) == want
    pats = tables["patents"].sort_values("patent_id")
    gone = sorted(pats.loc[pats["app_year"] == 2011, "patent_id"].head(5))
    unlinked = sorted(pats.loc[pats["app_year"] == 2012, "patent_id"].head(3))
    flipped = sorted(pats.loc[pats["app_year"] == 2010, "patent_id"].head(4))

    # deletes only: the next load compares the keys again and writes back what is missing
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--write", "--param", f"ids={json.dumps(gone)}",
                            "MATCH (p:Patent) WHERE p.patent_id IN $ids DETACH DELETE p")
    assert code == 0, err
    assert err.count(NOTE) == 1 and "restores the rows the query deleted" in err and "Traceback" not in err
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--write", "--param", f"ids={json.dumps(unlinked)}",
                            "MATCH ()-[r:APPLIED]->(p:Patent) WHERE p.patent_id IN $ids DELETE r")
    assert code == 0, err
    held = store_counts(capsys, ws, *store)
    deleted_links = tables["patent_applicants"]["patent_id"].isin(gone + unlinked).sum()
    assert held["patents"] == want["patents"] - 5 and held["links"] == want["links"] - deleted_links
    code, out, err = invoke(capsys, "load", "-w", ws, *store)
    assert code == 0, err
    assert table_cells(out + err, "Patent")[2:4] == ["5", "0"]  # new, changed (it said "unchanged")
    assert table_cells(out + err, "APPLIED")[2] == str(deleted_links)
    assert store_counts(capsys, ws, *store) == want
    seq = tables["patent_applicants"].query("patent_id == @unlinked[0]").sort_values("seq")
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--format", "json", "--param", f"id={unlinked[0]}",
                            "MATCH (a:Applicant)-[r:APPLIED]->(p:Patent {patent_id: $id}) "
                            "RETURN a.applicant_id AS a, r.seq AS seq ORDER BY seq")
    assert [(r["a"], r["seq"]) for r in json.loads(out)] == list(zip(seq["applicant_id"], seq["seq"], strict=True))

    # a changed property keeps its row hash: the next load writes every row again
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--write", "--param", f"ids={json.dumps(flipped)}",
                            "MATCH (p:Patent) WHERE p.patent_id IN $ids SET p.granted = NOT p.granted")
    assert code == 0, err
    assert err.count(NOTE) == 1 and "writes every row again" in err
    flips = pats.set_index("patent_id").loc[flipped, "granted"]
    assert store_counts(capsys, ws, *store)["granted"] == want["granted"] - flips.sum() + (~flips).sum()
    code, out, err = invoke(capsys, "-q", "load", "-w", ws, *store)
    assert code == 0, err
    assert store_counts(capsys, ws, *store) == want

    # the store holds the canonical tables again: the next load trusts its digests (every table unchanged)
    code, out, err = invoke(capsys, "load", "-w", ws, *store)
    assert code == 0, err
    assert table_cells(out + err, "Patent")[3] == "unchanged" and table_cells(out + err, "APPLIED")[3] == "unchanged"

    # a query --write that only reads, and one the store refuses, record nothing
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--write", "MATCH (p:Patent) RETURN count(*) AS n")
    assert code == 0 and NOTE not in err
    code, out, err = invoke(capsys, "query", "-w", ws, *store, "--write", "MATCH (p:Patent) SET p.granted = ")
    assert code == 2 and NOTE not in err
    code, out, err = invoke(capsys, "load", "-w", ws, *store)
    assert code == 0, err
    assert table_cells(out + err, "Patent")[3] == "unchanged"


def test_query_write_then_load_restores_the_canonical_tables_embedded(tmp_path, capsys):
    make_ws(tmp_path)
    check_write_then_load(capsys, tmp_path)


def test_query_write_deleting_everything_then_load(tmp_path, capsys):
    """``MATCH (n) DETACH DELETE n`` deletes the Meta nodes too: the load loads everything again (it refused
    the store as one "built by schema version 0": the embedded store's tables were still there)."""
    make_ws(tmp_path)
    ws = str(tmp_path)
    want = expected_counts(canonical(tmp_path))
    assert invoke(capsys, "-q", "load", "-w", ws)[0] == 0
    code, out, err = invoke(capsys, "query", "-w", ws, "--write", "MATCH (n) DETACH DELETE n")
    assert code == 0 and NOTE in err
    code, out, err = invoke(capsys, "-q", "load", "-w", ws)
    assert code == 0, err
    assert store_counts(capsys, ws) == want


@pytest.mark.neo4j
def test_query_write_then_load_restores_the_canonical_tables_neo4j(tmp_path, capsys, neo4j_clean):
    make_ws(tmp_path)
    check_write_then_load(capsys, tmp_path, "--store", "neo4j", "--uri", neo4j_clean.uri,
                          "--password", neo4j_clean.password)
