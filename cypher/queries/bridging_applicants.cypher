// Applicants bridging two provinces: applicants located in one of the two provinces that co-applied
// patents (application years year_from..year_to, any kind) with applicants located in the other,
// with the number of such joint patents and of distinct partners there.
// @param province_a STRING 2-digit+0000 province code, e.g. 320000
// @param province_b STRING the other province code, e.g. 310000
// @param year_from INT = 0 first application year
// @param year_to INT = 9999 last application year
// @param limit INT = 20 number of applicants
MATCH (ca:City)<-[:LOCATED_IN]-(a:Applicant)-[:APPLIED]->(p:Patent)<-[:APPLIED]-(b:Applicant)-[:LOCATED_IN]->(cb:City)
WHERE p.app_year >= $year_from AND p.app_year <= $year_to
  AND ca.province_code IN [$province_a, $province_b] AND cb.province_code IN [$province_a, $province_b]
  AND ca.province_code <> cb.province_code
RETURN a.applicant_id AS applicant_id, a.name AS name, ca.province_code AS province_code,
       count(DISTINCT p.patent_id) AS joint_patents, count(DISTINCT b.applicant_id) AS partners
ORDER BY joint_patents DESC, applicant_id
LIMIT $limit
