package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/scan"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// A partial scan knows less and never claims more. For every stream the
// audit reads (asset type × content type), refused on its own, and for a
// deadline that cuts every stream after its first page, a live run against
// the fake Cloud Asset Inventory is compared with the full run of the same
// organization:
//
//  1. every actionable finding of the partial run is one of the full run's;
//  2. it has no "not found" finding the full run lacks;
//  3. every inventory verdict equals the full run's or is UNVERIFIED;
//  4. the run exits 3 and summary.json says incomplete.
//
// The organizations are the example one and synthetic ones with grants at
// every level (organization, folders, projects, repositories, secrets,
// services, jobs, a custom role), so that a rule ignoring any gap breaks one
// of the four.
func TestPartialScanNeverClaimsMore(t *testing.T) {
	orgs := []struct {
		name   string
		org    string
		assets []*assetpb.Asset
	}{{"acme", "123456789012", acmeAssets(t)}}
	for _, seed := range []uint64{1, 2, 3} {
		cfg := synthorg.Config{Seed: seed, Org: "100000000001", Projects: 24, Folders: 4, Services: 2, Jobs: 1, WorkerPools: 1, Repos: 2,
			ProjectBindings: 6, ResourceBindings: 2, CrossProject: 0.5, RemoteRepos: 0.5, VirtualRepos: 0.4, Functions: 0.3, Findings: 0.3, Inherited: true}
		orgs = append(orgs, struct {
			name   string
			org    string
			assets []*assetpb.Asset
		}{fmt.Sprintf("synthorg seed %d", seed), cfg.Org, synthAssets(t, cfg)})
	}
	for _, o := range orgs {
		t.Run(o.name, func(t *testing.T) {
			srv := caifake.New(o.assets)
			srv.SetPageLimit(2) // several pages a stream, so a cut falls inside one
			addr, err := srv.Start("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Stop)
			getenv := func(k string) string {
				if k == "CLOUDASSET_EMULATOR_HOST" {
					return addr
				}
				return ""
			}
			full := liveRun(t, getenv, o.org)
			if full.code != exitOK || !full.summary.Complete {
				t.Fatalf("full run: exit %d, complete %v; stderr:\n%s", full.code, full.summary.Complete, full.stderr)
			}
			if len(full.actionable()) == 0 {
				t.Fatal("the full run finds nothing actionable: the property would hold vacuously")
			}

			undecidedSomewhere := 0
			for _, st := range auditedStreams() {
				t.Run("refused "+st.assetType+" "+st.content.String(), func(t *testing.T) {
					srv.ClearFaults()
					srv.Inject(caifake.Fault{AssetType: st.assetType, ContentType: st.content, Code: codes.PermissionDenied})
					part := liveRun(t, getenv, o.org)
					checkPartial(t, full, part)
					undecidedSomewhere += part.undecided()
					// What the gap cannot touch stays decided.
					switch st.assetType {
					case inventory.TypeFolder, inventory.TypeOrganization:
						if st.content == assetpb.ContentType_RESOURCE {
							sameActionable(t, full, part, nil)
						}
					case inventory.TypeSecret:
						sameActionable(t, full, part, func(f audit.Finding) bool { return f.Kind != audit.RemoteRepoSecretInaccessible })
					}
				})
			}
			if undecidedSomewhere == 0 {
				t.Error("no refused stream left anything undecided: the gaps were never consulted")
			}

			// Streams that keep failing part way, with each retried code,
			// once their retries are spent.
			retry := liveRetry
			liveRetry = scan.Retry{Backoff: gax.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Multiplier: 2}, MaxAttempts: 3}
			t.Cleanup(func() { liveRetry = retry })
			for _, code := range []codes.Code{codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded} {
				for _, st := range longestStreams(o.assets, 3) {
					t.Run(fmt.Sprintf("%s after a page: %s %s", code, st.assetType, st.content), func(t *testing.T) {
						srv.ClearFaults()
						srv.Inject(caifake.Fault{AssetType: st.assetType, ContentType: st.content, AfterPages: 1, Code: code})
						checkPartial(t, full, liveRun(t, getenv, o.org))
					})
				}
			}

			t.Run("deadline mid-stream", func(t *testing.T) {
				srv.ClearFaults()
				srv.Inject(caifake.Fault{AfterPages: 1, Delay: time.Hour})
				part := liveRun(t, getenv, o.org, "--timeout", "2s")
				checkPartial(t, full, part)
				if !strings.Contains(part.stderr, "--timeout") {
					t.Errorf("the deadline is not named:\n%s", part.stderr)
				}
			})
			srv.ClearFaults()
		})
	}
}

// checkPartial asserts the four properties of a partial run against the
// full one.
func checkPartial(t *testing.T, full, part runOutputs) {
	t.Helper()
	if part.code != exitPartial || part.summary.Complete || len(part.summary.Gaps) == 0 {
		t.Errorf("exit %d, complete %v, %d gaps; want exit 3, incomplete, gaps named", part.code, part.summary.Complete, len(part.summary.Gaps))
	}
	// A run that could not read Project assets names projects by number:
	// findings and rows are matched with the full run's project ids put in.
	ids := full.projectIDs()
	fullIDs := map[string]audit.Finding{}
	for _, f := range full.findings {
		fullIDs[findingKey(f, ids)] = f
	}
	for _, f := range part.findings {
		g, ok := fullIDs[findingKey(f, ids)]
		switch {
		case f.Kind.Actionable() && (!ok || g.Kind != f.Kind):
			t.Errorf("(1) actionable finding the full run lacks: %s %s %s %s\n%s", f.Kind, f.Resource, f.Principal, f.Repository, f.Reason)
		case (f.Kind == audit.ImageRepositoryNotFound || f.Kind == audit.SecretNotFound || f.Kind == audit.VirtualRepoUpstreamNotFound) && !ok:
			t.Errorf("(2) not-found finding the full run lacks: %s %s %s\n%s", f.Kind, f.Resource, f.Repository, f.Reason)
		}
	}
	fullRows := map[string]audit.Verdict{}
	for _, r := range full.rows {
		fullRows[r.Resource+"|"+r.Container+"|"+r.Image] = r.Verdict
	}
	for _, r := range part.rows {
		want, ok := fullRows[withIDs(r.Resource, ids)+"|"+r.Container+"|"+r.Image]
		if !ok {
			t.Errorf("(3) inventory row the full run lacks: %s %s", r.Resource, r.Image)
			continue
		}
		if r.Verdict != want && r.Verdict != audit.VerdictUnverified {
			t.Errorf("(3) %s %s: verdict %s, full run %s", r.Resource, r.Image, r.Verdict, want)
		}
	}
}

// sameActionable asserts the partial run kept every actionable finding of
// the full run that keep selects (all when nil).
func sameActionable(t *testing.T, full, part runOutputs, keep func(audit.Finding) bool) {
	t.Helper()
	ids := full.projectIDs()
	have := map[string]bool{}
	for _, f := range part.actionable() {
		have[findingKey(f, ids)] = true
	}
	for _, f := range full.actionable() {
		if (keep == nil || keep(f)) && !have[findingKey(f, ids)] {
			t.Errorf("a gap that cannot touch it undid %s %s %s", f.Kind, f.Resource, f.Principal)
		}
	}
}

// projectIDs maps the project numbers of a run's inventory to their ids.
func (r runOutputs) projectIDs() map[string]string {
	ids := map[string]string{}
	for _, row := range r.rows {
		ids[row.ProjectNumber] = row.ProjectID
	}
	return ids
}

// withIDs puts project ids for the project numbers in a resource name.
func withIDs(name string, ids map[string]string) string {
	for num, id := range ids {
		name = strings.Replace(name, "projects/"+num+"/", "projects/"+id+"/", 1)
	}
	return name
}

// findingKey identifies a finding across runs, with project ids.
func findingKey(f audit.Finding, ids map[string]string) string {
	return strings.Join([]string{string(f.Kind), withIDs(f.Resource, ids), f.Principal, withIDs(f.Repository+"/", ids), f.Image}, "|")
}

// longestStreams returns the n streams that hold the most assets, each of
// several pages, so that a cut after one page leaves something unread.
func longestStreams(assets []*assetpb.Asset, n int) []stream {
	count := map[stream]int{}
	for _, a := range assets {
		if a.GetResource() != nil {
			count[stream{a.GetAssetType(), assetpb.ContentType_RESOURCE}]++
		}
		if a.GetIamPolicy() != nil {
			count[stream{a.GetAssetType(), assetpb.ContentType_IAM_POLICY}]++
		}
	}
	var out []stream
	for _, st := range auditedStreams() {
		if count[st] > 2 {
			out = append(out, st)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return count[out[i]] > count[out[j]] })
	return out[:min(n, len(out))]
}

type stream struct {
	assetType string
	content   assetpb.ContentType
}

// auditedStreams lists every stream an organization scan reads.
func auditedStreams() []stream {
	var out []stream
	for _, c := range []assetpb.ContentType{assetpb.ContentType_RESOURCE, assetpb.ContentType_IAM_POLICY} {
		for _, at := range inventory.AssetTypes {
			if at == inventory.TypeRole && c == assetpb.ContentType_IAM_POLICY {
				continue
			}
			out = append(out, stream{at, c})
		}
	}
	return out
}

type runOutputs struct {
	code     int
	stderr   string
	summary  audit.Summary
	findings []audit.Finding
	rows     []audit.InventoryRow
}

func (r runOutputs) actionable() []audit.Finding {
	var out []audit.Finding
	for _, f := range r.findings {
		if f.Kind.Actionable() {
			out = append(out, f)
		}
	}
	return out
}

func (r runOutputs) undecided() int {
	n := 0
	for _, f := range r.findings {
		if f.Kind.Undecided() {
			n++
		}
	}
	for _, row := range r.rows {
		if row.Note != "" {
			n++
		}
	}
	return n
}

// liveRun runs the command over an organization live and reads its outputs.
func liveRun(t *testing.T, getenv func(string) string, org string, extra ...string) runOutputs {
	t.Helper()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := append([]string{"--org", org, "--out", out, "--at", "2026-11-01T00:00:00Z", "--log-format", "json", "--list-assets-qpm", "0"}, extra...)
	r := runOutputs{code: run(context.Background(), args, getenv, &stdout, &stderr)}
	r.stderr = stderr.String()
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatalf("exit %d: %v; stderr:\n%s", r.code, err, r.stderr)
	}
	if err := json.Unmarshal(b, &r.summary); err != nil {
		t.Fatal(err)
	}
	if r.findings, err = report.ReadFindings(filepath.Join(out, "findings.jsonl")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "inventory.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row audit.InventoryRow
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		r.rows = append(r.rows, row)
	}
	return r
}

func acmeAssets(t *testing.T) []*assetpb.Asset {
	t.Helper()
	var all []*assetpb.Asset
	for _, name := range []string{"resources.ndjson", "iam-policies.ndjson"} {
		f, err := os.Open(filepath.Join("../../examples/acme", name))
		if err != nil {
			t.Fatal(err)
		}
		as, err := caifake.Load(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, as...)
	}
	return all
}

func synthAssets(t *testing.T, cfg synthorg.Config) []*assetpb.Asset {
	t.Helper()
	var res, iam bytes.Buffer
	if _, _, err := synthorg.Generate(cfg, &res, &iam); err != nil {
		t.Fatal(err)
	}
	var all []*assetpb.Asset
	for _, b := range []*bytes.Buffer{&res, &iam} {
		as, err := caifake.Load(b)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, as...)
	}
	return all
}
