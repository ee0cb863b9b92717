"""`citynet demo` end to end, at a small scale: every stage writes what the summary says."""

import json
import subprocess
import sys

import pandas as pd


def test_demo_runs_every_stage(tmp_path):
    root = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "citynet", "demo", str(root), "--patents", "20000", "--seed", "5"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith(str(root))
    for stage in ("synth", "ingest", "load", "metrics", "fit", "report"):
        assert stage in proc.stderr
    report = json.loads((root / "reports" / "ingest.json").read_text(encoding="utf-8"))
    assert all(f["balanced"] for f in report["files"])
    assert (root / "store").exists() and (root / "citynet.toml").exists()
    city_year = pd.read_parquet(root / "metrics" / "city_year.parquet")
    assert city_year.groupby("year")["city_code"].nunique().eq(337).all()  # balanced, isolated cities included
    for table in ("p001_table3", "p002_table2", "p000_table1", "p004_table3", "p001_sdm_city_fe"):
        assert (root / "results" / f"{table}.md").exists(), table
    html = (root / "results" / "report.html").read_text(encoding="utf-8")
    assert html.count("<img") >= 5 and "data:image/png;base64," in html
