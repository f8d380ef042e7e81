package xlsx

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

//go:generate go run ./testdata/genexample

var (
	update  = flag.Bool("update", false, "rewrite testdata/example.golden")
	keepDir = flag.String("keep", "", "also write the example workbook to this directory (for rendering)")
)

var assetTypes = []string{
	"cloudresourcemanager.googleapis.com/Organization", "cloudresourcemanager.googleapis.com/Folder",
	"cloudresourcemanager.googleapis.com/Project", "run.googleapis.com/Service", "run.googleapis.com/Job",
	"artifactregistry.googleapis.com/Repository", "secretmanager.googleapis.com/Secret", "iam.googleapis.com/Role",
}

func loadExample(t testing.TB) audit.Result {
	t.Helper()
	b, err := os.ReadFile("testdata/example-result.json")
	if err != nil {
		t.Fatal(err)
	}
	var r audit.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("testdata/example-result.json: %v", err)
	}
	return r
}

func loadBaseline(t testing.TB) []audit.Finding {
	t.Helper()
	fh, err := os.Open("testdata/baseline.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var fs []audit.Finding
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var f audit.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("testdata/baseline.jsonl:%d: %v", line, err)
		}
		fs = append(fs, f)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fs
}

func exampleOptions(t testing.TB) Options {
	return Options{Baseline: loadBaseline(t), HaveBaseline: true, BaselineName: "gs://acme-audit/runaudit/2026-09-07/findings.jsonl", AssetTypes: assetTypes}
}

// writeOpen writes a workbook and reopens it with excelize.
func writeOpen(t *testing.T, r audit.Result, opts Options, maxRows int) *excelize.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.xlsx")
	if err := write(path, r, opts, maxRows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("reopening %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func rows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rs, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("sheet %q: %v", sheet, err)
	}
	return rs
}

// column returns the values of the named header's column, header excluded.
func columnOf(t *testing.T, rs [][]string, header string) []string {
	t.Helper()
	i := slices.Index(rs[0], header)
	if i < 0 {
		t.Fatalf("no column %q in %q", header, rs[0])
	}
	var out []string
	for _, r := range rs[1:] {
		if i < len(r) {
			out = append(out, r[i])
		} else {
			out = append(out, "")
		}
	}
	return out
}

// cellOf finds the cell of the first row whose column key holds val, in
// column header. rows are 1-based as in Excel.
func cellOf(t *testing.T, rs [][]string, key, val, header string) string {
	t.Helper()
	k, h := slices.Index(rs[0], key), slices.Index(rs[0], header)
	if k < 0 || h < 0 {
		t.Fatalf("no column %q or %q in %q", key, header, rs[0])
	}
	for i, r := range rs[1:] {
		if k < len(r) && r[k] == val {
			return cellName(h+1, i+2)
		}
	}
	t.Fatalf("no row with %s = %q", key, val)
	return ""
}

// fillOf returns the fill colour of a cell's style, "" without a fill.
func fillOf(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Fill.Color) == 0 {
		return ""
	}
	return strings.TrimPrefix(strings.ToUpper(st.Fill.Color[0]), "#")
}

// labelled returns the Summary value (column B) next to a label (column A).
func labelled(t *testing.T, rs [][]string, label string) string {
	t.Helper()
	for _, r := range rs {
		if len(r) > 1 && r[0] == label {
			return r[1]
		}
	}
	t.Fatalf("Summary has no %q", label)
	return ""
}

// wraps reports whether a cell's style wraps its text.
func wraps(t *testing.T, f *excelize.File, sheet, cell string) bool {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return st.Alignment != nil && st.Alignment.WrapText
}

func TestExampleWorkbook(t *testing.T) {
	r := loadExample(t)
	opts := exampleOptions(t)
	if *keepDir != "" {
		if err := Write(filepath.Join(*keepDir, "report.xlsx"), r, opts); err != nil {
			t.Fatal(err)
		}
	}
	f := writeOpen(t, r, opts, excelize.TotalRows)

	t.Run("sheets", func(t *testing.T) {
		want := []string{"Summary", "Findings", "Remediation", "Inventory", "Coverage", "Resolved"}
		if got := f.GetSheetList(); !slices.Equal(got, want) {
			t.Errorf("sheets = %q, want %q", got, want)
		}
		if got := f.GetActiveSheetIndex(); got != 0 {
			t.Errorf("active sheet = %d, want the Summary", got)
		}
	})

	t.Run("summary", func(t *testing.T) {
		rs := rows(t, f, "Summary")
		for label, want := range map[string]string{
			"Organization":  "organizations/123456789012 (example.com)",
			"Scope":         "organizations/123456789012",
			"Run ID":        "20260914T020003Z-7f3a",
			"Started (UTC)": "2026-09-14 02:00:03",
			"Duration":      "4m37s",
			"Completeness":  "INCOMPLETE (1 gap)",
			"All findings":  "18",
			"Actionable (predict a failing deploy or pull)": "14",
			"Fix commands (Remediation sheet)":              "9",
			"New since baseline":                            "3", // alice's and the two workload identity findings
			"Resolved since baseline":                       "2", // carol's and the data pipeline's service agent
		} {
			if got := labelled(t, rs, label); got != want {
				t.Errorf("%s = %q, want %q", label, got, want)
			}
		}
		if got := fillOf(t, f, "Summary", cellFor(t, rs, "Completeness", 1)); got != badFill {
			t.Errorf("INCOMPLETE fill = %q, want %q", got, badFill)
		}
		// The kind table: DEPLOYER row counts by severity, then total.
		var deployer []string
		for _, row := range rs {
			if len(row) > 0 && row[0] == string(audit.DeployerCannotReadImage) {
				deployer = row
			}
		}
		if want := []string{"DEPLOYER_CANNOT_READ_IMAGE", "yes", "3", "4", "4", "0", "0", "11", "3", "1"}; !slices.Equal(deployer, want) {
			t.Errorf("deployer kind row = %q, want %q", deployer, want)
		}
		// Top principals, the member first: the CI service account and the
		// on-call group have 4 findings each; the account's are more severe.
		i := slices.IndexFunc(rs, func(r []string) bool { return len(r) > 2 && r[0] == "Principal" && r[1] == "Highest severity" })
		if i < 0 {
			t.Fatal("no top principals table headed Principal, Highest severity")
		}
		if r := rs[i+1]; r[0] != "serviceAccount:cloudbuild-deployer@acme-ci.iam.gserviceaccount.com" || r[1] != "CRITICAL" || r[2] != "4" || r[3] != "4" {
			t.Errorf("first top principal row = %q", r)
		}
		// The principal wraps within column A, never running under the counts.
		if !wraps(t, f, "Summary", cellName(1, i+2)) {
			t.Error("the principal cell does not wrap")
		}
		// The gap is said in words, with what it leaves undecided and the fix.
		j := slices.IndexFunc(rs, func(r []string) bool {
			return len(r) > 5 && strings.HasPrefix(r[0], "projects/acme-data-pipeline: Secret Manager secrets") && strings.Contains(r[0], "PermissionDenied: The caller does not have permission")
		})
		if j < 0 {
			t.Fatal("Summary does not list the gap in words")
		}
		if !strings.HasPrefix(rs[j][1], "which secrets exist") || !strings.Contains(rs[j][5], "roles/cloudasset.viewer") {
			t.Errorf("gap row = %q, want what is undecided in B and the fix in F", rs[j])
		}
	})

	t.Run("chart", func(t *testing.T) {
		parts := zipParts(t, f)
		if !slices.ContainsFunc(parts, func(p string) bool { return strings.HasPrefix(p, "xl/charts/chart") }) {
			t.Errorf("no chart part in %q", parts)
		}
	})

	t.Run("findings", func(t *testing.T) {
		rs := rows(t, f, "Findings")
		if len(rs) != 1+18 {
			t.Fatalf("Findings has %d rows, want header + 18", len(rs))
		}
		sev := columnOf(t, rs, "Severity")
		if !slices.IsSortedFunc(sev, func(a, b string) int { return audit.Severity(a).Rank() - audit.Severity(b).Rank() }) {
			t.Errorf("findings not most severe first: %q", sev)
		}
		for cell, want := range map[string]string{"A2": severityFill[audit.Critical], "A" + fmt.Sprint(len(rs)): severityFill[audit.Info]} {
			if got := fillOf(t, f, "Findings", cell); got != want {
				t.Errorf("fill of %s = %q, want %q", cell, got, want)
			}
		}
		tables, err := f.GetTables("Findings")
		if err != nil || len(tables) != 1 || tables[0].Range != "A1:"+cellName(len(rs[0]), 19) || tables[0].Name != "Findings" {
			t.Errorf("tables = %+v, %v; want one Findings table over A1:%s", tables, err, cellName(len(rs[0]), 19))
		}
		panes, err := f.GetPanes("Findings")
		if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
			t.Errorf("panes = %+v, %v; want the header frozen", panes, err)
		}
		// Widths follow the content within each column's cap: the
		// reasons are long (capped, wrapped), the locations short.
		colWidth := func(header string) float64 {
			col, _ := excelize.ColumnNumberToName(slices.Index(rs[0], header) + 1)
			w, err := f.GetColWidth("Findings", col)
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		if w := colWidth("Reason"); w != 44 {
			t.Errorf("Reason width = %v, want its cap, 44", w)
		}
		if w := colWidth("Location"); w != float64(len("europe-west1")+2) {
			t.Errorf("Location width = %v, want the longest location + 2", w)
		}
		// The header's words are never cut: "Severity" beside its filter button.
		if w := colWidth("Severity"); w < float64(len("Severity")+filterButton) {
			t.Errorf("Severity width = %v: the header is cut", w)
		}

		// Links: the service and its repository go to the Cloud Console.
		id := audit.ID(audit.DeployerCannotReadImage, "//run.googleapis.com/projects/acme-prod-web/locations/europe-west1/services/web-frontend",
			"serviceAccount:cloudbuild-deployer@acme-ci.iam.gserviceaccount.com", "projects/acme-shared-images/locations/europe-west1/repositories/apps")
		for header, want := range map[string]string{
			"Resource":   `HYPERLINK("https://console.cloud.google.com/run/detail/europe-west1/web-frontend/revisions?project=acme-prod-web","web-frontend")`,
			"Repository": `HYPERLINK("https://console.cloud.google.com/artifacts/docker/acme-shared-images/europe-west1/apps?project=acme-shared-images","projects/acme-shared-images/locations/europe-west1/repositories/apps")`,
		} {
			got, err := f.GetCellFormula("Findings", cellOf(t, rs, "Finding ID", id, header))
			if err != nil || got != want {
				t.Errorf("%s formula = %q, %v; want %q", header, got, err, want)
			}
		}
		jobCell := cellOf(t, rs, "Resource", "nightly-export", "Resource")
		if got, _ := f.GetCellFormula("Findings", jobCell); !strings.Contains(got, "https://console.cloud.google.com/run/jobs/details/us-central1/nightly-export/executions?project=acme-prod-batch") {
			t.Errorf("job link = %q", got)
		}
		// An image that does not parse names no repository: no link.
		bad := cellOf(t, rs, "Kind", string(audit.ImageUnparseable), "Repository")
		if got, _ := f.GetCellFormula("Findings", bad); got != "" {
			t.Errorf("unparseable image's repository cell has formula %q", got)
		}

		// New since the baseline: alice's finding is, the CI account's is not.
		kinds, principals, news := columnOf(t, rs, "Kind"), columnOf(t, rs, "Principal"), columnOf(t, rs, "New since baseline")
		for i := range principals {
			wantNew := principals[i] == "user:alice@example.com" || strings.HasPrefix(principals[i], "principalSet://")
			if (news[i] == "yes") != wantNew {
				t.Errorf("row %d (%s, %s): new = %q, want %v", i+2, kinds[i], principals[i], news[i], wantNew)
			}
		}
		if slices.Contains(rs[0], "Confirmation") {
			t.Error("Confirmation column shown though no finding was confirmed")
		}
	})

	t.Run("remediation", func(t *testing.T) {
		rs := rows(t, f, "Remediation")
		if len(rs) != 1+9 {
			t.Fatalf("Remediation has %d rows, want header + 9 groups: %q", len(rs)-1, rs)
		}
		byKey := map[string][]string{}
		for _, r := range rs[1:] {
			byKey[r[1]+" "+r[2]] = r
		}
		ci := byKey["serviceAccount:cloudbuild-deployer@acme-ci.iam.gserviceaccount.com projects/acme-shared-images/locations/europe-west1/repositories/apps"]
		wantCmd := "gcloud artifacts repositories add-iam-policy-binding apps --project=acme-shared-images --location=europe-west1 --member=serviceAccount:cloudbuild-deployer@acme-ci.iam.gserviceaccount.com --role=roles/artifactregistry.reader"
		if ci == nil || ci[0] != "CRITICAL" || ci[3] != "3" || ci[4] != "3" || ci[5] != "1" || ci[6] != wantCmd || ci[8] != "acme-data-pipeline, acme-prod-web" {
			t.Errorf("CI group row = %q", ci)
		}
		sec := byKey["serviceAccount:service-310000000003@gcp-sa-artifactregistry.iam.gserviceaccount.com projects/acme-shared-images/locations/europe-west1/repositories/dockerhub-proxy"]
		if sec == nil || !strings.HasPrefix(sec[6], "gcloud secrets add-iam-policy-binding dockerhub-token --project=acme-shared-images ") {
			t.Errorf("secret group row = %q", sec)
		}
		for _, r := range rs[1:] {
			if strings.Contains(r[7], "IMAGE_") || strings.Contains(r[7], "CONDITION") {
				t.Errorf("informational kind grouped for remediation: %q", r)
			}
		}
	})

	t.Run("inventory", func(t *testing.T) {
		rs := rows(t, f, "Inventory")
		if len(rs) != 1+12 {
			t.Fatalf("Inventory has %d rows, want header + 12", len(rs)-1)
		}
		if v := columnOf(t, rs, "Verdict"); v[0] != "AT_RISK" || v[len(v)-1] != "PUBLIC_REGISTRY" {
			t.Errorf("verdicts not at-risk first: %q", v)
		}
		if got := fillOf(t, f, "Inventory", "A2"); got != verdictFill[audit.VerdictAtRisk] {
			t.Errorf("AT_RISK fill = %q", got)
		}
		tables, _ := f.GetTables("Inventory")
		if len(tables) != 1 || tables[0].Name != "Inventory" {
			t.Errorf("Inventory tables = %+v", tables)
		}
	})

	t.Run("coverage", func(t *testing.T) {
		rs := rows(t, f, "Coverage")
		find := func(first string) []string {
			for _, r := range rs {
				if len(r) > 0 && r[0] == first {
					return r
				}
			}
			t.Fatalf("Coverage has no row %q", first)
			return nil
		}
		if r := find("secretmanager.googleapis.com/Secret"); r[1] != "INCOMPLETE" || r[2] != "1" {
			t.Errorf("secret asset type row = %q", r)
		}
		if r := find("run.googleapis.com/Service"); r[1] != "read" {
			t.Errorf("service asset type row = %q", r)
		}
		if r := find("acme-data-pipeline"); r[9] != "INCOMPLETE" || !strings.Contains(r[10], "permission denied") {
			t.Errorf("acme-data-pipeline row = %q", r)
		}
		if r := find("acme-prod-web"); r[9] != "complete" || r[3] != "4" {
			t.Errorf("acme-prod-web row = %q", r)
		}
		tables, _ := f.GetTables("Coverage")
		if len(tables) != 1 || !strings.HasSuffix(tables[0].Range, fmt.Sprint(len(rs))) {
			t.Errorf("Coverage tables = %+v, sheet has %d rows", tables, len(rs))
		}
	})

	t.Run("resolved", func(t *testing.T) {
		rs := rows(t, f, "Resolved")
		got := columnOf(t, rs, "Principal")
		slices.Sort(got)
		want := []string{"serviceAccount:service-310000000004@serverless-robot-prod.iam.gserviceaccount.com", "user:carol@example.com"}
		if !slices.Equal(got, want) {
			t.Errorf("resolved principals = %q, want %q", got, want)
		}
	})

	t.Run("golden", func(t *testing.T) {
		got := dump(t, f)
		if *update {
			if err := os.WriteFile("testdata/example.golden", []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile("testdata/example.golden")
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if got != string(want) {
			t.Errorf("workbook differs from testdata/example.golden (go test -update to accept); got:\n%s", got)
		}
	})
}

// cellFor is the cell in column col (0-based) of the row labelled label.
func cellFor(t *testing.T, rs [][]string, label string, col int) string {
	t.Helper()
	for i, r := range rs {
		if len(r) > 0 && r[0] == label {
			return cellName(col+1, i+1)
		}
	}
	t.Fatalf("no row %q", label)
	return ""
}

// dump renders every sheet's values and formulas as text for the golden
// file.
func dump(t *testing.T, f *excelize.File) string {
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "== %s\n", sheet)
		for i, r := range rows(t, f, sheet) {
			for j, v := range r {
				if v == "" {
					continue
				}
				cell := cellName(j+1, i+1)
				if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
					v += "  {=" + fm + "}"
				}
				fmt.Fprintf(&b, "%s\t%s\n", cell, v)
			}
		}
	}
	return b.String()
}

func zipParts(t *testing.T, f *excelize.File) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, zf := range z.File {
		names = append(names, zf.Name)
	}
	return names
}

// synth makes n findings with distinct ids, spread over a few projects.
func synth(n int) []audit.Finding {
	fs := make([]audit.Finding, n)
	for i := range fs {
		p := fmt.Sprintf("proj-%03d", i%7)
		res := fmt.Sprintf("//run.googleapis.com/projects/%s/locations/europe-west1/services/svc-%06d", p, i)
		repo := "projects/shared/locations/europe-west1/repositories/apps"
		member := fmt.Sprintf("serviceAccount:deployer-%d@ci.iam.gserviceaccount.com", i%3)
		fs[i] = audit.Finding{
			FindingID: audit.ID(audit.DeployerCannotReadImage, res, member, repo),
			Kind:      audit.DeployerCannotReadImage, Severity: audit.Severities[i%len(audit.Severities)],
			Resource: res, ProjectID: p, Location: "europe-west1", Principal: member, Repository: repo,
			Remediation: "gcloud artifacts repositories add-iam-policy-binding apps --project=shared --location=europe-west1 --member=" + member + " --role=roles/artifactregistry.reader",
		}
	}
	return fs
}

func TestSplit(t *testing.T) {
	// 9 data rows per sheet (10 rows with the header).
	const maxRows = 10
	for _, tc := range []struct {
		n     int
		parts []int // data rows per sheet
	}{
		{0, []int{0}},
		{1, []int{1}},
		{9, []int{9}},
		{10, []int{9, 1}},
		{18, []int{9, 9}},
		{20, []int{9, 9, 2}},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			fs := synth(tc.n)
			f := writeOpen(t, audit.Result{Findings: fs}, Options{}, maxRows)
			var seen []string
			for k, want := range tc.parts {
				sheet, tname := sheetName("Findings", k), tableName("Findings", k)
				if !slices.Contains(f.GetSheetList(), sheet) {
					t.Fatalf("no sheet %q in %q", sheet, f.GetSheetList())
				}
				rs := rows(t, f, sheet)
				if want == 0 {
					if len(rs) != 2 || rs[1][0] != "No findings." {
						t.Errorf("empty Findings = %q", rs)
					}
					continue
				}
				if len(rs) != 1+want || len(rs) > maxRows {
					t.Errorf("%s has %d data rows, want %d", sheet, len(rs)-1, want)
				}
				if rs[0][0] != "Severity" {
					t.Errorf("%s lacks the header: %q", sheet, rs[0])
				}
				tables, err := f.GetTables(sheet)
				wantRange := "A1:" + cellName(len(rs[0]), 1+want)
				if err != nil || len(tables) != 1 || tables[0].Name != tname || tables[0].Range != wantRange {
					t.Errorf("%s tables = %+v, %v; want %s over %s", sheet, tables, err, tname, wantRange)
				}
				if p, _ := f.GetPanes(sheet); !p.Freeze {
					t.Errorf("%s header not frozen", sheet)
				}
				seen = append(seen, columnOf(t, rs, "Finding ID")...)
			}
			if extra := sheetName("Findings", len(tc.parts)); slices.Contains(f.GetSheetList(), extra) {
				t.Errorf("unexpected sheet %q", extra)
			}
			// Every finding once, in sheet order.
			var want []string
			for _, i := range order(fs) {
				want = append(want, fs[i].FindingID)
			}
			if !slices.Equal(seen, want) {
				t.Errorf("finding ids across sheets differ from the findings")
			}
		})
	}
}

func TestWriteRejectsNoRoom(t *testing.T) {
	err := write(filepath.Join(t.TempDir(), "r.xlsx"), audit.Result{}, Options{}, 1)
	if err == nil || !strings.Contains(err.Error(), "r.xlsx") {
		t.Errorf("write with 1 row per sheet = %v, want an error naming the file", err)
	}
}

func TestWriteLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "report.xlsx") // the directory does not exist
	if err := Write(path, loadExample(t), Options{}); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
	ok := filepath.Join(dir, "report.xlsx")
	if err := Write(ok, loadExample(t), Options{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"missing", "report.xlsx"}) && !slices.Equal(names, []string{"report.xlsx"}) {
		t.Errorf("directory holds %q, want only report.xlsx (no temporary files)", names)
	}
}

// Text from the cloud that looks like a formula stays text.
func TestNoFormulaInjection(t *testing.T) {
	evil := []string{`=cmd|' /C calc'!A0`, `+SUM(1,2)`, `-2+3`, `@SUM(A1)`, "\t=1+1", `=HYPERLINK("http://evil.example","x")`}
	var fs []audit.Finding
	for i, s := range evil {
		fs = append(fs, audit.Finding{
			FindingID: fmt.Sprint("id", i), Kind: audit.DeployerCannotReadImage, Severity: audit.High,
			Resource:  `//run.googleapis.com/projects/p/locations/l/services/` + s, // does not parse: no link
			ProjectID: s, Principal: s, Image: s, Reason: s, Remediation: s, Repository: s,
		})
	}
	inv := []audit.InventoryRow{{Resource: evil[0], Image: evil[1], Creator: evil[2], Verdict: audit.VerdictOK}}
	sum := audit.Summary{Organization: evil[0], Scope: evil[1], Gaps: []audit.Gap{{Scope: evil[2], Reason: evil[3]}}}
	f := writeOpen(t, audit.Result{Summary: sum, Findings: fs, Inventory: inv}, Options{}, excelize.TotalRows)

	for _, sheet := range f.GetSheetList() {
		for i, r := range rows(t, f, sheet) {
			for j, v := range r {
				cell := cellName(j+1, i+1)
				fm, err := f.GetCellFormula(sheet, cell)
				if err != nil {
					t.Fatal(err)
				}
				if fm != "" && !strings.HasPrefix(fm, `HYPERLINK("https://console.cloud.google.com/`) {
					t.Errorf("%s!%s holds formula %q", sheet, cell, fm)
				}
				if slices.Contains(evil, v) && fm != "" {
					t.Errorf("%s!%s: cloud text %q became a formula", sheet, cell, v)
				}
			}
		}
	}
	// The text is kept, not altered by a guard character; only the tab,
	// a control character, is shown escaped (report.Inert).
	rs := rows(t, f, "Findings")
	want := slices.Clone(evil)
	want[4] = `\u0009=1+1`
	if got := columnOf(t, rs, "Principal"); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("principals = %q, want %q", got, want)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// The check above can see a formula: a well-formed name is linked.
func TestLinkIsFormula(t *testing.T) {
	fs := []audit.Finding{{FindingID: "x", Kind: audit.DeployerCannotReadImage, Severity: audit.High,
		Resource: "//run.googleapis.com/projects/p-1/locations/us-east1/services/s"}}
	f := writeOpen(t, audit.Result{Findings: fs}, Options{}, excelize.TotalRows)
	cell := cellOf(t, rows(t, f, "Findings"), "Finding ID", "x", "Resource")
	fm, _ := f.GetCellFormula("Findings", cell)
	if !strings.HasPrefix(fm, "HYPERLINK(") {
		t.Errorf("%s formula = %q, want a HYPERLINK", cell, fm)
	}
}

func TestBaselineColumns(t *testing.T) {
	fs := synth(3)
	for _, tc := range []struct {
		name         string
		opts         Options
		wantColumn   bool
		wantResolved bool
		wantNew      int
	}{
		{"no baseline", Options{}, false, false, 0},
		{"empty baseline", Options{HaveBaseline: true}, true, true, 3},
		{"same findings", Options{HaveBaseline: true, Baseline: fs}, true, true, 0},
		{"ignored unless HaveBaseline", Options{Baseline: fs[:1]}, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeOpen(t, audit.Result{Findings: fs}, tc.opts, excelize.TotalRows)
			rs := rows(t, f, "Findings")
			if got := slices.Contains(rs[0], "New since baseline"); got != tc.wantColumn {
				t.Fatalf("New column shown = %v, want %v", got, tc.wantColumn)
			}
			if got := slices.Contains(f.GetSheetList(), "Resolved"); got != tc.wantResolved {
				t.Errorf("Resolved sheet = %v, want %v", got, tc.wantResolved)
			}
			if tc.wantColumn {
				n := 0
				for _, v := range columnOf(t, rs, "New since baseline") {
					if v == "yes" {
						n++
					}
				}
				if n != tc.wantNew {
					t.Errorf("%d new, want %d", n, tc.wantNew)
				}
			}
		})
	}
}

func TestCompleteness(t *testing.T) {
	for _, tc := range []struct {
		name string
		sum  audit.Summary
		want string
		fill string
	}{
		{"complete", audit.Summary{Complete: true}, "COMPLETE", goodFill},
		{"gaps", audit.Summary{Complete: false, Gaps: []audit.Gap{{Scope: "folders/1", Reason: "denied"}}}, "INCOMPLETE (1 gap)", badFill},
		// A run flagged complete that lists gaps is still incomplete.
		{"flag contradicts gaps", audit.Summary{Complete: true, Gaps: []audit.Gap{{Scope: "folders/1", Reason: "denied"}}}, "INCOMPLETE (1 gap)", badFill},
		{"flag false, no gaps", audit.Summary{Complete: false}, "INCOMPLETE (0 gaps)", badFill},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeOpen(t, audit.Result{Summary: tc.sum}, Options{}, excelize.TotalRows)
			rs := rows(t, f, "Summary")
			if got := labelled(t, rs, "Completeness"); got != tc.want {
				t.Errorf("Completeness = %q, want %q", got, tc.want)
			}
			if got := fillOf(t, f, "Summary", cellFor(t, rs, "Completeness", 1)); got != tc.fill {
				t.Errorf("fill = %q, want %q", got, tc.fill)
			}
		})
	}
}

// The workbook's XML holds no formula other than Console links, checked on
// the raw parts rather than through excelize.
func TestOnlyLinkFormulasInXML(t *testing.T) {
	f := writeOpen(t, loadExample(t), exampleOptions(t), excelize.TotalRows)
	path := filepath.Join(t.TempDir(), "c.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	formula := regexp.MustCompile(`<f>(.*?)</f>`)
	links := 0
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range formula.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasPrefix(m[1], "HYPERLINK(&#34;https://console.cloud.google.com/") && !strings.HasPrefix(m[1], `HYPERLINK(&quot;https://console.cloud.google.com/`) && !strings.HasPrefix(m[1], `HYPERLINK("https://console.cloud.google.com/`) {
				t.Errorf("%s: formula %q", zf.Name, m[1])
			}
			links++
		}
	}
	if links == 0 {
		t.Error("no link formulas found: the check is blind")
	}
}

func TestWriteFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xlsx")
	if err := Write(path, audit.Result{}, Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want -rw-r--r--", st.Mode().Perm())
	}
}

// The Inventory sheet keeps the worst verdicts first up to its bound, and
// the Summary says how many images were left out and where they are.
func TestInventoryBound(t *testing.T) {
	verdicts := []audit.Verdict{audit.VerdictOK, audit.VerdictAtRisk, audit.VerdictOK, audit.VerdictUnverified, audit.VerdictPublic}
	var inv []audit.InventoryRow
	for i, v := range verdicts {
		inv = append(inv, audit.InventoryRow{Resource: fmt.Sprintf("//run.googleapis.com/projects/p/locations/l/services/s%d", i), ProjectID: "p", Verdict: v, Image: fmt.Sprintf("img%d", i)})
	}
	for _, tc := range []struct {
		bound, want int
		note        string
	}{
		{2, 2, "the 2 images with the worst verdicts of 5; the other 3"},
		{-1, 5, "every container image"},
		{0, 5, "every container image"}, // the default bound is far above 5
	} {
		t.Run(fmt.Sprint(tc.bound), func(t *testing.T) {
			f := writeOpen(t, audit.Result{Inventory: inv}, Options{InventoryRows: tc.bound}, 1000)
			rs := rows(t, f, "Inventory")
			if len(rs) != 1+tc.want {
				t.Fatalf("Inventory has %d data rows, want %d", len(rs)-1, tc.want)
			}
			if tc.want == 2 && (rs[1][0] != "AT_RISK" || rs[2][0] != "UNVERIFIED") {
				t.Errorf("kept rows %q, want the at-risk and the unverified image", rs[1:])
			}
			var found bool
			for _, r := range rows(t, f, "Summary") {
				found = found || strings.Contains(strings.Join(r, " "), tc.note)
			}
			if !found {
				t.Errorf("Summary does not say %q", tc.note)
			}
		})
	}
}
