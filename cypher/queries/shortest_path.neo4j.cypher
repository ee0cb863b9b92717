// The shortest collaboration paths between two cities in a year: every shortest path (unweighted,
// undirected COLLABORATED edges of that year), one row each, as a route of city codes joined by '>'.
// @param city_a STRING city code of the start
// @param city_b STRING city code of the end
// @param year INT year of the projection
// @param network STRING = @network network filter key (default: the workspace's [network])
MATCH (a:City {city_code: $city_a}), (b:City {city_code: $city_b})
MATCH p = allShortestPaths((a)-[:COLLABORATED*..30]-(b))
WHERE all(r IN relationships(p) WHERE r.year = $year AND r.network = $network)
WITH length(p) AS hops, [n IN nodes(p) | n.city_code] AS codes
RETURN hops, reduce(s = head(codes), c IN tail(codes) | s + '>' + c) AS route
ORDER BY route
