package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/synthorg"
)

func TestRunWritesTheLayout(t *testing.T) {
	out := t.TempDir()
	var stderr bytes.Buffer
	if err := run([]string{"--out", out, "--projects", "12", "--findings", "0.5"}, &stderr); err != nil {
		t.Fatal(err)
	}
	var st synthorg.Stats
	b, err := os.ReadFile(filepath.Join(out, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	exp, err := os.ReadFile(filepath.Join(out, "expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range st.Expected {
		total += n
	}
	if lines := strings.Count(string(exp), "\n"); lines != total || total == 0 {
		t.Errorf("expected.jsonl has %d lines, stats count %d", lines, total)
	}
	// The export directory holds the export alone.
	entries, err := os.ReadDir(filepath.Join(out, "export"))
	if err != nil || len(entries) != 2 {
		t.Errorf("export dir: %v, %v", entries, err)
	}
}

func TestRunRejects(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--out", "x", "--findings", "1.5"},
		{"--out", "x", "--repos", "0"},
		{"--out", "x", "--projects", "-1"},
		{"--out", "x", "stray"},
	} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
