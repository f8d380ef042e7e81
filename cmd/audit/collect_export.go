package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cloud.google.com/go/storage"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// Live collection modes (--collect).
const (
	collectList   = "list"   // ListAssets, paced under the quota
	collectExport = "export" // ExportAssets to Cloud Storage, then read the shards
)

func (c *CollectConfig) defineExport(fs *flag.FlagSet, def func(name, env string)) {
	fs.StringVar(&c.Mode, "collect", collectList, "how to collect live: list (ListAssets, one call per 1,000 assets, paced by --list-assets-qpm) or export (one ExportAssets operation per content type into --export-staging, then read the shards: a handful of calls at any size)")
	def("collect", "AUDIT_COLLECT")
	fs.StringVar(&c.ExportStaging, "export-staging", "", "with --collect export: gs://BUCKET/PREFIX the exports are written under, one folder per run (the bucket must exist, without retention policy or customer-managed key)")
	def("export-staging", "AUDIT_EXPORT_STAGING")
}

func (c *CollectConfig) checkExport(live bool) error {
	switch {
	case c.Mode != collectList && c.Mode != collectExport:
		return fmt.Errorf("--collect must be %s or %s, not %q", collectList, collectExport, c.Mode)
	case c.Mode == collectExport && !live:
		return errors.New("--collect export needs a live scope: --org, --folder or --project")
	case c.Mode == collectExport && c.ExportStaging == "":
		return errors.New("--collect export needs --export-staging gs://BUCKET/PREFIX")
	case c.Mode != collectExport && c.ExportStaging != "":
		return errors.New("--export-staging is only used with --collect export")
	}
	if c.Mode == collectExport {
		if _, _, err := scan.ParseGCS(c.ExportStaging); err != nil {
			return fmt.Errorf("--export-staging: %w", err)
		}
	}
	return nil
}

// collectExportAssets collects live through ExportAssets: the calls are
// paced and counted on the same connection as ListAssets calls are.
func collectExportAssets(ctx context.Context, cfg *Config, b *inventory.Builder, p *progress, log *slog.Logger) (liveStats, error) {
	c := &cfg.Collect
	pacer := scan.NewPacer(c.ListAssetsPerMinute)
	cl, err := scan.NewAssetClient(ctx, scan.ClientConfig{EmulatorHost: c.EmulatorHost, Pacer: pacer})
	if err != nil {
		return liveStats{}, err
	}
	defer cl.Close()
	// The client honours STORAGE_EMULATOR_HOST.
	sc, err := storage.NewClient(ctx)
	if err != nil {
		return liveStats{}, fmt.Errorf("connecting to Cloud Storage: %w", err)
	}
	defer sc.Close()
	src := &scan.ExportAssets{Client: cl, Storage: sc, Scope: c.scope, Staging: c.ExportStaging, Timeout: c.Timeout, Workers: cfg.Concurrency, Log: log}
	stop := p.watchExport(src, pacer)
	err = src.Collect(ctx, b)
	stop()
	if err != nil {
		return liveStats{}, err
	}
	st := liveStats{calls: int(pacer.Calls()), failed: map[string]int{}}
	for code, n := range pacer.Failed() {
		st.failed[code.String()] = n
	}
	for _, op := range src.Progress() {
		st.pages += op.Shards
		st.assets += op.Lines
	}
	return st, nil
}

// watchExport redraws export progress once a second until stop is called.
func (p *progress) watchExport(src *scan.ExportAssets, pacer *scan.Pacer) (stop func()) {
	if !p.on {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	reported := map[string]bool{}
	tick := func() {
		var parts []string
		for _, op := range src.Progress() {
			if op.Done && !reported[op.ContentType] {
				reported[op.ContentType] = true
				result := fmt.Sprintf("%d shards, %d assets, %.1fs", op.Shards, op.Lines, op.Elapsed.Seconds())
				if op.Err != nil {
					result = "FAILED (a gap): " + op.Err.Error()
				}
				p.line("  ExportAssets %-10s %s", op.ContentType, result)
			}
			state := "exporting"
			switch {
			case op.Done:
				state = "done"
			case op.Exported:
				state = fmt.Sprintf("reading %d/%d shards", op.ShardsRead, op.Shards)
			}
			parts = append(parts, fmt.Sprintf("%s %s (%d polls, %s)", op.ContentType, state, op.Polls, op.Elapsed.Round(time.Second)))
		}
		p.status("collecting %s by export: %s; %d calls", src.Scope, strings.Join(parts, ", "), pacer.Calls())
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				tick()
			case <-quit:
				tick()
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
		p.done()
	}
}
