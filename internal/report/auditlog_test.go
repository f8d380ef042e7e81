package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

func TestAuditLogLineAndCSV(t *testing.T) {
	if got := AuditLogLine([]audit.Finding{{Kind: audit.DeployerCannotReadImage}}); got != "" {
		t.Errorf("without log evidence: %q, want none", got)
	}
	last := time.Date(2026, 10, 20, 14, 2, 11, 0, time.UTC)
	fs := []audit.Finding{
		{FindingID: "a", Kind: audit.DeployerCannotReadImage, LogEvidence: "CONFIRMED_BY_LOGS", FailedDeploys: 2, LastFailure: last, DeployerActivity: "DORMANT"},
		{FindingID: "b", Kind: audit.DeployerCannotReadImage, LogEvidence: "NOT_IN_LOGS", ActiveDeployer: true, DeployerActivity: "ACTIVE", Deploys: 3, LastDeploy: last},
		{FindingID: "c", Kind: audit.DeployerCannotReadImage, LogEvidence: "UNDECIDED", DeployerActivity: "UNDECIDED"},
		{FindingID: "d", Kind: audit.DeployFailedImageRead, LogEvidence: "CONFIRMED_BY_LOGS"},
	}
	if got, want := AuditLogLine(fs), "2 findings confirmed by failed deploys, 1 active deployer; 1 undecided (logs not read)"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
	var b bytes.Buffer
	WriteText(&b, audit.Result{Findings: fs, Summary: audit.Summary{Complete: true}})
	if !strings.Contains(b.String(), "audit logs: 2 findings confirmed") {
		t.Errorf("text summary lacks the audit-log line:\n%s", b.String())
	}
	b.Reset()
	if err := WriteCSV(&b, fs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		",CONFIRMED_BY_LOGS,2,,2026-10-20T14:02:11Z,,false,,,DORMANT",
		",NOT_IN_LOGS,,,,,true,3,2026-10-20T14:02:11Z,ACTIVE",
		",UNDECIDED,,,,,,,,UNDECIDED", // active_deployer undecided: empty, not false
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i+1], w) {
			t.Errorf("row %d = %q, want it to end %q", i+1, lines[i+1], w)
		}
	}
}
