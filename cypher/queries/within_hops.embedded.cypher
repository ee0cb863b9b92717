// LadybugDB dialect of within_hops.neo4j.cypher: a SHORTEST recursive pattern (walk semantics would
// otherwise revisit cities) with the relationship filter inside the pattern; length(r) is the hop count.
MATCH (a:City {city_code: $city})-[r:COLLABORATED* SHORTEST 1..30 (e, n | WHERE e.year = $year AND e.network = $network)]-(b:City)
WHERE b.city_code <> a.city_code AND length(r) <= $k
RETURN b.city_code AS city_code, b.name_zh AS name_zh, length(r) AS hops
ORDER BY hops, city_code
