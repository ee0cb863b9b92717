// Yearly city projections, computed inside the store (both engines run this file; Neo4j runs its own
// form of compute_collab and compute_citation, projections.neo4j.cypher: the same rows).
// Definitions: graph/network_filter.py. Parameters (NetworkFilter.params() plus the years):
//   $network  the filter key stored on every projection relationship (e.g. invention.wipo.all)
//   $kind, $any_kind, $green, $granted_only, $grant_year   the patent filter
//   $all_years (BOOLEAN), $years (INT64 list)              which years to (re)build
//   $app_years, $grant_years (INT64 lists)   the same years as the patent filter on the year basis
//                                            (the other list is [-1]); plain lists, no CASE and no
//                                            $all_years, so that Neo4j seeks its year indexes
// Each block returns the projection's rows (src, dst, year, weight). GraphStore.build_projections
// compares them with the relationships already stored (read.cypher edges_*) and writes only the
// difference with projection_write.<engine>.cypher, so a rebuild of unchanged years writes nothing.
// The year filter sits in the first WHERE so that the engine applies it while reading Patent.

// name: compute_collab
// every unordered pair of distinct cities of a filtered patent: +1 (stored once, src < dst)
MATCH (:Applicant)-[l1:APPLIED]->(p:Patent)<-[l2:APPLIED]-(:Applicant)
WHERE l1.city_code < l2.city_code
  AND ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH DISTINCT p.patent_id AS pid, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr,
     l1.city_code AS c1, l2.city_code AS c2
WHERE yr IS NOT NULL
RETURN c1 AS src, c2 AS dst, yr AS year, count(*) AS weight;

// name: compute_transfer
// every transfer record of a filtered patent between two known, distinct cities: +1 (year = transfer year)
MATCH (:Applicant)-[t:TRANSFERRED]->(:Applicant)
WHERE t.from_city IS NOT NULL AND t.to_city IS NOT NULL AND t.from_city <> t.to_city
  AND t.year IS NOT NULL AND ($all_years OR t.year IN $years)
WITH t.patent_id AS pid, t.from_city AS src, t.to_city AS dst, t.year AS year
MATCH (p:Patent {patent_id: pid})
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
RETURN src, dst, year, count(*) AS weight;

// name: compute_citation
// knowledge flows from the cited patent's city to the citing patent's city (year = citing patent's
// year); weight = the citing patents' reference counts (refs), each (citing, cited, city pair) once
MATCH (:Applicant)-[l1:APPLIED]->(p:Patent)-[ct:CITES]->(q:Patent)<-[l2:APPLIED]-(:Applicant)
WHERE l1.city_code IS NOT NULL AND l2.city_code IS NOT NULL AND l1.city_code <> l2.city_code
  AND ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH DISTINCT p.patent_id AS pid, q.patent_id AS qid, ct.refs AS refs,
     CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr, l2.city_code AS c1, l1.city_code AS c2
WHERE yr IS NOT NULL
RETURN c1 AS src, c2 AS dst, yr AS year, sum(refs) AS weight;
