// Neo4j load statements: batched UNWIND of parameter rows ($rows, 5,000 per batch, two writers),
// with the uniqueness constraints on the natural keys created before any load. Only new rows and
// rows whose row_hash changed are sent, so a reload of unchanged tables writes nothing. Rows that
// the load's anti-join found new are CREATEd (relationships between end nodes matched by
// elementId); changed ones are MERGEd on the keys with labelled MATCH of the end nodes (and first
// deleted where their end nodes may have changed).

// Fetches page through the store in key order (keyset pagination on the unique index): each call
// returns one page as a single collected list, `rows`, and the page's last key, `last` (null when
// no page is left). One list per page is decoded far faster by the driver than a record per row.
// Nodes also return their elementId, which the relationship loads match on (cheaper than a
// unique-index seek); relationships are paged by their start node.

// name: fetch_City
MATCH (x:City) WHERE x.city_code > $after
WITH x ORDER BY x.city_code LIMIT $limit
RETURN collect([x.city_code, x.row_hash, elementId(x)]) AS rows, max(x.city_code) AS last;
// name: fetch_Applicant
MATCH (x:Applicant) WHERE x.applicant_id > $after
WITH x ORDER BY x.applicant_id LIMIT $limit
RETURN collect([x.applicant_id, x.row_hash, elementId(x)]) AS rows, max(x.applicant_id) AS last;
// name: fetch_Patent
MATCH (x:Patent) WHERE x.patent_id > $after
WITH x ORDER BY x.patent_id LIMIT $limit
RETURN collect([x.patent_id, x.row_hash, elementId(x)]) AS rows, max(x.patent_id) AS last;
// name: fetch_LOCATED_IN
MATCH (a:Applicant) WHERE a.applicant_id > $after
WITH a ORDER BY a.applicant_id LIMIT $limit
OPTIONAL MATCH (a)-[r:LOCATED_IN]->(:City)
RETURN collect(CASE WHEN r IS NULL THEN null ELSE [a.applicant_id, r.row_hash] END) AS rows,
       max(a.applicant_id) AS last;
// name: fetch_APPLIED
MATCH (a:Applicant) WHERE a.applicant_id > $after
WITH a ORDER BY a.applicant_id LIMIT $limit
OPTIONAL MATCH (a)-[r:APPLIED]->(p:Patent)
RETURN collect(CASE WHEN r IS NULL THEN null ELSE [a.applicant_id, p.patent_id, r.row_hash] END) AS rows,
       max(a.applicant_id) AS last;
// name: fetch_CITES
MATCH (p:Patent) WHERE p.patent_id > $after
WITH p ORDER BY p.patent_id LIMIT $limit
OPTIONAL MATCH (p)-[r:CITES]->(q:Patent)
RETURN collect(CASE WHEN r IS NULL THEN null ELSE [p.patent_id, q.patent_id, r.row_hash] END) AS rows,
       max(p.patent_id) AS last;
// name: fetch_TRANSFERRED
MATCH (a:Applicant) WHERE a.applicant_id > $after
WITH a ORDER BY a.applicant_id LIMIT $limit
OPTIONAL MATCH (a)-[r:TRANSFERRED]->(:Applicant)
RETURN collect(CASE WHEN r IS NULL THEN null ELSE [r.transfer_id, r.row_hash] END) AS rows,
       max(a.applicant_id) AS last;

// New nodes (the anti-join found their keys absent) are CREATEd and return their elementIds;
// changed ones are MERGEd on the key.
// name: create_City
UNWIND $rows AS r
CREATE (x:City) SET x = r
RETURN collect([r.city_code, elementId(x)]) AS ids;
// name: create_Applicant
UNWIND $rows AS r
CREATE (x:Applicant) SET x = r
RETURN collect([r.applicant_id, elementId(x)]) AS ids;
// name: create_Patent
UNWIND $rows AS r
CREATE (x:Patent) SET x = r
RETURN collect([r.patent_id, elementId(x)]) AS ids;

// name: upsert_City
UNWIND $rows AS r
MERGE (x:City {city_code: r.city_code})
SET x += r;
// name: upsert_Applicant
UNWIND $rows AS r
MERGE (x:Applicant {applicant_id: r.applicant_id})
SET x += r;
// name: upsert_Patent
UNWIND $rows AS r
MERGE (x:Patent {patent_id: r.patent_id})
SET x += r;
// name: upsert_LOCATED_IN
UNWIND $rows AS r
MATCH (a:Applicant {applicant_id: r.applicant_id})
MATCH (c:City {city_code: r.city_code})
MERGE (a)-[x:LOCATED_IN]->(c)
SET x.row_hash = r.row_hash;
// name: upsert_APPLIED
UNWIND $rows AS r
MATCH (a:Applicant {applicant_id: r.applicant_id})
MATCH (p:Patent {patent_id: r.patent_id})
MERGE (a)-[x:APPLIED]->(p)
SET x.seq = r.seq, x.city_code = r.city_code, x.row_hash = r.row_hash;
// name: upsert_CITES
UNWIND $rows AS r
MATCH (p:Patent {patent_id: r.citing_patent_id})
MATCH (q:Patent {patent_id: r.cited_patent_id})
MERGE (p)-[x:CITES]->(q)
SET x.refs = r.refs, x.row_hash = r.row_hash;
// name: upsert_TRANSFERRED
UNWIND $rows AS r
MATCH (a:Applicant {applicant_id: r.from_applicant_id})
MATCH (b:Applicant {applicant_id: r.to_applicant_id})
MERGE (a)-[x:TRANSFERRED {transfer_id: r.transfer_id}]->(b)
SET x.patent_id = r.patent_id, x.date = r.date, x.year = r.year, x.from_city = r.from_city,
    x.to_city = r.to_city, x.row_hash = r.row_hash;

// New relationships match their end nodes by elementId ($rows: from_id, to_id and the properties).
// name: create_LOCATED_IN
UNWIND $rows AS r
MATCH (a:Applicant) WHERE elementId(a) = r.from_id
MATCH (c:City) WHERE elementId(c) = r.to_id
CREATE (a)-[:LOCATED_IN {row_hash: r.row_hash}]->(c);
// name: create_APPLIED
UNWIND $rows AS r
MATCH (a:Applicant) WHERE elementId(a) = r.from_id
MATCH (p:Patent) WHERE elementId(p) = r.to_id
CREATE (a)-[:APPLIED {seq: r.seq, city_code: r.city_code, row_hash: r.row_hash}]->(p);
// name: create_CITES
UNWIND $rows AS r
MATCH (p:Patent) WHERE elementId(p) = r.from_id
MATCH (q:Patent) WHERE elementId(q) = r.to_id
CREATE (p)-[:CITES {refs: r.refs, row_hash: r.row_hash}]->(q);
// name: create_TRANSFERRED
UNWIND $rows AS r
MATCH (a:Applicant) WHERE elementId(a) = r.from_id
MATCH (b:Applicant) WHERE elementId(b) = r.to_id
CREATE (a)-[:TRANSFERRED {transfer_id: r.transfer_id, patent_id: r.patent_id, date: r.date, year: r.year,
                          from_city: r.from_city, to_city: r.to_city, row_hash: r.row_hash}]->(b);

// name: delete_LOCATED_IN
UNWIND $rows AS r
MATCH (:Applicant {applicant_id: r.applicant_id})-[x:LOCATED_IN]->(:City)
DELETE x;
// name: delete_APPLIED
UNWIND $rows AS r
MATCH (:Applicant {applicant_id: r.applicant_id})-[x:APPLIED]->(:Patent {patent_id: r.patent_id})
DELETE x;
// name: delete_CITES
UNWIND $rows AS r
MATCH (:Patent {patent_id: r.citing_patent_id})-[x:CITES]->(:Patent {patent_id: r.cited_patent_id})
DELETE x;
// name: delete_TRANSFERRED
UNWIND $rows AS r
MATCH (:Applicant)-[x:TRANSFERRED {transfer_id: r.transfer_id}]->(:Applicant)
DELETE x;

// Applicants of meta 'orphans' (graph/store.py: _note_orphans: merged away by the names' harmonisation
// after an append, or whose links this load deleted) left without any link: deleted with their LOCATED_IN,
// so that the store holds the nodes a fresh load of the canonical tables gives.
// name: unlinked_applicants
UNWIND $ids AS id
MATCH (a:Applicant {applicant_id: id})
WHERE NOT EXISTS { (a)-[:APPLIED]->(:Patent) } AND NOT EXISTS { (a)-[:TRANSFERRED]-(:Applicant) }
OPTIONAL MATCH (a)-[l:LOCATED_IN]->(:City)
RETURN a.applicant_id AS k, count(l) AS located;
// name: delete_applicants
UNWIND $ids AS id
MATCH (a:Applicant {applicant_id: id})
DETACH DELETE a;

// name: schema_version
MATCH (m:Meta {key: 'schema_version'}) RETURN m.value AS value;
// name: set_meta
MERGE (m:Meta {key: $key}) SET m.value = $value;
// name: get_meta
MATCH (m:Meta {key: $key}) RETURN m.value AS value;
// name: meta_with_prefix
MATCH (m:Meta) WHERE m.key STARTS WITH $prefix RETURN m.key AS key, m.value AS value;
// name: count_nodes
MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n;
// name: count_rels
MATCH ()-[r]->() RETURN type(r) AS label, count(*) AS n;
// After an offline import (graph/neo4j_import.py): the importer cannot store an empty list (an empty
// field is no property), while the batched loader stores [] (and null as no property). The import
// marks each node with empty lists with one label naming those columns; each block below sets the
// lists of one such label and removes it (one label per node: one write each, in two concurrent
// transactions). graph/neo4j_store.py runs the blocks whose label db.labels() lists.
// name: imported_empty_list_labels
CALL db.labels() YIELD label WHERE label STARTS WITH 'CitynetEmptyList_' RETURN label;
// name: imported_empty_lists:CitynetEmptyList_ipc
MATCH (p:CitynetEmptyList_ipc)
CALL { WITH p SET p.ipc = [] REMOVE p:CitynetEmptyList_ipc } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
// name: imported_empty_lists:CitynetEmptyList_cpc
MATCH (p:CitynetEmptyList_cpc)
CALL { WITH p SET p.cpc = [] REMOVE p:CitynetEmptyList_cpc } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
// name: imported_empty_lists:CitynetEmptyList_green_topics
MATCH (p:CitynetEmptyList_green_topics)
CALL { WITH p SET p.green_topics = [] REMOVE p:CitynetEmptyList_green_topics } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
// name: imported_empty_lists:CitynetEmptyList_ipc_cpc
MATCH (p:CitynetEmptyList_ipc_cpc)
CALL { WITH p SET p.ipc = [], p.cpc = [] REMOVE p:CitynetEmptyList_ipc_cpc } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
// name: imported_empty_lists:CitynetEmptyList_ipc_green_topics
MATCH (p:CitynetEmptyList_ipc_green_topics)
CALL { WITH p SET p.ipc = [], p.green_topics = [] REMOVE p:CitynetEmptyList_ipc_green_topics } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
// name: imported_empty_lists:CitynetEmptyList_cpc_green_topics
MATCH (p:CitynetEmptyList_cpc_green_topics)
CALL { WITH p SET p.cpc = [], p.green_topics = [] REMOVE p:CitynetEmptyList_cpc_green_topics } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
// name: imported_empty_lists:CitynetEmptyList_ipc_cpc_green_topics
MATCH (p:CitynetEmptyList_ipc_cpc_green_topics)
CALL { WITH p SET p.ipc = [], p.cpc = [], p.green_topics = [] REMOVE p:CitynetEmptyList_ipc_cpc_green_topics } IN CONCURRENT TRANSACTIONS OF 10000 ROWS
RETURN count(p) AS n;
