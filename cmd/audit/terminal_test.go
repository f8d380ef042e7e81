package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
)

// A log line written while the status line is up clears it, prints, and
// redraws it: the two never share a line.
func TestLogLineDoesNotBreakTheStatusLine(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{scr: screenFor(&buf), on: true}
	log := newLoggerEnv("text", &buf, noEnv)
	p.status("collecting: 3 of 16 streams done")
	log.Warn("ListAssets call failed, retrying", "code", "UNAVAILABLE")
	p.status("collecting: 4 of 16 streams done")
	p.line("  run.googleapis.com/Service RESOURCE 1 pages")
	p.done()
	log.Warn("after")

	got := buf.String()
	want := "\r\033[Kcollecting: 3 of 16 streams done" +
		"\r\033[Ktime=" // the log line starts on a cleared line…
	if !strings.HasPrefix(got, want) {
		t.Fatalf("output starts %q, want %q", got, want)
	}
	// …ends with a newline, and the status comes back after it.
	if !strings.Contains(got, "code=UNAVAILABLE\ncollecting: 3 of 16 streams done\r\033[Kcollecting: 4 of 16 streams done") {
		t.Errorf("status not redrawn after the log line:\n%q", got)
	}
	if !strings.Contains(got, "\r\033[K  run.googleapis.com/Service RESOURCE 1 pages\ncollecting: 4 of 16 streams done\ntime=") {
		t.Errorf("a stream line or the end of the status went wrong:\n%q", got)
	}
	// No log line is glued to a status line.
	if strings.Contains(strings.ReplaceAll(got, "\r\033[Ktime=", ""), "donetime=") {
		t.Errorf("a log line is glued to the status line:\n%q", got)
	}
}

// Text logs print maps and lists as key=value pairs, never map[…] or […].
func TestTextLogsAreKeyValue(t *testing.T) {
	var buf bytes.Buffer
	log := newLoggerEnv("text", &buf, noEnv)
	log.Warn("x",
		"by_severity", map[string]int{"HIGH": 3, "CRITICAL": 1},
		"files", []string{"a.json", "b c.json"},
		"gap_list", []loggedGap{{Scope: "organizations/1", AssetType: inventory.TypeFolder, ContentType: "IAM_POLICY", Reason: "denied"}},
		"err", errors.New("boom"),
		"name", "user:\u202eelpmaxe.x@live\x1b[2J",
	)
	got := buf.String()
	for _, want := range []string{
		"by_severity.CRITICAL=1 by_severity.HIGH=3",
		`files.1=a.json files.2="b c.json"`,
		`gap_list.1="organizations/1 cloudresourcemanager.googleapis.com/Folder IAM_POLICY"`,
		"err=boom",
		`name="user:\u202eelpmaxe.x@live\x1b[2J"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text log lacks %s:\n%s", want, got)
		}
	}
	for _, raw := range []string{"map[", "[a.json", "\u202e", "\x1b"} {
		if strings.Contains(got, raw) {
			t.Errorf("text log holds %q:\n%q", raw, got)
		}
	}
}

// The final log line names each gap with its asset type and content type:
// as an object in JSON, as key=value pairs in text.
func TestFinalLogLineGaps(t *testing.T) {
	res := audit.Result{Summary: audit.Summary{RunID: "r", Gaps: []audit.Gap{
		{Scope: "organizations/1", AssetType: inventory.TypeFolder, ContentType: "RESOURCE", Reason: "PERMISSION_DENIED: no"},
		{Scope: "organizations/1", AssetType: inventory.TypeFolder, ContentType: "IAM_POLICY", Reason: "PERMISSION_DENIED: no"},
		{Scope: "export.json", Asset: "//run.googleapis.com/projects/p/locations/l/services/s", Reason: "line 3: bad JSON"},
	}}}
	var buf bytes.Buffer
	logFinished(newLoggerEnv("json", &buf, noEnv), res, exitPartial)
	last := logLines(t, buf.Bytes())[0]
	gaps, _ := last["gap_list"].([]any)
	if len(gaps) != 3 {
		t.Fatalf("gap_list = %v, want 3 gaps", last["gap_list"])
	}
	for i, want := range []map[string]any{
		{"scope": "organizations/1", "asset_type": inventory.TypeFolder, "content_type": "RESOURCE"},
		{"scope": "organizations/1", "asset_type": inventory.TypeFolder, "content_type": "IAM_POLICY"},
		{"scope": "export.json", "asset": "//run.googleapis.com/projects/p/locations/l/services/s"},
	} {
		g := gaps[i].(map[string]any)
		for k, v := range want {
			if g[k] != v {
				t.Errorf("gap %d: %s = %v, want %v (%v)", i, k, g[k], v, g)
			}
		}
	}

	buf.Reset()
	logFinished(newLoggerEnv("text", &buf, noEnv), res, exitPartial)
	for _, want := range []string{
		`gap_list.1="organizations/1 cloudresourcemanager.googleapis.com/Folder RESOURCE"`,
		`gap_list.2="organizations/1 cloudresourcemanager.googleapis.com/Folder IAM_POLICY"`,
		`gap_list.3="export.json every asset type RESOURCE+IAM_POLICY //run.googleapis.com/projects/p/locations/l/services/s"`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text final line lacks %s:\n%s", want, buf.String())
		}
	}
}

// Off a terminal (a pipe, CI), the human summary is on stdout and only
// JSON logs are on stderr, so 2>/dev/null leaves the summary alone and
// --quiet the logs alone.
func TestSummaryOnStdoutLogsOnStderr(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		args := []string{"--export", "../../examples/acme", "--out", t.TempDir()}
		if quiet {
			args = append(args, "--quiet")
		}
		if code := run(context.Background(), args, noEnv, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
		}
		lines := logLines(t, stderr.Bytes()) // fails on anything but JSON
		if len(lines) == 0 || lines[len(lines)-1]["message"] != "audit finished: complete" {
			t.Errorf("quiet=%v: logs end with %v", quiet, lines[len(lines)-1])
		}
		if quiet != (stdout.Len() == 0) {
			t.Errorf("quiet=%v: stdout = %q", quiet, stdout.String())
		}
		if !quiet && !strings.HasPrefix(stdout.String(), "runaudit ") {
			t.Errorf("stdout does not start with the summary:\n%s", stdout.String())
		}
	}
}

// With progress on, per-stream records below ERROR are left to the
// progress lines; off a terminal every record is logged.
func TestStreamLogQuietWithProgress(t *testing.T) {
	var buf bytes.Buffer
	log := newLoggerEnv("json", &buf, noEnv)
	(&progress{on: true, scr: screenFor(&buf)}).streamLog(log).Warn("ListAssets stream failed")
	(&progress{on: true, scr: screenFor(&buf)}).streamLog(log).With("k", "v").Error("broken")
	(&progress{on: false, scr: screenFor(&buf)}).streamLog(log).Warn("shown")
	var msgs []string
	for _, l := range logLines(t, buf.Bytes()) {
		msgs = append(msgs, l["message"].(string))
	}
	if strings.Join(msgs, ",") != "broken,shown" {
		t.Errorf("logged %v, want [broken shown]", msgs)
	}
}

// JSON logs carry cloud text inert too: JSON itself would pass C1
// controls and bidi overrides through.
func TestJSONLogsInert(t *testing.T) {
	var buf bytes.Buffer
	log := newLoggerEnv("json", &buf, noEnv)
	log.Warn("x", "member", "user:\u202eelpmaxe.x@live\u009b2J", "err", errors.New("denied \u2066x"))
	logFinished(log, audit.Result{Summary: audit.Summary{Gaps: []audit.Gap{{Scope: "organizations/1", Reason: "PERMISSION_DENIED: \u202eevil"}}}}, exitPartial)
	got := buf.String()
	for _, raw := range []string{"\u202e", "\u009b", "\u2066"} {
		if strings.Contains(got, raw) {
			t.Errorf("JSON logs hold raw %U:\n%s", []rune(raw)[0], got)
		}
	}
	lines := logLines(t, buf.Bytes())
	if lines[0]["member"] != `user:\u202eelpmaxe.x@live\u009b2J` || lines[0]["err"] != `denied \u2066x` {
		t.Errorf("first line = %v", lines[0])
	}
	if g := lines[1]["gap_list"].([]any)[0].(map[string]any); g["reason"] != `PERMISSION_DENIED: \u202eevil` {
		t.Errorf("gap = %v", g)
	}
}
