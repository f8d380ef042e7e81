package inventory_test

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runaudit/runaudit/internal/inventory"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testdata/org.ndjson is a small organization in CAI export form: every
// asset type the audit reads, both Cloud Run shapes for services and jobs,
// names by project id and by number, custom roles, policies with a
// condition, and asset types the audit ignores. Its inventory is pinned in
// testdata/org.golden (go test -update rewrites it; review the diff).
func TestBuildGolden(t *testing.T) {
	b := inventory.NewBuilder()
	for _, l := range readFixture(t, "org.ndjson") {
		b.Add(l.asset, l.where)
	}
	got := dump(t, b.Finish())
	golden := filepath.Join("testdata", "org.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("inventory of org.ndjson differs from %s (go test -update to accept):\n%s", golden, diffLines(string(want), got))
	}
}

// Assets arrive in any order (exports split by type, concurrent readers):
// the inventory does not depend on it.
func TestBuildOrderIndependent(t *testing.T) {
	lines := readFixture(t, "org.ndjson")
	build := func(ls []line) string {
		b := inventory.NewBuilder()
		for _, l := range ls {
			b.Add(l.asset, l.where)
		}
		return dump(t, b.Finish())
	}
	want := build(lines)
	reversed := slices.Clone(lines)
	slices.Reverse(reversed)
	if got := build(reversed); got != want {
		t.Errorf("reversed order:\n%s", diffLines(want, got))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5 {
		shuffled := slices.Clone(lines)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := build(shuffled); got != want {
			t.Errorf("shuffle %d:\n%s", i, diffLines(want, got))
		}
	}

	// Concurrent Adds, as the export reader's workers make them.
	b := inventory.NewBuilder()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += 4 {
				b.Add(lines[i].asset, lines[i].where)
			}
		}()
	}
	wg.Wait()
	if got := dump(t, b.Finish()); got != want {
		t.Errorf("concurrent adds:\n%s", diffLines(want, got))
	}
}

// diffLines shows the lines only in want (-) and only in got (+).
func diffLines(want, got string) string {
	w, g := lines(want), lines(got)
	var out string
	for _, l := range w {
		if !slices.Contains(g, l) {
			out += "- " + l + "\n"
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			out += "+ " + l + "\n"
		}
	}
	return out
}

func lines(s string) []string {
	return slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return l == "" })
}
