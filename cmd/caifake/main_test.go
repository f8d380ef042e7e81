package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// syncBuffer is a buffer safe to read while run writes to it.
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

// TestServesExportsToTheLiveSource starts the command on the example
// organization with one denied stream, collects from it with the live
// source, and stops it.
func TestServesExportsToTheLiveSource(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--deny", inventory.TypeJob + ":IAM_POLICY", "../../examples/acme"}, &out, io.Discard)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "CLOUDASSET_EMULATOR_HOST="); ok {
			addr = strings.TrimSpace(rest)
		}
	}
	if addr == "" {
		t.Fatalf("no address printed: %q", out.String())
	}
	cl, err := scan.NewAssetClient(ctx, scan.ClientConfig{EmulatorHost: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	b := inventory.NewBuilder()
	if err := (&scan.Live{Client: cl, Scope: "organizations/123456789012"}).Collect(ctx, b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if inv.Counts["services"] != 7 || len(inv.Gaps) != 1 || inv.Gaps[0].AssetType != inventory.TypeJob {
		t.Errorf("services %d, gaps %+v; want 7 and the denied job policies", inv.Counts["services"], inv.Gaps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "17 calls") {
		t.Errorf("stats line missing: %q", out.String())
	}
}

func TestRejects(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--deny", "x:NOPE", "../../examples/acme"},
		{"/nonexistent"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want caifake.Fault
		err  string
	}{
		{in: "refused", want: caifake.Fault{Code: codes.PermissionDenied}},
		{in: "refused:run.googleapis.com/Job:IAM_POLICY", want: caifake.Fault{Code: codes.PermissionDenied, AssetType: inventory.TypeJob, ContentType: assetpb.ContentType_IAM_POLICY}},
		{in: "unavailable:run.googleapis.com/Service,after=2", want: caifake.Fault{Code: codes.Unavailable, AssetType: inventory.TypeService, AfterPages: 2}},
		{in: "quota,times=3", want: caifake.Fault{Code: codes.ResourceExhausted, Times: 3}},
		{in: "deadline:cloudresourcemanager.googleapis.com/Folder:RESOURCE,delay=2s,parent=organizations/1", want: caifake.Fault{Code: codes.DeadlineExceeded, AssetType: inventory.TypeFolder, ContentType: assetpb.ContentType_RESOURCE, Delay: 2 * time.Second, Parent: "organizations/1"}},
		{in: "slow,delay=100ms", want: caifake.Fault{Code: codes.OK, Delay: 100 * time.Millisecond}},
		{in: "slow", err: "slow needs delay=D"},
		{in: "broken", err: `unknown kind "broken"; want one of refused, unavailable, quota, deadline, slow`},
		{in: "refused:x:NOPE", err: "unknown content type"},
		{in: "refused:x:CONTENT_TYPE_UNSPECIFIED", err: "unknown content type"},
		{in: "quota,times", err: "not key=value"},
		{in: "quota,times=-1", err: "bad times=-1"},
		{in: "quota,delay=soon", err: "bad delay=soon"},
		{in: "quota,every=2", err: `unknown option "every"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseFault(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("parseFault(%q) error %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseFault(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

// caifake --help says what it serves and lists every fault it can inject,
// on stdout.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(--help) = %v", err)
	}
	help := stdout.String()
	for _, want := range []string{"Usage: caifake [flags] EXPORT...", "export files given as arguments", "CLOUDASSET_EMULATOR_HOST",
		"refused", "unavailable", "quota", "deadline", "slow", "after=N   cut the stream after N pages", "times=N", "--deny ASSET_TYPE"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("help wrote to stderr: %q", stderr.String())
	}
}

// A quota burst is retried by the client and costs nothing; the fault
// flag reaches the server.
func TestFaultFlagReachesTheServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--fault", "quota:" + inventory.TypeService + ":RESOURCE,times=1",
			"--fault", "refused:" + inventory.TypeSecret + ":IAM_POLICY", "../../examples/acme"}, &out, io.Discard)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "CLOUDASSET_EMULATOR_HOST="); ok {
			addr = strings.TrimSpace(rest)
		}
	}
	if addr == "" {
		t.Fatalf("no address printed: %q", out.String())
	}
	cl, err := scan.NewAssetClient(ctx, scan.ClientConfig{EmulatorHost: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	b := inventory.NewBuilder()
	if err := (&scan.Live{Client: cl, Scope: "organizations/123456789012"}).Collect(ctx, b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if inv.Counts["services"] != 7 || len(inv.Gaps) != 1 || inv.Gaps[0].AssetType != inventory.TypeSecret {
		t.Errorf("services %d, gaps %+v; want all 7 services (the burst retried) and the refused secret policies", inv.Counts["services"], inv.Gaps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 fault(s)") || !strings.Contains(out.String(), "ResourceExhausted:1") || !strings.Contains(out.String(), "PermissionDenied:1") {
		t.Errorf("statistics do not show the two faults: %q", out.String())
	}
}
