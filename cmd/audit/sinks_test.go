package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// A local output that cannot be written does not lose the others: the
// workbook and the other files are still written, and the run fails.
func TestOneSinkFailingKeepsTheOthers(t *testing.T) {
	out := t.TempDir()
	// A directory where findings.csv goes: writing it fails.
	if err := os.MkdirAll(filepath.Join(out, "findings.csv", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--export", "../../examples/acme", "--out", out, "--log-format", "json"}, noEnv, &stdout, &stderr)
	if code != exitFailed {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "findings.csv") {
		t.Errorf("the failure does not name findings.csv:\n%s", stderr.String())
	}
	for _, name := range []string{"findings.jsonl", "inventory.jsonl", "summary.json", "report.xlsx"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
}

// Cloud text with a bidi override and a terminal escape (a member
// user:\u202eelpmaxe.x@live, which displays as user:evil@x.example) is
// shown escaped in the summary, the CSV and the workbook; findings.jsonl
// keeps it exact.
func TestHostileTextStaysInert(t *testing.T) {
	dir := t.TempDir()
	const raw = "user:\u202eelpmaxe.x@live\x1b[2J"
	const shown = `user:\u202eelpmaxe.x@live\u001b[2J`
	for _, name := range []string{"resources.ndjson", "iam-policies.ndjson"} {
		b, err := os.ReadFile(filepath.Join("../../examples/acme", name))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("user:dave@acme.example"), []byte(`user:\u202eelpmaxe.x@live\u001b[2J`))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--export", dir, "--out", out, "--log-format", "text"}, noEnv, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	for name, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		if strings.ContainsAny(text, "\u202e\x1b") {
			t.Errorf("%s holds raw hostile text:\n%q", name, text)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(out, "findings.csv"))
	if bytes.Contains(csv, []byte("\u202e")) || !bytes.Contains(csv, []byte(shown)) {
		t.Errorf("findings.csv does not show the member escaped")
	}
	jsonl, _ := os.ReadFile(filepath.Join(out, "findings.jsonl"))
	if !bytes.Contains(jsonl, []byte(`\u001b[2J`)) || !strings.Contains(string(jsonl), "\u202e") {
		t.Errorf("findings.jsonl does not keep the member exactly")
	}
	f, err := excelize.OpenFile(filepath.Join(out, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	for _, sheet := range f.GetSheetList() {
		rs, _ := f.GetRows(sheet)
		for _, r := range rs {
			for _, v := range r {
				if strings.Contains(v, raw[:8]) || strings.ContainsAny(v, "\u202e\x1b") {
					t.Errorf("%s holds raw hostile text %q", sheet, v)
				}
				found = found || strings.Contains(v, shown)
			}
		}
	}
	if !found {
		t.Error("the workbook does not show the escaped member")
	}
}
