package scan_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	asset "cloud.google.com/go/asset/apiv1"
	"cloud.google.com/go/asset/apiv1/assetpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

const acmeOrg = "organizations/123456789012"

// fastRetry keeps the tests quick while still going through gax's backoff.
var fastRetry = scan.Retry{Backoff: gax.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}, MaxAttempts: 5}

// acmeAssets loads the example organization, both export files.
func acmeAssets(t testing.TB) []*assetpb.Asset {
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
			t.Fatalf("%s: %v", name, err)
		}
		all = append(all, as...)
	}
	return all
}

// serve starts a fake over assets and returns it with a real asset client
// dialled the emulator-host way, through a pacer.
func serve(t testing.TB, assets []*assetpb.Asset, perMinute int) (*caifake.Server, *asset.Client, *scan.Pacer) {
	t.Helper()
	srv := caifake.New(assets)
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	pacer := scan.NewPacer(perMinute)
	cl, err := scan.NewAssetClient(context.Background(), scan.ClientConfig{EmulatorHost: addr, Pacer: pacer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return srv, cl, pacer
}

func exportInventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	files, err := scan.ExportFiles([]string{"../../examples/acme"})
	if err != nil {
		t.Fatal(err)
	}
	b := inventory.NewBuilder()
	if err := (&scan.Export{Files: files}).Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Finish()
}

// digest prints an inventory's content in a stable order, for comparison.
func digest(inv *inventory.Inventory) string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	add("org %s", inv.Organization)
	for k, n := range inv.Nodes {
		parent := ""
		if n.Parent != nil {
			parent = n.Parent.Key
		}
		add("node %s kind=%s parent=%s policy=%v", k, n.Kind, parent, n.HasPolicy)
		for _, b := range n.Bindings {
			cond := ""
			if b.Condition != nil {
				cond = b.Condition.Expression
			}
			add("binding %s %s %v %q", k, b.Role, b.Members, cond)
		}
	}
	for num, p := range inv.Projects {
		add("project %s id=%s folders=%v org=%s scanned=%v", num, p.ID, p.Folders, p.Organization, p.Scanned)
	}
	for _, r := range inv.Runs {
		add("run %s %s %s sa=%s creator=%s lm=%s managed-by=%s %v", r.Node.Key, r.Kind, r.Shape, r.ServiceAccount, r.Creator, r.LastModifier, r.ManagedBy, r.Containers)
	}
	for k, r := range inv.Repositories {
		add("repo %s %s %s %s upstreams=%v", k, r.Format, r.Mode, r.UpstreamSecret, r.Upstreams)
	}
	for k := range inv.Secrets {
		add("secret %s", k)
	}
	for k, r := range inv.CustomRoles {
		add("role %s %v %s", k, r.Permissions, r.Stage)
	}
	for k, v := range inv.Counts {
		add("count %s=%d", k, v)
	}
	for _, g := range inv.Gaps {
		add("gap %+v", g)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestLiveReadsWhatTheExportHolds(t *testing.T) {
	srv, cl, pacer := serve(t, acmeAssets(t), 0)
	b := inventory.NewBuilder()
	live := &scan.Live{Client: cl, Scope: acmeOrg, Retry: fastRetry}
	if err := live.Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got, want := digest(b.Finish()), digest(exportInventory(t))
	if got != want {
		t.Errorf("live inventory differs from the export's:\n%s", lineDiff(want, got))
	}
	st := srv.Stats()
	if st.MaxPageSize != scan.PageSize {
		t.Errorf("page size asked %d, want %d", st.MaxPageSize, scan.PageSize)
	}
	// One call per stream: 9 resource types and 8 with IAM policies.
	if st.Calls != 17 || pacer.Calls() != 17 {
		t.Errorf("calls: server saw %d, pacer counted %d, want 17 each", st.Calls, pacer.Calls())
	}
	for _, p := range live.Progress() {
		if !p.Done || p.Err != nil {
			t.Errorf("stream %s %s not done cleanly: %+v", p.AssetType, p.ContentType, p)
		}
	}
}

func lineDiff(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var out []string
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// manyServices is one project with n v2 services, to page through.
func manyServices(n int) []*assetpb.Asset {
	anc := []string{"projects/100", "organizations/1"}
	out := []*assetpb.Asset{{
		Name: "//cloudresourcemanager.googleapis.com/projects/100", AssetType: inventory.TypeProject, Ancestors: anc,
		Resource: &assetpb.Resource{Data: mustStruct(map[string]any{"projectId": "big-project", "projectNumber": "100"})},
	}}
	for i := range n {
		name := fmt.Sprintf("projects/big-project/locations/us-central1/services/s%05d", i)
		out = append(out, &assetpb.Asset{
			Name: "//run.googleapis.com/" + name, AssetType: inventory.TypeService, Ancestors: anc,
			Resource: &assetpb.Resource{Location: "us-central1", Data: mustStruct(map[string]any{
				"name": name, "template": map[string]any{"containers": []any{map[string]any{"image": "us-docker.pkg.dev/big-project/app/x:1"}}},
			})},
		})
	}
	return out
}

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

func TestLivePagesThroughLargeStreams(t *testing.T) {
	srv, cl, _ := serve(t, manyServices(2500), 0)
	b := inventory.NewBuilder()
	if err := (&scan.Live{Client: cl, Scope: "organizations/1", Retry: fastRetry}).Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if len(inv.Runs) != 2500 || len(inv.Gaps) != 0 {
		t.Fatalf("read %d services with gaps %v, want 2500 and none", len(inv.Runs), inv.Gaps)
	}
	// 3 pages of services, one page for each of the 16 other streams.
	if st := srv.Stats(); st.Pages != 19 || st.Assets != 2501 {
		t.Errorf("server served %d pages, %d assets; want 19 and 2501", st.Pages, st.Assets)
	}
}

func TestLiveFailures(t *testing.T) {
	tests := []struct {
		name   string
		faults []caifake.Fault
		// gaps lists "asset type|content type|reason part" per expected gap.
		gaps []string
		// failed is how many calls the server must have failed, by code.
		failed map[codes.Code]int
		runs   int
	}{
		{
			name: "quota and unavailable bursts are retried",
			faults: []caifake.Fault{
				{AssetType: inventory.TypeService, ContentType: assetpb.ContentType_RESOURCE, Code: codes.ResourceExhausted, Times: 3},
				{AssetType: inventory.TypeService, ContentType: assetpb.ContentType_RESOURCE, AfterPages: 1, Code: codes.Unavailable, Times: 2},
				{AssetType: inventory.TypeProject, ContentType: assetpb.ContentType_IAM_POLICY, Code: codes.Unavailable, Times: 4},
			},
			failed: map[codes.Code]int{codes.ResourceExhausted: 3, codes.Unavailable: 6},
			runs:   2500,
		},
		{
			name:   "a denied stream is a gap and is not retried",
			faults: []caifake.Fault{{AssetType: inventory.TypeService, ContentType: assetpb.ContentType_IAM_POLICY, Code: codes.PermissionDenied}},
			gaps:   []string{inventory.TypeService + "|IAM_POLICY|PERMISSION_DENIED"},
			failed: map[codes.Code]int{codes.PermissionDenied: 1},
			runs:   2500,
		},
		{
			name:   "retries are bounded",
			faults: []caifake.Fault{{AssetType: inventory.TypeRepository, ContentType: assetpb.ContentType_RESOURCE, Code: codes.Unavailable}},
			gaps:   []string{inventory.TypeRepository + "|RESOURCE|UNAVAILABLE"},
			failed: map[codes.Code]int{codes.Unavailable: fastRetry.MaxAttempts},
			runs:   2500,
		},
		{
			name:   "a stream failing half way keeps what it read",
			faults: []caifake.Fault{{AssetType: inventory.TypeService, ContentType: assetpb.ContentType_RESOURCE, AfterPages: 2, Code: codes.Internal}},
			gaps:   []string{inventory.TypeService + "|RESOURCE|(2 page(s), 2000 asset(s) read): INTERNAL"},
			failed: map[codes.Code]int{codes.Internal: 1},
			runs:   2000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, cl, pacer := serve(t, manyServices(2500), 0)
			for _, f := range tc.faults {
				srv.Inject(f)
			}
			b := inventory.NewBuilder()
			if err := (&scan.Live{Client: cl, Scope: "organizations/1", Retry: fastRetry}).Collect(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			inv := b.Finish()
			if len(inv.Runs) != tc.runs {
				t.Errorf("read %d services, want %d", len(inv.Runs), tc.runs)
			}
			if len(inv.Gaps) != len(tc.gaps) {
				t.Fatalf("gaps %+v, want %d", inv.Gaps, len(tc.gaps))
			}
			for i, want := range tc.gaps {
				parts := strings.Split(want, "|")
				g := inv.Gaps[i]
				if g.Scope != "organizations/1" || g.AssetType != parts[0] || !strings.HasPrefix(g.Reason, parts[1]+" content") || !strings.Contains(g.Reason, parts[2]) {
					t.Errorf("gap %+v, want scope organizations/1, type %s, reason starting %q and holding %q", g, parts[0], parts[1], parts[2])
				}
			}
			st := srv.Stats()
			for code, n := range tc.failed {
				if st.Failed[code] != n {
					t.Errorf("server failed %d calls with %s, want %d (all: %v)", st.Failed[code], code, n, st.Failed)
				}
				if got := pacer.Failed()[code]; got != n {
					t.Errorf("pacer counted %d %s failures, want %d", got, code, n)
				}
			}
			if pacer.Calls() != int64(st.Calls) {
				t.Errorf("pacer counted %d calls, server saw %d", pacer.Calls(), st.Calls)
			}
		})
	}
}

func TestLiveNothingReadableIsAnError(t *testing.T) {
	srv, cl, _ := serve(t, acmeAssets(t), 0)
	srv.Inject(caifake.Fault{Code: codes.PermissionDenied})
	err := (&scan.Live{Client: cl, Scope: acmeOrg, Retry: fastRetry}).Collect(context.Background(), inventory.NewBuilder())
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") && !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Fatalf("err = %v, want a permission-denied error", err)
	}
}

func TestLiveDeadlineLeavesGaps(t *testing.T) {
	srv, cl, _ := serve(t, acmeAssets(t), 0)
	// One stream hangs far past the deadline; the others answer at once,
	// one of them with a denial that must keep its own reason.
	srv.Inject(caifake.Fault{AssetType: inventory.TypeJob, ContentType: assetpb.ContentType_RESOURCE, Delay: time.Minute})
	srv.Inject(caifake.Fault{AssetType: inventory.TypeSecret, ContentType: assetpb.ContentType_IAM_POLICY, Code: codes.PermissionDenied})
	b := inventory.NewBuilder()
	live := &scan.Live{Client: cl, Scope: acmeOrg, Retry: fastRetry, Timeout: 2 * time.Second}
	if err := live.Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	reasons := map[string]string{}
	for _, g := range inv.Gaps {
		reasons[g.AssetType] = g.Reason
	}
	if len(inv.Gaps) != 2 || !strings.Contains(reasons[inventory.TypeJob], "deadline") || !strings.Contains(reasons[inventory.TypeSecret], "PERMISSION_DENIED") {
		t.Fatalf("gaps %+v, want the jobs stream naming the deadline and the secrets' policies the denial", inv.Gaps)
	}
	if inv.Counts["services"] != 7 || inv.Counts["jobs"] != 0 {
		t.Errorf("counts %v: want the 7 services read and no jobs", inv.Counts)
	}
}

func TestLiveInterruptedLeavesGaps(t *testing.T) {
	srv, cl, _ := serve(t, acmeAssets(t), 0)
	srv.SetLatency(time.Minute)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("SIGINT")) })
	b := inventory.NewBuilder()
	if err := (&scan.Live{Client: cl, Scope: acmeOrg, Retry: fastRetry}).Collect(ctx, b); err != nil {
		t.Fatalf("err = %v, want the unfinished streams as gaps", err)
	}
	inv := b.Finish()
	if len(inv.Gaps) != len(scanStreams()) {
		t.Errorf("%d gaps, want one per stream (%d)", len(inv.Gaps), len(scanStreams()))
	}
	for _, g := range inv.Gaps {
		if !strings.Contains(g.Reason, "interrupted (SIGINT)") || g.ContentType == "" {
			t.Errorf("gap %+v does not say the run was interrupted", g)
		}
	}
}

// scanStreams counts an organization scan's streams: every audited type as
// a resource, every one but custom roles as a policy.
func scanStreams() []string {
	var out []string
	for _, t := range inventory.AssetTypes {
		out = append(out, t+" RESOURCE")
		if t != inventory.TypeRole {
			out = append(out, t+" IAM_POLICY")
		}
	}
	return out
}

// A folder scope reads the folder and also the grants it inherits from
// the organization: the inventory of folder 555555555555 must hold the
// organization's policy and custom roles as the org-wide scan does.
func TestLiveFolderScopeReadsInheritedGrants(t *testing.T) {
	org := exportInventory(t)
	_, cl, _ := serve(t, acmeAssets(t), 0)
	b := inventory.NewBuilder()
	if err := (&scan.Live{Client: cl, Scope: "folders/555555555555", Retry: fastRetry}).Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if len(inv.Gaps) != 0 {
		t.Fatalf("gaps: %+v", inv.Gaps)
	}
	orgNode := inv.Nodes[acmeOrg]
	if orgNode == nil || !orgNode.HasPolicy || fmt.Sprint(orgNode.Bindings) != fmt.Sprint(org.Nodes[acmeOrg].Bindings) {
		t.Errorf("organization policy not read above the folder scope: %+v", orgNode)
	}
	for k := range org.CustomRoles {
		if strings.HasPrefix(k, acmeOrg) && inv.CustomRoles[k] == nil {
			t.Errorf("organization custom role %s not read", k)
		}
	}
	// Only projects under the folder are scanned.
	for num, p := range inv.Projects {
		if p.Scanned && !contains(org.Projects[num].Folders, "555555555555") {
			t.Errorf("project %s (%s) outside the folder was scanned", num, p.ID)
		}
	}
	if inv.Nodes["folders/556666666666"] != nil && inv.Nodes["folders/556666666666"].HasPolicy {
		t.Error("a folder's sibling policy was kept")
	}
}

func TestLiveProjectScopeDeniedAboveIsAGap(t *testing.T) {
	srv, cl, _ := serve(t, acmeAssets(t), 0)
	srv.Inject(caifake.Fault{Parent: acmeOrg, Code: codes.PermissionDenied})
	b := inventory.NewBuilder()
	if err := (&scan.Live{Client: cl, Scope: "projects/acme-payments", Retry: fastRetry}).Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	var got []string
	for _, g := range inv.Gaps {
		got = append(got, g.Scope+" "+g.AssetType)
		if !strings.Contains(g.Reason, "above the scope projects/acme-payments") || !strings.Contains(g.Reason, "inherited from it are undecided") {
			t.Errorf("gap reason %q does not say the inherited grants are undecided", g.Reason)
		}
	}
	sort.Strings(got)
	want := []string{acmeOrg + " " + inventory.TypeOrganization, acmeOrg + " " + inventory.TypeRole}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("gaps %v, want %v", got, want)
	}
	if n := inv.Nodes["folders/555555555555"]; n == nil || !n.HasPolicy {
		t.Error("the folder above the project was not read")
	}
	if inv.Counts["projects"] != 1 {
		t.Errorf("projects scanned %d, want 1", inv.Counts["projects"])
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
