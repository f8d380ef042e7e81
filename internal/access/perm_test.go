package access_test

import (
	"slices"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
)

func TestParsePerm(t *testing.T) {
	for _, p := range access.Perms() {
		got, ok := access.ParsePerm(p.String())
		if !ok || got != p {
			t.Errorf("ParsePerm(%q) = %v, %v; want %v, true", p.String(), got, ok, p)
		}
	}
	for _, name := range []string{"", "run.services.delete", "run.services", "RUN.SERVICES.CREATE", "run.googleapis.com/services.create", "unknown"} {
		if p, ok := access.ParsePerm(name); ok {
			t.Errorf("ParsePerm(%q) = %v, want not audited", name, p)
		}
	}
	if got := access.Perm(200).String(); got != "unknown" {
		t.Errorf("out-of-range Perm.String() = %q, want unknown", got)
	}
	if n := len(access.Perms()); n != 9 {
		t.Errorf("Perms() has %d permissions, want the 9 the rules use", n)
	}
}

func TestParseDenyPerm(t *testing.T) {
	tests := []struct {
		in   string
		want access.Perm
		ok   bool
	}{
		{"run.googleapis.com/services.create", access.RunServicesCreate, true},
		{"run.googleapis.com/services.update", access.RunServicesUpdate, true},
		{"run.googleapis.com/jobs.create", access.RunJobsCreate, true},
		{"run.googleapis.com/jobs.update", access.RunJobsUpdate, true},
		{"artifactregistry.googleapis.com/repositories.downloadArtifacts", access.DownloadArtifacts, true},
		{"secretmanager.googleapis.com/versions.access", access.SecretVersionsAccess, true},
		// The IAM form is accepted as well.
		{"run.services.update", access.RunServicesUpdate, true},
		{"run.googleapis.com/services.delete", 0, false},
		{"run.googleapis.com/services.*", 0, false},
		{"iam.googleapis.com/roles.list", 0, false},
		{"cloudbuild.googleapis.com/services.update", 0, false},
		{"run.googleapis.com/", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, ok := access.ParseDenyPerm(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseDenyPerm(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPermSet(t *testing.T) {
	empty := access.Set()
	deploy := access.ServiceDeployPerms
	tests := []struct {
		name  string
		set   access.PermSet
		has   []access.Perm
		names []string
	}{
		{"empty", empty, nil, nil},
		{"one", access.Set(access.DownloadArtifacts), []access.Perm{access.DownloadArtifacts}, []string{"artifactregistry.repositories.downloadArtifacts"}},
		{"repeated", access.Set(access.RunJobsCreate, access.RunJobsCreate), []access.Perm{access.RunJobsCreate}, []string{"run.jobs.create"}},
		{"names in Perm order whatever the input order", access.Set(access.SecretVersionsAccess, access.RunServicesCreate), []access.Perm{access.RunServicesCreate, access.SecretVersionsAccess},
			[]string{"run.services.create", "secretmanager.versions.access"}},
		{"service deploy", deploy, []access.Perm{access.RunServicesCreate, access.RunServicesUpdate}, []string{"run.services.create", "run.services.update"}},
		{"job deploy", access.JobDeployPerms, []access.Perm{access.RunJobsCreate, access.RunJobsUpdate}, []string{"run.jobs.create", "run.jobs.update"}},
		{"every permission", access.Set(access.Perms()...), access.Perms(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range access.Perms() {
				if got, want := tc.set.Has(p), slices.Contains(tc.has, p); got != want {
					t.Errorf("Has(%s) = %v, want %v", p, got, want)
				}
			}
			if tc.set.Len() != len(tc.has) {
				t.Errorf("Len() = %d, want %d", tc.set.Len(), len(tc.has))
			}
			if tc.names != nil && !slices.Equal(tc.set.Names(), tc.names) {
				t.Errorf("Names() = %v, want %v", tc.set.Names(), tc.names)
			}
			if got := access.FromNames(tc.set.Names()); got != tc.set {
				t.Errorf("FromNames(Names()) = %v, want %v", got, tc.set)
			}
		})
	}

	if deploy.Any(access.JobDeployPerms) {
		t.Error("service and job deploy permissions overlap")
	}
	if !deploy.Any(access.Set(access.RunServicesUpdate, access.DownloadArtifacts)) {
		t.Error("Any misses a shared permission")
	}
	if empty.Any(deploy) || deploy.Any(empty) {
		t.Error("the empty set shares a permission")
	}
	// Names the audit does not evaluate are dropped, not an error.
	got := access.FromNames([]string{"run.services.get", "run.services.update", "resourcemanager.projects.get", "artifactregistry.repositories.downloadArtifacts"})
	if want := access.Set(access.RunServicesUpdate, access.DownloadArtifacts); got != want {
		t.Errorf("FromNames = %v, want %v", got.Names(), want.Names())
	}
}
