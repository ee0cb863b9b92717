"""Differential Cypher harness: random read queries over citynet's schema, run on both stores and,
where it is simple, against an oracle computed with DuckDB from the canonical tables.

A query is built as a structure (:class:`Query`: one MATCH chain, optional UNWIND, OPTIONAL MATCH,
WITH filter, RETURN with aggregation, ORDER BY … LIMIT) and rendered to Cypher; a disagreement is
shrunk by dropping parts of that structure while the engines still disagree (delta debugging on the
structure, not the text), so the report shows the smallest query that still disagrees.

Comparison: results are lists of rows of plain values; without ORDER BY they are compared as
multisets; with ORDER BY the order-key projections must be equal as lists, and the rows as multisets
within each tie group (a LIMIT cutting a tie group compares only that group's size).

The oracle (:func:`oracle_sql`) translates a query without variable-length paths, OPTIONAL MATCH or
projection relationships to SQL over tables built straight from the canonical Parquet files (not from
citynet's loader), with Neo4j's relationship uniqueness written as ``rid <> rid`` between relationship
aliases of the same type.

Long run::

    python -m bench.cypher_harness --seed 7 --count 2000 [--patents 20000] [--workdir DIR]

It builds (or reuses) a workspace (synth → ingest → load on both stores), starts its own Neo4j and
prints every disagreement, shrunk. The CI sample is tests/test_cypher_harness.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

# --- schema -------------------------------------------------------------------------------------

NODE_KEYS = {"City": "city_code", "Applicant": "applicant_id", "Patent": "patent_id"}
NODE_PROPS = {
    "City": {"city_code": "str", "province_code": "str", "tier": "str", "region": "str"},
    "Applicant": {"applicant_id": "str", "kind": "str", "city_code": "str", "province_code": "str",
                  "located_by": "str"},
    "Patent": {"patent_id": "str", "app_year": "int", "grant_year": "int", "granted": "bool",
               "patent_kind": "str", "green": "bool", "y02": "bool"},
}
# type -> (from label, to label, {prop: kind})
REL_TYPES = {
    "LOCATED_IN": ("Applicant", "City", {}),
    "APPLIED": ("Applicant", "Patent", {"seq": "int", "city_code": "str"}),
    "CITES": ("Patent", "Patent", {"refs": "int"}),
    "TRANSFERRED": ("Applicant", "Applicant", {"year": "int", "from_city": "str", "to_city": "str"}),
    "COLLABORATED": ("City", "City", {"year": "int", "weight": "int"}),
    "CITED": ("City", "City", {"year": "int", "weight": "int"}),
    "TRANSFERRED_TO": ("City", "City", {"year": "int", "weight": "int"}),
}
PROJECTIONS = {"COLLABORATED", "CITED", "TRANSFERRED_TO"}
VAR_LENGTH = {"CITES", "TRANSFERRED", "COLLABORATED", "LOCATED_IN", "APPLIED"}


# --- query structure ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Pred:
    var: str
    prop: str
    op: str  # = <> < <= > >= IN, STARTS WITH, IS NULL, IS NOT NULL
    value: object  # literal, list (IN) or ("$", name); None for IS [NOT] NULL
    expr: str | None = None  # a function of the property compared instead of it: "substring({}, 0, 2)"

    def render(self) -> str:
        left = f"{self.var}.{self.prop}"
        if self.op.startswith("IS "):
            return f"{left} {self.op}"
        return f"{self.expr.format(left) if self.expr else left} {self.op} {lit(self.value)}"


@dataclass(frozen=True)
class Bool:
    """Predicates joined by ``OR`` or ``XOR``, or one negated (``NOT``): Cypher's three-valued logic,
    where a null operand (an absent property) decides differently from false."""

    op: str  # OR | XOR | NOT
    parts: tuple[Pred, ...]

    def render(self) -> str:
        if self.op == "NOT":
            return f"NOT ({self.parts[0].render()})"
        return "(" + f" {self.op} ".join(p.render() for p in self.parts) + ")"


def atoms(p: Pred | Bool) -> tuple[Pred, ...]:
    """The simple predicates inside ``p``."""
    return p.parts if isinstance(p, Bool) else (p,)


@dataclass(frozen=True)
class Node:
    var: str
    label: str | None
    inline: tuple[tuple[str, object], ...] = ()

    def render(self) -> str:
        lab = f":{self.label}" if self.label else ""
        props = ""
        if self.inline:
            props = " {" + ", ".join(f"{k}: {lit(v)}" for k, v in self.inline) + "}"
        return f"({self.var}{lab}{props})"


@dataclass(frozen=True)
class Rel:
    var: str | None
    type: str
    dir: str  # ">" (left to right), "<" (right to left), "-" (either)
    inline: tuple[tuple[str, object], ...] = ()
    hops: tuple[int, int] | None = None

    def render(self) -> str:
        inner = (self.var or "") + f":{self.type}"
        if self.hops:
            inner += f"*{self.hops[0]}..{self.hops[1]}"
        if self.inline:
            inner += " {" + ", ".join(f"{k}: {lit(v)}" for k, v in self.inline) + "}"
        left = "<-" if self.dir == "<" else "-"
        right = "->" if self.dir == ">" else "-"
        return f"{left}[{inner}]{right}"


@dataclass(frozen=True)
class Optional:
    """One hop from ``anchor``: an OPTIONAL MATCH, or a branch of the MATCH (:attr:`Query.branch`)."""

    anchor: str
    rel: Rel
    node: Node
    where: tuple[Pred, ...] = ()


@dataclass(frozen=True)
class Ret:
    kind: str  # count | count_distinct | group | rows
    keys: tuple[tuple[str, str], ...] = ()  # (var, prop) returned as k0, k1, ...
    agg: str | None = None  # for group: count(*) | count(DISTINCT v.p) | sum(v.p) | min(v.p) | max(v.p)
    distinct: bool = False
    order: str | None = None  # None | total | ties
    limit: int | None = None
    shadow: bool = False  # the first key named like its variable (RETURN c.city_code AS c … ORDER BY c)
    skip: int | None = None  # SKIP before the LIMIT (only under a total order: a SKIP cuts no tie group)
    having: int | None = None  # group: WITH keys, agg AS n WHERE n >= having RETURN keys, n


@dataclass(frozen=True)
class Query:
    nodes: tuple[Node, ...]
    rels: tuple[Rel, ...]
    where: tuple[Pred, ...] = ()
    unwind: tuple[str, str, str] | None = None  # (param, var, prop): UNWIND $param AS u … var.prop = u
    optional: Optional | None = None
    with_where: tuple[Pred, ...] = ()
    ret: Ret = field(default_factory=lambda: Ret("count"))
    params: tuple[tuple[str, object], ...] = ()
    # one more hop from a node of the chain, as a second pattern of the same MATCH ("comma": Neo4j keeps
    # its relationship distinct from the chain's) or in a MATCH clause of its own ("match": it may not be)
    branch: Optional | None = None
    branch_kind: str = "comma"

    def vars(self) -> list[str]:
        out = [n.var for n in self.nodes]
        out += [r.var for r in self.rels if r.var and not r.hops]
        if self.branch:
            out.append(self.branch.node.var)
            if self.branch.rel.var:
                out.append(self.branch.rel.var)
        if self.optional:
            out.append(self.optional.node.var)
            if self.optional.rel.var:
                out.append(self.optional.rel.var)
        return out

    def cypher(self) -> str:
        lines = []
        if self.unwind:
            lines.append(f"UNWIND ${self.unwind[0]} AS u")
        pattern = self.nodes[0].render()
        for rel, node in zip(self.rels, self.nodes[1:], strict=True):
            pattern += rel.render() + node.render()
        b = self.branch
        hop = f"({b.anchor}){b.rel.render()}{b.node.render()}" if b else ""
        lines.append(f"MATCH {pattern}" + (f", {hop}" if b and self.branch_kind == "comma" else ""))
        preds = [p.render() for p in self.where]
        if b and self.branch_kind == "comma":
            preds += [p.render() for p in b.where]
        if self.unwind:
            preds.append(f"{self.unwind[1]}.{self.unwind[2]} = u")
        if preds:
            lines.append("WHERE " + " AND ".join(preds))
        if b and self.branch_kind == "match":
            lines.append(f"MATCH {hop}")
            if b.where:
                lines.append("WHERE " + " AND ".join(p.render() for p in b.where))
        if self.optional:
            o = self.optional
            lines.append(f"OPTIONAL MATCH ({o.anchor}){o.rel.render()}{o.node.render()}")
            if o.where:
                lines.append("WHERE " + " AND ".join(p.render() for p in o.where))
        if self.with_where:
            carried = ", ".join(self.vars())
            lines.append(f"WITH {carried} WHERE " + " AND ".join(p.render() for p in self.with_where))
        lines.append(self._return())
        return "\n".join(lines)

    def _return(self) -> str:
        r = self.ret
        keys = [f"{key_text(k)} AS {name}" for k, name in zip(r.keys, self.names(), strict=True)]
        if r.kind == "count":
            text = "RETURN count(*) AS n"
        elif r.kind == "count_distinct":
            v, p = r.keys[0]
            text = f"RETURN count(DISTINCT {v}.{p}) AS n"
        elif r.kind == "group" and r.having is not None:
            text = (f"WITH {', '.join([*keys, f'{r.agg} AS n'])} WHERE n >= {r.having}\n"
                    f"RETURN {', '.join([*self.names(), 'n'])}")
        elif r.kind == "group":
            text = "RETURN " + ", ".join([*keys, f"{r.agg} AS n"])
        else:
            text = "RETURN " + ("DISTINCT " if r.distinct else "") + ", ".join(keys)
        order = self.order_keys()
        if order:
            text += "\nORDER BY " + ", ".join(f"{k} DESC" if k == "n" else k for k in order)
        if r.skip is not None and order:
            text += f"\nSKIP {r.skip}"
        if r.limit is not None and order:
            text += f"\nLIMIT {r.limit}"
        return text

    def names(self) -> list[str]:
        """The returned keys' aliases, k0, k1, …; with ``ret.shadow`` the first is named like its variable,
        which Neo4j's ORDER BY reads as the alias (graph/compat.py rewrites it for the embedded store)."""
        names = [f"k{i}" for i in range(len(self.ret.keys))]
        if self.ret.shadow and names:
            names[0] = self.ret.keys[0][0]
        return names

    def order_keys(self) -> list[str]:
        r = self.ret
        if not r.order or r.kind in ("count", "count_distinct"):
            return []
        names = self.names()
        if r.kind == "group":
            return ["n", *names] if r.order == "total" else ["n"]
        return names if r.order == "total" else names[:1]

    def columns(self) -> list[str]:
        r = self.ret
        if r.kind in ("count", "count_distinct"):
            return ["n"]
        names = self.names()
        return [*names, "n"] if r.kind == "group" else names


def lit(v) -> str:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "$":
        return f"${v[1]}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    return str(v)


# --- generation ---------------------------------------------------------------------------------

class Values:
    """Property values sampled from the store's canonical tables, for filters that select something."""

    def __init__(self, pools: dict[tuple[str, str], list]):
        self.pools = pools

    def pick(self, rng: random.Random, label: str, prop: str):
        pool = self.pools.get((label, prop)) or [None]
        return rng.choice(pool)


def _expr_pred(rng: random.Random, var: str, prop: str, kind: str, v) -> Pred | None:
    """A function or position of the property compared with the value Neo4j gives for the sampled one
    (computed here with Neo4j's meaning: positions from 0, a slice without its end, natural log)."""
    if kind == "str":
        s = str(v)
        return rng.choice([
            Pred(var, prop, "=", s[:2], "substring({}, 0, 2)"), Pred(var, prop, "=", s[1:], "substring({}, 1)"),
            Pred(var, prop, ">=", len(s), "size({})"), Pred(var, prop, "=", s.lower(), "toLower({})"),
            Pred(var, prop, "=", s[:3], "left({}, 3)"), Pred(var, prop, "STARTS WITH", s[:3]),
            Pred(var, prop, "=", s, "[{}, 'x'][0]"), Pred(var, prop, "=", s[::-1], "reverse({})")])
    if kind == "int":
        n = int(v)
        return rng.choice([
            Pred(var, prop, "=", n % 7, "{} % 7"), Pred(var, prop, "=", n // 3, "{} / 3"),
            Pred(var, prop, "=", n, "[0, {}][1]"), Pred(var, prop, ">", round(math.log(n + 1), 6), "log({} + 1)")])
    return None


def _preds_for(rng: random.Random, values: Values, var: str, label: str, props: dict[str, str]) -> Pred | None:
    if not props:
        return None
    prop = rng.choice(sorted(props))
    kind = props[prop]
    if rng.random() < 0.06:  # an absent property: Neo4j stores no null, LadybugDB does
        return Pred(var, prop, rng.choice(["IS NULL", "IS NOT NULL"]), None)
    v = values.pick(rng, label, prop)
    if v is None:
        return None
    if rng.random() < 0.08:  # a function of the property (graph/compat_functions.py)
        p = _expr_pred(rng, var, prop, kind, v)
        if p is not None:
            return p
    if kind == "bool":
        return Pred(var, prop, "=", bool(v) if rng.random() >= 0.05 else str(bool(v)).lower())
    if kind == "int":
        op, value, r = rng.choice(["=", "=", "<>", "<", ">=", ">", "<="]), int(v), rng.random()
        if r < 0.15:  # a floating-point bound (engine bug 6 of docs/cypher.md; graph/compat_types.py)
            return Pred(var, prop, op, value + rng.choice([0.0, 0.5, -0.5]))
        if r < 0.2:  # a number written as text: Neo4j finds no row, the embedded store refuses
            return Pred(var, prop, op, str(value))
        return Pred(var, prop, op, value)
    if rng.random() < 0.05 and str(v).isdigit():  # a code written as a number (the same as above)
        return Pred(var, prop, "=", int(v))
    op = rng.choice(["=", "=", "<>", "IN"])
    if op == "IN":
        return Pred(var, prop, "IN", sorted({str(v), str(values.pick(rng, label, prop))}))
    return Pred(var, prop, op, str(v))


def generate(rng: random.Random, values: Values) -> Query:
    """One random read query (see the module docstring for the families)."""
    hops = rng.choice([1, 1, 2, 2, 3, 3, 4, 5])
    start = rng.choice(["Patent", "Patent", "Applicant", "City"])
    nodes = [Node("n0", start)]
    rels: list[Rel] = []
    where: list[Pred] = []
    label = start
    used_var_length = False
    for i in range(hops):
        options = []
        for t, (a, b, _) in REL_TYPES.items():
            if a == label:
                options.append((t, ">", b))
            if b == label:
                options.append((t, "<", a))
        t, d, nxt = rng.choice(options)
        if t in PROJECTIONS or (REL_TYPES[t][0] == REL_TYPES[t][1] and rng.random() < 0.3):
            d = "-" if rng.random() < 0.5 else d
        h = None
        if t in VAR_LENGTH and not used_var_length and rng.random() < 0.15 and REL_TYPES[t][0] == REL_TYPES[t][1]:
            h = (1, rng.choice([2, 3]))
            used_var_length = True
        rel_props = REL_TYPES[t][2]
        var = f"r{i}" if (h is None and rng.random() < 0.6) else None
        inline: tuple = ()
        if t in PROJECTIONS:
            inline = (("network", ("$", "network")),)
            if var is None:
                var = f"r{i}"
            where.append(Pred(var, "year", "=", int(values.pick(rng, "COLLABORATED", "year") or 2015)))
        elif var and h is None and rel_props and rng.random() < 0.3:
            p = _preds_for(rng, values, var, t, rel_props)
            if p is not None:
                if p.op == "=" and p.expr is None and rng.random() < 0.5:
                    inline = ((p.prop, p.value),)
                else:
                    where.append(p)
        rels.append(Rel(var, t, d, inline, h))
        nodes.append(Node(f"n{i + 1}", nxt if rng.random() < 0.9 else None))
        label = nxt
    # an anchor that keeps long patterns cheap: a filter on the first or the last node
    anchor = rng.choice([0, len(nodes) - 1]) if hops >= 3 else rng.choice(range(len(nodes)))
    alabel = nodes[anchor].label or _label_at(rels, nodes, anchor)
    if alabel == "Patent":
        pa = Pred(nodes[anchor].var, "app_year", "=", int(values.pick(rng, "Patent", "app_year")))
    elif alabel == "City" and hops >= 3:
        pa = Pred(nodes[anchor].var, "city_code", "=", values.pick(rng, "City", "city_code"))
    else:
        pa = _preds_for(rng, values, nodes[anchor].var, alabel, NODE_PROPS[alabel])
    inline_nodes = {}
    if pa is not None:
        if pa.op == "=" and pa.expr is None and rng.random() < 0.35:
            inline_nodes[anchor] = ((pa.prop, pa.value),)
        else:
            where.append(pa)
    for _ in range(rng.choice([0, 1, 1, 2])):
        j = rng.randrange(len(nodes))
        lab = nodes[j].label or _label_at(rels, nodes, j)
        p = _preds_for(rng, values, nodes[j].var, lab, NODE_PROPS[lab])
        if p is not None:
            where.append(p)
    if len(nodes) >= 2 and rng.random() < 0.25:  # a comparison between two nodes of the same label
        same = [(i, j) for i in range(len(nodes)) for j in range(i + 1, len(nodes))
                if _label_at(rels, nodes, i) == _label_at(rels, nodes, j)]
        if same:
            i, j = rng.choice(same)
            key = NODE_KEYS[_label_at(rels, nodes, i)]
            where.append(Pred(nodes[i].var, key, "<>", _Ref(nodes[j].var, key)))
    if rng.random() < 0.25:  # OR, XOR or NOT over filters of any nodes (three-valued with nulls)
        op = rng.choice(["OR", "OR", "XOR", "NOT"])
        parts = []
        for _ in range(1 if op == "NOT" else 2):
            j = rng.randrange(len(nodes))
            lab = nodes[j].label or _label_at(rels, nodes, j)
            part = _preds_for(rng, values, nodes[j].var, lab, NODE_PROPS[lab])
            if part is not None:
                parts.append(part)
        if len(parts) == (1 if op == "NOT" else 2):
            where.append(Bool(op, tuple(parts)))
    nodes = [replace(n, inline=inline_nodes.get(i, ())) for i, n in enumerate(nodes)]
    branch, branch_kind = None, "comma"
    if rng.random() < 0.15:  # one more hop from a node of the chain: a second pattern or a second MATCH
        j = rng.randrange(len(nodes))
        lab = _label_at(rels, nodes, j)
        choices = [(t, ">", b) for t, (a, b, _) in REL_TYPES.items() if a == lab and t not in PROJECTIONS]
        choices += [(t, "<", a) for t, (a, b, _) in REL_TYPES.items() if b == lab and t not in PROJECTIONS]
        t, d, nxt = rng.choice(choices)
        bwhere = ()
        p = _preds_for(rng, values, "x", nxt, NODE_PROPS[nxt])
        if p is not None and rng.random() < 0.6:
            bwhere = (p,)
        branch = Optional(nodes[j].var, Rel("rx" if rng.random() < 0.5 else None, t, d), Node("x", nxt), bwhere)
        branch_kind = rng.choice(["comma", "comma", "match"])
    params: dict[str, object] = {"network": "invention.wipo.all"}
    unwind = None
    if rng.random() < 0.15:
        j = rng.randrange(len(nodes))
        lab = _label_at(rels, nodes, j)
        prop = "app_year" if lab == "Patent" else ("province_code" if lab == "City" else "kind")
        vals = [values.pick(rng, lab, prop) for _ in range(rng.choice([1, 2, 3]))]
        vals = [int(v) if prop == "app_year" else str(v) for v in vals if v is not None]
        if vals:
            params["ulist"] = vals
            unwind = ("ulist", nodes[j].var, prop)
    # move some predicates behind WITH
    with_where: list[Pred] = []
    if where and rng.random() < 0.3:
        k = rng.randrange(len(where))
        with_where.append(where.pop(k))
    optional = None
    if rng.random() < 0.2:
        j = rng.randrange(len(nodes))
        lab = _label_at(rels, nodes, j)
        choices = [(t, ">", b) for t, (a, b, _) in REL_TYPES.items() if a == lab and t not in PROJECTIONS]
        choices += [(t, "<", a) for t, (a, b, _) in REL_TYPES.items() if b == lab and t not in PROJECTIONS]
        if rng.random() < 0.1:  # a type that cannot touch the node's label: no match (engine bug 9)
            choices = [(t, ">", b) for t, (a, b, _) in REL_TYPES.items() if a != lab and t not in PROJECTIONS]
        t, d, nxt = rng.choice(choices)
        onode = Node("o", nxt)
        owhere = ()
        p = _preds_for(rng, values, "o", nxt, NODE_PROPS[nxt])
        if p is not None and rng.random() < 0.7:
            owhere = (p,)
        optional = Optional(nodes[j].var, Rel("ro" if rng.random() < 0.5 else None, t, d), onode, owhere)
    ret = _gen_return(rng, rels, nodes, optional, branch)
    return Query(tuple(nodes), tuple(rels), tuple(where), unwind, optional, tuple(with_where), ret,
                 tuple(sorted(params.items())), branch, branch_kind)


@dataclass(frozen=True)
class _Ref:
    """A property of another variable as the right-hand side of a predicate."""

    var: str
    prop: str

    def __str__(self) -> str:
        return f"{self.var}.{self.prop}"


def _label_at(rels, nodes, i) -> str:
    if nodes[i].label:
        return nodes[i].label
    if i > 0:
        r = rels[i - 1]
        a, b, _ = REL_TYPES[r.type]
        return b if r.dir == ">" else a if r.dir == "<" else a
    r = rels[0]
    a, b, _ = REL_TYPES[r.type]
    return a if r.dir == ">" else b if r.dir == "<" else a


RET_PROPS = {
    "City": ["city_code", "province_code", "tier", "region"],
    "Applicant": ["applicant_id", "kind", "province_code", "city_code"],
    "Patent": ["patent_id", "app_year", "patent_kind", "granted", "grant_year"],
}
INT_PROPS = {"Patent": ["app_year", "grant_year", "refs_made"], "City": [], "Applicant": []}


# functions and positions over a returned property, by its kind; the same meaning on both engines only
# through graph/compat_functions.py (positions from 0, substring, log, reverse) and graph/compat_nulls.py
# (CONTAINS '' rewritten, IN a list that holds or can hold a null rewritten, a text joined to a null
# rewritten) and graph/compat.py (an arithmetic operand of a predicate bracketed)
KEY_TEMPLATES = {
    "str": ["substring({}, 0, 2)", "substring({}, 1)", "toLower({})", "size({})", "left({}, 3)", "right({}, 2)",
            "{} STARTS WITH '3'", "{} CONTAINS '0'", "trim({})", "coalesce({}, 'none')", "reverse({})",
            "[{}, 'x'][0]", "[{}, 'x'][1..]", "[{}, 'x', 'y'][-2]", "{} CONTAINS ''", "{} IN ['320100', null]",
            "NOT {} IN ['2', null]", "replace({}, '0', '-')", "{} + '/'", "'<' + {} + '>'", "'320100' IN [{}]",
            "NOT '2' IN [{}, '3']", "{} + 'x' STARTS WITH '3'"],
    "int": ["{} % 7", "{} / 3", "abs({} - 2012)", "log({} + 1)", "log10({} + 1)", "sqrt({})",
            "CASE WHEN {} >= 2015 THEN 'late' ELSE 'early' END", "[{}, 0][-1]", "[0, {}, 1][1..2]",
            "reverse([{}, 1])", "{} - 1 IN [2014, 2015]", "2016 IN [{}, 2015]"],
    "bool": ["NOT {}", "CASE WHEN {} THEN 1 ELSE 0 END", "[{}, true][0]"],
    # a list property (graph/compat_functions.py: a position beyond it is null; read detached, engine bug 20)
    "list": ["{}[0]", "{}[1]", "{}[-1]", "size({})", "{}[0..2]", "{}[1..]", "{}[0] STARTS WITH 'H'"],
}
LIST_PROPS = {"Patent": ["ipc", "cpc", "green_topics"]}


def key_text(key: tuple) -> str:
    """A returned key: ``v.p``, or a function or position of it (``(v, p, template)``)."""
    text = f"{key[0]}.{key[1]}"
    return key[2].format(text) if len(key) > 2 else text


def _gen_return(rng, rels, nodes, optional, branch=None) -> Ret:
    cands = [(n.var, _label_at(rels, nodes, i)) for i, n in enumerate(nodes)]
    if optional:
        cands.append((optional.node.var, optional.node.label))
    if branch:
        cands.append((branch.node.var, branch.node.label))
    kind = rng.choice(["count", "count", "count_distinct", "group", "group", "group", "rows", "rows"])
    if kind == "count":
        return Ret("count")
    if kind == "count_distinct":
        v, lab = rng.choice(cands)
        return Ret("count_distinct", ((v, rng.choice(RET_PROPS[lab])),))
    nkeys = rng.choice([1, 1, 2])
    keys = []
    for _ in range(nkeys):
        v, lab = rng.choice(cands)
        prop = rng.choice(RET_PROPS[lab])
        if LIST_PROPS.get(lab) and rng.random() < 0.1:  # a position, slice or size of a list property
            keys.append((v, rng.choice(LIST_PROPS[lab]), rng.choice(KEY_TEMPLATES["list"])))
        elif rng.random() < 0.3:
            keys.append((v, prop, rng.choice(KEY_TEMPLATES[PROP_KINDS[prop]])))
        else:
            keys.append((v, prop))
    keys = tuple(dict.fromkeys(keys))
    order = rng.choice([None, "total", "total", "ties"])
    if any(len(k) > 2 and (".." in k[2] or "reverse([" in k[2]) for k in keys):
        order = None  # a list-valued key: LadybugDB cannot sort by a list (an error, not another answer)
    limit = rng.choice([None, 5, 10, 25]) if order else None
    shadow = rng.random() < 0.15
    skip = rng.choice([1, 3, 10]) if order == "total" and rng.random() < 0.2 else None
    if kind == "group":
        v, lab = rng.choice(cands)
        ints = INT_PROPS[lab]
        aggs = ["count(*)", "count(*)", f"count(DISTINCT {v}.{rng.choice(RET_PROPS[lab])})",
                # an aggregate after a DISTINCT one (engine bug 19: 0 on LadybugDB; graph/compat_aggregates.py)
                f"count(DISTINCT {v}.{rng.choice(RET_PROPS[lab])}) * 100000 + count(*)"]
        if ints:
            p = rng.choice(ints)
            aggs += [f"sum({v}.{p})", f"min({v}.{p})", f"max({v}.{p})"]
        agg = rng.choice(aggs)
        having = None
        if rng.random() < 0.2:  # a filter on the aggregate, after WITH
            having = rng.choice([2, 3, 5]) if agg.startswith("count") else rng.choice([1, 2, 2010, 2015])
        return Ret("group", keys, agg, order=order, limit=limit, shadow=shadow, skip=skip, having=having)
    return Ret("rows", keys, distinct=rng.random() < 0.5, order=order, limit=limit if order else None, shadow=shadow,
               skip=skip)


# --- shrinking ----------------------------------------------------------------------------------

def _mentions(q: Query, var: str) -> bool:
    text = q.cypher()
    import re

    return re.search(rf"\b{re.escape(var)}\b", text) is not None


def candidates(q: Query):
    """Smaller variants of ``q``, biggest cuts first."""
    if q.optional:
        yield replace(q, optional=None, ret=_drop_keys(q.ret, "o"))
    if q.branch:
        yield _drop_branch(q)
        if q.branch.where:
            yield replace(q, branch=replace(q.branch, where=()))
        if q.branch_kind == "match":
            yield replace(q, branch_kind="comma")
    if q.unwind:
        yield replace(q, unwind=None, params=tuple(p for p in q.params if p[0] != "ulist"))
    if q.with_where:
        for i in range(len(q.with_where)):
            yield replace(q, with_where=q.with_where[:i] + q.with_where[i + 1:])
        yield replace(q, where=q.where + q.with_where, with_where=())
    if q.ret.having is not None:
        yield replace(q, ret=replace(q.ret, having=None))
    if q.ret.skip is not None:
        yield replace(q, ret=replace(q.ret, skip=None))
    if q.ret.limit is not None:
        yield replace(q, ret=replace(q.ret, limit=None))
    if q.ret.order:
        yield replace(q, ret=replace(q.ret, order=None, limit=None))
    if q.ret.kind != "count":
        yield replace(q, ret=Ret("count"))
    if q.ret.distinct:
        yield replace(q, ret=replace(q.ret, distinct=False))
    for i in range(len(q.where)):
        yield replace(q, where=q.where[:i] + q.where[i + 1:])
    for i, p in enumerate(q.where):  # a part of an OR, XOR or NOT alone
        if isinstance(p, Bool):
            for part in p.parts:
                yield replace(q, where=q.where[:i] + (part,) + q.where[i + 1:])
    # drop the last or the first hop (with everything that mentions the dropped node/rel)
    if len(q.rels) > 1:
        for cut in ("last", "first"):
            sub = _cut(q, cut)
            if sub is not None:
                yield sub
    for i, n in enumerate(q.nodes):
        if n.inline:
            p = n.inline[0]
            nodes = list(q.nodes)
            nodes[i] = replace(n, inline=())
            yield replace(q, nodes=tuple(nodes), where=q.where + (Pred(n.var, p[0], "=", p[1]),))
    for i, r in enumerate(q.rels):
        if r.hops and r.hops[1] > r.hops[0]:
            rels = list(q.rels)
            rels[i] = replace(r, hops=(r.hops[0], r.hops[1] - 1))
            yield replace(q, rels=tuple(rels))
        if r.var and not any(a.var == r.var for p in q.where + q.with_where for a in atoms(p)) and \
                not any(k[0] == r.var for k in q.ret.keys):
            rels = list(q.rels)
            rels[i] = replace(r, var=None)
            yield replace(q, rels=tuple(rels))


def _drop_branch(q: Query) -> Query:
    ret = q.ret
    for v in (q.branch.node.var, q.branch.rel.var):
        if v:
            ret = _drop_keys(ret, v)
    return replace(q, branch=None, ret=ret)


def _drop_keys(ret: Ret, var: str) -> Ret:
    keys = tuple(k for k in ret.keys if k[0] != var)
    if ret.agg and f"{var}." in ret.agg:
        ret = replace(ret, agg="count(*)")
    if not keys and ret.kind in ("group", "rows", "count_distinct"):
        return Ret("count")
    return replace(ret, keys=keys)


def _cut(q: Query, end: str) -> Query | None:
    if end == "last":
        gone_node, gone_rel = q.nodes[-1], q.rels[-1]
        nodes, rels = q.nodes[:-1], q.rels[:-1]
    else:
        gone_node, gone_rel = q.nodes[0], q.rels[0]
        nodes, rels = q.nodes[1:], q.rels[1:]
    gone = {gone_node.var, gone_rel.var} - {None}

    def keep(p: Pred | Bool) -> bool:
        return all(a.var not in gone and not (isinstance(a.value, _Ref) and a.value.var in gone) for a in atoms(p))

    where = tuple(p for p in q.where if keep(p))
    with_where = tuple(p for p in q.with_where if keep(p))
    ret = q.ret
    for g in gone:
        ret = _drop_keys(ret, g)
    optional = q.optional if q.optional is None or q.optional.anchor not in gone else None
    if optional is None and q.optional is not None:
        ret = _drop_keys(ret, "o")
    unwind = q.unwind if q.unwind is None or q.unwind[1] not in gone else None
    params = q.params if unwind else tuple(p for p in q.params if p[0] != "ulist")
    q = replace(q, nodes=nodes, rels=rels, where=where, with_where=with_where, ret=ret,
                optional=optional, unwind=unwind, params=params)
    return _drop_branch(q) if q.branch and q.branch.anchor in gone else q


def shrink(q: Query, disagrees, budget: int = 200) -> Query:
    """The smallest variant of ``q`` (greedy, first improvement) for which ``disagrees(q)`` holds."""
    tried = 0
    progress = True
    while progress and tried < budget:
        progress = False
        for c in candidates(q):
            tried += 1
            try:
                bad = disagrees(c)
            except Exception:  # a variant that one engine cannot run is not a smaller reproduction
                bad = False
            if bad:
                q = c
                progress = True
                break
            if tried >= budget:
                break
    return q


# --- comparing results --------------------------------------------------------------------------

def norm(v):
    """A value as a comparable plain value (floats rounded to 9 significant digits)."""
    if v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if v.is_integer():
            return int(v)
        return float(f"{v:.9g}")
    if hasattr(v, "item") and not isinstance(v, list | dict | str):
        return norm(v.item())
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if hasattr(v, "iso_format"):
        return v.iso_format()
    if isinstance(v, list | tuple):
        return tuple(norm(x) for x in v)
    if isinstance(v, dict):  # a map: its entries by key
        return tuple(sorted((str(k), norm(x)) for k, x in v.items()))
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return v


def rows_of(df, columns) -> list[tuple]:
    return [tuple(norm(x) for x in row) for row in df[columns].itertuples(index=False, name=None)]


def same(q: Query, a: list[tuple], b: list[tuple]) -> bool:
    """Equal results under ``q``'s ordering (see the module docstring)."""
    if len(a) != len(b):
        return False
    order = q.order_keys()
    if not order:
        return Counter(a) == Counter(b)
    cols = q.columns()
    idx = [cols.index(k) for k in order]

    def key(r):
        return tuple(r[i] for i in idx)

    if [key(r) for r in a] != [key(r) for r in b]:
        return False
    groups_a: dict = {}
    groups_b: dict = {}
    for r in a:
        groups_a.setdefault(key(r), []).append(r)
    for r in b:
        groups_b.setdefault(key(r), []).append(r)
    last = key(a[-1]) if a else None
    cut = q.ret.limit is not None and len(a) == q.ret.limit
    for k, rows in groups_a.items():
        if cut and k == last:
            continue  # the LIMIT may cut this tie group anywhere
        if Counter(rows) != Counter(groups_b.get(k, [])):
            return False
    return True


# --- engines ------------------------------------------------------------------------------------

class Timeout(Exception):
    """A query ran longer than the harness allows (skipped, not a disagreement)."""


class EmbeddedRunner:
    """The embedded engine straight through its Python API (read-only connection)."""

    name = "embedded"

    def __init__(self, db_path: Path, timeout_ms: int = 20_000, rewrite: bool = True):
        import ladybug as lb

        self.db = lb.Database(str(db_path), read_only=True)
        self.conn = lb.Connection(self.db)
        self.conn.set_query_timeout(timeout_ms)
        self.rewrite = rewrite

    def run(self, q: Query) -> list[tuple]:
        from citynet.graph.embedded import neo4j_values

        text, order = q.cypher(), None
        if self.rewrite:
            from citynet.graph.compat import prepare

            text, order = prepare(text, dict(q.params))
        from citynet.graph.embedded import sorts

        # as citynet query: a sorting statement on one thread (engine bug 25, docs/cypher.md)
        self.conn.set_max_threads_for_exec(1 if self.rewrite and sorts(text) else 0)
        try:
            result = self.conn.execute(text, dict(q.params))
            df = neo4j_values(result.get_as_df(), result)  # the types citynet query prints
            if order is not None:
                df = order.apply_frame(df, dict(q.params))
        except RuntimeError as exc:
            if "timeout" in str(exc).lower() or "interrupted" in str(exc).lower():
                raise Timeout(str(exc)) from exc
            raise
        return rows_of(df, q.columns())

    def close(self) -> None:
        self.conn.close()
        self.db.close()


class Neo4jRunner:
    name = "neo4j"

    def __init__(self, uri: str, auth: tuple[str, str], timeout_s: float = 20.0):
        import neo4j

        self.driver = neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
        self.timeout = timeout_s

    def run(self, q: Query) -> list[tuple]:
        import neo4j
        from citynet.graph import compat_neo4j
        from neo4j.exceptions import ClientError

        compat_neo4j.check(q.cypher())  # what citynet refuses on Neo4j (Neo4j's own wrong answers)
        try:
            with self.driver.session(database="neo4j", default_access_mode=neo4j.READ_ACCESS) as s:
                res = s.run(neo4j.Query(q.cypher(), timeout=self.timeout), dict(q.params))
                return [tuple(norm(r[c]) for c in q.columns()) for r in res]
        except ClientError as exc:
            if "Timeout" in (exc.code or "") or "terminated" in str(exc).lower():
                raise Timeout(str(exc)) from exc
            raise

    def close(self) -> None:
        self.driver.close()


# --- the oracle ---------------------------------------------------------------------------------

ORACLE_TABLES = """
CREATE TABLE City AS SELECT city_code AS id, * FROM read_parquet('{d}/cities.parquet');
CREATE TABLE Applicant AS SELECT applicant_id AS id, * REPLACE (
    CASE WHEN city_code IN (SELECT city_code FROM City) THEN city_code END AS city_code)
  FROM read_parquet('{d}/applicants.parquet');
CREATE TABLE Patent AS SELECT patent_id AS id, p.*, year(grant_date) AS grant_year,
  coalesce(m.n, 0) AS refs_made
  FROM read_parquet('{d}/patents.parquet') p LEFT JOIN (
    SELECT citing_patent_id, count(*) AS n FROM read_parquet('{d}/citations.parquet') GROUP BY ALL
  ) m ON m.citing_patent_id = p.patent_id;
CREATE TABLE LOCATED_IN AS SELECT row_number() OVER () AS rid, applicant_id AS src, city_code AS dst
  FROM Applicant WHERE city_code IS NOT NULL;
CREATE TABLE APPLIED AS SELECT row_number() OVER () AS rid, applicant_id AS src, patent_id AS dst, seq,
  CASE WHEN city_code IN (SELECT city_code FROM City) THEN city_code END AS city_code
  FROM read_parquet('{d}/patent_applicants.parquet')
  WHERE patent_id IN (SELECT id FROM Patent) AND applicant_id IN (SELECT id FROM Applicant);
CREATE TABLE CITES AS SELECT row_number() OVER () AS rid, src, dst, refs FROM (
  SELECT citing_patent_id AS src, cited_patent_id AS dst, count(*) AS refs
  FROM read_parquet('{d}/citations.parquet')
  WHERE citing_patent_id IN (SELECT id FROM Patent) AND cited_patent_id IN (SELECT id FROM Patent)
  GROUP BY ALL);
CREATE TABLE TRANSFERRED AS SELECT row_number() OVER () AS rid, from_applicant_id AS src,
  to_applicant_id AS dst, year,
  CASE WHEN from_city IN (SELECT city_code FROM City) THEN from_city END AS from_city,
  CASE WHEN to_city IN (SELECT city_code FROM City) THEN to_city END AS to_city
  FROM read_parquet('{d}/transfers.parquet')
  WHERE from_applicant_id IN (SELECT id FROM Applicant) AND to_applicant_id IN (SELECT id FROM Applicant);
"""


class Oracle:
    """DuckDB over tables made straight from the canonical Parquet files."""

    name = "oracle"

    def __init__(self, canonical: Path):
        import duckdb

        self.con = duckdb.connect()
        for stmt in ORACLE_TABLES.format(d=str(canonical)).split(";"):
            if stmt.strip():
                self.con.execute(stmt)

    def supports(self, q: Query) -> bool:
        """Queries without optional, variable-length, undirected or projection parts, whose values have
        their property's type (DuckDB converts text and numbers into each other; Neo4j does not)."""
        return (q.optional is None and not _mistyped(q) and all(len(k) == 2 for k in q.ret.keys)
                and not any(p.expr or p.op == "STARTS WITH" for p in _all_atoms(q))
                and all(r.hops is None and r.dir != "-" and r.type not in PROJECTIONS
                        for r in (*q.rels, *((q.branch.rel,) if q.branch else ())))
                and all(n.label for n in q.nodes))

    def run(self, q: Query) -> list[tuple]:
        sql, params = oracle_sql(q)
        return [tuple(norm(x) for x in row) for row in self.con.execute(sql, params).fetchall()]

    def counts(self) -> dict[str, int]:
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("City", "Applicant", "Patent", "LOCATED_IN", "APPLIED", "CITES", "TRANSFERRED")}


PROP_KINDS = {p: k for props in [*NODE_PROPS.values(), *(t[2] for t in REL_TYPES.values())] for p, k in props.items()}


def _all_atoms(q: Query) -> list[Pred]:
    """Every simple predicate of ``q``'s filters."""
    preds = (*q.where, *q.with_where, *(q.optional.where if q.optional else ()), *(q.branch.where if q.branch else ()))
    return [a for p in preds for a in atoms(p)]


def _mistyped(q: Query) -> bool:
    """A value of another type than its property (a text for a number, a number for a text, ...)."""
    pairs = [(p.prop, p.value) for p in _all_atoms(q) if not p.expr and not p.op.startswith("IS ")]
    pairs += [kv for x in (*q.nodes, *q.rels) for kv in x.inline]
    for prop, value in pairs:
        kind = PROP_KINDS.get(prop)
        if kind is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, _Ref | tuple):
                continue
            if (kind == "str") != isinstance(v, str) or (kind == "bool") != isinstance(v, bool):
                return True
    return False


def _sql_value(v, params: list) -> str:
    if isinstance(v, _Ref):
        return f"{v.var}.{v.prop}"
    params.append(v)
    return "?"


def _sql_pred(p: Pred | Bool, params: list) -> str:
    if isinstance(p, Bool):  # SQL's NULL logic is Cypher's: NOT, OR; XOR as <> of two truth values
        if p.op == "NOT":
            return f"NOT ({_sql_pred(p.parts[0], params)})"
        joined = " OR " if p.op == "OR" else ") <> ("
        return "((" + joined.join(_sql_pred(x, params) for x in p.parts) + "))"
    col = f"{p.var}.{p.prop}"
    if p.op.startswith("IS "):
        return f"{col} {p.op}"
    if p.op == "IN":
        return f"{col} IN (" + ", ".join(_sql_value(x, params) for x in p.value) + ")"
    return f"{col} {'!=' if p.op == '<>' else p.op} {_sql_value(p.value, params)}"


def oracle_sql(q: Query) -> tuple[str, list]:
    """``q`` as SQL with Neo4j's semantics: one row per match, relationships distinct within the MATCH."""
    params: list = []
    froms = [f"{q.nodes[0].label} AS {q.nodes[0].var}"]
    conds: list[str] = []
    rel_alias = []
    for i, (rel, node) in enumerate(zip(q.rels, q.nodes[1:], strict=True)):
        left = q.nodes[i].var
        ra = rel.var or f"_r{i}"
        rel_alias.append((ra, rel.type))
        froms.append(f"{rel.type} AS {ra}")
        froms.append(f"{node.label} AS {node.var}")
        if rel.dir == ">":
            conds.append(f"{ra}.src = {left}.id AND {ra}.dst = {node.var}.id")
        elif rel.dir == "<":
            conds.append(f"{ra}.dst = {left}.id AND {ra}.src = {node.var}.id")
        else:
            raise ValueError("undirected relationships: not in the oracle")
        for k, v in rel.inline:
            conds.append(_sql_pred(Pred(ra, k, "=", v), params))
    for n in q.nodes:
        for k, v in n.inline:
            conds.append(_sql_pred(Pred(n.var, k, "=", v), params))
    branch_where: tuple = ()
    if q.branch:
        b = q.branch
        ra = b.rel.var or "_rx"
        if q.branch_kind == "comma":  # one MATCH: distinct from the chain's relationships
            rel_alias.append((ra, b.rel.type))
        froms += [f"{b.rel.type} AS {ra}", f"{b.node.label} AS {b.node.var}"]
        ends = ("src", "dst") if b.rel.dir == ">" else ("dst", "src")
        conds.append(f"{ra}.{ends[0]} = {b.anchor}.id AND {ra}.{ends[1]} = {b.node.var}.id")
        branch_where = b.where
    for i, (a, ta) in enumerate(rel_alias):
        for b, tb in rel_alias[i + 1:]:
            if ta == tb:
                conds.append(f"{a}.rid <> {b}.rid")
    for p in q.where + branch_where + q.with_where:
        conds.append(_sql_pred(p, params))
    if q.unwind:
        pname, var, prop = q.unwind
        values = dict(q.params)[pname]
        froms.insert(0, "(SELECT unnest(?) AS u) AS _u")
        params.insert(0, values)
        conds.append(f"{var}.{prop} = _u.u")
    # the unwind parameter comes first in the FROM, so its ? must come first
    body = " FROM " + ", ".join(froms) + (" WHERE " + " AND ".join(conds) if conds else "")
    r = q.ret
    keys = [f"{v}.{p} AS k{i}" for i, (v, p) in enumerate(r.keys)]
    if r.kind == "count":
        sel = "SELECT count(*) AS n"
    elif r.kind == "count_distinct":
        v, p = r.keys[0]
        sel = f"SELECT count(DISTINCT {v}.{p}) AS n"
    elif r.kind == "group":
        agg = f"coalesce({r.agg}, 0)" if r.agg.startswith("sum(") else r.agg  # Neo4j: sum of nothing is 0
        sel = "SELECT " + ", ".join([*keys, f"{agg} AS n"])
        body += " GROUP BY " + ", ".join(f"k{i}" for i in range(len(keys)))
    else:
        sel = "SELECT " + ("DISTINCT " if r.distinct else "") + ", ".join(keys)
    internal = dict(zip(q.names(), (f"k{i}" for i in range(len(r.keys))), strict=True))
    order = [internal.get(k, k) for k in q.order_keys()]
    tail = ""
    if order:
        tail = " ORDER BY " + ", ".join(f"{k} DESC NULLS FIRST" if k == "n" else f"{k} ASC NULLS LAST" for k in order)
        if r.limit is not None:
            tail += f" LIMIT {r.limit}"
        if r.skip is not None:
            tail += f" OFFSET {r.skip}"
    if r.kind == "group" and r.having is not None:
        return f"SELECT * FROM ({sel + body}) WHERE n >= {int(r.having)}" + tail, params
    return sel + body + tail, params


# --- running ------------------------------------------------------------------------------------

@dataclass
class Finding:
    query: Query
    shrunk: Query
    results: dict[str, object]

    def report(self) -> str:
        lines = ["disagreement (shrunk):", self.shrunk.cypher(), f"params: {dict(self.shrunk.params)}"]
        for name, rows in self.results.items():
            shown = rows if not isinstance(rows, list) or len(rows) <= 12 else rows[:12] + [f"… {len(rows)} rows"]
            lines.append(f"  {name}: {shown}")
        ref = self.results.get("neo4j")
        for name, rows in self.results.items():  # long results: the rows that differ, by engine
            if name != "neo4j" and isinstance(ref, list) and isinstance(rows, list) and max(len(ref), len(rows)) > 12:
                only_ref, only = Counter(ref) - Counter(rows), Counter(rows) - Counter(ref)
                lines.append(f"  rows only in neo4j, not in {name} ({sum(only_ref.values())}): {sorted(only_ref, key=repr)[:20]}")
                lines.append(f"  rows only in {name} ({sum(only.values())}): {sorted(only, key=repr)[:20]}")
        lines += ["original:", self.query.cypher()]
        return "\n".join(lines)


def outcome(runner, q: Query):
    """Rows, or the error text (a query an engine refuses or cannot run)."""
    try:
        return runner.run(q)
    except Timeout:
        raise
    except Exception as exc:  # an engine error is a result to compare, not a crash of the harness
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


REFUSED = "error: Unsupported: refused"  # how outcome() shows a refusal naming the construct and the rewrite


def disagree(q: Query, results: dict[str, object]) -> bool:
    """``results`` (per engine: rows or an error's text) hold an answer other than Neo4j's: different rows, or an
    error that is no refusal. A query Neo4j refuses is not of the harness's language; a refusal is allowed."""
    ref = results.get("neo4j")
    if isinstance(ref, str):
        return False
    return any(not got.startswith(REFUSED) if isinstance(got, str) else not same(q, ref, got)
               for name, got in results.items() if name != "neo4j")


def check(q: Query, runners, oracle: Oracle | None = None) -> dict[str, object] | None:
    """``None`` when every engine (and the oracle, if it covers ``q``) agrees; else the results."""
    results = {r.name: outcome(r, q) for r in runners}
    if oracle is not None and oracle.supports(q):
        results["oracle"] = outcome(oracle, q)
    return results if disagree(q, results) else None


def run(seed: int, count: int, runners, oracle: Oracle | None, values: Values, log=print,
        shrink_budget: int = 150) -> tuple[list[Finding], dict[str, int]]:
    rng = random.Random(seed)
    findings: list[Finding] = []
    stats = Counter()
    for _ in range(count):
        q = generate(rng, values)
        try:
            bad = check(q, runners, oracle)
        except Timeout:
            stats["timeout"] += 1
            continue
        stats["run"] += 1
        if oracle is not None and oracle.supports(q):
            stats["oracle"] += 1
        if bad is None:
            continue

        def disagrees(c: Query) -> bool:
            try:
                return check(c, runners, oracle) is not None
            except Timeout:
                return False

        small = shrink(q, disagrees, shrink_budget)
        res = check(small, runners, oracle) or bad
        f = Finding(q, small, res)
        findings.append(f)
        stats["disagree"] += 1
        log(f.report())
    return findings, dict(stats)


def value_pools(canonical: Path) -> Values:
    """Values of each filterable property (and the projection years) from the canonical tables: 200 rows
    chosen by the hash of the whole row, the same whatever order DuckDB's threads read them in (a seeded
    ``USING SAMPLE`` was not: the harness's queries changed from run to run)."""
    o = Oracle(canonical)
    pools: dict[tuple[str, str], list] = {}
    for label, props in NODE_PROPS.items():
        for prop in props:
            rows = o.con.execute(
                f"SELECT {prop} FROM {label} AS r WHERE {prop} IS NOT NULL ORDER BY hash(r) LIMIT 200").fetchall()
            pools[(label, prop)] = sorted({r[0] for r in rows}, key=str)
    for t, (_, _, props) in REL_TYPES.items():
        if t in PROJECTIONS:
            continue
        for prop in props:
            rows = o.con.execute(
                f"SELECT {prop} FROM {t} AS r WHERE {prop} IS NOT NULL ORDER BY hash(r) LIMIT 200").fetchall()
            pools[(t, prop)] = sorted({r[0] for r in rows}, key=str)
    years = o.con.execute("SELECT DISTINCT app_year FROM Patent WHERE app_year IS NOT NULL ORDER BY 1").fetchall()
    pools[("COLLABORATED", "year")] = [y[0] for y in years]
    return Values(pools)


# --- whole-store comparison -------------------------------------------------------------------

@dataclass(frozen=True)
class RawQuery:
    """A fixed Cypher text for the runners (the same interface as :class:`Query`)."""

    text: str
    cols: tuple[str, ...]
    params: tuple[tuple[str, object], ...] = ()

    def cypher(self) -> str:
        return self.text

    def columns(self) -> list[str]:
        return list(self.cols)

    def order_keys(self) -> list[str]:
        return []  # no ORDER BY: compared as multisets (:func:`same`)


AGGREGATES = ["count(DISTINCT {v}.{p})", "count({v}.{p})", "count(DISTINCT {v})", "count(*)", "min({v}.{p})",
              "max({v}.{p})", "size(collect(DISTINCT {v}.{p}))", "count(DISTINCT {r})", "count({r})"]


def aggregate_matrix(values: Values, seed: int, count: int) -> list[RawQuery]:
    """Queries of one or two hops whose node is filtered by its key (written in ``WHERE`` or in the pattern),
    by another property or not at all, returning one to three aggregates (``DISTINCT`` or not, in any order),
    grouped by a property or not: the shapes where LadybugDB's planner takes shortcuts (engine bugs 19 and 21
    of docs/cypher.md). Compared as multisets of rows (no ``ORDER BY``)."""
    rng = random.Random(seed)
    hops = [(t, a, b) for t, (a, b, _) in REL_TYPES.items() if t not in PROJECTIONS]
    out = []
    while len(out) < count:
        t1, a, b = rng.choice(hops)
        nodes, rels = [("x", a), ("y", b)], [("r1", t1, ">")]
        if rng.random() < 0.4:  # a second hop from y, either way
            nxt = [(t, ">", bb) for t, aa, bb in hops if aa == b] + [(t, "<", aa) for t, aa, bb in hops if bb == b]
            t2, d, c = rng.choice(nxt)
            nodes.append(("z", c))
            rels.append(("r2", t2, d))
        pattern = f"({nodes[0][0]}:{nodes[0][1]})"
        for (rv, t, d), (nv, lab) in zip(rels, nodes[1:], strict=True):
            pattern += (f"-[{rv}:{t}]->" if d == ">" else f"<-[{rv}:{t}]-") + f"({nv}:{lab})"
        v, lab = rng.choice(nodes)
        key = NODE_KEYS[lab]
        form, where = rng.choice(["key", "key", "inline", "other", "none"]), ""
        if form in ("key", "inline") and (value := values.pick(rng, lab, key)) is not None:
            if form == "key":
                where = f" WHERE {v}.{key} = {lit(value)}"
            else:
                pattern = pattern.replace(f"({v}:{lab})", f"({v}:{lab} {{{key}: {lit(value)}}})", 1)
        elif form == "other":
            prop = rng.choice(sorted(set(NODE_PROPS[lab]) - {key}))
            if (value := values.pick(rng, lab, prop)) is not None:
                where = f" WHERE {v}.{prop} = {lit(value)}"
        items = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            nv, nlab = rng.choice(nodes)
            items.append(rng.choice(AGGREGATES).format(v=nv, p=rng.choice(RET_PROPS[nlab]), r=rng.choice(rels)[0]))
        items = list(dict.fromkeys(items))
        cols = [f"x{i}" for i in range(len(items))]
        ret = ", ".join(f"{x} AS {c}" for x, c in zip(items, cols, strict=True))
        if rng.random() < 0.4:
            gv, glab = rng.choice(nodes)
            ret = f"{gv}.{rng.choice(RET_PROPS[glab])} AS g, {ret}"
            cols.insert(0, "g")
        out.append(RawQuery(f"MATCH {pattern}{where} RETURN {ret}", tuple(cols)))
    return out


def raw_disagreements(queries: list[RawQuery], runners) -> list[str]:
    """Each query of ``queries`` on which the runners disagree (:func:`check`, without the oracle), reported
    with every runner's rows."""
    reports = []
    for q in queries:
        results = check(q, runners)
        if results is not None:
            shown = {name: rows[:12] if isinstance(rows, list) else rows for name, rows in results.items()}
            reports.append(q.text + "".join(f"\n  {name}: {rows}" for name, rows in shown.items()))
    return reports


def content_queries() -> dict[str, tuple[str, str]]:
    """Per label and stored relationship type: (Cypher, SQL over the oracle's tables) returning the
    same columns, every property of the harness's schema, relationships by their ends' keys."""
    out = {}
    for label, props in NODE_PROPS.items():
        out[label] = ("MATCH (n:" + label + ") RETURN " + ", ".join(f"n.{p} AS {p}" for p in props),
                      "SELECT " + ", ".join(props) + f" FROM {label}")
    for t, (a, b, props) in REL_TYPES.items():
        if t in PROJECTIONS:
            continue
        extra = "".join(f", r.{p} AS {p}" for p in props)
        out[t] = (f"MATCH (a:{a})-[r:{t}]->(b:{b}) RETURN a.{NODE_KEYS[a]} AS src, b.{NODE_KEYS[b]} AS dst{extra}",
                  "SELECT src, dst" + "".join(f", {p}" for p in props) + f" FROM {t}")
    return out


def contents(engine) -> dict[str, Counter]:
    """Every node and stored relationship of ``engine`` (a runner or the :class:`Oracle`) as multisets
    of rows, per label and type."""
    out = {}
    for name, (cypher, sql) in content_queries().items():
        cols = ("src", "dst", *REL_TYPES[name][2]) if name in REL_TYPES else tuple(NODE_PROPS[name])
        if isinstance(engine, Oracle):
            rows = [tuple(norm(x) for x in r) for r in engine.con.execute(sql).fetchall()]
        else:
            rows = engine.run(RawQuery(cypher, cols))
        out[name] = Counter(rows)
    return out


def content_differences(a: dict[str, Counter], b: dict[str, Counter], names=("a", "b"), shown: int = 5) -> list[str]:
    """The labels and types whose rows differ, with a few rows only in each side."""
    lines = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key, Counter()), b.get(key, Counter())
        if x != y:
            only_x, only_y = x - y, y - x
            lines.append(f"{key}: {sum(x.values())} rows in {names[0]}, {sum(y.values())} in {names[1]}; "
                         f"only in {names[0]} ({sum(only_x.values())}): {sorted(only_x, key=repr)[:shown]}; "
                         f"only in {names[1]} ({sum(only_y.values())}): {sorted(only_y, key=repr)[:shown]}")
    return lines


# --- building the store -------------------------------------------------------------------------

def build_workspace(root: Path, patents: int = 20_000, seed: int = 31, years=(2006, 2020)) -> Path:
    """synth → ingest into ``root`` (a workspace); reused when ``root/canonical`` exists."""
    from citynet.commands.init import TEMPLATE
    from citynet.workspace import Workspace

    root = Path(root)
    if (root / "canonical" / "patents.parquet").exists():
        return root
    from citynet.etl.pipeline import ingest

    from citynet.synth import SynthConfig, synthesize

    root.mkdir(parents=True, exist_ok=True)
    (root / "citynet.toml").write_text(TEMPLATE, encoding="utf-8")
    ws = Workspace.open(root)
    synthesize(root, SynthConfig(seed=seed, n_patents=patents, years=years))
    ingest(ws, [root / "raw" / "patents.csv"], [root / "raw" / "transfers.csv"], [])
    return root


def load_store(ws_root: Path, backend: str, **kw) -> dict:
    """Load the workspace's canonical tables into ``backend`` and build the default filter's projections."""
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.store import open_store

    from citynet.workspace import Workspace

    ws = Workspace.open(ws_root)
    with open_store(ws, backend=backend, **kw) as s:
        s.ensure_schema()
        s.load(ws.canonical)
        s.build_projections(NetworkFilter())
        return s.counts()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--patents", type=int, default=20_000)
    ap.add_argument("--workdir", default="/tmp/citynet-harness")
    ap.add_argument("--no-rewrite", action="store_true", help="send the embedded engine the query as it is")
    ap.add_argument("--engines", default="embedded,neo4j")
    ap.add_argument("--aggregates", type=int, default=0,
                    help="also run this many queries of the aggregate matrix (aggregate_matrix) with the seed")
    args = ap.parse_args(argv)
    with open_runners(Path(args.workdir), args.patents, args.engines, rewrite=not args.no_rewrite) \
            as (ws_root, runners):
        oracle = Oracle(ws_root / "canonical")
        values = value_pools(ws_root / "canonical")
        t = time.perf_counter()
        findings, stats = run(args.seed, args.count, runners, oracle, values)
        print(f"{stats} in {time.perf_counter() - t:.1f} s; {len(findings)} disagreements", flush=True)
        matrix = raw_disagreements(aggregate_matrix(values, args.seed, args.aggregates), runners)
        for report in matrix:
            print("disagreement (aggregate matrix):\n" + report, flush=True)
        if args.aggregates:
            print(f"aggregate matrix: {args.aggregates} queries; {len(matrix)} disagreements", flush=True)
        return 1 if findings or matrix else 0


@contextmanager
def open_runners(work: Path, patents: int = 20_000, engines: str = "embedded,neo4j", rewrite: bool = True):
    """The workspace of ``patents`` synthetic patents under ``work`` and a runner per engine of ``engines``
    (Neo4j first): builds or reuses the workspace and both stores, starts Neo4j (its own server under
    ``work/neo4j``) and stops it at the end. Yields ``(workspace root, runners)``."""
    import ladybug

    from citynet.neo4j_server import Neo4jServer

    ws_root = build_workspace(work / f"ws-{patents}", patents)
    version = getattr(ladybug, "__version__", "?")
    emb_dir = work / f"embedded-{ladybug.__name__}-{version}-{patents}"
    t = time.perf_counter()
    if not (emb_dir / "graph.lbdb").exists():
        _load_embedded_into(ws_root, emb_dir)
    print(f"embedded engine {ladybug.__name__} {version}: store ready in {time.perf_counter() - t:.1f} s", flush=True)
    runners: list = []
    server = None
    try:
        if "neo4j" in engines:
            server = Neo4jServer(work / "neo4j", password="citynet-harness", stop_with_parent=True)
            server.start(timeout=300)
            marker = work / "neo4j" / f"loaded-{patents}"
            if not marker.exists():
                server.reset_database()
                load_store(ws_root, "neo4j", uri=server.uri, user=server.user, password=server.password)
                marker.write_text("ok")
            runners.append(Neo4jRunner(server.uri, server.auth))
        if "embedded" in engines:
            runners.append(EmbeddedRunner(emb_dir / "graph.lbdb", rewrite=rewrite))
        yield ws_root, runners
    finally:
        for r in runners:
            r.close()
        if server is not None:
            server.stop()


def _load_embedded_into(ws_root: Path, store_dir: Path) -> None:
    from citynet.graph.embedded import EmbeddedStore
    from citynet.graph.network_filter import NetworkFilter

    with EmbeddedStore(store_dir) as s:
        s.ensure_schema()
        s.load(ws_root / "canonical")
        s.build_projections(NetworkFilter())


if __name__ == "__main__":
    sys.exit(main())
