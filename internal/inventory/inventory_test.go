package inventory_test

import (
	"testing"

	"github.com/runaudit/runaudit/internal/inventory"
)

func TestInventoryLookups(t *testing.T) {
	inv := buildFrom(t, projectAsset,
		// Known only by number: a policy on a project outside the scan.
		`{"name":"//cloudresourcemanager.googleapis.com/projects/444","asset_type":"cloudresourcemanager.googleapis.com/Project","iam_policy":{"bindings":[]},"ancestors":["projects/444","organizations/123456789012"]}`,
		withAncestors(`{"name":"//artifactregistry.googleapis.com/projects/acme-payments/locations/us/repositories/r","asset_type":"artifactregistry.googleapis.com/Repository","resource":{"location":"us","data":{}}}`, anc),
		`{"name":"//secretmanager.googleapis.com/projects/555/secrets/s","asset_type":"secretmanager.googleapis.com/Secret","resource":{"data":{}},"ancestors":["projects/555","organizations/123456789012"]}`,
	)
	t.Run("Project", func(t *testing.T) {
		for _, q := range []string{num, id} {
			if p := inv.Project(q); p == nil || p.Number != num || p.ID != id {
				t.Errorf("Project(%q) = %+v, want acme-payments", q, p)
			}
		}
		// A project seen only through a resource is known by number.
		if p := inv.Project("555"); p == nil || p.ID != "" || p.Scanned {
			t.Errorf("Project(555) = %+v, want the unscanned project", p)
		}
		for _, q := range []string{"", "444", "acme-other", "projects/" + num, "ACME-PAYMENTS"} {
			if p := inv.Project(q); p != nil {
				t.Errorf("Project(%q) = %+v, want nil", q, p)
			}
		}
	})
	t.Run("ProjectID", func(t *testing.T) {
		tests := map[string]string{num: id, "555": "555", "999": "999"}
		for in, want := range tests {
			if got := inv.ProjectID(in); got != want {
				t.Errorf("ProjectID(%q) = %q, want %q", in, got, want)
			}
		}
	})
	t.Run("DisplayName", func(t *testing.T) {
		tests := []struct{ key, want string }{
			{"organizations/123456789012", "organizations/123456789012"},
			{"folders/555", "folders/555"},
			{"projects/" + num, "projects/acme-payments"},
			{"projects/" + num + "/locations/us/repositories/r", "projects/acme-payments/locations/us/repositories/r"},
			{"projects/555/secrets/s", "projects/555/secrets/s"},
			{"projects/444", "projects/444"},
		}
		for _, tc := range tests {
			n := inv.Nodes[tc.key]
			if n == nil {
				t.Errorf("no node %s", tc.key)
				continue
			}
			if got := inv.DisplayName(n); got != tc.want {
				t.Errorf("DisplayName(%s) = %q, want %q", tc.key, got, tc.want)
			}
		}
	})
}

func TestKindString(t *testing.T) {
	tests := map[inventory.Kind]string{
		inventory.KindOrganization: "organization", inventory.KindFolder: "folder", inventory.KindProject: "project",
		inventory.KindRepository: "repository", inventory.KindSecret: "secret", inventory.KindService: "service", inventory.KindJob: "job",
		inventory.Kind(0): "",
	}
	for k, want := range tests {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// AssetTypes is what a live scan asks Cloud Asset Inventory for: it must
// hold every type the builder reads and nothing else.
func TestAssetTypes(t *testing.T) {
	want := []string{inventory.TypeOrganization, inventory.TypeFolder, inventory.TypeProject, inventory.TypeService,
		inventory.TypeJob, inventory.TypeWorkerPool, inventory.TypeRepository, inventory.TypeSecret, inventory.TypeRole}
	if len(inventory.AssetTypes) != len(want) {
		t.Fatalf("AssetTypes = %v", inventory.AssetTypes)
	}
	for i := range want {
		if inventory.AssetTypes[i] != want[i] {
			t.Errorf("AssetTypes[%d] = %s, want %s", i, inventory.AssetTypes[i], want[i])
		}
	}
}
