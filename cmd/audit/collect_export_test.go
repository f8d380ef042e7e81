package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/synthorg"
)

// enableExport gives the fake a staging bucket in an in-process
// fake-gcs-server, which the command finds through STORAGE_EMULATOR_HOST.
func enableExport(t *testing.T, srv *caifake.Server, shard int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: port, PublicHost: fmt.Sprintf("127.0.0.1:%d", port),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "staging"})
	t.Setenv("STORAGE_EMULATOR_HOST", gcs.URL())
	cl, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	srv.EnableExport(cl, shard)
}

// synthFake serves a small synthetic organization.
func synthFake(t *testing.T) (*caifake.Server, func(string) string) {
	t.Helper()
	var r, i bytes.Buffer
	if _, _, err := synthorg.Generate(synthorg.Config{
		Seed: 3, Org: "100000000001", Projects: 40, Folders: 4, Services: 3, Jobs: 1, Repos: 1,
		ProjectBindings: 4, ResourceBindings: 2, CrossProject: 0.3, RemoteRepos: 0.1, Findings: 0.1,
	}, &r, &i); err != nil {
		t.Fatal(err)
	}
	var assets []*assetpb.Asset
	for _, data := range [][]byte{r.Bytes(), i.Bytes()} {
		as, err := caifake.Load(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		assets = append(assets, as...)
	}
	srv := caifake.New(assets)
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, func(k string) string {
		if k == "CLOUDASSET_EMULATOR_HOST" {
			return addr
		}
		return ""
	}
}

// TestExportModeFindsWhatListModeFinds runs the command with --collect
// export and with ListAssets over the same fake and requires the same
// outputs.
func TestExportModeFindsWhatListModeFinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fake  func(*testing.T) (*caifake.Server, func(string) string)
		scope []string
	}{
		{"acme organization", acmeFake, []string{"--org", "123456789012"}},
		{"acme folder", acmeFake, []string{"--folder", "555555555555"}},
		{"synthetic organization", synthFake, []string{"--org", "100000000001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, env := tc.fake(t)
			enableExport(t, srv, 5)
			code, stderr, viaExport := runCollect(t, env, append(tc.scope, "--collect", "export", "--export-staging", "gs://staging/runaudit")...)
			if code != exitOK {
				t.Fatalf("export mode: exit code %d; stderr:\n%s", code, stderr)
			}
			code, stderr2, viaList := runCollect(t, env, tc.scope...)
			if code != exitOK {
				t.Fatalf("list mode: exit code %d; stderr:\n%s", code, stderr2)
			}
			for _, name := range []string{"findings.jsonl", "inventory.jsonl"} {
				got, want := readOut(t, viaExport, name), readOut(t, viaList, name)
				if !bytes.Equal(got, want) {
					t.Errorf("export mode %s differs from list mode's:\n%s", name, firstDiff(string(want), string(got)))
				}
				if len(want) == 0 {
					t.Errorf("%s is empty: nothing compared", name)
				}
			}
			st := srv.ExportStats()
			if st.ExportCalls != 2 || st.Shards == 0 {
				t.Errorf("export stats %+v, want 2 ExportAssets calls writing shards", st)
			}
			if !strings.Contains(stderr, `"message":"ExportAssets read"`) || !strings.Contains(stderr, `"message":"collected live"`) {
				t.Errorf("no export records in the logs:\n%s", stderr)
			}
		})
	}
}

func TestExportModeRefusedIsAGap(t *testing.T) {
	srv, env := acmeFake(t)
	enableExport(t, srv, 0)
	srv.InjectExport(caifake.ExportFault{ContentType: assetpb.ContentType_IAM_POLICY, Refuse: true, Code: codes.PermissionDenied})
	code, stderr, out := runCollect(t, env, "--org", "123456789012", "--collect", "export", "--export-staging", "gs://staging/x")
	if code != exitPartial {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitPartial, stderr)
	}
	if !strings.Contains(stderr, "ExportAssets failed") || !strings.Contains(stderr, "PERMISSION_DENIED") {
		t.Errorf("stderr does not report the refusal:\n%s", stderr)
	}
	var sum struct {
		Complete bool            `json:"complete"`
		Gaps     []inventory.Gap `json:"gaps"`
	}
	if err := json.Unmarshal(readOut(t, out, "summary.json"), &sum); err != nil {
		t.Fatal(err)
	}
	// One gap per IAM-policy asset type (7), and one saying the input
	// holds no IAM policy at all.
	if sum.Complete || len(sum.Gaps) != 9 {
		t.Fatalf("summary complete=%v with %d gaps, want incomplete with one per IAM-policy asset type and one for no policies: %+v", sum.Complete, len(sum.Gaps), sum.Gaps)
	}
	for _, g := range sum.Gaps {
		if g.ContentType != "IAM_POLICY" || g.Fix == "" || !strings.Contains(g.Reason, "ExportAssets refused") && !strings.Contains(g.Reason, "no IAM policy at all") {
			t.Errorf("gap %+v", g)
		}
	}

	// Both refused: nothing to audit, the run fails.
	srv.InjectExport(caifake.ExportFault{Refuse: true, Code: codes.PermissionDenied})
	if code, stderr, _ := runCollect(t, env, "--org", "123456789012", "--collect", "export", "--export-staging", "gs://staging/y"); code != exitFailed || !strings.Contains(stderr, "no ExportAssets operation") {
		t.Errorf("all refused: exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
}

func TestExportModeUsage(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--org", "1", "--collect", "fast"}, nil, "--collect must be list or export"},
		{[]string{"--org", "1", "--collect", "export"}, nil, "needs --export-staging"},
		{[]string{"--export", "x", "--collect", "export", "--export-staging", "gs://b/p"}, nil, "needs a live scope"},
		{[]string{"--org", "1", "--export-staging", "gs://b/p"}, nil, "only used with --collect export"},
		{[]string{"--org", "1", "--collect", "export", "--export-staging", "/tmp/x"}, nil, "--export-staging"},
		{nil, map[string]string{"AUDIT_ORG": "1", "AUDIT_COLLECT": "export"}, "needs --export-staging"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"--out", t.TempDir()}, tc.args...), func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tc.want)
			}
		})
	}
	// From the environment, accepted.
	cfg, err := parseConfig(nil, func(k string) string {
		return map[string]string{"AUDIT_ORG": "1", "AUDIT_COLLECT": "export", "AUDIT_EXPORT_STAGING": "gs://b/p"}[k]
	}, &bytes.Buffer{})
	if err != nil || cfg.Collect.Mode != collectExport || cfg.Collect.ExportStaging != "gs://b/p" {
		t.Errorf("from the environment: %+v, %v", cfg, err)
	}
}

// On a terminal the export shows a line per finished operation and a
// status line while it runs.
func TestExportProgressOnATerminal(t *testing.T) {
	srv, env := acmeFake(t)
	enableExport(t, srv, 2)
	srv.InjectExport(caifake.ExportFault{ContentType: assetpb.ContentType_IAM_POLICY, Refuse: true, Code: codes.PermissionDenied})
	cfg, err := parseConfig([]string{"--org", "123456789012", "--collect", "export", "--export-staging", "gs://staging/p"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	p := &progress{scr: screenFor(&out), on: true, start: time.Now()}
	b := inventory.NewBuilder()
	if _, err := collectExportAssets(context.Background(), cfg, b, p, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"ExportAssets RESOURCE   19 shards, 33 assets, ", // 29 assets in 8 types, 2 a shard
		"ExportAssets IAM_POLICY FAILED (a gap): ExportAssets refused: PERMISSION_DENIED: caifake: injected",
		"collecting organizations/123456789012 by export: ",
		"RESOURCE done (0 polls",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%s", want, got)
		}
	}
}

// syncBuffer is a buffer safe to write from the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
