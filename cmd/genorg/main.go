// Command genorg writes a synthetic Google Cloud organization as Cloud
// Asset Inventory export NDJSON, for scale runs and end-to-end tests of the
// audit. The organization is clean except for findings planted at a chosen
// share, and the output is the same for the same flags and --seed.
//
// It writes, into --out:
//
//	export/resources.ndjson      resource assets (both Cloud Run shapes)
//	export/iam-policies.ndjson   IAM policy assets
//	expected.jsonl               the planted findings: kind, resource, principal, repository
//	stats.json                   what was written, with the expected count per kind
//
// so that `audit --export OUT/export` reads the organization alone.
//
// The default flags make a small organization; the scale run of
// docs/scale.md uses:
//
//	genorg --projects 20000 --folders 200 --services 4 --jobs 1 \
//	  --project-bindings 20 --resource-bindings 6 --out /tmp/org20k
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/runaudit/runaudit/internal/synthorg"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genorg:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	var cfg synthorg.Config
	var out string
	fs := flag.NewFlagSet("genorg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed and flags write the same files")
	fs.StringVar(&cfg.Org, "org", "100000000001", "numeric organization id")
	fs.IntVar(&cfg.Projects, "projects", 100, "projects")
	fs.IntVar(&cfg.Folders, "folders", 10, "folders (half under the organization, half one level below)")
	fs.IntVar(&cfg.Services, "services", 4, "Cloud Run services per project")
	fs.IntVar(&cfg.Jobs, "jobs", 1, "Cloud Run jobs per project")
	fs.IntVar(&cfg.WorkerPools, "worker-pools", 0, "Cloud Run worker pools per project")
	fs.Float64Var(&cfg.VirtualRepos, "virtual-repos", 0, "share of projects with a virtual repository over their own and the shared repository")
	fs.Float64Var(&cfg.Functions, "functions", 0, "share of services that Cloud Functions manages")
	fs.IntVar(&cfg.Repos, "repos", 1, "Artifact Registry repositories per project")
	fs.IntVar(&cfg.SharedRepos, "shared-repos", 0, "repositories in the shared registry project (0: one per 500 projects)")
	fs.IntVar(&cfg.ProjectBindings, "project-bindings", 20, "role bindings in each project's IAM policy")
	fs.IntVar(&cfg.ResourceBindings, "resource-bindings", 6, "role bindings in each service's and job's IAM policy")
	fs.Float64Var(&cfg.CrossProject, "cross-project", 0.3, "share of services and jobs that also run an image from the shared registry project")
	fs.Float64Var(&cfg.RemoteRepos, "remote-repos", 0.05, "share of projects with a remote repository reading its password from Secret Manager")
	fs.Float64Var(&cfg.Findings, "findings", 0.01, "share of each case planted broken (deployers, service agents, remote-repository agents)")
	fs.StringVar(&out, "out", "", "output directory (created)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case out == "":
		return fmt.Errorf("give --out DIR")
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.Projects < 0 || cfg.Folders < 0 || cfg.Services < 0 || cfg.Jobs < 0 || cfg.ProjectBindings < 0 || cfg.ResourceBindings < 0:
		return fmt.Errorf("counts must not be negative")
	case cfg.Repos < 1:
		return fmt.Errorf("--repos must be at least 1")
	}
	for name, v := range map[string]float64{"cross-project": cfg.CrossProject, "remote-repos": cfg.RemoteRepos, "findings": cfg.Findings} {
		if v < 0 || v > 1 {
			return fmt.Errorf("--%s must be between 0 and 1", name)
		}
	}
	export := filepath.Join(out, "export")
	if err := os.MkdirAll(export, 0o755); err != nil {
		return err
	}
	start := time.Now()
	res, err := os.Create(filepath.Join(export, "resources.ndjson"))
	if err != nil {
		return err
	}
	defer res.Close()
	iam, err := os.Create(filepath.Join(export, "iam-policies.ndjson"))
	if err != nil {
		return err
	}
	defer iam.Close()
	expected, stats, err := synthorg.Generate(cfg, res, iam)
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := res.Close(); err != nil {
		return err
	}
	if err := iam.Close(); err != nil {
		return err
	}
	if err := writeJSONL(filepath.Join(out, "expected.jsonl"), expected); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(stats, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "stats.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "genorg: %d assets (%d projects, %d services, %d jobs, %d worker pools, %d bindings), %d planted findings, in %s: %s\n",
		stats.Assets, stats.Projects, stats.Services, stats.Jobs, stats.WorkerPools, stats.Bindings, len(expected), time.Since(start).Round(time.Millisecond), out)
	return nil
}

func writeJSONL(path string, rows []synthorg.Expected) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return f.Close()
}
