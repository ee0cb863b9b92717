// Yearly city projections, built inside the store (both engines run this file).
// Definitions: graph/network_filter.py. Parameters (NetworkFilter.params() plus the years):
//   $network  the filter key stored on every projection relationship (e.g. invention.wipo.all)
//   $kind, $any_kind, $green, $granted_only, $grant_year   the patent filter
//   $all_years (BOOLEAN), $years (INT64 list)              which years to (re)build
// A rebuild deletes the filter's relationships of those years first, so it is idempotent.

// name: delete_collab
MATCH (:City)-[r:COLLABORATED]->(:City)
WHERE r.network = $network AND ($all_years OR r.year IN $years)
DELETE r;

// name: delete_transfer
MATCH (:City)-[r:TRANSFERRED_TO]->(:City)
WHERE r.network = $network AND ($all_years OR r.year IN $years)
DELETE r;

// name: delete_citation
MATCH (:City)-[r:CITED]->(:City)
WHERE r.network = $network AND ($all_years OR r.year IN $years)
DELETE r;

// name: build_collab
// every unordered pair of distinct cities of a filtered patent: +1 (stored once, src < dst)
MATCH (p:Patent)<-[l:APPLIED]-(:Applicant)
WHERE l.city_code IS NOT NULL
  AND ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND ($all_years OR (CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END) IN $years)
WITH p.patent_id AS pid, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr, l.city_code AS c
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
WITH DISTINCT pid, yr, c
WITH pid, yr, collect(c) AS cs
WHERE size(cs) > 1
UNWIND cs AS c1
UNWIND cs AS c2
WITH pid, yr, c1, c2
WHERE c1 < c2
WITH yr, c1, c2, count(*) AS w
MATCH (x:City {city_code: c1}), (y:City {city_code: c2})
CREATE (x)-[:COLLABORATED {year: yr, network: $network, weight: w}]->(y);

// name: build_transfer
// every transfer record of a filtered patent between two known, distinct cities: +1 (year = transfer year)
MATCH (:Applicant)-[t:TRANSFERRED]->(:Applicant)
WHERE t.from_city IS NOT NULL AND t.to_city IS NOT NULL AND t.from_city <> t.to_city
  AND t.year IS NOT NULL AND ($all_years OR t.year IN $years)
MATCH (p:Patent {patent_id: t.patent_id})
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
WITH t.year AS yr, t.from_city AS c1, t.to_city AS c2, count(*) AS w
MATCH (x:City {city_code: c1}), (y:City {city_code: c2})
CREATE (x)-[:TRANSFERRED_TO {year: yr, network: $network, weight: w}]->(y);

// name: build_citation
// knowledge flows from the cited patent's city to the citing patent's city (year = citing patent's year)
MATCH (:Applicant)-[l1:APPLIED]->(p:Patent)-[ct:CITES]->(q:Patent)<-[l2:APPLIED]-(:Applicant)
WHERE l1.city_code IS NOT NULL AND l2.city_code IS NOT NULL AND l1.city_code <> l2.city_code
  AND ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
WITH p.patent_id AS pid, q.patent_id AS qid, ct.refs AS refs, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr,
     l2.city_code AS c1, l1.city_code AS c2
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
WITH DISTINCT pid, qid, refs, yr, c1, c2
WITH yr, c1, c2, sum(refs) AS w
MATCH (x:City {city_code: c1}), (y:City {city_code: c2})
CREATE (x)-[:CITED {year: yr, network: $network, weight: w}]->(y);
