package bq

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func sampleResult() audit.Result {
	started := time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))
	deployer := audit.Finding{
		Kind:          audit.DeployerCannotReadImage,
		Severity:      audit.High,
		Resource:      "//run.googleapis.com/projects/app-prod/locations/europe-west1/services/api",
		ResourceType:  "run.googleapis.com/Service",
		ProjectID:     "app-prod",
		ProjectNumber: "111111111111",
		Location:      "europe-west1",
		Principal:     "serviceAccount:deployer@ci-proj.iam.gserviceaccount.com",
		Image:         "europe-docker.pkg.dev/images-proj/apps/api@sha256:abc",
		Repository:    "projects/images-proj/locations/europe/repositories/apps",
		LastDeployer:  true,
		Permission:    "artifactregistry.repositories.downloadArtifacts",
		Reason:        `roles/run.developer on projects/app-prod grants run.services.update; nothing grants downloadArtifacts on the repository "apps" <& "quoted">`,
		Remediation:   "gcloud artifacts repositories add-iam-policy-binding apps --project=images-proj --location=europe --member=serviceAccount:deployer@ci-proj.iam.gserviceaccount.com --role=roles/artifactregistry.reader",
		Folders:       []string{"222", "333"},
		Organization:  "999",
	}
	deployer.FindingID = audit.ID(deployer.Kind, deployer.Resource, deployer.Principal, deployer.Repository)
	outside := audit.Finding{
		Kind:         audit.ImageOutsideOrganization,
		Severity:     audit.Info,
		Resource:     "//run.googleapis.com/projects/sandbox/locations/us-central1/jobs/nightly",
		ResourceType: "run.googleapis.com/Job",
		ProjectID:    "sandbox",
		Image:        "us-docker.pkg.dev/vendor/tools/cli:1.2",
		Organization: "999",
	}
	outside.FindingID = audit.ID(outside.Kind, outside.Resource, outside.Principal, outside.Repository)
	return audit.Result{
		Summary: audit.Summary{
			RunID:        "run-2026-03-02T04:30:00Z",
			Version:      "v1.2.3",
			Organization: "999",
			Scope:        "organizations/999",
			Source:       "export",
			StartedAt:    started,
			FinishedAt:   started.Add(90 * time.Second),
			Complete:     true, // contradicted by the gap: stored as false
			Gaps:         []audit.Gap{{Scope: "projects/sandbox", AssetType: "secretmanager.googleapis.com/Secret", Reason: "permission denied"}},
			Skipped:      []audit.Skip{{Where: "export.ndjson:17", Reason: "malformed JSON"}},
			SkippedTotal: 3,
			Findings:     2,
			ByKind:       map[string]int{string(audit.DeployerCannotReadImage): 1, string(audit.ImageOutsideOrganization): 1},
			BySeverity:   map[string]int{"HIGH": 1, "INFO": 1},
			ByProject:    map[string]int{"app-prod": 1, "sandbox": 1},
			Inventory:    map[string]int{"projects": 2, "services": 1, "jobs": 1},
		},
		Findings: []audit.Finding{deployer, outside},
		Inventory: []audit.InventoryRow{{
			Resource: deployer.Resource, ResourceType: deployer.ResourceType, ProjectID: "app-prod",
			ProjectNumber: "111111111111", Location: "europe-west1", Container: "api", Image: deployer.Image,
			ImageClass: "ARTIFACT_REGISTRY", Repository: deployer.Repository,
			ServiceAccount: "api@app-prod.iam.gserviceaccount.com", Creator: "user:alice@example.com",
			LastModifier: "serviceAccount:deployer@ci-proj.iam.gserviceaccount.com",
			Verdict:      audit.VerdictAtRisk, Findings: 1, Folders: []string{"222", "333"}, Organization: "999",
		}},
		Coverage: []audit.ProjectCoverage{
			{ProjectID: "app-prod", ProjectNumber: "111111111111", Folders: []string{"222", "333"}, Services: 1, Repositories: 0, IAMPolicies: 1},
			{ProjectID: "sandbox", ProjectNumber: "444", Jobs: 1, Gaps: []string{"secretmanager.googleapis.com/Secret: permission denied"}},
		},
	}
}

func TestEncodeGolden(t *testing.T) {
	b, err := encode(sampleResult(), time.Date(2026, 3, 2, 4, 32, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if b.runDate != "2026-03-02" {
		t.Errorf("run date = %s, want the UTC date 2026-03-02", b.runDate)
	}
	wantRows := map[string]int{tableRuns: 1, tableFindings: 2, tableInventory: 1, tableCoverage: 2}
	for _, tbl := range tableOrder {
		if b.rows[tbl] != wantRows[tbl] {
			t.Errorf("%s: %d rows, want %d", tbl, b.rows[tbl], wantRows[tbl])
		}
		if n := bytes.Count(b.data[tbl], []byte("\n")); n != b.rows[tbl] {
			t.Errorf("%s: %d lines for %d rows", tbl, n, b.rows[tbl])
		}
		golden(t, "sample."+tbl+".ndjson", b.data[tbl])
	}
}

// Every line carries exactly the columns the sink declares for its table,
// and the run row never claims completeness with gaps.
func TestEncodeColumnsAndCompleteness(t *testing.T) {
	b, err := encode(sampleResult(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tableOrder {
		for i, line := range strings.Split(strings.TrimSuffix(string(b.data[tbl]), "\n"), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s line %d: %v", tbl, i, err)
			}
			if len(m) != len(rowColumns(tbl)) {
				t.Errorf("%s line %d: %d keys, want %d", tbl, i, len(m), len(rowColumns(tbl)))
			}
			for _, c := range rowColumns(tbl) {
				if _, ok := m[c]; !ok {
					t.Errorf("%s line %d: no %s", tbl, i, c)
				}
			}
			if tbl == tableRuns && m["complete"] != false {
				t.Errorf("run with gaps encoded complete=%v", m["complete"])
			}
		}
	}

	// Without gaps, a complete run stays complete; an incomplete one stays
	// incomplete.
	for _, complete := range []bool{true, false} {
		res := sampleResult()
		res.Summary.Gaps = nil
		res.Summary.Complete = complete
		b, err := encode(res, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var run runRow
		if err := json.Unmarshal(b.data[tableRuns], &run); err != nil {
			t.Fatal(err)
		}
		if run.Complete != complete {
			t.Errorf("Complete=%v without gaps encoded as %v", complete, run.Complete)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*audit.Result)
		err    string
	}{
		{"no run id", func(r *audit.Result) { r.Summary.RunID = "" }, "no run_id"},
		{"no start", func(r *audit.Result) { r.Summary.StartedAt = time.Time{} }, "no started_at"},
		{"finding without id", func(r *audit.Result) { r.Findings[1].FindingID = "" }, "finding 1 (IMAGE_OUTSIDE_SCANNED_ORGANIZATION //run.googleapis.com/projects/sandbox/locations/us-central1/jobs/nightly)"},
		{"finding without severity", func(r *audit.Result) { r.Findings[0].Severity = "" }, "finding 0"},
		{"inventory without verdict", func(r *audit.Result) { r.Inventory[0].Verdict = "" }, "inventory row 0 (europe-docker.pkg.dev/images-proj/apps/api@sha256:abc)"},
		{"coverage without project", func(r *audit.Result) { r.Coverage[1].ProjectID = "" }, "coverage row 1 (project number 444)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sampleResult()
			tt.modify(&res)
			_, err := encode(res, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("encode: %v; want error containing %q", err, tt.err)
			}
		})
	}
}

func TestRunDateIsUTC(t *testing.T) {
	tests := []struct {
		start time.Time
		want  string
	}{
		{time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)), "2026-03-02"},
		{time.Date(2026, 3, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "2026-03-01"},
		{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), "2026-03-02"},
	}
	for _, tt := range tests {
		if got := RunDate(audit.Summary{StartedAt: tt.start}); got != tt.want {
			t.Errorf("RunDate(%v) = %s, want %s", tt.start, got, tt.want)
		}
	}
}
