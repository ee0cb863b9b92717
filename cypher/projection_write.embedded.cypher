// Writing the difference between computed and stored projection rows, LadybugDB.
// $rows is an Arrow table (src, dst, year[, network, weight]); $network the filter key.
// New rows are bulk-copied (columns: from, to, then year, network, weight as declared).

// name: create_collab
COPY COLLABORATED FROM $rows;
// name: create_transfer
COPY TRANSFERRED_TO FROM $rows;
// name: create_citation
COPY CITED FROM $rows;

// name: update_collab
LOAD FROM $rows
MATCH (:City {city_code: src})-[r:COLLABORATED]->(:City {city_code: dst})
WHERE r.network = $network AND r.year = year
SET r.weight = weight;
// name: update_transfer
LOAD FROM $rows
MATCH (:City {city_code: src})-[r:TRANSFERRED_TO]->(:City {city_code: dst})
WHERE r.network = $network AND r.year = year
SET r.weight = weight;
// name: update_citation
LOAD FROM $rows
MATCH (:City {city_code: src})-[r:CITED]->(:City {city_code: dst})
WHERE r.network = $network AND r.year = year
SET r.weight = weight;

// name: delete_collab
LOAD FROM $rows
MATCH (:City {city_code: src})-[r:COLLABORATED]->(:City {city_code: dst})
WHERE r.network = $network AND r.year = year
DELETE r;
// name: delete_transfer
LOAD FROM $rows
MATCH (:City {city_code: src})-[r:TRANSFERRED_TO]->(:City {city_code: dst})
WHERE r.network = $network AND r.year = year
DELETE r;
// name: delete_citation
LOAD FROM $rows
MATCH (:City {city_code: src})-[r:CITED]->(:City {city_code: dst})
WHERE r.network = $network AND r.year = year
DELETE r;
