package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/xuri/excelize/v2"
)

// TestReportUpload runs the command with --report-uri against an in-process
// fake Cloud Storage, reached by the real client through
// STORAGE_EMULATOR_HOST, and checks every output arrived under the dated
// run folder.
func TestReportUpload(t *testing.T) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "audit-reports"})
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--out", out, "--report-uri", "gs://audit-reports/nightly/", "--log-format", "json", "--quiet",
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	list, err := srv.ListObjectsWithOptionsPaginated("audit-reports", fakestorage.ListOptions{Prefix: "nightly/"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list.Objects {
		parts := strings.Split(o.Name, "/")
		if len(parts) != 4 || parts[0] != "nightly" || len(parts[1]) != len("2006-01-02") {
			t.Errorf("object %q is not under nightly/DATE/RUN_ID/", o.Name)
		}
		names = append(names, parts[len(parts)-1])
		local, err := os.ReadFile(filepath.Join(out, parts[len(parts)-1]))
		if err != nil {
			t.Errorf("uploaded %s has no local twin: %v", o.Name, err)
		} else if obj, err := srv.GetObject("audit-reports", o.Name); err != nil {
			t.Error(err)
		} else if !bytes.Equal(local, obj.Content) {
			t.Errorf("%s differs from the local file", o.Name)
		}
	}
	sort.Strings(names)
	want := []string{"findings.csv", "findings.jsonl", "inventory.jsonl", "report.xlsx", "summary.json"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("uploaded %v, want %v", names, want)
	}
}

// TestUploadFailureFailsTheRun: an unreachable bucket is an error (exit 1),
// and the local outputs are still written.
func TestUploadFailureFailsTheRun(t *testing.T) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--out", out, "--report-uri", "gs://no-such-bucket/x/", "--log-format", "json", "--quiet",
	}, noEnv, &stdout, &stderr)
	if code != exitFailed {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no-such-bucket") {
		t.Errorf("stderr does not name the bucket:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "findings.jsonl")); err != nil {
		t.Errorf("local outputs missing after a failed upload: %v", err)
	}
}

// TestWorkbookWithBaseline: --baseline feeds the workbook's comparison.
func TestWorkbookWithBaseline(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--out", out, "--baseline", "testdata/acme.findings.jsonl.golden", "--log-format", "json", "--quiet",
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	f, err := excelize.OpenFile(filepath.Join(out, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sheet := range []string{"Summary", "Findings", "Remediation", "Inventory", "Coverage"} {
		if idx, err := f.GetSheetIndex(sheet); err != nil || idx < 0 {
			t.Errorf("workbook has no %s sheet", sheet)
		}
	}
	rows, err := f.GetRows("Summary")
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, r := range rows {
		text.WriteString(strings.Join(r, " ") + "\n")
	}
	if !strings.Contains(text.String(), "acme.findings.jsonl.golden") {
		t.Errorf("Summary sheet does not name the baseline:\n%s", text.String())
	}

	code = run(context.Background(), []string{"--export", "../../examples/acme", "--out", t.TempDir(), "--baseline", "absent.jsonl", "--quiet"}, noEnv, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stderr.String(), "absent.jsonl") {
		t.Errorf("missing baseline: exit %d, stderr:\n%s", code, stderr.String())
	}
}
