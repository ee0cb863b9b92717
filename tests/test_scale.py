"""Scale work of issue 12: the embedded query path without the Neo4j driver, the O(1) skip of
unchanged canonical tables on reload, year-scoped metrics, ``ingest --append`` and the canonical
tables' identity with the frozen fixture of a synth corpus."""

from __future__ import annotations

import subprocess
import sys

from bench.canonical_synth import synth_tables, write_tables
from citynet.cli import main


def _run(*args) -> int:
    try:
        main(list(args))
        return 0
    except SystemExit as exc:
        return exc.code or 0


def _ws(tmp_path):
    write_tables(synth_tables(300, seed=5, years=(2010, 2012), n_cities=12), tmp_path / "canonical")
    (tmp_path / "citynet.toml").write_text('[network]\ngreen = "all"\nkind = "all"\n', encoding="utf-8")
    return tmp_path


def test_embedded_query_does_not_import_neo4j(tmp_path):
    ws = _ws(tmp_path)
    assert _run("-q", "load", "-w", str(ws)) == 0
    code = (
        "import sys\n"
        "from citynet.cli import main\n"
        "try:\n"
        f"    main(['query', '-w', {str(ws)!r}, 'MATCH (c:City) RETURN c.city_code AS c, c.lon AS lon LIMIT 3',"
        " '--format', 'json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('NEO4J' if any(m == 'neo4j' or m.startswith('neo4j.') for m in sys.modules) else 'CLEAN')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("CLEAN"), out
