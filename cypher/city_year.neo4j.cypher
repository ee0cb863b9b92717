// CityYear panel rows written back to the store (GraphStore.write_city_year), Neo4j;
// `delete_other_years` removes a network's rows of years its panel no longer holds (a full metrics run).
// name: upsert
UNWIND $rows AS r
MERGE (y:CityYear {key: r.key})
SET y += r
WITH y, r
MATCH (c:City {city_code: r.city_code})
MERGE (y)-[:OF_CITY]->(c);
// name: delete_other_years
MATCH (y:CityYear)
WHERE y.network = $network AND NOT y.year IN $years
DETACH DELETE y;
