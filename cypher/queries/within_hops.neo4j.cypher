// Cities within k hops of a city in a year's collaboration network, with their hop distance
// (shortest path length over that year's COLLABORATED edges), nearest first.
// @param city STRING city code
// @param k INT = 2 maximum number of hops (1..30)
// @param year INT year of the projection
// @param network STRING = @network network filter key (default: the workspace's [network])
MATCH (a:City {city_code: $city}), (b:City)
WHERE b.city_code <> a.city_code
MATCH p = shortestPath((a)-[:COLLABORATED*..30]-(b))
WHERE all(r IN relationships(p) WHERE r.year = $year AND r.network = $network)
WITH b, length(p) AS hops
WHERE hops <= $k
RETURN b.city_code AS city_code, b.name_zh AS name_zh, hops
ORDER BY hops, city_code
