package bq

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every example query of docs/dashboards.md runs against the views.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/dashboards.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d example queries in docs/dashboards.md", len(blocks))
	}
	s := newSink(t, emulator(t))
	mustWrite(t, s, night(1, "", true, "A", "B", "C"))
	mustWrite(t, s, night(2, "", false, "A"))
	mustWrite(t, s, night(3, "", true, "C", "D"))
	for _, b := range blocks {
		sql := strings.ReplaceAll(b[1], "`p.d.", "`${dataset}.")
		sql = strings.ReplaceAll(sql, "123456789012", "100")
		t.Run(strings.SplitN(strings.TrimSpace(sql), "\n", 2)[0], func(t *testing.T) {
			got := rows(t, s, sql)
			// The fixture's dates lie in the past: windows relative to
			// today may be empty.
			if len(got) == 0 && !strings.Contains(sql, "CURRENT_DATE") {
				t.Errorf("example returned no rows:\n%s", sql)
			}
		})
	}
}
