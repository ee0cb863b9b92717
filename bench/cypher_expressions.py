"""Differential test of Cypher expressions: random expressions over literals, run on Neo4j (the reference)
and on LadybugDB through ``graph.compat.prepare`` (what ``citynet query`` sends the embedded store).

The query harness (``bench/cypher_harness.py``) draws whole queries over the schema; this one draws the
expressions inside them — functions, operators, positions and slices, ``CASE`` — over values chosen to meet
the edge cases: null, the empty text and list, negative and fractional numbers, halves, Chinese text and
white space. Each expression is ``RETURN <expr> AS v``, or, one in four, an aggregate (``count``, ``DISTINCT``,
``sum``, ``avg``, ``min``, ``max``, ``collect``) of an expression over ``UNWIND [values] AS x`` (nulls among
the values, or none). Outcomes:

- *agree*: the same value and type (an integer is not a float), or both refuse (an error on both sides,
  or citynet's refusal on the embedded store);
- *loud*: Neo4j answers and the embedded store stops with an error (the user sees it; never a different
  answer) — counted, listed with ``--loud``;
- *lenient*: Neo4j refuses the expression (a type error, ``range`` of a null, a negative ``substring``
  start) and the embedded store answers — counted, listed with ``--loud``;
- *disagree*: both answer, differently — printed, and the run exits 1.

The embedded side runs in child processes, in batches; a batch whose process dies (LadybugDB ends the
process on some inputs) is run again one expression at a time, and such an expression is a disagreement
unless citynet refused it. Run::

    python -m bench.cypher_expressions --seed 1 --count 2000 [--workdir DIR] [--loud]

It starts its own Neo4j (``citynet neo4j`` machinery) in ``DIR/neo4j``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
from pathlib import Path

# (texts of more than 12 bytes too: LadybugDB keeps shorter ones inside the value, and its trim of a long text to
# a short one returned other bytes, engine bug 26)
TEXTS = ["''", "'a'", "'abc'", "'北京市'", "' x '", "'A,b'", "'0'", "'Ab'", "'2015'", "'   individual '",
         "'\\u3000南京市 '", "'abcdefghijklmnop'"]
INTS = ["0", "1", "-1", "2", "3", "7", "-7", "2015"]
FLOATS = ["0.5", "-2.5", "2.5", "1.0", "0.1", "1.005", "-0.5"]
LISTS = ["[]", "[1, 2, 3]", "['a', 'b']", "[1]", "[0, -1, 2]"]
BOOLS = ["true", "false"]

# name: (argument kinds, result kind); kinds: t text, i integer, f number, l list, b boolean, a any
FUNCTIONS = {
    "size": (["t"], "i"), "toLower": (["t"], "t"), "toUpper": (["t"], "t"), "trim": (["t"], "t"),
    "lTrim": (["t"], "t"), "rTrim": (["t"], "t"), "left": (["t", "i"], "t"), "right": (["t", "i"], "t"),
    "substring": (["t", "i", "i"], "t"), "substring ": (["t", "i"], "t"), "replace": (["t", "t", "t"], "t"),
    "reverse": (["t"], "t"), "abs": (["f"], "f"), "sign": (["f"], "i"), "sqrt": (["f"], "f"), "log": (["f"], "f"),
    "log10": (["f"], "f"), "ceil": (["f"], "f"), "floor": (["f"], "f"), "round": (["f"], "f"),
    "coalesce": (["a", "a"], "a"), "range": (["i", "i"], "l"), "size ": (["l"], "i"),
}
COMPARE = ["=", "<>", "<", "<=", ">", ">="]


class Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng

    variable: tuple[str, str] | None = None  # (kind, name) of the UNWIND variable an aggregate reads

    def query(self, depth: int) -> str:
        """One query: ``RETURN <expr> AS v``, or (one in four) an aggregate of an expression over the values
        of an ``UNWIND`` (nulls among them, or none at all)."""
        r = self.rng
        if r.random() < 0.75:
            return f"RETURN {self.expr(r.choice('tifb'), depth)} AS v"
        kind = r.choice("tif")
        # values of one type: a written list of integers and floats is all floats on LadybugDB (docs/cypher.md)
        pool = {"t": TEXTS, "i": INTS, "f": FLOATS}[kind]
        values = ", ".join("null" if r.random() < 0.15 else r.choice(pool) for _ in range(r.randint(0, 4)))
        self.variable = (kind, "x")
        try:
            result = r.choice("tifb") if r.random() < 0.5 else kind
            inner = self.expr(result, depth - 1)
        finally:
            self.variable = None
        numeric = ["sum({})", "avg({})"] if result in "if" else []
        agg = r.choice(["count({})", "count(DISTINCT {})", "min({})", "max({})", "collect({})",
                        "size(collect(DISTINCT {}))", "size(collect({}))", *numeric])
        return f"UNWIND [{values}] AS x RETURN {agg.format(inner)} AS v"

    def leaf(self, kind: str) -> str:
        r = self.rng
        if self.variable and self.variable[0] == kind and r.random() < 0.6:
            return self.variable[1]
        if r.random() < 0.12:
            return "null"
        pools = {"t": TEXTS, "i": INTS, "f": FLOATS + INTS, "l": LISTS, "b": BOOLS,
                 "a": TEXTS + INTS + FLOATS + BOOLS}
        return r.choice(pools[kind])

    def expr(self, kind: str, depth: int) -> str:
        r = self.rng
        if depth <= 0 or r.random() < 0.3:
            return self.leaf(kind)
        choice = r.random()
        if kind == "b":
            if choice < 0.35:
                k = r.choice(["t", "i", "f"])
                return f"{self.expr(k, depth - 1)} {r.choice(COMPARE)} {self.expr(k, depth - 1)}"
            if choice < 0.55:
                op = r.choice(["STARTS WITH", "ENDS WITH", "CONTAINS"])
                return f"{self.expr('t', depth - 1)} {op} {self.expr('t', depth - 1)}"
            if choice < 0.7:
                k = r.choice(["t", "i"])
                items = ", ".join(self.leaf(k) for _ in range(r.randint(0, 3)))
                return f"{self.expr(k, depth - 1)} IN [{items}]"
            if choice < 0.8:
                return f"{self.expr(r.choice(['t', 'i', 'a']), depth - 1)} IS {r.choice(['', 'NOT '])}NULL"
            if choice < 0.9:
                return f"({self.expr('b', depth - 1)} {r.choice(['AND', 'OR', 'XOR'])} {self.expr('b', depth - 1)})"
            return f"NOT ({self.expr('b', depth - 1)})"
        if kind in ("i", "f") and choice < 0.35:
            op = r.choice(["+", "-", "*", "/", "%", "^"] if kind == "f" else ["+", "-", "*", "%"])
            return f"({self.expr(kind, depth - 1)} {op} {self.expr(kind, depth - 1)})"
        if kind == "t" and choice < 0.25:
            return f"({self.expr('t', depth - 1)} + {self.expr('t', depth - 1)})"
        if kind in ("a", "i", "t") and choice < 0.4:
            return (f"CASE WHEN {self.expr('b', depth - 1)} THEN {self.expr(kind, depth - 1)} "
                    f"ELSE {self.expr(kind, depth - 1)} END")
        if choice < 0.5 and kind in ("a", "i", "t"):
            lst = "['a', 'bc', '']" if kind == "t" else self.expr("l", depth - 1)
            if kind == "t" or r.random() < 0.5:
                return f"{lst}[{r.choice(['0', '1', '-1', '2'])}]"
            lo, hi = r.choice(["", "0", "1", "-1"]), r.choice(["", "1", "2", "-1"])
            return f"size({lst}[{lo}..{hi}])"
        names = [n for n, (_, res) in FUNCTIONS.items()
                 if res == kind or (kind == "f" and res == "i") or (kind == "a" and res != "l")]
        if not names:
            return self.leaf(kind)
        name = r.choice(names)
        args = ", ".join(self.expr(k, depth - 1) for k in FUNCTIONS[name][0])
        return f"{name.strip()}({args})"


CHILD = r"""
import json, sys
import ladybug as lb
from citynet.graph.compat import prepare, Unsupported
c = lb.Connection(lb.Database())
for q in json.loads(sys.stdin.read()):
    try:
        text, order = prepare(q, {})
    except Unsupported:
        print(json.dumps(["refused"]), flush=True)
        continue
    try:
        r = c.execute(text)
        rows = []
        while r.has_next():
            rows.append(r.get_next())
        print(json.dumps(["value", _plain(rows[0][0]) if rows else None]), flush=True)
    except Exception as exc:
        print(json.dumps(["error", str(exc).split(chr(10))[0][:120]]), flush=True)
"""

PLAIN = r"""
import decimal, math
def _plain(v):
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v
"""


def _typed(v):
    """A value with its type kept for comparison (1 and 1.0 differ; NaN equals NaN)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, float):
        return ("float", "NaN" if math.isnan(v) else v)
    if isinstance(v, list):
        return ("list", tuple(_typed(x) for x in v))
    if v == "NaN":
        return ("float", "NaN")
    return (type(v).__name__, v)


def run_embedded(queries: list[str]) -> list[list]:
    """Each query's ``["value", v]``, ``["error", text]``, ``["refused"]`` or ``["crash", returncode]``."""
    proc = subprocess.run([sys.executable, "-c", PLAIN + CHILD], input=json.dumps(queries), capture_output=True,
                          text=True)
    out = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode == 0:
        return out
    done = out  # the ones before the crash; then the crashed one alone, and on
    crashed = len(done)
    return done + [["crash", proc.returncode]] + (run_embedded(queries[crashed + 1:]) if crashed + 1 < len(queries)
                                                  else [])


def run_neo4j(driver, queries: list[str]) -> list[list]:
    out = []
    for q in queries:
        try:
            records = driver.execute_query(q).records
            out.append(["value", records[0]["v"] if records else None])
        except Exception as exc:  # noqa: BLE001 - any server error is an outcome
            out.append(["error", str(exc).split("\n")[0][:120]])
    return out


def compare(neo, emb) -> str:
    if emb[0] == "refused" or (neo[0] == "error" and emb[0] == "error"):
        return "agree"
    if emb[0] == "crash":
        return "disagree"
    if neo[0] == "error":
        return "lenient"  # the embedded store answers what Neo4j refuses
    if emb[0] == "error":
        return "loud"
    return "agree" if _typed(neo[1]) == _typed(emb[1]) else "disagree"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--loud", action="store_true",
                    help="also list the loud (embedded error) and lenient (Neo4j error) outcomes")
    args = ap.parse_args(argv)
    from citynet.neo4j_server import Neo4jServer

    gen = Gen(random.Random(args.seed))
    queries = [gen.query(args.depth) for _ in range(args.count)]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="citynet-expr-"))
    server = Neo4jServer(work / "neo4j", password="citynet-expressions", stop_with_parent=True)
    server.start()
    try:
        with server.driver() as driver:
            neo = run_neo4j(driver, queries)
    finally:
        server.stop()
    emb: list[list] = []
    for k in range(0, len(queries), 200):
        emb += run_embedded(queries[k:k + 200])
    tally = {"agree": 0, "loud": 0, "lenient": 0, "disagree": 0}
    for q, a, b in zip(queries, neo, emb, strict=True):
        verdict = compare(a, b)
        tally[verdict] += 1
        if verdict == "disagree" or (verdict in ("loud", "lenient") and args.loud):
            print(f"{verdict}: {q}\n  neo4j:    {a}\n  embedded: {b}")
    print(f"{args.count} expressions (seed {args.seed}): {tally}")
    return 1 if tally["disagree"] else 0


if __name__ == "__main__":
    sys.exit(main())
