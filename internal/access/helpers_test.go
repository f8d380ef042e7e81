package access_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/genproto/googleapis/type/expr"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// testdata/org.ndjson is the hierarchy the engine tests bind roles on (CAI
// export form, without IAM policies: each case adds its own bindings):
//
//	organizations/1
//	├── folders/10
//	│   ├── folders/11
//	│   │   └── projects/100 (acme-app): services web and api, job batch,
//	│   │                    repository europe-west1/local
//	│   └── projects/200 (acme-reg): repositories europe/shared and
//	│                    europe/sibling, secret token
//	└── projects/300 (acme-other): repository us/mirror
//
// Custom roles: organizations/1/roles/orgDeployer (run.services.* and
// run.jobs.* create and update), orgDisabled (stage DISABLED) and
// orgDeleted (deleted), both with downloadArtifacts and run.services.update;
// projects/acme-reg/roles/readerById (asset named by project id) and
// projects/200/roles/readerByNumber (named by number), both with
// downloadArtifacts.

// place is a node of the fixture by short name: its inventory key, and the
// CAI name, type and ancestors an IAM-policy asset on it carries.
type place struct {
	key, name, typ string
	ancestors      []string
}

var (
	ancApp   = []string{"projects/100", "folders/11", "folders/10", "organizations/1"}
	ancReg   = []string{"projects/200", "folders/10", "organizations/1"}
	ancOther = []string{"projects/300", "organizations/1"}
)

var places = map[string]place{
	"org":      {"organizations/1", "//cloudresourcemanager.googleapis.com/organizations/1", inventory.TypeOrganization, []string{"organizations/1"}},
	"folder10": {"folders/10", "//cloudresourcemanager.googleapis.com/folders/10", inventory.TypeFolder, []string{"folders/10", "organizations/1"}},
	"folder11": {"folders/11", "//cloudresourcemanager.googleapis.com/folders/11", inventory.TypeFolder, []string{"folders/11", "folders/10", "organizations/1"}},
	"app":      {"projects/100", "//cloudresourcemanager.googleapis.com/projects/100", inventory.TypeProject, ancApp},
	"reg":      {"projects/200", "//cloudresourcemanager.googleapis.com/projects/200", inventory.TypeProject, ancReg},
	"other":    {"projects/300", "//cloudresourcemanager.googleapis.com/projects/300", inventory.TypeProject, ancOther},
	"web":      {"projects/100/locations/europe-west1/services/web", "//run.googleapis.com/projects/acme-app/locations/europe-west1/services/web", inventory.TypeService, ancApp},
	"api":      {"projects/100/locations/europe-west1/services/api", "//run.googleapis.com/projects/acme-app/locations/europe-west1/services/api", inventory.TypeService, ancApp},
	"batch":    {"projects/100/locations/europe-west1/jobs/batch", "//run.googleapis.com/projects/acme-app/locations/europe-west1/jobs/batch", inventory.TypeJob, ancApp},
	"local":    {"projects/100/locations/europe-west1/repositories/local", "//artifactregistry.googleapis.com/projects/acme-app/locations/europe-west1/repositories/local", inventory.TypeRepository, ancApp},
	"shared":   {"projects/200/locations/europe/repositories/shared", "//artifactregistry.googleapis.com/projects/acme-reg/locations/europe/repositories/shared", inventory.TypeRepository, ancReg},
	"sibling":  {"projects/200/locations/europe/repositories/sibling", "//artifactregistry.googleapis.com/projects/acme-reg/locations/europe/repositories/sibling", inventory.TypeRepository, ancReg},
	"mirror":   {"projects/300/locations/us/repositories/mirror", "//artifactregistry.googleapis.com/projects/acme-other/locations/us/repositories/mirror", inventory.TypeRepository, ancOther},
	"token":    {"projects/200/secrets/token", "//secretmanager.googleapis.com/projects/200/secrets/token", inventory.TypeSecret, ancReg},
}

// binding is one role binding a case adds, on a place by short name, with
// an optional condition expression.
type binding struct {
	on, role, cond string
	members        []string
}

func bind(on, role string, members ...string) binding {
	return binding{on: on, role: role, members: members}
}

func bindIf(on, role, cond string, members ...string) binding {
	return binding{on: on, role: role, cond: cond, members: members}
}

// build reads testdata/org.ndjson and the bindings (one IAM-policy asset per
// place) into an inventory. A fixture that does not read cleanly fails the
// test, so that no case passes because its input was dropped.
func build(t *testing.T, bindings ...binding) *inventory.Inventory {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "org.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	b := inventory.NewBuilder()
	if _, err := scan.ReadExport(context.Background(), "org.ndjson", bytes.NewReader(data), b, 1); err != nil {
		t.Fatalf("reading the fixture: %v", err)
	}
	byPlace := map[string]*iampb.Policy{}
	var order []string
	for _, bd := range bindings {
		if _, ok := places[bd.on]; !ok {
			t.Fatalf("no place %q in the fixture", bd.on)
		}
		p := byPlace[bd.on]
		if p == nil {
			p = &iampb.Policy{}
			byPlace[bd.on] = p
			order = append(order, bd.on)
		}
		pb := &iampb.Binding{Role: bd.role, Members: bd.members}
		if bd.cond != "" {
			pb.Condition = &expr.Expr{Title: "cond " + bd.cond, Expression: bd.cond}
		}
		p.Bindings = append(p.Bindings, pb)
	}
	for _, on := range order {
		pl := places[on]
		b.Add(&assetpb.Asset{Name: pl.name, AssetType: pl.typ, IamPolicy: byPlace[on], Ancestors: pl.ancestors}, "case:"+on)
	}
	inv := b.Finish()
	if inv.SkippedTotal != 0 || len(inv.Gaps) != 0 {
		t.Fatalf("fixture did not read cleanly: skipped %v, gaps %v", inv.Skipped, inv.Gaps)
	}
	return inv
}

// node returns the inventory node of a place, failing the test if the
// fixture does not have it.
func node(t *testing.T, inv *inventory.Inventory, short string) *inventory.Node {
	t.Helper()
	pl, ok := places[short]
	if !ok {
		t.Fatalf("no place %q", short)
	}
	n := inv.Nodes[pl.key]
	if n == nil {
		t.Fatalf("no node %s in the inventory", pl.key)
	}
	return n
}

// conditionStub decides conditions by their expression; other expressions
// are Unknown. It records the targets it was asked about.
type conditionStub struct {
	verdicts map[string]access.Tri
	targets  []string
}

func (s *conditionStub) Evaluate(c *inventory.Condition, target *inventory.Node) (access.Tri, string) {
	s.targets = append(s.targets, target.Key)
	if r, ok := s.verdicts[c.Expression]; ok {
		return r, "stub decided " + c.Expression
	}
	return access.Unknown, "stub cannot decide " + c.Expression
}

// groupStub decides memberships from a table of "member group" pairs; a
// pair not in the table is No.
type groupStub map[string]access.Tri

func (s groupStub) IsMember(member, group string) (access.Tri, string) {
	if r, ok := s[member+" "+group]; ok {
		return r, "stub: " + member + " in " + group
	}
	return access.No, "stub: " + member + " not in " + group
}

// denyStub denies one member one permission on every target with a fixed
// verdict; everything else is not denied.
type denyStub struct {
	member string
	perm   access.Perm
	result access.Tri
}

func (s denyStub) Denied(member string, p access.Perm, target *inventory.Node) (access.Tri, access.Step) {
	if strings.EqualFold(member, s.member) && p == s.perm {
		return s.result, access.Step{Member: s.member, Node: target, Note: "stub deny rule"}
	}
	return access.No, access.Step{}
}

// keys lists the node keys of steps, sorted, for comparisons.
func keys(steps []access.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Node.Key)
	}
	sort.Strings(out)
	return out
}
