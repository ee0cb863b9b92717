// A city's collaboration-partner churn between two years: every partner of either year marked
// continuing (both years), new (only year_b) or exited (only year_a), with the two edge weights.
// @param city STRING city code
// @param year_a INT the earlier year
// @param year_b INT the later year
// @param network STRING = @network network filter key (default: the workspace's [network])
MATCH (c:City {city_code: $city})-[r:COLLABORATED]-(o:City)
WHERE r.network = $network AND (r.year = $year_a OR r.year = $year_b)
WITH o.city_code AS partner, o.name_zh AS name_zh,
     sum(CASE WHEN r.year = $year_a THEN r.weight ELSE 0 END) AS weight_a,
     sum(CASE WHEN r.year = $year_b THEN r.weight ELSE 0 END) AS weight_b
RETURN partner, name_zh,
       CASE WHEN weight_a > 0 AND weight_b > 0 THEN 'continuing' WHEN weight_b > 0 THEN 'new' ELSE 'exited' END AS status,
       weight_a, weight_b
ORDER BY status, partner
