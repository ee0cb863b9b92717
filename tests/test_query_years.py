"""``citynet query`` with a year outside the store's years: a library query that finds no row and was given a year
parameter outside the years the store's records carry (patents filed or granted, transfers) says so in one message,
exit 2, naming them — as for a city code of no city; a year inside them with no row stays an empty answer. Both
stores; every expected row and year worked by hand from ``hand_tables`` (one transfer moved to 2020).

By hand (``tests/test_graph_store.py: hand_tables``, network filter all.all.all): patents filed 2015–2016, granted
2017 and 2018, transfers 2016, 2016, 2017 and (moved here) 2020: the store's years are 2015–2020 (2015–2018 from the
patents, widened to 2020 by the transfers). Collaboration edges of 2015: p1 links 320100, 320500 and 310000 pairwise,
p2 links 320100 and 110000, p3 links 320500 and 310000; so 南京 (320100) has three partners of weight 1 in 2015 and
none in 2016 (p4's second applicant has no city, p5 has one applicant)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bench.canonical_synth import write_tables
from tests.cli import invoke
from tests.test_graph_store import BACKENDS, hand_tables


def _ws(request, tmp_path, backend):
    tables = hand_tables()
    t = tables["transfers"]
    t.loc[t["transfer_id"] == "t4", ["date", "year"]] = [dt.date(2020, 1, 1), 2020]
    write_tables(tables, tmp_path / "canonical")
    (tmp_path / "citynet.toml").write_text('[network]\ngreen = "all"\nkind = "all"\n', encoding="utf-8")
    conn = []
    if backend == "neo4j":
        server = request.getfixturevalue("neo4j_clean")
        conn = ["--store", "neo4j", "--uri", server.uri, "--user", server.user, "--password", server.password]
    return str(tmp_path), conn


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_year_outside_the_store_s_years_is_one_message(request, tmp_path, capsys, backend):
    ws, conn = _ws(request, tmp_path, backend)
    code, out, err = invoke(capsys, "-q", "load", "-w", ws, *conn)
    assert code == 0, err

    def query(*args, fmt="json"):
        return invoke(capsys, "query", "-w", ws, *conn, "--format", fmt, *args)

    top = ["--named", "top_partners", "--param", "city=320100"]
    for fmt in ("json", "csv"):  # (embedded: json through the lean reader, csv through the store)
        code, out, err = query(*top, "--param", "year=2015", fmt=fmt)
        assert code == 0, err
        if fmt == "json":
            assert sorted((r["partner"], r["weight"]) for r in json.loads(out)) == [
                ("110000", 1), ("310000", 1), ("320500", 1)]
        # inside the store's years, no edge: an empty answer, without a word (2016: filed; 2018: granted only;
        # 2019: between the patents' last year and the last transfer's)
        for year in (2016, 2018, 2019, 2020):
            code, out, err = query(*top, "--param", f"year={year}", fmt=fmt)
            assert code == 0 and err == "", (year, err)
            assert (json.loads(out) == []) if fmt == "json" else out.splitlines() == ["partner,name_zh,province_code,weight"]
        for year in (1990, 2014, 2021, 2105):
            code, out, err = query(*top, "--param", f"year={year}", fmt=fmt)
            assert code == 2 and out == "" and err.splitlines() == [
                f"error: --param year={year} is outside the years of the store's records (2015–2020: patents filed or "
                "granted, transfers), so top_partners found no row",
                f"  fix: give year within 2015–2020, or ingest and load the records of {year} first"], (year, err)
    # bounds: a lower bound after the last year, an upper bound before the first; a range that reaches the years
    # is no mistake (transfers into 310000: t2 of 2016, from 320100)
    inflows = ["--named", "transfer_inflows", "--param", "city=310000"]
    code, out, err = query(*inflows, "--param", "year_from=2016", "--param", "year_to=2016")
    assert code == 0 and json.loads(out) == [{"province_code": "320000", "province_zh": "江苏省", "transfers": 1,
                                              "source_cities": 1}], err
    code, out, err = query(*inflows, "--param", "year_from=2017")
    assert code == 0 and json.loads(out) == [], err
    code, out, err = query(*inflows, "--param", "year_from=2021")
    assert code == 2 and err.splitlines()[0] == (
        "error: --param year_from=2021 is after the last year of the store's records (2015–2020: patents filed or "
        "granted, transfers), so transfer_inflows found no row"), err
    code, out, err = query(*inflows, "--param", "year_to=2014")
    assert code == 2 and err.splitlines()[0].startswith(
        "error: --param year_to=2014 is before the first year of the store's records (2015–2020"), err
    # a city of no city is said first, as before (the query found no row for that reason too)
    code, out, err = query("--named", "top_partners", "--param", "city=999999", "--param", "year=1990")
    assert code == 2 and "no city of the city set has the code 999999" in err, err
    # a year inside the store's span in partner_churn: rows, no message
    code, out, err = query("--named", "partner_churn", "--param", "city=320100", "--param", "year_a=2015",
                           "--param", "year_b=2016")
    assert code == 0 and sorted((r["partner"], r["status"]) for r in json.loads(out)) == [
        ("110000", "exited"), ("310000", "exited"), ("320500", "exited")], err
    assert err == ""
    # one year outside it: the rows come (every partner of 2015 "exited": 2021 has no edge), with a
    # warning that the answer is about a year of no record — it had been silent (a session-37 helper's note)
    for fmt in ("json", "csv"):
        code, out, err = query("--named", "partner_churn", "--param", "city=320100", "--param", "year_a=2015",
                               "--param", "year_b=2021", fmt=fmt)
        assert code == 0 and err.splitlines() == [
            "warning: --param year_b=2021 is outside the years of the store's records (2015–2020: patents filed or "
            "granted, transfers): partner_churn's rows hold nothing of 2021"], (fmt, err)
        assert len(out.strip().splitlines()) > 1
    # a bound reaching past the records is no mistake: no warning (transfer_inflows from 1980: t2 of 2016)
    code, out, err = query(*inflows, "--param", "year_from=1980")
    assert code == 0 and err == "" and json.loads(out)[0]["transfers"] == 1, err
    # partner_churn's year_a is "the earlier year": given after year_b, new and exited would swap
    code, out, err = query("--named", "partner_churn", "--param", "city=320100", "--param", "year_a=2016",
                           "--param", "year_b=2015")
    assert code == 2 and out == "" and err.splitlines() == [
        "error: --param year_a=2016 is after --param year_b=2015: partner_churn takes year_a as the earlier year "
        "(its statuses would be the wrong way round)", "  fix: --param year_a=2015 --param year_b=2016"], err
    # bounds the wrong way round select no year: one message before the query runs
    code, out, err = query(*inflows, "--param", "year_from=2017", "--param", "year_to=2016")
    assert code == 2 and out == "" and err.splitlines() == [
        "error: --param year_from=2017 is after --param year_to=2016: no year lies between them",
        "  fix: give year_from ≤ year_to (--param year_from=2016 --param year_to=2017)"], err


def test_years_error_reads_the_transfers_only_when_needed_and_skips_nulls():
    """The reader's rows by hand: patents filed 2010–2012 and never granted (nulls), transfers 2011–2014."""
    from citynet.commands.query import years_error

    rows = {"patent_ends": (2010, 2012, None, None), "transfer_ends": (2011, 2014)}
    asked = []

    def read(block):
        asked.append(block)
        return rows[block]

    assert years_error([("year", 2011)], read, "q") is None and asked == ["patent_ends"]
    assert years_error([("year", 2014)], read, "q") is None and asked[1:] == ["patent_ends", "transfer_ends"]
    err = years_error([("year_a", 2011), ("year_b", 2015)], read, "q")
    assert err.message == ("--param year_b=2015 is outside the years of the store's records (2010–2014: patents "
                           "filed or granted, transfers), so q found no row")
    assert years_error([("year_from", 0), ("year_to", 9999)], read, "q") is None  # the defaults: every year
    assert years_error([("year", 1990)], lambda block: None, "q") is None  # a store without years: nothing to say
    assert years_error([("year", 1990)], lambda block: (None, None, None, None)[:2 if "transfer" in block else 4],
                       "q") is None


def test_years_warning_is_for_years_not_bounds():
    """Same rows by hand (patents 2010–2012, transfers 2011–2014): a year outside warns, a bound never does."""
    from citynet.commands.query import years_warning

    rows = {"patent_ends": (2010, 2012, None, None), "transfer_ends": (2011, 2014)}
    assert years_warning([("year_a", 2011), ("year_b", 2013)], rows.get, "q") is None
    assert years_warning([("year_a", 1990), ("year_b", 2013)], rows.get, "q") == (
        "--param year_a=1990 is outside the years of the store's records (2010–2014: patents filed or granted, "
        "transfers): q's rows hold nothing of 1990")
    assert years_warning([("year_from", 1980), ("year_to", 2100)], rows.get, "q") is None
