// Reads behind GraphStore.city_edges and GraphStore.city_year_counts (both engines; Neo4j runs its own
// form of counts_patents, counts_collab and counts_received, read.neo4j.cypher: the same rows).
// Parameters as in projections.cypher. Counts are aggregated in the store; Python only reshapes.

// name: app_years
MATCH (p:Patent) WHERE p.app_year IS NOT NULL RETURN DISTINCT p.app_year AS year;
// name: grant_years
MATCH (p:Patent) WHERE p.grant_year IS NOT NULL RETURN DISTINCT p.grant_year AS year;
// Whether a patent was filed or granted in one of $years (stops at the first: a metrics refresh asks it).
// name: any_patent_of_years
MATCH (p:Patent) WHERE p.app_year IN $years OR p.grant_year IN $years RETURN p.patent_id AS patent_id LIMIT 1;
// The same for one year basis: filed in one of $years (a filter's application-year basis) …
// name: any_patent_filed_in
MATCH (p:Patent) WHERE p.app_year IN $years RETURN p.patent_id AS patent_id LIMIT 1;
// … or granted in one of them (the grant-year basis).
// name: any_patent_granted_in
MATCH (p:Patent) WHERE p.grant_year IN $years RETURN p.patent_id AS patent_id LIMIT 1;

// name: edges_collab
MATCH (a:City)-[r:COLLABORATED]->(b:City)
WHERE r.network = $network AND ($all_years OR r.year IN $years)
RETURN r.year AS year, a.city_code AS src, b.city_code AS dst, r.weight AS weight;

// name: edges_transfer
MATCH (a:City)-[r:TRANSFERRED_TO]->(b:City)
WHERE r.network = $network AND ($all_years OR r.year IN $years)
RETURN r.year AS year, a.city_code AS src, b.city_code AS dst, r.weight AS weight;

// name: edges_citation
MATCH (a:City)-[r:CITED]->(b:City)
WHERE r.network = $network AND ($all_years OR r.year IN $years)
RETURN r.year AS year, a.city_code AS src, b.city_code AS dst, r.weight AS weight;

// name: counts_patents
// green_patents, citations_made, citations_foreign
MATCH (p:Patent)<-[l:APPLIED]-(:Applicant)
WHERE l.city_code IS NOT NULL
  AND ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH p.patent_id AS pid, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr,
     p.refs_made AS rm, p.refs_foreign AS rf, l.city_code AS c
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
WITH DISTINCT pid, yr, rm, rf, c
RETURN c AS city_code, yr AS year, count(*) AS green_patents, sum(rm) AS citations_made,
       sum(rf) AS citations_foreign;

// name: counts_collab
// collab_patents, collab_patents_intraprov
MATCH (:Applicant)-[l1:APPLIED]->(p:Patent)<-[l2:APPLIED]-(:Applicant)
WHERE l1.city_code IS NOT NULL AND l2.city_code IS NOT NULL AND l1.city_code <> l2.city_code
  AND ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH p.patent_id AS pid, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr,
     l1.city_code AS c1, l2.city_code AS c2
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
MATCH (x:City {city_code: c1}), (y:City {city_code: c2})
WITH DISTINCT pid, yr, c1, CASE WHEN x.province_code = y.province_code THEN 1 ELSE 0 END AS same
WITH pid, yr, c1, max(same) AS ip
RETURN c1 AS city_code, yr AS year, count(*) AS collab_patents, sum(ip) AS collab_patents_intraprov;

// name: counts_transfers
// filtered transfers by (year, from city, to city, same province); Python sums out/in/local/intraprov
MATCH (:Applicant)-[t:TRANSFERRED]->(:Applicant)
WHERE t.from_city IS NOT NULL AND t.to_city IS NOT NULL
  AND t.year IS NOT NULL AND ($all_years OR t.year IN $years)
MATCH (p:Patent {patent_id: t.patent_id})
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
MATCH (x:City {city_code: t.from_city}), (y:City {city_code: t.to_city})
RETURN t.year AS year, x.city_code AS src, y.city_code AS dst,
       CASE WHEN x.province_code = y.province_code THEN 1 ELSE 0 END AS same_province, count(*) AS n;

// name: counts_received
// citations_received: citations from any corpus patent to the city's filtered patents, by the citing patent's year
// (one pattern: LadybugDB plans it in about 0.6x the time of a second MATCH for the cited patent's links)
MATCH (p:Patent)-[ct:CITES]->(q:Patent)<-[l:APPLIED]-(:Applicant)
WHERE (p.app_year IN $app_years OR p.grant_year IN $grant_years)
  AND ($any_kind OR q.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND q.green) OR ($green = 'y02' AND q.y02))
  AND (NOT $granted_only OR q.granted) AND l.city_code IS NOT NULL
WITH p, q, ct.refs AS refs, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr, l.city_code AS c
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
WITH DISTINCT p.patent_id AS pid, q.patent_id AS qid, refs, yr, c
RETURN c AS city_code, yr AS year, sum(refs) AS citations_received;

// name: stored_patent_years
// the years stored for these patents (a load marks them stale when it changes the patents' rows)
MATCH (x:Patent) WHERE x.patent_id IN $ids
RETURN x.app_year AS app_year, x.grant_year AS grant_year;

// name: stored_transfer_years
MATCH (:Applicant)-[r:TRANSFERRED]->(:Applicant) WHERE r.transfer_id IN $ids
RETURN r.year AS year;
