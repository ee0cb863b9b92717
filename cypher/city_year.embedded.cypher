// CityYear panel rows written back to the store (GraphStore.write_city_year), LadybugDB.
// $rows is the Arrow table in CityYear's declared column order; $links has (key, city_code);
// `delete_other_years` removes a network's rows of years its panel no longer holds (a full metrics run).
// A metric column the table does not have yet is added first by `add_column`, whose column name
// and type come from the panel's schema (validated identifiers, not user input).

// name: add_column
ALTER TABLE CityYear ADD IF NOT EXISTS {column} {type};
// name: columns
CALL table_info('CityYear') RETURN name, type;
// name: delete
LOAD FROM $rows
MATCH (y:CityYear {key: key})
DETACH DELETE y;
// name: copy
COPY CityYear FROM $rows;
// name: delete_other_years
MATCH (y:CityYear)
WHERE y.network = $network AND NOT y.year IN $years
DETACH DELETE y;
// name: link
COPY OF_CITY FROM $links;
