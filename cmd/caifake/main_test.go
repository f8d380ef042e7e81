package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

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
	if inv.Counts["services"] != 6 || len(inv.Gaps) != 1 || inv.Gaps[0].AssetType != inventory.TypeJob {
		t.Errorf("services %d, gaps %+v; want 6 and the denied job policies", inv.Counts["services"], inv.Gaps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "15 calls") {
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
