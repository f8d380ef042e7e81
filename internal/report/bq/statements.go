package bq

import (
	"fmt"
	"strings"
)

// The statements the sink runs besides the DDL in sql/. They are built from
// validated names only (see validate), never from data: rows travel in load
// jobs.

// ref quotes project.dataset.table for BigQuery SQL.
func ref(project, dataset, table string) string {
	return "`" + project + "." + dataset + "." + table + "`"
}

// verifySQL counts the rows of each staging table in one query, so the sink
// can check that every load landed exactly once before it commits.
func verifySQL(project, dataset string, staging map[string]string) string {
	var b strings.Builder
	b.WriteString("SELECT\n")
	for i, t := range tableOrder {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  (SELECT COUNT(*) FROM %s) AS %s", ref(project, dataset, staging[t]), t)
	}
	b.WriteString("\n")
	return b.String()
}

// commitSQL replaces runDate's rows in every table by the staged rows, in
// one transaction: readers see the old day or the new day, never a mix, and
// a failing statement rolls every table back.
func commitSQL(project, dataset, runDate string, staging map[string]string, columns map[string][]string) string {
	var b strings.Builder
	b.WriteString("BEGIN TRANSACTION;\n")
	for _, t := range tableOrder {
		cols := strings.Join(columns[t], ", ")
		fmt.Fprintf(&b, "DELETE FROM %s WHERE run_date = DATE '%s';\n", ref(project, dataset, t), runDate)
		fmt.Fprintf(&b, "INSERT INTO %s (%s)\nSELECT %s FROM %s;\n", ref(project, dataset, t), cols, cols, ref(project, dataset, staging[t]))
	}
	b.WriteString("COMMIT TRANSACTION;\n")
	return b.String()
}

// emulatorDDL drops the PARTITION BY and CLUSTER BY clauses from a table's
// DDL: goccy/bigquery-emulator rejects them ("CREATE TABLE with PARTITION
// BY is unsupported"), and they change how BigQuery stores and prunes the
// table, not what any query returns. The files keep each clause on a line
// of its own (sqlfiles' tests check it).
func emulatorDDL(sql string) string {
	lines := strings.Split(sql, "\n")
	out := lines[:0]
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "PARTITION BY ") || strings.HasPrefix(t, "CLUSTER BY ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
