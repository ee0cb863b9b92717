// The first and last years the store's records carry (both engines): `citynet query` reads them only when a
// library query with a year parameter found no row, to tell a year outside them (a typo such as 2105, 1990
// for a corpus of 2006–2020) from a year with no edge (citynet/commands/query.py: check_years). Each block
// returns one row or none; on Neo4j the patent ones read an end of the app_year / grant_year index
// (an index-backed ORDER BY … LIMIT 1), on LadybugDB they are one column scan; the transfer ones are read
// only when the year lies outside the patents' years (the year of a transfer may be later).
// name: first_app_year
MATCH (p:Patent) WHERE p.app_year IS NOT NULL RETURN p.app_year AS year ORDER BY year LIMIT 1;
// name: last_app_year
MATCH (p:Patent) WHERE p.app_year IS NOT NULL RETURN p.app_year AS year ORDER BY year DESC LIMIT 1;
// name: first_grant_year
MATCH (p:Patent) WHERE p.grant_year IS NOT NULL RETURN p.grant_year AS year ORDER BY year LIMIT 1;
// name: last_grant_year
MATCH (p:Patent) WHERE p.grant_year IS NOT NULL RETURN p.grant_year AS year ORDER BY year DESC LIMIT 1;
// name: first_transfer_year
MATCH ()-[t:TRANSFERRED]->() WHERE t.year IS NOT NULL RETURN t.year AS year ORDER BY year LIMIT 1;
// name: last_transfer_year
MATCH ()-[t:TRANSFERRED]->() WHERE t.year IS NOT NULL RETURN t.year AS year ORDER BY year DESC LIMIT 1;
