package deploy

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

const testProjectNumber = "100000000001"

// deploymentExport writes the deployment as a Cloud Asset Inventory export
// would show it: the organization, the project, the repository and the job
// (deployed by the deployer, running the pushed image), with the IAM
// policies that the grants make on each of them. Dataset, bucket and
// service-account policies are not among the assets the audit reads.
func deploymentExport(t *testing.T, gs []grant) string {
	t.Helper()
	anc := []string{"projects/" + testProjectNumber, "organizations/" + testOrg}
	repo := "projects/" + testProject + "/locations/" + testRegion + "/repositories/runaudit"
	job := "projects/" + testProject + "/locations/" + testRegion + "/jobs/runaudit"
	image := testRegion + "-docker.pkg.dev/" + testProject + "/runaudit/audit@sha256:" + strings.Repeat("ab", 32)
	names := map[string]string{
		"organization": "//cloudresourcemanager.googleapis.com/organizations/" + testOrg,
		"project":      "//cloudresourcemanager.googleapis.com/projects/" + testProjectNumber,
		"repository":   "//artifactregistry.googleapis.com/" + repo,
		"job":          "//run.googleapis.com/" + job,
	}
	types := map[string]string{
		"organization": inventory.TypeOrganization, "project": inventory.TypeProject,
		"repository": inventory.TypeRepository, "job": inventory.TypeJob,
	}
	ancestors := map[string][]string{
		"organization": anc[1:], "project": anc, "repository": anc, "job": anc,
	}
	var lines []any
	lines = append(lines,
		map[string]any{"name": names["organization"], "asset_type": types["organization"], "ancestors": ancestors["organization"],
			"resource": map[string]any{"data": map[string]any{"name": "organizations/" + testOrg, "displayName": "acme.example"}}},
		map[string]any{"name": names["project"], "asset_type": types["project"], "ancestors": anc,
			"resource": map[string]any{"parent": names["organization"], "data": map[string]any{"projectNumber": testProjectNumber, "projectId": testProject, "lifecycleState": "ACTIVE"}}},
		map[string]any{"name": names["repository"], "asset_type": types["repository"], "ancestors": anc,
			"resource": map[string]any{"location": testRegion, "data": map[string]any{"name": repo, "format": "DOCKER", "mode": "STANDARD_REPOSITORY"}}},
		map[string]any{"name": names["job"], "asset_type": types["job"], "ancestors": anc,
			"resource": map[string]any{"version": "v2", "location": testRegion, "data": map[string]any{
				"name": job, "creator": "runaudit-deployer@" + testProject + ".iam.gserviceaccount.com",
				"lastModifier": "runaudit-deployer@" + testProject + ".iam.gserviceaccount.com",
				"template": map[string]any{"template": map[string]any{
					"serviceAccount": "runaudit-job@" + testProject + ".iam.gserviceaccount.com",
					"containers":     []any{map[string]any{"image": image}},
				}},
			}}},
	)
	bindings := map[string]map[string][]string{}
	// Google grants the project's Cloud Run service agent its role when
	// the Cloud Run API is enabled; the setup does not, and must not.
	gs = append(gs, grant{Kind: "project", Role: "roles/run.serviceAgent", Member: "serviceAccount:service-" + testProjectNumber + "@serverless-robot-prod.iam.gserviceaccount.com"})
	for _, g := range gs {
		if names[g.Kind] == "" {
			continue
		}
		if bindings[g.Kind] == nil {
			bindings[g.Kind] = map[string][]string{}
		}
		bindings[g.Kind][g.Role] = append(bindings[g.Kind][g.Role], g.Member)
	}
	for kind, byRole := range bindings {
		var bs []any
		for r, ms := range byRole {
			bs = append(bs, map[string]any{"role": r, "members": ms})
		}
		lines = append(lines, map[string]any{"name": names[kind], "asset_type": types[kind], "ancestors": ancestors[kind],
			"iam_policy": map[string]any{"version": 3, "bindings": bs}})
	}
	var sb strings.Builder
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// auditDeployment runs the project's own audit over the deployment.
func auditDeployment(t *testing.T, gs []grant) ([]audit.Finding, []audit.InventoryRow) {
	t.Helper()
	b := inventory.NewBuilder()
	if _, err := scan.ReadExport(context.Background(), "deployment.ndjson", strings.NewReader(deploymentExport(t, gs)), b, 1); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if len(inv.Skipped) > 0 || len(inv.Gaps) > 0 {
		t.Fatalf("the synthetic export did not read cleanly: skipped %v, gaps %v", inv.Skipped, inv.Gaps)
	}
	if len(inv.Runs) != 1 || len(inv.Repositories) != 1 {
		t.Fatalf("inventory has %d runs and %d repositories, want 1 and 1", len(inv.Runs), len(inv.Repositories))
	}
	eng := access.New(inv, access.Predefined(), access.Options{})
	if len(eng.UnknownRoles) > 0 {
		// The custom troubleshooter role is not in the export; it grants
		// nothing the audit checks.
		for _, r := range eng.UnknownRoles {
			if !strings.Contains(r, "/roles/runauditTroubleshooter") {
				t.Errorf("role unknown to the engine: %s", r)
			}
		}
	}
	fs, rows, err := audit.Evaluate(context.Background(), inv, eng, audit.Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return fs, rows
}

// TestAuditOfTheDeployment audits the deployment the setup makes with the
// audit's own engine: the job's deployer can read the image it deploys, so
// the job is not itself a finding. Without the repository grant it is.
func TestAuditOfTheDeployment(t *testing.T) {
	calls, _ := runSetup(t)
	gs := grantsOf(t, calls)

	fs, rows := auditDeployment(t, gs)
	if len(fs) > 0 {
		t.Errorf("the deployment as set up has findings: %+v", fs)
	}
	if len(rows) != 1 || rows[0].Verdict != audit.VerdictOK {
		t.Errorf("inventory rows = %+v, want one OK row", rows)
	}

	// The trap: run.developer alone, as before 2025.
	without := slices.DeleteFunc(slices.Clone(gs), func(g grant) bool { return g.Role == "roles/artifactregistry.writer" })
	fs, rows = auditDeployment(t, without)
	deployer := "serviceAccount:runaudit-deployer@" + testProject + ".iam.gserviceaccount.com"
	i := slices.IndexFunc(fs, func(f audit.Finding) bool {
		return f.Kind == audit.DeployerCannotReadImage && f.Principal == deployer
	})
	if i < 0 {
		t.Fatalf("without artifactregistry.writer no DEPLOYER_CANNOT_READ_IMAGE for the deployer; findings %+v", fs)
	}
	if !fs[i].LastDeployer || fs[i].Severity != audit.High {
		t.Errorf("finding %+v: want the last deployer, HIGH", fs[i])
	}
	if len(rows) != 1 || rows[0].Verdict != audit.VerdictAtRisk {
		t.Errorf("inventory rows = %+v, want one AT_RISK row", rows)
	}
}
