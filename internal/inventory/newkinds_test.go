package inventory_test

import (
	"fmt"
	"testing"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/inventory/inventorytest"
)

// Worker pools in both CAI shapes and every name form land under one key
// as the third kind of Cloud Run resource, counted apart.
func TestParseWorkerPools(t *testing.T) {
	const key = "projects/" + num + "/locations/europe-west1/workerPools/wp"
	v2 := func(proj string) string {
		return `{"name":"//run.googleapis.com/projects/` + proj + `/locations/europe-west1/workerPools/wp","asset_type":"run.googleapis.com/WorkerPool","resource":{"version":"v2","location":"europe-west1","data":{"name":"projects/` + proj + `/locations/europe-west1/workerPools/wp","creator":"c@x.example","lastModifier":"m@x.example","labels":{"team":"a"},` +
			`"template":{"containers":[{"name":"worker","image":"europe-west1-docker.pkg.dev/p/r/worker:1"},{"name":"side","image":"docker.io/library/redis:7"}],"serviceAccount":"wp@p.iam.gserviceaccount.com"}}}}`
	}
	v1 := func(namespace string) string {
		return `{"name":"//run.googleapis.com/apis/run.googleapis.com/v1/namespaces/` + namespace + `/workerpools/wp","asset_type":"run.googleapis.com/WorkerPool","resource":{"version":"v1","location":"europe-west1","data":{"apiVersion":"run.googleapis.com/v1","kind":"WorkerPool",` +
			`"metadata":{"name":"wp","namespace":"` + namespace + `","labels":{"team":"a"},"annotations":{"run.googleapis.com/creator":"c@x.example","run.googleapis.com/lastModifier":"m@x.example"}},` +
			`"spec":{"template":{"spec":{"containers":[{"name":"worker","image":"europe-west1-docker.pkg.dev/p/r/worker:1"},{"name":"side","image":"docker.io/library/redis:7"}],"serviceAccountName":"wp@p.iam.gserviceaccount.com"}}}}}}`
	}
	want := func(shape string) inventory.RunResource {
		return inventory.RunResource{Kind: inventory.KindWorkerPool, ProjectNumber: num, Location: "europe-west1", Name: "wp", Shape: shape,
			Containers:     []inventory.Container{{Name: "worker", Image: "europe-west1-docker.pkg.dev/p/r/worker:1"}, {Name: "side", Image: "docker.io/library/redis:7"}},
			ServiceAccount: "wp@p.iam.gserviceaccount.com", Creator: "c@x.example", LastModifier: "m@x.example"}
	}
	tests := []struct {
		name  string
		asset string
		want  inventory.RunResource
	}{
		{"v2, named by project id", withAncestors(v2(id), anc), want("v2")},
		{"v2, named by project number", withAncestors(v2(num), anc), want("v2")},
		{"v2, named by project id, without ancestors", v2(id), want("v2")},
		{"v1, namespace is the number", withAncestors(v1(num), anc), want("v1")},
		{"v1, namespace is the id", withAncestors(v1(id), anc), want("v1")},
		{"v1, namespace is the number, without ancestors", v1(num), want("v1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := buildFrom(t, projectAsset, tc.asset)
			if inv.SkippedTotal != 0 {
				t.Fatalf("skipped: %+v", inv.Skipped)
			}
			if len(inv.Runs) != 1 {
				t.Fatalf("runs = %d, want 1", len(inv.Runs))
			}
			got := *inv.Runs[0]
			if got.Node == nil || got.Node.Key != key || got.Node != inv.Nodes[key] || got.Node.Kind != inventory.KindWorkerPool {
				t.Errorf("node = %+v, want the inventory's %s, a worker pool", got.Node, key)
			}
			if got.Node != nil && (got.Node.Parent == nil || got.Node.Parent.Key != "projects/"+num) {
				t.Errorf("parent = %+v, want the project", got.Node.Parent)
			}
			got.Node = nil
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("run resource:\ngot  %+v\nwant %+v", got, tc.want)
			}
			if inv.Counts["worker_pools"] != 1 || inv.Counts["services"] != 0 || inv.Counts["jobs"] != 0 || inv.Counts["containers"] != 2 {
				t.Errorf("counts = %v, want one worker pool with two containers", inv.Counts)
			}
			if inv.RunCount() != 1 {
				t.Errorf("RunCount = %d, want 1", inv.RunCount())
			}
		})
	}

	// The v1 and v2 names of one worker pool are one resource; a policy
	// named either way binds on it.
	policy := withAncestors(`{"name":"//run.googleapis.com/projects/`+num+`/locations/europe-west1/workerPools/wp","asset_type":"run.googleapis.com/WorkerPool","iam_policy":{"bindings":[{"role":"roles/run.developer","members":["user:d@x.example"]}]}}`, anc)
	inv := buildFrom(t, projectAsset, withAncestors(v1(num), anc), withAncestors(v2(id), anc), policy)
	if len(inv.Runs) != 1 || inv.Counts["worker_pools"] != 1 {
		t.Fatalf("runs = %d, worker_pools = %d: the two names of one worker pool are one", len(inv.Runs), inv.Counts["worker_pools"])
	}
	if n := inv.Runs[0].Node; len(n.Bindings) != 1 || n.Bindings[0].Role != "roles/run.developer" || !n.HasPolicy {
		t.Errorf("bindings = %+v, want the worker pool's policy", n.Bindings)
	}
}

// RunCount adds services, jobs and worker pools; CountKey names each.
func TestRunCountAndCountKey(t *testing.T) {
	svc := withAncestors(v2Service(id, "europe-west1", "s"), anc)
	job := withAncestors(`{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/jobs/j","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"template":{"template":{"containers":[{"image":"gcr.io/x/y"}]}}}}}`, anc)
	wp := func(name string) string {
		return withAncestors(`{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/workerPools/`+name+`","asset_type":"run.googleapis.com/WorkerPool","resource":{"location":"europe-west1","data":{"template":{"containers":[{"image":"gcr.io/x/y"}]}}}}`, anc)
	}
	inv := buildFrom(t, projectAsset, svc, job, wp("a"), wp("b"))
	if inv.Counts["services"] != 1 || inv.Counts["jobs"] != 1 || inv.Counts["worker_pools"] != 2 || inv.RunCount() != 4 {
		t.Errorf("counts %v, RunCount %d: want 1 service, 1 job, 2 worker pools, 4 in all", inv.Counts, inv.RunCount())
	}
	for k, want := range map[inventory.Kind]string{inventory.KindService: "services", inventory.KindJob: "jobs", inventory.KindWorkerPool: "worker_pools"} {
		if got := inventory.CountKey(k); got != want {
			t.Errorf("CountKey(%s) = %q, want %q", k, got, want)
		}
		if !k.IsRun() {
			t.Errorf("%s is not IsRun", k)
		}
	}
	for _, k := range []inventory.Kind{inventory.KindRepository, inventory.KindProject, inventory.KindSecret} {
		if k.IsRun() {
			t.Errorf("%s IsRun", k)
		}
	}
	if got := inventory.KindWorkerPool.String(); got != "worker pool" {
		t.Errorf("KindWorkerPool.String() = %q", got)
	}
}

// A service's goog-managed-by label, in either shape, is kept as
// ManagedBy; other labels are not.
func TestManagedByLabel(t *testing.T) {
	v2 := func(labels string) string {
		return withAncestors(`{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/fn","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"labels":`+labels+`,"template":{"containers":[{"image":"gcr.io/x/y"}]}}}}`, anc)
	}
	v1 := func(labels string) string {
		return withAncestors(`{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/fn","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"fn","labels":`+labels+`},"spec":{"template":{"spec":{"containers":[{"image":"gcr.io/x/y"}]}}}}}}`, anc)
	}
	tests := []struct {
		name, asset, want string
	}{
		{"v2, Cloud Functions", v2(`{"goog-managed-by":"cloudfunctions","cloudfunctions.googleapis.com/function-id":"fn"}`), inventory.ManagedByCloudFunctions},
		{"v1, Cloud Functions", v1(`{"goog-managed-by":"cloudfunctions"}`), inventory.ManagedByCloudFunctions},
		{"v2, another manager", v2(`{"goog-managed-by":"firebase"}`), "firebase"},
		{"v2, other labels only", v2(`{"team":"cloudfunctions"}`), ""},
		{"v1, other labels only", v1(`{"team":"cloudfunctions"}`), ""},
		{"v2, no labels", v2(`{}`), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := buildFrom(t, projectAsset, tc.asset)
			if len(inv.Runs) != 1 || inv.SkippedTotal != 0 {
				t.Fatalf("runs %d, skipped %v", len(inv.Runs), inv.Skipped)
			}
			if got := inv.Runs[0].ManagedBy; got != tc.want {
				t.Errorf("ManagedBy = %q, want %q", got, tc.want)
			}
		})
	}
}

// A virtual repository keeps its upstreams as written, in the order of
// its configuration (not by priority); other repositories have none.
func TestBuilderVirtualRepositories(t *testing.T) {
	inv := buildFrom(t, projectAsset,
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/europe-west1/repositories/virt","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"europe-west1","data":{"format":"DOCKER","mode":"VIRTUAL_REPOSITORY","virtualRepositoryConfig":{"upstreamPolicies":[`+
			`{"id":"low","repository":"projects/acme-payments/locations/europe-west1/repositories/local","priority":10},`+
			`{"id":"high","repository":"projects/111111111111/locations/europe-west1/repositories/shared","priority":100}]}}}}`, anc),
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/europe-west1/repositories/empty","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"europe-west1","data":{"format":"DOCKER","mode":"VIRTUAL_REPOSITORY","virtualRepositoryConfig":{}}}}`, anc),
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/europe-west1/repositories/local","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"europe-west1","data":{"format":"DOCKER","mode":"STANDARD_REPOSITORY"}}}`, anc),
	)
	want := map[string]inventory.Repository{
		"projects/" + num + "/locations/europe-west1/repositories/virt": {ProjectNumber: num, Location: "europe-west1", Name: "virt", Format: "DOCKER", Mode: inventory.ModeVirtual,
			Upstreams: []string{"projects/acme-payments/locations/europe-west1/repositories/local", "projects/111111111111/locations/europe-west1/repositories/shared"}},
		"projects/" + num + "/locations/europe-west1/repositories/empty": {ProjectNumber: num, Location: "europe-west1", Name: "empty", Format: "DOCKER", Mode: inventory.ModeVirtual},
		"projects/" + num + "/locations/europe-west1/repositories/local": {ProjectNumber: num, Location: "europe-west1", Name: "local", Format: "DOCKER", Mode: "STANDARD_REPOSITORY"},
	}
	if len(inv.Repositories) != len(want) || inv.SkippedTotal != 0 {
		t.Errorf("repositories = %v, skipped %v", sortedKeys(inv.Repositories), inv.Skipped)
	}
	inventorytest.CheckRepositories(t, inv, want)
}
