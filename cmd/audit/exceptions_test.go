package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
)

// TestExceptions runs the example organization with the shipped exceptions
// file: the accepted findings are still written, marked and counted apart,
// and a bad file is a usage error naming its line.
func TestExceptions(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--out", out, "--at", "2026-11-01T00:00:00Z",
		"--exceptions", "../../examples/exceptions.yaml", "--log-format", "json", "--probe-public-images=false",
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	findings, err := report.ReadFindings(filepath.Join(out, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	excepted := 0
	for _, f := range findings {
		if f.Excepted {
			excepted++
			if f.Exception == nil || f.Exception.Owner == "" {
				t.Errorf("excepted finding %s cites no entry", f.FindingID)
			}
		}
	}
	if len(findings) != 19 || excepted != 6 {
		t.Errorf("%d findings, %d excepted; want 19 and 6", len(findings), excepted)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s audit.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Excepted != 6 || s.Findings != 19 || s.Exceptions == nil || s.Exceptions.Entries != 2 {
		t.Errorf("summary: excepted %d of %d, exceptions %+v", s.Excepted, s.Findings, s.Exceptions)
	}
	if !strings.Contains(stdout.String(), "excepted: 6 finding(s)") {
		t.Errorf("human summary lacks the excepted count:\n%s", stdout.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("exceptions:\n  - kind: X\n    reason: r\n    owner: o\n"), 0o644)
	stderr.Reset()
	code = run(context.Background(), []string{"--export", "../../examples/acme", "--out", t.TempDir(), "--exceptions", bad}, noEnv, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), bad+":2:") {
		t.Errorf("bad file: exit %d, stderr %s; want %d naming %s:2", code, stderr.String(), exitUsage, bad)
	}
}
