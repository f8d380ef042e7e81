package inventory_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/inventory/inventorytest"
)

const (
	num = "987654321098"
	id  = "acme-payments"
	org = "123456789012"
)

var anc = fmt.Sprintf(`["projects/%s","folders/555","organizations/%s"]`, num, org)

// projectAsset is the Project asset that tells acme-payments' number.
var projectAsset = fmt.Sprintf(`{"name":"//cloudresourcemanager.googleapis.com/projects/%s","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":%q,"projectNumber":%q}},"ancestors":%s}`, num, id, num, anc)

// withAncestors appends an ancestors list to an asset's JSON (which must
// end in "}").
func withAncestors(js, ancestors string) string {
	return strings.TrimSuffix(js, "}") + `,"ancestors":` + ancestors + "}"
}

func v2Service(proj, loc, name string) string {
	return fmt.Sprintf(`{"name":"//run.googleapis.com/projects/%s/locations/%s/services/%s","asset_type":"run.googleapis.com/Service","resource":{"location":%q,"data":{"template":{"containers":[{"image":"gcr.io/x/y"}]}}}}`, proj, loc, name, loc)
}

// Asset names carry a project id or a number; ancestors carry numbers. The
// inventory keys everything by number, whatever the name and the order the
// Project asset arrives in.
func TestBuilderNormalisesProjects(t *testing.T) {
	tests := []struct {
		name    string
		asset   string
		wantKey string
		// role is true when the asset is a custom role (keyed in
		// CustomRoles, not Nodes).
		role bool
	}{
		{"service by id", withAncestors(v2Service(id, "europe-west1", "s"), anc), "projects/" + num + "/locations/europe-west1/services/s", false},
		{"service by number", withAncestors(v2Service(num, "europe-west1", "s"), anc), "projects/" + num + "/locations/europe-west1/services/s", false},
		{"service by id without ancestors", v2Service(id, "europe-west1", "s"), "projects/" + num + "/locations/europe-west1/services/s", false},
		{"service by number without ancestors", v2Service(num, "europe-west1", "s"), "projects/" + num + "/locations/europe-west1/services/s", false},
		{"Knative service name with the id as namespace",
			withAncestors(`{"name":"//run.googleapis.com/apis/serving.knative.dev/v1/namespaces/acme-payments/services/k","asset_type":"run.googleapis.com/Service","resource":{"location":"us-central1","data":{"apiVersion":"serving.knative.dev/v1","spec":{"template":{"spec":{"containers":[{"image":"gcr.io/x/y"}]}}}}}}`, anc),
			"projects/" + num + "/locations/us-central1/services/k", false},
		{"Knative service name with the number, without ancestors",
			`{"name":"//run.googleapis.com/apis/serving.knative.dev/v1/namespaces/987654321098/services/k","asset_type":"run.googleapis.com/Service","resource":{"location":"us-central1","data":{"apiVersion":"serving.knative.dev/v1","spec":{"template":{"spec":{"containers":[{"image":"gcr.io/x/y"}]}}}}}}`,
			"projects/" + num + "/locations/us-central1/services/k", false},
		{"job by id without ancestors",
			`{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/jobs/j","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"template":{"template":{"containers":[{"image":"gcr.io/x/y"}]}}}}}`,
			"projects/" + num + "/locations/europe-west1/jobs/j", false},
		{"secret by number", withAncestors(`{"name":"//secretmanager.googleapis.com/projects/987654321098/secrets/tok","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`, anc), "projects/" + num + "/secrets/tok", false},
		{"secret by id without ancestors", `{"name":"//secretmanager.googleapis.com/projects/acme-payments/secrets/tok","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`, "projects/" + num + "/secrets/tok", false},
		{"repository by id", withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"us","data":{"format":"DOCKER"}}}`, anc), "projects/" + num + "/locations/us/repositories/r", false},
		{"repository by id without ancestors", `{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"us","data":{"format":"DOCKER"}}}`, "projects/" + num + "/locations/us/repositories/r", false},
		{"repository policy by id without ancestors", `{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r","asset_type":"artifactregistry.googleapis.com/Repository","iam_policy":{"bindings":[{"role":"roles/artifactregistry.reader","members":["user:a@x.example"]}]}}`, "projects/" + num + "/locations/us/repositories/r", false},
		{"custom role by id", withAncestors(`{"name":"//iam.googleapis.com/projects/acme-payments/roles/r","asset_type":"iam.googleapis.com/Role","resource":{"data":{"includedPermissions":["run.services.update"]}}}`, anc), "projects/" + num + "/roles/r", true},
		{"custom role by id without ancestors", `{"name":"//iam.googleapis.com/projects/acme-payments/roles/r","asset_type":"iam.googleapis.com/Role","resource":{"data":{"includedPermissions":["run.services.update"]}}}`, "projects/" + num + "/roles/r", true},
		{"custom role by number without ancestors", `{"name":"//iam.googleapis.com/projects/987654321098/roles/r","asset_type":"iam.googleapis.com/Role","resource":{"data":{"includedPermissions":["run.services.update"]}}}`, "projects/" + num + "/roles/r", true},
	}
	for _, tc := range tests {
		for _, order := range []string{"project first", "project last"} {
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				assets := []string{projectAsset, tc.asset}
				if order == "project last" {
					assets = []string{tc.asset, projectAsset}
				}
				inv := buildFrom(t, assets...)
				if inv.SkippedTotal != 0 {
					t.Fatalf("skipped: %+v", inv.Skipped)
				}
				for k := range inv.Nodes {
					if strings.Contains(k, id) {
						t.Errorf("node keyed by project id: %s", k)
					}
				}
				for k := range inv.CustomRoles {
					if strings.Contains(k, id) {
						t.Errorf("custom role keyed by project id: %s", k)
					}
				}
				if tc.role {
					if inv.CustomRoles[tc.wantKey] == nil {
						t.Errorf("custom roles = %v, want %s", sortedKeys(inv.CustomRoles), tc.wantKey)
					}
					return
				}
				n := inv.Nodes[tc.wantKey]
				if n == nil {
					t.Fatalf("nodes = %v, want %s", sortedKeys(inv.Nodes), tc.wantKey)
				}
				// A resource is in its project: grants on the project
				// reach it whether or not the asset listed ancestors.
				if p := inv.Project(num); n.Parent == nil || n.Parent != p.Node {
					t.Errorf("%s: parent = %v, want the project node %s", tc.wantKey, n.Parent, p.Node.Key)
				}
				if !slices.Contains(n.Ancestry(), inv.Nodes["organizations/"+org]) && strings.Contains(tc.asset, "ancestors") {
					t.Errorf("%s: ancestry does not reach the organization", tc.wantKey)
				}
			})
		}
	}
}

// An asset named by project id, with no ancestors and no Project asset
// anywhere in the scan, cannot be placed: it is skipped, saying which.
func TestBuilderUnresolvableProject(t *testing.T) {
	b := inventory.NewBuilder()
	b.Add(decode(t, projectAsset), "export.ndjson:1")
	b.Add(decode(t, v2Service("ghost-project", "europe-west1", "lost")), "export.ndjson:2")
	b.Add(decode(t, `{"name":"//iam.googleapis.com/projects/ghost-project/roles/r","asset_type":"iam.googleapis.com/Role","resource":{"data":{}}}`), "export.ndjson:3")
	inv := b.Finish()
	if inv.SkippedTotal != 2 || len(inv.Skipped) != 2 {
		t.Fatalf("skipped = %+v, want the service and the role", inv.Skipped)
	}
	for i, name := range []string{
		"//run.googleapis.com/projects/ghost-project/locations/europe-west1/services/lost",
		"//iam.googleapis.com/projects/ghost-project/roles/r",
	} {
		s := inv.Skipped[i]
		if !strings.Contains(s.Where+" "+s.Reason, name) {
			t.Errorf("skip %+v does not name %s", s, name)
		}
		if !strings.Contains(s.Reason, "project id") {
			t.Errorf("skip %+v does not say why (unknown project id)", s)
		}
		// Where the asset was read, as for every other skipped item.
		if want := fmt.Sprintf("export.ndjson:%d", i+2); s.Where != want {
			t.Errorf("skip where = %q, want %q", s.Where, want)
		}
	}
	if len(inv.Runs) != 0 || len(inv.CustomRoles) != 0 {
		t.Errorf("unplaced assets are in the inventory: runs %d, roles %v", len(inv.Runs), sortedKeys(inv.CustomRoles))
	}
	for k := range inv.Nodes {
		if strings.Contains(k, "ghost") {
			t.Errorf("node for an unplaced asset: %s", k)
		}
	}
}

func TestParseRunShapes(t *testing.T) {
	const key = "projects/" + num + "/locations/europe-west1/"
	tests := []struct {
		name  string
		asset string
		want  inventory.RunResource // Node is not compared
		key   string
	}{
		{
			name: "v1 service, serving.knative.dev annotations, sidecar",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/web","asset_type":"run.googleapis.com/Service","resource":{"version":"v1","location":"europe-west1","data":{"apiVersion":"serving.knative.dev/v1","kind":"Service",` +
				`"metadata":{"name":"web","annotations":{"serving.knative.dev/creator":"c@x.example","serving.knative.dev/lastModifier":"m@x.example"}},` +
				`"spec":{"template":{"spec":{"serviceAccountName":"sa@p.iam.gserviceaccount.com","containers":[{"name":"app","image":"eu.gcr.io/p/app:1"},{"name":"proxy","image":"europe-docker.pkg.dev/p/r/proxy@sha256:abc"}]}}}}}}`,
			key: key + "services/web",
			want: inventory.RunResource{Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v1",
				Containers:     []inventory.Container{{Name: "app", Image: "eu.gcr.io/p/app:1"}, {Name: "proxy", Image: "europe-docker.pkg.dev/p/r/proxy@sha256:abc"}},
				ServiceAccount: "sa@p.iam.gserviceaccount.com", Creator: "c@x.example", LastModifier: "m@x.example"},
		},
		{
			name: "v1 service, run.googleapis.com annotations",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/web","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"metadata":{"annotations":{"run.googleapis.com/creator":"c@x.example","run.googleapis.com/lastModifier":"m@x.example"}},` +
				`"spec":{"template":{"spec":{"containers":[{"image":"gcr.io/p/app"}]}}}}}}`,
			key: key + "services/web",
			want: inventory.RunResource{Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v1",
				Containers: []inventory.Container{{Image: "gcr.io/p/app"}}, Creator: "c@x.example", LastModifier: "m@x.example"},
		},
		{
			name: "v1 service, Knative annotations win over run.googleapis.com",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/web","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"metadata":{"annotations":{"run.googleapis.com/creator":"run@x.example","serving.knative.dev/creator":"knative@x.example","run.googleapis.com/lastModifier":"m@x.example"}},` +
				`"spec":{"template":{"spec":{"containers":[{"image":"gcr.io/p/app"}]}}}}}}`,
			key: key + "services/web",
			want: inventory.RunResource{Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v1",
				Containers: []inventory.Container{{Image: "gcr.io/p/app"}}, Creator: "knative@x.example", LastModifier: "m@x.example"},
		},
		{
			name: "v1 service, Knative resource name, location from the asset",
			asset: `{"name":"//run.googleapis.com/apis/serving.knative.dev/v1/namespaces/987654321098/services/web","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"apiVersion":"serving.knative.dev/v1",` +
				`"spec":{"template":{"spec":{"containers":[{"image":"gcr.io/p/app"}]}}}}}}`,
			key: key + "services/web",
			want: inventory.RunResource{Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v1",
				Containers: []inventory.Container{{Image: "gcr.io/p/app"}}},
		},
		{
			name: "v1 job",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/jobs/nightly","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"apiVersion":"run.googleapis.com/v1","kind":"Job","metadata":{"annotations":{"run.googleapis.com/creator":"c@x.example","run.googleapis.com/lastModifier":"m@x.example"}},` +
				`"spec":{"template":{"spec":{"template":{"spec":{"serviceAccountName":"job@p.iam.gserviceaccount.com","containers":[{"image":"gcr.io/p/job"},{"name":"side","image":"gcr.io/p/side"}]}}}}}}}}`,
			key: key + "jobs/nightly",
			want: inventory.RunResource{Kind: inventory.KindJob, ProjectNumber: num, Location: "europe-west1", Name: "nightly", Shape: "v1",
				Containers:     []inventory.Container{{Image: "gcr.io/p/job"}, {Name: "side", Image: "gcr.io/p/side"}},
				ServiceAccount: "job@p.iam.gserviceaccount.com", Creator: "c@x.example", LastModifier: "m@x.example"},
		},
		{
			name: "v2 service with a sidecar",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/web","asset_type":"run.googleapis.com/Service","resource":{"version":"v2","location":"europe-west1","data":{"creator":"c@x.example","lastModifier":"m@x.example",` +
				`"template":{"serviceAccount":"sa@p.iam.gserviceaccount.com","containers":[{"name":"app","image":"gcr.io/p/app"},{"name":"otel","image":"docker.io/otel/collector"}]}}}}`,
			key: key + "services/web",
			want: inventory.RunResource{Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v2",
				Containers:     []inventory.Container{{Name: "app", Image: "gcr.io/p/app"}, {Name: "otel", Image: "docker.io/otel/collector"}},
				ServiceAccount: "sa@p.iam.gserviceaccount.com", Creator: "c@x.example", LastModifier: "m@x.example"},
		},
		{
			name: "v2 job",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/jobs/nightly","asset_type":"run.googleapis.com/Job","resource":{"version":"v2","location":"europe-west1","data":{"creator":"c@x.example","lastModifier":"m@x.example",` +
				`"template":{"taskCount":3,"template":{"serviceAccount":"job@p.iam.gserviceaccount.com","containers":[{"image":"gcr.io/p/job"}]}}}}}`,
			key: key + "jobs/nightly",
			want: inventory.RunResource{Kind: inventory.KindJob, ProjectNumber: num, Location: "europe-west1", Name: "nightly", Shape: "v2",
				Containers:     []inventory.Container{{Image: "gcr.io/p/job"}},
				ServiceAccount: "job@p.iam.gserviceaccount.com", Creator: "c@x.example", LastModifier: "m@x.example"},
		},
		{
			name: "API form (camelCase keys) reads the same",
			asset: `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/web","assetType":"run.googleapis.com/Service","resource":{"discoveryName":"Service","location":"europe-west1","data":{"creator":"c@x.example",` +
				`"template":{"containers":[{"image":"gcr.io/p/app"}]}}}}`,
			key: key + "services/web",
			want: inventory.RunResource{Kind: inventory.KindService, ProjectNumber: num, Location: "europe-west1", Name: "web", Shape: "v2",
				Containers: []inventory.Container{{Image: "gcr.io/p/app"}}, Creator: "c@x.example"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := buildFrom(t, projectAsset, withAncestors(tc.asset, anc))
			if inv.SkippedTotal != 0 {
				t.Fatalf("skipped: %+v", inv.Skipped)
			}
			if len(inv.Runs) != 1 {
				t.Fatalf("runs = %d, want 1", len(inv.Runs))
			}
			got := *inv.Runs[0]
			if got.Node == nil || got.Node.Key != tc.key || got.Node != inv.Nodes[tc.key] {
				t.Errorf("node = %v, want the inventory's %s", got.Node, tc.key)
			}
			got.Node = nil
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("run resource:\ngot  %+v\nwant %+v", got, tc.want)
			}
			kind := "services"
			if tc.want.Kind == inventory.KindJob {
				kind = "jobs"
			}
			if inv.Counts[kind] != 1 || inv.Counts["containers"] != len(tc.want.Containers) {
				t.Errorf("counts = %v", inv.Counts)
			}
		})
	}
}

// Assets the builder cannot understand are skipped with where they were and
// a reason naming the asset; they leave nothing half-read behind, and the
// rest of the input is still read.
func TestBuilderSkipsMalformed(t *testing.T) {
	tests := []struct {
		name  string
		asset string
		want  string // in the reason
	}{
		{"no name", `{"asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"template":{"containers":[{"image":"gcr.io/p/a"}]}}}}`,
			`asset name "" does not start with //service`},
		{"name without service", `{"name":"projects/acme-payments/secrets/s","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`,
			`asset name "projects/acme-payments/secrets/s" does not start with //service`},
		{"name without a path", `{"name":"//secretmanager.googleapis.com","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`,
			`asset name "//secretmanager.googleapis.com" has no resource path`},
		{"unexpected path", `{"name":"//secretmanager.googleapis.com/secrets/s","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`,
			`asset name "//secretmanager.googleapis.com/secrets/s": unexpected resource path`},
		{"nothing below the project", `{"name":"//secretmanager.googleapis.com/projects/987654321098","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`,
			`asset name "//secretmanager.googleapis.com/projects/987654321098" has no resource below the project`},
		{"Knative name without location", `{"name":"//run.googleapis.com/apis/serving.knative.dev/v1/namespaces/987654321098/services/k","asset_type":"run.googleapis.com/Service","resource":{"data":{"spec":{"template":{"spec":{"containers":[{"image":"gcr.io/x/y"}]}}}}}}`,
			`asset name "//run.googleapis.com/apis/serving.knative.dev/v1/namespaces/987654321098/services/k" has no location`},
		{"neither resource nor policy", `{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r","asset_type":"artifactregistry.googleapis.com/Repository"}`,
			"artifactregistry.googleapis.com/Repository //artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r: neither resource nor iam_policy"},
		{"project number differs from the name", `{"name":"//cloudresourcemanager.googleapis.com/projects/555","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"other","projectNumber":"556"}}}`,
			"project //cloudresourcemanager.googleapis.com/projects/555: projectNumber 556 differs from the asset name"},
		{"custom role name without roles", `{"name":"//iam.googleapis.com/organizations/123456789012/things/r","asset_type":"iam.googleapis.com/Role","resource":{"data":{}}}`,
			`custom role "organizations/123456789012/things/r": not a role name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := inventory.NewBuilder()
			b.Add(decode(t, projectAsset), "in.ndjson:1")
			b.Add(decode(t, tc.asset), "in.ndjson:2")
			b.Add(decode(t, withAncestors(v2Service(id, "europe-west1", "good"), anc)), "in.ndjson:3")
			inv := b.Finish()
			if inv.SkippedTotal != 1 || len(inv.Skipped) != 1 {
				t.Fatalf("skipped = %+v, want one", inv.Skipped)
			}
			if s := inv.Skipped[0]; s.Where != "in.ndjson:2" || !strings.Contains(s.Reason, tc.want) {
				t.Errorf("skip = %+v, want at in.ndjson:2 with a reason containing %q", s, tc.want)
			}
			if len(inv.Runs) != 1 || inv.Runs[0].Name != "good" {
				t.Errorf("runs = %v, want only the good service", inv.Runs)
			}
			// What the asset held is unknown: a gap, narrowed to the asset
			// where its name and type are known.
			a := decode(t, tc.asset)
			if len(inv.Gaps) != 1 {
				t.Fatalf("gaps = %+v, want one", inv.Gaps)
			}
			if g := inv.Gaps[0]; g.Scope != "in.ndjson:2" || g.Asset != a.GetName() || g.AssetType != a.GetAssetType() || !strings.Contains(g.Reason, tc.want) {
				t.Errorf("gap = %+v, want one at in.ndjson:2 for %s %s", g, a.GetAssetType(), a.GetName())
			}
			if inv.Counts["assets_read"] != 3 {
				t.Errorf("assets_read = %d, want 3", inv.Counts["assets_read"])
			}
			if len(inv.Repositories)+len(inv.Secrets)+len(inv.CustomRoles) != 0 {
				t.Errorf("a skipped asset is in the inventory: %v %v %v", sortedKeys(inv.Repositories), sortedKeys(inv.Secrets), sortedKeys(inv.CustomRoles))
			}
		})
	}
}

// A Cloud Run resource without an image, or without containers, is kept
// with what is missing, counted and listed as skipped, so the rules report
// it as unverifiable rather than lose it; it leaves no gap, since nothing
// of it went unread.
func TestBuilderKeepsResourcesWithoutImages(t *testing.T) {
	tests := []struct {
		name       string
		asset      string
		containers []inventory.Container
	}{
		{"service without containers", `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/empty","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"template":{"containers":[]}}}}`,
			[]inventory.Container{{Missing: "no containers in the v2 resource shape"}}},
		{"v1 service without containers", `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/empty","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"spec":{"template":{"spec":{}}}}}}`,
			[]inventory.Container{{Missing: "no containers in the v1 resource shape"}}},
		{"job in the service's shape", `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/jobs/j","asset_type":"run.googleapis.com/Job","resource":{"location":"europe-west1","data":{"template":{"containers":[{"image":"gcr.io/p/j"}]}}}}`,
			[]inventory.Container{{Missing: "no containers in the v2 resource shape"}}},
		{"container without image", `{"name":"//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/noimg","asset_type":"run.googleapis.com/Service","resource":{"location":"europe-west1","data":{"template":{"containers":[{"image":"gcr.io/p/a"},{"name":"b"}]}}}}`,
			[]inventory.Container{{Image: "gcr.io/p/a"}, {Name: "b", Missing: "container 1 names no image"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := inventory.NewBuilder()
			b.Add(decode(t, projectAsset), "in.ndjson:1")
			b.Add(decode(t, tc.asset), "in.ndjson:2")
			inv := b.Finish()
			if len(inv.Runs) != 1 {
				t.Fatalf("runs = %v, want the resource kept", inv.Runs)
			}
			if got := inv.Runs[0].Containers; fmt.Sprint(got) != fmt.Sprint(tc.containers) {
				t.Errorf("containers = %+v, want %+v", got, tc.containers)
			}
			missing := tc.containers[len(tc.containers)-1].Missing
			if inv.SkippedTotal != 1 || inv.Skipped[0].Where != "in.ndjson:2" || !strings.Contains(inv.Skipped[0].Reason, missing) {
				t.Errorf("skipped = %+v, want in.ndjson:2 saying %q", inv.Skipped, missing)
			}
			if inv.Counts["containers_without_image"] != 1 {
				t.Errorf("containers_without_image = %d, want 1", inv.Counts["containers_without_image"])
			}
			if len(inv.Gaps) != 0 {
				t.Errorf("gaps = %+v, want none", inv.Gaps)
			}
		})
	}
}

// Only the asset types the audit reads are kept; others are counted, not
// skipped (a whole-organization export holds every type).
func TestBuilderIgnoresOtherTypes(t *testing.T) {
	inv := buildFrom(t, projectAsset,
		`{"name":"//compute.googleapis.com/projects/acme-payments/zones/z/instances/vm","asset_type":"compute.googleapis.com/Instance","resource":{"data":{}}}`,
		`{"name":"//storage.googleapis.com/bucket","asset_type":"storage.googleapis.com/Bucket","iam_policy":{"bindings":[{"role":"roles/storage.admin","members":["allUsers"]}]}}`,
		`{"name":"//run.googleapis.com/projects/acme-payments/locations/l/revisions/r","asset_type":"run.googleapis.com/Revision","resource":{"data":{}}}`,
	)
	if inv.Counts["assets_ignored"] != 3 || inv.Counts["assets_read"] != 4 || inv.SkippedTotal != 0 {
		t.Errorf("counts %v, skipped %v: want 3 ignored of 4 read, none skipped", inv.Counts, inv.Skipped)
	}
	if len(inv.Nodes) != 3 { // the project, its folder and organization
		t.Errorf("nodes = %v, want only the project's hierarchy", sortedKeys(inv.Nodes))
	}
}

func TestBuilderRepositories(t *testing.T) {
	inv := buildFrom(t, projectAsset,
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/asia/repositories/hub","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"asia","data":{"format":"DOCKER","mode":"REMOTE_REPOSITORY","remoteRepositoryConfig":{"dockerRepository":{"publicRepository":"DOCKER_HUB"},"upstreamCredentials":{"usernamePasswordCredentials":{"username":"u","passwordSecretVersion":"projects/acme-payments/secrets/hub-token/versions/2"}}}}}}`, anc),
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/asia/repositories/anon","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"asia","data":{"format":"DOCKER","mode":"REMOTE_REPOSITORY","remoteRepositoryConfig":{"dockerRepository":{"publicRepository":"DOCKER_HUB"}}}}}`, anc),
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/987654321098/locations/us/repositories/gcr.io","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"us","data":{"format":"DOCKER","mode":"STANDARD_REPOSITORY"}}}`, anc),
	)
	want := map[string]inventory.Repository{
		"projects/" + num + "/locations/asia/repositories/hub":  {ProjectNumber: num, Location: "asia", Name: "hub", Format: "DOCKER", Mode: "REMOTE_REPOSITORY", UpstreamSecret: "projects/acme-payments/secrets/hub-token/versions/2"},
		"projects/" + num + "/locations/asia/repositories/anon": {ProjectNumber: num, Location: "asia", Name: "anon", Format: "DOCKER", Mode: "REMOTE_REPOSITORY"},
		"projects/" + num + "/locations/us/repositories/gcr.io": {ProjectNumber: num, Location: "us", Name: "gcr.io", Format: "DOCKER", Mode: "STANDARD_REPOSITORY"},
	}
	if len(inv.Repositories) != len(want) {
		t.Errorf("repositories = %v", sortedKeys(inv.Repositories))
	}
	inventorytest.CheckRepositories(t, inv, want)
	for k, w := range want {
		if k != inventory.RepositoryKey(w.ProjectNumber, w.Location, w.Name) {
			t.Errorf("RepositoryKey(%s, %s, %s) = %s, want %s", w.ProjectNumber, w.Location, w.Name, inventory.RepositoryKey(w.ProjectNumber, w.Location, w.Name), k)
		}
	}
	if got := inventory.SecretKey(num, "hub-token"); got != "projects/"+num+"/secrets/hub-token" {
		t.Errorf("SecretKey = %s", got)
	}
}

// Ancestors (nearest first) link every node to its parent, through nested
// folders up to the organization.
func TestBuilderHierarchy(t *testing.T) {
	inv := buildFrom(t,
		`{"name":"//run.googleapis.com/projects/p1/locations/l/services/s","asset_type":"run.googleapis.com/Service","resource":{"location":"l","data":{"template":{"containers":[{"image":"i"}]}}},"ancestors":["projects/1","folders/20","folders/10","organizations/9"]}`,
		`{"name":"//cloudresourcemanager.googleapis.com/projects/2","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p2","projectNumber":"2"}},"ancestors":["projects/2","organizations/9"]}`,
		`{"name":"//cloudresourcemanager.googleapis.com/projects/3","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p3","projectNumber":"3"}},"ancestors":["projects/3","folders/10","organizations/9"]}`,
	)
	chain := func(key string) []string {
		var out []string
		for _, n := range inv.Nodes[key].Ancestry() {
			out = append(out, n.Key+"("+n.Kind.String()+")")
		}
		return out
	}
	tests := []struct {
		key  string
		want []string
	}{
		{"projects/1/locations/l/services/s", []string{"projects/1/locations/l/services/s(service)", "projects/1(project)", "folders/20(folder)", "folders/10(folder)", "organizations/9(organization)"}},
		{"projects/2", []string{"projects/2(project)", "organizations/9(organization)"}},
		{"projects/3", []string{"projects/3(project)", "folders/10(folder)", "organizations/9(organization)"}},
		{"folders/20", []string{"folders/20(folder)", "folders/10(folder)", "organizations/9(organization)"}},
	}
	for _, tc := range tests {
		if got := chain(tc.key); !slices.Equal(got, tc.want) {
			t.Errorf("Ancestry(%s) = %v, want %v", tc.key, got, tc.want)
		}
	}
	projects := []struct {
		num, org string
		folders  []string
		scanned  bool
	}{
		{"1", "9", []string{"20", "10"}, false},
		{"2", "9", nil, true},
		{"3", "9", []string{"10"}, true},
	}
	for _, w := range projects {
		p := inv.Projects[w.num]
		if p == nil {
			t.Errorf("no project %s", w.num)
			continue
		}
		if !slices.Equal(p.Folders, w.folders) || p.Organization != w.org || p.Scanned != w.scanned {
			t.Errorf("project %s: folders %v org %q scanned %v; want %v %q %v", w.num, p.Folders, p.Organization, p.Scanned, w.folders, w.org, w.scanned)
		}
	}
	if inv.Organization != "9" {
		t.Errorf("Organization = %q, want 9", inv.Organization)
	}
	if inv.Counts["projects"] != 2 {
		t.Errorf("projects counted = %d, want the 2 Project assets read", inv.Counts["projects"])
	}

	// Two organizations in one scan: none is "the" organization.
	two := buildFrom(t, projectAsset,
		`{"name":"//cloudresourcemanager.googleapis.com/projects/4","asset_type":"cloudresourcemanager.googleapis.com/Project","resource":{"data":{"projectId":"p4","projectNumber":"4"}},"ancestors":["projects/4","organizations/8"]}`)
	if two.Organization != "" {
		t.Errorf("Organization with two organizations = %q, want none", two.Organization)
	}
}

// Overlapping exports read a resource or a policy twice: the later copy
// wins, and the duplicate is counted, not added.
func TestBuilderDuplicates(t *testing.T) {
	svc := func(images ...string) string {
		var cs []string
		for _, i := range images {
			cs = append(cs, fmt.Sprintf(`{"image":%q}`, i))
		}
		return withAncestors(fmt.Sprintf(`{"name":"//run.googleapis.com/projects/acme-payments/locations/l/services/s","asset_type":"run.googleapis.com/Service","resource":{"location":"l","data":{"template":{"containers":[%s]}}}}`, strings.Join(cs, ",")), anc)
	}
	policy := func(role string, members ...string) string {
		return withAncestors(fmt.Sprintf(`{"name":"//run.googleapis.com/projects/987654321098/locations/l/services/s","asset_type":"run.googleapis.com/Service","iam_policy":{"bindings":[{"role":%q,"members":["%s"]}]}}`, role, strings.Join(members, `","`)), anc)
	}
	repo := withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"us","data":{"format":"DOCKER"}}}`, anc)
	secret := withAncestors(`{"name":"//secretmanager.googleapis.com/projects/987654321098/secrets/s","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}}}`, anc)
	role := withAncestors(`{"name":"//iam.googleapis.com/projects/acme-payments/roles/r","asset_type":"iam.googleapis.com/Role","resource":{"data":{"includedPermissions":["run.services.update"]}}}`, anc)

	orgAsset := `{"name":"//cloudresourcemanager.googleapis.com/organizations/123456789012","asset_type":"cloudresourcemanager.googleapis.com/Organization","resource":{"data":{}},"ancestors":["organizations/123456789012"]}`
	folder := `{"name":"//cloudresourcemanager.googleapis.com/folders/555","asset_type":"cloudresourcemanager.googleapis.com/Folder","resource":{"data":{}},"ancestors":["folders/555","organizations/123456789012"]}`

	inv := buildFrom(t, projectAsset, projectAsset, orgAsset, folder, orgAsset, folder,
		svc("gcr.io/p/old-a", "gcr.io/p/old-b"), policy("roles/run.admin", "user:a@x.example", "user:b@x.example"),
		repo, secret, role,
		svc("gcr.io/p/new"), policy("roles/run.developer", "user:c@x.example"),
		repo, secret, role,
	)
	if len(inv.Runs) != 1 {
		t.Fatalf("runs = %d, want 1", len(inv.Runs))
	}
	if c := inv.Runs[0].Containers; len(c) != 1 || c[0].Image != "gcr.io/p/new" {
		t.Errorf("containers = %v, want the later copy's", c)
	}
	n := inv.Runs[0].Node
	if len(n.Bindings) != 1 || n.Bindings[0].Role != "roles/run.developer" || !slices.Equal(n.Bindings[0].Members, []string{"user:c@x.example"}) {
		t.Errorf("bindings = %+v, want the later policy's only", n.Bindings)
	}
	// Counts describe the inventory: each resource and policy once, with
	// the overlaps counted apart.
	want := map[string]int{
		"assets_read": 16, "organizations": 1, "folders": 1, "projects": 1, "services": 1, "containers": 1, "repositories": 1, "secrets": 1, "custom_roles": 1,
		"iam_policies": 1, "bindings": 1, "duplicate_policies": 1,
	}
	for k, w := range want {
		if inv.Counts[k] != w {
			t.Errorf("count %s = %d, want %d", k, inv.Counts[k], w)
		}
	}
	if inv.Counts["duplicate_resources"] < 1 {
		t.Errorf("duplicate_resources = %d, want the overlaps counted", inv.Counts["duplicate_resources"])
	}
	if inv.SkippedTotal != 0 {
		t.Errorf("skipped %v", inv.Skipped)
	}
}

// Skipped keeps the first 1000 items for the summary; SkippedTotal counts
// them all.
func TestBuilderSkipCap(t *testing.T) {
	b := inventory.NewBuilder()
	for i := range 1500 {
		b.Skip(fmt.Sprintf("f:%d", i+1), "bad")
	}
	b.Add(decode(t, `{"name":"//run.googleapis.com/projects/987654321098/locations/l/services/s","asset_type":"run.googleapis.com/Service","resource":{"location":"l","data":{}}}`), "f:1501")
	inv := b.Finish()
	if inv.SkippedTotal != 1501 || len(inv.Skipped) != 1000 {
		t.Errorf("skipped total %d, kept %d; want 1501 and 1000", inv.SkippedTotal, len(inv.Skipped))
	}
	if inv.Skipped[0].Where != "f:1" || inv.Skipped[999].Where != "f:1000" {
		t.Errorf("kept %s … %s, want the first thousand", inv.Skipped[0].Where, inv.Skipped[999].Where)
	}
}

func TestBuilderGaps(t *testing.T) {
	b := inventory.NewBuilder()
	b.Gap(inventory.Gap{Scope: "organizations/1", AssetType: inventory.TypeService, Reason: "permission denied"})
	b.Gap(inventory.Gap{Scope: "export.ndjson", Reason: "truncated"})
	inv := b.Finish()
	if len(inv.Gaps) != 2 || inv.Gaps[0].AssetType != inventory.TypeService || inv.Gaps[1].Scope != "export.ndjson" {
		t.Errorf("gaps = %+v", inv.Gaps)
	}
}

// Conditions are kept only when they say something; an empty condition
// object is no condition.
func TestBuilderConditions(t *testing.T) {
	inv := buildFrom(t, withAncestors(`{"name":"//cloudresourcemanager.googleapis.com/projects/987654321098","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[`+
		`{"role":"roles/a","members":["user:a@x.example"],"condition":{"title":"t","description":"d","expression":"request.time < timestamp(\"2030-01-01T00:00:00Z\")"}},`+
		`{"role":"roles/b","members":["user:b@x.example"],"condition":{}},`+
		`{"role":"roles/c","members":["user:c@x.example"]}]}}`, anc))
	bs := inv.Nodes["projects/"+num].Bindings
	if len(bs) != 3 {
		t.Fatalf("bindings = %+v", bs)
	}
	if c := bs[0].Condition; c == nil || c.Title != "t" || c.Description != "d" || c.Expression != `request.time < timestamp("2030-01-01T00:00:00Z")` {
		t.Errorf("condition = %+v", c)
	}
	if bs[1].Condition != nil || bs[2].Condition != nil {
		t.Errorf("empty or absent conditions kept: %+v %+v", bs[1].Condition, bs[2].Condition)
	}
}

// KeepRoles drops the bindings of the roles it is told to, counts them all
// (a policy read twice counts once) and interns what it keeps: one
// Condition per distinct condition.
func TestBuilderKeepRoles(t *testing.T) {
	policy := func(extra string) *assetpb.Asset {
		return decode(t, withAncestors(`{"name":"//run.googleapis.com/projects/987654321098/locations/l/services/s","asset_type":"run.googleapis.com/Service","iam_policy":{"bindings":[
			{"role":"roles/viewer","members":["user:a@x.example"]},
			{"role":"roles/run.developer","members":["user:b@x.example","user:c@x.example"],"condition":{"title":"t","expression":"true"}},
			{"role":"roles/logging.viewer","members":["user:d@x.example"]},
			{"role":"roles/run.admin","members":["user:e@x.example"],"condition":{"title":"t","expression":"true"}}`+extra+`]}}`, anc))
	}
	b := inventory.NewBuilder()
	b.KeepRoles(func(role string) bool { return role != "roles/viewer" && role != "roles/logging.viewer" })
	b.Add(policy(""), "case:1")
	b.Add(policy(`,{"role":"roles/viewer","members":["user:f@x.example"]}`), "case:2")
	inv := b.Finish()
	n := inv.Nodes["projects/987654321098/locations/l/services/s"]
	var got []string
	for _, bd := range n.Bindings {
		got = append(got, bd.Role+" "+strings.Join(bd.Members, ","))
	}
	if want := []string{"roles/run.developer user:b@x.example,user:c@x.example", "roles/run.admin user:e@x.example"}; !slices.Equal(got, want) {
		t.Errorf("bindings kept = %q, want %q", got, want)
	}
	if c0, c1 := n.Bindings[0].Condition, n.Bindings[1].Condition; c0 == nil || c0 != c1 || *c0 != (inventory.Condition{Title: "t", Expression: "true"}) {
		t.Errorf("conditions = %+v and %+v, want one shared copy", c0, c1)
	}
	if got := inv.Counts["bindings"]; got != 5 {
		t.Errorf("bindings counted = %d, want the 5 of the later policy, kept or not", got)
	}
}
