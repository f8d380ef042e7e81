package xlsx

import (
	"slices"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
)

func TestGroupFindings(t *testing.T) {
	const repoA, repoB = "projects/s/locations/l/repositories/a", "projects/s/locations/l/repositories/b"
	svc := func(n string) string { return "//run.googleapis.com/projects/p/locations/l/services/" + n }
	f := func(kind audit.Kind, sev audit.Severity, res, who, repo, cmd string, last bool) audit.Finding {
		return audit.Finding{Kind: kind, Severity: sev, Resource: res, ProjectID: "p", Principal: who, Repository: repo, Remediation: cmd, LastDeployer: last}
	}
	D, S := audit.DeployerCannotReadImage, audit.ServiceAgentCannotReadImage
	fs := []audit.Finding{
		f(D, audit.High, svc("one"), "user:a", repoA, "fix a/A", false),
		f(D, audit.Critical, svc("two"), "user:a", repoA, "fix a/A", true),
		// The same resource twice (two containers): one affected service.
		f(D, audit.High, svc("two"), "user:a", repoA, "fix a/A", false),
		f(D, audit.Medium, svc("one"), "user:a", repoB, "fix a/B", false),
		f(S, audit.Critical, svc("one"), "serviceAccount:agent", repoA, "fix agent/A", false),
		// Informational kinds are not remediated.
		f(audit.ConditionNotEvaluable, audit.Info, svc("one"), "user:a", repoA, "", false),
		f(audit.ImageOutsideOrganization, audit.Info, svc("three"), "", repoB, "", false),
		// A command that differs within a pair makes its own row rather
		// than one row whose command would not fix every finding.
		f(D, audit.Medium, svc("three"), "user:a", repoB, "fix a/B differently", false),
	}
	got := groupFindings(fs)
	type row struct {
		who, repo, cmd      string
		sev                 audit.Severity
		findings, resources int
		last                int
	}
	var rows []row
	for _, g := range got {
		rows = append(rows, row{g.Principal, g.Repository, g.Command, g.Severity, g.Findings, g.Resources, g.LastDeployer})
	}
	want := []row{
		{"user:a", repoA, "fix a/A", audit.Critical, 3, 2, 1},
		{"serviceAccount:agent", repoA, "fix agent/A", audit.Critical, 1, 1, 0},
		{"user:a", repoB, "fix a/B", audit.Medium, 1, 1, 0},
		{"user:a", repoB, "fix a/B differently", audit.Medium, 1, 1, 0},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("groups:\n got %+v\nwant %+v", rows, want)
	}
	if g := got[0]; !slices.Equal(g.Examples, []string{"one", "two"}) || g.examplesText() != "one, two" {
		t.Errorf("examples = %q / %q", g.Examples, g.examplesText())
	}
}

func TestExamplesTextCapped(t *testing.T) {
	g := group{Examples: []string{"a", "b", "c", "d", "e"}, Resources: 12}
	if got := g.examplesText(); got != "a, b, c, d, e, and 7 more" {
		t.Errorf("examplesText = %q", got)
	}
}

func TestAssetTypeCoverage(t *testing.T) {
	types := []string{"run.googleapis.com/Service", "secretmanager.googleapis.com/Secret"}
	for _, tc := range []struct {
		name string
		gaps []audit.Gap
		want []assetTypeRow
	}{
		{"no gaps", nil, []assetTypeRow{{"run.googleapis.com/Service", 0}, {"secretmanager.googleapis.com/Secret", 0}}},
		{"one type", []audit.Gap{{AssetType: "secretmanager.googleapis.com/Secret"}},
			[]assetTypeRow{{"run.googleapis.com/Service", 0}, {"secretmanager.googleapis.com/Secret", 1}}},
		// A scope that could not be read at all affects every type.
		{"whole scope", []audit.Gap{{Scope: "folders/1"}},
			[]assetTypeRow{{"run.googleapis.com/Service", 1}, {"secretmanager.googleapis.com/Secret", 1}}},
		// A type only a gap names is listed too.
		{"unlisted type", []audit.Gap{{AssetType: "iam.googleapis.com/Role"}},
			[]assetTypeRow{{"run.googleapis.com/Service", 0}, {"secretmanager.googleapis.com/Secret", 0}, {"iam.googleapis.com/Role", 1}}},
	} {
		if got := assetTypeCoverage(types, tc.gaps); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
