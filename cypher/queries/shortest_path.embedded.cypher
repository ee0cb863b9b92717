// LadybugDB dialect of shortest_path.neo4j.cypher: ALL SHORTEST recursive pattern with the
// relationship filter inside the pattern, properties(nodes(p), ...) and list_to_string().
MATCH p = (a:City {city_code: $city_a})-[r:COLLABORATED* ALL SHORTEST 1..30 (e, n | WHERE e.year = $year AND e.network = $network)]-(b:City {city_code: $city_b})
WITH length(r) AS hops, properties(nodes(p), 'city_code') AS codes
RETURN hops, list_to_string('>', codes) AS route
ORDER BY route
