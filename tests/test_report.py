"""``citynet report`` end to end on a small synthetic workspace, opened in a real headless Chromium.

The workspace is built through the command line (synth → ingest → load → metrics → fit of a small DID spec
→ report). The report is then loaded in Debian's ``chromium`` driven over the Chrome DevTools Protocol (the
``websockets`` package): no console error or uncaught exception, every ``<img>`` decoded, the expected
sections and figures present; a full-page screenshot is kept in ``$CITYNET_TEST_ARTIFACTS/report.png`` (default: the system temporary folder's
``citynet-test-artifacts/``, outside the source tree).
Chromium comes from ``scripts/install-test-deps.sh``; without it the browser test fails (never skips).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from citynet.cli import cli

ROOT = Path(__file__).resolve().parents[1]
# the screenshot is kept outside the tree: $CITYNET_TEST_ARTIFACTS, else <tmp>/citynet-test-artifacts
ARTIFACTS = Path(os.environ.get("CITYNET_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "citynet-test-artifacts")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--mute-audio"]
SECTIONS = ["toc", "quality", "descriptive", "churn", "maps", "networks", "tables", "did", "moran"]

SPEC = """
[spec]
vcov = "cluster:city_code"
labels = { low_carbon = "DID (low-carbon pilot)", ln_gdp_per_capita = "ln GDP per capita" }

[[tables]]
name = "did_small"
title = "Baseline DID"
  [[tables.models]]
  name = "(1)"
  kind = "did"
  y = "ln_green_patents"
  [[tables.models]]
  name = "(2)"
  kind = "did"
  y = "ln_green_patents"
  controls = ["ln_gdp_per_capita"]
  [[tables.models]]
  name = "Placebo"
  kind = "placebo"
  y = "ln_green_patents"
  n = 40

[[tables]]
name = "es_small"
title = "Event study"
  [[tables.models]]
  name = "es_small"
  kind = "event_study"
  y = "ln_green_patents"
  leads = 3
  lags = 3
"""


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    pytest.fail("headless Chromium not found (looked for chromium, chromium-browser, google-chrome on PATH): "
                "run `bash scripts/install-test-deps.sh` (installs Debian's chromium)", pytrace=False)


def run(args: list[str]):
    res = CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)
    assert res.exit_code == 0, f"citynet {' '.join(args)} failed:\n{res.output}"
    return res


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    from citynet.synth import SynthConfig, synthesize

    root = tmp_path_factory.mktemp("report")
    syn, ws = root / "synth", root / "ws"
    synthesize(syn, SynthConfig(seed=7, n_patents=20_000, years=(2010, 2015)))
    raw = syn / "raw"
    run(["ingest", "-w", str(ws), str(raw / "patents.csv"), "--transfers", str(raw / "transfers.csv"),
         "--covariates", str(raw / "covariates.csv")])
    run(["load", "-w", str(ws)])
    run(["metrics", "-w", str(ws)])
    spec = root / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    run(["fit", "-w", str(ws), str(spec)])
    return ws


@pytest.fixture(scope="module")
def report(workspace) -> Path:
    run(["report", "-w", str(workspace), "--city", "北京", "--permutations", "199"])
    out = workspace / "results" / "report.html"
    assert out.exists()
    return out


class _Check(HTMLParser):
    """Collects ids, <img> sources and external references."""

    def __init__(self):
        super().__init__()
        self.ids, self.imgs, self.external, self.stack, self.errors = set(), [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        for k in ("src", "href"):
            v = a.get(k) or ""
            if v and not v.startswith(("data:", "#")):
                self.external.append(v)
        if tag == "script":
            self.external.append("<script>")
        if tag not in {"meta", "link", "img", "br", "hr", "input"}:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def test_report_html_is_self_contained(report, workspace):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    p = _Check()
    p.feed(text)
    assert not p.errors, p.errors[:5]
    assert not p.stack, p.stack
    assert not p.external, f"external resources: {p.external[:5]}"
    assert all(s.startswith("data:image/png;base64,") for s in p.imgs)
    for sid in SECTIONS:
        assert sid in p.ids, sid
    # every figure: two maps, time series, event study, placebo, two Moran scatters
    figs = {i for i in p.ids if re.match(r"(map|network-series|event-study|placebo|moran)", i)}
    assert {"map-2010-2015", "map-choropleth-2015", "network-series", "moran-2010", "moran-2015"} <= figs, figs
    assert any(f.startswith("event-study-") for f in figs) and any(f.startswith("placebo-") for f in figs), figs
    assert "not available" not in text.lower()
    assert "北京市" in text and "T<sub>n</sub>/C<sub>n−1</sub>" in text and "Moran" in text
    assert "p = 0.000" not in text and "DESIGN" not in text and "granted_only" not in text
    assert "not reproduced" not in text and "Global Moran&#x27;s I" in text
    assert "did_small" in text and "es_small" in text
    assert "quarantined" in text.lower() and "located by" in text


def test_report_cli_options_and_missing_inputs(workspace, tmp_path, capsys):
    from citynet.analysis.report import build_report, resolve_city, write_report

    from citynet.workspace import Workspace

    ws = Workspace.open(workspace)
    import pandas as pd

    cities = pd.read_parquet(ws.table("cities"))
    assert resolve_city(cities, "北京") == resolve_city(cities, "北京市") == resolve_city(cities, "110000") == "110000"
    res = build_report(ws, city="110000", years=[2011, 2014], out=tmp_path / "r.html", permutations=0)
    assert res.city == "110000" and res.years == [2011, 2014] and not res.missing
    assert write_report(ws, out=tmp_path / "w.html", permutations=0) == tmp_path / "w.html"
    r = CliRunner().invoke(cli, ["report", "-w", str(workspace), "--city", "不存在市", "--out", str(tmp_path / "x.html")])
    assert r.exit_code != 0
    # option values a user mistyped are usage errors (README: exit 2), not analysis errors (they were exit 5); a
    # report named .pdf was HTML in a .pdf file: refused before any work
    from citynet.cli import main

    html = ["--out", str(tmp_path / "y.html")]
    for args, words in ((["--city", "不存在市", *html], "not in the city set"),
                        (["--years", "1990", "2030", *html], "not in the panel"),
                        (["--out", str(tmp_path / "r.pdf")], "the report is an HTML file")):
        with pytest.raises(SystemExit) as ex:
            main(["report", "-w", str(workspace), "--permutations", "0", *args])
        err = capsys.readouterr().err
        assert ex.value.code == 2 and words in err and "Traceback" not in err, err
    assert not (tmp_path / "r.pdf").exists()
    r = CliRunner().invoke(cli, ["report", "--help"])
    assert "Examples" in r.output and "--years" in r.output
    # an empty workspace: every section says what to run, the file is still valid HTML
    empty = Workspace.open(tmp_path / "empty", create=True)
    res = build_report(empty)
    text = res.path.read_text(encoding="utf-8")
    assert text.count("Not available") >= 6 and "citynet metrics" in text and "citynet ingest" in text
    p = _Check()
    p.feed(text)
    assert not p.errors and not p.stack


# --- real browser ------------------------------------------------------------------------------------------------


class CDP:
    """A minimal Chrome DevTools Protocol client over one page target (websockets, synchronous)."""

    def __init__(self, sock):
        self.ws = sock
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, timeout: float = 60, **params) -> dict:
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def drain(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
            except TimeoutError:
                break


def _start_chromium(exe: str, profile: str):
    proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             "--window-size=1280,900", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            port = int(port_file.read_text().split()[0])
            break
        if proc.poll() is not None:
            pytest.fail(f"chromium exited with {proc.returncode}: {proc.stderr.read().decode(errors='replace')[-2000:]}",
                        pytrace=False)
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("chromium did not open its DevTools port within 60 s", pytrace=False)
    for _ in range(100):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        if pages:
            return proc, pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    proc.kill()
    pytest.fail("chromium has no page target", pytrace=False)


JS_CHECK = """(() => {
  const imgs = [...document.images].map(i => ({id: i.dataset.figure || i.alt, complete: i.complete,
      w: i.naturalWidth, h: i.naturalHeight, shownW: i.getBoundingClientRect().width}));
  const sections = [...document.querySelectorAll('section[id], nav[id]')].map(s => s.id);
  const figures = [...document.querySelectorAll('figure[id]')].map(f => f.id);
  const tables = document.querySelectorAll('table').length;
  return JSON.stringify({imgs, sections, figures, tables, title: document.title,
                         width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight});
})()"""


def _inspect(cdp: CDP, report: Path) -> tuple[list[str], dict]:
    """Load the report, collect console errors and exceptions, check the DOM, save a full-page screenshot."""
    cdp.send("Page.enable")
    cdp.send("Runtime.enable")
    cdp.send("Log.enable")
    cdp.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    cdp.send("Page.navigate", url=report.resolve().as_uri())
    cdp.wait_event("Page.loadEventFired", timeout=60)
    cdp.drain(1.0)
    res = json.loads(cdp.send("Runtime.evaluate", expression=JS_CHECK, returnByValue=True)["result"]["value"])
    # full-page screenshot
    height = min(int(res["height"]), 16000)
    cdp.send("Emulation.setDeviceMetricsOverride", width=1280, height=height, deviceScaleFactor=1, mobile=False)
    cdp.drain(0.5)
    shot = cdp.send("Page.captureScreenshot", timeout=120, format="png", captureBeyondViewport=True)
    (ARTIFACTS / "report.png").write_bytes(base64.b64decode(shot["data"]))
    errors = []
    for e in cdp.events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
        elif m == "Runtime.exceptionThrown":
            errors.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
    return errors, res


@pytest.mark.browser
def test_report_in_headless_chromium(report):
    from websockets.sync.client import connect

    exe = chromium_path()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="citynet-chromium-")
    proc, ws_url = _start_chromium(exe, profile)
    try:
        with connect(ws_url, max_size=None, open_timeout=30) as sock:
            errors, res = _inspect(CDP(sock), report)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    assert not errors, errors
    assert res["title"].startswith("citynet report")
    for sid in SECTIONS:
        assert sid in res["sections"], (sid, res["sections"])
    bad = [i for i in res["imgs"] if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert not bad, f"images not decoded: {bad}"
    ids = {i["id"] for i in res["imgs"]}
    assert {"map-2010-2015", "network-series", "moran-2010", "moran-2015"} <= ids, ids
    assert any(i.startswith("event-study-") for i in ids) and any(i.startswith("placebo-") for i in ids), ids
    assert all(i["shownW"] > 200 for i in res["imgs"]), res["imgs"]  # figures are shown at a readable size
    assert res["width"] <= 1280 + 1, "the page scrolls horizontally"
    assert res["tables"] >= 8
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def _honest(shown: str, want: float) -> bool:
    """``shown`` is ``want`` rounded to the places it prints (half a unit of its last digit, or of its third
    significant digit in scientific notation), and not 0 unless ``want`` is."""
    t = shown.replace(",", "")
    got = float(t)
    if "e" in t.lower():
        mant, exp = t.lower().split("e")
        places = len(mant.split(".")[1]) if "." in mant else 0
        tol = 0.5 * 10 ** (int(exp) - places)
    else:
        places = len(t.split(".")[1]) if "." in t else 0
        tol = 0.5 * 10 ** -places
    return abs(got - want) <= tol * (1 + 1e-9) + 1e-15 and (got != 0 or want == 0)


def _table_cells(text: str, caption: str) -> list[list[str]]:
    import html as _html

    table = text.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [_html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells:  # (the header row: <th>)
            rows.append(cells)
    return rows


def test_descriptive_table_shows_small_values(report, workspace):
    """Table 2 printed three decimals: transfer_betweenness (the demo's max 0.000231) read 0.000 as min, mean,
    SD and max. Every statistic is now printed by the regression tables' one rule (``tables.fmt_number``):
    each cell read back as a number against pandas on metrics/city_year.parquet (sample SD) is that number
    rounded to the places it shows, and never 0 for a value that is not; the demo's small values by hand."""
    import numpy as np
    import pandas as pd
    from citynet.analysis.report import fmt_stat

    cy = pd.read_parquet(workspace / "metrics" / "city_year.parquet")
    rows = {cells[0]: cells[-4:] for cells in _table_cells(report.read_text(encoding="utf-8"),
                                                           "Table 2. Descriptive statistics")}  # mean, SD, min, max
    checked = small = 0
    for var, cells in rows.items():
        if var not in cy.columns:
            continue
        v = pd.to_numeric(cy[var], errors="coerce").astype(float).dropna()
        for shown, want in zip(cells, (v.mean(), v.std(ddof=1), v.min(), v.max()), strict=True):
            assert _honest(shown, want), (var, shown, want)
            checked += 1
            small += bool(0 < abs(want) < 1e-3)
    assert checked >= 40 and small, (checked, small)  # the synthetic panel has statistics below 0.001 too
    # the demo panel's transfer_betweenness (max 0.000231, mean 4.4e-7) and collab_degree (mean 0.002578)
    assert [fmt_stat(x) for x in (0.000231, 4.4e-7, 0.0, 0.002578, 0.0123, 0.407, 209.0)] == \
        ["0.000231", "4.40e-07", "0.000", "0.003", "0.012", "0.407", "209.000"]
    assert fmt_stat(np.float64(-0.00023)) == "-0.000230" and fmt_stat(np.nan) == "–"


def test_network_year_table_prints_no_value_that_is_not_zero_as_zero(report, workspace):
    """Section 5's table printed four decimals: the collaboration network's density (a few edges over
    N(N−1)/2 = 56,616 pairs, ~1e-4 and below) read 0.0000 in years with edges. Every cell now equals
    metrics/network_year.parquet (pandas) rounded to the places it shows, and is 0 only where the panel is."""
    import pandas as pd

    ny = pd.read_parquet(workspace / "metrics" / "network_year.parquet").sort_values(["network", "year"])
    rows = _table_cells(report.read_text(encoding="utf-8"), "Network-year panel")
    assert len(rows) == len(ny)
    cols = ["nodes", "edges", "total_weight", "density", "components", "giant_share", "clustering", "mean_degree",
            "communities", "modularity"]
    tiny = 0
    for cells, (_, r) in zip(rows, ny.iterrows(), strict=True):
        assert cells[:2] == [r["network"], str(int(r["year"]))]
        for shown, c in zip(cells[2:], cols, strict=True):
            if pd.isna(r[c]):
                assert shown == "–", (c, shown)
                continue
            assert _honest(shown, float(r[c])), (r["network"], r["year"], c, shown, r[c])
            tiny += bool(0 < float(r[c]) < 5e-5)
    assert tiny, "no value below 0.00005 (the four-decimal zero) in the synthetic panel"


def test_the_report_of_another_filter_cites_the_files_its_numbers_come_from(tmp_path):
    """``citynet report --network KEY`` printed the panels of KEY but named ``metrics/city_year.parquet`` (and
    dyad_year, network_year) as their source, files that hold the default filter's panels: a reader checking a
    number there found another. Two filters with different edges (hand-made): every panel file the report
    names exists, and the network-year table's edges equal those of the named file (pandas), which differ
    from the default filter's."""
    import pandas as pd
    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.pipeline import TableStore, run_metrics

    from citynet.workspace import Workspace

    w = Workspace.open(tmp_path / "ws", create=True)
    cols = ["network", "year", "src", "dst", "weight"]
    e1 = pd.DataFrame([("collab", 2010, "110000", "120000", 2), ("collab", 2011, "110000", "310000", 1)], columns=cols)
    e2 = pd.DataFrame([("collab", 2010, "110000", "120000", 5), ("collab", 2010, "120000", "310000", 1),
                       ("collab", 2011, "440100", "440300", 3), ("collab", 2011, "110000", "440300", 1)], columns=cols)
    counts = pd.DataFrame({"city_code": ["110000", "110000"], "year": [2010, 2011], "green_patents": [3, 4]})
    run_metrics(w, NetworkFilter(green="wipo"), store=TableStore(e1, counts))  # the workspace's default filter
    other = NetworkFilter(green="all", kind="all")
    run_metrics(w, other, store=TableStore(e2, counts))
    out = tmp_path / "r.html"
    run(["report", "-w", str(w.root), "--network", other.key, "--permutations", "0", "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    named = set(re.findall(r"<code>(metrics/[^<]*\.parquet)</code>", text))
    assert named == {f"metrics/{other.key}/{n}.parquet" for n in ("city_year", "dyad_year", "network_year")}, named
    assert all((w.root / n).exists() for n in named)
    ny = pd.read_parquet(w.root / "metrics" / other.key / "network_year.parquet").sort_values(["network", "year"])
    rows = _table_cells(text, "Network-year panel")
    assert [int(r[3]) for r in rows] == ny["edges"].tolist()
    default = pd.read_parquet(w.root / "metrics" / "network_year.parquet").sort_values(["network", "year"])
    assert default["edges"].tolist() != ny["edges"].tolist()
    # the Moran table of an all-technology panel is not of "green patents" (it said so whatever the filter)
    assert "ln(1+patents), inverse-distance W" in text and "green patents" not in text


def test_churn_table_equals_the_panel_it_cites(report, workspace):
    """Table 1 (北京, --city) against metrics/city_year.parquet read with pandas: Cn, Xn, Zn, Tn as in the panel
    (– where the panel has <NA>: the first year), Xn/Cn and Zn/Cn over this year's partners, Tn over last
    year's (Sun & Yang's Tn/Cn−1), each share to three decimals and – where its denominator is 0."""
    import pandas as pd

    cy = pd.read_parquet(workspace / "metrics" / "city_year.parquet")
    bj = cy[cy["city_code"] == "110000"].sort_values("year").reset_index(drop=True)
    rows = _table_cells(report.read_text(encoding="utf-8"), "Table 1. Collaboration partners of 北京市 and their churn")
    assert [int(r[0]) for r in rows] == bj["year"].astype(int).tolist()
    prev_cn = None
    for cells, (_, r) in zip(rows, bj.iterrows(), strict=True):
        cn = int(r["collab_partners"])
        shown = dict(zip(["Cn", "Xn", "Zn", "Tn", "X/C", "Z/C", "T/C1"], cells[1:], strict=True))
        assert shown["Cn"] == str(cn)
        for k, c in (("Xn", "partners_continuing"), ("Zn", "partners_new"), ("Tn", "partners_exited")):
            assert shown[k] == ("–" if pd.isna(r[c]) else str(int(r[c]))), (r["year"], k, shown[k])
        churn = not pd.isna(r["partners_new"])
        for k, num, den in (("X/C", r["partners_continuing"], cn), ("Z/C", r["partners_new"], cn),
                            ("T/C1", r["partners_exited"], prev_cn)):
            ok = churn and den
            assert shown[k] == (f"{int(num) / den:.3f}" if ok else "–"), (r["year"], k, shown[k], num, den)
        prev_cn = cn
    assert int(bj["collab_partners"].max()) > 0 and bj["partners_exited"].fillna(0).gt(0).any()


def test_report_years_given_late_first_are_drawn_in_time_order(workspace, tmp_path):
    """--years 2014 2011 drew the network map of 2014 left of 2011's and the degree map of 2011 (the last one
    given), where --years 2011 2014 draws 2014's; map --edges sorts its years, the report now does too: the same
    years and the same maps either way."""
    from citynet.analysis.report import build_report

    from citynet.workspace import Workspace

    ws = Workspace.open(workspace)
    late = build_report(ws, city="110000", years=[2014, 2011], out=tmp_path / "late.html", permutations=0)
    early = build_report(ws, city="110000", years=[2011, 2014], out=tmp_path / "early.html", permutations=0)
    assert late.years == early.years == [2011, 2014]
    assert "collaboration network 2011, 2014 on one scale" in late.path.read_text(encoding="utf-8")
