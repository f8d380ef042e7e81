package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// fastPoll polls export operations every few milliseconds.
var fastPoll = gax.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 1.5}

// stagingServer starts fake-gcs-server in-process with an empty bucket
// "staging" and returns the server and a real storage client pointed at it
// through STORAGE_EMULATOR_HOST.
func stagingServer(t *testing.T) (*fakestorage.Server, *storage.Client) {
	t.Helper()
	port := freePort(t)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: port, PublicHost: fmt.Sprintf("127.0.0.1:%d", port),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "staging"})
	t.Setenv("STORAGE_EMULATOR_HOST", srv.URL())
	cl, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return srv, cl
}

// exportSetup serves assets from the fake with exports enabled (shard
// assets per object) and returns the pieces of an ExportAssets source.
func exportSetup(t *testing.T, assets []*assetpb.Asset, shard int) (*caifake.Server, *scan.ExportAssets, *scan.Pacer) {
	t.Helper()
	_, cl := stagingServer(t)
	srv, acl, pacer := serve(t, assets, 0)
	srv.EnableExport(cl, shard)
	return srv, &scan.ExportAssets{Client: acl, Storage: cl, Staging: "gs://staging/runaudit", RunFolder: "run1", Retry: fastRetry, Poll: fastPoll}, pacer
}

func TestExportAssetsReadsWhatListAssetsReads(t *testing.T) {
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(fmt.Sprint("latency ", latency), func(t *testing.T) {
			srv, src, pacer := exportSetup(t, acmeAssets(t), 2)
			srv.SetExportLatency(latency)
			src.Scope = acmeOrg
			b := inventory.NewBuilder()
			if err := src.Collect(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			got, want := digest(b.Finish()), digest(exportInventory(t))
			if got != want {
				t.Errorf("exported inventory differs from the export files':\n%s", lineDiff(want, got))
			}
			st := srv.ExportStats()
			if st.ExportCalls != 2 {
				t.Errorf("ExportAssets calls %d, want 2 (one per content type)", st.ExportCalls)
			}
			if st.Shards < 10 {
				t.Errorf("%d shards written, want several per asset type at 2 assets a shard", st.Shards)
			}
			if latency > 0 && st.GetOperationCalls == 0 {
				t.Error("a running operation was never polled")
			}
			if latency == 0 && st.GetOperationCalls != 0 {
				t.Errorf("an operation done at once was polled %d times", st.GetOperationCalls)
			}
			if calls := srv.Stats().Calls; calls != 0 {
				t.Errorf("%d ListAssets calls for an organization scope, want none", calls)
			}
			if int(pacer.Calls()) != st.ExportCalls+st.GetOperationCalls {
				t.Errorf("pacer counted %d calls, the server %d ExportAssets and %d GetOperation", pacer.Calls(), st.ExportCalls, st.GetOperationCalls)
			}
			lines := 0
			for _, p := range src.Progress() {
				if !p.Done || p.Err != nil || !p.Exported || p.ExportedAfter < latency || p.ExportedAfter > p.Elapsed || p.ShardsRead != p.Shards || !strings.HasPrefix(p.Destination, "gs://staging/runaudit/run1/") {
					t.Errorf("operation not done cleanly: %+v", p)
				}
				if !strings.Contains(p.Name, "/operations/ExportAssets/"+p.ContentType+"/") {
					t.Errorf("operation name %q", p.Name)
				}
				lines += p.Lines
			}
			if lines != st.Assets {
				t.Errorf("read %d lines, the server wrote %d", lines, st.Assets)
			}
		})
	}
}

// synthAssets is a synthetic organization of n projects.
func synthAssets(t *testing.T, n int) []*assetpb.Asset {
	t.Helper()
	var r, i bytes.Buffer
	if _, _, err := synthorg.Generate(synthorg.Config{
		Seed: 7, Org: "100000000001", Projects: n, Folders: 6, Services: 3, Jobs: 1, Repos: 1,
		ProjectBindings: 5, ResourceBindings: 2, CrossProject: 0.3, RemoteRepos: 0.1, Findings: 0.05,
	}, &r, &i); err != nil {
		t.Fatal(err)
	}
	var all []*assetpb.Asset
	for _, data := range [][]byte{r.Bytes(), i.Bytes()} {
		as, err := caifake.Load(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, as...)
	}
	return all
}

// Every scope of a synthetic organization reads the same through an
// export as through ListAssets, inherited grants included.
func TestExportAssetsEqualsListAssetsOnSyntheticOrgs(t *testing.T) {
	assets := synthAssets(t, 60)
	var folder, project string
	for _, a := range assets {
		anc := a.GetAncestors()
		if a.GetAssetType() == inventory.TypeProject && len(anc) == 4 && project == "" {
			project, folder = anc[0], anc[2] // a project two folders down; the folder above both
		}
	}
	if project == "" {
		t.Fatal("no project two folders down in the synthetic organization")
	}
	for _, scope := range []string{"organizations/100000000001", folder, project} {
		t.Run(scope, func(t *testing.T) {
			srv, src, _ := exportSetup(t, assets, 50)
			src.Scope = scope
			viaExport := inventory.NewBuilder()
			if err := src.Collect(context.Background(), viaExport); err != nil {
				t.Fatal(err)
			}
			viaList := inventory.NewBuilder()
			if err := (&scan.Live{Client: src.Client, Scope: scope, Retry: fastRetry}).Collect(context.Background(), viaList); err != nil {
				t.Fatal(err)
			}
			got, want := viaExport.Finish(), viaList.Finish()
			if len(want.Gaps) != 0 || len(want.Runs) == 0 {
				t.Fatalf("ListAssets read %d runs with gaps %v", len(want.Runs), want.Gaps)
			}
			if d := lineDiff(digest(want), digest(got)); d != "" {
				t.Errorf("ExportAssets inventory differs from ListAssets':\n%s", d)
			}
			if st := srv.ExportStats(); st.ExportCalls != 2 {
				t.Errorf("ExportAssets calls %d, want 2", st.ExportCalls)
			}
		})
	}
}

func TestExportAssetsFailures(t *testing.T) {
	tests := []struct {
		name    string
		faults  []caifake.ExportFault
		timeout time.Duration
		// content is the content type whose asset types must all be gaps
		// ("" for none); reason and fix are parts of each gap's.
		content, reason, fix string
		refused              int
	}{
		{
			name:    "a refused export is a gap for each of its asset types",
			faults:  []caifake.ExportFault{{ContentType: assetpb.ContentType_IAM_POLICY, Refuse: true, Code: codes.PermissionDenied}},
			content: "IAM_POLICY", reason: "IAM_POLICY content not exported: ExportAssets refused: PERMISSION_DENIED", fix: "roles/cloudasset.viewer on " + acmeOrg,
			refused: 1,
		},
		{
			name:    "an export failing mid-way is a gap and none of its shards is read",
			faults:  []caifake.ExportFault{{ContentType: assetpb.ContentType_RESOURCE, AfterShards: 3, Code: codes.Internal}},
			content: "RESOURCE", reason: "RESOURCE content not exported: the operation organizations/123456789012/operations/ExportAssets/RESOURCE/", fix: "run again",
		},
		{
			name:   "a quota refusal is retried",
			faults: []caifake.ExportFault{{Refuse: true, Code: codes.ResourceExhausted, Times: 3}},
			// ExportAssets is retried on RESOURCE_EXHAUSTED as ListAssets is.
			refused: 3,
		},
		{
			name:   "an export unfinished by the deadline is a gap",
			faults: []caifake.ExportFault{{ContentType: assetpb.ContentType_IAM_POLICY, Delay: time.Minute}},
			// Long enough for the resource export to start, finish and be
			// read on a loaded machine under the race detector (500 ms
			// was not), and far short of the delayed one.
			timeout: 5 * time.Second,
			content: "IAM_POLICY", reason: "the collection deadline (--timeout) passed", fix: "--timeout",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, src, _ := exportSetup(t, acmeAssets(t), 2)
			for _, f := range tc.faults {
				srv.InjectExport(f)
			}
			src.Scope, src.Timeout = acmeOrg, tc.timeout
			b := inventory.NewBuilder()
			if err := src.Collect(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			inv := b.Finish()
			want := map[string]int{"RESOURCE": 9, "IAM_POLICY": 8}[tc.content]
			if len(inv.Gaps) != want {
				t.Fatalf("%d gaps, want %d: %+v", len(inv.Gaps), want, inv.Gaps)
			}
			types := map[string]bool{}
			for _, g := range inv.Gaps {
				types[g.AssetType] = true
				if g.Scope != acmeOrg || g.ContentType != tc.content || !strings.Contains(g.Reason, tc.reason) || !strings.Contains(g.Fix, tc.fix) {
					t.Errorf("gap %+v: want scope %s, content %s, reason holding %q, fix holding %q", g, acmeOrg, tc.content, tc.reason, tc.fix)
				}
			}
			if len(types) != want {
				t.Errorf("gaps name %d asset types, want %d distinct", len(types), want)
			}
			policies := 0
			for _, n := range inv.Nodes {
				if n.HasPolicy {
					policies++
				}
			}
			services := inv.Counts["services"]
			switch tc.content {
			case "RESOURCE":
				if services != 0 {
					t.Errorf("%d services read from a failed export's shards", services)
				}
				if policies == 0 {
					t.Error("the IAM policies export was not read")
				}
			case "IAM_POLICY":
				if policies != 0 {
					t.Errorf("%d policies read from a failed export", policies)
				}
				if services != 7 {
					t.Errorf("services %d, want the 7 of the resources export", services)
				}
			default:
				if d := lineDiff(digest(exportInventory(t)), digest(inv)); d != "" {
					t.Errorf("inventory after retries differs:\n%s", d)
				}
			}
			if st := srv.ExportStats(); st.Refused != tc.refused {
				t.Errorf("refused %d, want %d", st.Refused, tc.refused)
			}
		})
	}
}

// Without output_result the shards are found under the prefix; types
// with no assets write none, which is no gap.
func TestExportAssetsWithoutResultURIsListsThePrefix(t *testing.T) {
	srv, src, _ := exportSetup(t, acmeAssets(t), 3)
	srv.OmitExportURIs()
	src.Scope = acmeOrg
	b := inventory.NewBuilder()
	if err := src.Collect(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if d := lineDiff(digest(exportInventory(t)), digest(b.Finish())); d != "" {
		t.Errorf("inventory differs from the export files':\n%s", d)
	}
	shards := 0
	for _, p := range src.Progress() {
		shards += p.Shards
	}
	if st := srv.ExportStats(); shards != st.Shards {
		t.Errorf("read %d shards, the server wrote %d", shards, st.Shards)
	}
}

func TestExportAssetsNothingExportedIsAnError(t *testing.T) {
	srv, src, _ := exportSetup(t, acmeAssets(t), 0)
	srv.InjectExport(caifake.ExportFault{Refuse: true, Code: codes.PermissionDenied})
	src.Scope = acmeOrg
	err := src.Collect(context.Background(), inventory.NewBuilder())
	if err == nil || !strings.Contains(err.Error(), "no ExportAssets operation") || !strings.Contains(err.Error(), "PermissionDenied") && !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Fatalf("err = %v, want the denial", err)
	}
}

func TestExportAssetsBadStagingIsAnError(t *testing.T) {
	_, src, _ := exportSetup(t, acmeAssets(t), 0)
	src.Scope, src.Staging = acmeOrg, "gs://no-such-bucket/x"
	err := src.Collect(context.Background(), inventory.NewBuilder())
	if err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Fatalf("err = %v, want one naming the bucket", err)
	}
}
