package audit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// Tests of the three kinds of resource added together: worker pools (a
// third kind of Cloud Run resource), virtual repositories (whose
// Artifact Registry service agent reads the upstreams), and services that
// Cloud Functions deploys (through its own service agent). They are written
// from the specification, against the scenario organization of
// rules_test.go.

const (
	pool       = "app/locations/europe-west1/workerPools/pool"
	virt       = "reg/locations/europe-west1/repositories/virt"
	virtImg    = "europe-west1-docker.pkg.dev/reg/virt/web:1"
	arAgentApp = "serviceAccount:service-100@gcp-sa-artifactregistry.iam.gserviceaccount.com"
	gcfAgent   = "serviceAccount:service-100@gcf-admin-robot.iam.gserviceaccount.com"

	upShared = "projects/reg/locations/europe-west1/repositories/shared"
	upLocal  = "projects/app/locations/europe-west1/repositories/local"

	kindUpstreamInaccessible = Kind("VIRTUAL_REPO_UPSTREAM_INACCESSIBLE")
	kindUpstreamNotFound     = Kind("VIRTUAL_REPO_UPSTREAM_NOT_FOUND")
	kindUpstreamOutside      = Kind("UPSTREAM_OUTSIDE_SCANNED_ORGANIZATION")
	readViaVirtual           = "artifactregistry.repositories.readViaVirtualRepository"
)

func containersJSON(images []string) string {
	var cs []string
	for i, img := range images {
		cs = append(cs, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
	}
	return strings.Join(cs, ",")
}

// workerPoolAsset is a worker pool in the v2 shape, named by project id.
func workerPoolAsset(proj, name, lastModifier string, images ...string) string {
	return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/europe-west1/workerPools/%s","asset_type":"run.googleapis.com/WorkerPool","resource":{"location":"europe-west1","data":{"name":"projects/%s/locations/europe-west1/workerPools/%s","creator":"creator@x.example","lastModifier":%q,"template":{"containers":[%s],"serviceAccount":"pool@%s.iam.gserviceaccount.com"}}},"ancestors":%s}`,
		proj, name, proj, name, lastModifier, containersJSON(images), proj, ancestors(proj))
}

// workerPoolV1Asset is a worker pool in the v1 shape, named by namespace
// (the project number), its location only in resource.location.
func workerPoolV1Asset(proj, name, lastModifier string, images ...string) string {
	num := projects[proj]
	return fmt.Sprintf(`{"name":"//run.googleapis.com/apis/run.googleapis.com/v1/namespaces/%s/workerpools/%s","asset_type":"run.googleapis.com/WorkerPool","resource":{"location":"europe-west1","data":{"apiVersion":"run.googleapis.com/v1","kind":"WorkerPool","metadata":{"name":%q,"namespace":%q,"annotations":{"run.googleapis.com/creator":"creator@x.example","run.googleapis.com/lastModifier":%q}},"spec":{"template":{"spec":{"containers":[%s],"serviceAccountName":"pool@%s.iam.gserviceaccount.com"}}}}},"ancestors":%s}`,
		num, name, name, num, lastModifier, containersJSON(images), proj, ancestors(proj))
}

// labelledService is a service carrying goog-managed-by=managedBy, in the
// v2 (labels) or v1 (metadata.labels) shape.
func labelledService(shape, proj, name, managedBy, lastModifier string, images ...string) string {
	if shape == "v1" {
		return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/europe-west1/services/%s","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":%q,"namespace":%q,"labels":{"goog-managed-by":%q,"cloudfunctions.googleapis.com/function-id":%q},"annotations":{"serving.knative.dev/creator":"creator@x.example","serving.knative.dev/lastModifier":%q}},"spec":{"template":{"spec":{"containers":[%s]}}}}},"ancestors":%s}`,
			proj, name, name, projects[proj], managedBy, name, lastModifier, containersJSON(images), ancestors(proj))
	}
	return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/europe-west1/services/%s","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"name":"projects/%s/locations/europe-west1/services/%s","creator":"creator@x.example","lastModifier":%q,"labels":{"goog-managed-by":%q,"cloudfunctions.googleapis.com/function-id":%q},"template":{"containers":[%s]}}},"ancestors":%s}`,
		proj, name, proj, name, lastModifier, managedBy, name, containersJSON(images), ancestors(proj))
}

// virtualRepoAsset is a virtual Docker repository with the given upstream
// repositories, first the most preferred.
func virtualRepoAsset(proj, loc, name string, upstreams ...string) string {
	var ps []string
	for i, u := range upstreams {
		ps = append(ps, fmt.Sprintf(`{"id":"u%d","repository":%q,"priority":%d}`, i, u, 100-i))
	}
	return fmt.Sprintf(`{"name":"//artifactregistry.googleapis.com/projects/%s/locations/%s/repositories/%s","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":%q,"data":{"format":"DOCKER","mode":"VIRTUAL_REPOSITORY","virtualRepositoryConfig":{"upstreamPolicies":[%s]}}},"ancestors":%s}`,
		proj, loc, name, loc, strings.Join(ps, ","), ancestors(proj))
}

// Worker pools are deployed with run.workerpools.create/update: holders
// of those, at any level, must read the images; the service agent rule
// applies as for services.
func TestWorkerPoolDeployers(t *testing.T) {
	wp := workerPoolAsset("app", "pool", "", sharedImg)
	agentOK := policy(shared, "roles/artifactregistry.reader", runAgent)
	dev := policy("app", "roles/run.developer", devUser)
	want := []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example shared"}
	tests := []ruleCase{
		{"run.developer on the project fires", []string{wp, dev, agentOK}, want},
		{"last modifier is HIGH", []string{workerPoolAsset("app", "pool", "dev@x.example", sharedImg), dev, agentOK},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE HIGH user:dev@x.example shared"}},
		{"v1 shape, named by namespace, fires the same", []string{workerPoolV1Asset("app", "pool", "dev@x.example", sharedImg), dev, agentOK},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE HIGH user:dev@x.example shared"}},
		{"run.admin holds no read", []string{wp, agentOK, policy("app", "roles/run.admin", devUser)}, want},
		{"deploy role at the organization", []string{wp, agentOK, policy("org", "roles/run.developer", devUser)}, want},
		{"deploy role at the folder", []string{wp, agentOK, policy("folder", "roles/run.developer", devUser)}, want},
		{"deploy role bound on the worker pool itself", []string{wp, agentOK, policy(pool, "roles/run.developer", devUser)}, want},
		{"deploy role bound on a v1 worker pool itself", []string{workerPoolV1Asset("app", "pool", "", sharedImg), agentOK, policy(pool, "roles/run.developer", devUser)}, want},
		{"deploy role on another worker pool is not a deployer", []string{wp, agentOK, workerPoolAsset("app", "other", "", "nginx:1.27"),
			policy("app/locations/europe-west1/workerPools/other", "roles/run.developer", devUser)}, nil},
		{"deploy role on a service is not a worker-pool deployer", []string{wp, agentOK, serviceAsset("app", "web", "", "nginx:1.27"),
			policy("app/locations/europe-west1/services/web", "roles/run.developer", devUser)}, nil},
		{"editor deploys and reads", []string{wp, agentOK, policy("folder", "roles/editor", devUser)}, nil},
		{"owner deploys and reads", []string{wp, agentOK, policy("app", "roles/owner", devUser), policy("reg", "roles/owner", devUser)}, nil},
		{"editor in the pool's project only deploys", []string{wp, agentOK, policy("app", "roles/editor", devUser)}, want},
		{"reader on the repository", []string{wp, dev, agentOK, policy(shared, "roles/artifactregistry.reader", devUser)}, nil},
		{"reader on the repository's project", []string{wp, dev, agentOK, policy("reg", "roles/artifactregistry.reader", devUser)}, nil},
		{"run.viewer is not a deployer", []string{wp, agentOK, policy("app", "roles/run.viewer", devUser)}, nil},
		{"custom role with run.workerpools.update deploys", []string{wp, agentOK,
			customRole("organizations/1", "pools", "run.workerpools.update"), policy("app", "organizations/1/roles/pools", devUser)}, want},
		{"custom role with run.workerpools.create deploys", []string{wp, agentOK,
			customRole("projects/app", "pools", "run.workerpools.create"), policy("app", "projects/app/roles/pools", devUser)}, want},
		{"custom role with only run.services.update does not deploy worker pools", []string{wp, agentOK,
			customRole("organizations/1", "svc", "run.services.update", "run.services.create"), policy("app", "organizations/1/roles/svc", devUser)}, nil},
		{"custom role with only run.jobs.update does not deploy worker pools", []string{wp, agentOK,
			customRole("organizations/1", "jobs", "run.jobs.update", "run.jobs.create"), policy("app", "organizations/1/roles/jobs", devUser)}, nil},
		{"custom role with only run.workerpools.update does not deploy services", []string{serviceAsset("app", "web", "", sharedImg), agentOK,
			customRole("organizations/1", "pools", "run.workerpools.update", "run.workerpools.create"), policy("app", "organizations/1/roles/pools", devUser)}, nil},
		{"custom role with only run.workerpools.update does not deploy jobs", []string{jobAsset("app", "batch", sharedImg), agentOK,
			customRole("organizations/1", "pools", "run.workerpools.update", "run.workerpools.create"), policy("app", "organizations/1/roles/pools", devUser)}, nil},
		{"group read is undecided, not granted", []string{wp, dev, agentOK, policy(shared, "roles/artifactregistry.reader", "group:devs@x.example")},
			[]string{"GROUP_MEMBERSHIP_UNKNOWN INFO user:dev@x.example shared"}},
		{"service agent: cross-project image without grant", []string{wp},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " shared"}},
		{"service agent: same-project image covered by run.serviceAgent", []string{workerPoolAsset("app", "pool", "", localImg), agentRole}, nil},
		{"service agent: same-project image without run.serviceAgent", []string{workerPoolAsset("app", "pool", "", localImg)},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " local"}},
		{"public images need no check", []string{workerPoolAsset("app", "pool", "", "nginx:1.27"), dev}, nil},
	}
	runCases(t, tests)
}

// A worker pool's findings and inventory rows name it as a worker pool,
// with the project id, whichever shape and name form the asset had; and
// the inventory counts it apart.
func TestWorkerPoolFindingFields(t *testing.T) {
	for _, shape := range []string{"v2", "v1"} {
		t.Run(shape, func(t *testing.T) {
			asset := workerPoolAsset("app", "pool", "dev@x.example", sharedImg)
			if shape == "v1" {
				asset = workerPoolV1Asset("app", "pool", "dev@x.example", sharedImg)
			}
			fs, rows, inv := evaluate(t, access.Options{}, asset,
				policy("app", "roles/run.developer", devUser), policy(shared, "roles/artifactregistry.reader", runAgent))
			if len(fs) != 1 {
				t.Fatalf("got %q, want one finding", brief(fs))
			}
			f := fs[0]
			want := Finding{Resource: "//run.googleapis.com/projects/app/locations/europe-west1/workerPools/pool", ResourceType: "run.googleapis.com/WorkerPool"}
			checkLastDeployerFinding(t, f, want.Resource, want.ResourceType)
			if !strings.Contains(f.Reason, "roles/run.developer on project app") {
				t.Errorf("reason %q does not name the deploy grant", f.Reason)
			}
			if len(rows) != 1 {
				t.Fatalf("rows %+v, want one", rows)
			}
			r := rows[0]
			if r.Resource != want.Resource || r.ResourceType != want.ResourceType || r.Verdict != VerdictAtRisk ||
				r.ServiceAccount != "pool@app.iam.gserviceaccount.com" || r.LastModifier != "dev@x.example" || r.Creator != "creator@x.example" {
				t.Errorf("inventory row %+v", r)
			}
			if inv.Counts["worker_pools"] != 1 || inv.Counts["services"] != 0 || inv.Counts["jobs"] != 0 || inv.RunCount() != 1 {
				t.Errorf("counts %v, RunCount %d: want one worker pool", inv.Counts, inv.RunCount())
			}
			if got := ResourceTypeOf(inventory.KindWorkerPool); got != "run.googleapis.com/WorkerPool" {
				t.Errorf("ResourceTypeOf(worker pool) = %q", got)
			}
			var cov *ProjectCoverage
			for _, c := range Coverage(inv) {
				if c.ProjectID == "app" {
					cov = &c
				}
			}
			if cov == nil || cov.WorkerPools != 1 || cov.Services != 0 {
				t.Errorf("coverage of app: %+v, want one worker pool", cov)
			}
		})
	}
}

// A virtual repository's Artifact Registry service agent (of the virtual
// repository's project) must hold readViaVirtualRepository on every
// upstream: one finding per (virtual repository, upstream) it lacks.
func TestVirtualRepoUpstreamRule(t *testing.T) {
	inacc := func(agent, repo string) string {
		return "VIRTUAL_REPO_UPSTREAM_INACCESSIBLE HIGH " + agent + " " + repo
	}
	ownGrant := policy("reg", "roles/artifactregistry.serviceAgent", arAgentReg)
	vLocal := virtualRepoAsset("reg", "europe-west1", "virt", upLocal)
	vShared := virtualRepoAsset("reg", "europe-west1", "virt", upShared)
	tests := []ruleCase{
		{"standard repositories only: no finding", nil, nil},
		{"a virtual repository without upstreams", []string{virtualRepoAsset("reg", "europe-west1", "virt")}, nil},
		{"same-project upstream with Google's serviceAgent grant", []string{vShared, ownGrant}, nil},
		{"same-project upstream without it: checked, not assumed", []string{vShared}, []string{inacc(arAgentReg, "shared")}},
		{"cross-project upstream without a grant", []string{vLocal, ownGrant}, []string{inacc(arAgentReg, "local")}},
		{"reader on the upstream", []string{vLocal, policy(local, "roles/artifactregistry.reader", arAgentReg)}, nil},
		{"reader on the upstream's project", []string{vLocal, policy("app", "roles/artifactregistry.reader", arAgentReg)}, nil},
		{"reader on the folder", []string{vLocal, policy("folder", "roles/artifactregistry.reader", arAgentReg)}, nil},
		{"reader on the organization", []string{vLocal, policy("org", "roles/artifactregistry.reader", arAgentReg)}, nil},
		{"writer", []string{vLocal, policy(local, "roles/artifactregistry.writer", arAgentReg)}, nil},
		{"repoAdmin", []string{vLocal, policy(local, "roles/artifactregistry.repoAdmin", arAgentReg)}, nil},
		{"admin", []string{vLocal, policy(local, "roles/artifactregistry.admin", arAgentReg)}, nil},
		{"artifactregistry.viewer", []string{vLocal, policy(local, "roles/artifactregistry.viewer", arAgentReg)}, nil},
		{"artifactregistry.serviceAgent on the upstream's project", []string{vLocal, policy("app", "roles/artifactregistry.serviceAgent", arAgentReg)}, nil},
		{"custom role with readViaVirtualRepository", []string{vLocal,
			customRole("organizations/1", "via", readViaVirtual), policy(local, "organizations/1/roles/via", arAgentReg)}, nil},
		{"downloadArtifacts alone is not readViaVirtualRepository", []string{vLocal,
			customRole("organizations/1", "puller", "artifactregistry.repositories.downloadArtifacts"), policy(local, "organizations/1/roles/puller", arAgentReg)},
			[]string{inacc(arAgentReg, "local")}},
		{"a role without the permission", []string{vLocal, policy(local, "roles/run.developer", arAgentReg)}, []string{inacc(arAgentReg, "local")}},
		{"reader on a sibling repository does not count", []string{vShared, policy(second, "roles/artifactregistry.reader", arAgentReg)}, []string{inacc(arAgentReg, "shared")}},
		{"reader bound on the virtual repository does not reach the upstream", []string{vLocal, policy(virt, "roles/artifactregistry.reader", arAgentReg)}, []string{inacc(arAgentReg, "local")}},
		{"the upstream project's own agent does not count", []string{vLocal, policy(local, "roles/artifactregistry.reader", arAgentApp)}, []string{inacc(arAgentReg, "local")}},
		{"the Cloud Run agent does not count", []string{vLocal, policy(local, "roles/artifactregistry.reader", runAgent)}, []string{inacc(arAgentReg, "local")}},
		{"the agent is the virtual repository's project's", []string{virtualRepoAsset("other", "europe-west1", "virt", upShared), policy("reg", "roles/artifactregistry.reader", arAgentReg)},
			[]string{inacc("serviceAccount:service-300@gcp-sa-artifactregistry.iam.gserviceaccount.com", "shared")}},
		{"one finding per upstream", []string{virtualRepoAsset("reg", "europe-west1", "virt", upShared, upLocal, "projects/reg/locations/europe-west1/repositories/second"),
			policy(second, "roles/artifactregistry.reader", arAgentReg)},
			[]string{inacc(arAgentReg, "local"), inacc(arAgentReg, "shared")}},
		{"two virtual repositories on one upstream: one finding each", []string{vLocal, virtualRepoAsset("reg", "europe-west1", "virt2", upLocal)},
			[]string{inacc(arAgentReg, "local"), inacc(arAgentReg, "local")}},
		{"upstream named by project number", []string{virtualRepoAsset("reg", "europe-west1", "virt", "projects/100/locations/europe-west1/repositories/local")},
			[]string{inacc(arAgentReg, "local")}},
		{"upstream named by project number, granted", []string{virtualRepoAsset("reg", "europe-west1", "virt", "projects/100/locations/europe-west1/repositories/local"),
			policy(local, "roles/artifactregistry.reader", arAgentReg)}, nil},
		{"upstream missing from its scanned project", []string{virtualRepoAsset("reg", "europe-west1", "virt", "projects/app/locations/europe-west1/repositories/gone"), ownGrant},
			[]string{"VIRTUAL_REPO_UPSTREAM_NOT_FOUND LOW " + arAgentReg + " gone"}},
		{"upstream in another location of its project", []string{virtualRepoAsset("reg", "europe-west1", "virt", "projects/reg/locations/us/repositories/shared"), ownGrant},
			[]string{"VIRTUAL_REPO_UPSTREAM_NOT_FOUND LOW " + arAgentReg + " shared"}},
		{"upstream project outside the scan", []string{virtualRepoAsset("reg", "europe-west1", "virt", "projects/elsewhere/locations/europe-west1/repositories/x"), ownGrant},
			[]string{"UPSTREAM_OUTSIDE_SCANNED_ORGANIZATION INFO " + arAgentReg + " x"}},
		{"upstream project outside the scan, by number", []string{virtualRepoAsset("reg", "europe-west1", "virt", "projects/999/locations/europe-west1/repositories/x")},
			[]string{"UPSTREAM_OUTSIDE_SCANNED_ORGANIZATION INFO " + arAgentReg + " x"}},
		{"group grant is undecided", []string{vLocal, policy(local, "roles/artifactregistry.reader", "group:agents@x.example")},
			[]string{"GROUP_MEMBERSHIP_UNKNOWN INFO " + arAgentReg + " local"}},
		{"conditional grant is undecided", []string{vLocal, conditionalPolicy(local, "roles/artifactregistry.reader", `request.time < timestamp("2020-01-01T00:00:00Z")`, arAgentReg)},
			[]string{"CONDITION_NOT_EVALUABLE INFO " + arAgentReg + " local"}},
		{"a remote upstream keeps the secret rule", []string{
			repoAsset("app", "europe-west1", "hub", "projects/app/secrets/token/versions/1"), secretAsset("app", "token"),
			virtualRepoAsset("reg", "europe-west1", "virt", "projects/app/locations/europe-west1/repositories/hub"),
			policy("app/locations/europe-west1/repositories/hub", "roles/artifactregistry.reader", arAgentReg)},
			[]string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentApp + " hub"}},
		{"a remote upstream with its secret readable", []string{
			repoAsset("app", "europe-west1", "hub", "projects/app/secrets/token/versions/1"), secretAsset("app", "token"),
			virtualRepoAsset("reg", "europe-west1", "virt", "projects/app/locations/europe-west1/repositories/hub"),
			policy("app/locations/europe-west1/repositories/hub", "roles/artifactregistry.reader", arAgentReg),
			policy("app/secrets/token", "roles/secretmanager.secretAccessor", arAgentApp)}, nil},
		{"a remote upstream, neither readable", []string{
			repoAsset("app", "europe-west1", "hub", "projects/app/secrets/token/versions/1"), secretAsset("app", "token"),
			virtualRepoAsset("reg", "europe-west1", "virt", "projects/app/locations/europe-west1/repositories/hub")},
			[]string{"REMOTE_REPO_SECRET_INACCESSIBLE HIGH " + arAgentApp + " hub", inacc(arAgentReg, "hub")}},
	}
	runCases(t, tests)
}

// The virtual-repository finding's fields: the virtual repository is the
// resource, the upstream (with its project id) the repository, the agent
// the principal; the fix grants reader on the upstream.
func TestVirtualRepoFindingFields(t *testing.T) {
	for _, upstream := range []string{upLocal, "projects/100/locations/europe-west1/repositories/local"} {
		t.Run(upstream, func(t *testing.T) {
			fs, _, _ := evaluate(t, access.Options{}, virtualRepoAsset("reg", "europe-west1", "virt", upstream))
			if len(fs) != 1 {
				t.Fatalf("got %q, want one finding", brief(fs))
			}
			f := fs[0]
			want := Finding{
				Kind: kindUpstreamInaccessible, Severity: High,
				Resource:     "//artifactregistry.googleapis.com/projects/reg/locations/europe-west1/repositories/virt",
				ResourceType: "artifactregistry.googleapis.com/Repository", ProjectID: "reg", ProjectNumber: "200", Location: "europe-west1",
				Principal: arAgentReg, Repository: upLocal, Permission: readViaVirtual,
				Remediation: "gcloud artifacts repositories add-iam-policy-binding local --project=app --location=europe-west1 --member=" + arAgentReg + " --role=roles/artifactregistry.reader",
				Folders:     []string{"10"}, Organization: "1",
			}
			want.FindingID = ID(want.Kind, want.Resource, want.Principal, want.Repository)
			got := f
			got.Reason, got.Image, got.LastDeployer = "", "", false
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("finding:\n got %+v\nwant %+v", got, want)
			}
			if !f.Kind.Actionable() || f.Kind.Undecided() {
				t.Errorf("%s: actionable %v, undecided %v; want actionable", f.Kind, f.Kind.Actionable(), f.Kind.Undecided())
			}
			if f.Reason == "" {
				t.Error("no reason")
			}
			var sum Summary
			Summarize(&sum, &inventory.Inventory{}, fs)
			if sum.Actionable != 1 || sum.Undecided != 0 || sum.ByKind[string(kindUpstreamInaccessible)] != 1 {
				t.Errorf("summary counts actionable %d undecided %d by kind %v", sum.Actionable, sum.Undecided, sum.ByKind)
			}
		})
	}
	for _, k := range []Kind{kindUpstreamNotFound, kindUpstreamOutside} {
		if k.Actionable() || k.Undecided() {
			t.Errorf("%s: actionable %v, undecided %v; want neither", k, k.Actionable(), k.Undecided())
		}
	}
}

// Undecided answers about an upstream name what they hang on and what
// they would be.
func TestVirtualRepoUndecided(t *testing.T) {
	vLocal := virtualRepoAsset("reg", "europe-west1", "virt", upLocal)
	vGone := virtualRepoAsset("reg", "europe-west1", "virt", "projects/app/locations/europe-west1/repositories/gone")
	ownGrant := policy("reg", "roles/artifactregistry.serviceAgent", arAgentReg)
	gap := func(scope, assetType, content string) inventory.Gap {
		return inventory.Gap{Scope: scope, AssetType: assetType, ContentType: content, Reason: "PERMISSION_DENIED"}
	}
	tests := []struct {
		name   string
		gaps   []inventory.Gap
		assets []string
		// want is the one finding's kind; wouldBe and its severity what
		// it would become ("" for a decided finding or none).
		want       Kind
		wouldBe    Kind
		wouldBeSev Severity
		wantNone   bool
	}{
		{name: "group", assets: []string{vLocal, policy(local, "roles/artifactregistry.reader", "group:agents@x.example")},
			want: MembershipNotResolvable, wouldBe: kindUpstreamInaccessible, wouldBeSev: High},
		{name: "condition", assets: []string{vLocal, conditionalPolicy(local, "roles/artifactregistry.reader", `request.time < timestamp("2020-01-01T00:00:00Z")`, arAgentReg)},
			want: ConditionNotEvaluable, wouldBe: kindUpstreamInaccessible, wouldBeSev: High},
		{name: "repository policies not read", gaps: []inventory.Gap{gap("organizations/1", inventory.TypeRepository, inventory.ContentIAMPolicy)},
			assets: []string{vLocal, ownGrant}, want: PolicyNotRead, wouldBe: kindUpstreamInaccessible, wouldBeSev: High},
		{name: "the upstream project's repositories not listed whole", gaps: []inventory.Gap{gap("projects/app", inventory.TypeRepository, inventory.ContentResource)},
			assets: []string{vGone, ownGrant}, want: ResourceNotRead, wouldBe: kindUpstreamNotFound, wouldBeSev: Low},
		{name: "the organization's repositories not listed whole", gaps: []inventory.Gap{gap("organizations/1", inventory.TypeRepository, inventory.ContentResource)},
			assets: []string{vGone, ownGrant}, want: ResourceNotRead, wouldBe: kindUpstreamNotFound, wouldBeSev: Low},
		{name: "the folder's repositories not listed whole", gaps: []inventory.Gap{gap("folders/10", inventory.TypeRepository, inventory.ContentResource)},
			assets: []string{vGone, ownGrant}, want: ResourceNotRead, wouldBe: kindUpstreamNotFound, wouldBeSev: Low},
		{name: "an unreadable file may have held the upstream", gaps: []inventory.Gap{{Scope: "f.ndjson", Reason: "reading f.ndjson: unexpected EOF"}},
			assets: []string{vGone, ownGrant}, want: ResourceNotRead, wouldBe: kindUpstreamNotFound, wouldBeSev: Low},
		{name: "repositories not listed whole elsewhere: the missing one is missing", gaps: []inventory.Gap{gap("projects/other", inventory.TypeRepository, inventory.ContentResource)},
			assets: []string{vGone, ownGrant}, want: kindUpstreamNotFound},
		{name: "repositories not listed whole, but the upstream was read and is granted", gaps: []inventory.Gap{gap("projects/app", inventory.TypeRepository, inventory.ContentResource)},
			assets: []string{vLocal, ownGrant, policy(local, "roles/artifactregistry.reader", arAgentReg)}, wantNone: true},
		{name: "project policies unread elsewhere: a sure gap stays a finding", gaps: []inventory.Gap{gap("projects/other", inventory.TypeProject, inventory.ContentIAMPolicy)},
			assets: []string{vLocal, ownGrant}, want: kindUpstreamInaccessible},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, _ := evaluateWithGaps(t, tc.gaps, tc.assets...)
			if tc.wantNone {
				if len(fs) != 0 {
					t.Errorf("findings %q, want none", brief(fs))
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("findings %q, want one %s", brief(fs), tc.want)
			}
			f := fs[0]
			if f.Kind != tc.want || f.Principal != arAgentReg || !strings.HasPrefix(f.Repository, "projects/app/locations/europe-west1/repositories/") {
				t.Errorf("finding %s %s %s, want %s for %s on the upstream in app", f.Kind, f.Principal, f.Repository, tc.want, arAgentReg)
			}
			if f.Resource != "//artifactregistry.googleapis.com/projects/reg/locations/europe-west1/repositories/virt" {
				t.Errorf("resource %q, want the virtual repository", f.Resource)
			}
			if f.WouldBe != tc.wouldBe || f.WouldBeSeverity != tc.wouldBeSev {
				t.Errorf("would_be %q/%q, want %q/%q", f.WouldBe, f.WouldBeSeverity, tc.wouldBe, tc.wouldBeSev)
			}
			if tc.wouldBe != "" {
				if !f.Kind.Undecided() || f.Severity != Info || len(f.DependsOn) == 0 {
					t.Errorf("undecided finding: kind %s severity %s depends_on %v", f.Kind, f.Severity, f.DependsOn)
				}
			}
		})
	}
}

// An image pulled through a virtual repository: deployers and the Cloud
// Run agent need downloadArtifacts on the virtual repository itself (not
// on the upstreams); an inaccessible upstream puts the image AT_RISK.
func TestImagesThroughVirtualRepositories(t *testing.T) {
	web := serviceAsset("app", "web", "", virtImg)
	dev := policy("app", "roles/run.developer", devUser)
	readsVirt := policy(virt, "roles/artifactregistry.reader", devUser, runAgent)
	ownGrant := policy("reg", "roles/artifactregistry.serviceAgent", arAgentReg)
	tests := []struct {
		name    string
		assets  []string
		want    []string
		verdict Verdict
	}{
		{"every grant in place", []string{web, dev, readsVirt, ownGrant, virtualRepoAsset("reg", "europe-west1", "virt", upShared)}, nil, VerdictOK},
		{"an inaccessible upstream puts the image at risk", []string{web, dev, readsVirt, ownGrant, virtualRepoAsset("reg", "europe-west1", "virt", upShared, upLocal)},
			[]string{"VIRTUAL_REPO_UPSTREAM_INACCESSIBLE HIGH " + arAgentReg + " local"}, VerdictAtRisk},
		{"an upstream the agent may read through a group: undecided, so unverified", []string{web, dev, readsVirt, ownGrant, virtualRepoAsset("reg", "europe-west1", "virt", upShared, upLocal),
			policy(local, "roles/artifactregistry.reader", "group:agents@x.example")},
			[]string{"GROUP_MEMBERSHIP_UNKNOWN INFO " + arAgentReg + " local"}, VerdictUnverified},
		{"the virtual repository named by project number", []string{web, dev, readsVirt, ownGrant,
			strings.Replace(virtualRepoAsset("reg", "europe-west1", "virt", upShared, upLocal), "projects/reg/", "projects/200/", 1)},
			[]string{"VIRTUAL_REPO_UPSTREAM_INACCESSIBLE HIGH " + arAgentReg + " local"}, VerdictAtRisk},
		{"the deployer reads the upstream but not the virtual repository", []string{web, dev, policy(virt, "roles/artifactregistry.reader", runAgent), ownGrant,
			policy(shared, "roles/artifactregistry.reader", devUser), virtualRepoAsset("reg", "europe-west1", "virt", upShared)},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM " + devUser + " virt"}, VerdictAtRisk},
		{"the Cloud Run agent reads the upstream but not the virtual repository", []string{web, dev, policy(virt, "roles/artifactregistry.reader", devUser), ownGrant,
			policy(shared, "roles/artifactregistry.reader", runAgent), virtualRepoAsset("reg", "europe-west1", "virt", upShared)},
			[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " virt"}, VerdictAtRisk},
		{"an image from the upstream directly does not involve the virtual repository", []string{serviceAsset("app", "web", "", sharedImg), dev,
			policy(shared, "roles/artifactregistry.reader", devUser, runAgent), virtualRepoAsset("reg", "europe-west1", "virt", upShared, upLocal), ownGrant,
			policy(local, "roles/artifactregistry.reader", arAgentReg)}, nil, VerdictOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, rows, _ := evaluate(t, access.Options{}, tc.assets...)
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
			if len(rows) != 1 || rows[0].Verdict != tc.verdict {
				t.Errorf("rows %+v, want one with verdict %s", rows, tc.verdict)
			}
		})
	}
}

// A service labelled goog-managed-by=cloudfunctions is deployed by the
// Cloud Functions service agent of its project: that agent is the one
// deployer checked, HIGH when it cannot read; principals holding
// run.services.update are not. The Cloud Run agent rule still applies.
func TestCloudFunctionsServices(t *testing.T) {
	dev := policy("app", "roles/run.developer", devUser)
	runOK := policy(shared, "roles/artifactregistry.reader", runAgent)
	gcfFires := []string{"DEPLOYER_CANNOT_READ_IMAGE HIGH " + gcfAgent + " shared"}
	devFires := []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM " + devUser + " shared"}
	var tests []ruleCase
	for _, shape := range []string{"v2", "v1"} {
		fn := labelledService(shape, "app", "fn", "cloudfunctions", "", sharedImg)
		tests = append(tests,
			ruleCase{shape + ": the functions agent cannot read", []string{fn, dev, runOK}, gcfFires},
			ruleCase{shape + ": the last modifier is no deployer either", []string{labelledService(shape, "app", "fn", "cloudfunctions", "dev@x.example", sharedImg), dev, runOK}, gcfFires},
			ruleCase{shape + ": the functions agent reads the repository", []string{fn, dev, runOK, policy(shared, "roles/artifactregistry.reader", gcfAgent)}, nil},
			ruleCase{shape + ": cloudfunctions.serviceAgent on the repository's project", []string{fn, dev, runOK, policy("reg", "roles/cloudfunctions.serviceAgent", gcfAgent)}, nil},
			ruleCase{shape + ": the Cloud Run agent rule still applies", []string{fn, dev, policy(shared, "roles/artifactregistry.reader", gcfAgent)},
				[]string{"SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL " + runAgent + " shared"}},
			ruleCase{shape + ": another goog-managed-by value is an ordinary service", []string{labelledService(shape, "app", "fn", "cloudrun", "", sharedImg), dev, runOK}, devFires},
		)
	}
	local := labelledService("v2", "app", "fn", "cloudfunctions", "", localImg)
	tests = append(tests,
		ruleCase{"same-project image, Google's grants in place", []string{local, dev, agentRole, policy("app", "roles/cloudfunctions.serviceAgent", gcfAgent)}, nil},
		ruleCase{"same-project image without the functions agent's grant: checked, not assumed", []string{local, dev, agentRole},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE HIGH " + gcfAgent + " local"}},
		ruleCase{"another project's functions agent does not count", []string{labelledService("v2", "app", "fn", "cloudfunctions", "", sharedImg), dev, runOK,
			policy(shared, "roles/artifactregistry.reader", "serviceAccount:service-300@gcf-admin-robot.iam.gserviceaccount.com")}, gcfFires},
		ruleCase{"the agent is of the service's project", []string{labelledService("v2", "other", "fn", "cloudfunctions", "", sharedImg),
			policy(shared, "roles/artifactregistry.reader", "serviceAccount:service-300@serverless-robot-prod.iam.gserviceaccount.com")},
			[]string{"DEPLOYER_CANNOT_READ_IMAGE HIGH serviceAccount:service-300@gcf-admin-robot.iam.gserviceaccount.com shared"}},
		ruleCase{"no deployer at all: the functions agent is still checked", []string{labelledService("v2", "app", "fn", "cloudfunctions", "", sharedImg), runOK}, gcfFires},
		ruleCase{"an undecided deploy grant is no deployer either", []string{labelledService("v2", "app", "fn", "cloudfunctions", "", sharedImg), runOK,
			conditionalPolicy("app", "roles/run.developer", `request.time < timestamp("2030-01-01T00:00:00Z")`, devUser)}, gcfFires},
		ruleCase{"a deploying group is no deployer either", []string{labelledService("v2", "app", "fn", "cloudfunctions", "", sharedImg), runOK,
			policy("app", "roles/run.developer", "group:devs@x.example")}, gcfFires},
		ruleCase{"a public image needs no check", []string{labelledService("v2", "app", "fn", "cloudfunctions", "", "docker.io/library/nginx:1.27"), dev}, nil},
		ruleCase{"a labelled job is an ordinary job", []string{labelledJob("app", "batch", sharedImg), dev, runOK}, devFires},
		ruleCase{"a labelled worker pool is an ordinary worker pool", []string{labelledWorkerPool("app", "pool", sharedImg), dev, runOK}, devFires},
	)
	runCases(t, tests)
}

// labelledJob and labelledWorkerPool carry goog-managed-by=cloudfunctions,
// which makes them nothing special.
func labelledJob(proj, name string, images ...string) string {
	return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/europe-west1/jobs/%s","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"labels":{"goog-managed-by":"cloudfunctions"},"template":{"template":{"containers":[%s]}}}},"ancestors":%s}`,
		proj, name, containersJSON(images), ancestors(proj))
}

func labelledWorkerPool(proj, name string, images ...string) string {
	return strings.Replace(workerPoolAsset(proj, name, "", images...), `"creator":`, `"labels":{"goog-managed-by":"cloudfunctions"},"creator":`, 1)
}

// The Cloud Functions finding names the agent and its fix, and the
// service's inventory rows say that Cloud Functions manages it; an
// ordinary service's rows do not.
func TestCloudFunctionsFindingAndNote(t *testing.T) {
	if got := FunctionsAgent("100"); got != gcfAgent {
		t.Errorf("FunctionsAgent(100) = %q, want %q", got, gcfAgent)
	}
	for _, shape := range []string{"v2", "v1"} {
		t.Run(shape, func(t *testing.T) {
			fs, rows, inv := evaluate(t, access.Options{},
				labelledService(shape, "app", "fn", "cloudfunctions", "dev@x.example", sharedImg),
				serviceAsset("app", "web", "", "docker.io/library/nginx:1.27"),
				policy("app", "roles/run.developer", devUser), policy(shared, "roles/artifactregistry.reader", runAgent))
			for _, r := range inv.Runs {
				want := ""
				if r.Name == "fn" {
					want = inventory.ManagedByCloudFunctions
				}
				if r.ManagedBy != want {
					t.Errorf("%s: ManagedBy %q, want %q", r.Name, r.ManagedBy, want)
				}
			}
			if len(fs) != 1 {
				t.Fatalf("findings %q, want one", brief(fs))
			}
			f := fs[0]
			if f.Kind != DeployerCannotReadImage || f.Severity != High || f.Principal != gcfAgent ||
				f.Resource != "//run.googleapis.com/projects/app/locations/europe-west1/services/fn" || f.ResourceType != "run.googleapis.com/Service" ||
				f.Repository != "projects/reg/locations/europe-west1/repositories/shared" || f.Permission != "artifactregistry.repositories.downloadArtifacts" {
				t.Errorf("finding %+v", f)
			}
			wantFix := "gcloud artifacts repositories add-iam-policy-binding shared --project=reg --location=europe-west1 --member=" + gcfAgent + " --role=roles/artifactregistry.reader"
			if f.Remediation != wantFix {
				t.Errorf("remediation %q, want %q", f.Remediation, wantFix)
			}
			if !strings.Contains(f.Reason, "Cloud Functions") {
				t.Errorf("reason %q does not say Cloud Functions deploys the service", f.Reason)
			}
			if len(rows) != 2 {
				t.Fatalf("rows %+v, want two", rows)
			}
			for _, r := range rows {
				managed := strings.Contains(strings.ToLower(r.Note), "cloud functions")
				if strings.HasSuffix(r.Resource, "/services/fn") != managed {
					t.Errorf("row %s: note %q", r.Resource, r.Note)
				}
				if managed && r.Verdict != VerdictAtRisk {
					t.Errorf("row %s: verdict %s, want AT_RISK", r.Resource, r.Verdict)
				}
			}
			// With the agent's read, the image is OK though the developer
			// who could update it cannot read it.
			fs, rows, _ = evaluate(t, access.Options{},
				labelledService(shape, "app", "fn", "cloudfunctions", "dev@x.example", sharedImg),
				policy("app", "roles/run.developer", devUser), policy(shared, "roles/artifactregistry.reader", runAgent, gcfAgent))
			if len(fs) != 0 || len(rows) != 1 || rows[0].Verdict != VerdictOK || !strings.Contains(strings.ToLower(rows[0].Note), "cloud functions") {
				t.Errorf("agent reads: findings %q, rows %+v; want none, one OK row with the note", brief(fs), rows)
			}
		})
	}
}

// An upstream that is not a repository name is not found: LOW, naming
// the agent and the virtual repository.
func TestVirtualRepoUpstreamNotARepositoryName(t *testing.T) {
	for _, upstream := range []string{
		"garbage",
		"projects/reg/repositories/shared",
		"projects/reg/locations/europe-west1/repositories/",
		"projects/reg/locations/europe-west1/repositories/shared/extra",
		"projects//locations/europe-west1/repositories/shared",
		"",
	} {
		t.Run(upstream, func(t *testing.T) {
			fs, _, _ := evaluate(t, access.Options{}, virtualRepoAsset("reg", "europe-west1", "virt", upstream),
				policy("reg", "roles/artifactregistry.serviceAgent", arAgentReg))
			if len(fs) != 1 {
				t.Fatalf("findings %q, want one VIRTUAL_REPO_UPSTREAM_NOT_FOUND", brief(fs))
			}
			f := fs[0]
			if f.Kind != kindUpstreamNotFound || f.Severity != Low || f.Principal != arAgentReg ||
				f.Resource != "//artifactregistry.googleapis.com/projects/reg/locations/europe-west1/repositories/virt" {
				t.Errorf("finding %s %s %s on %s", f.Kind, f.Severity, f.Principal, f.Resource)
			}
		})
	}
}

// The Cloud Functions agent's access hanging on a group or condition is
// undecided, and would be the HIGH deployer finding.
func TestCloudFunctionsAgentUndecided(t *testing.T) {
	fn := labelledService("v2", "app", "fn", "cloudfunctions", "", sharedImg)
	runOK := policy(shared, "roles/artifactregistry.reader", runAgent)
	for _, tc := range []struct {
		name  string
		grant string
		want  Kind
	}{
		{"group", policy(shared, "roles/artifactregistry.reader", "group:robots@x.example"), MembershipNotResolvable},
		{"condition", conditionalPolicy(shared, "roles/artifactregistry.reader", `request.time < timestamp("2020-01-01T00:00:00Z")`, gcfAgent), ConditionNotEvaluable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, _, _ := evaluate(t, access.Options{}, fn, runOK, policy("app", "roles/run.developer", devUser), tc.grant)
			if len(fs) != 1 {
				t.Fatalf("findings %q, want one %s", brief(fs), tc.want)
			}
			f := fs[0]
			if f.Kind != tc.want || f.Principal != gcfAgent || f.WouldBe != DeployerCannotReadImage || f.WouldBeSeverity != High {
				t.Errorf("finding %s %s would be %s %s; want %s %s would be DEPLOYER_CANNOT_READ_IMAGE HIGH", f.Kind, f.Principal, f.WouldBe, f.WouldBeSeverity, tc.want, gcfAgent)
			}
		})
	}
}

// Where the scan did not read the organization's projects whole, an
// upstream in a project it does not know may be inside the organization:
// undecided, as an image there is, not "outside the scanned organization".
func TestVirtualRepoUpstreamProjectUnread(t *testing.T) {
	gaps := []inventory.Gap{{Scope: "organizations/1", AssetType: inventory.TypeProject, ContentType: inventory.ContentResource, Reason: "PERMISSION_DENIED"}}
	fs, _ := evaluateWithGaps(t, gaps, virtualRepoAsset("reg", "europe-west1", "virt", "projects/elsewhere/locations/europe-west1/repositories/x"),
		policy("reg", "roles/artifactregistry.serviceAgent", arAgentReg))
	if len(fs) != 1 {
		t.Fatalf("findings %q, want one", brief(fs))
	}
	if f := fs[0]; !f.Kind.Undecided() || f.WouldBe == "" || f.Principal != arAgentReg || !strings.Contains(f.Reason, "PERMISSION_DENIED") {
		t.Errorf("finding %s %s would be %q: want an undecided one naming the gap\n%s", f.Kind, f.Principal, f.WouldBe, f.Reason)
	}
}

// Every inventory row of a service Cloud Functions manages says so, also
// where the row has another note to carry (a public image outside the
// scan says what the registry answered).
func TestCloudFunctionsNoteWithAnotherNote(t *testing.T) {
	served := PublicProbe{Public: true, Detail: "an anonymous request for the manifest of " + helloImg + " was answered (HTTP 200): the repository is public"}
	_, rows, _ := evaluateProbed(t, nil, map[string]PublicProbe{helloRepo: served},
		labelledService("v2", "app", "fn", "cloudfunctions", "", helloImg, localImg), agentRole,
		policy("app", "roles/cloudfunctions.serviceAgent", gcfAgent))
	if len(rows) != 2 {
		t.Fatalf("rows %+v, want two", rows)
	}
	for _, r := range rows {
		if !strings.Contains(strings.ToLower(r.Note), "cloud functions") {
			t.Errorf("row %s (%s): note %q does not say Cloud Functions manages the service", r.Image, r.Verdict, r.Note)
		}
	}
	if rows[0].Verdict != VerdictPublic || !strings.Contains(rows[0].Note, "HTTP 200") {
		t.Errorf("public row %+v: want PUBLIC_REGISTRY with the registry's answer kept", rows[0])
	}
}

// One finding per (virtual repository, upstream): an upstream named twice
// (by project id and by number) is one upstream, and finding ids stay
// unique.
func TestVirtualRepoUpstreamNamedTwice(t *testing.T) {
	fs, _, _ := evaluate(t, access.Options{}, virtualRepoAsset("reg", "europe-west1", "virt", upLocal, "projects/100/locations/europe-west1/repositories/local"))
	ids := map[string]int{}
	for _, f := range fs {
		ids[f.FindingID]++
	}
	if got := brief(fs); !equal(got, []string{"VIRTUAL_REPO_UPSTREAM_INACCESSIBLE HIGH " + arAgentReg + " local"}) || len(ids) != len(fs) {
		t.Errorf("findings %q with %d distinct ids, want one", got, len(ids))
	}
}
