package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// readSummary reads an output directory's summary.json.
func readSummary(t *testing.T, dir string) audit.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryJSON))
	if err != nil {
		t.Fatal(err)
	}
	var s audit.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// exampleLines returns the example organization's export lines, resources
// and policies apart.
func exampleLines(t *testing.T) (resources, policies []string) {
	t.Helper()
	for name, dst := range map[string]*[]string{"resources.ndjson": &resources, "iam-policies.ndjson": &policies} {
		b, err := os.ReadFile(filepath.Join("../../examples/acme", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				*dst = append(*dst, l)
			}
		}
	}
	return resources, policies
}

// Input that holds nothing to audit is never a clean run: it exits 3 with
// the gap named, or 2 where nothing at all was readable.
func TestNothingToAudit(t *testing.T) {
	res, pol := exampleLines(t)
	keep := func(lines []string, pred func(string) bool) string {
		var out []string
		for _, l := range lines {
			if pred(l) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n") + "\n"
	}
	isType := func(types ...string) func(string) bool {
		return func(l string) bool {
			for _, t := range types {
				if strings.Contains(l, `"asset_type":"`+t+`"`) {
					return true
				}
			}
			return false
		}
	}
	not := func(p func(string) bool) func(string) bool { return func(l string) bool { return !p(l) } }
	tests := []struct {
		name  string
		files map[string]string
		code  int
		want  string
	}{
		{"empty file", map[string]string{"a.ndjson": ""}, exitUsage, "a.ndjson holds no assets"},
		{"blank lines only", map[string]string{"a.ndjson": "\n  \n"}, exitUsage, "holds no assets"},
		{"an empty file beside a good export", map[string]string{"a.ndjson": keep(res, func(string) bool { return true }), "b.ndjson": keep(pol, func(string) bool { return true }), "c.ndjson": ""},
			exitPartial, "c.ndjson holds no assets"},
		{"no Project assets", map[string]string{"a.ndjson": keep(res, not(isType("cloudresourcemanager.googleapis.com/Project"))), "b.ndjson": keep(pol, func(string) bool { return true })},
			exitPartial, "no Project asset"},
		{"no Cloud Run resources", map[string]string{"a.ndjson": keep(res, not(isType("run.googleapis.com/Service", "run.googleapis.com/Job", "run.googleapis.com/WorkerPool"))), "b.ndjson": keep(pol, func(string) bool { return true })},
			exitPartial, "no Cloud Run service, job or worker pool"},
		{"no IAM policies", map[string]string{"a.ndjson": keep(res, func(string) bool { return true })}, exitPartial, "no IAM policy at all"},
		{"a UTF-8 byte-order mark is accepted", map[string]string{"a.ndjson": "\uFEFF" + keep(res, func(string) bool { return true }), "b.ndjson": "\uFEFF" + keep(pol, func(string) bool { return true })},
			exitOK, "scan: complete"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"--export", dir, "--out", out, "--log-format", "text"}, noEnv, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if all := stdout.String() + stderr.String(); !strings.Contains(all, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, all)
			}
			s := readSummary(t, out)
			if tc.code != exitOK && (s.Complete || s.Status == "complete") {
				t.Errorf("summary says %s, complete %v", s.Status, s.Complete)
			}
			if tc.code == exitPartial && !strings.Contains(strings.Join(gapReasons(s), "\n"), strings.TrimPrefix(tc.want, "c.")) {
				t.Errorf("summary gaps %v lack %q", gapReasons(s), tc.want)
			}
		})
	}
	t.Run("empty directory", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--export", t.TempDir(), "--out", t.TempDir(), "--log-format", "text"}, noEnv, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "no export files in the directory") {
			t.Errorf("exit %d, want 2 naming the empty directory; stderr:\n%s", code, stderr.String())
		}
	})
}

func gapReasons(s audit.Summary) []string {
	var out []string
	for _, g := range s.Gaps {
		out = append(out, g.Scope+": "+g.Reason)
	}
	return out
}

// What can be checked before collecting is checked first, in well under a
// second, with exit 2: the output directory, and credentials for every API
// the run calls without an emulator. No API is called on the way.
func TestPreflight(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "absent-key.json"))
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"out is a file", []string{"--export", "../../examples/acme", "--out", blocked}, "--out " + blocked},
		{"out below a file", []string{"--export", "../../examples/acme", "--out", filepath.Join(blocked, "sub")}, "--out " + filepath.Join(blocked, "sub")},
		{"BigQuery without credentials", []string{"--export", "../../examples/acme", "--bq-dataset", "p.d"}, "BigQuery (--bq-dataset) need Application Default Credentials"},
		{"upload without credentials", []string{"--export", "../../examples/acme", "--report-uri", "gs://bkt/p/"}, "Cloud Storage (--report-uri)"},
		{"live without credentials", []string{"--org", "123"}, "Cloud Asset Inventory (organizations/123)"},
		{"gs:// export without credentials", []string{"--export", "gs://bkt/exports"}, "Cloud Storage (gs://bkt/exports)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !strings.Contains(strings.Join(args, " "), "--out") {
				args = append(args, "--out", t.TempDir())
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run(context.Background(), append(args, "--log-format", "text"), noEnv, &stdout, &stderr)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v: the check must come before any collection", took)
			}
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want 2 with %q; stderr:\n%s", code, tc.want, stderr.String())
			}
		})
	}
	t.Run("a key file is accepted", func(t *testing.T) {
		key := filepath.Join(t.TempDir(), "adc.json")
		if err := os.WriteFile(key, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", key)
		cfg := &Config{Output: OutputConfig{Dir: t.TempDir(), BQDataset: "p.d"}}
		if err := preflight(context.Background(), cfg, noEnv); err != nil {
			t.Errorf("preflight = %v, want credentials found", err)
		}
	})
}

// A run's outputs belong to it: an earlier run's files are removed before
// a run starts, so a failed run leaves only a summary.json saying it
// failed, and why.
func TestOutputsBelongToTheRun(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--export", "../../examples/acme", "--out", out, "--log-format", "text"}, noEnv, &stdout, &stderr); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr.String())
	}
	mine := filepath.Join(out, "notes.txt") // not the audit's: left alone
	if err := os.WriteFile(mine, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "e.ndjson"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code := run(context.Background(), []string{"--export", empty, "--out", out, "--log-format", "text"}, noEnv, &stdout, &stderr)
	if code == exitOK || code == exitPartial {
		t.Fatalf("second run: exit %d, want a failure", code)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "notes.txt,summary.json" {
		t.Errorf("output directory holds %v, want only notes.txt and the failed run's summary.json", names)
	}
	if s := readSummary(t, out); s.Status != "failed" || !strings.Contains(s.Error, "holds no assets") || s.Complete {
		t.Errorf("summary = status %q error %q complete %v; want failed with why", s.Status, s.Error, s.Complete)
	}
}

// A signal stops collection, what was read is written marked incomplete,
// the run says it was interrupted and exits 128 + the signal.
func TestInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv, env := acmeFake(t)
			srv.SetLatency(time.Hour)
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(300*time.Millisecond, func() { cancel(interruption{sig}) })
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"--org", "123456789012", "--out", out, "--log-format", "json"}, env, &stdout, &stderr)
			want := map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143}[sig]
			if code != want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, want, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted by "+interruption{sig}.Error()) || !strings.Contains(stderr.String(), `"status":"interrupted"`) {
				t.Errorf("stderr does not say interrupted:\n%s", stderr.String())
			}
			s := readSummary(t, out)
			if s.Status != "interrupted" || s.Complete || len(s.Gaps) == 0 {
				t.Errorf("summary: status %q complete %v gaps %d; want interrupted, incomplete, gaps", s.Status, s.Complete, len(s.Gaps))
			}
		})
	}
	t.Run("during an export, what was read is written", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(interruption{syscall.SIGTERM})
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"--export", "../../examples/acme", "--out", out, "--log-format", "json"}, noEnv, &stdout, &stderr)
		if code != exitSIGTERM {
			t.Fatalf("exit %d, want 143; stderr:\n%s", code, stderr.String())
		}
		if s := readSummary(t, out); s.Status != "interrupted" || s.Complete {
			t.Errorf("summary: status %q complete %v", s.Status, s.Complete)
		}
	})
}

// finding_id is unique within a run and stable across runs, on the example
// organization and on synthetic ones.
func TestFindingIDsUniqueAndStable(t *testing.T) {
	exports := map[string]string{"acme": "../../examples/acme"}
	for _, seed := range []uint64{1, 2, 3, 4} {
		dir := t.TempDir()
		cfg := synthorg.Config{Seed: seed, Org: "100000000001", Projects: 40, Folders: 4, Services: 3, Jobs: 2, Repos: 2,
			ProjectBindings: 6, ResourceBindings: 2, CrossProject: 0.5, RemoteRepos: 0.5, Findings: 0.3, Inherited: true}
		var res, iam bytes.Buffer
		if _, _, err := synthorg.Generate(cfg, &res, &iam); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "resources.ndjson"), res.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "iam.ndjson"), iam.Bytes(), 0o644)
		exports["synthorg seed "+string(rune('0'+seed))] = dir
	}
	for name, export := range exports {
		t.Run(name, func(t *testing.T) {
			var ids [2]map[string]bool
			for i := range ids {
				out := t.TempDir()
				var stdout, stderr bytes.Buffer
				if code := run(context.Background(), []string{"--export", export, "--out", out, "--at", "2026-11-01T00:00:00Z", "--log-format", "json"}, noEnv, &stdout, &stderr); code != exitOK {
					t.Fatalf("exit %d\n%s", code, stderr.String())
				}
				fs, err := report.ReadFindings(filepath.Join(out, report.FindingsJSONL))
				if err != nil {
					t.Fatal(err)
				}
				if len(fs) == 0 {
					t.Fatal("no findings: uniqueness proves nothing")
				}
				ids[i] = map[string]bool{}
				for _, f := range fs {
					if ids[i][f.FindingID] {
						t.Errorf("finding_id %s twice: %s %s %s", f.FindingID, f.Kind, f.Resource, f.Image)
					}
					ids[i][f.FindingID] = true
				}
			}
			if len(ids[0]) != len(ids[1]) {
				t.Fatalf("%d ids, then %d", len(ids[0]), len(ids[1]))
			}
			for id := range ids[0] {
				if !ids[1][id] {
					t.Errorf("finding_id %s not stable across runs", id)
				}
			}
		})
	}
}

// Group resolution is on by default for live runs (off for exports, off
// against a fake asset inventory with no fake directory, off when asked);
// on by default and unreachable, it is a gap, not a failed run.
func TestGroupsResolvedByDefaultForLiveRuns(t *testing.T) {
	t.Setenv(cloudIdentityHostEnv, "")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"live organization", []string{"--org", "123"}, nil, true},
		{"live project", []string{"--project", "acme-app"}, nil, true},
		{"export", []string{"--export", "../../examples/acme"}, nil, false},
		{"turned off", []string{"--org", "123", "--resolve-groups=false"}, nil, false},
		{"turned off in the environment", []string{"--org", "123"}, map[string]string{"AUDIT_RESOLVE_GROUPS": "false"}, false},
		{"fake asset inventory", []string{"--org", "123"}, map[string]string{"CLOUDASSET_EMULATOR_HOST": "127.0.0.1:1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Accuracy.ResolveGroups != tc.want {
				t.Errorf("resolve groups = %v, want %v", cfg.Accuracy.ResolveGroups, tc.want)
			}
		})
	}
	t.Run("on by default and unreachable: a gap", func(t *testing.T) {
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "absent.json"))
		cfg := &Config{Accuracy: AccuracyConfig{ResolveGroups: true, groupsByDefault: true, GroupsQPS: 5}}
		if _, err := accessOptions(context.Background(), cfg, time.Now()); err != nil {
			t.Fatalf("accessOptions = %v, want a gap instead", err)
		}
		gaps := cfg.Accuracy.live.gaps
		if len(gaps) != 1 || gaps[0].AssetType != "cloudidentity.googleapis.com/Group" || gaps[0].Fix == "" {
			t.Errorf("gaps = %+v, want one for Cloud Identity with a fix", gaps)
		}
		cfg.Accuracy.groupsByDefault = false // asked for explicitly: an error
		if _, err := accessOptions(context.Background(), cfg, time.Now()); err == nil {
			t.Error("an explicit --resolve-groups that cannot connect is not an error")
		}
	})
}
