// CityYear panel rows written back to the store (GraphStore.write_city_year), Neo4j.
// name: upsert
UNWIND $rows AS r
MERGE (y:CityYear {key: r.key})
SET y += r
WITH y, r
MATCH (c:City {city_code: r.city_code})
MERGE (y)-[:OF_CITY]->(c);
