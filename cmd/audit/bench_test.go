package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/runaudit/runaudit/internal/synthorg"
)

// BenchmarkRunExport runs the whole command (collect, evaluate, write every
// local output) over a synthetic organization of 1,000 projects, 5,000
// services and jobs and about 50,000 bindings. docs/scale.md has the same
// shape at 20,000 projects.
func BenchmarkRunExport(b *testing.B) {
	dir := b.TempDir()
	res, err := os.Create(filepath.Join(dir, "resources.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	iam, err := os.Create(filepath.Join(dir, "iam-policies.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	expected, st, err := synthorg.Generate(synthorg.Config{
		Seed: 1, Org: "100000000001", Projects: 1000, Folders: 20, Services: 4, Jobs: 1, Repos: 1,
		ProjectBindings: 20, ResourceBindings: 6, CrossProject: 0.3, RemoteRepos: 0.05, Findings: 0.01,
	}, res, iam)
	if err != nil {
		b.Fatal(err)
	}
	res.Close()
	iam.Close()
	out := b.TempDir()
	for b.Loop() {
		code := run(context.Background(), []string{"--export", dir, "--out", out, "--quiet", "--log-format", "json"}, noEnv, io.Discard, io.Discard)
		if code != exitOK {
			b.Fatalf("exit code %d", code)
		}
	}
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(st.Services+st.Jobs)/secs, "services/s")
	b.ReportMetric(float64(len(expected))/secs, "findings/s")
	b.ReportMetric(float64(st.Bindings)/secs, "bindings/s")
}
