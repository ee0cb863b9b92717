// The first and last years the store's records carry: `citynet query` reads them only when a library query with
// a year parameter found no row, to tell a year outside them (a typo such as 2105, 1990 for a corpus of
// 2006–2020) from a year with no edge (citynet/commands/query.py: years_error). One row each; a column is null
// when no record has such a year. LadybugDB: one scan of the columns (8.8 million patents: 0.04 s); Neo4j runs
// its own form of patent_ends (years.neo4j.cypher: the ends of the year indexes). The transfers' years are read
// only when a year lies outside the patents' (the year of a transfer may be later).
// name: patent_ends
MATCH (p:Patent)
RETURN min(p.app_year) AS first_app, max(p.app_year) AS last_app, min(p.grant_year) AS first_grant,
       max(p.grant_year) AS last_grant;
// name: transfer_ends
MATCH ()-[t:TRANSFERRED]->() RETURN min(t.year) AS first, max(t.year) AS last;
