package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A role named in deploy/ keeps every permission; any other keeps only the
// audited services' permissions and is marked filtered.
func TestFilter(t *testing.T) {
	in := strings.Join([]string{
		`{"name":"roles/run.developer","title":"Cloud Run Developer","stage":"GA","includedPermissions":["run.services.create","iam.serviceAccounts.get"]}`,
		`{"name":"roles/owner","stage":"GA","includedPermissions":["run.jobs.update","artifactregistry.repositories.downloadArtifacts","secretmanager.versions.access","storage.objects.delete"]}`,
		`{"name":"roles/storage.admin","stage":"GA","includedPermissions":["storage.objects.delete"]}`,
		``,
	}, "\n")
	var out bytes.Buffer
	n, err := filter(strings.NewReader(in), &out, map[string]bool{"roles/run.developer": true})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("wrote %d roles, want 3", n)
	}
	want := map[string]role{
		"roles/run.developer": {Name: "roles/run.developer", Title: "Cloud Run Developer", Stage: "GA", IncludedPermissions: []string{"run.services.create", "iam.serviceAccounts.get"}},
		"roles/owner":         {Name: "roles/owner", Stage: "GA", Filtered: true, IncludedPermissions: []string{"run.jobs.update", "artifactregistry.repositories.downloadArtifacts", "secretmanager.versions.access"}},
		"roles/storage.admin": {Name: "roles/storage.admin", Stage: "GA", Filtered: true, IncludedPermissions: []string{}},
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var got role
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		w := want[got.Name]
		if got.Filtered != w.Filtered || got.Title != w.Title || got.Stage != w.Stage || !slices.Equal(got.IncludedPermissions, w.IncludedPermissions) {
			t.Errorf("%s = %+v, want %+v", got.Name, got, w)
		}
	}
}

func TestFilterBadLine(t *testing.T) {
	_, err := filter(strings.NewReader("{\"name\":\"roles/a\"}\nnot json\n"), &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
}

func TestNamedRoles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "setup.sh"), []byte(`grant roles/run.invoker; also roles/editor and "roles/iam.roleViewer".`), 0o644)
	os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(`"roles/storage.objectCreator"`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.md"), []byte(`roles/owner`), 0o644)
	got, err := namedRoles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"roles/editor", "roles/iam.roleViewer", "roles/run.invoker", "roles/storage.objectCreator"}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("namedRoles = %v, want %v", names, want)
	}
	if _, err := namedRoles(t.TempDir()); err == nil {
		t.Error("an empty directory gave no error")
	}
}
