// Writing the difference between computed and stored projection rows, Neo4j.
// $rows is a batch of maps {src, dst, year, weight}; $network the filter key.

// name: create_collab
UNWIND $rows AS r
MATCH (x:City {city_code: r.src}), (y:City {city_code: r.dst})
CREATE (x)-[:COLLABORATED {year: r.year, network: $network, weight: r.weight}]->(y);
// name: create_transfer
UNWIND $rows AS r
MATCH (x:City {city_code: r.src}), (y:City {city_code: r.dst})
CREATE (x)-[:TRANSFERRED_TO {year: r.year, network: $network, weight: r.weight}]->(y);
// name: create_citation
UNWIND $rows AS r
MATCH (x:City {city_code: r.src}), (y:City {city_code: r.dst})
CREATE (x)-[:CITED {year: r.year, network: $network, weight: r.weight}]->(y);

// name: update_collab
UNWIND $rows AS r
MATCH (:City {city_code: r.src})-[x:COLLABORATED {network: $network, year: r.year}]->(:City {city_code: r.dst})
SET x.weight = r.weight;
// name: update_transfer
UNWIND $rows AS r
MATCH (:City {city_code: r.src})-[x:TRANSFERRED_TO {network: $network, year: r.year}]->(:City {city_code: r.dst})
SET x.weight = r.weight;
// name: update_citation
UNWIND $rows AS r
MATCH (:City {city_code: r.src})-[x:CITED {network: $network, year: r.year}]->(:City {city_code: r.dst})
SET x.weight = r.weight;

// name: delete_collab
UNWIND $rows AS r
MATCH (:City {city_code: r.src})-[x:COLLABORATED {network: $network, year: r.year}]->(:City {city_code: r.dst})
DELETE x;
// name: delete_transfer
UNWIND $rows AS r
MATCH (:City {city_code: r.src})-[x:TRANSFERRED_TO {network: $network, year: r.year}]->(:City {city_code: r.dst})
DELETE x;
// name: delete_citation
UNWIND $rows AS r
MATCH (:City {city_code: r.src})-[x:CITED {network: $network, year: r.year}]->(:City {city_code: r.dst})
DELETE x;
