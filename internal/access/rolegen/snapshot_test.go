package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The embedded table is what go generate makes from the repository's role
// snapshot: a clone needs nothing outside itself to regenerate it, and a
// table edited by hand or left stale fails here.
func TestTableMatchesSnapshot(t *testing.T) {
	snap := filepath.Join("..", "..", "..", "third_party", "iam", "predefined-roles.jsonl.gz")
	roles, err := fromFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := write(&buf, roles, "file "+baseName(snap)); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "roles.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), committed) {
		t.Errorf("internal/access/roles.txt differs from what %s generates: run go generate ./internal/access", snap)
	}
}
