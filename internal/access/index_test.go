package access

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/runaudit/runaudit/internal/inventory"
)

// TestMemberIndexGivesTheSameAnswers holds the member index of large
// policies to what reading every member gives: the same verdicts and the
// same steps in the same order, for principals that match exactly, by
// case, by rule (allUsers, domain, group, principal set), through a
// non-ASCII member EqualFold folds onto ASCII, and not at all.
func TestMemberIndexGivesTheSameAnswers(t *testing.T) {
	var members []string
	for i := range minIndexedMembers {
		members = append(members, fmt.Sprintf("user:dev-%d@example.com", i))
	}
	b := inventory.NewBuilder()
	org := []string{"organizations/1"}
	proj := []string{"projects/2", "organizations/1"}
	b.AddRecord(&inventory.Record{Name: "//cloudresourcemanager.googleapis.com/organizations/1", AssetType: inventory.TypeOrganization, Ancestors: org, Resource: &inventory.ResourceData{}}, "test")
	b.AddRecord(&inventory.Record{Name: "//cloudresourcemanager.googleapis.com/projects/2", AssetType: inventory.TypeProject, Ancestors: proj, Resource: &inventory.ResourceData{ProjectID: "p", ProjectNumber: "2"}}, "test")
	repo := "//artifactregistry.googleapis.com/projects/2/locations/us/repositories/r"
	b.AddRecord(&inventory.Record{Name: repo, AssetType: inventory.TypeRepository, Ancestors: proj, Resource: &inventory.ResourceData{Location: "us", Format: "DOCKER"}}, "test")
	b.AddRecord(&inventory.Record{Name: repo, AssetType: inventory.TypeRepository, Ancestors: proj, Policy: &inventory.Policy{Bindings: []inventory.Binding{
		{Role: "roles/artifactregistry.reader", Members: members[:20]},
		{Role: "roles/artifactregistry.reader", Members: []string{"group:readers@example.com", "USER:Dev-3@Example.com", "domain:example.com"}},
		{Role: "roles/artifactregistry.writer", Members: append([]string{"user:dev-3@example.com", "deleted:user:gone@example.com?uid=1"}, members[20:]...)},
		{Role: "roles/artifactregistry.reader", Members: []string{"user:\u212aate@example.com", "allAuthenticatedUsers", "principalSet://goog/public:all"},
			Condition: &inventory.Condition{Title: "t", Expression: "request.time < timestamp('2030-01-01T00:00:00Z')"}},
		{Role: "roles/viewer", Members: []string{"user:dev-3@example.com"}},
	}}}, "test")
	inv := b.Finish()
	e := New(inv, Predefined(), Options{})
	node := inv.Nodes["projects/2/locations/us/repositories/r"]
	if e.members[node] == nil {
		t.Fatal("the repository's policy is not indexed")
	}
	principals := []string{
		"user:dev-3@example.com", "user:DEV-3@EXAMPLE.COM", "user:dev-40@example.com",
		"user:kate@example.com", "user:nobody@example.com", "user:other@elsewhere.example",
		"serviceAccount:sa@p.iam.gserviceaccount.com", "group:readers@example.com",
		"deleted:user:gone@example.com?uid=1", "user:d\u00e9v@example.com", "allUsers",
	}
	for _, p := range principals {
		for _, perm := range Perms() {
			indexed := e.allow(p, perm, node)
			saved := e.members
			e.members = nil
			full := e.allow(p, perm, node)
			e.members = saved
			if !reflect.DeepEqual(indexed, full) {
				t.Errorf("%s, %v: with the index\n%+v\nreading every member\n%+v", p, perm, indexed, full)
			}
		}
	}
}
