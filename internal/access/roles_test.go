package access_test

import (
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
)

func TestParseRoleTable(t *testing.T) {
	const table = "# first comment is the source\n" +
		"# a later comment is not\n" +
		"\n" +
		"roles/a\trun.services.create,artifactregistry.repositories.downloadArtifacts\n" +
		"roles/none\t\n" +
		"roles/bare\n"
	rt, err := access.ParseRoleTable(table)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Source != "first comment is the source" {
		t.Errorf("Source = %q", rt.Source)
	}
	if rt.Len() != 3 {
		t.Errorf("Len() = %d, want 3", rt.Len())
	}
	tests := []struct {
		role  string
		perms access.PermSet
		known bool
	}{
		{"roles/a", access.Set(access.RunServicesCreate, access.DownloadArtifacts), true},
		// A role with none of the audited permissions is known and empty:
		// it grants nothing, which is not the same as undecided.
		{"roles/none", 0, true},
		{"roles/bare", 0, true},
		{"roles/missing", 0, false},
		{"roles/A", 0, false},
	}
	for _, tc := range tests {
		ps, ok := rt.Lookup(tc.role)
		if ps != tc.perms || ok != tc.known {
			t.Errorf("Lookup(%s) = %v, %v; want %v, %v", tc.role, ps.Names(), ok, tc.perms.Names(), tc.known)
		}
	}
}

func TestParseRoleTableErrors(t *testing.T) {
	tests := []struct {
		name, table, want string
	}{
		{"not a predefined role", "roles/a\t\nprojects/p/roles/r\trun.services.create\n", `line 2: "projects/p/roles/r" is not a predefined role name`},
		{"unknown permission", "# src\nroles/a\trun.services.create,run.services.get\n", `line 2: unknown permission "run.services.get"`},
		{"empty permission in a list", "roles/a\trun.services.create,\n", `line 1: unknown permission ""`},
		// A role name never holds white space: such a line is damaged, not a
		// role named "roles/a run.services.create".
		{"spaces instead of a tab", "roles/a run.services.create\n", `line 1:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := access.ParseRoleTable(tc.table)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseRoleTable error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// The embedded table is the published snapshot: every role, and the facts
// the audit rests on.
func TestPredefined(t *testing.T) {
	rt := access.Predefined()
	if rt.Len() != 2387 {
		t.Errorf("embedded table has %d roles, want the 2387 published", rt.Len())
	}
	if !strings.Contains(rt.Source, "predefined-roles.jsonl.gz") {
		t.Errorf("Source = %q, want the snapshot it was generated from", rt.Source)
	}
	deployAll := access.Set(access.RunServicesCreate, access.RunServicesUpdate, access.RunJobsCreate, access.RunJobsUpdate,
		access.RunWorkerPoolsCreate, access.RunWorkerPoolsUpdate)
	// Registry roles that read also read through virtual repositories.
	dlv := access.Set(access.DownloadArtifacts, access.ReadViaVirtualRepository)
	tests := []struct {
		role string
		want access.PermSet
	}{
		// Cloud Run roles deploy but never held downloadArtifacts: the
		// 2025 enforcement is what the audit is about.
		{"roles/run.admin", deployAll},
		{"roles/run.developer", deployAll},
		{"roles/run.sourceDeveloper", deployAll | dlv},
		{"roles/run.invoker", 0},
		{"roles/run.viewer", 0},
		{"roles/run.serviceAgent", dlv},
		{"roles/viewer", dlv},
		{"roles/editor", deployAll | dlv},
		{"roles/owner", deployAll | dlv | access.Set(access.SecretVersionsAccess)},
		{"roles/artifactregistry.reader", dlv},
		{"roles/artifactregistry.writer", dlv},
		{"roles/artifactregistry.repoAdmin", dlv},
		{"roles/artifactregistry.admin", dlv},
		{"roles/secretmanager.secretAccessor", access.Set(access.SecretVersionsAccess)},
		{"roles/iam.serviceAccountUser", 0},
	}
	for _, tc := range tests {
		got, ok := rt.Lookup(tc.role)
		if !ok {
			t.Errorf("%s is not in the embedded table", tc.role)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.role, got.Names(), tc.want.Names())
		}
	}
	if _, ok := rt.Lookup("roles/run.notARole"); ok {
		t.Error("the table knows a role that does not exist")
	}
}

// MayGrant is false exactly for the bindings the engine skips: predefined
// roles in the table that hold no audited permission.
func TestRoleTableMayGrant(t *testing.T) {
	table := access.Predefined()
	for role, want := range map[string]bool{
		"roles/run.developer":           true,
		"roles/artifactregistry.reader": true,
		"roles/logging.viewer":          false,
		"roles/no.suchRole":             true,
		"organizations/1/roles/custom":  true,
		"projects/acme/roles/custom":    true,
	} {
		if got := table.MayGrant(role); got != want {
			t.Errorf("MayGrant(%q) = %v, want %v", role, got, want)
		}
	}
}
