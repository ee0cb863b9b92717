// Neo4j's form of years.cypher's patent_ends: each end an index-backed ORDER BY … LIMIT 1 on the patent_app_year /
// patent_grant_year indexes (a look-up, not a scan of the patents); OPTIONAL, so that a store without grants
// still returns its row (null there).
// name: patent_ends
CALL () { OPTIONAL MATCH (p:Patent) WHERE p.app_year IS NOT NULL
       RETURN p.app_year AS first_app ORDER BY first_app LIMIT 1 }
CALL () { OPTIONAL MATCH (p:Patent) WHERE p.app_year IS NOT NULL
       RETURN p.app_year AS last_app ORDER BY last_app DESC LIMIT 1 }
CALL () { OPTIONAL MATCH (p:Patent) WHERE p.grant_year IS NOT NULL
       RETURN p.grant_year AS first_grant ORDER BY first_grant LIMIT 1 }
CALL () { OPTIONAL MATCH (p:Patent) WHERE p.grant_year IS NOT NULL
       RETURN p.grant_year AS last_grant ORDER BY last_grant DESC LIMIT 1 }
RETURN first_app, last_app, first_grant, last_grant;
