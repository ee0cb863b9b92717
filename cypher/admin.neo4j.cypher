// Emptying a Neo4j store for `citynet load --rebuild` (schema-version change).
// name: delete_data
// every node but the Meta nodes, which go last (delete_all): a rebuild stopped midway leaves them, with the
// load state that says it did not finish
MATCH (n) WHERE NOT n:Meta CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS;
// name: delete_all
MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS;
// name: constraints
SHOW CONSTRAINTS YIELD name RETURN name;
// name: indexes
SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name;
