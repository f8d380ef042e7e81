package xlsx

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/runaudit/runaudit/internal/audit"
)

// Excepted findings get their own columns on the Findings sheet and are
// counted apart from the open ones on the Summary; without exceptions
// neither appears.
func TestExceptedFindings(t *testing.T) {
	fs := synth(4)
	fs[1].Excepted = true
	fs[1].Exception = &audit.Exception{Where: "exceptions.yaml:3", Reason: "accepted until the migration", Owner: "platform@acme.example", Expires: "2027-01-31"}
	res := audit.Result{Findings: fs, Summary: audit.Summary{Findings: 4, Excepted: 1, Exceptions: &audit.ExceptionsReport{
		Entries: 3, Expired: []audit.Exception{{Where: "exceptions.yaml:9"}}, Unmatched: []audit.Exception{{Where: "exceptions.yaml:14"}, {Where: "exceptions.yaml:20"}},
	}}}
	f := writeOpen(t, res, Options{}, excelize.TotalRows)
	rs := rows(t, f, "Findings")
	ids, excepted, why := columnOf(t, rs, "Finding ID"), columnOf(t, rs, "Excepted"), columnOf(t, rs, "Exception")
	for i := range ids {
		want := ids[i] == fs[1].FindingID
		if (excepted[i] == "yes") != want {
			t.Errorf("row %d (%s): excepted %q, want %v", i+2, ids[i], excepted[i], want)
		}
		if want && why[i] != "exceptions.yaml:3 (owner platform@acme.example, expires 2027-01-31): accepted until the migration" {
			t.Errorf("exception cell %q", why[i])
		}
		if !want && why[i] != "" {
			t.Errorf("row %d: exception %q on an open finding", i+2, why[i])
		}
	}
	summary := map[string]string{}
	for _, r := range rows(t, f, "Summary") {
		if len(r) >= 2 {
			summary[r[0]] = r[1]
		}
	}
	open := 0
	for i := range fs {
		if fs[i].Open() {
			open++
		}
	}
	for label, want := range map[string]int{
		"Open (actionable, not excepted)":            open,
		"Excepted (accepted by the exceptions file)": 1,
		"Expired exceptions (renew or remove)":       1,
		"Exceptions matching nothing":                2,
	} {
		if got := summary[label]; got != strconv.Itoa(want) {
			t.Errorf("Summary %q = %q, want %d", label, got, want)
		}
	}

	plain := writeOpen(t, audit.Result{Findings: synth(4)}, Options{}, excelize.TotalRows)
	if slices.Contains(rows(t, plain, "Findings")[0], "Excepted") {
		t.Error("Excepted column shown though nothing is excepted")
	}
	for _, r := range rows(t, plain, "Summary") {
		if len(r) > 0 && strings.HasPrefix(r[0], "Excepted") {
			t.Error("Summary counts exceptions for a run without any")
		}
	}
}
