package exceptions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
)

func TestPattern(t *testing.T) {
	for _, tc := range []struct {
		pat  string
		in   string
		want bool
	}{
		{"acme-data", "acme-data", true},
		{"acme-data", "acme-data2", false},
		{"acme-*", "acme-data", true},
		{"acme-*", "xacme-data", false},
		{"//run.googleapis.com/projects/legacy-*", "//run.googleapis.com/projects/legacy-a/locations/l/services/s", true},
		{"*@*.iam.gserviceaccount.com", "serviceAccount:ci@p.iam.gserviceaccount.com", true},
		{"*@*.iam.gserviceaccount.com", "user:ci@example.com", false},
		{"acme-?", "acme-1", true},
		{"acme-?", "acme-12", false},
		{"acme-[ab]", "acme-a", true},
		{"acme-[ab]", "acme-c", false},
		{"acme-[!ab]", "acme-c", true},
		{"acme-[!ab]", "acme-a", false},
		{"acme-[a-c]x", "acme-bx", true},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"a.b", "axb", false}, // regexp metacharacters are literal
		{"a+", "aa", false},
		{"[]]", "]", true},
		{"*", "", true},
	} {
		p, err := compile(tc.pat)
		if err != nil {
			t.Errorf("compile(%q): %v", tc.pat, err)
			continue
		}
		if got := p.match(tc.in); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pat, tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "acme-[ab", `acme\`, "[!]", "[z-a]"} {
		if _, err := compile(bad); err == nil {
			t.Errorf("compile(%q): no error", bad)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", "exceptions:\n  - kind: X\n    reason: r\n    owner: o\n    expires: 2027-01-01\n    projcet: p\n", "f.yaml:6: unknown field \"projcet\""},
		{"unknown top-level", "exception:\n  - kind: X\n", "f.yaml:1: unknown field \"exception\""},
		{"missing reason", "exceptions:\n  - kind: X\n    owner: o\n    expires: 2027-01-01\n", "f.yaml:2: entry lacks \"reason\""},
		{"missing owner", "exceptions:\n  - kind: X\n    reason: r\n    expires: 2027-01-01\n", "f.yaml:2: entry lacks \"owner\""},
		{"missing expires", "exceptions:\n  - kind: X\n    reason: r\n    owner: o\n", "f.yaml:2: entry lacks \"expires\""},
		{"bad date", "exceptions:\n  - kind: X\n    reason: r\n    owner: o\n    expires: 2027-13-01\n", "f.yaml:5: expires \"2027-13-01\""},
		{"words for a date", "exceptions:\n  - kind: X\n    reason: r\n    owner: o\n    expires: next year\n", "f.yaml:5: expires \"next year\""},
		{"bad pattern", "exceptions:\n  - kind: X\n    project: acme-[ab\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", "f.yaml:3: project \"acme-[ab\": unclosed ["},
		{"no matcher", "exceptions:\n  - reason: r\n    owner: o\n    expires: 2027-01-01\n", "f.yaml:2: entry has no matcher"},
		{"list for a value", "exceptions:\n  - kind: [A, B]\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", "f.yaml:2: field \"kind\" must be a single value"},
		{"empty value", "exceptions:\n  - kind: \"\"\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", "f.yaml:2: field \"kind\" is empty"},
		{"twice", "exceptions:\n  - kind: A\n    kind: B\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", "f.yaml:3:"},
		{"not a list", "exceptions: yes\n", "f.yaml:1: `exceptions` must be a list"},
		{"entry not a mapping", "exceptions:\n  - just a string\n", "f.yaml:2: an exception entry must be a mapping"},
		{"syntax", "exceptions:\n  - kind: A\n   reason: r\n", "f.yaml: "},
		{"empty file", "", "f.yaml: empty exceptions file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestExample loads the shipped example and applies it to the example
// organization's findings: it excepts exactly the findings its entries
// describe, and nothing else.
func TestExample(t *testing.T) {
	f, err := Load("../../examples/exceptions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(f.Entries))
	}
	findings, err := report.ReadFindings("../../cmd/audit/testdata/acme.findings.jsonl.golden")
	if err != nil {
		t.Fatal(err)
	}
	rep := f.Apply(findings, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if len(rep.Expired) != 0 || len(rep.Unmatched) != 0 {
		t.Errorf("expired %v, unmatched %v; want none", rep.Expired, rep.Unmatched)
	}
	excepted := 0
	for _, fd := range findings {
		wantDave := fd.Kind == audit.DeployerCannotReadImage && fd.ProjectID == "acme-data" && fd.Principal == "user:dave@acme.example"
		wantGCR := fd.Repository == "projects/acme-shared/locations/us/repositories/gcr.io"
		if fd.Excepted != (wantDave || wantGCR) {
			t.Errorf("%s %s %s: excepted %v, want %v", fd.Kind, fd.Principal, fd.Repository, fd.Excepted, wantDave || wantGCR)
		}
		if fd.Excepted {
			excepted++
			if fd.Exception == nil || !strings.HasPrefix(fd.Exception.Where, "../../examples/exceptions.yaml:") || fd.Exception.Owner == "" {
				t.Errorf("exception not cited: %+v", fd.Exception)
			}
		}
	}
	if excepted != 6 {
		t.Errorf("%d excepted, want 6 (4 of dave's, 2 on gcr.io)", excepted)
	}
}

func TestApply(t *testing.T) {
	yaml := `exceptions:
  - project: "444444444444"      # line 2: by number
    reason: r
    owner: o
    expires: 2026-10-31
  - folder: folders/556666666666 # line 6
    kind: REMOTE_*
    reason: r
    owner: o
    expires: 2026-11-01
  - principal: user:nobody@acme.example # line 11: matches nothing
    reason: r
    owner: o
    expires: 2027-01-01
  - resource: //run.googleapis.com/projects/p/*  # line 15: later, overlaps line 6
    reason: second
    owner: o
    expires: 2027-01-01
`
	dir := t.TempDir()
	path := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	findings := []audit.Finding{
		{Kind: audit.DeployerCannotReadImage, ProjectID: "p", ProjectNumber: "444444444444", Resource: "//run.googleapis.com/projects/p/locations/l/services/a"},
		{Kind: audit.RemoteRepoSecretInaccessible, ProjectID: "q", Folders: []string{"1", "556666666666"}, Resource: "//run.googleapis.com/projects/p/x"},
		{Kind: audit.RemoteRepoSecretInaccessible, ProjectID: "q", Folders: []string{"1"}},
	}
	// 2026-10-31T12:00: line 2 applies until the end of 2026-10-31.
	rep := f.Apply(clone(findings), time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC))
	if got := wheres(rep.Unmatched); got != path+":11" {
		t.Errorf("unmatched %q, want line 11", got)
	}
	if len(rep.Expired) != 0 {
		t.Errorf("expired %v, want none", rep.Expired)
	}

	// 2026-11-01T00:00: line 2 has expired; its finding falls to line 15.
	got := clone(findings)
	rep = f.Apply(got, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if w := wheres(rep.Expired); w != path+":2" {
		t.Errorf("expired %q, want line 2", w)
	}
	if w := wheres(rep.Unmatched); w != path+":11" {
		t.Errorf("unmatched %q, want line 11", w)
	}
	for i, want := range []string{path + ":15", path + ":6", ""} {
		where := ""
		if got[i].Exception != nil {
			where = got[i].Exception.Where
		}
		if where != want || got[i].Excepted != (want != "") {
			t.Errorf("finding %d: excepted %v by %q, want %q", i, got[i].Excepted, where, want)
		}
	}
	if got[0].Exception.Reason != "second" || got[0].Exception.Expires != "2027-01-01" {
		t.Errorf("exception %+v does not carry its entry", got[0].Exception)
	}
}

func clone(fs []audit.Finding) []audit.Finding { return append([]audit.Finding(nil), fs...) }

func wheres(es []audit.Exception) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Where)
	}
	return strings.Join(s, ",")
}
