// LadybugDB schema: declared node and relationship tables. Property names are the canonical column
// names (etl/schema.py); row_hash is a hash of a row's canonical values (incremental loads compare it);
// grant_year, refs_made and refs_foreign are derived at load time.
CREATE NODE TABLE IF NOT EXISTS Meta(key STRING PRIMARY KEY, value STRING);
CREATE NODE TABLE IF NOT EXISTS City(city_code STRING PRIMARY KEY, name_zh STRING, short_name STRING, province_code STRING, province_zh STRING, lon DOUBLE, lat DOUBLE, tier STRING, region STRING, row_hash INT64);
CREATE NODE TABLE IF NOT EXISTS Applicant(applicant_id STRING PRIMARY KEY, name STRING, kind STRING, country STRING, city_code STRING, province_code STRING, located_by STRING, row_hash INT64);
CREATE NODE TABLE IF NOT EXISTS Patent(patent_id STRING PRIMARY KEY, app_date DATE, app_year INT64, pub_number STRING, grant_date DATE, granted BOOLEAN, patent_kind STRING, ipc_main STRING, ipc STRING[], cpc STRING[], green BOOLEAN, green_topics STRING[], y02 BOOLEAN, title STRING, grant_year INT64, refs_made INT64, refs_foreign INT64, row_hash INT64);
CREATE NODE TABLE IF NOT EXISTS CityYear(key STRING PRIMARY KEY, city_code STRING, year INT64, network STRING);
CREATE REL TABLE IF NOT EXISTS LOCATED_IN(FROM Applicant TO City, row_hash INT64);
CREATE REL TABLE IF NOT EXISTS APPLIED(FROM Applicant TO Patent, seq INT64, city_code STRING, row_hash INT64);
CREATE REL TABLE IF NOT EXISTS CITES(FROM Patent TO Patent, refs INT64, row_hash INT64);
CREATE REL TABLE IF NOT EXISTS TRANSFERRED(FROM Applicant TO Applicant, transfer_id STRING, patent_id STRING, date DATE, year INT64, from_city STRING, to_city STRING, row_hash INT64);
CREATE REL TABLE IF NOT EXISTS COLLABORATED(FROM City TO City, year INT64, network STRING, weight INT64);
CREATE REL TABLE IF NOT EXISTS TRANSFERRED_TO(FROM City TO City, year INT64, network STRING, weight INT64);
CREATE REL TABLE IF NOT EXISTS CITED(FROM City TO City, year INT64, network STRING, weight INT64);
CREATE REL TABLE IF NOT EXISTS OF_CITY(FROM CityYear TO City);
