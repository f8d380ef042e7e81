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
		"reason":        "'=1+1 is not a formula, it said, \"quoted\"\\u000anext line",
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

// Cloud text with control and format characters comes out of the CSV
// escaped: no raw escape byte, no bidi override, no extra row.
func TestWriteCSVHostileText(t *testing.T) {
	f := sample()[0]
	f.Principal = "user:\u202eelpmaxe.x@live"
	f.Image = "img\x1b[2J\nnext,row"
	f.Resource = "//run.googleapis.com/projects/p/locations/l/services/\u2066s\u2069\x00"
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []audit.Finding{f}); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"\u202e", "\x1b", "\u2066", "\x00"} {
		if strings.Contains(buf.String(), raw) {
			t.Errorf("CSV holds raw %q", raw)
		}
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %q, %v; want a header and one row", recs, err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	for k, want := range map[string]string{
		"principal": `user:\u202eelpmaxe.x@live`,
		"image":     `img\u001b[2J\u000anext,row`,
		"resource":  `//run.googleapis.com/projects/p/locations/l/services/\u2066s\u2069\u0000`,
	} {
		if row[k] != want {
			t.Errorf("%s = %q, want %q", k, row[k], want)
		}
	}
}

func TestDescribeGap(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		gap                  audit.Gap
		what, undecided, fix string
	}{
		{
			name:      "denied IAM policies of repositories",
			gap:       audit.Gap{Scope: "organizations/1", AssetType: "artifactregistry.googleapis.com/Repository", ContentType: "IAM_POLICY", Reason: "rpc error: code = PermissionDenied desc = caller lacks cloudasset.assets.listIamPolicy"},
			what:      "organizations/1: Artifact Registry repositories (IAM policies) not read: PermissionDenied: caller lacks cloudasset.assets.listIamPolicy",
			undecided: "grants made on repositories, so who can read the images in them",
			fix:       "grant the identity running the audit roles/cloudasset.viewer on organizations/1 (docs/deploy.md), then rerun",
		},
		{
			name:      "folder resources, the gap's own fix wins",
			gap:       audit.Gap{Scope: "organizations/1", AssetType: "cloudresourcemanager.googleapis.com/Folder", ContentType: "RESOURCE", Reason: "PERMISSION_DENIED: no", Fix: "ask the organization admin"},
			what:      "organizations/1: folders (resources) not read: PERMISSION_DENIED: no",
			undecided: "the folder hierarchy, so which folder grants reach which projects",
			fix:       "ask the organization admin",
		},
		{
			name:      "both contents of services",
			gap:       audit.Gap{Scope: "folders/2", AssetType: "run.googleapis.com/Service", Reason: "the collection deadline (--timeout) passed"},
			what:      "folders/2: Cloud Run services (resources and IAM policies) not read: the collection deadline (--timeout) passed",
			undecided: "which services exist and the images they run: deployers of missing services are not checked; grants made on single services, so who can deploy them",
			fix:       "the collection ran out of time: raise --timeout, then rerun",
		},
		{
			name:      "an unreadable export file",
			gap:       audit.Gap{Scope: "/data/export/part-3.json.gz", Reason: "gzip: invalid header"},
			what:      "/data/export/part-3.json.gz: everything in it not read: gzip: invalid header",
			undecided: "anything it holds: services, jobs, repositories, secrets, roles and the grants on them",
			fix:       "check that /data/export/part-3.json.gz is a complete Cloud Asset Inventory export, then rerun",
		},
		{
			name:      "one asset",
			gap:       audit.Gap{Scope: "f.ndjson", AssetType: "iam.googleapis.com/Role", ContentType: "RESOURCE", Asset: "//iam.googleapis.com/organizations/1/roles/deployer", Reason: "line 7: bad JSON"},
			what:      "f.ndjson: the asset //iam.googleapis.com/organizations/1/roles/deployer (resources) not read: line 7: bad JSON",
			undecided: "the permissions of custom roles: every grant through one is undecided",
		},
		{
			name:      "hostile reason stays inert",
			gap:       audit.Gap{Scope: "organizations/1", AssetType: "run.googleapis.com/Job", ContentType: "RESOURCE", Reason: "UNAVAILABLE: \x1b[31mred\u202e"},
			what:      `organizations/1: Cloud Run jobs (resources) not read: UNAVAILABLE: \u001b[31mred\u202e`,
			undecided: "which jobs exist and the images they run: deployers of missing jobs are not checked",
			fix:       "Cloud Asset Inventory was unavailable: rerun",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DescribeGap(tc.gap)
			if got.What != tc.what || got.Undecided != tc.undecided || got.Fix != tc.fix {
				t.Errorf("DescribeGap =\n  what      %q\n  undecided %q\n  fix       %q\nwant\n  what      %q\n  undecided %q\n  fix       %q",
					got.What, got.Undecided, got.Fix, tc.what, tc.undecided, tc.fix)
			}
		})
	}
}

func TestMergeGaps(t *testing.T) {
	res := audit.Gap{Scope: "organizations/1", AssetType: "cloudresourcemanager.googleapis.com/Folder", ContentType: "RESOURCE", Reason: "PERMISSION_DENIED"}
	pol := res
	pol.ContentType = "IAM_POLICY"
	other := pol
	other.Reason = "UNAVAILABLE"
	repo := audit.Gap{Scope: "organizations/1", AssetType: "artifactregistry.googleapis.com/Repository", ContentType: "IAM_POLICY", Reason: "PERMISSION_DENIED"}
	both := res
	both.ContentType = ""
	for _, tc := range []struct {
		name     string
		in, want []audit.Gap
	}{
		{"both contents, same reason: one gap", []audit.Gap{res, repo, pol}, []audit.Gap{both, repo}},
		{"different reasons stay apart", []audit.Gap{res, other}, []audit.Gap{res, other}},
		{"the same content twice stays", []audit.Gap{res, res}, []audit.Gap{res, res}},
		{"none", nil, []audit.Gap{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MergeGaps(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MergeGaps = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWriteTextShowsGaps(t *testing.T) {
	var buf bytes.Buffer
	WriteText(&buf, audit.Result{Summary: audit.Summary{
		Complete: false, Gaps: []audit.Gap{
			{Scope: "organizations/1", AssetType: "run.googleapis.com/Service", ContentType: "RESOURCE", Reason: "PERMISSION_DENIED: no"},
			{Scope: "organizations/1", AssetType: "run.googleapis.com/Service", ContentType: "IAM_POLICY", Reason: "PERMISSION_DENIED: no"},
		},
		SkippedTotal: 2, Skipped: []audit.Skip{{Where: "f.ndjson:3", Reason: "malformed"}},
	}})
	got := buf.String()
	for _, want := range []string{
		"scan: INCOMPLETE, 1 gap(s)",
		"1. organizations/1: Cloud Run services (resources and IAM policies) not read: PERMISSION_DENIED: no\n",
		"undecided: which services exist",
		"fix: grant the identity running the audit roles/cloudasset.viewer on organizations/1",
		"skipped: 2", "f.ndjson:3",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "PERMISSION_DENIED"); n != 1 {
		t.Errorf("the gap's reason is said %d times, want once:\n%s", n, got)
	}
	buf.Reset()
	WriteText(&buf, audit.Result{Summary: audit.Summary{Complete: true}})
	if !strings.Contains(buf.String(), "scan: complete") || strings.Contains(buf.String(), "INCOMPLETE") {
		t.Errorf("complete run text:\n%s", buf.String())
	}
}

// Nothing from the cloud reaches the terminal raw.
func TestWriteTextHostileText(t *testing.T) {
	var buf bytes.Buffer
	WriteText(&buf, audit.Result{Summary: audit.Summary{
		Organization: "1\x1b]0;pwned\x07", Source: "live:organizations/1",
		Gaps:         []audit.Gap{{Scope: "organizations/1", Reason: "UNAVAILABLE: \x1b[2J\u202eevil"}},
		SkippedTotal: 1, Skipped: []audit.Skip{{Where: "f:1\r", Reason: "bad \u2066name"}},
		ByKind: map[string]int{"X\x1b[1m": 1}, Findings: 1,
	}})
	got := buf.String()
	for _, r := range got {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x2066 && r <= 0x2069) || (r >= 0x202a && r <= 0x202e)) {
			t.Fatalf("summary holds raw %U:\n%q", r, got)
		}
	}
	if !strings.Contains(got, `\u001b[2J\u202eevil`) {
		t.Errorf("the escaped reason is not shown:\n%s", got)
	}
}

// One file that cannot be written does not keep the others from being
// written, and the error names it.
func TestWriteLocalWritesTheRest(t *testing.T) {
	dir := t.TempDir()
	// A directory where findings.csv goes: its rename fails.
	if err := os.MkdirAll(filepath.Join(dir, FindingsCSV, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	paths, err := WriteLocal(dir, audit.Result{Findings: sample(), Summary: audit.Summary{RunID: "r1"}})
	if err == nil || !strings.Contains(err.Error(), FindingsCSV) {
		t.Fatalf("err = %v, want one naming %s", err, FindingsCSV)
	}
	want := []string{filepath.Join(dir, FindingsJSONL), filepath.Join(dir, InventoryJSON), filepath.Join(dir, SummaryJSON)}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
	for _, p := range want {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s not written: %v", p, err)
		}
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
