package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The final log line's seconds cover the whole run: at least until the
// last output was written, not only until evaluation ended.
func TestFinalLogLineCoversOutputs(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--export", "../../examples/acme", "--out", out, "--log-format", "json", "--quiet"}, noEnv, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	lines := logLines(t, stderr.Bytes())
	last := lines[len(lines)-1]
	secs, ok := last["seconds"].(float64)
	if !ok {
		t.Fatalf("no seconds in the final line: %v", last)
	}
	var sum struct {
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil || sum.StartedAt.IsZero() {
		t.Fatalf("summary times: %v, %+v", err, sum)
	}
	var lastWrite time.Time
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.ModTime().After(lastWrite) {
			lastWrite = info.ModTime()
		}
	}
	if len(entries) < 4 {
		t.Fatalf("only %d outputs written", len(entries))
	}
	if wrote := lastWrite.Sub(sum.StartedAt).Seconds(); secs+0.001 < wrote {
		t.Errorf("final line says %.3f s, but the last output was written %.3f s after the start", secs, wrote)
	}
}
