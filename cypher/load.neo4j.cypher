// Neo4j load statements: batched UNWIND of parameter rows ($rows, ~10k per batch), MERGE on the
// natural keys (whose uniqueness constraints exist before any load) and labelled MATCH for the
// end nodes of relationships. Only new rows and rows whose row_hash changed are sent, so a reload
// of unchanged tables writes nothing. Relationships that the load's anti-join found new are
// CREATEd (between MATCHed, labelled end nodes); changed ones are MERGEd (and first deleted where
// their end nodes may have changed).

// name: fetch_City
MATCH (x:City) RETURN x.city_code AS city_code, x.row_hash AS row_hash;
// name: fetch_Applicant
MATCH (x:Applicant) RETURN x.applicant_id AS applicant_id, x.row_hash AS row_hash;
// name: fetch_Patent
MATCH (x:Patent) RETURN x.patent_id AS patent_id, x.row_hash AS row_hash;
// name: fetch_LOCATED_IN
MATCH (a:Applicant)-[r:LOCATED_IN]->(:City) RETURN a.applicant_id AS applicant_id, r.row_hash AS row_hash;
// name: fetch_APPLIED
MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) RETURN a.applicant_id AS applicant_id, p.patent_id AS patent_id, r.row_hash AS row_hash;
// name: fetch_CITES
MATCH (p:Patent)-[r:CITES]->(q:Patent) RETURN p.patent_id AS citing_patent_id, q.patent_id AS cited_patent_id, r.row_hash AS row_hash;
// name: fetch_TRANSFERRED
MATCH (:Applicant)-[r:TRANSFERRED]->(:Applicant) RETURN r.transfer_id AS transfer_id, r.row_hash AS row_hash;

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

// name: create_LOCATED_IN
UNWIND $rows AS r
MATCH (a:Applicant {applicant_id: r.applicant_id})
MATCH (c:City {city_code: r.city_code})
CREATE (a)-[:LOCATED_IN {row_hash: r.row_hash}]->(c);
// name: create_APPLIED
UNWIND $rows AS r
MATCH (a:Applicant {applicant_id: r.applicant_id})
MATCH (p:Patent {patent_id: r.patent_id})
CREATE (a)-[:APPLIED {seq: r.seq, city_code: r.city_code, row_hash: r.row_hash}]->(p);
// name: create_CITES
UNWIND $rows AS r
MATCH (p:Patent {patent_id: r.citing_patent_id})
MATCH (q:Patent {patent_id: r.cited_patent_id})
CREATE (p)-[:CITES {refs: r.refs, row_hash: r.row_hash}]->(q);
// name: create_TRANSFERRED
UNWIND $rows AS r
MATCH (a:Applicant {applicant_id: r.from_applicant_id})
MATCH (b:Applicant {applicant_id: r.to_applicant_id})
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

// name: schema_version
MATCH (m:Meta {key: 'schema_version'}) RETURN m.value AS value;
// name: set_meta
MERGE (m:Meta {key: $key}) SET m.value = $value;
// name: get_meta
MATCH (m:Meta {key: $key}) RETURN m.value AS value;
// name: count_nodes
MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n;
// name: count_rels
MATCH ()-[r]->() RETURN type(r) AS label, count(*) AS n;
