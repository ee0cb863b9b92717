// Neo4j schema: uniqueness constraints on the natural keys (created before any load, so MERGE uses
// their indexes) and indexes for the properties the projections and library queries filter on.
CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE;
CREATE CONSTRAINT city_code IF NOT EXISTS FOR (c:City) REQUIRE c.city_code IS UNIQUE;
CREATE CONSTRAINT applicant_id IF NOT EXISTS FOR (a:Applicant) REQUIRE a.applicant_id IS UNIQUE;
CREATE CONSTRAINT patent_id IF NOT EXISTS FOR (p:Patent) REQUIRE p.patent_id IS UNIQUE;
CREATE CONSTRAINT city_year_key IF NOT EXISTS FOR (y:CityYear) REQUIRE y.key IS UNIQUE;
CREATE INDEX city_province IF NOT EXISTS FOR (c:City) ON (c.province_code);
CREATE INDEX patent_app_year IF NOT EXISTS FOR (p:Patent) ON (p.app_year);
CREATE INDEX patent_grant_year IF NOT EXISTS FOR (p:Patent) ON (p.grant_year);
CREATE INDEX transferred_id IF NOT EXISTS FOR ()-[t:TRANSFERRED]-() ON (t.transfer_id);
CREATE INDEX collaborated_year IF NOT EXISTS FOR ()-[r:COLLABORATED]-() ON (r.network, r.year);
CREATE INDEX transferred_to_year IF NOT EXISTS FOR ()-[r:TRANSFERRED_TO]-() ON (r.network, r.year);
CREATE INDEX cited_year IF NOT EXISTS FOR ()-[r:CITED]-() ON (r.network, r.year);
