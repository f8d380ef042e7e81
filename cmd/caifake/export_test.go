package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// TestServesExportAssets starts the command with a fake Cloud Storage and
// the IAM-policy export refused, collects with the ExportAssets source
// over the printed addresses, and stops it.
func TestServesExportAssets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--gcs-listen", "127.0.0.1:0", "--export-bucket", "stage",
			"--export-latency", "50ms", "--export-shard-assets", "2", "--export-refuse", "IAM_POLICY", "../../examples/acme"}, &out, io.Discard)
	}()
	var addr, gcs string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		s := out.String()
		if _, rest, ok := strings.Cut(s, "CLOUDASSET_EMULATOR_HOST="); ok {
			addr = strings.TrimSpace(rest)
		}
		if _, rest, ok := strings.Cut(s, "STORAGE_EMULATOR_HOST="); ok {
			gcs, _, _ = strings.Cut(rest, "\n")
		}
	}
	if addr == "" || gcs == "" {
		t.Fatalf("addresses not printed: %q", out.String())
	}
	t.Setenv("STORAGE_EMULATOR_HOST", gcs)
	cl, err := scan.NewAssetClient(ctx, scan.ClientConfig{EmulatorHost: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sc, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	b := inventory.NewBuilder()
	src := &scan.ExportAssets{Client: cl, Storage: sc, Scope: "organizations/123456789012", Staging: "gs://stage/runs",
		Poll: gax.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 1.5}}
	if err := src.Collect(ctx, b); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if inv.Counts["services"] != 7 || len(inv.Gaps) != 8 || inv.Gaps[0].ContentType != "IAM_POLICY" {
		t.Errorf("services %d, gaps %+v; want 7 and the refused IAM policies' 8 types", inv.Counts["services"], inv.Gaps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 ExportAssets calls (1 refused)") {
		t.Errorf("export stats line missing: %q", out.String())
	}
}

func TestRejectsExportFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--gcs-listen", "nohostport", "../../examples/acme"},
		{"--export-refuse", "NOPE", "../../examples/acme"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
