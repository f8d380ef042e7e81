package xlsx

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

// The memory figures in docs/workbook.md come from these benchmarks, run as
// a test binary under /usr/bin/time -v (see the doc for the commands).

var benchFindings = flag.Int("findings", 100_000, "findings in BenchmarkWrite and BenchmarkGenerate")

// largeResult makes an organization's worth of findings with realistic
// field lengths: 2,000 projects, 60 principals, 24 repositories, one
// service per four findings.
func largeResult(n int) audit.Result {
	kinds := []audit.Kind{audit.DeployerCannotReadImage, audit.DeployerCannotReadImage, audit.DeployerCannotReadImage,
		audit.ServiceAgentCannotReadImage, audit.ImageOutsideOrganization, audit.ConditionNotEvaluable}
	fs := make([]audit.Finding, n)
	inv := make([]audit.InventoryRow, 0, n/4+1)
	for i := range fs {
		svc := i / 4
		proj := fmt.Sprintf("acme-team-%04d-prod", svc%2000)
		loc := []string{"europe-west1", "us-central1", "asia-northeast1"}[svc%3]
		name := fmt.Sprintf("service-%07d", svc)
		res := "//run.googleapis.com/projects/" + proj + "/locations/" + loc + "/services/" + name
		repoProj, repoName := "acme-shared-images", fmt.Sprintf("team-%02d", svc%24)
		repo := "projects/" + repoProj + "/locations/" + loc + "/repositories/" + repoName
		image := loc + "-docker.pkg.dev/" + repoProj + "/" + repoName + "/" + name + ":v1.2." + fmt.Sprint(i%100)
		kind := kinds[i%len(kinds)]
		member := fmt.Sprintf("serviceAccount:deployer-%02d@acme-ci.iam.gserviceaccount.com", i%60)
		if kind == audit.ServiceAgentCannotReadImage {
			member = fmt.Sprintf("serviceAccount:service-%012d@serverless-robot-prod.iam.gserviceaccount.com", 300000000000+svc%2000)
		}
		f := audit.Finding{
			FindingID: audit.ID(kind, res, member, repo), Kind: kind, Severity: audit.Severities[i%len(audit.Severities)],
			Resource: res, ResourceType: "run.googleapis.com/Service", ProjectID: proj,
			ProjectNumber: fmt.Sprint(300000000000 + svc%2000), Location: loc, Principal: member, Image: image,
			Repository: repo, LastDeployer: i%7 == 0, Permission: "artifactregistry.repositories.downloadArtifacts",
			Reason:       "holds run.services.update through roles/run.developer on project " + proj + "; no binding grants artifactregistry.repositories.downloadArtifacts on repository " + repoName + " (project " + repoProj + ")",
			Folders:      []string{"200000000001", "200000000000"},
			Organization: "123456789012",
		}
		if kind.Actionable() {
			f.Remediation = "gcloud artifacts repositories add-iam-policy-binding " + repoName + " --project=" + repoProj + " --location=" + loc + " --member=" + member + " --role=roles/artifactregistry.reader"
		}
		fs[i] = f
		if i%4 == 0 {
			inv = append(inv, audit.InventoryRow{
				Resource: res, ResourceType: "run.googleapis.com/Service", ProjectID: proj, ProjectNumber: f.ProjectNumber,
				Location: loc, Container: "app", Image: image, ImageClass: "ARTIFACT_REGISTRY", Repository: repo,
				ServiceAccount: "runtime@" + proj + ".iam.gserviceaccount.com", Creator: member, LastModifier: member,
				Verdict: audit.VerdictAtRisk, Findings: 4, Organization: "123456789012",
			})
		}
	}
	cov := make([]audit.ProjectCoverage, 2000)
	for i := range cov {
		cov[i] = audit.ProjectCoverage{ProjectID: fmt.Sprintf("acme-team-%04d-prod", i), ProjectNumber: fmt.Sprint(300000000000 + i), Services: n / 8000, IAMPolicies: 3}
	}
	start := time.Date(2026, 9, 14, 2, 0, 0, 0, time.UTC)
	return audit.Result{
		Summary:   audit.Summary{RunID: "bench", Organization: "organizations/123456789012", Complete: true, StartedAt: start, FinishedAt: start.Add(time.Hour)},
		Findings:  fs,
		Inventory: inv,
		Coverage:  cov,
	}
}

// heapPeak samples the live heap every few milliseconds until stopped.
type heapPeak struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{stop: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}

// BenchmarkGenerate only builds the input: its peak RSS is the part of
// BenchmarkWrite's that the writer does not add.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		r := largeResult(*benchFindings)
		runtime.KeepAlive(r)
	}
}

// BenchmarkWrite writes the workbook for -findings findings and reports the
// live-heap peak during Write beyond the input, and the file size.
func BenchmarkWrite(b *testing.B) {
	r := largeResult(*benchFindings)
	path := filepath.Join(b.TempDir(), "report.xlsx")
	runtime.GC()
	var before [1]metrics.Sample
	before[0].Name = "/memory/classes/heap/objects:bytes"
	metrics.Read(before[:])
	var peak uint64
	for b.Loop() {
		h := startHeapPeak()
		if err := Write(path, r, Options{HaveBaseline: true, Baseline: r.Findings[:len(r.Findings)/2]}); err != nil {
			b.Fatal(err)
		}
		peak = max(peak, h.Stop())
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(peak-min(peak, before[0].Value.Uint64()))/(1<<20), "MB-heap-over-input")
	b.ReportMetric(float64(before[0].Value.Uint64())/(1<<20), "MB-input-heap")
	b.ReportMetric(float64(st.Size())/(1<<20), "MB-file")
	b.ReportMetric(float64(len(r.Findings))*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
}

// TestSplitAtExcelLimit writes one finding more than a sheet holds at
// Excel's real limit and checks both sheets by streaming through them.
// It takes about a minute, so it runs only when asked:
//
//	RUNAUDIT_XLSX_LARGE=1 go test -run TestSplitAtExcelLimit ./internal/report/xlsx/
func TestSplitAtExcelLimit(t *testing.T) {
	if os.Getenv("RUNAUDIT_XLSX_LARGE") == "" {
		t.Skip("set RUNAUDIT_XLSX_LARGE=1 to write 1,048,576 findings")
	}
	n := excelize.TotalRows // one header per sheet: the last finding spills over
	r := largeResult(n)
	path := filepath.Join(t.TempDir(), "report.xlsx")
	if err := Write(path, r, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	count := func(sheet string) (rows int, last []string) {
		it, err := f.Rows(sheet)
		if err != nil {
			t.Fatalf("%s: %v", sheet, err)
		}
		defer it.Close()
		for it.Next() {
			rows++
			if last, err = it.Columns(); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Error(); err != nil {
			t.Fatal(err)
		}
		return rows, last
	}
	if rows, _ := count("Findings"); rows != excelize.TotalRows {
		t.Errorf("Findings has %d rows, want %d", rows, excelize.TotalRows)
	}
	rows, last := count("Findings (2)")
	if rows != 2 {
		t.Errorf("Findings (2) has %d rows, want header + 1", rows)
	}
	idx := order(r.Findings)
	wantID := r.Findings[idx[len(idx)-1]].FindingID
	if !contains([]string{last[len(last)-2]}, wantID) {
		t.Errorf("last row's finding id = %q, want %q (the last in sheet order)", last[len(last)-2], wantID)
	}
	tables, err := f.GetTables("Findings (2)")
	if err != nil || len(tables) != 1 || tables[0].Name != "Findings_2" {
		t.Errorf("Findings (2) tables = %+v, %v", tables, err)
	}
}
