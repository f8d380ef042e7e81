package scan_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/inventory/inventorytest"
	"github.com/runaudit/runaudit/internal/scan"
)

// testdata/newkinds.ndjson holds worker pools in both shapes, a virtual
// repository and services deployed by Cloud Functions in both shapes
// (TestDecodersGiveTheSameInventory compares the decoders on it too).
// Each decoding path must read the same, right, inventory from it: the
// typed export decoder, protojson into the builder, and protojson through
// inventory.FromAsset.
func TestNewKindsFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/newkinds.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]*inventory.Builder{"typed": inventory.NewBuilder(), "protojson": inventory.NewBuilder(), "FromAsset": inventory.NewBuilder()}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		where := fmt.Sprintf("newkinds.ndjson:%d", n)
		r, err := scan.DecodeRecord(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: typed: %v", where, err)
		}
		a, err := scan.DecodeAsset(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: protojson: %v", where, err)
		}
		paths["typed"].AddRecord(r, where)
		paths["protojson"].Add(a, where)
		paths["FromAsset"].AddRecord(inventory.FromAsset(a), where)
	}

	const (
		num    = "987654321098"
		pre    = "projects/" + num + "/locations/europe-west1/"
		gcf    = "service-987654321098@gcf-admin-robot.iam.gserviceaccount.com"
		gcfImg = "europe-west1-docker.pkg.dev/acme-payments/gcf-artifacts/acme--payments__europe--west1__"
	)
	wantRuns := map[string]inventory.RunResource{
		pre + "workerPools/queue": {Kind: inventory.KindWorkerPool, ProjectNumber: num, Location: "europe-west1", Name: "queue", Shape: "v2",
			Containers: []inventory.Container{
				{Name: "consumer", Image: "europe-west1-docker.pkg.dev/acme-payments/all/consumer:3"},
				{Name: "otel", Image: "docker.io/otel/collector:1"}},
			ServiceAccount: "queue@acme-payments.iam.gserviceaccount.com", Creator: "owner@acme.example", LastModifier: "ci@acme-ci.iam.gserviceaccount.com"},
		pre + "workerPools/indexer": {Kind: inventory.KindWorkerPool, ProjectNumber: num, Location: "europe-west1", Name: "indexer", Shape: "v1",
			Containers: []inventory.Container{
				{Name: "indexer", Image: "europe-west1-docker.pkg.dev/acme-shared/shared/indexer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
			ServiceAccount: "indexer@acme-payments.iam.gserviceaccount.com", Creator: "owner@acme.example", LastModifier: "dev@acme.example"},
		pre + "services/fn-v2": {Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "fn-v2", Shape: "v2",
			Containers:     []inventory.Container{{Image: gcfImg + "fn--v2:version_1"}},
			ServiceAccount: "fn@acme-payments.iam.gserviceaccount.com", Creator: gcf, LastModifier: gcf, ManagedBy: inventory.ManagedByCloudFunctions},
		pre + "services/fn-v1": {Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "fn-v1", Shape: "v1",
			Containers:     []inventory.Container{{Name: "worker", Image: gcfImg + "fn--v1:version_4"}},
			ServiceAccount: "fn@acme-payments.iam.gserviceaccount.com", Creator: gcf, LastModifier: gcf, ManagedBy: inventory.ManagedByCloudFunctions},
		pre + "services/web": {Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v2",
			Containers: []inventory.Container{{Image: "europe-west1-docker.pkg.dev/acme-payments/all/web:1"}}, ManagedBy: "cloudrun-integrations"},
	}
	wantRepos := map[string]inventory.Repository{
		pre + "repositories/all": {ProjectNumber: num, Location: "europe-west1", Name: "all", Format: "DOCKER", Mode: inventory.ModeVirtual,
			Upstreams: []string{"projects/acme-payments/locations/europe-west1/repositories/local", "projects/111111111111/locations/europe-west1/repositories/shared"}},
		pre + "repositories/local": {ProjectNumber: num, Location: "europe-west1", Name: "local", Format: "DOCKER", Mode: "STANDARD_REPOSITORY"},
		"projects/111111111111/locations/europe-west1/repositories/shared": {ProjectNumber: "111111111111", Location: "europe-west1", Name: "shared", Format: "DOCKER", Mode: "STANDARD_REPOSITORY"},
	}
	var digests []string
	for _, name := range []string{"typed", "protojson", "FromAsset"} {
		t.Run(name, func(t *testing.T) {
			inv := paths[name].Finish()
			digests = append(digests, digest(inv))
			if inv.SkippedTotal != 0 || len(inv.Gaps) != 0 {
				t.Fatalf("skipped %+v, gaps %+v", inv.Skipped, inv.Gaps)
			}
			runs := map[string]*inventory.RunResource{}
			for _, r := range inv.Runs {
				runs[r.Node.Key] = r
			}
			if len(runs) != len(wantRuns)+1 { // and the job
				t.Errorf("runs %v", sortedKeys(runs))
			}
			for k, w := range wantRuns {
				r := runs[k]
				if r == nil {
					t.Errorf("no run resource %s; have %v", k, sortedKeys(runs))
					continue
				}
				if r.Node != inv.Nodes[k] || r.Node.Kind != w.Kind {
					t.Errorf("%s: node %+v", k, r.Node)
				}
				got := *r
				got.Node = nil
				if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", w) {
					t.Errorf("%s:\ngot  %+v\nwant %+v", k, got, w)
				}
			}
			if job := runs[pre+"jobs/nightly"]; job == nil || job.Kind != inventory.KindJob {
				t.Errorf("the labelled job: %+v", job)
			}
			if n := inv.Nodes[pre+"workerPools/queue"]; n == nil || !n.HasPolicy || len(n.Bindings) != 1 || n.Bindings[0].Role != "roles/run.developer" {
				t.Errorf("the worker pool's policy: %+v", n)
			}
			// and "odd", whose upstreams only the decoders' agreement checks
			if len(inv.Repositories) != len(wantRepos)+1 {
				t.Errorf("repositories %v", sortedKeys(inv.Repositories))
			}
			inventorytest.CheckRepositories(t, inv, wantRepos)
			if inv.Counts["worker_pools"] != 2 || inv.Counts["services"] != 3 || inv.Counts["jobs"] != 1 || inv.RunCount() != 6 {
				t.Errorf("counts %v, RunCount %d: want 2 worker pools, 3 services, 1 job", inv.Counts, inv.RunCount())
			}
		})
	}
	for i := 1; i < len(digests); i++ {
		if digests[i] != digests[0] {
			t.Errorf("decoding paths give different inventories:\n%s", firstDifference(digests[0], digests[i]))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
