// Writing the difference between computed and stored projection rows, LadybugDB.
// $rows is an Arrow table (src, dst, year, weight); $network the filter key.
// New edges are CREATEd from LOAD FROM rather than COPYed: COPY into a populated relationship table
// rewrites the adjacency of its (few, City) source nodes and costs in proportion to what is stored.

// name: create_collab
LOAD FROM $rows
MATCH (x:City {city_code: src}), (y:City {city_code: dst})
CREATE (x)-[:COLLABORATED {year: year, network: $network, weight: weight}]->(y);
// name: create_transfer
LOAD FROM $rows
MATCH (x:City {city_code: src}), (y:City {city_code: dst})
CREATE (x)-[:TRANSFERRED_TO {year: year, network: $network, weight: weight}]->(y);
// name: create_citation
LOAD FROM $rows
MATCH (x:City {city_code: src}), (y:City {city_code: dst})
CREATE (x)-[:CITED {year: year, network: $network, weight: weight}]->(y);

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
