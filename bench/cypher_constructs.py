"""The construct matrix: Cypher a user writes that the structured generator of bench/cypher_harness.py does
not build, run on both stores.

Each template is one construct of Neo4j 5's language over citynet's schema (``UNWIND`` of a list property,
``DISTINCT`` projections, ``EXISTS``/``COUNT`` subqueries, pattern predicates and comprehensions, ``CALL``
subqueries, ``UNION``, text predicates and regular expressions, list quantifiers and comprehensions,
``reduce``, the statistical aggregates, dates and their fields, ``CASE``, type conversions, paths and
their length, ``type``/``labels``/``startNode``, ``range``, integer arithmetic …), filled with values
sampled from the canonical tables (the same for a seed whatever the run). A query is compared as a
multiset of rows (every ``LIMIT`` follows an ``ORDER BY`` of a unique key).

Outcomes: *agree*; *refused* (``citynet query`` names the construct and the rewrite: allowed); *loud* (the
embedded engine stops with its own error where Neo4j answers: the user sees an error, never a wrong
row); *silent* (different rows: a failure). Queries Neo4j itself rejects are not of the language.

Long run::

    python -m bench.cypher_constructs --seed 7 --count 600 [--subqueries 300] [--workdir DIR]

:func:`subquery_matrix` puts chains of the structured generator inside ``COUNT { … }`` / ``EXISTS { … }``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.cypher_harness import (
    Oracle,
    RawQuery,
    Timeout,
    Values,
    disagree,
    lit,
    open_runners,
    outcome,
    value_pools,
)

# One template per construct: (Cypher with {placeholders} filled by :func:`_fill`, returned columns, params).
# Literal braces of Cypher (maps, subqueries) are doubled.
TEMPLATES: list[tuple[str, tuple[str, ...], dict]] = [
    # UNWIND of list properties
    ("MATCH (p:Patent) WHERE p.app_year = {y} UNWIND p.ipc AS code RETURN substring(code, 0, 1) AS sec, "
     "count(*) AS n", ("sec", "n"), {}),
    ("MATCH (p:Patent) UNWIND p.green_topics AS t RETURN t AS topic, count(DISTINCT p) AS n", ("topic", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} UNWIND p.cpc AS code WITH p, code WHERE code STARTS WITH {sec} "
     "RETURN count(DISTINCT p) AS n, count(*) AS m", ("n", "m"), {}),
    ("MATCH (p:Patent {{patent_kind: {pk}}}) UNWIND p.ipc AS code RETURN p.app_year AS y, "
     "count(DISTINCT code) AS n", ("y", "n"), {}),
    ("MATCH (p:Patent) WHERE {code} IN p.ipc RETURN p.app_year AS y, count(*) AS n", ("y", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN size(p.ipc) AS s, size(p.green_topics) AS g, count(*) AS n",
     ("s", "g", "n"), {}),
    # DISTINCT projections
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} RETURN DISTINCT a.kind AS kind, "
     "p.patent_kind AS pk", ("kind", "pk"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WITH DISTINCT a, p.app_year AS y RETURN y, count(*) AS n",
     ("y", "n"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE a.kind = {k} WITH DISTINCT p RETURN p.app_year AS y, "
     "count(*) AS n", ("y", "n"), {}),
    ("MATCH (c:City)<-[:LOCATED_IN]-(a:Applicant) WHERE c.tier = {t} RETURN DISTINCT c.region AS r, a.kind AS k",
     ("r", "k"), {}),
    # subqueries and pattern predicates
    ("MATCH (c:City) WHERE EXISTS {{ MATCH (c)<-[:LOCATED_IN]-(a:Applicant) WHERE a.kind = {k} }} "
     "RETURN c.region AS r, count(c) AS n", ("r", "n"), {}),
    ("MATCH (c:City) WHERE NOT EXISTS {{ (c)<-[:LOCATED_IN]-(:Applicant) }} RETURN count(*) AS n", ("n",), {}),
    ("MATCH (a:Applicant) WHERE (a)-[:TRANSFERRED]->(:Applicant) RETURN a.kind AS kind, count(*) AS n",
     ("kind", "n"), {}),
    ("MATCH (a:Applicant) WHERE a.city_code = {c} AND NOT (a)-[:APPLIED]->(:Patent {{app_year: {y}}}) "
     "RETURN count(*) AS n", ("n",), {}),
    ("MATCH (a:Applicant {{city_code: {c}}}) RETURN a.applicant_id AS id, "
     "size([(a)-[:APPLIED]->(p:Patent) WHERE p.app_year >= {y} | p.patent_id]) AS n", ("id", "n"), {}),
    ("MATCH (a:Applicant {{city_code: {c}}}) RETURN a.applicant_id AS id, COUNT {{ (a)-[:APPLIED]->(:Patent) }} AS n",
     ("id", "n"), {}),
    # a COUNT grouped or filtered, no property of the outer node read (engine bug 29: rows of a count of 0 dropped)
    ("MATCH (c:City) RETURN COUNT {{ MATCH (c)<-[:LOCATED_IN]-(a:Applicant) WHERE a.kind = {k} }} AS u, count(*) AS n",
     ("u", "n"), {}),
    ("MATCH (c:City) WHERE COUNT {{ MATCH (c)<-[:LOCATED_IN]-(a:Applicant) WHERE a.kind = {k} }} = 0 "
     "RETURN count(*) AS n", ("n",), {}),
    ("MATCH (a:Applicant) WITH a, COUNT {{ MATCH (a)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} }} AS m "
     "RETURN m, count(*) AS n", ("m", "n"), {}),
    ("MATCH (c:City {{city_code: {c}}}) CALL {{ WITH c MATCH (c)<-[:LOCATED_IN]-(a:Applicant) RETURN count(a) AS n }} "
     "RETURN c.city_code AS code, n", ("code", "n"), {}),
    ("MATCH (c:City) WHERE c.tier = {t} CALL {{ WITH c MATCH (c)<-[:LOCATED_IN]-(:Applicant)-[:APPLIED]->(p:Patent) "
     "WHERE p.app_year = {y} RETURN count(DISTINCT p) AS n }} RETURN c.city_code AS code, n", ("code", "n"), {}),
    # UNION
    ("MATCH (a:Applicant {{kind: {k}}}) RETURN a.city_code AS code UNION "
     "MATCH (c:City {{tier: {t}}}) RETURN c.city_code AS code", ("code",), {}),
    ("MATCH (:Applicant {{kind: {k}}})-[:LOCATED_IN]->(c:City) RETURN c.region AS r UNION ALL "
     "MATCH (c:City {{tier: {t}}}) RETURN c.region AS r", ("r",), {}),
    # text predicates
    ("MATCH (a:Applicant) WHERE a.name STARTS WITH {pre} RETURN a.kind AS kind, count(*) AS n", ("kind", "n"), {}),
    ("MATCH (a:Applicant) WHERE a.name ENDS WITH {suf} RETURN a.kind AS kind, count(*) AS n", ("kind", "n"), {}),
    ("MATCH (a:Applicant) WHERE a.name CONTAINS {mid} RETURN a.city_code AS c, count(*) AS n", ("c", "n"), {}),
    ("MATCH (a:Applicant) WHERE a.name =~ {regex} RETURN a.kind AS kind, count(*) AS n", ("kind", "n"), {}),
    ("MATCH (c:City) WHERE c.name_zh IN ['北京市', {city}] OR c.short_name = {short} RETURN c.city_code AS code",
     ("code",), {}),
    ("MATCH (p:Patent) WHERE p.title CONTAINS {word} RETURN p.app_year AS y, count(*) AS n", ("y", "n"), {}),
    ("MATCH (c:City) WHERE c.city_code = {c} RETURN size(c.name_zh) AS s, left(c.name_zh, 2) AS l, "
     "substring(c.name_zh, 1, 2) AS m, toUpper(c.region) AS r", ("s", "l", "m", "r"), {}),
    # list quantifiers, comprehensions, reduce
    ("MATCH (p:Patent) WHERE any(x IN p.ipc WHERE x STARTS WITH {sec}) RETURN p.app_year AS y, count(*) AS n",
     ("y", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND all(x IN p.cpc WHERE x STARTS WITH {sec}) "
     "RETURN p.patent_kind AS k, count(*) AS n", ("k", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND none(x IN p.ipc WHERE x STARTS WITH {sec}) RETURN count(*) AS n",
     ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND single(x IN p.ipc WHERE x STARTS WITH {sec}) RETURN count(*) AS n",
     ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.patent_kind = {pk} RETURN p.patent_id AS id, "
     "[x IN p.ipc WHERE x STARTS WITH {sec} | substring(x, 0, 4)] AS l", ("id", "l"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN reduce(s = 0, x IN p.ipc | s + size(x)) AS n, count(*) AS m",
     ("n", "m"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.ipc[0] IN p.cpc RETURN count(*) AS n", ("n",), {}),
    # aggregates
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.patent_kind AS k, avg(p.refs_made) AS a, "
     "sum(p.refs_made) AS s, min(p.grant_year) AS lo, max(p.grant_year) AS hi", ("k", "a", "s", "lo", "hi"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.granted AS g, stDev(p.refs_made) AS sd, "
     "stDevP(p.refs_made) AS sdp", ("g", "sd", "sdp"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN percentileCont(p.refs_made, 0.5) AS m, "
     "percentileDisc(p.refs_made, 0.9) AS q", ("m", "q"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} WITH a, collect(DISTINCT p.patent_kind) AS ks "
     "RETURN size(ks) AS k, count(*) AS n", ("k", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} WITH p.patent_kind AS k, collect(p.patent_id) AS ids "
     "RETURN k, size(ids) AS n", ("k", "n"), {}),
    ("MATCH (a:Applicant) WITH a.kind AS kind, count(*) AS n RETURN kind, n, n * 100 / 1000 AS per_mille",
     ("kind", "n", "per_mille"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WITH a, count(p) AS n ORDER BY n DESC, a.applicant_id LIMIT 5 "
     "RETURN a.applicant_id AS id, n", ("id", "n"), {}),
    ("MATCH (c:City) WHERE c.lon > {lon} RETURN c.region AS r, round(avg(c.lat), 3) AS lat, count(*) AS n",
     ("r", "lat", "n"), {}),
    # dates
    ("MATCH (p:Patent) WHERE p.grant_date >= date({date}) RETURN p.app_year AS y, count(*) AS n", ("y", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_date.year = {y} RETURN p.app_date.month AS m, count(*) AS n", ("m", "n"), {}),
    ("MATCH ()-[t:TRANSFERRED]->() WHERE t.date.year = {y} RETURN t.date.quarter AS q, count(*) AS n", ("q", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.grant_date < date({date}) RETURN p.patent_kind AS k, "
     "min(p.grant_date) AS first, max(p.app_date) AS last", ("k", "first", "last"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.grant_date IS NOT NULL RETURN p.grant_date.year - p.app_year AS lag, "
     "count(*) AS n", ("lag", "n"), {}),
    # CASE, coalesce, conversions, arithmetic, booleans, nulls
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN coalesce(p.grant_year, -1) AS g, count(*) AS n", ("g", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN CASE p.patent_kind WHEN {pk} THEN 1 WHEN 'utility' THEN 2 "
     "ELSE 0 END AS k, count(*) AS n", ("k", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN toString(p.app_year) + '-' + p.patent_kind AS key, count(*) AS n",
     ("key", "n"), {}),
    ("MATCH (c:City) RETURN toInteger(c.city_code) / 10000 AS prov, count(*) AS n", ("prov", "n"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} WITH a.kind AS kind, count(DISTINCT a) AS apps, "
     "count(DISTINCT p) AS pats RETURN kind, toFloat(pats) / apps AS per, toString(apps) + '/' + toString(pats) AS s",
     ("kind", "per", "s"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN toFloat(count(*)) / toFloat(sum(size(p.ipc))) AS r, "
     "toFloat(max(p.refs_made)) AS m", ("r", "m"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.refs_made % 3 AS m, toFloat(p.refs_made) / 2 AS h, "
     "count(*) AS n", ("m", "h", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year IN [{y}, {y2}] AND p.patent_kind <> {pk} RETURN p.app_year AS y, count(*) AS n",
     ("y", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.grant_year IS NULL RETURN p.patent_kind AS k, count(*) AS n",
     ("k", "n"), {}),
    ("MATCH (p:Patent) WHERE p.grant_year > NULL RETURN count(*) AS n", ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.green AS g, p.y02 AS y02, count(*) AS n", ("g", "y02", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND (p.green OR p.y02) RETURN count(*) AS n", ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.granted = false XOR p.green RETURN count(*) AS n", ("n",), {}),
    ("MATCH (p:Patent) WHERE NOT p.granted AND p.app_year = {y} RETURN p.grant_year IS NULL AS nog, count(*) AS n",
     ("nog", "n"), {}),
    ("MATCH (a:Applicant) RETURN a.country AS c, a.located_by AS by, count(*) AS n", ("c", "by", "n"), {}),
    ("MATCH (p:Patent) WHERE p.ipc_main STARTS WITH {sec} AND p.app_year = {y} RETURN substring(p.ipc_main, 0, 3) "
     "AS cls, count(*) AS n", ("cls", "n"), {}),
    # ORDER BY a unique key with SKIP / LIMIT
    ("MATCH (c:City) RETURN c.city_code AS code ORDER BY c.city_code DESC SKIP {n} LIMIT 7", ("code",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} WITH p ORDER BY p.patent_id LIMIT 50 MATCH (p)<-[:APPLIED]-(a) "
     "RETURN a.kind AS k, count(*) AS n", ("k", "n"), {}),
    # an aggregate without grouping keys reading an ordered SKIP / LIMIT (engine bug 24)
    ("MATCH (c:City) WITH c ORDER BY c.lon DESC, c.city_code LIMIT {n} RETURN count(*) AS n, min(c.lon) AS lo, "
     "max(c.city_code) AS hi", ("n", "lo", "hi"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} WITH p ORDER BY p.patent_id DESC SKIP {n} RETURN count(*) AS n, "
     "max(p.patent_id) AS hi", ("n", "hi"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WITH a, count(p) AS n ORDER BY n DESC, a.applicant_id LIMIT 10 "
     "RETURN sum(n) AS top, min(n) AS least", ("top", "least"), {}),
    ("MATCH (p:Patent) WITH DISTINCT p.ipc_main AS m ORDER BY m DESC LIMIT 5 RETURN count(*) AS n, min(m) AS lo",
     ("n", "lo"), {}),
    ("MATCH (c:City) WITH c ORDER BY c.lat, c.city_code LIMIT {n} WITH c WHERE c.tier <> 'x' RETURN count(*) AS k, "
     "max(c.lat) AS hi", ("k", "hi"), {}),
    # paths, relationship functions, lists of values
    ("MATCH path = (p:Patent {{patent_id: {cpid}}})-[:CITES*1..3]->(:Patent) RETURN length(path) AS len, count(*) AS n",
     ("len", "n"), {}),
    ("MATCH path = (:Applicant {{applicant_id: {aid}}})-[:APPLIED*1..2]-(x) RETURN length(path) AS len, "
     "size(nodes(path)) AS s, count(*) AS n", ("len", "s", "n"), {}),
    ("MATCH (:Applicant {{applicant_id: {aid}}})-[r]->(x) RETURN type(r) AS t, labels(x) AS l, count(*) AS n",
     ("t", "l", "n"), {}),
    ("MATCH (:Applicant {{applicant_id: {aid}}})-[r:APPLIED]->(:Patent) RETURN startNode(r).applicant_id AS s, "
     "endNode(r).patent_id AS e, r.seq AS seq", ("s", "e", "seq"), {}),
    ("UNWIND $years AS y MATCH (p:Patent {{app_year: y}}) RETURN y, count(*) AS n", ("y", "n"), {"years": "years"}),
    ("UNWIND range({y}, {y} + 2) AS y OPTIONAL MATCH (p:Patent {{app_year: y, patent_kind: {pk}}}) "
     "RETURN y, count(p) AS n", ("y", "n"), {}),
    # the questions and other multi-hop shapes
    ("MATCH (c1:City)<-[:LOCATED_IN]-(:Applicant)-[:APPLIED]->(p:Patent)<-[:APPLIED]-(:Applicant)-[:LOCATED_IN]->"
     "(c2:City) WHERE p.app_year = {y} AND c1.city_code <> c2.city_code RETURN count(*) AS n", ("n",), {}),
    ("MATCH (c:City)-[r:COLLABORATED]-(d:City) WHERE r.year = {y} AND c.city_code < d.city_code "
     "RETURN c.region AS r1, d.region AS r2, sum(r.weight) AS w", ("r1", "r2", "w"), {}),
    ("MATCH (c:City {{city_code: {c}}}) OPTIONAL MATCH (c)-[r:COLLABORATED]-(d:City) WHERE r.year = {y} "
     "RETURN count(d) AS n, sum(r.weight) AS w", ("n", "w"), {}),
    ("MATCH (p:Patent)-[c:CITES]->(q:Patent) WHERE p.app_year = {y} RETURN q.app_year AS qy, sum(c.refs) AS r, "
     "count(*) AS n", ("qy", "r", "n"), {}),
    ("MATCH (:Applicant)-[t:TRANSFERRED]->(:Applicant) WHERE t.year = {y} RETURN t.from_city = t.to_city AS same, "
     "count(*) AS n", ("same", "n"), {}),
    ("MATCH (:Applicant)-[t:TRANSFERRED]->(:Applicant) WHERE t.year = {y} MATCH (p:Patent {{patent_id: t.patent_id}}) "
     "RETURN p.app_year AS py, count(*) AS n", ("py", "n"), {}),
    # ordering with nulls, text aggregates, texts in Chinese, negative arithmetic
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.patent_id AS id, p.grant_year AS g "
     "ORDER BY p.grant_year DESC, p.patent_id LIMIT 5", ("id", "g"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.patent_id AS id, p.grant_year AS g "
     "ORDER BY g, id SKIP {n} LIMIT 5", ("id", "g"), {}),
    ("MATCH (a:Applicant) WHERE a.city_code = {c} RETURN min(a.name) AS lo, max(a.name) AS hi, count(a.name) AS n",
     ("lo", "hi", "n"), {}),
    ("MATCH (c:City) WHERE c.region = {r} RETURN min(c.name_zh) AS lo, max(c.short_name) AS hi", ("lo", "hi"), {}),
    ("MATCH (a:Applicant) WHERE a.city_code = {c} RETURN a.applicant_id AS id, size(a.name) AS s, left(a.name, 2) AS l, "
     "right(a.name, 2) AS r, substring(a.name, 1, 3) AS m, reverse(a.name) AS v", ("id", "s", "l", "r", "m", "v"), {}),
    ("MATCH (a:Applicant) WHERE a.city_code = {c} RETURN a.applicant_id AS id, replace(a.name, {suf}, '') AS r, "
     "a.name CONTAINS {mid} AS has, toUpper(a.name) = a.name AS same", ("id", "r", "has", "same"), {}),
    ("MATCH (c:City) WHERE c.name_zh < {city} RETURN count(*) AS n", ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN (2000 - p.app_year) / 3 AS a, (2000 - p.app_year) % 3 AS b, "
     "abs(2000 - p.app_year) AS c, sign(p.app_year - 2013) AS d, count(*) AS n", ("a", "b", "c", "d", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN avg(p.app_year) AS a, sum(p.app_year) AS s, "
     "avg(p.refs_made * 1.0) AS f, max(p.refs_made) - min(p.refs_made) AS span", ("a", "s", "f", "span"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.refs_made / 2.0 AS h, p.refs_made * 1.5 AS m, "
     "p.refs_made ^ 2 AS sq, count(*) AS n", ("h", "m", "sq", "n"), {}),
    # WITH pipelines
    ("MATCH (p:Patent) WITH p.app_year AS y, count(*) AS n ORDER BY n DESC, y LIMIT 3 RETURN y, n", ("y", "n"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} WITH a.kind AS k, count(DISTINCT a) AS apps, "
     "count(p) AS links WITH k, apps, links, links * 1.0 / apps AS per RETURN k, apps, links, per",
     ("k", "apps", "links", "per"), {}),
    ("MATCH (c:City) OPTIONAL MATCH (c)<-[:LOCATED_IN]-(a:Applicant {{kind: {k}}}) WITH c, count(a) AS n "
     "WHERE n = 0 RETURN c.region AS r, count(*) AS cities", ("r", "cities"), {}),
    ("MATCH (c:City {{tier: {t}}}) OPTIONAL MATCH (c)<-[:LOCATED_IN]-(a:Applicant)-[:APPLIED]->(p:Patent) "
     "WHERE p.app_year = {y} RETURN c.city_code AS code, count(DISTINCT p) AS n, coalesce(max(p.refs_made), -1) AS m",
     ("code", "n", "m"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} MATCH (a)-[:LOCATED_IN]->(c:City) "
     "RETURN c.region AS r, count(DISTINCT a) AS apps, count(*) AS n", ("r", "apps", "n"), {}),
    ("MATCH (a:Applicant)-[:APPLIED]->(p:Patent) WHERE p.app_year = {y} WITH a, p ORDER BY p.patent_id "
     "WITH a, count(p) AS n RETURN n, count(*) AS apps", ("n", "apps"), {}),
    # nulls and comparisons
    ("MATCH (a:Applicant) WHERE a.city_code <> {c} OR a.city_code IS NULL RETURN a.kind AS k, count(*) AS n",
     ("k", "n"), {}),
    ("MATCH (a:Applicant) WHERE NOT a.city_code = {c} RETURN count(*) AS n", ("n",), {}),
    ("MATCH (a:Applicant) RETURN a.city_code IS NULL AS no_city, a.province_code IS NULL AS no_prov, count(*) AS n",
     ("no_city", "no_prov", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.grant_year > p.app_year + 2 AS late, count(*) AS n",
     ("late", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.grant_year = p.grant_year AS same, count(*) AS n",
     ("same", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN CASE WHEN p.grant_year IS NULL THEN 'pending' "
     "WHEN p.grant_year - p.app_year <= 1 THEN 'fast' ELSE 'slow' END AS speed, count(*) AS n", ("speed", "n"), {}),
    # parameters
    ("MATCH (a:Applicant) WHERE a.kind IN $kinds RETURN a.kind AS k, count(*) AS n", ("k", "n"), {"kinds": "kinds"}),
    ("MATCH (p:Patent) WHERE p.app_year >= $from AND p.app_year <= $to RETURN p.app_year AS y, count(*) AS n",
     ("y", "n"), {"range": "range"}),
    ("MATCH (a:Applicant) WHERE a.name STARTS WITH $prefix RETURN count(*) AS n", ("n",), {"prefix": "prefix"}),
    ("UNWIND $codes AS code MATCH (c:City {{city_code: code}}) RETURN c.city_code AS code, c.tier AS tier",
     ("code", "tier"), {"codes": "codes"}),
    # relationship properties and directions
    ("MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) WHERE r.seq > 1 AND p.app_year = {y} RETURN r.seq AS seq, "
     "count(*) AS n", ("seq", "n"), {}),
    ("MATCH (a:Applicant)-[r:APPLIED {{seq: 1}}]->(p:Patent) WHERE r.city_code = {c} RETURN p.app_year AS y, "
     "count(*) AS n", ("y", "n"), {}),
    ("MATCH (x:Applicant)-[t:TRANSFERRED]-(y:Applicant) WHERE x.city_code = {c} RETURN t.year AS yr, count(*) AS n",
     ("yr", "n"), {}),
    ("MATCH (p:Patent)<-[:CITES]-(q:Patent) WHERE p.app_year = {y} WITH p, count(q) AS cited "
     "RETURN cited, count(*) AS n", ("cited", "n"), {}),
    ("MATCH (p:Patent)-[:CITES]->(q:Patent)-[:CITES]->(r:Patent) WHERE p.app_year = {y} "
     "RETURN count(*) AS n, count(DISTINCT r) AS d", ("n", "d"), {}),
    # Neo4j syntax written for LadybugDB's parser (graph/compat_syntax.py), days between dates
    ("MATCH (a:Applicant {{city_code: {c}}}) RETURN a {{.applicant_id, .kind, .located_by, n: size(a.name)}} AS m",
     ("m",), {}),
    ("MATCH (c:City {{city_code: {c}}}) OPTIONAL MATCH (c)<-[:LOCATED_IN]-(a:Applicant {{kind: {k}}}) "
     "RETURN c {{.city_code, .tier}} AS city, a {{.applicant_id}} AS app", ("city", "app"), {}),
    ("MATCH (c:City) RETURN c.region AS group, count(*) AS all ORDER BY group", ("group", "all"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} WITH p.patent_kind AS order, count(*) AS n RETURN order, n "
     "ORDER BY n DESC, order", ("order", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.grant_date IS NOT NULL "
     "RETURN duration.inDays(p.app_date, p.grant_date).days / 365 AS years, count(*) AS n", ("years", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.patent_kind = {pk} RETURN p.patent_id AS id, "
     "[p.app_date, p.grant_date] AS dates, {{kind: p.patent_kind, granted: p.granted}} AS m", ("id", "dates", "m"), {}),
    # more shapes users write: untyped relationships, chained OPTIONAL MATCH, WITH *, ranges, projections
    ("MATCH (a:Applicant {{applicant_id: {aid}}})-[r]->(x) RETURN type(r) AS t, count(*) AS n", ("t", "n"), {}),
    ("MATCH (x)-[r:APPLIED]->(p:Patent {{patent_id: {pid}}}) RETURN labels(x) AS l, r.seq AS s", ("l", "s"), {}),
    ("MATCH (c:City {{city_code: {c}}}) OPTIONAL MATCH (c)<-[:LOCATED_IN]-(a:Applicant) "
     "OPTIONAL MATCH (a)-[:APPLIED]->(p:Patent {{app_year: {y}}}) RETURN count(DISTINCT a) AS apps, count(p) AS pats",
     ("apps", "pats"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} WITH * RETURN count(*) AS n", ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year IN range({y}, {y} + 2) RETURN p.app_year AS y, count(*) AS n", ("y", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} WITH p.app_year AS y, collect(p.patent_kind) AS ks UNWIND ks AS k "
     "RETURN y, k, count(*) AS n", ("y", "k", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN DISTINCT p.patent_kind AS k ORDER BY k LIMIT 2", ("k",), {}),
    ("MATCH (a:Applicant) WHERE a.kind = {k} RETURN a.city_code AS c, count(*) AS n ORDER BY n DESC, c LIMIT 5",
     ("c", "n"), {}),
    ("MATCH (c:City)<-[:LOCATED_IN]-(a:Applicant) WITH c, count(a) AS n RETURN avg(n) AS mean, max(n) AS most, "
     "min(n) AS least, sum(n) AS total", ("mean", "most", "least", "total"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN count(p.grant_year) AS granted, count(*) AS n, "
     "count(DISTINCT p.grant_year) AS years", ("granted", "n", "years"), {}),
    ("MATCH (a:Applicant) WHERE a.name =~ '.*(大学|学院|研究所).*' RETURN a.kind AS k, count(*) AS n", ("k", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN p.ipc_main IS NULL AS no_main, size(p.ipc) = 0 AS no_ipc, "
     "count(*) AS n", ("no_main", "no_ipc", "n"), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} AND p.ipc[0] = p.ipc_main RETURN count(*) AS n", ("n",), {}),
    ("MATCH (p:Patent) WHERE p.app_year = {y} RETURN substring(p.ipc[-1], 0, 1) AS last, count(*) AS n",
     ("last", "n"), {}),
    ("MATCH (c:City)-[r:CITED]->(d:City) WHERE r.year = {y} RETURN c.city_code = d.city_code AS self, "
     "sum(r.weight) AS w, count(*) AS n", ("self", "w", "n"), {}),
    ("MATCH (c:City)-[r:TRANSFERRED_TO]->(d:City) WHERE r.year = {y} RETURN count(*) AS n, sum(r.weight) AS w",
     ("n", "w"), {}),
    ("MATCH (c:City)-[r:COLLABORATED]->(:City) WHERE r.year = {y} WITH c, sum(r.weight) AS s "
     "ORDER BY s DESC, c.city_code LIMIT 5 RETURN c.city_code AS code, s", ("code", "s"), {}),
    ("MATCH (a:Applicant) WHERE a.city_code = {c} WITH a.kind AS k, collect(a.applicant_id) AS ids "
     "RETURN k, size(ids) AS n, ids[0] IS NULL AS empty", ("k", "n", "empty"), {}),
    ("MATCH (n) WHERE NOT n:Meta RETURN labels(n) AS l, count(*) AS c", ("l", "c"), {}),
    ("MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c", ("t", "c"), {}),
]


@dataclass
class Pools:
    """Values for the templates, sampled from the canonical tables (deterministic: ordered by the row's hash)."""

    values: Values
    names: list[str]
    cities: list[tuple[str, str]]  # (name_zh, short_name)
    codes: list[str]  # IPC codes that occur
    citing: list[str]  # patents that cite
    titles: list[str]
    lons: list[float]


def pools(canonical: Path) -> Pools:
    o = Oracle(canonical)

    def column(sql: str) -> list:
        return [r[0] for r in o.con.execute(sql).fetchall()]

    return Pools(
        values=value_pools(canonical),
        names=column("SELECT name FROM Applicant AS r WHERE name IS NOT NULL AND length(name) >= 4 "
                     "ORDER BY hash(r) LIMIT 200"),
        cities=[tuple(r) for r in o.con.execute(
            "SELECT name_zh, short_name FROM City AS r WHERE name_zh IS NOT NULL ORDER BY hash(r) LIMIT 100").fetchall()],
        codes=column("SELECT DISTINCT c FROM (SELECT unnest(ipc) AS c FROM Patent) AS r ORDER BY hash(c) LIMIT 100"),
        citing=column("SELECT DISTINCT src FROM CITES AS r ORDER BY hash(src) LIMIT 100"),
        titles=column("SELECT title FROM Patent AS r WHERE length(title) >= 4 ORDER BY hash(r) LIMIT 100"),
        lons=column("SELECT lon FROM City AS r WHERE lon IS NOT NULL ORDER BY hash(r) LIMIT 100"),
    )


def _fill(rng: random.Random, p: Pools) -> dict[str, object]:
    v = p.values
    name, title = rng.choice(p.names or ["北京大学"]), rng.choice(p.titles or ["一种装置"])
    y = v.pick(rng, "Patent", "app_year")
    city = rng.choice(p.cities or [("北京市", "北京")])
    at = rng.randrange(0, max(1, len(title) - 2))
    fields = {
        "y": y, "y2": v.pick(rng, "Patent", "app_year"), "k": v.pick(rng, "Applicant", "kind"),
        "c": v.pick(rng, "City", "city_code"), "t": v.pick(rng, "City", "tier"), "r": v.pick(rng, "City", "region"),
        "pk": v.pick(rng, "Patent", "patent_kind"),
        "aid": v.pick(rng, "Applicant", "applicant_id"), "pid": v.pick(rng, "Patent", "patent_id"), "cpid": rng.choice(p.citing or ["x"]),
        "sec": rng.choice(["A", "B", "C", "G", "H", "F0", "H01", "Y02"]), "code": rng.choice(p.codes or ["H01M"]),
        "pre": name[:2], "suf": name[-2:], "mid": name[1:3], "word": title[at:at + 2],
        "regex": rng.choice([f".*{name[-2:]}", f"{name[:2]}.*", f".*{name[1:3]}.*", f"(?i){name[:1]}.*"]),
        "city": city[0], "short": city[1], "n": rng.randrange(0, 20),
        "lon": round(rng.choice(p.lons or [110.0]), 2),
        "date": f"{y}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}" if y is not None else "2015-06-01",
    }
    return {k: lit(x) if not isinstance(x, int | float) or isinstance(x, bool) else x for k, x in fields.items()}


def _params(rng: random.Random, p: Pools, wanted: dict) -> dict[str, object]:
    """The parameters a template names, drawn like its written values."""
    v, out = p.values, {}
    if "years" in wanted:
        out["years"] = [v.pick(rng, "Patent", "app_year"), v.pick(rng, "Patent", "app_year"), 1900]
    if "kinds" in wanted:
        out["kinds"] = sorted({v.pick(rng, "Applicant", "kind") for _ in range(2)}) + ["nobody"]
    if "range" in wanted:
        out["from"], out["to"] = sorted([v.pick(rng, "Patent", "app_year"), v.pick(rng, "Patent", "app_year")])
    if "prefix" in wanted:
        out["prefix"] = rng.choice(p.names or ["北京"])[:rng.choice([1, 2, 3])]
    if "codes" in wanted:
        out["codes"] = [v.pick(rng, "City", "city_code"), v.pick(rng, "City", "city_code"), "999999"]
    return out


def construct_matrix(p: Pools, seed: int, count: int) -> list[RawQuery]:
    """``count`` queries: the templates in turn (each at least once when ``count`` ≥ their number), filled
    with values drawn by ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        text, cols, params = TEMPLATES[i % len(TEMPLATES)]
        fields = _fill(rng, p)
        bound = _params(rng, p, params)
        out.append(RawQuery(text.format(**fields), cols, tuple(sorted(bound.items()))))
    return out


def subquery_matrix(values: Values, seed: int, count: int) -> list[RawQuery]:
    """``count`` queries that put a chain of the structured generator (:func:`bench.cypher_harness.generate`:
    its ``MATCH`` patterns, a second pattern of the same ``MATCH``, its ``WHERE``) inside a ``COUNT { … }`` or
    ``EXISTS { … }`` subquery returned, in a ``WHERE`` (``COUNT { … } >= 1``, ``NOT EXISTS { … }``), after
    ``WITH`` or summed, from the chain's first node bound outside by its key: relationship uniqueness, filters
    and label tests within a subquery's own scope; in about 2 of 5, the subquery's ``WHERE`` also compares an
    inner node with the outer one (:func:`_correlated`)."""
    from dataclasses import replace

    from bench.cypher_harness import NODE_KEYS, _Ref, atoms, generate

    rng = random.Random(seed)
    out: list[RawQuery] = []
    while len(out) < count:
        q = generate(rng, values)
        first = q.nodes[0]
        if q.unwind or q.optional or q.with_where or (q.branch and q.branch_kind != "comma") or not first.label:
            continue
        # the filters of the first node alone go to the outer WHERE (read inside, a null one is engine bug 23
        # there); a filter that compares it with an inner node (n0.p <> n2.p) stays inside, where n2 is bound
        named = [{a.var for a in atoms(p)} | {a.value.var for a in atoms(p) if isinstance(a.value, _Ref)}
                 for p in q.where]
        mine = [{True} if n == {first.var} else {False} for n in named]
        inner = tuple(p for p, m in zip(q.where, mine, strict=True) if m == {False})
        lines = replace(q, where=inner).cypher().split("\n")
        matches = [line for line in lines if line.startswith("MATCH")]
        wheres = [line[len("WHERE "):] for line in lines if line.startswith("WHERE ")]
        if rng.random() < 0.4 and (pred := _correlated(rng, q)):
            wheres = [f"({wheres[0]}) AND {pred}"] if wheres else [pred]
        body = " ".join([*matches, *(f"WHERE {w}" for w in wheres)])
        key = NODE_KEYS[first.label]
        keys = sorted({k for k in (values.pick(rng, first.label, key) for _ in range(3)) if k is not None}, key=str)
        if not keys:
            continue
        outer = f"MATCH ({first.var}:{first.label}) WHERE " + " AND ".join(
            [f"{first.var}.{key} IN {lit(keys)}", *(p.render() for p, m in zip(q.where, mine, strict=True) if m == {True})])
        form = rng.choice(["count", "exists", "where", "not", "with", "sum"])
        cols: tuple[str, ...] = ("k", "n")
        if form == "where":
            text = f"{outer} AND COUNT {{ {body} }} >= 1 RETURN {first.var}.{key} AS k"
            cols = ("k",)
        elif form == "not":
            text = f"{outer} AND NOT EXISTS {{ {body} }} RETURN {first.var}.{key} AS k"
            cols = ("k",)
        elif form == "with":
            text = (f"{outer} WITH {first.var}, COUNT {{ {body} }} AS c WHERE c >= 1 "
                    f"RETURN {first.var}.{key} AS k, c AS n")
        elif form == "sum":
            text = f"{outer} RETURN count(*) AS k, sum(COUNT {{ {body} }}) AS n"
        else:
            word = "COUNT" if form == "count" else "EXISTS"
            text = f"{outer} RETURN {first.var}.{key} AS k, {word} {{ {body} }} AS n"
        out.append(RawQuery(text, cols, q.params))
    return out


# Properties of the same kind on two labels that a condition can compare (outer node's first): (label, prop)
_COMPARABLE = {
    ("Patent", "Patent"): [("app_year", "app_year"), ("grant_year", "grant_year"), ("grant_year", "app_year"),
                           ("patent_kind", "patent_kind"), ("granted", "granted")],
    ("Applicant", "Applicant"): [("kind", "kind"), ("city_code", "city_code"), ("province_code", "province_code")],
    ("Applicant", "City"): [("city_code", "city_code"), ("province_code", "province_code")],
    ("City", "Applicant"): [("province_code", "province_code"), ("city_code", "city_code")],
    ("City", "City"): [("province_code", "province_code"), ("tier", "tier")],
}
_INTS = {"app_year", "grant_year"}


def _correlated(rng: random.Random, q) -> str | None:
    """A condition of the subquery's ``WHERE`` that reads the outer (first) node's property beside an inner
    node's: null-propagating (``n2.app_year >= n0.grant_year``, ``NOT n1.kind = n0.kind``) or not (``… OR
    n0.grant_year IS NULL``, ``coalesce(…)``, a list holding it), over properties that are null for some nodes
    (``grant_year``, an unlocated applicant's ``city_code``): engine bug 23's ground, where citynet reads the
    first kind as written and refuses the second (graph/compat_subqueries.py)."""
    first = q.nodes[0]
    pairs = [(n, a, b) for n in q.nodes[1:] if n.label
             for a, b in _COMPARABLE.get((first.label, n.label), [])]
    if not pairs:
        return None
    node, outer_prop, inner_prop = rng.choice(pairs)
    o, i = f"{first.var}.{outer_prop}", f"{node.var}.{inner_prop}"
    ints = outer_prop in _INTS and inner_prop in _INTS
    forms = [f"{i} = {o}", f"{i} <> {o}", f"NOT {i} = {o}", f"({i} = {o} OR {o} IS NULL)",
             f"{i} IN [{o}, {i}]", f"{o} IS NULL"]
    if ints:
        forms += [f"{i} >= {o}", f"{i} < {o} + 2", f"coalesce({o}, 2012) <= {i}", f"abs({i} - {o}) <= 1"]
    return rng.choice(forms)


@dataclass
class Outcomes:
    agree: int = 0
    refused: int = 0
    not_cypher: int = 0  # Neo4j rejects it: not a query of the language
    timeout: int = 0
    silent: list[str] = field(default_factory=list)  # reports of different rows
    loud: list[str] = field(default_factory=list)  # the embedded engine's own errors
    loud_errors: list[str] = field(default_factory=list)  # their messages


def classify(queries: list[RawQuery], runners) -> Outcomes:
    """Each query's outcome (see the module docstring); ``runners``: a Neo4j and an embedded runner."""
    out = Outcomes()
    for q in queries:
        try:
            res = {r.name: outcome(r, q) for r in runners}
        except Timeout:
            out.timeout += 1
            continue
        ref, emb = res["neo4j"], res["embedded"]
        if isinstance(ref, str):
            out.not_cypher += 1
        elif not disagree(q, res):
            out.refused += isinstance(emb, str)
            out.agree += not isinstance(emb, str)
        else:
            report = q.text + (f"\n  params: {dict(q.params)}" if q.params else "") + "".join(
                f"\n  {name}: {rows[:12] if isinstance(rows, list) else rows}" for name, rows in res.items())
            if isinstance(emb, str):
                out.loud.append(report)
                out.loud_errors.append(emb)
            else:
                out.silent.append(report)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=len(TEMPLATES))
    ap.add_argument("--patents", type=int, default=20_000)
    ap.add_argument("--workdir", default="/tmp/citynet-harness")
    ap.add_argument("--no-rewrite", action="store_true", help="send the embedded engine the query as it is")
    ap.add_argument("--subqueries", type=int, default=0,
                    help="also run this many queries of the subquery matrix (subquery_matrix) with the seed")
    args = ap.parse_args(argv)
    with open_runners(Path(args.workdir), args.patents, rewrite=not args.no_rewrite) as (ws_root, runners):
        t = time.perf_counter()
        p = pools(ws_root / "canonical")
        queries = construct_matrix(p, args.seed, args.count) + subquery_matrix(p.values, args.seed, args.subqueries)
        res = classify(queries, runners)
        for report in res.silent:
            print("silent difference:\n" + report, flush=True)
        for report in res.loud:
            print("loud (engine error):\n" + report, flush=True)
        print(f"construct matrix, seed {args.seed}: {len(queries)} queries in {time.perf_counter() - t:.1f} s; "
              f"agree {res.agree}, refused {res.refused}, loud {len(res.loud)}, silent {len(res.silent)}, "
              f"not Cypher for Neo4j {res.not_cypher}, timed out {res.timeout}", flush=True)
        return 1 if res.silent else 0


if __name__ == "__main__":
    sys.exit(main())
