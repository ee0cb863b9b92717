// LadybugDB load statements. $rows is the Arrow table being loaded, passed as a parameter
// (COPY ... FROM $rows / LOAD FROM $rows scan it); its columns are the table's columns
// in declared order (relationship tables: FROM key, TO key, then the properties).
// New keys are bulk-copied; rows whose row_hash changed are updated in place (nodes) or deleted and
// copied again (relationships), so a reload of unchanged tables writes nothing.

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

// name: copy_City
COPY City FROM $rows;
// name: copy_Applicant
COPY Applicant FROM $rows;
// name: copy_Patent
COPY Patent FROM $rows;
// name: copy_LOCATED_IN
COPY LOCATED_IN FROM $rows;
// name: copy_APPLIED
COPY APPLIED FROM $rows;
// name: copy_CITES
COPY CITES FROM $rows;
// name: copy_TRANSFERRED
COPY TRANSFERRED FROM $rows;

// New rows of a load are written to a temporary Parquet file and copied from it ({file}: that
// path, created by citynet, quoted; a file path cannot be a parameter): LadybugDB 0.20.4 keeps
// memory for every Arrow table copied from a parameter (about 0.8 KB per patent row), which a
// 10-million-patent load cannot afford; from a file its memory stays flat.
// name: copy_file_City
COPY City FROM '{file}';
// name: copy_file_Applicant
COPY Applicant FROM '{file}';
// name: copy_file_Patent
COPY Patent FROM '{file}';
// name: copy_file_LOCATED_IN
COPY LOCATED_IN FROM '{file}';
// name: copy_file_APPLIED
COPY APPLIED FROM '{file}';
// name: copy_file_CITES
COPY CITES FROM '{file}';
// name: copy_file_TRANSFERRED
COPY TRANSFERRED FROM '{file}';

// The batch files of an empty table, all in one COPY ({files}: their quoted paths, comma-separated,
// in order; citynet runs it on one thread so that the rows keep the files' order): a COPY into a
// table that already has rows rewrites much of it (at 10M patents, one COPY per batch file wrote
// 14.4 GB for a 2.3 GB store; one per table, 3.5 GB).
// name: copy_files_City
COPY City FROM [{files}];
// name: copy_files_Applicant
COPY Applicant FROM [{files}];
// name: copy_files_Patent
COPY Patent FROM [{files}];
// name: copy_files_LOCATED_IN
COPY LOCATED_IN FROM [{files}];
// name: copy_files_APPLIED
COPY APPLIED FROM [{files}];
// name: copy_files_CITES
COPY CITES FROM [{files}];
// name: copy_files_TRANSFERRED
COPY TRANSFERRED FROM [{files}];

// name: update_City
LOAD FROM $rows
MATCH (x:City {city_code: city_code})
SET x.name_zh = name_zh, x.short_name = short_name, x.province_code = province_code,
    x.province_zh = province_zh, x.lon = lon, x.lat = lat, x.tier = tier, x.region = region,
    x.row_hash = row_hash;
// name: update_Applicant
LOAD FROM $rows
MATCH (x:Applicant {applicant_id: applicant_id})
SET x.name = name, x.kind = kind, x.country = country, x.city_code = city_code,
    x.province_code = province_code, x.located_by = located_by, x.row_hash = row_hash;
// name: update_Patent
LOAD FROM $rows
MATCH (x:Patent {patent_id: patent_id})
SET x.app_date = app_date, x.app_year = app_year, x.pub_number = pub_number, x.grant_date = grant_date,
    x.granted = granted, x.patent_kind = patent_kind, x.ipc_main = ipc_main, x.ipc = ipc, x.cpc = cpc,
    x.green = green, x.green_topics = green_topics, x.y02 = y02, x.title = title,
    x.grant_year = grant_year, x.refs_made = refs_made, x.refs_foreign = refs_foreign, x.row_hash = row_hash;

// name: delete_LOCATED_IN
LOAD FROM $rows
MATCH (a:Applicant {applicant_id: applicant_id})-[r:LOCATED_IN]->(:City)
DELETE r;
// name: delete_APPLIED
LOAD FROM $rows
MATCH (a:Applicant {applicant_id: applicant_id})-[r:APPLIED]->(p:Patent {patent_id: patent_id})
DELETE r;
// name: delete_CITES
LOAD FROM $rows
MATCH (p:Patent {patent_id: citing_patent_id})-[r:CITES]->(q:Patent {patent_id: cited_patent_id})
DELETE r;
// The same deletes one row at a time, from the nodes' primary keys: `LOAD FROM $rows MATCH` scans
// every relationship of the table whatever the number of rows (about 1 s of CPU at 1M links), a
// statement with the keys as parameters walks the key's adjacency list (a few milliseconds), so a
// load that changed a few relationships (an applicant re-located by an append's vote) deletes them
// row by row (graph/embedded.py: FEW_CHANGED).
// name: delete_one_LOCATED_IN
MATCH (a:Applicant {applicant_id: $applicant_id})-[r:LOCATED_IN]->(:City)
DELETE r;
// name: delete_one_APPLIED
MATCH (a:Applicant {applicant_id: $applicant_id})-[r:APPLIED]->(p:Patent {patent_id: $patent_id})
DELETE r;
// name: delete_one_CITES
MATCH (p:Patent {patent_id: $citing_patent_id})-[r:CITES]->(q:Patent {patent_id: $cited_patent_id})
DELETE r;
// name: delete_TRANSFERRED
LOAD FROM $rows
MATCH (:Applicant)-[r:TRANSFERRED]->(:Applicant)
WHERE r.transfer_id = transfer_id
DELETE r;

// Applicants of meta 'orphans' (graph/store.py: _note_orphans: merged away by the names' harmonisation
// after an append, or whose links this load deleted) left without any link: deleted with their LOCATED_IN,
// so that the store holds the nodes a fresh load of the canonical tables gives.
// name: unlinked_applicants
UNWIND $ids AS id
MATCH (a:Applicant {applicant_id: id})
WHERE NOT EXISTS { MATCH (a)-[:APPLIED]->(:Patent) } AND NOT EXISTS { MATCH (a)-[:TRANSFERRED]-(:Applicant) }
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
MATCH (n) RETURN label(n) AS label, count(*) AS n;
// name: count_rels
MATCH ()-[r]->() RETURN label(r) AS label, count(*) AS n;

// The stored keys and row hashes of the rows of the patents of some application years ($years;
// $no_year: also patents without one), for the diff of a load that prepared only some partitions
// (a column scan with a filter: far cheaper than one key look-up per patent); of some patents ($ids,
// for links to patents outside the canonical tables); and which of some keys the store holds.
// name: fetch_years_Patent
MATCH (x:Patent) WHERE x.app_year IN $years OR ($no_year AND x.app_year IS NULL)
RETURN x.patent_id AS patent_id, x.row_hash AS row_hash;
// name: fetch_years_APPLIED
MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) WHERE p.app_year IN $years OR ($no_year AND p.app_year IS NULL)
RETURN a.applicant_id AS applicant_id, p.patent_id AS patent_id, r.row_hash AS row_hash;
// name: fetch_years_CITES
MATCH (p:Patent)-[r:CITES]->(q:Patent) WHERE p.app_year IN $years OR ($no_year AND p.app_year IS NULL)
RETURN p.patent_id AS citing_patent_id, q.patent_id AS cited_patent_id, r.row_hash AS row_hash;
// The row hashes of every stored row, for a load that re-reads a few buckets of many years (one scan
// of the table without the nodes' keys: about a ninth of the cost per row of the fetch above;
// graph/store.py: HASH_SHARE).
// name: fetch_hashes_Patent
MATCH (x:Patent) RETURN x.row_hash AS row_hash;
// name: fetch_hashes_APPLIED
MATCH (:Applicant)-[r:APPLIED]->(:Patent) RETURN r.row_hash AS row_hash;
// name: fetch_hashes_CITES
MATCH (:Patent)-[r:CITES]->(:Patent) RETURN r.row_hash AS row_hash;
// The stored row of one key (a prepared row whose hash the store does not hold: new or changed),
// from the nodes' primary keys (a few milliseconds; a list of keys is planned as a scan).
// name: fetch_key_Patent
MATCH (x:Patent {patent_id: $patent_id}) RETURN x.patent_id AS patent_id, x.row_hash AS row_hash;
// name: fetch_key_APPLIED
MATCH (a:Applicant {applicant_id: $applicant_id})-[r:APPLIED]->(p:Patent {patent_id: $patent_id})
RETURN a.applicant_id AS applicant_id, p.patent_id AS patent_id, r.row_hash AS row_hash;
// name: fetch_key_CITES
MATCH (p:Patent {patent_id: $citing_patent_id})-[r:CITES]->(q:Patent {patent_id: $cited_patent_id})
RETURN p.patent_id AS citing_patent_id, q.patent_id AS cited_patent_id, r.row_hash AS row_hash;
// The applicants the store holds (a load that must find links the canonical tables no longer have
// looks first at those of applicants outside the canonical tables: graph/store.py, _find_gone).
// name: applicant_ids
MATCH (a:Applicant) RETURN a.applicant_id AS applicant_id;
// The links of one applicant, from its primary key.
// name: applicant_links
MATCH (a:Applicant {applicant_id: $applicant_id})-[r:APPLIED]->(p:Patent)
RETURN a.applicant_id AS applicant_id, p.patent_id AS patent_id;
// name: fetch_ids_Patent
UNWIND $ids AS id MATCH (x:Patent {patent_id: id}) RETURN x.patent_id AS patent_id, x.row_hash AS row_hash;
// name: fetch_ids_APPLIED
UNWIND $ids AS id MATCH (a:Applicant)-[r:APPLIED]->(p:Patent {patent_id: id})
RETURN a.applicant_id AS applicant_id, p.patent_id AS patent_id, r.row_hash AS row_hash;
// name: fetch_ids_CITES
UNWIND $ids AS id MATCH (p:Patent {patent_id: id})-[r:CITES]->(q:Patent)
RETURN p.patent_id AS citing_patent_id, q.patent_id AS cited_patent_id, r.row_hash AS row_hash;
// name: known_Patent
UNWIND $ids AS id MATCH (x:Patent {patent_id: id}) RETURN x.patent_id AS k;
// name: known_Applicant
UNWIND $ids AS id MATCH (x:Applicant {applicant_id: id}) RETURN x.applicant_id AS k;
// name: any_Patent
MATCH (x:Patent) RETURN x.patent_id AS k LIMIT 1;
// name: any_APPLIED
MATCH (:Applicant)-[r:APPLIED]->(:Patent) RETURN r.row_hash AS k LIMIT 1;
// name: any_CITES
MATCH (:Patent)-[r:CITES]->(:Patent) RETURN r.row_hash AS k LIMIT 1;
// name: count_Patent
MATCH (x:Patent) RETURN count(*) AS n;
// name: any_Applicant
MATCH (x:Applicant) RETURN x.applicant_id AS k LIMIT 1;
