// Store lifecycle (graph/lifecycle.py): the writer lock of a Neo4j database, a Meta node whose key is
// unique (constraint meta_key), so two writers cannot both create it; the holder beats every 10 s.
// name: lock_take
CREATE (m:Meta {key: 'writer_lock', value: $holder, beat: timestamp()}) RETURN m.value AS holder;
// name: lock_read
MATCH (m:Meta {key: 'writer_lock'}) RETURN m.value AS holder, timestamp() - m.beat AS age_ms, m.beat AS beat;
// name: lock_steal
MATCH (m:Meta {key: 'writer_lock'}) WHERE m.beat = $beat SET m.value = $holder, m.beat = timestamp()
RETURN m.value AS holder;
// name: lock_beat
MATCH (m:Meta {key: 'writer_lock'}) WHERE m.value = $holder SET m.beat = timestamp() RETURN count(*) AS n;
// name: lock_release
MATCH (m:Meta {key: 'writer_lock'}) WHERE m.value = $holder DELETE m;
