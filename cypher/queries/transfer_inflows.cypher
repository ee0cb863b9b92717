// A city's patent-transfer inflows by source province (TRANSFERRED_TO projection, years
// year_from..year_to): transfers received and the number of distinct source cities per province.
// @param city STRING city code of the receiving city
// @param year_from INT = 0 first year
// @param year_to INT = 9999 last year
// @param network STRING = @network network filter key (default: the workspace's [network])
MATCH (s:City)-[r:TRANSFERRED_TO]->(c:City {city_code: $city})
WHERE r.network = $network AND r.year >= $year_from AND r.year <= $year_to
RETURN s.province_code AS province_code, s.province_zh AS province_zh, sum(r.weight) AS transfers,
       count(DISTINCT s.city_code) AS source_cities
ORDER BY transfers DESC, province_code
