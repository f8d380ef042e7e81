package deny

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"cloud.google.com/go/iam/apiv2/iampb"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/groups"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

func loadInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	f, err := os.Open("testdata/org.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := inventory.NewBuilder()
	if _, err := scan.ReadExport(context.Background(), "testdata/org.ndjson", f, b, 1); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if len(inv.Skipped) > 0 {
		t.Fatalf("fixture skipped: %+v", inv.Skipped)
	}
	return inv
}

const (
	repo    = "projects/200/locations/europe-west1/repositories/shared"
	secret  = "projects/200/secrets/token"
	service = "projects/200/locations/europe-west1/services/web"
)

func TestPermissionMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		p       access.Perm
		want    bool
	}{
		{"run.googleapis.com/services.update", access.RunServicesUpdate, true},
		{"run.googleapis.com/services.update", access.RunServicesCreate, false},
		{"run.googleapis.com/services.*", access.RunServicesCreate, true},
		{"run.googleapis.com/services.*", access.RunJobsUpdate, false},
		{"run.googleapis.com/*.*", access.RunJobsUpdate, true},
		{"run.googleapis.com/*.update", access.RunJobsUpdate, true},
		{"run.googleapis.com/*.update", access.RunJobsCreate, false},
		{"artifactregistry.googleapis.com/repositories.downloadArtifacts", access.DownloadArtifacts, true},
		{"artifactregistry.googleapis.com/repositories.*", access.DownloadArtifacts, true},
		{"artifactregistry.googleapis.com/repositories.uploadArtifacts", access.DownloadArtifacts, false},
		{"secretmanager.googleapis.com/versions.access", access.SecretVersionsAccess, true},
		{"secretmanager.googleapis.com/secrets.*", access.SecretVersionsAccess, false},
		{"iam.googleapis.com/*.*", access.SecretVersionsAccess, false},
		{"run.services.update", access.RunServicesUpdate, false}, // v1 form is not a deny permission
		{"run.googleapis.com/services", access.RunServicesUpdate, false},
	} {
		if got := permissionMatches(tc.pattern, tc.p); got != tc.want {
			t.Errorf("permissionMatches(%q, %s) = %v, want %v", tc.pattern, tc.p, got, tc.want)
		}
	}
}

// memberships is a groups decider for the tests.
type memberships map[string]access.Tri

func (m memberships) IsMember(member, group string) (access.Tri, string) {
	if r, ok := m[member+" "+group]; ok {
		return r, "stub says " + r.String()
	}
	return access.No, "stub says no"
}

func TestPrincipal(t *testing.T) {
	inv := loadInventory(t)
	e := New(nil, memberships{
		"user:ann@acme.example group:contractors@acme.example":      access.Yes,
		"user:unsure@acme.example group:contractors@acme.example":   access.Unknown,
		"group:vendors@acme.example group:contractors@acme.example": access.Yes,
	}, nil)
	e.inv = inv
	pool := "//iam.googleapis.com/projects/9/locations/global/workloadIdentityPools/gh"
	for _, tc := range []struct {
		id, member string
		want       access.Tri
		via        string
	}{
		{"principalSet://goog/public:all", "user:ann@acme.example", access.Yes, "all principals"},
		{"principalSet://goog/public:all", "allUsers", access.Yes, "all principals"},
		{"principal://goog/subject/Ann@acme.example", "user:ann@acme.example", access.Yes, ""},
		{"principal://goog/subject/ann@acme.example", "serviceAccount:ann@acme.example", access.No, ""},
		{"principal://goog/subject/ann@acme.example", "group:ann@acme.example", access.No, ""},
		{"principal://iam.googleapis.com/projects/-/serviceAccounts/ci@p.iam.gserviceaccount.com", "serviceAccount:ci@p.iam.gserviceaccount.com", access.Yes, ""},
		{"principal://iam.googleapis.com/projects/-/serviceAccounts/ci@p.iam.gserviceaccount.com", "user:ci@p.iam.gserviceaccount.com", access.No, ""},
		{"principal://iam.googleapis.com/projects/-/serviceAccounts/1234567890", "serviceAccount:ci@p.iam.gserviceaccount.com", access.Unknown, ""},
		{"principalSet://goog/group/contractors@acme.example", "group:contractors@acme.example", access.Yes, ""},
		{"principalSet://goog/group/contractors@acme.example", "user:ann@acme.example", access.Yes, "group membership"},
		{"principalSet://goog/group/contractors@acme.example", "group:vendors@acme.example", access.Yes, "group membership"},
		{"principalSet://goog/group/contractors@acme.example", "user:bob@acme.example", access.No, "group membership"},
		{"principalSet://goog/group/contractors@acme.example", "user:unsure@acme.example", access.Unknown, "group membership"},
		{"principalSet://goog/group/contractors@acme.example", "domain:acme.example", access.No, ""},
		{"deleted:principal://goog/subject/ann@acme.example?uid=1", "user:ann@acme.example", access.No, ""},
		{"principalSet://goog/cloudIdentityCustomerId/C01", "user:ann@acme.example", access.Unknown, "Cloud Identity customer"},
		{"principalSet://goog/cloudIdentityCustomerId/C01", "principal:" + pool + "/subject/x", access.No, ""},
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAccount", "serviceAccount:ci@reg.iam.gserviceaccount.com", access.Yes, "service accounts of projects/200"},
		{"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAccount", "serviceAccount:ci@reg.iam.gserviceaccount.com", access.Yes, "service accounts of folders/10"},
		{"principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAccount", "serviceAccount:100-compute@developer.gserviceaccount.com", access.Yes, "service accounts of organizations/1"},
		{"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAccount", "serviceAccount:300-compute@developer.gserviceaccount.com", access.No, ""},
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAccount", "serviceAccount:service-200@serverless-robot-prod.iam.gserviceaccount.com", access.Unknown, "service accounts of projects/200"},
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAccount", "user:ci@reg.iam.gserviceaccount.com", access.No, ""},
		{"principal:" + pool + "/subject/repo:acme/web", "principal:" + pool + "/subject/repo:acme/web", access.Yes, ""},
		{"principalSet:" + pool + "/*", "principal:" + pool + "/subject/repo:acme/web", access.Yes, "identity pool"},
		{"principalSet:" + pool + "/attribute.repository/acme/web", "principal:" + pool + "/subject/repo:acme/web", access.Unknown, "identity pool"},
		{"principalSet:" + pool + "/*", "principal://iam.googleapis.com/projects/9/locations/global/workloadIdentityPools/other/subject/x", access.No, ""},
		{"principalSet:" + pool + "/*", "user:ann@acme.example", access.No, ""},
		{"something://else", "user:ann@acme.example", access.Unknown, ""},
		// Service agents of a project, folder or organization (the exception
		// IAM recommends for broad deny rules).
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "serviceAccount:service-200@serverless-robot-prod.iam.gserviceaccount.com", access.Yes, "service agents of projects/200"},
		{"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAgent", "serviceAccount:service-200@gcp-sa-artifactregistry.iam.gserviceaccount.com", access.Yes, "service agents of folders/10"},
		{"principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAgent", "serviceAccount:service-300@serverless-robot-prod.iam.gserviceaccount.com", access.Yes, "service agents of organizations/1"},
		{"principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAgent", "serviceAccount:300@cloudservices.gserviceaccount.com", access.Yes, "service agents of organizations/1"},
		{"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAgent", "serviceAccount:service-folder-10@gcp-sa-cloudasset.iam.gserviceaccount.com", access.Yes, "service agents of folders/10"},
		{"principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAgent", "serviceAccount:service-folder-10@gcp-sa-cloudasset.iam.gserviceaccount.com", access.Yes, "service agents of organizations/1"},
		{"principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAgent", "serviceAccount:service-org-1@gcp-sa-cloudasset.iam.gserviceaccount.com", access.Yes, "service agents of organizations/1"},
		{"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAgent", "serviceAccount:service-300@serverless-robot-prod.iam.gserviceaccount.com", access.No, ""}, // project 300 is not in folder 10
		{"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAgent", "serviceAccount:service-org-1@gcp-sa-cloudasset.iam.gserviceaccount.com", access.No, ""},
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "serviceAccount:service-999@serverless-robot-prod.iam.gserviceaccount.com", access.Unknown, "service agents of projects/200"}, // project 999 unknown
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "serviceAccount:ci@reg.iam.gserviceaccount.com", access.No, ""},                                                               // user-managed
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "serviceAccount:200-compute@developer.gserviceaccount.com", access.No, ""},                                                    // default, not an agent
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "serviceAccount:200@cloudbuild.gserviceaccount.com", access.Unknown, "service agents of projects/200"},
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "user:ann@acme.example", access.No, ""},
		{"principalSet://cloudresourcemanager.googleapis.com/projects/200/type/ServiceAgent", "group:contractors@acme.example", access.No, ""},
		// Workforce identities.
		{"principalSet://iam.googleapis.com/locations/global/workforcePools/staff/*", "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/raha@altostrat.com", access.Yes, "identity pool"},
		{"principalSet://iam.googleapis.com/locations/global/workforcePools/staff/group/admins", "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/raha@altostrat.com", access.Unknown, "identity pool"},
		{"principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/raha@altostrat.com", "user:raha@altostrat.com", access.No, ""},
		// Agent identities.
		{"principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/a", "principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/a", access.Yes, ""},
		{"principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/a", "principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/b", access.No, ""},
		{"principalSet://agents.global.org-1.system.id.goog/*", "principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/a", access.Yes, "agent identities of agents.global.org-1.system.id.goog"},
		{"principalSet://agents.global.org-1.system.id.goog/attribute.platformContainer/aiplatform/projects/200", "principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/a", access.Yes, "agent identities of aiplatform/projects/200"},
		{"principalSet://agents.global.org-1.system.id.goog/attribute.platformContainer/aiplatform/projects/300", "principal://agents.global.org-1.system.id.goog/resources/aiplatform/projects/200/locations/us-central1/reasoningEngines/a", access.No, ""},
		{"principalSet://agents.global.org-1.system.id.goog/attribute.platformContainer/aiplatform/projects/200", "principal://agents.global.org-1.system.id.goog/resources/discoveryengine/projects/200/locations/global/engines/e", access.Unknown, "agent identities"},
		{"principalSet://agents.global.org-1.system.id.goog/*", "principal://agents.global.org-2.system.id.goog/resources/aiplatform/projects/9/locations/l/reasoningEngines/a", access.No, ""},
		{"principalSet://agents.global.org-1.system.id.goog/*", "user:ann@acme.example", access.No, ""},
		// Deleted principals of every kind match nobody.
		{"deleted:principalSet://goog/group/contractors@acme.example?uid=1", "user:ann@acme.example", access.No, ""},
		{"deleted:principal://iam.googleapis.com/projects/-/serviceAccounts/ci@p.iam.gserviceaccount.com?uid=1", "serviceAccount:ci@p.iam.gserviceaccount.com", access.No, ""},
	} {
		got, via, note := e.principal(tc.id, tc.member)
		if got != tc.want || via != tc.via {
			t.Errorf("principal(%s, %s) = %v, %q (%s); want %v, %q", tc.id, tc.member, got, via, note, tc.want, tc.via)
		}
		if got == access.Unknown && note == "" {
			t.Errorf("principal(%s, %s) is unknown without saying why", tc.id, tc.member)
		}
	}
}

func TestAttachmentKey(t *testing.T) {
	for _, tc := range []struct{ name, want, err string }{
		{"policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/p", "organizations/1", ""},
		{"policies/cloudresourcemanager.googleapis.com%2Ffolders%2F10/denypolicies/p", "folders/10", ""},
		{"policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fmy-proj/denypolicies/p", "projects/my-proj", ""},
		{"policies/cloudresourcemanager.googleapis.com%2Fprojects%2F200/denypolicies/p", "projects/200", ""},
		{"denypolicies/p", "", "does not start with policies/"},
		{"policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1", "", "no /denypolicies/ID"},
		{"policies/storage.googleapis.com%2Fb%2Fx/denypolicies/p", "", "not an organization, folder or project"},
		{"policies/cloudresourcemanager.googleapis.com%2Fprojects/denypolicies/p", "", "not an organization, folder or project"},
		{"policies/%zz/denypolicies/p", "", "attachment point"},
	} {
		got, err := AttachmentKey(tc.name)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("AttachmentKey(%s) = %q, %v; want %q, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestReadFile(t *testing.T) {
	for _, tc := range []struct {
		path string
		n    int
	}{
		{"testdata/policies.json", 2},
		{"testdata/policies-project.ndjson", 1}, // the deleted policy is dropped
	} {
		s, err := ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != tc.n {
			t.Errorf("%s: %d policies, want %d", tc.path, s.Len(), tc.n)
		}
	}
	for _, tc := range []struct{ path, want string }{
		{"testdata/bad-permission.json", `testdata/bad-permission.json:1: policy 1 of the array: deny policy policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/x: rule 1: permission "run.services.update" is not in the SERVICE.googleapis.com/RESOURCE.VERB form`},
		{"testdata/bad-name.json", `testdata/bad-name.json:1: deny policy name "policies/x/denypolicies/y": attachment point "x" is not an organization, folder or project`},
		{"testdata/bad-syntax.json", "testdata/bad-syntax.json:1: unexpected EOF"},
		{"testdata/bad-field.json", "testdata/bad-field.json:1: proto"},
		// What `gcloud iam policies list --format=json` prints: metadata, no rules.
		{"testdata/list-output.json", "testdata/list-output.json:1: policy 1 of the array: deny policy policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/no-contractor-pulls carries no rules: " +
			"`gcloud iam policies list` and ListPolicies return policy metadata without rules; export each policy with " +
			"`gcloud iam policies get no-contractor-pulls --attachment-point=cloudresourcemanager.googleapis.com/organizations/1 --kind=denypolicies --format=json`"},
		{"testdata/absent.json", "reading deny policies"},
	} {
		_, err := ReadFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadFile(%s) = %v, want an error with %q", tc.path, err, tc.want)
		}
	}
	valid := `{"name": "policies/cloudresourcemanager.googleapis.com%2Ffolders%2F1/denypolicies/p",` +
		`"rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"], "deniedPermissions": ["run.googleapis.com/*.*"]}}]}`
	if _, err := Parse("inline", []byte(valid+"\n\n  [1]")); err == nil || !strings.Contains(err.Error(), "inline:3:") {
		t.Errorf("error on line 3: %v", err)
	}
}

// conditionStub decides every condition the same way.
type conditionStub access.Tri

func (c conditionStub) Evaluate(*inventory.Condition, *inventory.Node) (access.Tri, string) {
	return access.Tri(c), "stub condition " + access.Tri(c).String()
}

func fileEvaluator(t *testing.T, g access.Groups, c access.Conditions, paths ...string) (*Evaluator, *inventory.Inventory) {
	t.Helper()
	src := &Static{}
	for _, p := range paths {
		s, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		src.policies = append(src.policies, s.policies...)
	}
	inv := loadInventory(t)
	e := New(src, g, c)
	e.UseInventory(inv)
	return e, inv
}

func TestDenied(t *testing.T) {
	g := memberships{
		"user:ann@acme.example group:contractors@acme.example":    access.Yes,
		"user:lead@acme.example group:contractors@acme.example":   access.Yes,
		"user:unsure@acme.example group:contractors@acme.example": access.Unknown,
	}
	tests := []struct {
		name   string
		cond   access.Tri
		member string
		perm   access.Perm
		target string
		want   access.Tri
		step   string // "Role|Node.Key|Member|Via"
	}{
		{"group member denied at the organization", access.Unknown, "user:ann@acme.example", access.DownloadArtifacts, repo, access.Yes,
			`deny rule 1 of deny policy "no-contractor-pulls"|organizations/1|principalSet://goog/group/contractors@acme.example|group membership`},
		{"the exception principal is not denied", access.Unknown, "user:lead@acme.example", access.DownloadArtifacts, repo, access.No, "|||"},
		{"a non-member is not denied", access.Unknown, "user:carl@acme.example", access.DownloadArtifacts, service, access.No, "|||"},
		{"undecided membership is an undecided deny", access.Unknown, "user:unsure@acme.example", access.DownloadArtifacts, repo, access.Unknown,
			`deny rule 1 of deny policy "no-contractor-pulls"|organizations/1|principalSet://goog/group/contractors@acme.example|group membership`},
		{"another permission is not denied", access.Unknown, "user:ann@acme.example", access.RunServicesUpdate, service, access.No, "|||"},
		{"wildcard permission denied on the folder", access.Unknown, "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", access.RunServicesUpdate, service, access.Yes,
			`deny rule 1 of deny policy "ci-no-deploy"|folders/10|principal://iam.googleapis.com/projects/-/serviceAccounts/ci@acme-ci.iam.gserviceaccount.com|`},
		{"exception permission", access.Unknown, "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", access.RunServicesCreate, service, access.No, "|||"},
		{"not below the folder", access.Unknown, "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", access.RunServicesUpdate, "projects/300", access.No, "|||"},
		{"tag condition undecided", access.Unknown, "serviceAccount:x@y.iam.gserviceaccount.com", access.SecretVersionsAccess, secret, access.Unknown,
			`deny rule 2 of deny policy "ci-no-deploy"|folders/10|principalSet://goog/public:all|all principals`},
		{"condition false: not denied", access.No, "serviceAccount:x@y.iam.gserviceaccount.com", access.SecretVersionsAccess, secret, access.No, "|||"},
		{"condition true: denied", access.Yes, "serviceAccount:x@y.iam.gserviceaccount.com", access.SecretVersionsAccess, secret, access.Yes,
			`deny rule 2 of deny policy "ci-no-deploy"|folders/10|principalSet://goog/public:all|all principals`},
		{"project policy named by project id", access.Unknown, "user:bob@acme.example", access.DownloadArtifacts, repo, access.Yes,
			`deny rule 1 of deny policy "pinned"|projects/200|principal://goog/subject/bob@acme.example|`},
		{"deleted policy denies nothing", access.Unknown, "user:bob@acme.example", access.RunServicesUpdate, "projects/100", access.No, "|||"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, inv := fileEvaluator(t, g, conditionStub(tc.cond), "testdata/policies.json", "testdata/policies-project.ndjson")
			n := inv.Nodes[tc.target]
			if n == nil {
				t.Fatalf("no node %s", tc.target)
			}
			got, step := e.Denied(tc.member, tc.perm, n)
			key := ""
			if step.Node != nil {
				key = step.Node.Key
			}
			if s := strings.Join([]string{step.Role, key, step.Member, step.Via}, "|"); got != tc.want || s != tc.step {
				t.Errorf("Denied = %v, %s (note %q); want %v, %s", got, s, step.Note, tc.want, tc.step)
			}
			if got == access.Unknown && step.Note == "" {
				t.Error("an undecided deny says nothing about why")
			}
		})
	}
}

func TestDeniedWithoutDeciders(t *testing.T) {
	e, inv := fileEvaluator(t, nil, nil, "testdata/policies.json")
	if got, step := e.Denied("user:ann@acme.example", access.DownloadArtifacts, inv.Nodes[repo]); got != access.Unknown || !strings.Contains(step.Note, "not resolved") {
		t.Errorf("group deny without a groups decider: %v %q, want unknown", got, step.Note)
	}
	if got, step := e.Denied("user:ann@acme.example", access.SecretVersionsAccess, inv.Nodes[secret]); got != access.Unknown || !strings.Contains(step.Note, "not evaluated") {
		t.Errorf("conditional deny without a conditions decider: %v %q, want unknown", got, step.Note)
	}
}

// failing is a Source that cannot read one node.
type failing struct {
	Source
	key string
}

func (f failing) Policies(n *inventory.Node) ([]*iampb.Policy, error) {
	if n.Key == f.key {
		return nil, errors.New("permission denied")
	}
	return f.Source.Policies(n)
}

func TestUnreadablePoliciesAreUnknown(t *testing.T) {
	e, inv := fileEvaluator(t, memberships{"user:ann@acme.example group:contractors@acme.example": access.Yes}, nil, "testdata/policies.json")
	e.src = failing{e.src, "folders/10"}
	got, step := e.Denied("user:bob@acme.example", access.DownloadArtifacts, inv.Nodes[repo])
	if got != access.Unknown || step.Node.Key != "folders/10" || !strings.Contains(step.Note, "could not be read: permission denied") {
		t.Errorf("unreadable folder: %v %+v, want unknown on folders/10", got, step)
	}
	// A sure deny elsewhere still decides.
	if got, _ := e.Denied("user:ann@acme.example", access.DownloadArtifacts, inv.Nodes[repo]); got != access.Yes {
		t.Errorf("a sure deny on the organization: %v, want yes", got)
	}
	// Nodes outside the unreadable folder are decided.
	if got, _ := e.Denied("user:bob@acme.example", access.DownloadArtifacts, inv.Nodes["projects/300/locations/us/repositories/noid"]); got != access.No {
		t.Errorf("outside the folder: %v, want no", got)
	}
}

// The evaluator in the real engine: a deny rule takes away a grant, an
// undecided one leaves it undecided.
func TestEngineAppliesDenyBeforeAllow(t *testing.T) {
	g, err := groups.ParseJSON("groups.json", []byte(`{"group:contractors@acme.example": ["user:ann@acme.example"]}`))
	if err != nil {
		t.Fatal(err)
	}
	inv := loadInventory(t)
	n := inv.Nodes[repo]
	n.Bindings = append(n.Bindings, inventory.Binding{Role: "roles/artifactregistry.reader", Members: []string{"user:ann@acme.example", "user:carl@acme.example", "user:dora@acme.example"}})
	src, err := ReadFile("testdata/policies.json")
	if err != nil {
		t.Fatal(err)
	}
	eng := access.New(inv, access.Predefined(), access.Options{Groups: g, Denials: New(src, g, nil)})
	ans := eng.Check("user:ann@acme.example", access.DownloadArtifacts, n)
	if ans.Result != access.No || ans.Denied == nil || !ans.Denied.Deny || ans.Denied.Node.Key != "organizations/1" {
		t.Errorf("ann: %+v, want denied by the organization's policy", ans)
	}
	if ans := eng.Check("user:carl@acme.example", access.DownloadArtifacts, n); ans.Result != access.Yes {
		t.Errorf("carl is not a contractor: %+v, want yes", ans)
	}
}

// A deny rule is checked for the principal making the request. A rule on a
// group that exempts one of its members denies the others, not the group
// as a whole: the exempt deployer still deploys.
func TestDenyOnSetWithExemptMember(t *testing.T) {
	g, err := groups.ParseJSON("groups.json", []byte(`{"group:devs@acme.example": ["user:alice@acme.example", "user:bob@acme.example"]}`))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Parse("inline", []byte(`[
	{"name": "policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/devs-no-deploy",
	 "rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/group/devs@acme.example"],
	   "exceptionPrincipals": ["principal://goog/subject/alice@acme.example"],
	   "deniedPermissions": ["run.googleapis.com/services.update"]}}]},
	{"name": "policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/no-public-secrets",
	 "rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"],
	   "exceptionPrincipals": ["principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAgent"],
	   "deniedPermissions": ["secretmanager.googleapis.com/versions.access"]}}]},
	{"name": "policies/cloudresourcemanager.googleapis.com%2Ffolders%2F10/denypolicies/ops-no-pulls",
	 "rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/group/devs@acme.example"],
	   "exceptionPrincipals": ["principal://goog/subject/carol@acme.example"],
	   "deniedPermissions": ["artifactregistry.googleapis.com/repositories.downloadArtifacts"]}}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	inv := loadInventory(t)
	e := New(src, g, nil)
	e.UseInventory(inv)
	for _, tc := range []struct {
		member string
		perm   access.Perm
		target string
		want   access.Tri
		note   string
	}{
		{"user:alice@acme.example", access.RunServicesUpdate, service, access.No, ""},
		{"user:bob@acme.example", access.RunServicesUpdate, service, access.Yes, ""},
		{"group:devs@acme.example", access.RunServicesUpdate, service, access.Unknown, "it exempts principal://goog/subject/alice@acme.example, within group:devs@acme.example"},
		// carol is not in devs: the rule denies every member of the group.
		{"group:devs@acme.example", access.DownloadArtifacts, repo, access.Yes, ""},
		// public:all less the organization's service agents.
		{"user:ann@acme.example", access.SecretVersionsAccess, secret, access.Yes, ""},
		{"serviceAccount:service-200@gcp-sa-artifactregistry.iam.gserviceaccount.com", access.SecretVersionsAccess, secret, access.No, ""},
		{"allUsers", access.SecretVersionsAccess, secret, access.Unknown, "within allUsers"},
		{"domain:acme.example", access.SecretVersionsAccess, secret, access.Yes, ""}, // service agents are in no domain
	} {
		got, step := e.Denied(tc.member, tc.perm, inv.Nodes[tc.target])
		if got != tc.want || !strings.Contains(step.Note, tc.note) {
			t.Errorf("Denied(%s, %s) = %v (%q), want %v with %q", tc.member, tc.perm, got, step.Note, tc.want, tc.note)
		}
	}

	// In the engine: devs, bound to run.developer, stays a deployer (undecided
	// for the group as a whole), and each member is decided on their own.
	proj := inv.Nodes["projects/200"]
	proj.Bindings = append(proj.Bindings, inventory.Binding{Role: "roles/run.developer", Members: []string{"group:devs@acme.example"}})
	eng := access.New(inv, access.Predefined(), access.Options{Groups: g, Denials: e})
	var found bool
	for _, h := range eng.Holders(access.ServiceDeployPerms, inv.Nodes[service]) {
		if h.Member == "group:devs@acme.example" {
			found = h.Maybe.Has(access.RunServicesUpdate) && h.Perms.Has(access.RunServicesCreate)
		}
	}
	if !found {
		t.Errorf("holders %+v: want group:devs with create sure and update undecided", eng.Holders(access.ServiceDeployPerms, inv.Nodes[service]))
	}
	if a := eng.Check("user:alice@acme.example", access.RunServicesUpdate, inv.Nodes[service]); a.Result != access.Yes {
		t.Errorf("alice, exempt: %+v, want yes", a)
	}
	if a := eng.Check("user:bob@acme.example", access.RunServicesUpdate, inv.Nodes[service]); a.Result != access.No || a.Denied == nil {
		t.Errorf("bob: %+v, want denied", a)
	}
}
