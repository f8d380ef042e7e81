package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
)

func TestSafeCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"\rcmd", "'\rcmd"},
		{"user:a@b.example", "user:a@b.example"},
		{"a=b", "a=b"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := SafeCell(tc.in); got != tc.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func sample() []audit.Finding {
	return []audit.Finding{{
		FindingID: "abc", Kind: audit.DeployerCannotReadImage, Severity: audit.High,
		Resource: "//run.googleapis.com/projects/p/locations/l/services/s", ResourceType: "run.googleapis.com/Service",
		ProjectID: "p", ProjectNumber: "1", Location: "l", Principal: "user:=cmd|' /C calc'!A0@x.example",
		Image: "l-docker.pkg.dev/p/r/i:1", Repository: "projects/p/locations/l/repositories/r", LastDeployer: true,
		Permission: "artifactregistry.repositories.downloadArtifacts", Reason: "=1+1 is not a formula, it said, \"quoted\"\nnext line",
		Remediation: "gcloud …", Folders: []string{"10", "20"}, Organization: "9",
	}}
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v", err)
	}
	if len(recs) != 2 || !reflect.DeepEqual(recs[0], CSVHeader) {
		t.Fatalf("records = %q", recs)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	for k, want := range map[string]string{
		"principal":     "user:=cmd|' /C calc'!A0@x.example", // starts with a letter: already inert
		"reason":        "'=1+1 is not a formula, it said, \"quoted\"\nnext line",
		"last_deployer": "true",
		"folders":       "10;20",
		"severity":      "HIGH",
	} {
		if row[k] != want {
			t.Errorf("%s = %q, want %q", k, row[k], want)
		}
	}
	for h, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			t.Errorf("cell %s = %q starts with a formula character", h, v)
		}
	}
}

func TestFindingsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	res := audit.Result{Findings: sample(), Summary: audit.Summary{RunID: "r1", Complete: true}}
	paths, err := WriteLocal(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Errorf("wrote %v, want 4 files", paths)
	}
	got, err := ReadFindings(filepath.Join(dir, FindingsJSONL))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, res.Findings) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, res.Findings)
	}
	if _, err := os.Stat(filepath.Join(dir, FindingsJSONL+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestReadFindingsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, content, want string }{
		{"bad json", "{\"finding_id\":\"a\"}\n{oops\n", "bad.jsonl:2"},
		{"no id", "{\"kind\":\"X\"}\n", "bad.jsonl:1: finding has no finding_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.jsonl")
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, err := ReadFindings(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to name %q", err, tc.want)
			}
		})
	}
	if _, err := ReadFindings(filepath.Join(dir, "absent.jsonl")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestWriteTextShowsGaps(t *testing.T) {
	var buf bytes.Buffer
	WriteText(&buf, audit.Result{Summary: audit.Summary{
		Complete: false, Gaps: []audit.Gap{{Scope: "organizations/1", AssetType: "run.googleapis.com/Service", Reason: "PERMISSION_DENIED"}},
		SkippedTotal: 2, Skipped: []audit.Skip{{Where: "f.ndjson:3", Reason: "malformed"}},
	}})
	for _, want := range []string{"INCOMPLETE", "1 gap", "organizations/1 run.googleapis.com/Service: PERMISSION_DENIED", "skipped: 2", "f.ndjson:3"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	WriteText(&buf, audit.Result{Summary: audit.Summary{Complete: true}})
	if !strings.Contains(buf.String(), "scan: complete") || strings.Contains(buf.String(), "INCOMPLETE") {
		t.Errorf("complete run text:\n%s", buf.String())
	}
}

func TestExceptedFindings(t *testing.T) {
	fs := sample()
	fs = append(fs, fs[0])
	fs[1].FindingID = "def"
	fs[1].Excepted = true
	fs[1].Exception = &audit.Exception{Where: "ex.yaml:3", Reason: "accepted", Owner: "team@x.example", Expires: "2027-01-01"}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, fs); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if got := recs[1][col["excepted"]]; got != "false" {
		t.Errorf("open finding: excepted %q", got)
	}
	if got := recs[1][col["exception"]]; got != "" {
		t.Errorf("open finding: exception %q", got)
	}
	if got := recs[2][col["excepted"]]; got != "true" {
		t.Errorf("excepted finding: excepted %q", got)
	}
	if got, want := recs[2][col["exception"]], "ex.yaml:3 (owner team@x.example, expires 2027-01-01): accepted"; got != want {
		t.Errorf("exception cell %q, want %q", got, want)
	}

	buf.Reset()
	WriteText(&buf, audit.Result{Findings: fs, Summary: audit.Summary{Complete: true, Findings: 2, Excepted: 1,
		Exceptions: &audit.ExceptionsReport{
			Expired:   []audit.Exception{{Where: "ex.yaml:9", Owner: "a@x.example", Expires: "2026-01-01"}},
			Unmatched: []audit.Exception{{Where: "ex.yaml:14", Owner: "b@x.example"}},
		}}})
	for _, want := range []string{"excepted: 1 finding(s) accepted by exceptions; 1 actionable still open", "expired exception ex.yaml:9", "ex.yaml:14 (owner b@x.example) matches no finding"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	WriteText(&buf, audit.Result{Findings: fs[:1], Summary: audit.Summary{Complete: true, Findings: 1}})
	if strings.Contains(buf.String(), "excepted") {
		t.Errorf("run without exceptions mentions them:\n%s", buf.String())
	}
}
