// Top collaboration partners of a city in a year: partner cities ordered by the number of
// co-applied patents (edge weight of the COLLABORATED projection), ties by city code.
// @param city STRING city code, e.g. 320100 (Nanjing)
// @param year INT year of the projection
// @param limit INT = 10 number of partners
// @param network STRING = @network network filter key (default: the workspace's [network])
MATCH (c:City {city_code: $city})-[r:COLLABORATED]-(o:City)
WHERE r.year = $year AND r.network = $network
RETURN o.city_code AS partner, o.name_zh AS name_zh, o.province_code AS province_code, r.weight AS weight
ORDER BY weight DESC, partner
LIMIT $limit
