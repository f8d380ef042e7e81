package synthorg

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

func small() Config {
	return Config{Seed: 7, Org: "100000000001", Projects: 60, Folders: 6, Services: 3, Jobs: 2, Repos: 2,
		ProjectBindings: 30, ResourceBindings: 4, CrossProject: 0.4, RemoteRepos: 0.3, Findings: 0.2}
}

func generate(t *testing.T, cfg Config) (res, iam []byte, exp []Expected, st Stats) {
	t.Helper()
	var r, i bytes.Buffer
	exp, st, err := Generate(cfg, &r, &i)
	if err != nil {
		t.Fatal(err)
	}
	return r.Bytes(), i.Bytes(), exp, st
}

// withNewKinds adds worker pools, virtual repositories and services that
// Cloud Functions manages.
func withNewKinds(c *Config) {
	c.WorkerPools, c.VirtualRepos, c.Functions = 1, 0.5, 0.4
}

func functionAgentFindings(expected []Expected) int {
	n := 0
	for _, e := range expected {
		if strings.HasSuffix(e.Principal, "@gcf-admin-robot.iam.gserviceaccount.com") {
			n++
		}
	}
	return n
}

// The new kinds come in both shapes, and the features off leave an
// organization as it was: a seed's bytes do not move when a knob is 0.
func TestNewKindsShapes(t *testing.T) {
	cfg := small()
	withNewKinds(&cfg)
	res, iam, _, st := generate(t, cfg)
	inv := inventoryOf(t, res, iam)
	shapes := map[string]int{}
	managed, virtual := 0, 0
	for _, r := range inv.Runs {
		shapes[r.Kind.String()+" "+r.Shape]++
		if r.ManagedBy == inventory.ManagedByCloudFunctions {
			managed++
		}
	}
	for _, r := range inv.Repositories {
		if r.Mode == inventory.ModeVirtual && len(r.Upstreams) == 2 {
			virtual++
		}
	}
	if shapes["worker pool v1"] == 0 || shapes["worker pool v2"] == 0 || inv.Counts["worker_pools"] != st.WorkerPools || st.WorkerPools != 60 {
		t.Errorf("worker pools: shapes %v, counted %d, stats %d", shapes, inv.Counts["worker_pools"], st.WorkerPools)
	}
	if managed == 0 || managed != st.Functions {
		t.Errorf("%d services managed by Cloud Functions, stats %d", managed, st.Functions)
	}
	if virtual == 0 {
		t.Error("no virtual repository with its two upstreams")
	}
}

func TestFillerRolesGrantNothingAudited(t *testing.T) {
	roles := access.Predefined()
	for _, r := range append(append([]string{}, fillerRoles...), resourceRoles...) {
		ps, ok := roles.Lookup(r)
		if !ok || ps != 0 {
			t.Errorf("%s: known %v, audited permissions %v; a filler must be known and grant none", r, ok, ps.Names())
		}
	}
}

func TestSameSeedSameOrganization(t *testing.T) {
	r1, i1, e1, _ := generate(t, small())
	r2, i2, e2, _ := generate(t, small())
	if !bytes.Equal(r1, r2) || !bytes.Equal(i1, i2) || fmt.Sprint(e1) != fmt.Sprint(e2) {
		t.Error("the same seed wrote different organizations")
	}
	cfg := small()
	cfg.Seed++
	r3, _, _, _ := generate(t, cfg)
	if bytes.Equal(r1, r3) {
		t.Error("another seed wrote the same organization")
	}
}

// inventoryOf reads generated files through the audit's own export reader.
func inventoryOf(t *testing.T, res, iam []byte) *inventory.Inventory {
	t.Helper()
	b := inventory.NewBuilder()
	for name, data := range map[string][]byte{"resources.ndjson": res, "iam-policies.ndjson": iam} {
		if _, err := scan.ReadExport(context.Background(), name, bytes.NewReader(data), b, 2); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return b.Finish()
}

func TestOutputIsAValidExport(t *testing.T) {
	res, iam, _, st := generate(t, small())
	inv := inventoryOf(t, res, iam)
	if inv.SkippedTotal != 0 || len(inv.Gaps) != 0 {
		t.Fatalf("skipped %v, gaps %v", inv.Skipped, inv.Gaps)
	}
	lines := bytes.Count(res, []byte("\n")) + bytes.Count(iam, []byte("\n"))
	if lines != st.Assets || inv.Counts["assets_read"] != st.Assets {
		t.Errorf("lines %d, assets read %d, stats %d", lines, inv.Counts["assets_read"], st.Assets)
	}
	shapes := map[string]int{}
	for _, r := range inv.Runs {
		shapes[r.Kind.String()+" "+r.Shape]++
	}
	for _, want := range []string{"service v1", "service v2", "job v1", "job v2"} {
		if shapes[want] == 0 {
			t.Errorf("no %s resource in %v", want, shapes)
		}
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"projects", inv.Counts["projects"], 61}, // and the registry project
		{"services", inv.Counts["services"], 180},
		{"jobs", inv.Counts["jobs"], 120},
		{"bindings", inv.Counts["bindings"], st.Bindings},
		{"folders", inv.Counts["folders"], 6},
		{"custom roles", inv.Counts["custom_roles"], 1},
		{"organization", len(inv.Organization), len("100000000001")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	for _, p := range inv.Projects {
		if !p.Scanned || p.Organization != "100000000001" {
			t.Errorf("project %s: scanned %v, organization %q", p.ID, p.Scanned, p.Organization)
		}
	}
}

// TestAuditFindsExactlyThePlanted runs the audit's rules over a generated
// organization: every planted finding must be found, and nothing else.
func TestAuditFindsExactlyThePlanted(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"planted", func(*Config) {}},
		{"clean", func(c *Config) { c.Findings = 0 }},
		{"inherited grants", func(c *Config) { c.Inherited = true }},
		{"inherited grants, no folders", func(c *Config) { c.Inherited, c.Folders = true, 0 }},
		{"worker pools, virtual repositories, functions", withNewKinds},
		{"worker pools, virtual repositories, functions, inherited", func(c *Config) { withNewKinds(c); c.Inherited = true }},
		{"worker pools, virtual repositories, functions, clean", func(c *Config) { withNewKinds(c); c.Findings = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := small()
			tc.cfg(&cfg)
			res, iam, expected, st := generate(t, cfg)
			if cfg.Findings > 0 {
				kinds := []string{"DEPLOYER_CANNOT_READ_IMAGE", "SERVICE_AGENT_CANNOT_READ_IMAGE", "REMOTE_REPO_SECRET_INACCESSIBLE"}
				if cfg.VirtualRepos > 0 {
					kinds = append(kinds, "VIRTUAL_REPO_UPSTREAM_INACCESSIBLE")
				}
				for _, k := range kinds {
					if st.Expected[k] == 0 {
						t.Fatalf("nothing of kind %s planted; the test would prove nothing", k)
					}
				}
				if cfg.Functions > 0 && functionAgentFindings(expected) == 0 {
					t.Fatal("no Cloud Functions agent finding planted; the test would prove nothing")
				}
			} else if len(expected) != 0 {
				t.Fatalf("a clean organization planted %d findings", len(expected))
			}
			if cfg.Inherited {
				platform := 0
				for _, e := range expected {
					if strings.HasPrefix(e.Principal, "serviceAccount:platform@") {
						platform++
					}
				}
				if platform == 0 || cfg.Folders > 0 && platform >= st.Services+st.Jobs {
					t.Fatalf("%d platform findings for %d services and jobs: the inherited grants decide nothing", platform, st.Services+st.Jobs)
				}
			}
			inv := inventoryOf(t, res, iam)
			eng := access.New(inv, access.Predefined(), access.Options{})
			if len(eng.UnknownRoles) != 0 {
				t.Errorf("unknown roles: %v", eng.UnknownRoles)
			}
			findings, rows, err := audit.Evaluate(context.Background(), inv, eng, audit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, f := range findings {
				got = append(got, strings.Join([]string{string(f.Kind), f.Resource, f.Principal, f.Repository}, " "))
			}
			for _, e := range expected {
				want = append(want, strings.Join([]string{e.Kind, e.Resource, e.Principal, e.Repository}, " "))
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings differ from the planted ones:\n got %d:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
			verdicts := map[audit.Verdict]int{}
			for _, r := range rows {
				verdicts[r.Verdict]++
			}
			// Without folders the platform deployer reads nothing: no image is OK.
			allAtRisk := cfg.Inherited && cfg.Folders == 0
			if verdicts[audit.VerdictPublic] == 0 || (verdicts[audit.VerdictOK] == 0) != allAtRisk || verdicts[audit.VerdictUnverified] != 0 {
				t.Errorf("verdicts %v: want public and OK images, none unverified", verdicts)
			}
		})
	}
}
