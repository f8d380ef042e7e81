package sqlfiles

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var refRE = regexp.MustCompile("`" + regexp.QuoteMeta(Placeholder) + `\.([A-Za-z0-9_]+)` + "`")

func TestFiles(t *testing.T) {
	tables, err := Tables()
	if err != nil {
		t.Fatal(err)
	}
	views, err := Views()
	if err != nil {
		t.Fatal(err)
	}
	var tableNames, viewNames []string
	for _, f := range tables {
		tableNames = append(tableNames, f.Name)
		if !strings.HasPrefix(strings.TrimSpace(stripComments(f.SQL)), "CREATE TABLE IF NOT EXISTS `"+Placeholder+"."+f.Name+"`") {
			t.Errorf("%s: a table file must hold one idempotent CREATE TABLE IF NOT EXISTS of %s", f.Path, f.Name)
		}
		// Each clause on a line of its own: the sink drops these lines for
		// the emulator, which cannot analyze them.
		if !regexp.MustCompile(`(?m)^PARTITION BY run_date$`).MatchString(f.SQL) {
			t.Errorf("%s: no line PARTITION BY run_date", f.Path)
		}
		if !regexp.MustCompile(`(?m)^CLUSTER BY [a-z_]+(, [a-z_]+){0,3}$`).MatchString(f.SQL) && f.Name != "runs" {
			t.Errorf("%s: no CLUSTER BY line of at most four columns", f.Path)
		}
	}
	for _, f := range views {
		viewNames = append(viewNames, f.Name)
		if !strings.HasPrefix(strings.TrimSpace(stripComments(f.SQL)), "CREATE OR REPLACE VIEW `"+Placeholder+"."+f.Name+"`") {
			t.Errorf("%s: a view file must hold one CREATE OR REPLACE VIEW of %s", f.Path, f.Name)
		}
	}
	slices.Sort(tableNames)
	if want := []string{"coverage", "findings", "inventory", "runs"}; !slices.Equal(tableNames, want) {
		t.Errorf("tables = %v, want %v", tableNames, want)
	}
	wantViews := []string{"run_sequence", "finding_changes", "remediation_progress", "latest_findings",
		"latest_changes", "daily_trend", "daily_trend_by_folder", "latest_inventory", "daily_inventory",
		"confirmed_failures_daily"}
	if !slices.Equal(viewNames, wantViews) {
		t.Errorf("views in order = %v, want %v", viewNames, wantViews)
	}

	// A view may read only tables and views applied before it.
	defined := slices.Clone(tableNames)
	for _, f := range views {
		for _, m := range refRE.FindAllStringSubmatch(f.SQL, -1) {
			if m[1] != f.Name && !slices.Contains(defined, m[1]) {
				t.Errorf("%s reads %s, which is not defined before it", f.Path, m[1])
			}
		}
		defined = append(defined, f.Name)
	}
}

func TestRender(t *testing.T) {
	views, err := Views()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range views {
		got := Render(f.SQL, "example.com:proj", "audit")
		if strings.Contains(got, Placeholder) {
			t.Errorf("%s: placeholder left after Render", f.Path)
		}
		if !strings.Contains(got, "`example.com:proj.audit."+f.Name+"`") {
			t.Errorf("%s: rendered statement does not name `example.com:proj.audit.%s`", f.Path, f.Name)
		}
	}
}

func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
