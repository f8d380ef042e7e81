package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/conditions"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// The scenario organization: org 1 → folder 10 → projects app (100) and
// reg (200); a project "other" (300) directly under the org. Service "web"
// and job "batch" run in app. Repositories: app/local, reg/shared,
// reg/second. Each case adds bindings and resources as CAI assets.
var projects = map[string]string{"app": "100", "reg": "200", "other": "300"}

func ancestors(proj string) string {
	if proj == "other" {
		return `["projects/300","organizations/1"]`
	}
	return fmt.Sprintf(`["projects/%s","folders/10","organizations/1"]`, projects[proj])
}

func projectAsset(id string) string {
	num := projects[id]
	return fmt.Sprintf(`{"name":"//cloudresourcemanager.googleapis.com/projects/%s","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"%s","projectNumber":"%s"}},"ancestors":%s}`, num, id, num, ancestors(id))
}

func serviceAsset(proj, name, lastModifier string, images ...string) string {
	var cs []string
	for i, img := range images {
		cs = append(cs, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
	}
	return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/europe-west1/services/%s","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"name":"projects/%s/locations/europe-west1/services/%s","creator":"creator@x.example","lastModifier":%q,"template":{"containers":[%s]}}},"ancestors":%s}`,
		proj, name, proj, name, lastModifier, strings.Join(cs, ","), ancestors(proj))
}

func jobAsset(proj, name string, images ...string) string {
	var cs []string
	for _, img := range images {
		cs = append(cs, fmt.Sprintf(`{"image":%q}`, img))
	}
	return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/europe-west1/jobs/%s","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"template":{"template":{"containers":[%s]}}}},"ancestors":%s}`,
		proj, name, strings.Join(cs, ","), ancestors(proj))
}

func repoAsset(proj, loc, name, secret string) string {
	extra := ""
	if secret != "" {
		extra = fmt.Sprintf(`,"mode":"REMOTE_REPOSITORY","remoteRepositoryConfig":{"upstreamCredentials":{"usernamePasswordCredentials":{"passwordSecretVersion":%q}}}`, secret)
	}
	return fmt.Sprintf(`{"name":"//artifactregistry.googleapis.com/projects/%s/locations/%s/repositories/%s","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":%q,"data":{"format":"DOCKER"%s}},"ancestors":%s}`,
		proj, loc, name, loc, extra, ancestors(proj))
}

func secretAsset(proj, name string) string {
	return fmt.Sprintf(`{"name":"//secretmanager.googleapis.com/projects/%s/secrets/%s","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}},"ancestors":%s}`,
		projects[proj], name, ancestors(proj))
}

func customRole(parent, name string, perms ...string) string {
	q := make([]string, len(perms))
	for i, p := range perms {
		q[i] = fmt.Sprintf("%q", p)
	}
	anc := `["organizations/1"]`
	if strings.HasPrefix(parent, "projects/") {
		anc = ancestors(strings.TrimPrefix(parent, "projects/"))
	}
	return fmt.Sprintf(`{"name":"//iam.googleapis.com/%s/roles/%s","asset_type":"iam.googleapis.com/Role","resource":{"data":{"includedPermissions":[%s],"stage":"GA"}},"ancestors":%s}`,
		parent, name, strings.Join(q, ","), anc)
}

// policy binds role to members on a node given by short name: "org",
// "folder", a project id, or a resource path below a project such as
// "reg/locations/europe-west1/repositories/shared" or
// "app/locations/europe-west1/workerPools/pool".
func policy(on, role string, members ...string) string {
	return conditionalPolicy(on, role, "", members...)
}

func conditionalPolicy(on, role, expr string, members ...string) string {
	var name, typ, anc string
	switch {
	case on == "org":
		name, typ, anc = "//cloudresourcemanager.googleapis.com/organizations/1", inventory.TypeOrganization, `["organizations/1"]`
	case on == "folder":
		name, typ, anc = "//cloudresourcemanager.googleapis.com/folders/10", inventory.TypeFolder, `["folders/10","organizations/1"]`
	case !strings.Contains(on, "/"):
		name, typ, anc = "//cloudresourcemanager.googleapis.com/projects/"+projects[on], inventory.TypeProject, ancestors(on)
	default:
		proj, rest, _ := strings.Cut(on, "/")
		anc = ancestors(proj)
		switch {
		case strings.Contains(rest, "/repositories/"):
			name, typ = "//artifactregistry.googleapis.com/projects/"+proj+"/"+rest, inventory.TypeRepository
		case strings.Contains(rest, "/services/"):
			name, typ = "//run.googleapis.com/projects/"+proj+"/"+rest, inventory.TypeService
		case strings.Contains(rest, "/jobs/"):
			name, typ = "//run.googleapis.com/projects/"+proj+"/"+rest, inventory.TypeJob
		case strings.Contains(rest, "/workerPools/"):
			name, typ = "//run.googleapis.com/projects/"+proj+"/"+rest, inventory.TypeWorkerPool
		case strings.HasPrefix(rest, "secrets/"):
			name, typ = "//secretmanager.googleapis.com/projects/"+projects[proj]+"/"+rest, inventory.TypeSecret
		}
	}
	ms := make([]string, len(members))
	for i, m := range members {
		ms[i] = fmt.Sprintf("%q", m)
	}
	cond := ""
	if expr != "" {
		cond = fmt.Sprintf(`,"condition":{"title":"cond","expression":%q}`, expr)
	}
	return fmt.Sprintf(`{"name":%q,"asset_type":%q,"iam_policy":{"bindings":[{"role":%q,"members":[%s]%s}]},"ancestors":%s}`, name, typ, role, strings.Join(ms, ","), cond, anc)
}

const (
	shared     = "reg/locations/europe-west1/repositories/shared"
	second     = "reg/locations/europe-west1/repositories/second"
	local      = "app/locations/europe-west1/repositories/local"
	sharedImg  = "europe-west1-docker.pkg.dev/reg/shared/web:1"
	localImg   = "europe-west1-docker.pkg.dev/app/local/web:1"
	devUser    = "user:dev@x.example"
	ciSA       = "serviceAccount:ci@ci.iam.gserviceaccount.com"
	runAgent   = "serviceAccount:service-100@serverless-robot-prod.iam.gserviceaccount.com"
	arAgentReg = "serviceAccount:service-200@gcp-sa-artifactregistry.iam.gserviceaccount.com"
)

// agentRole is the grant Google makes to project app's Cloud Run service
// agent, which covers its pulls from app's own repositories.
var agentRole = policy("app", "roles/run.serviceAgent", runAgent)

// base is the organization every case starts from.
func base() []string {
	return []string{
		projectAsset("app"), projectAsset("reg"), projectAsset("other"),
		repoAsset("reg", "europe-west1", "shared", ""),
		repoAsset("reg", "europe-west1", "second", ""),
		repoAsset("app", "europe-west1", "local", ""),
	}
}

// evaluate runs the rules over base plus the case's assets.
func evaluate(t *testing.T, opts access.Options, assets ...string) ([]Finding, []InventoryRow, *inventory.Inventory) {
	t.Helper()
	inv := buildCase(t, nil, assets...)
	if len(inv.Skipped) > 0 {
		t.Fatalf("fixture skipped: %+v", inv.Skipped)
	}
	eng := access.New(inv, access.Predefined(), opts)
	fs, rows, err := Evaluate(context.Background(), inv, eng, Options{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	return fs, rows, inv
}

// mergePolicies joins the bindings of policy assets on the same resource,
// as a resource has one IAM policy: a case lists bindings, not policies.
func mergePolicies(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	byName := map[string]map[string]any{}
	var order []string
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("fixture: %v\n%s", err, l)
		}
		p, ok := m["iam_policy"].(map[string]any)
		if !ok {
			out = append(out, l)
			continue
		}
		name := m["name"].(string)
		if prev, ok := byName[name]; ok {
			pp := prev["iam_policy"].(map[string]any)
			pp["bindings"] = append(pp["bindings"].([]any), p["bindings"].([]any)...)
			continue
		}
		byName[name] = m
		order = append(order, name)
	}
	for _, name := range order {
		b, _ := json.Marshal(byName[name])
		out = append(out, string(b))
	}
	return out
}

// ruleCase is an organization (base plus assets) and exactly the findings
// the rules must give for it.
type ruleCase struct {
	name   string
	assets []string
	want   []string
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, _, _ := evaluate(t, access.Options{}, tc.assets...)
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// brief renders findings as "KIND SEVERITY principal repo-or-image" lines.
func brief(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		what := f.Repository
		if i := strings.LastIndex(what, "/"); i >= 0 {
			what = what[i+1:]
		}
		if what == "" {
			what = f.Image
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", f.Kind, f.Severity, f.Principal, what)))
	}
	sort.Strings(out)
	return out
}

func TestDeployerRule(t *testing.T) {
	web := serviceAsset("app", "web", "", sharedImg)
	dev := policy("app", "roles/run.developer", devUser)
	want := []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example shared"}
	agentOK := policy(shared, "roles/artifactregistry.reader", runAgent)
	tests := []ruleCase{
		{"no read anywhere fires", []string{web, dev, agentOK}, want},
		{"last modifier is HIGH", []string{serviceAsset("app", "web", "dev@x.example", sharedImg), dev, agentOK},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE HIGH user:dev@x.example shared"}},
		{"reader on the repository", []string{web, dev, agentOK, policy(shared, "roles/artifactregistry.reader", devUser)}, nil},
		{"reader on the repository's project", []string{web, dev, agentOK, policy("reg", "roles/artifactregistry.reader", devUser)}, nil},
		{"reader on the folder", []string{web, dev, agentOK, policy("folder", "roles/artifactregistry.reader", devUser)}, nil},
		{"reader on the organization", []string{web, dev, agentOK, policy("org", "roles/artifactregistry.reader", devUser)}, nil},
		{"viewer basic role covers it", []string{web, dev, agentOK, policy("reg", "roles/viewer", devUser)}, nil},
		{"writer covers it", []string{web, dev, agentOK, policy(shared, "roles/artifactregistry.writer", devUser)}, nil},
		{"reader on the deployer's own project does not reach another project", []string{web, dev, agentOK, policy("app", "roles/artifactregistry.reader", devUser)}, want},
		{"reader on a sibling repository does not count", []string{web, dev, agentOK, policy(second, "roles/artifactregistry.reader", devUser)}, want},
		{"reader in an unrelated project does not count", []string{web, dev, agentOK, policy("other", "roles/artifactregistry.reader", devUser)}, want},
		{"run.admin holds no read", []string{web, agentOK, policy("app", "roles/run.admin", devUser)}, want},
		{"editor deploys and reads", []string{web, agentOK, policy("folder", "roles/editor", devUser)}, nil},
		{"deploy role bound on the service itself", []string{web, agentOK, policy("app/locations/europe-west1/services/web", "roles/run.developer", devUser)}, want},
		{"deploy role on another service is not a deployer", []string{web, agentOK, serviceAsset("app", "api", "", "nginx:1.27"), policy("app/locations/europe-west1/services/api", "roles/run.developer", devUser)}, nil},
		{"deploy role at the organization", []string{web, agentOK, policy("org", "roles/run.developer", devUser)}, want},
		{"a role without deploy permissions is not a deployer", []string{web, agentOK, policy("app", "roles/run.viewer", devUser)}, nil},
		{"custom role with run.services.update deploys", []string{web, agentOK, customRole("organizations/1", "deployer", "run.services.update", "run.services.get"), policy("app", "organizations/1/roles/deployer", devUser)}, want},
		{"custom role named by project id", []string{web, agentOK, customRole("projects/app", "deployer", "run.services.create"), policy("app", "projects/app/roles/deployer", devUser)}, want},
		{"custom role with only job permissions does not deploy services", []string{web, agentOK, customRole("organizations/1", "jobs", "run.jobs.update"), policy("app", "organizations/1/roles/jobs", devUser)}, nil},
		{"custom reader role grants read", []string{web, dev, agentOK, customRole("organizations/1", "puller", "artifactregistry.repositories.downloadArtifacts"), policy(shared, "organizations/1/roles/puller", devUser)}, nil},
		{"deleted member holds nothing", []string{web, dev, agentOK, policy(shared, "roles/artifactregistry.reader", "deleted:user:dev@x.example?uid=1")}, want},
		{"allUsers reads", []string{web, dev, policy(shared, "roles/artifactregistry.reader", "allUsers")}, nil},
		{"allAuthenticatedUsers reads", []string{web, dev, policy(shared, "roles/artifactregistry.reader", "allAuthenticatedUsers")}, nil},
		{"domain covers its users", []string{web, dev, agentOK, policy(shared, "roles/artifactregistry.reader", "domain:x.example")}, nil},
		{"domain does not cover service accounts", []string{web, agentOK, policy("app", "roles/run.developer", ciSA), policy(shared, "roles/artifactregistry.reader", "domain:x.example")},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM serviceAccount:ci@ci.iam.gserviceaccount.com shared"}},
		{"conditional read is undecided, not granted", []string{web, dev, agentOK, conditionalPolicy(shared, "roles/artifactregistry.reader", `request.time < timestamp("2020-01-01T00:00:00Z")`, devUser)},
			[]string{"CONDITION_NOT_EVALUABLE INFO user:dev@x.example shared"}},
		{"group read is undecided, not granted", []string{web, dev, agentOK, policy(shared, "roles/artifactregistry.reader", "group:devs@x.example")},
			[]string{"GROUP_MEMBERSHIP_UNKNOWN INFO user:dev@x.example shared"}},
		{"a deploying group that reads as a group", []string{web, agentOK, policy("app", "roles/run.developer", "group:devs@x.example"), policy(shared, "roles/artifactregistry.reader", "group:devs@x.example")}, nil},
		{"public images need no check", []string{serviceAsset("app", "web", "", "nginx:1.27", "ghcr.io/acme/tool:1"), dev}, nil},
		{"same-project image read through project reader", []string{serviceAsset("app", "web", "", localImg), dev, policy("app", "roles/artifactregistry.reader", devUser), agentRole}, nil},
		{"two images in one repository give one finding", []string{serviceAsset("app", "web", "", sharedImg, "europe-west1-docker.pkg.dev/reg/shared/sidecar:2"), dev, agentOK}, want},
	}
	runCases(t, tests)
}

func TestJobDeployers(t *testing.T) {
	batch := jobAsset("app", "batch", sharedImg)
	agentOK := policy(shared, "roles/artifactregistry.reader", runAgent)
	tests := []ruleCase{
		{"run.jobs.update deploys jobs", []string{batch, agentOK, customRole("organizations/1", "jobs", "run.jobs.update"), policy("app", "organizations/1/roles/jobs", devUser)},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example shared"}},
		{"run.services.update does not deploy jobs", []string{batch, agentOK, customRole("organizations/1", "svc", "run.services.update"), policy("app", "organizations/1/roles/svc", devUser)}, nil},
	}
	runCases(t, tests)
}

func TestServiceAgentRule(t *testing.T) {
	tests := []ruleCase{
		{"cross-project image without grant", []string{serviceAsset("app", "web", "", sharedImg)},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " shared"}},
		{"cross-project image with repository grant", []string{serviceAsset("app", "web", "", sharedImg), policy(shared, "roles/artifactregistry.reader", runAgent)}, nil},
		{"cross-project image with project grant", []string{serviceAsset("app", "web", "", sharedImg), policy("reg", "roles/artifactregistry.reader", runAgent)}, nil},
		{"another project's agent does not count", []string{serviceAsset("app", "web", "", sharedImg), policy(shared, "roles/artifactregistry.reader", "serviceAccount:service-300@serverless-robot-prod.iam.gserviceaccount.com")},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " shared"}},
		{"same-project image is covered by run.serviceAgent", []string{serviceAsset("app", "web", "", localImg), agentRole}, nil},
		{"same-project image without run.serviceAgent: checked, not assumed", []string{serviceAsset("app", "web", "", localImg)},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " local"}},
		{"same-project image with run.serviceAgent at the folder", []string{serviceAsset("app", "web", "", localImg), policy("folder", "roles/run.serviceAgent", runAgent)}, nil},
		{"jobs too", []string{jobAsset("app", "batch", sharedImg)},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " shared"}},
		{"gcr.io images map to the gcr.io repository", []string{serviceAsset("app", "web", "", "gcr.io/reg/legacy:1"), repoAsset("reg", "us", "gcr.io", "")},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " gcr.io"}},
	}
	runCases(t, tests)
}

func TestRemoteRepoSecretRule(t *testing.T) {
	remote := repoAsset("reg", "europe", "hub", "projects/reg/secrets/token/versions/1")
	tests := []ruleCase{
		{"no access to the secret", []string{remote, secretAsset("reg", "token")},
			[]string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentReg + " hub"}},
		{"accessor on the secret", []string{remote, secretAsset("reg", "token"), policy("reg/secrets/token", "roles/secretmanager.secretAccessor", arAgentReg)}, nil},
		{"accessor on the project", []string{remote, secretAsset("reg", "token"), policy("reg", "roles/secretmanager.secretAccessor", arAgentReg)}, nil},
		{"a role without versions.access", []string{remote, secretAsset("reg", "token"), policy("reg/secrets/token", "roles/secretmanager.viewer", arAgentReg)},
			[]string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentReg + " hub"}},
		{"another project's agent does not count", []string{remote, secretAsset("reg", "token"), policy("reg/secrets/token", "roles/secretmanager.secretAccessor", "serviceAccount:service-100@gcp-sa-artifactregistry.iam.gserviceaccount.com")},
			[]string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentReg + " hub"}},
		{"secret named by number", []string{repoAsset("reg", "europe", "hub", "projects/200/secrets/token/versions/latest"), secretAsset("reg", "token")},
			[]string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentReg + " hub"}},
		{"secret in another scanned project", []string{repoAsset("reg", "europe", "hub", "projects/other/secrets/token/versions/1"), secretAsset("other", "token"), policy("other", "roles/secretmanager.secretAccessor", arAgentReg)}, nil},
		{"secret outside the scan", []string{repoAsset("reg", "europe", "hub", "projects/elsewhere/secrets/token/versions/1")},
			[]string{"SECRET_OUTSIDE_SCANNED_ORGANIZATION INFO " + arAgentReg + " hub"}},
		{"secret missing", []string{remote},
			[]string{"REMOTE_REPO_SECRET_NOT_FOUND LOW " + arAgentReg + " hub"}},
		{"standard repositories need no secret", nil, nil},
	}
	runCases(t, tests)
}

func TestInformationalImages(t *testing.T) {
	tests := []struct {
		name    string
		image   string
		want    []string
		verdict Verdict
	}{
		{"outside the organization", "us-docker.pkg.dev/cloudrun/container/hello", []string{"IMAGE_OUTSIDE_SCANNED_ORGANIZATION INFO  container"}, VerdictUnverified},
		{"unparseable", "europe-west1-docker.pkg.dev/app/Local/Web Server", []string{"IMAGE_UNPARSEABLE INFO  europe-west1-docker.pkg.dev/app/Local/Web Server"}, VerdictUnverified},
		{"repository missing", "europe-west1-docker.pkg.dev/reg/gone/web:1", []string{"IMAGE_REPOSITORY_NOT_FOUND INFO  gone"}, VerdictUnverified},
		{"public", "docker.io/library/nginx:1.27", nil, VerdictPublic},
		{"readable", localImg, nil, VerdictOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, rows, _ := evaluate(t, access.Options{}, serviceAsset("app", "web", "", tc.image), policy("app", "roles/run.developer", devUser), policy("app", "roles/artifactregistry.reader", devUser), agentRole)
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
			if len(rows) != 1 || rows[0].Verdict != tc.verdict {
				t.Errorf("inventory rows %+v, want one with verdict %s", rows, tc.verdict)
			}
		})
	}
}

// decider is a stub of the engine's plug-in deciders, to show how the rules
// follow their verdicts.
type decider struct{ cond, member access.Tri }

func (d decider) Evaluate(*inventory.Condition, *inventory.Node) (access.Tri, string) {
	return d.cond, "stub"
}
func (d decider) IsMember(string, string) (access.Tri, string) { return d.member, "stub" }

func TestDecidersTurnFindingsOnAndOff(t *testing.T) {
	web := serviceAsset("app", "web", "", sharedImg)
	agentOK := policy(shared, "roles/artifactregistry.reader", runAgent)
	dev := policy("app", "roles/run.developer", devUser)
	condRead := conditionalPolicy(shared, "roles/artifactregistry.reader", "request.time < timestamp(\"2020-01-01T00:00:00Z\")", devUser)
	groupRead := policy(shared, "roles/artifactregistry.reader", "group:devs@x.example")
	condDeploy := conditionalPolicy("app", "roles/run.developer", "true", devUser)
	fire := []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example shared"}
	tests := []struct {
		name   string
		d      decider
		assets []string
		want   []string
	}{
		{"false read condition: fires", decider{cond: access.No}, []string{web, agentOK, dev, condRead}, fire},
		{"true read condition: silent", decider{cond: access.Yes}, []string{web, agentOK, dev, condRead}, nil},
		{"member of the reading group: silent", decider{member: access.Yes}, []string{web, agentOK, dev, groupRead}, nil},
		{"not a member of the reading group: fires", decider{member: access.No}, []string{web, agentOK, dev, groupRead}, fire},
		{"false deploy condition: not a deployer", decider{cond: access.No}, []string{web, agentOK, condDeploy}, nil},
		{"undecided deploy condition: informational", decider{cond: access.Unknown}, []string{web, agentOK, condDeploy},
			[]string{"CONDITION_NOT_EVALUABLE INFO user:dev@x.example shared"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, _, _ := evaluate(t, access.Options{Conditions: tc.d, Groups: tc.d}, tc.assets...)
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLastModifierThroughGroup(t *testing.T) {
	// The last modifier deploys through a group: when the membership is
	// known, it is checked itself and flagged as the last deployer.
	assets := []string{
		serviceAsset("app", "web", "dev@x.example", sharedImg),
		policy(shared, "roles/artifactregistry.reader", runAgent, "group:devs@x.example"),
		policy("app", "roles/run.developer", "group:devs@x.example"),
	}
	fs, _, _ := evaluate(t, access.Options{Groups: decider{member: access.Yes}}, assets...)
	if got := brief(fs); len(got) != 0 {
		t.Errorf("member of a reading group: got %q, want none", got)
	}
	// Reads through the group are undecided without membership; the last
	// modifier is still named and marked.
	fs, _, _ = evaluate(t, access.Options{}, assets...)
	var found bool
	for _, f := range fs {
		if f.Principal == devUser {
			found = true
			if !f.LastDeployer || f.Kind != MembershipNotResolvable {
				t.Errorf("last modifier finding = %+v", f)
			}
		}
	}
	if !found {
		t.Errorf("no finding for the last modifier; got %q", brief(fs))
	}
}

// checkLastDeployerFinding compares f, but for its reason, with the
// finding the fields tests expect: devUser, the last modifier of a
// resource in project app, cannot read sharedImg.
func checkLastDeployerFinding(t *testing.T, f Finding, resource, resourceType string) {
	t.Helper()
	want := Finding{
		Kind: DeployerCannotReadImage, Severity: High,
		Resource: resource, ResourceType: resourceType, ProjectID: "app", ProjectNumber: "100", Location: "europe-west1",
		Principal: devUser, Image: sharedImg, Repository: "projects/reg/locations/europe-west1/repositories/shared",
		LastDeployer: true, Permission: "artifactregistry.repositories.downloadArtifacts",
		Remediation: "gcloud artifacts repositories add-iam-policy-binding shared --project=reg --location=europe-west1 --member=user:dev@x.example --role=roles/artifactregistry.reader",
		Folders:     []string{"10"}, Organization: "1",
	}
	want.FindingID = ID(want.Kind, want.Resource, want.Principal, want.Repository)
	f.Reason = ""
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Errorf("finding:\n got %+v\nwant %+v", f, want)
	}
}

func TestFindingFields(t *testing.T) {
	fs, _, _ := evaluate(t, access.Options{},
		serviceAsset("app", "web", "dev@x.example", sharedImg),
		policy("app", "roles/run.developer", devUser),
		policy(shared, "roles/artifactregistry.reader", runAgent))
	if len(fs) != 1 {
		t.Fatalf("got %q, want one finding", brief(fs))
	}
	f := fs[0]
	checkLastDeployerFinding(t, f, "//run.googleapis.com/projects/app/locations/europe-west1/services/web", "run.googleapis.com/Service")
	for _, part := range []string{"roles/run.developer on project app", "no binding on repository projects/reg/locations/europe-west1/repositories/shared, project reg, folder 10, organization 1"} {
		if !strings.Contains(f.Reason, part) {
			t.Errorf("reason %q lacks %q", f.Reason, part)
		}
	}
}

func TestFindingIDStable(t *testing.T) {
	a := ID(DeployerCannotReadImage, "r", "p", "repo")
	if a != ID(DeployerCannotReadImage, "r", "p", "repo") {
		t.Fatal("ID is not deterministic")
	}
	for _, other := range []string{
		ID(ServiceAgentCannotReadImage, "r", "p", "repo"),
		ID(DeployerCannotReadImage, "r2", "p", "repo"),
		ID(DeployerCannotReadImage, "r", "p2", "repo"),
		ID(DeployerCannotReadImage, "r", "p", "repo2"),
		ID(DeployerCannotReadImage, "rp", "", "repo"), // field boundaries matter
	} {
		if other == a {
			t.Errorf("ID collision for different inputs: %s", other)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"user:a@b.example": "user:a@b.example",
		"principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.repository/acme/x": "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.repository/acme/x",
		"a b":     "'a b'",
		"it's":    `'it'\''s'`,
		"$(rm x)": "'$(rm x)'",
		"":        "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// evaluateWithGaps runs the rules over base plus assets, with gaps
// recorded as a partial scan would.
func evaluateWithGaps(t *testing.T, gaps []inventory.Gap, assets ...string) ([]Finding, []InventoryRow) {
	t.Helper()
	fs, rows, _ := evaluateProbed(t, gaps, nil, assets...)
	return fs, rows
}

// buildCase builds the inventory of base plus assets, with gaps.
func buildCase(t *testing.T, gaps []inventory.Gap, assets ...string) *inventory.Inventory {
	t.Helper()
	b := inventory.NewBuilder()
	for i, line := range mergePolicies(t, append(base(), assets...)) {
		a, err := scan.DecodeAsset([]byte(line))
		if err != nil {
			t.Fatalf("asset %d: %v\n%s", i, err, line)
		}
		b.Add(a, fmt.Sprintf("case:%d", i))
	}
	for _, g := range gaps {
		b.Gap(g)
	}
	return b.Finish()
}

// Each rule consults the coverage model: what a gap could change is
// undecided, named by kind, with the gap in depends_on; what it cannot
// touch stays decided.
func TestGapsMakeAnswersUndecided(t *testing.T) {
	gap := func(scope, assetType, content string) inventory.Gap {
		return inventory.Gap{Scope: scope, AssetType: assetType, ContentType: content, Reason: "PERMISSION_DENIED"}
	}
	secret := "projects/app/secrets/hub/versions/1"
	readsLocal := policy("app", "roles/artifactregistry.reader", devUser)
	tests := []struct {
		name    string
		gaps    []inventory.Gap
		assets  []string
		want    []string
		verdict Verdict
	}{
		{"no gap: the project grant decides", nil,
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "roles/run.developer", devUser), policy("app", "roles/artifactregistry.reader", devUser), agentRole},
			nil, VerdictOK},
		{"project policies unread: a missing reader grant is undecided, not a finding",
			[]inventory.Gap{gap("organizations/1", inventory.TypeProject, inventory.ContentIAMPolicy)},
			[]string{serviceAsset("app", "web", "", localImg), policy("app/locations/europe-west1/services/web", "roles/run.developer", devUser)},
			[]string{"IAM_POLICY_NOT_READ INFO " + runAgent + " local", "IAM_POLICY_NOT_READ INFO user:dev@x.example local"}, VerdictUnverified},
		{"a read project policy is complete: the gap elsewhere changes nothing",
			[]inventory.Gap{gap("projects/reg", inventory.TypeProject, inventory.ContentIAMPolicy)},
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "roles/run.developer", devUser), agentRole},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example local"}, VerdictAtRisk},
		{"a folder's policy unread: the service agent's cross-project read is undecided, not CRITICAL",
			[]inventory.Gap{{Scope: "folders/10", AssetType: inventory.TypeFolder, ContentType: inventory.ContentIAMPolicy, Asset: "//cloudresourcemanager.googleapis.com/folders/10", Reason: "denied"}},
			[]string{serviceAsset("app", "web", "", sharedImg), policy("app", "roles/run.developer", devUser), policy("reg", "roles/artifactregistry.reader", devUser)},
			[]string{"IAM_POLICY_NOT_READ INFO " + runAgent + " shared"}, VerdictUnverified},
		{"service policies unread: deployers may be missing, so not OK",
			[]inventory.Gap{gap("organizations/1", inventory.TypeService, inventory.ContentIAMPolicy)},
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "roles/run.developer", devUser), policy("app", "roles/artifactregistry.reader", devUser), agentRole},
			nil, VerdictUnverified},
		{"service policies unread: a sure gap stays a finding",
			[]inventory.Gap{gap("organizations/1", inventory.TypeService, inventory.ContentIAMPolicy)},
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "roles/run.developer", devUser), agentRole},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example local"}, VerdictAtRisk},
		{"repositories not listed whole: absence is not evidence",
			[]inventory.Gap{gap("organizations/1", inventory.TypeRepository, inventory.ContentResource)},
			[]string{serviceAsset("app", "web", "", "europe-west1-docker.pkg.dev/app/gone/web:1"), policy("app", "roles/run.developer", devUser)},
			[]string{"RESOURCE_NOT_READ INFO  gone"}, VerdictUnverified},
		{"repositories of another project not listed: the missing one is missing",
			[]inventory.Gap{gap("projects/reg", inventory.TypeRepository, inventory.ContentResource)},
			[]string{serviceAsset("app", "web", "", "europe-west1-docker.pkg.dev/app/gone/web:1"), policy("app", "roles/run.developer", devUser)},
			[]string{"IMAGE_REPOSITORY_NOT_FOUND INFO  gone"}, VerdictUnverified},
		{"secrets not listed whole: no secret-not-found",
			[]inventory.Gap{gap("organizations/1", inventory.TypeSecret, inventory.ContentResource)},
			[]string{repoAsset("app", "us", "hub", secret)},
			[]string{"RESOURCE_NOT_READ INFO serviceAccount:service-100@gcp-sa-artifactregistry.iam.gserviceaccount.com hub"}, ""},
		{"secret policies unread: the agent's access is undecided",
			[]inventory.Gap{gap("organizations/1", inventory.TypeSecret, inventory.ContentIAMPolicy)},
			[]string{repoAsset("app", "us", "hub", secret), secretAsset("app", "hub")},
			[]string{"IAM_POLICY_NOT_READ INFO serviceAccount:service-100@gcp-sa-artifactregistry.iam.gserviceaccount.com hub"}, ""},
		{"custom roles unread: a deployer through one is undecided",
			[]inventory.Gap{gap("organizations/1", inventory.TypeRole, inventory.ContentResource)},
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "organizations/1/roles/deployer", devUser), agentRole},
			[]string{"ROLE_DEFINITION_UNKNOWN INFO user:dev@x.example local"}, VerdictUnverified},
		{"one malformed asset: only that repository's policy is unknown",
			[]inventory.Gap{{Scope: "f.ndjson:7", AssetType: inventory.TypeRepository, Asset: "//artifactregistry.googleapis.com/projects/reg/locations/europe-west1/repositories/second", Reason: "malformed"}},
			[]string{serviceAsset("app", "web", "", localImg, "europe-west1-docker.pkg.dev/reg/second/x:1"), policy("app", "roles/run.developer", devUser), policy(shared, "roles/artifactregistry.reader", runAgent), agentRole},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example local", "IAM_POLICY_NOT_READ INFO " + runAgent + " second", "IAM_POLICY_NOT_READ INFO user:dev@x.example second"}, VerdictAtRisk},
		{"an unreadable file may have held anything",
			[]inventory.Gap{{Scope: "f.ndjson", Reason: "reading f.ndjson: unexpected EOF"}},
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "roles/run.developer", devUser), agentRole},
			[]string{"IAM_POLICY_NOT_READ INFO user:dev@x.example local"}, VerdictUnverified},
		// Worker pools: a gap of their own kind, not another kind's.
		{"worker pool, no gap: OK", nil,
			[]string{workerPoolAsset("app", "pool", "", localImg), policy("app", "roles/run.developer", devUser), readsLocal, agentRole}, nil, VerdictOK},
		{"worker pool policies unread: deployers may be missing, so not OK", []inventory.Gap{gap("organizations/1", inventory.TypeWorkerPool, inventory.ContentIAMPolicy)},
			[]string{workerPoolAsset("app", "pool", "", localImg), policy("app", "roles/run.developer", devUser), readsLocal, agentRole}, nil, VerdictUnverified},
		{"worker pool policies unread: a sure gap stays a finding", []inventory.Gap{gap("organizations/1", inventory.TypeWorkerPool, inventory.ContentIAMPolicy)},
			[]string{workerPoolAsset("app", "pool", "", localImg), policy("app", "roles/run.developer", devUser), agentRole},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example local"}, VerdictAtRisk},
		{"service policies unread do not touch worker pools", []inventory.Gap{gap("organizations/1", inventory.TypeService, inventory.ContentIAMPolicy)},
			[]string{workerPoolAsset("app", "pool", "", localImg), policy("app", "roles/run.developer", devUser), readsLocal, agentRole}, nil, VerdictOK},
		{"worker pool policies unread do not touch services", []inventory.Gap{gap("organizations/1", inventory.TypeWorkerPool, inventory.ContentIAMPolicy)},
			[]string{serviceAsset("app", "web", "", localImg), policy("app", "roles/run.developer", devUser), readsLocal, agentRole}, nil, VerdictOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, rows := evaluateWithGaps(t, tc.gaps, tc.assets...)
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
			for _, f := range fs {
				if !f.Kind.Undecided() {
					continue
				}
				named := false
				for _, g := range tc.gaps {
					named = named || strings.Contains(f.Reason, g.Reason)
				}
				if len(f.DependsOn) == 0 || f.WouldBe == "" || !named {
					t.Errorf("undecided finding does not name the gap it hangs on: depends_on %v would_be %q\n%s", f.DependsOn, f.WouldBe, f.Reason)
				}
			}
			if tc.verdict != "" {
				if len(rows) == 0 || rows[0].Verdict != tc.verdict {
					t.Fatalf("rows %+v, want the first with verdict %s", rows, tc.verdict)
				}
				if tc.verdict == VerdictUnverified && len(fs) == 0 && !strings.Contains(rows[0].Note, "not read") {
					t.Errorf("an unverified image without a finding has no note: %+v", rows[0])
				}
			}
		})
	}
}

// A container without an image, or two unparseable containers of one job,
// are reported each on its own, with distinct ids.
func TestPerContainerFindingsAreDistinct(t *testing.T) {
	job := `{"name":"//run.googleapis.com/projects/app/locations/europe-west1/jobs/j","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"template":{"template":{"containers":[{"name":"a","image":"Bad Image"},{"name":"b","image":"Bad Image"},{"name":"c"}]}}}},"ancestors":` + ancestors("app") + `}`
	b := inventory.NewBuilder()
	for i, line := range append(base(), job) {
		a, err := scan.DecodeAsset([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		b.Add(a, fmt.Sprintf("case:%d", i))
	}
	inv := b.Finish()
	fs, rows, err := Evaluate(context.Background(), inv, access.New(inv, access.Predefined(), access.Options{}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, f := range fs {
		if f.Kind != ImageUnparseable {
			t.Errorf("unexpected %s", f.Kind)
		}
		ids[f.FindingID] = true
	}
	if len(fs) != 3 || len(ids) != 3 {
		t.Errorf("%d findings with %d distinct ids, want 3 and 3: %v", len(fs), len(ids), brief(fs))
	}
	for _, r := range rows {
		if r.Verdict != VerdictUnverified {
			t.Errorf("container %s: verdict %s, want UNVERIFIED", r.Container, r.Verdict)
		}
	}
}

// The secret version a remote repository reads is known, so a condition
// on resource.name of that version is decided; "latest" names no version.
func TestConditionsOnSecretVersions(t *testing.T) {
	eval, err := conditions.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	grant := conditionalPolicy("reg/secrets/token", "roles/secretmanager.secretAccessor", `resource.name == "projects/200/secrets/token/versions/1"`, arAgentReg)
	tests := []struct {
		name, version string
		want          []string
	}{
		{"the granted version", "1", nil},
		{"another version", "2", []string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentReg + " hub"}},
		{"latest names no version", "latest", []string{"CONDITION_NOT_EVALUABLE INFO " + arAgentReg + " hub"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote := repoAsset("reg", "europe", "hub", "projects/reg/secrets/token/versions/"+tc.version)
			fs, _, _ := evaluate(t, access.Options{Conditions: eval}, remote, secretAsset("reg", "token"), grant)
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A project pending deletion does not run its resources: one
// informational finding says so instead of a predicted failing deploy.
func TestProjectPendingDeletion(t *testing.T) {
	deleting := strings.Replace(projectAsset("app"), `"projectNumber":"100"`, `"projectNumber":"100","lifecycleState":"DELETE_REQUESTED"`, 1)
	web := serviceAsset("app", "web", "", sharedImg)
	dev := policy("app", "roles/run.developer", devUser)
	fs, rows, _ := evaluate(t, access.Options{}, deleting, web, dev)
	if len(fs) != 1 || fs[0].Kind != ProjectPendingDeletion || fs[0].Severity != Info || !strings.Contains(fs[0].Reason, "pending deletion") {
		t.Errorf("findings %q, want one PROJECT_PENDING_DELETION", brief(fs))
	}
	if len(rows) != 1 || rows[0].Verdict != VerdictNotRunning {
		t.Errorf("rows %+v, want one NOT_RUNNING", rows)
	}
	// The same project active: the deployer's and the agent's gaps are reported.
	fs, _, _ = evaluate(t, access.Options{}, web, dev)
	if got := brief(fs); !equal(got, []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM " + devUser + " shared", "SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " shared"}) {
		t.Errorf("active project: findings %q", got)
	}
}

// A gcr.io image whose project has no gcr.io repository cannot be
// deployed since Container Registry's shutdown: HIGH and actionable. With
// the repository, or where repositories were not listed whole, it is not.
func TestGCRRepositoryMissing(t *testing.T) {
	img := "gcr.io/reg/legacy:1"
	agentOK := policy("reg", "roles/artifactregistry.reader", runAgent, devUser)
	dev := policy("app", "roles/run.developer", devUser)
	fs, rows, _ := evaluate(t, access.Options{}, serviceAsset("app", "web", "", img), dev, agentOK)
	if len(fs) != 1 || fs[0].Kind != GCRRepositoryMissing || fs[0].Severity != High || !fs[0].Kind.Actionable() || !strings.Contains(fs[0].Reason, "2025-03-18") {
		t.Errorf("findings %q, want one HIGH GCR_REPOSITORY_MISSING naming the shutdown", brief(fs))
	}
	if len(rows) != 1 || rows[0].Verdict != VerdictAtRisk {
		t.Errorf("rows %+v, want AT_RISK", rows)
	}
	fs, _, _ = evaluate(t, access.Options{}, serviceAsset("app", "web", "", img), dev, agentOK, repoAsset("reg", "us", "gcr.io", ""))
	if len(fs) != 0 {
		t.Errorf("with the gcr.io repository: findings %q, want none", brief(fs))
	}
	fs, _ = evaluateWithGaps(t, []inventory.Gap{{Scope: "organizations/1", AssetType: inventory.TypeRepository, ContentType: inventory.ContentResource, Reason: "denied"}},
		serviceAsset("app", "web", "", img), dev, agentOK)
	if len(fs) != 1 || fs[0].Kind != ResourceNotRead {
		t.Errorf("repositories not listed whole: findings %q, want RESOURCE_NOT_READ", brief(fs))
	}
}
