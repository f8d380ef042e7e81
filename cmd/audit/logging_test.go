package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

func TestSeverity(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "DEBUG"},
		{slog.LevelDebug, "DEBUG"},
		{slog.LevelInfo, "INFO"},
		{slog.LevelInfo + 2, "INFO"},
		{slog.LevelWarn, "WARNING"},
		{slog.LevelError, "ERROR"},
		{slog.LevelError + 4, "ERROR"},
	}
	for _, tc := range tests {
		if got := severity(tc.level); got != tc.want {
			t.Errorf("severity(%v) = %q, want %q", tc.level, got, tc.want)
		}
	}
}

// logLines decodes every line of JSON logs.
func logLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// TestCloudLoggingFormat checks the JSON shape Cloud Logging parses:
// severity, message and time at the top level, slog's own keys gone.
func TestCloudLoggingFormat(t *testing.T) {
	var buf bytes.Buffer
	log := newLoggerEnv("json", &buf, env(nil))
	log.Debug("not shown")
	log.Info("hello", "n", 1)
	log.Warn("careful")
	log.Error("broken", "err", os.ErrNotExist)
	lines := logLines(t, buf.Bytes())
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3 (DEBUG is below the level):\n%s", len(lines), buf.String())
	}
	for i, want := range []struct{ sev, msg string }{{"INFO", "hello"}, {"WARNING", "careful"}, {"ERROR", "broken"}} {
		l := lines[i]
		if l["severity"] != want.sev || l["message"] != want.msg {
			t.Errorf("line %d: severity %v message %v, want %s %s", i, l["severity"], l["message"], want.sev, want.msg)
		}
		for _, gone := range []string{"level", "msg"} {
			if _, ok := l[gone]; ok {
				t.Errorf("line %d still has slog's %q: %v", i, gone, l)
			}
		}
		ts, _ := l["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line %d: time %q is not RFC 3339: %v", i, ts, err)
		}
		if _, ok := l[labelsKey]; ok {
			t.Errorf("line %d: labels off Cloud Run: %v", i, l)
		}
	}
	if lines[2]["err"] != os.ErrNotExist.Error() {
		t.Errorf("error attribute = %v, want its text", lines[2]["err"])
	}
}

// TestCloudRunLabels checks that on Cloud Run the run id given with With
// becomes an entry label, at the top level even when a group follows, and
// stays a payload field as well.
func TestCloudRunLabels(t *testing.T) {
	var buf bytes.Buffer
	log := newLoggerEnv("json", &buf, env(map[string]string{"CLOUD_RUN_JOB": "runaudit"}))
	log.Info("before")
	log = log.With("run_id", "R1")
	log.Info("with run id")
	log.WithGroup("sink").Info("grouped", "table", "findings")
	lines := logLines(t, buf.Bytes())
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), buf.String())
	}
	if _, ok := lines[0][labelsKey]; ok {
		t.Errorf("labels before any run id: %v", lines[0])
	}
	for _, l := range lines[1:] {
		labels, _ := l[labelsKey].(map[string]any)
		if labels["run_id"] != "R1" {
			t.Errorf("labels = %v, want run_id R1: %v", l[labelsKey], l)
		}
		if l["run_id"] != "R1" {
			t.Errorf("run_id payload field = %v, want R1", l["run_id"])
		}
	}
	group, _ := lines[2]["sink"].(map[string]any)
	if group["table"] != "findings" {
		t.Errorf("grouped attribute lost: %v", lines[2])
	}
	// The same logger off Cloud Run carries no labels.
	buf.Reset()
	newLoggerEnv("json", &buf, env(nil)).With("run_id", "R1").Info("x")
	if l := logLines(t, buf.Bytes())[0]; l[labelsKey] != nil || l["run_id"] != "R1" {
		t.Errorf("off Cloud Run: %v, want run_id field and no labels", l)
	}
}

func TestTextFormat(t *testing.T) {
	var buf bytes.Buffer
	log := newLoggerEnv("text", &buf, env(map[string]string{"CLOUD_RUN_JOB": "x"}))
	log.Info("quiet")
	log.Warn("loud", "k", "v")
	got := buf.String()
	if strings.Contains(got, "quiet") || !strings.Contains(got, "level=WARN msg=loud k=v") {
		t.Errorf("text log = %q, want only the warning in text form", got)
	}
	// "auto" on something that is not a terminal is JSON.
	buf.Reset()
	newLoggerEnv("auto", &buf, env(nil)).Info("auto")
	if l := logLines(t, buf.Bytes()); len(l) != 1 || l[0]["message"] != "auto" {
		t.Errorf("auto on a buffer: %q, want JSON", buf.String())
	}
}

// TestFinalLogLine runs the command and checks its last log line, the one
// a scheduled run is judged by, for each outcome.
func TestFinalLogLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	good, err := os.ReadFile("../../examples/acme/resources.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append(good, "{not json\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		export   string
		code     int
		severity string
		status   string
	}{
		{"complete", "../../examples/acme", exitOK, "INFO", "complete"},
		{"gaps", bad, exitPartial, "WARNING", "incomplete"},
		{"failed", filepath.Join(dir, "absent"), exitUsage, "ERROR", "failed"},
	}
	t.Setenv("CLOUD_RUN_JOB", "runaudit")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			out := t.TempDir()
			code := run(context.Background(), []string{
				"--export", tc.export, "--out", out, "--log-format", "json", "--quiet",
			}, noEnv, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			lines := logLines(t, stderr.Bytes())
			last := lines[len(lines)-1]
			if last["severity"] != tc.severity || last["status"] != tc.status || last["exit_code"] != float64(tc.code) {
				t.Errorf("last line = %v, want severity %s status %s exit_code %d", last, tc.severity, tc.status, tc.code)
			}
			if !strings.HasPrefix(last["message"].(string), "audit finished: ") {
				t.Errorf("last message = %q", last["message"])
			}
			if tc.status == "failed" {
				return
			}
			labels, _ := last[labelsKey].(map[string]any)
			if id, _ := labels["run_id"].(string); id == "" || id != last["run_id"] {
				t.Errorf("run id label %v, payload %v: want the same, non-empty", labels["run_id"], last["run_id"])
			}
			_, hasGaps := last["gap_list"]
			if hasGaps != (tc.code == exitPartial) {
				t.Errorf("gap_list present = %v for exit %d: %v", hasGaps, tc.code, last)
			}
			// The counts are the run's own, as summary.json and
			// findings.jsonl record them.
			sum, err := os.ReadFile(filepath.Join(out, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Findings  int            `json:"findings"`
				Inventory map[string]int `json:"inventory"`
			}
			if err := json.Unmarshal(sum, &want); err != nil {
				t.Fatal(err)
			}
			fl, err := os.ReadFile(filepath.Join(out, "findings.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			actionable := 0
			for _, f := range logLines(t, fl) {
				if audit.Kind(f["kind"].(string)).Actionable() {
					actionable++
				}
			}
			if last["findings"] != float64(want.Findings) || last["actionable"] != float64(actionable) || last["jobs"] != float64(want.Inventory["jobs"]) {
				t.Errorf("counts = findings %v actionable %v jobs %v, want %d, %d, %d as in the outputs",
					last["findings"], last["actionable"], last["jobs"], want.Findings, actionable, want.Inventory["jobs"])
			}
			if tc.code == exitOK && want.Findings == 0 {
				t.Error("examples/acme has no findings: the counts prove nothing")
			}
		})
	}
}
