package access_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/conditions"
)

var roles = access.Predefined()

const dev = "user:dev@acme.example"

const (
	reader    = "roles/artifactregistry.reader"
	developer = "roles/run.developer"
)

// Grants are inherited down organization → folders → project → resource,
// and only down: a grant elsewhere in the tree never counts.
func TestCheckInheritance(t *testing.T) {
	tests := []struct {
		name    string
		binding binding
		perm    access.Perm
		target  string
		want    access.Tri
		// control is a target on which the same binding must grant, so that
		// a No proves the hierarchy, not a dead binding.
		control string
	}{
		{"organization grant reaches a repository", bind("org", reader, dev), access.DownloadArtifacts, "shared", access.Yes, ""},
		{"organization grant reaches a project directly under it", bind("org", reader, dev), access.DownloadArtifacts, "mirror", access.Yes, ""},
		{"folder grant reaches a repository", bind("folder10", reader, dev), access.DownloadArtifacts, "shared", access.Yes, ""},
		{"folder grant passes through a nested folder", bind("folder10", reader, dev), access.DownloadArtifacts, "local", access.Yes, ""},
		{"nested folder grant reaches its project's repository", bind("folder11", reader, dev), access.DownloadArtifacts, "local", access.Yes, ""},
		{"nested folder grant does not reach its parent folder's other project", bind("folder11", reader, dev), access.DownloadArtifacts, "shared", access.No, "local"},
		{"folder grant does not reach a project outside the folder", bind("folder10", reader, dev), access.DownloadArtifacts, "mirror", access.No, "shared"},
		{"project grant reaches its repository", bind("reg", reader, dev), access.DownloadArtifacts, "shared", access.Yes, ""},
		{"project grant reaches its secret", bind("reg", "roles/secretmanager.secretAccessor", dev), access.SecretVersionsAccess, "token", access.Yes, ""},
		{"repository grant covers the repository", bind("shared", reader, dev), access.DownloadArtifacts, "shared", access.Yes, ""},
		{"grant on a sibling repository does not count", bind("sibling", reader, dev), access.DownloadArtifacts, "shared", access.No, "sibling"},
		{"grant on another project does not count", bind("app", reader, dev), access.DownloadArtifacts, "shared", access.No, "local"},
		{"grant on a project under the organization does not reach a folder's project", bind("other", reader, dev), access.DownloadArtifacts, "shared", access.No, "mirror"},
		{"repository grant does not flow up to its project", bind("shared", reader, dev), access.DownloadArtifacts, "reg", access.No, "shared"},
		{"repository grant does not flow up to the organization", bind("shared", reader, dev), access.DownloadArtifacts, "org", access.No, "shared"},
		{"secret grant does not cover a repository of the same project", bind("token", "roles/owner", dev), access.DownloadArtifacts, "shared", access.No, "token"},
		{"project grant reaches a service", bind("app", developer, dev), access.RunServicesUpdate, "web", access.Yes, ""},
		{"project grant reaches a job", bind("app", developer, dev), access.RunJobsCreate, "batch", access.Yes, ""},
		{"service grant covers the service", bind("web", developer, dev), access.RunServicesUpdate, "web", access.Yes, ""},
		{"grant on one service does not cover another", bind("api", developer, dev), access.RunServicesUpdate, "web", access.No, "api"},
		{"grant on a job does not cover a service", bind("batch", developer, dev), access.RunServicesUpdate, "web", access.No, ""},
		{"grant on a service does not cover its image's repository", bind("web", "roles/owner", dev), access.DownloadArtifacts, "shared", access.No, "web"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, tc.binding)
			eng := access.New(inv, roles, access.Options{})
			ans := eng.Check(dev, tc.perm, node(t, inv, tc.target))
			if ans.Result != tc.want {
				t.Fatalf("Check(%s, %s, %s) = %v, want %v (answer %+v)", dev, tc.perm, tc.target, ans.Result, tc.want, ans)
			}
			switch tc.want {
			case access.Yes:
				if len(ans.Grants) != 1 {
					t.Fatalf("grants = %+v, want exactly the one binding", ans.Grants)
				}
				g := ans.Grants[0]
				if g.Node.Key != places[tc.binding.on].key || g.Role != tc.binding.role || g.Member != dev {
					t.Errorf("grant path = %s %s on %s, want %s %s on %s", g.Member, g.Role, g.Node.Key, dev, tc.binding.role, places[tc.binding.on].key)
				}
			case access.No:
				if len(ans.Grants)+len(ans.Unknown) != 0 {
					t.Errorf("a No answer carries grants %+v or unknowns %+v", ans.Grants, ans.Unknown)
				}
				if tc.control != "" {
					if c := eng.Check(dev, tc.perm, node(t, inv, tc.control)); c.Result != access.Yes {
						t.Errorf("control: the binding does not grant on %s either (%v): the case proves nothing", tc.control, c.Result)
					}
				}
			}
		})
	}
}

// The audit asks about permissions, never role names: a role grants what
// its definition includes, and a role it cannot resolve is undecided.
func TestCheckRoles(t *testing.T) {
	tests := []struct {
		name   string
		role   string
		on     string
		perm   access.Perm
		target string
		want   access.Tri
	}{
		{"run.developer deploys services", developer, "app", access.RunServicesUpdate, "web", access.Yes},
		{"run.developer deploys jobs", developer, "app", access.RunJobsUpdate, "batch", access.Yes},
		{"run.developer has no downloadArtifacts", developer, "reg", access.DownloadArtifacts, "shared", access.No},
		{"run.admin has no downloadArtifacts", "roles/run.admin", "reg", access.DownloadArtifacts, "shared", access.No},
		{"run.sourceDeveloper downloads", "roles/run.sourceDeveloper", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"viewer downloads", "roles/viewer", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"viewer does not deploy", "roles/viewer", "app", access.RunServicesUpdate, "web", access.No},
		{"editor downloads", "roles/editor", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"editor deploys", "roles/editor", "app", access.RunServicesCreate, "web", access.Yes},
		{"editor does not access secrets", "roles/editor", "reg", access.SecretVersionsAccess, "token", access.No},
		{"owner downloads", "roles/owner", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"owner accesses secrets", "roles/owner", "reg", access.SecretVersionsAccess, "token", access.Yes},
		{"artifactregistry.reader downloads", reader, "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"artifactregistry.reader does not deploy", reader, "app", access.RunServicesUpdate, "web", access.No},
		{"run.serviceAgent downloads", "roles/run.serviceAgent", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"role with none of the audited permissions", "roles/run.invoker", "app", access.RunServicesUpdate, "web", access.No},

		{"organization custom role deploys", "organizations/1/roles/orgDeployer", "org", access.RunServicesCreate, "web", access.Yes},
		{"organization custom role deploys jobs", "organizations/1/roles/orgDeployer", "app", access.RunJobsUpdate, "batch", access.Yes},
		{"organization custom role lacks what it does not include", "organizations/1/roles/orgDeployer", "org", access.DownloadArtifacts, "shared", access.No},
		{"DISABLED custom role grants nothing", "organizations/1/roles/orgDisabled", "org", access.DownloadArtifacts, "shared", access.No},
		{"DISABLED custom role grants no deploy either", "organizations/1/roles/orgDisabled", "org", access.RunServicesUpdate, "web", access.No},
		{"deleted custom role grants nothing", "organizations/1/roles/orgDeleted", "org", access.DownloadArtifacts, "shared", access.No},
		{"project custom role (asset by id) bound by id", "projects/acme-reg/roles/readerById", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"project custom role (asset by id) bound by number", "projects/200/roles/readerById", "reg", access.DownloadArtifacts, "shared", access.Yes},
		{"project custom role (asset by number) bound by id", "projects/acme-reg/roles/readerByNumber", "shared", access.DownloadArtifacts, "shared", access.Yes},
		{"project custom role (asset by number) bound by number", "projects/200/roles/readerByNumber", "shared", access.DownloadArtifacts, "shared", access.Yes},

		{"unknown predefined role is undecided", "roles/run.notARole", "app", access.RunServicesUpdate, "web", access.Unknown},
		{"unknown organization custom role is undecided", "organizations/1/roles/missing", "reg", access.DownloadArtifacts, "shared", access.Unknown},
		{"custom role of another organization is undecided", "organizations/2/roles/orgDeployer", "app", access.RunServicesUpdate, "web", access.Unknown},
		{"custom role of an unknown project is undecided", "projects/ghost/roles/readerById", "reg", access.DownloadArtifacts, "shared", access.Unknown},
		{"custom role missing from a known project is undecided", "projects/acme-reg/roles/missing", "reg", access.DownloadArtifacts, "shared", access.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, bind(tc.on, tc.role, dev))
			eng := access.New(inv, roles, access.Options{})
			ans := eng.Check(dev, tc.perm, node(t, inv, tc.target))
			if ans.Result != tc.want {
				t.Fatalf("%s on %s: Check(%s on %s) = %v, want %v (answer %+v)", tc.role, tc.on, tc.perm, tc.target, ans.Result, tc.want, ans)
			}
			unknownListed := slices.Contains(eng.UnknownRoles, tc.role)
			switch tc.want {
			case access.Unknown:
				if len(ans.Unknown) != 1 || !strings.Contains(ans.Unknown[0].Note, tc.role) {
					t.Errorf("unknown paths = %+v, want one whose note names %s", ans.Unknown, tc.role)
				}
				if !unknownListed {
					t.Errorf("UnknownRoles = %v, want it to list %s", eng.UnknownRoles, tc.role)
				}
			default:
				if unknownListed {
					t.Errorf("UnknownRoles = %v lists a role that resolves", eng.UnknownRoles)
				}
			}
		})
	}
}

// Each member form covers exactly the principals IAM says it does.
func TestCheckMembers(t *testing.T) {
	const (
		pool      = "//iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/github"
		otherPool = "//iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/gitlab"
		subject   = "principal:" + pool + "/subject/repo:acme/web:ref:refs/heads/main"
	)
	tests := []struct {
		name      string
		bound     string
		principal string
		groups    access.Groups
		want      access.Tri
		via       string
	}{
		{"user exact", "user:dev@acme.example", "user:dev@acme.example", nil, access.Yes, ""},
		{"user email is case-insensitive", "user:Dev@Acme.Example", "user:dev@acme.example", nil, access.Yes, ""},
		{"another user", "user:dev@acme.example", "user:ops@acme.example", nil, access.No, ""},
		{"a user binding is not the service account of the same email", "user:ci@acme.example", "serviceAccount:ci@acme.example", nil, access.No, ""},
		{"service account exact", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", nil, access.Yes, ""},
		{"service account case-insensitive", "serviceAccount:CI@acme-ci.iam.gserviceaccount.com", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", nil, access.Yes, ""},
		{"another service account", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", "serviceAccount:cd@acme-ci.iam.gserviceaccount.com", nil, access.No, ""},

		{"allUsers covers a user", "allUsers", "user:anyone@elsewhere.example", nil, access.Yes, "allUsers"},
		{"allUsers covers a service account", "allUsers", "serviceAccount:x@y.iam.gserviceaccount.com", nil, access.Yes, "allUsers"},
		{"allUsers covers the public", "allUsers", "allUsers", nil, access.Yes, ""},
		{"allAuthenticatedUsers covers a user", "allAuthenticatedUsers", "user:anyone@elsewhere.example", nil, access.Yes, "allAuthenticatedUsers"},
		{"allAuthenticatedUsers covers a service account", "allAuthenticatedUsers", "serviceAccount:x@y.iam.gserviceaccount.com", nil, access.Yes, "allAuthenticatedUsers"},
		{"allAuthenticatedUsers does not cover allUsers", "allAuthenticatedUsers", "allUsers", nil, access.No, ""},

		{"domain covers its users", "domain:acme.example", "user:dev@acme.example", nil, access.Yes, "domain"},
		{"domain is case-insensitive", "domain:Acme.Example", "user:dev@ACME.example", nil, access.Yes, "domain"},
		{"domain does not cover its service accounts", "domain:acme.example", "serviceAccount:ci@acme.example", nil, access.No, ""},
		{"domain does not cover its groups", "domain:acme.example", "group:devs@acme.example", nil, access.No, ""},
		{"domain does not cover another domain", "domain:acme.example", "user:dev@other.example", nil, access.No, ""},
		{"domain does not cover a subdomain", "domain:acme.example", "user:dev@eu.acme.example", nil, access.No, ""},
		{"domain does not cover a suffix look-alike", "domain:acme.example", "user:dev@notacme.example", nil, access.No, ""},

		{"group membership is undecided by default", "group:devs@acme.example", dev, nil, access.Unknown, "group membership"},
		{"service account in a group is undecided by default", "group:devs@acme.example", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", nil, access.Unknown, "group membership"},
		{"a group binding covers the group itself", "group:devs@acme.example", "group:devs@acme.example", nil, access.Yes, ""},
		{"group member found", "group:devs@acme.example", dev, groupStub{dev + " group:devs@acme.example": access.Yes}, access.Yes, "group membership"},
		{"group member not found", "group:devs@acme.example", dev, groupStub{}, access.No, ""},
		{"group membership the decider cannot tell", "group:devs@acme.example", dev, groupStub{dev + " group:devs@acme.example": access.Unknown}, access.Unknown, "group membership"},
		{"membership of another group does not count", "group:devs@acme.example", dev, groupStub{dev + " group:ops@acme.example": access.Yes}, access.No, ""},
		{"allUsers is in no group", "group:devs@acme.example", "allUsers", groupStub{"allUsers group:devs@acme.example": access.Yes}, access.No, ""},

		{"pool principalSet covers a subject of the pool", "principalSet:" + pool + "/*", subject, nil, access.Yes, "workload identity pool"},
		{"pool principalSet does not cover another pool", "principalSet:" + pool + "/*", "principal:" + otherPool + "/subject/repo:acme/web", nil, access.No, ""},
		{"pool principalSet does not cover the same pool id in another project", "principalSet:" + pool + "/*",
			"principal://iam.googleapis.com/projects/222/locations/global/workloadIdentityPools/github/subject/x", nil, access.No, ""},
		{"attribute principalSet is undecided for a subject of its pool", "principalSet:" + pool + "/attribute.repository/acme/web", subject, nil, access.Unknown, "workload identity pool"},
		{"attribute principalSet does not cover another pool", "principalSet:" + pool + "/attribute.repository/acme/web", "principal:" + otherPool + "/subject/x", nil, access.No, ""},
		{"principalSet does not cover a user", "principalSet:" + pool + "/*", dev, nil, access.No, ""},
		{"workforce pool set covers its identities", "principalSet://iam.googleapis.com/locations/global/workforcePools/staff/*",
			"principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/ann", nil, access.Yes, "workforce identity pool"},
		{"workforce group set is undecided for a pool identity", "principalSet://iam.googleapis.com/locations/global/workforcePools/staff/group/devs",
			"principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/ann", nil, access.Unknown, "workforce identity pool"},
		{"workforce set does not cover a Google account", "principalSet://iam.googleapis.com/locations/global/workforcePools/staff/*", dev, nil, access.No, ""},

		// All service accounts of a project, folder or organization: the
		// account's email names its project, placed in the hierarchy.
		{"service accounts of the project cover one of its accounts", "principalSet://cloudresourcemanager.googleapis.com/projects/100/type/ServiceAccount",
			"serviceAccount:ci@acme-app.iam.gserviceaccount.com", nil, access.Yes, "service accounts of projects/100"},
		{"service accounts of a folder cover an account of a project below it", "principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAccount",
			"serviceAccount:ci@acme-app.iam.gserviceaccount.com", nil, access.Yes, "service accounts of folders/10"},
		{"service accounts of the organization cover the default compute account", "principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAccount",
			"serviceAccount:300-compute@developer.gserviceaccount.com", nil, access.Yes, "service accounts of organizations/1"},
		{"service accounts of a folder do not cover an account of a project outside it", "principalSet://cloudresourcemanager.googleapis.com/folders/11/type/ServiceAccount",
			"serviceAccount:ci@acme-reg.iam.gserviceaccount.com", nil, access.No, ""},
		{"service accounts of a project are no user", "principalSet://cloudresourcemanager.googleapis.com/projects/100/type/ServiceAccount", dev, nil, access.No, ""},
		{"service accounts of a project are no group", "principalSet://cloudresourcemanager.googleapis.com/projects/100/type/ServiceAccount", "group:devs@acme.example", nil, access.No, ""},
		{"an account of a project the scan does not hold is undecided", "principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAccount",
			"serviceAccount:ci@elsewhere.iam.gserviceaccount.com", nil, access.Unknown, "service accounts of organizations/1"},
		{"a service agent is undecided", "principalSet://cloudresourcemanager.googleapis.com/projects/100/type/ServiceAccount",
			"serviceAccount:service-100@serverless-robot-prod.iam.gserviceaccount.com", nil, access.Unknown, "service accounts of projects/100"},
		{"a narrower set of service accounts is inside a wider one", "principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAccount",
			"principalSet://cloudresourcemanager.googleapis.com/projects/100/type/ServiceAccount", nil, access.Yes, "service accounts of folders/10"},
		{"a wider set of service accounts is not inside a narrower one", "principalSet://cloudresourcemanager.googleapis.com/projects/100/type/ServiceAccount",
			"principalSet://cloudresourcemanager.googleapis.com/folders/10/type/ServiceAccount", nil, access.No, ""},
		{"a Cloud Identity customer is undecided for a user", "principalSet://goog/cloudIdentityCustomerId/C01abc", dev, nil, access.Unknown, "Cloud Identity customer"},
		{"a Cloud Identity customer holds no workload identity", "principalSet://goog/cloudIdentityCustomerId/C01abc", subject, nil, access.No, ""},

		{"principal exact", subject, subject, nil, access.Yes, ""},
		{"another principal of the same pool", subject, "principal:" + pool + "/subject/repo:acme/api", nil, access.No, ""},

		{"deleted member holds nothing, asked by its deleted form", "deleted:user:gone@acme.example?uid=123", "deleted:user:gone@acme.example?uid=123", nil, access.No, ""},
		{"deleted member is not the live account of the same email", "deleted:user:gone@acme.example?uid=123", "user:gone@acme.example", nil, access.No, ""},
		{"deleted service account holds nothing", "deleted:serviceAccount:ci@acme-ci.iam.gserviceaccount.com?uid=9", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", nil, access.No, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, bind("shared", reader, tc.bound))
			eng := access.New(inv, roles, access.Options{Groups: tc.groups})
			ans := eng.Check(tc.principal, access.DownloadArtifacts, node(t, inv, "shared"))
			if ans.Result != tc.want {
				t.Fatalf("%s bound, Check(%s) = %v, want %v (answer %+v)", tc.bound, tc.principal, ans.Result, tc.want, ans)
			}
			var steps []access.Step
			switch tc.want {
			case access.Yes:
				steps = ans.Grants
			case access.Unknown:
				steps = ans.Unknown
			default:
				if len(ans.Grants)+len(ans.Unknown) != 0 {
					t.Errorf("a No answer carries grants %+v or unknowns %+v", ans.Grants, ans.Unknown)
				}
				return
			}
			if len(steps) != 1 || steps[0].Member != tc.bound || steps[0].Via != tc.via {
				t.Errorf("steps = %+v, want one for %s via %q", steps, tc.bound, tc.via)
			}
		})
	}
}

// A conditional binding grants only when its condition holds; a condition
// nobody can decide is Unknown, never Yes.
func TestCheckConditions(t *testing.T) {
	tests := []struct {
		name       string
		bindings   []binding
		conditions map[string]access.Tri // nil: the engine's default
		groups     access.Groups
		principal  string
		want       access.Tri
	}{
		{"undecided by default", []binding{bindIf("shared", reader, "c", dev)}, nil, nil, dev, access.Unknown},
		{"condition true grants", []binding{bindIf("shared", reader, "c", dev)}, map[string]access.Tri{"c": access.Yes}, nil, dev, access.Yes},
		{"condition false refuses", []binding{bindIf("shared", reader, "c", dev)}, map[string]access.Tri{"c": access.No}, nil, dev, access.No},
		{"condition the decider cannot tell", []binding{bindIf("shared", reader, "c", dev)}, map[string]access.Tri{}, nil, dev, access.Unknown},
		{"a sure grant elsewhere wins over an undecided condition", []binding{bindIf("shared", reader, "c", dev), bind("org", "roles/viewer", dev)}, nil, nil, dev, access.Yes},
		{"a sure grant elsewhere wins over a false condition", []binding{bindIf("shared", reader, "c", dev), bind("reg", reader, dev)}, map[string]access.Tri{"c": access.No}, nil, dev, access.Yes},
		{"an undecided condition is not refused by a false one", []binding{bindIf("shared", reader, "c", dev), bindIf("reg", reader, "d", dev)}, map[string]access.Tri{"d": access.No}, nil, dev, access.Unknown},
		{"true condition on an undecided group stays undecided", []binding{bindIf("shared", reader, "c", "group:devs@acme.example")}, map[string]access.Tri{"c": access.Yes}, nil, dev, access.Unknown},
		{"false condition on an undecided group refuses", []binding{bindIf("shared", reader, "c", "group:devs@acme.example")}, map[string]access.Tri{"c": access.No}, nil, dev, access.No},
		{"true condition and a found membership grant", []binding{bindIf("shared", reader, "c", "group:devs@acme.example")}, map[string]access.Tri{"c": access.Yes}, groupStub{dev + " group:devs@acme.example": access.Yes}, dev, access.Yes},
		{"true condition does not make a stranger a member", []binding{bindIf("shared", reader, "c", "user:ops@acme.example")}, map[string]access.Tri{"c": access.Yes}, nil, dev, access.No},
		{"undecided condition on an unknown role stays undecided", []binding{bindIf("shared", "roles/notARole", "c", dev)}, map[string]access.Tri{"c": access.Yes}, nil, dev, access.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, tc.bindings...)
			opts := access.Options{Groups: tc.groups}
			var stub *conditionStub
			if tc.conditions != nil {
				stub = &conditionStub{verdicts: tc.conditions}
				opts.Conditions = stub
			}
			eng := access.New(inv, roles, opts)
			target := node(t, inv, "shared")
			ans := eng.Check(tc.principal, access.DownloadArtifacts, target)
			if ans.Result != tc.want {
				t.Fatalf("Check = %v, want %v (answer %+v)", ans.Result, tc.want, ans)
			}
			if tc.want == access.Unknown {
				for _, s := range ans.Unknown {
					if s.Note == "" {
						t.Errorf("undecided step %+v says not why", s)
					}
				}
			}
			if tc.want == access.Yes && tc.bindings[0].cond != "" && len(tc.bindings) == 1 {
				if g := ans.Grants[0]; g.Condition == nil || g.Condition.Expression != tc.bindings[0].cond {
					t.Errorf("grant %+v does not carry its condition", g)
				}
			}
			if stub != nil {
				// Conditions are evaluated for the resource asked about,
				// whatever level the binding is on.
				for _, k := range stub.targets {
					if k != target.Key {
						t.Errorf("condition evaluated for %s, want the target %s", k, target.Key)
					}
				}
			}
		})
	}
}

// A refused conditional grant is reported with its condition, so that the
// reason can say why access was not counted.
func TestCheckConditionFalseIsExplained(t *testing.T) {
	inv := build(t, bindIf("reg", reader, "c", dev))
	eng := access.New(inv, roles, access.Options{Conditions: &conditionStub{verdicts: map[string]access.Tri{"c": access.No}}})
	ans := eng.Check(dev, access.DownloadArtifacts, node(t, inv, "shared"))
	if ans.Result != access.No {
		t.Fatalf("Check = %v, want no", ans.Result)
	}
	if len(ans.Refused) != 1 || ans.Refused[0].Condition == nil || ans.Refused[0].Node.Key != "projects/200" {
		t.Errorf("refused = %+v, want the conditional binding on projects/200", ans.Refused)
	}
}

// Deny policies are evaluated before allow policies: a sure deny wins over
// any grant, an undecided deny leaves a grant undecided, and no deny verdict
// creates access.
func TestCheckDenials(t *testing.T) {
	tests := []struct {
		name     string
		bindings []binding
		deny     denyStub
		perm     access.Perm
		want     access.Tri
	}{
		{"a sure deny beats an allow", []binding{bind("org", "roles/owner", dev)}, denyStub{dev, access.DownloadArtifacts, access.Yes}, access.DownloadArtifacts, access.No},
		{"a sure deny beats a resource-level allow", []binding{bind("shared", reader, dev)}, denyStub{dev, access.DownloadArtifacts, access.Yes}, access.DownloadArtifacts, access.No},
		{"a deny of another permission leaves the allow", []binding{bind("org", "roles/owner", dev)}, denyStub{dev, access.RunServicesUpdate, access.Yes}, access.DownloadArtifacts, access.Yes},
		{"a deny of another member leaves the allow", []binding{bind("org", "roles/owner", dev)}, denyStub{"user:ops@acme.example", access.DownloadArtifacts, access.Yes}, access.DownloadArtifacts, access.Yes},
		{"no deny leaves the allow", []binding{bind("org", "roles/owner", dev)}, denyStub{dev, access.DownloadArtifacts, access.No}, access.DownloadArtifacts, access.Yes},
		{"an undecided deny makes an allow undecided", []binding{bind("org", "roles/owner", dev)}, denyStub{dev, access.DownloadArtifacts, access.Unknown}, access.DownloadArtifacts, access.Unknown},
		{"an undecided deny creates no access", nil, denyStub{dev, access.DownloadArtifacts, access.Unknown}, access.DownloadArtifacts, access.No},
		{"a sure deny without any allow is no", nil, denyStub{dev, access.DownloadArtifacts, access.Yes}, access.DownloadArtifacts, access.No},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, tc.bindings...)
			eng := access.New(inv, roles, access.Options{Denials: tc.deny})
			ans := eng.Check(dev, tc.perm, node(t, inv, "shared"))
			if ans.Result != tc.want {
				t.Fatalf("Check = %v, want %v (answer %+v)", ans.Result, tc.want, ans)
			}
			if tc.deny.result == access.Yes && tc.deny.member == dev && tc.deny.perm == tc.perm {
				if ans.Denied == nil || !ans.Denied.Deny {
					t.Errorf("denied = %+v, want the deny step", ans.Denied)
				}
				if len(ans.Grants) != 0 {
					t.Errorf("a denied answer carries grants %+v", ans.Grants)
				}
			} else if ans.Denied != nil {
				t.Errorf("denied = %+v, want none", ans.Denied)
			}
		})
	}
}

// Holders lists every member bound, on the target or above, to a role with
// an asked permission: sure grants in Perms, undecided ones in Maybe.
func TestHolders(t *testing.T) {
	bindings := []binding{
		bind("web", developer, "user:web-only@acme.example"),
		bind("api", developer, "user:api-only@acme.example"),
		bind("app", developer, "user:a@acme.example", "deleted:user:gone@acme.example?uid=1"),
		bindIf("app", developer, "maybe", "user:b@acme.example"),
		bindIf("app", "roles/run.admin", "never", "user:c@acme.example"),
		bindIf("app", "roles/run.admin", "always", "user:d@acme.example"),
		bind("app", "roles/viewer", "user:v@acme.example"),
		bind("folder11", "roles/run.invoker", "user:invoker@acme.example"),
		bind("org", "organizations/1/roles/orgDeployer", "user:a@acme.example", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com"),
		bind("org", "organizations/1/roles/orgDisabled", "user:disabled@acme.example"),
		bind("other", "roles/run.admin", "user:x@acme.example"),
		bind("batch", "roles/run.admin", "user:batch-only@acme.example"),
	}
	conds := map[string]access.Tri{"maybe": access.Unknown, "never": access.No, "always": access.Yes}
	deploy := access.ServiceDeployPerms
	type holder struct {
		member      string
		perms       access.PermSet
		maybe       access.PermSet
		boundAt     []string // node keys of the steps, sorted
		denyStepsAt []string
	}
	tests := []struct {
		name   string
		perms  access.PermSet
		target string
		deny   access.Denials
		want   []holder
	}{
		{
			name: "service deployers", perms: deploy, target: "web",
			want: []holder{
				{member: "user:web-only@acme.example", perms: deploy, boundAt: []string{"projects/100/locations/europe-west1/services/web"}},
				{member: "user:a@acme.example", perms: deploy, boundAt: []string{"organizations/1", "projects/100"}},
				{member: "user:b@acme.example", maybe: deploy, boundAt: []string{"projects/100"}},
				{member: "user:d@acme.example", perms: deploy, boundAt: []string{"projects/100"}},
				{member: "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", perms: deploy, boundAt: []string{"organizations/1"}},
			},
		},
		{
			name: "only the asked permissions", perms: access.Set(access.RunServicesUpdate), target: "web",
			want: []holder{
				{member: "user:web-only@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100/locations/europe-west1/services/web"}},
				{member: "user:a@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"organizations/1", "projects/100"}},
				{member: "user:b@acme.example", maybe: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100"}},
				{member: "user:d@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100"}},
				{member: "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"organizations/1"}},
			},
		},
		{
			name: "job deployers", perms: access.JobDeployPerms, target: "batch",
			want: []holder{
				{member: "user:batch-only@acme.example", perms: access.JobDeployPerms, boundAt: []string{"projects/100/locations/europe-west1/jobs/batch"}},
				{member: "user:a@acme.example", perms: access.JobDeployPerms, boundAt: []string{"organizations/1", "projects/100"}},
				{member: "user:b@acme.example", maybe: access.JobDeployPerms, boundAt: []string{"projects/100"}},
				{member: "user:d@acme.example", perms: access.JobDeployPerms, boundAt: []string{"projects/100"}},
				{member: "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", perms: access.JobDeployPerms, boundAt: []string{"organizations/1"}},
			},
		},
		{
			name: "readers of the project", perms: access.Set(access.DownloadArtifacts), target: "local",
			want: []holder{
				{member: "user:v@acme.example", perms: access.Set(access.DownloadArtifacts), boundAt: []string{"projects/100"}},
			},
		},
		{
			// The viewer of acme-app reads nothing in acme-other.
			name: "nothing from another project", perms: access.Set(access.DownloadArtifacts), target: "mirror",
		},
		{
			name: "a sure deny takes the permission away", perms: deploy, target: "web",
			deny: denyStub{"user:a@acme.example", access.RunServicesUpdate, access.Yes},
			want: []holder{
				{member: "user:web-only@acme.example", perms: deploy, boundAt: []string{"projects/100/locations/europe-west1/services/web"}},
				{member: "user:a@acme.example", perms: access.Set(access.RunServicesCreate), boundAt: []string{"organizations/1", "projects/100"}},
				{member: "user:b@acme.example", maybe: deploy, boundAt: []string{"projects/100"}},
				{member: "user:d@acme.example", perms: deploy, boundAt: []string{"projects/100"}},
				{member: "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", perms: deploy, boundAt: []string{"organizations/1"}},
			},
		},
		{
			name: "a member denied everything asked is dropped", perms: access.Set(access.RunServicesUpdate), target: "web",
			deny: denyStub{"user:web-only@acme.example", access.RunServicesUpdate, access.Yes},
			want: []holder{
				{member: "user:a@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"organizations/1", "projects/100"}},
				{member: "user:b@acme.example", maybe: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100"}},
				{member: "user:d@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100"}},
				{member: "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"organizations/1"}},
			},
		},
		{
			name: "an undecided deny makes a sure grant a maybe", perms: access.Set(access.RunServicesUpdate), target: "web",
			deny: denyStub{"user:d@acme.example", access.RunServicesUpdate, access.Unknown},
			want: []holder{
				{member: "user:web-only@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100/locations/europe-west1/services/web"}},
				{member: "user:a@acme.example", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"organizations/1", "projects/100"}},
				{member: "user:b@acme.example", maybe: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100"}},
				{member: "user:d@acme.example", maybe: access.Set(access.RunServicesUpdate), boundAt: []string{"projects/100"}, denyStepsAt: []string{"projects/100/locations/europe-west1/services/web"}},
				{member: "serviceAccount:ci@acme-ci.iam.gserviceaccount.com", perms: access.Set(access.RunServicesUpdate), boundAt: []string{"organizations/1"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := build(t, bindings...)
			eng := access.New(inv, roles, access.Options{Conditions: &conditionStub{verdicts: conds}, Denials: tc.deny})
			got := eng.Holders(tc.perms, node(t, inv, tc.target))
			var gotH []holder
			for _, h := range got {
				gh := holder{member: h.Member, perms: h.Perms, maybe: h.Maybe}
				var grants, denies []access.Step
				for _, s := range h.Steps {
					if s.Member != h.Member {
						t.Errorf("%s: step for another member %+v", h.Member, s)
					}
					if s.Deny {
						denies = append(denies, s)
					} else {
						grants = append(grants, s)
					}
				}
				gh.boundAt, gh.denyStepsAt = keys(grants), keys(denies)
				gotH = append(gotH, gh)
			}
			if !slices.EqualFunc(gotH, tc.want, func(a, b holder) bool {
				return a.member == b.member && a.perms == b.perms && a.maybe == b.maybe &&
					slices.Equal(a.boundAt, b.boundAt) && slices.Equal(a.denyStepsAt, b.denyStepsAt)
			}) {
				t.Errorf("Holders(%v, %s):\ngot  %+v\nwant %+v", tc.perms.Names(), tc.target, gotH, tc.want)
			}
		})
	}
}

// Holders and Check agree: every sure holder is a Yes, every maybe an
// Unknown, for each asked permission.
func TestHoldersAgreeWithCheck(t *testing.T) {
	inv := build(t,
		bind("app", developer, "user:a@acme.example"),
		bindIf("app", developer, "maybe", "user:b@acme.example"),
		bindIf("folder10", "roles/run.admin", "never", "user:c@acme.example"),
		bind("org", "organizations/1/roles/orgDeployer", "serviceAccount:ci@acme-ci.iam.gserviceaccount.com"),
	)
	eng := access.New(inv, roles, access.Options{Conditions: &conditionStub{verdicts: map[string]access.Tri{"maybe": access.Unknown, "never": access.No}}})
	web := node(t, inv, "web")
	hs := eng.Holders(access.ServiceDeployPerms, web)
	if len(hs) != 3 {
		t.Fatalf("holders = %+v, want a, b and ci", hs)
	}
	for _, h := range hs {
		for _, p := range access.Perms() {
			want := access.No
			switch {
			case h.Perms.Has(p):
				want = access.Yes
			case h.Maybe.Has(p):
				want = access.Unknown
			case !access.ServiceDeployPerms.Has(p):
				continue // not asked
			}
			if got := eng.Check(h.Member, p, web).Result; got != want {
				t.Errorf("%s %s: Holders says %v, Check says %v", h.Member, p, want, got)
			}
		}
	}
	if got := eng.Check("user:c@acme.example", access.RunServicesUpdate, web).Result; got != access.No {
		t.Errorf("member of a false condition: Check = %v, want no", got)
	}
}

// Answers do not depend on the order questions are asked in (the engine
// caches them).
func TestCheckIsStable(t *testing.T) {
	inv := build(t, bind("reg", reader, dev), bindIf("shared", reader, "c", "user:ops@acme.example"))
	eng := access.New(inv, roles, access.Options{})
	shared, sibling := node(t, inv, "shared"), node(t, inv, "sibling")
	for range 2 {
		if r := eng.Check(dev, access.DownloadArtifacts, shared).Result; r != access.Yes {
			t.Errorf("dev on shared = %v, want yes", r)
		}
		if r := eng.Check("user:ops@acme.example", access.DownloadArtifacts, shared).Result; r != access.Unknown {
			t.Errorf("ops on shared = %v, want unknown", r)
		}
		if r := eng.Check("user:ops@acme.example", access.DownloadArtifacts, sibling).Result; r != access.No {
			t.Errorf("ops on sibling = %v, want no", r)
		}
	}
}

func TestTriString(t *testing.T) {
	for tri, want := range map[access.Tri]string{access.Yes: "yes", access.No: "no", access.Unknown: "unknown"} {
		if got := tri.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", tri, got, want)
		}
	}
}

// The engine is safe for concurrent use: questions asked from many
// goroutines (as the rules ask them) get the answers asked one by one.
func TestCheckConcurrent(t *testing.T) {
	inv := build(t,
		bind("reg", reader, dev),
		bind("app", developer, "group:devs@acme.example"),
		bindIf("shared", reader, "c", "user:ops@acme.example"),
	)
	eng := access.New(inv, roles, access.Options{Groups: groupStub{"user:ops@acme.example group:devs@acme.example": access.Yes}})
	members := []string{dev, "user:ops@acme.example", "user:nobody@acme.example"}
	var targets []string
	for k := range places {
		targets = append(targets, k)
	}
	type q struct {
		m string
		p access.Perm
		n string
	}
	want := map[q]access.Tri{}
	fresh := access.New(inv, roles, access.Options{Groups: groupStub{"user:ops@acme.example group:devs@acme.example": access.Yes}})
	for _, m := range members {
		for _, p := range access.Perms() {
			for _, n := range targets {
				want[q{m, p, n}] = fresh.Check(m, p, node(t, inv, n)).Result
			}
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, w := range want {
				if got := eng.Check(k.m, k.p, inv.Nodes[places[k.n].key]).Result; got != w {
					t.Errorf("%v: concurrent Check = %v, want %v", k, got, w)
				}
				eng.Holders(access.ServiceDeployPerms, inv.Nodes[places[k.n].key])
			}
		}()
	}
	wg.Wait()
	if want[q{dev, access.DownloadArtifacts, "shared"}] != access.Yes || want[q{"user:ops@acme.example", access.RunServicesUpdate, "web"}] != access.Yes {
		t.Error("the questions do not include a grant: the test proves little")
	}
}

// "Not applying" names the bindings that name the permission but do not
// grant it, the principal's own first: a disabled or deleted custom role
// with why, a false condition; then the groups the principal is not in.
// Bindings of roles without the permission never appear.
func TestRefusedMostRelevantFirst(t *testing.T) {
	const who = "user:dev@acme.example"
	inv := build(t,
		bind("org", "roles/artifactregistry.reader", "group:others@acme.example"),
		bind("org", "organizations/1/roles/orgDisabled", who),
		bind("folder10", "organizations/1/roles/orgDeleted", who),
		bind("reg", "roles/logging.viewer", who),
		binding{on: "reg", role: "roles/artifactregistry.reader", cond: `request.time < timestamp("2020-01-01T00:00:00Z")`, members: []string{who}},
	)
	eval, err := conditions.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	eng := access.New(inv, roles, access.Options{Conditions: eval, Groups: groupStub{}})
	ans := eng.Check(who, access.DownloadArtifacts, node(t, inv, "shared"))
	if ans.Result != access.No {
		t.Fatalf("result %v, want no", ans.Result)
	}
	var got []string
	for _, s := range ans.Refused {
		got = append(got, s.Role+" "+s.Via+" "+s.Note)
	}
	if len(got) != 4 {
		t.Fatalf("refused = %q, want the condition, the two inert roles and the group", got)
	}
	if !strings.HasPrefix(got[3], "roles/artifactregistry.reader group membership") {
		t.Errorf("the group is not last: %q", got)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"orgDisabled  custom role organizations/1/roles/orgDisabled is DISABLED", "orgDeleted  custom role organizations/1/roles/orgDeleted is deleted", "the condition is false"} {
		if !strings.Contains(joined, want) {
			t.Errorf("refused lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "logging.viewer") {
		t.Errorf("a role without the permission is listed:\n%s", joined)
	}
}
