package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/auditlog/loggingtest"
)

// TestExampleOrganizationWithAuditLogs runs the README's first command: the
// example organization with its audit-log file. The goldens pin the log
// evidence; TestExampleOrganization pins the same run without logs.
func TestExampleOrganizationWithAuditLogs(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--audit-log-file", "../../examples/acme-audit-log.json",
		"--out", out, "--at", "2026-11-01T00:00:00Z", "--log-format", "json",
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	for _, name := range []string{"findings.jsonl", "findings.csv", "deployers.jsonl"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "acme-logs."+name, got)
	}
	golden(t, "acme-logs.summary.json", stableSummary(t, filepath.Join(out, "summary.json")))
	fs := readFindings(t, filepath.Join(out, "findings.jsonl"))
	count := map[string]int{}
	for _, f := range fs {
		count[f.LogEvidence]++
		if f.ActiveDeployer {
			count["active"]++
		}
		if f.Kind == audit.DeployFailedImageRead {
			count["created"]++
		}
	}
	if count["CONFIRMED_BY_LOGS"] != 5 || count["RESOLVED_IN_LOGS"] != 1 || count["active"] != 2 || count["created"] != 1 || count["UNDECIDED"] != 0 {
		t.Errorf("evidence counts = %v", count)
	}
	// The worker pool's refused deploy confirms dave's finding on it, and
	// raises it a step; Cloud Functions' agent deployed its service and
	// is listed as that service's deployer, with no finding.
	for _, f := range fs {
		if strings.HasSuffix(f.Resource, "/workerPools/queue-consumer") && f.Kind == audit.DeployerCannotReadImage &&
			(f.LogEvidence != "CONFIRMED_BY_LOGS" || f.FailedDeploys != 1 || f.Severity != audit.Critical) {
			t.Errorf("worker pool finding: evidence %q, %d failed deploys, %s; want CONFIRMED_BY_LOGS, 1, CRITICAL", f.LogEvidence, f.FailedDeploys, f.Severity)
		}
	}
	deployers, err := os.ReadFile(filepath.Join(out, "deployers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deployers), `"resource":"//run.googleapis.com/projects/acme-data/locations/us-central1/services/thumbnailer","resource_type":"run.googleapis.com/Service","project_id":"acme-data","location":"us-central1","principal":"serviceAccount:service-444444444444@gcf-admin-robot.iam.gserviceaccount.com"`) {
		t.Errorf("deployers.jsonl lacks Cloud Functions' agent on thumbnailer:\n%s", deployers)
	}
}

func readFindings(t *testing.T, path string) []audit.Finding {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Finding
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var f audit.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// TestLiveAuditLogs collects the example organization live and reads its
// audit logs live from a fake Logging API that refuses one project: that
// project is a gap, its findings' evidence undecided, the run partial.
func TestLiveAuditLogs(t *testing.T) {
	byProject, err := loggingtest.Load("../../examples/acme-audit-log.json")
	if err != nil {
		t.Fatal(err)
	}
	logs := &loggingtest.Server{Entries: byProject, PageCap: 3, Refuse: map[string]codes.Code{"projects/acme-data": codes.PermissionDenied}}
	addr := logs.Start(t)
	_, assetEnv := acmeFake(t)
	env := func(k string) string {
		if k == "LOGGING_EMULATOR_HOST" {
			return addr
		}
		return assetEnv(k)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--org", "123456789012", "--out", out, "--at", "2026-11-01T00:00:00Z", "--log-format", "json"}, env, &stdout, &stderr)
	if code != exitPartial {
		t.Fatalf("exit code %d, want %d (a refused project is a gap); stderr:\n%s", code, exitPartial, stderr.String())
	}
	var sum audit.Summary
	if err := json.Unmarshal(readOut(t, out, "summary.json"), &sum); err != nil {
		t.Fatal(err)
	}
	var gap *audit.Gap
	for i, g := range sum.Gaps {
		if g.AssetType == "logging.googleapis.com/LogEntry" {
			gap = &sum.Gaps[i]
		}
	}
	if gap == nil || gap.Scope != "projects/acme-data" || !strings.Contains(gap.Fix, "roles/logging.viewer") {
		t.Fatalf("gaps = %+v, want the refused project", sum.Gaps)
	}
	for _, f := range readFindings(t, filepath.Join(out, "findings.jsonl")) {
		switch {
		case f.ProjectID == "acme-data" && f.Principal != "" && strings.HasPrefix(f.Resource, "//run.googleapis.com/") && f.LogEvidence != "UNDECIDED":
			t.Errorf("%s %s in the unreadable project: evidence %q, want UNDECIDED", f.Principal, f.Resource, f.LogEvidence)
		case strings.HasSuffix(f.Resource, "/services/checkout") && f.Principal == "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com" && f.LogEvidence != "CONFIRMED_BY_LOGS":
			t.Errorf("gha-deployer on checkout: %q, want CONFIRMED_BY_LOGS", f.LogEvidence)
		}
	}
	if len(logs.Requests()) < 2 {
		t.Errorf("%d Logging API requests", len(logs.Requests()))
	}
}

func TestAuditLogFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--audit-log-days", "0"}, nil, "--audit-log-days"},
		{[]string{"--audit-log-rate", "0"}, nil, "--audit-log-rate"},
		{[]string{"--audit-log-view", "projects/p/buckets/b"}, nil, "--audit-log-view"},
		{[]string{"--audit-log-view", "projects/p/locations/global/buckets/b/views/v", "--audit-log-file", "x.json"}, nil, "not both"},
		{nil, map[string]string{"AUDIT_AUDIT_LOG_DAYS": "-3"}, "--audit-log-days"},
		{nil, map[string]string{"AUDIT_AUDIT_LOGS": "maybe"}, "AUDIT_AUDIT_LOGS"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"--export", "../../examples/acme", "--out", t.TempDir()}, tc.args...)
		code := run(context.Background(), args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want %d naming %s", tc.args, tc.env, code, stderr.String(), exitUsage, tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"--help"}, noEnv, &stdout, &stderr)
	help := strings.Join(strings.Fields(stdout.String()), " ") // the help wraps its lines
	for _, want := range []string{"--audit-logs ", "env AUDIT_AUDIT_LOGS]", "--audit-log-file FILE", "env AUDIT_AUDIT_LOG_FILE,", "--audit-log-view NAME", "env AUDIT_AUDIT_LOG_VIEW]",
		"--audit-log-days N", "env AUDIT_AUDIT_LOG_DAYS]", "--audit-log-rate", "env AUDIT_AUDIT_LOG_RATE]", "--logging-emulator-host HOST:PORT", "env LOGGING_EMULATOR_HOST]"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	// An unreadable audit-log file is a gap, not a failure, and undecides
	// every finding's evidence.
	out := t.TempDir()
	bad := filepath.Join(out, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	stderr.Reset()
	code := run(context.Background(), []string{"--export", "../../examples/acme", "--audit-log-file", bad, "--out", out, "--at", "2026-11-01T00:00:00Z"}, noEnv, &stdout, &stderr)
	if code != exitPartial {
		t.Fatalf("unreadable audit-log file: exit %d, want %d; %s", code, exitPartial, stderr.String())
	}
	for _, f := range readFindings(t, filepath.Join(out, "findings.jsonl")) {
		if f.Principal != "" && strings.HasPrefix(f.Resource, "//run.googleapis.com/") && f.LogEvidence != "UNDECIDED" {
			t.Errorf("%s on %s: evidence %q, want UNDECIDED", f.Principal, f.Resource, f.LogEvidence)
		}
	}
}

// TestNoAuditLogsNoDeployers: without logs there is no deployers.jsonl and
// no finding carries log fields, so last_deployer stays the only hint.
func TestNoAuditLogsNoDeployers(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--export", "../../examples/acme", "--out", out, "--at", "2026-11-01T00:00:00Z"}, noEnv, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "deployers.jsonl")); !os.IsNotExist(err) {
		t.Errorf("deployers.jsonl written without audit logs: %v", err)
	}
	for _, f := range readFindings(t, filepath.Join(out, "findings.jsonl")) {
		if f.LogEvidence != "" || f.DeployerActivity != "" || f.ActiveDeployer {
			t.Errorf("%s %s carries log fields without logs", f.Principal, f.Resource)
		}
	}
}
