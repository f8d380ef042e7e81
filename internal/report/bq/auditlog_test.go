package bq

import (
	"slices"
	"testing"
	"time"
)

// TestConfirmedFailuresDaily writes a run whose findings carry log
// evidence and one without, and reads the view and the NULLs back.
func TestConfirmedFailuresDaily(t *testing.T) {
	s := newSink(t, emulator(t))
	first := time.Date(2026, 2, 27, 9, 0, 0, 0, time.UTC)
	last := time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC)

	withLogs := night(2, "", true, "A", "B", "C")
	a, b := &withLogs.Findings[0], &withLogs.Findings[1]
	a.LogEvidence, a.FailedDeploys, a.FirstFailure, a.LastFailure, a.FailedBy = "CONFIRMED_BY_LOGS", 2, first, last, a.Principal
	a.ActiveDeployer, a.DeployerActivity, a.Deploys, a.LastDeploy = true, "ACTIVE", 4, last
	b.LogEvidence, b.DeployerActivity = "NOT_IN_LOGS", "DORMANT"
	mustWrite(t, s, withLogs)
	mustWrite(t, s, night(3, "", true, "A")) // logs off: NULLs

	got := rows(t, s, "SELECT CAST(run_date AS STRING), CAST(failure_date AS STRING), kind, findings, failed_deploys, active_deployers FROM `${dataset}.confirmed_failures_daily` ORDER BY 1, 2")
	want := []string{"2026-03-02 2026-03-01 " + string(a.Kind) + " 1 2 1"}
	if !slices.Equal(got, want) {
		t.Errorf("confirmed_failures_daily = %q, want %q", got, want)
	}
	got = rows(t, s, "SELECT CAST(run_date AS STRING), finding_id, IFNULL(log_evidence, 'NULL'), IFNULL(CAST(active_deployer AS STRING), 'NULL'), IFNULL(deployer_activity, 'NULL') FROM `${dataset}.findings` WHERE finding_id = '"+a.FindingID+"' ORDER BY 1")
	want = []string{"2026-03-02 " + a.FindingID + " CONFIRMED_BY_LOGS true ACTIVE", "2026-03-03 " + a.FindingID + " NULL NULL NULL"}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
}
