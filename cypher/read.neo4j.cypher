// Reads on Neo4j: the blocks of read.cypher that Neo4j runs in another form (the same rows; parameters
// and definitions there). As in projections.neo4j.cypher, a patent's distinct located cities (and the
// patents it cites) are read by COLLECT subqueries, a list per patent, so every row streams to
// the final aggregation; the shared forms remove repeated rows with a DISTINCT over every (patent, city)
// that Neo4j holds in the transaction's memory. At 1,000,000 synthetic patents (2 cores, docs/neo4j.md):
// counts_patents 6.4 -> 3.8 s, counts_collab 6.9 -> 3.5 s; counts_received about as fast (5.9 -> 6.2 s;
// with every patent kind 11.0 -> 9.0 s), kept for memory: with every patent kind it fits the default
// 768 MB heap, which the shared form exhausts. LadybugDB has no COLLECT subquery and keeps read.cypher.

// name: counts_patents
// green_patents, citations_made, citations_foreign
MATCH (p:Patent)
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH p, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
UNWIND COLLECT { MATCH (:Applicant)-[l:APPLIED]->(p) WHERE l.city_code IS NOT NULL RETURN DISTINCT l.city_code } AS c
RETURN c AS city_code, yr AS year, count(*) AS green_patents, sum(p.refs_made) AS citations_made,
       sum(p.refs_foreign) AS citations_foreign;

// name: counts_collab
// collab_patents, collab_patents_intraprov
MATCH (p:Patent)
WHERE ($any_kind OR p.patent_kind = $kind)
  AND ($green = 'all' OR ($green = 'wipo' AND p.green) OR ($green = 'y02' AND p.y02))
  AND (NOT $granted_only OR p.granted)
  AND (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH p, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
WITH yr, COLLECT { MATCH (:Applicant)-[l:APPLIED]->(p) WHERE l.city_code IS NOT NULL RETURN DISTINCT l.city_code } AS cities
WHERE size(cities) > 1
CALL (cities) {
  MATCH (x:City) WHERE x.city_code IN cities
  RETURN collect([x.city_code, x.province_code]) AS found
}
WITH yr, found
WHERE size(found) > 1
UNWIND found AS a
RETURN a[0] AS city_code, yr AS year, count(*) AS collab_patents,
       sum(CASE WHEN any(b IN found WHERE b[0] <> a[0] AND b[1] = a[1]) THEN 1 ELSE 0 END) AS collab_patents_intraprov;

// name: counts_received
// citations_received: citations from any corpus patent to the city's filtered patents, by the citing patent's year
MATCH (p:Patent)
WHERE (p.app_year IN $app_years OR p.grant_year IN $grant_years)
WITH p, CASE WHEN $grant_year THEN p.grant_year ELSE p.app_year END AS yr
WHERE yr IS NOT NULL AND ($all_years OR yr IN $years)
UNWIND COLLECT { MATCH (p)-[ct:CITES]->(q:Patent)
                  WHERE ($any_kind OR q.patent_kind = $kind)
                    AND ($green = 'all' OR ($green = 'wipo' AND q.green) OR ($green = 'y02' AND q.y02))
                    AND (NOT $granted_only OR q.granted)
                  RETURN DISTINCT [q, ct.refs] } AS r
WITH yr, r[0] AS q, r[1] AS refs
UNWIND COLLECT { MATCH (:Applicant)-[l:APPLIED]->(q) WHERE l.city_code IS NOT NULL RETURN DISTINCT l.city_code } AS c
RETURN c AS city_code, yr AS year, sum(refs) AS citations_received;
