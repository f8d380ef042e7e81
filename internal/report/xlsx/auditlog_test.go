package xlsx

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

// TestAuditLogColumns: with log evidence the Findings sheet shows it and
// the Summary says how many findings failed deploys confirm; without, the
// columns and the line are absent.
func TestAuditLogColumns(t *testing.T) {
	r := loadExample(t)
	if len(r.Findings) < 3 {
		t.Fatalf("example has %d findings", len(r.Findings))
	}
	plain := writeOpen(t, r, exampleOptions(t), excelize.TotalRows)
	if rs := rows(t, plain, findingsSheet); slices.Contains(rs[0], "Log evidence") {
		t.Error("Log evidence column shown without log evidence")
	}
	for _, row := range rows(t, plain, summarySheet) {
		if len(row) > 0 && row[0] == "Cloud Audit Logs" {
			t.Error("Summary has a Cloud Audit Logs line without log evidence")
		}
	}

	last := time.Date(2026, 10, 20, 14, 2, 11, 0, time.UTC)
	r.Findings = append([]audit.Finding{}, r.Findings...)
	r.Findings[0].LogEvidence, r.Findings[0].FailedDeploys, r.Findings[0].LastFailure = "CONFIRMED_BY_LOGS", 2, last
	r.Findings[1].LogEvidence, r.Findings[1].ActiveDeployer, r.Findings[1].DeployerActivity, r.Findings[1].Deploys, r.Findings[1].LastDeploy = "NOT_IN_LOGS", true, "ACTIVE", 3, last
	r.Findings[2].LogEvidence, r.Findings[2].DeployerActivity = "UNDECIDED", "UNDECIDED"
	f := writeOpen(t, r, exampleOptions(t), excelize.TotalRows)
	rs := rows(t, f, findingsSheet)
	ids, evidence, activity := columnOf(t, rs, "Finding ID"), columnOf(t, rs, "Log evidence"), columnOf(t, rs, "Deployer activity")
	want := map[string][2]string{
		r.Findings[0].FindingID: {"CONFIRMED_BY_LOGS (2 failed, last 2026-10-20)", ""},
		r.Findings[1].FindingID: {"NOT_IN_LOGS", "ACTIVE (3 deploys, last 2026-10-20)"},
		r.Findings[2].FindingID: {"UNDECIDED", "UNDECIDED"},
	}
	found := 0
	for i, id := range ids {
		if w, ok := want[id]; ok {
			found++
			if evidence[i] != w[0] || activity[i] != w[1] {
				t.Errorf("row %d: evidence %q, activity %q; want %q, %q", i+2, evidence[i], activity[i], w[0], w[1])
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of the 3 findings", found)
	}
	line := labelled(t, rows(t, f, summarySheet), "Cloud Audit Logs")
	if !strings.HasPrefix(line, "1 finding confirmed by failed deploys, 1 active deployer") || !strings.Contains(line, "1 undecided") {
		t.Errorf("Summary line = %q", line)
	}
}
