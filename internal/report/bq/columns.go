package bq

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"

	sqlfiles "github.com/runaudit/runaudit/sql"
)

// column is one column as a table's DDL declares it.
type column struct {
	name, typ, description string
	required               bool
}

// ddlColumn matches one column line of sql/tables/*.sql with a scalar type:
// the only columns the sink adds to an existing table.
var ddlColumn = regexp.MustCompile(`^\s+([a-z_]+) (BOOL|STRING|INT64|FLOAT64|TIMESTAMP|DATE)( NOT NULL)? OPTIONS \(description = "([^"]*)"\),?$`)

// declaredColumns reads the scalar columns of a table's DDL, by name.
func declaredColumns(table string) (map[string]column, error) {
	tables, err := sqlfiles.Tables()
	if err != nil {
		return nil, err
	}
	out := map[string]column{}
	for _, f := range tables {
		if f.Name != table {
			continue
		}
		for _, l := range strings.Split(f.SQL, "\n") {
			if m := ddlColumn.FindStringSubmatch(l); m != nil {
				out[m[1]] = column{name: m[1], typ: m[2], required: m[3] != "", description: m[4]}
			}
		}
	}
	return out, nil
}

// addColumns adds to an existing table the columns a newer version writes
// (CREATE TABLE IF NOT EXISTS leaves an existing table as it is) by
// patching its schema through the tables API, as BigQuery documents for
// adding an empty column; the emulator lacks ALTER TABLE ADD COLUMN, and
// the API does the same on both. A new column is NULL in the rows already
// there. Only nullable scalar columns can be added (BigQuery adds no
// REQUIRED column to an existing table); any other missing column is
// returned for the caller to report.
func (s *Sink) addColumns(ctx context.Context, md *bigquery.TableMetadata, table string, missing []string) (left []string, err error) {
	decl, err := declaredColumns(table)
	if err != nil {
		return nil, err
	}
	schema := slices.Clone(md.Schema)
	added := 0
	for _, name := range missing {
		c, ok := decl[name]
		if !ok || c.required {
			left = append(left, name)
			continue
		}
		schema = append(schema, &bigquery.FieldSchema{Name: c.name, Type: fieldTypes[c.typ], Description: c.description})
		added++
	}
	if added == 0 {
		return left, nil
	}
	tbl := s.client.Dataset(s.dataset).Table(table)
	if _, err := tbl.Update(ctx, bigquery.TableMetadataToUpdate{Schema: schema}, md.ETag); err != nil {
		return nil, fmt.Errorf("adding columns to %s.%s: %w", s.Dataset(), table, err)
	}
	s.log.Info("BigQuery sink: added the columns this version writes to an older table", "table", s.Dataset()+"."+table, "columns", added)
	return left, nil
}

// fieldTypes maps the DDL's scalar types to the API's.
var fieldTypes = map[string]bigquery.FieldType{
	"BOOL": bigquery.BooleanFieldType, "STRING": bigquery.StringFieldType, "INT64": bigquery.IntegerFieldType,
	"FLOAT64": bigquery.FloatFieldType, "TIMESTAMP": bigquery.TimestampFieldType, "DATE": bigquery.DateFieldType,
}
