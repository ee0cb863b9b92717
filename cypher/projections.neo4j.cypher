// Yearly city projections on Neo4j: the blocks of projections.cypher that Neo4j runs in another form
// (the same rows; parameters and definitions there). Each patent's distinct located cities are read by a
// COLLECT subquery (a list per patent), so that every row streams through to the one aggregation
// by city pair and year; the shared form matches a patent's APPLIED relationships twice and removes the
// repeated pairs with a DISTINCT over every (patent, year, city pair), which Neo4j holds in the
// transaction's memory. At 1,000,000 synthetic patents (2 cores, the same rows, docs/neo4j.md):
// compute_collab 8.1 -> 4.6 s, compute_citation 16.3 -> 10.5 s (two years of them: 9.0 -> 1.7 s); with
// every patent kind, the citations fit the default 768 MB heap (the shared form exhausts it).
// LadybugDB has no COLLECT subquery (nor pattern comprehension) and keeps projections.cypher.

// name: compute_collab
// every unordered pair of distinct cities of a filtered patent: +1 (stored once, src < dst)
MATCH (p:Patent)
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr,
     COLLECT { MATCH (:Applicant)-[l:APPLIED]->(p) WHERE l.city_code IS NOT NULL RETURN DISTINCT l.city_code } AS cities
WHERE yr IS NOT NULL AND size(cities) > 1
UNWIND cities AS c1
UNWIND cities AS c2
WITH yr, c1, c2
WHERE c1 < c2
RETURN c1 AS src, c2 AS dst, yr AS year, count(*) AS weight;

// name: compute_citation
// knowledge flows from the cited patent's city to the citing patent's city (year = citing patent's
// year); weight = the citing patents' reference counts (refs), each (citing, cited, city pair) once
MATCH (p:Patent)
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH p, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr,
     COLLECT { MATCH (:Applicant)-[l:APPLIED]->(p) WHERE l.city_code IS NOT NULL RETURN DISTINCT l.city_code } AS citing
WHERE yr IS NOT NULL AND size(citing) > 0
UNWIND COLLECT { MATCH (p)-[ct:CITES]->(q:Patent) RETURN DISTINCT [q, ct.refs] } AS r
WITH yr, citing, r[0] AS q, r[1] AS refs
WITH yr, citing, refs, COLLECT { MATCH (:Applicant)-[l:APPLIED]->(q) WHERE l.city_code IS NOT NULL RETURN DISTINCT l.city_code } AS cited
UNWIND cited AS c1
UNWIND citing AS c2
WITH c1, c2, yr, refs
WHERE c1 <> c2
RETURN c1 AS src, c2 AS dst, yr AS year, sum(refs) AS weight;
