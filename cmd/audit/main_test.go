package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// noEnv keeps the machine's AUDIT_* variables out of the tests.
func noEnv(string) string { return "" }

// TestExampleOrganization runs the whole command on the shipped example
// organization and compares every output with its golden file. The golden
// files pin the run without the registry probe, as the offline container
// check (.ci/container-check.sh) runs it; TestProbeExampleOrganization
// covers the probe on this organization.
func TestExampleOrganization(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--out", out, "--at", "2026-11-01T00:00:00Z", "--log-format", "json",
		"--probe-public-images=false",
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	for _, name := range []string{"findings.jsonl", "findings.csv", "inventory.jsonl"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "acme."+name, got)
	}
	golden(t, "acme.summary.json", stableSummary(t, filepath.Join(out, "summary.json")))
	// The human summary is on stdout, the logs (JSON) alone on stderr.
	for _, want := range []string{"findings: ", "scan: complete", "DEPLOYER_CANNOT_READ_IMAGE", "outputs: " + out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("human summary lacks %q:\n%s", want, stdout.String())
		}
	}
	logLines(t, stderr.Bytes())
}

// stableSummary drops the fields that change from run to run.
func stableSummary(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, k := range []string{"run_id", "started_at", "finished_at", "version", "source"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
		delete(m, k)
	}
	out, _ := json.MarshalIndent(m, "", "  ")
	return append(out, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test ./cmd/audit -update and review the diff):\n%s", name, path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	good, err := os.ReadFile("../../examples/acme/resources.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append(append([]byte{}, good...), []byte("{not json\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		want   string // in stderr
		stdout string // in stdout
	}{
		{"no input", nil, nil, exitUsage, "give --export", ""},
		{"unknown flag", []string{"--nope"}, nil, exitUsage, "audit: unknown flag --nope (see audit --help)\n", ""},
		{"misspelt flag", []string{"--exprot", "x"}, nil, exitUsage, "unknown flag --exprot; did you mean --export?", ""},
		{"stray argument", []string{"--export", "x", "y"}, nil, exitUsage, `unexpected argument "y"`, ""},
		{"flag without its value", []string{"--export"}, nil, exitUsage, "--export needs a value: --export PATH", ""},
		{"bad time", []string{"--export", "x", "--at", "notatime"}, nil, exitUsage, "audit: --at notatime: want RFC 3339, e.g. 2026-01-31T00:00:00Z (see audit --help)\n", ""},
		{"bad boolean flag", []string{"--export", "x", "--quiet=maybe"}, nil, exitUsage, "--quiet=maybe: want true or false (also 1, 0, t, f", ""},
		{"bad duration", []string{"--org", "1", "--timeout", "soon"}, nil, exitUsage, "--timeout soon: want a duration such as 90s, 30m or 2h", ""},
		{"malformed line is a gap", []string{"--export", bad}, nil, exitPartial, "", "bad.ndjson:"},
		{"export from the environment", nil, map[string]string{"AUDIT_EXPORT": "../../examples/acme"}, exitOK, "", "scan: complete"},
		{"bad environment time", []string{"--export", bad}, map[string]string{"AUDIT_AT": "yesterday"}, exitUsage, `AUDIT_AT="yesterday" (for --at): want RFC 3339, e.g. 2026-01-31T00:00:00Z`, ""},
		{"bad environment boolean", []string{"--export", bad}, map[string]string{"AUDIT_QUIET": "maybe"}, exitUsage, `AUDIT_QUIET="maybe" (for --quiet): want true or false (also 1, 0, t, f, TRUE, FALSE, True, False)`, ""},
		{"version", []string{"--version"}, nil, exitOK, "", "audit "},
		{"help", []string{"--help"}, nil, exitOK, "", "Usage: audit (--export PATH ... | --org ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--out", t.TempDir(), "--log-format", "text"}, tc.args...)
			code := run(context.Background(), args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			// A usage error is one line; the usage itself is for --help.
			if tc.code == exitUsage {
				if n := strings.Count(stderr.String(), "\n"); n != 1 || !strings.HasSuffix(stderr.String(), "(see audit --help)\n") {
					t.Errorf("usage error is %d lines, want one ending in (see audit --help):\n%s", n, stderr.String())
				}
				if stdout.Len() > 0 {
					t.Errorf("usage error wrote to stdout:\n%s", stdout.String())
				}
			}
		})
	}
}

// An input with nothing readable is a usage error too (exit 2), found by
// the run itself: its log says why and its summary says failed.
func TestMissingExport(t *testing.T) {
	out := t.TempDir()
	absent := filepath.Join(t.TempDir(), "absent")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--export", absent, "--out", out, "--log-format", "text"}, noEnv, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), absent) {
		t.Errorf("exit %d, want 2 naming %s; stderr:\n%s", code, absent, stderr.String())
	}
	if s := readSummary(t, out); s.Status != "failed" || !strings.Contains(s.Error, "absent") {
		t.Errorf("summary: status %q error %q", s.Status, s.Error)
	}
}
