package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"cloud.google.com/go/storage"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// CollectConfig says where the inventory comes from: export files (local
// or gs://), or Cloud Asset Inventory live over one scope.
type CollectConfig struct {
	Exports []string

	Org, Folder, Project string
	// ListAssetsPerMinute paces the whole run's ListAssets calls.
	ListAssetsPerMinute int
	// Streams bounds the ListAssets streams run at once.
	Streams int
	// Timeout bounds the collection; what is unread by then is a gap.
	Timeout time.Duration
	// EmulatorHost points the live source at a fake or emulator.
	EmulatorHost string
	// Mode is how to collect live: collectList or collectExport
	// (collect_export.go); ExportStaging is where exports are written.
	Mode, ExportStaging string

	scope string // the checked ListAssets parent, when live
}

func (c *CollectConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.Var(listFlag{&c.Exports}, "export", "Cloud Asset Inventory export: an NDJSON file (.gz allowed), a directory of them, or gs://BUCKET/PREFIX; repeatable")
	def("export", "AUDIT_EXPORT")
	fs.StringVar(&c.Org, "org", "", "collect live from Cloud Asset Inventory over this organization (numeric id), with Application Default Credentials")
	def("org", "AUDIT_ORG")
	fs.StringVar(&c.Folder, "folder", "", "collect live over this folder (numeric id); grants inherited from above it are read too")
	def("folder", "AUDIT_FOLDER")
	fs.StringVar(&c.Project, "project", "", "collect live over this project (id or number); grants inherited from above it are read too")
	def("project", "AUDIT_PROJECT")
	fs.IntVar(&c.ListAssetsPerMinute, "list-assets-qpm", scan.DefaultListAssetsPerMinute, "most ListAssets calls, retries included, in any minute: the default is 80 % of the quota project's 100 a minute, the tighter of its two quotas (the organization's is 800; docs/quotas.md); 0: no limit")
	def("list-assets-qpm", "AUDIT_LIST_ASSETS_QPM")
	fs.IntVar(&c.Streams, "streams", scan.DefaultStreams, "ListAssets streams (asset type × content type) read at once")
	def("streams", "AUDIT_STREAMS")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Minute, "deadline for collecting the inventory live; streams unfinished by then are reported as gaps")
	def("timeout", "AUDIT_TIMEOUT")
	fs.StringVar(&c.EmulatorHost, "asset-emulator-host", "", "dial Cloud Asset Inventory at host:port in plaintext without credentials (a fake or emulator)")
	def("asset-emulator-host", scan.EmulatorHostEnv)
	c.defineExport(fs, def)
}

func (c *CollectConfig) check() error {
	var live []string
	for _, s := range []struct{ kind, id string }{{"org", c.Org}, {"folder", c.Folder}, {"project", c.Project}} {
		if s.id == "" {
			continue
		}
		scope, err := scan.Scope(s.kind, s.id)
		if err != nil {
			return err
		}
		c.scope = scope
		live = append(live, "--"+s.kind)
	}
	switch {
	case len(c.Exports) == 0 && len(live) == 0:
		return errors.New("give --export PATH (or set AUDIT_EXPORT), or a live scope: --org, --folder or --project")
	case len(live) > 1:
		return fmt.Errorf("give one live scope, not %s", strings.Join(live, " and "))
	case len(live) == 1 && len(c.Exports) > 0:
		return fmt.Errorf("give either --export or %s, not both", live[0])
	case c.ListAssetsPerMinute < 0:
		return errors.New("--list-assets-qpm must not be negative")
	case c.Streams < 1:
		return errors.New("--streams must be at least 1")
	case c.Timeout < 0:
		return errors.New("--timeout must not be negative")
	}
	if err := c.checkExport(len(live) == 1); err != nil {
		return err
	}
	for _, e := range c.Exports {
		if scan.IsGCS(e) {
			if _, _, err := scan.ParseGCS(e); err != nil {
				return fmt.Errorf("--export: %w", err)
			}
		}
	}
	return nil
}

// collect reads the inventory from the configured source and names the
// source for the summary.
func collect(ctx context.Context, cfg *Config, log *slog.Logger, stderr io.Writer) (*inventory.Inventory, string, error) {
	c := &cfg.Collect
	b := inventory.NewBuilder()
	// Only bindings that may grant an audited permission are kept: the
	// engine reads no others (access.New is given the same table).
	b.KeepRoles(access.Predefined().MayGrant)
	defer collectGC()()
	p := newProgress(stderr, cfg)
	started := time.Now()
	if c.scope != "" {
		stats, err := collectLive(ctx, cfg, b, p, log)
		if err != nil {
			return nil, "", err
		}
		inv := b.Finish()
		runs := inv.RunCount()
		perRun := 0.0
		if runs > 0 {
			perRun = float64(stats.calls) / float64(runs)
		}
		log.Info("collected live", "scope", c.scope, "api_calls", stats.calls, "failed_calls", stats.failed,
			"pages", stats.pages, "assets", stats.assets, "services_and_jobs", runs, "api_calls_per_service", perRun,
			"gaps", len(inv.Gaps), "seconds", time.Since(started).Seconds())
		return inv, "live:" + c.scope, nil
	}
	if err := collectExports(ctx, cfg, b, p, log); err != nil {
		return nil, "", err
	}
	inv := b.Finish()
	log.Info("collected exports", "assets", inv.Counts["assets_read"], "gaps", len(inv.Gaps), "seconds", time.Since(started).Seconds())
	return inv, "export:" + strings.Join(c.Exports, ","), nil
}

// collectGCPercent is the collector's GOGC while the inventory is read.
// Decoding makes most of a run's garbage, while the heap it keeps grows
// to only about two thirds of what evaluation and the outputs hold later,
// so letting garbage pile up to one and a half times the live heap rather
// than once cuts the collector's work where it works most, for little
// more peak memory (docs/scale.md; 200 saved a little more CPU for more
// memory).
const collectGCPercent = 150

// collectGC raises GOGC to collectGCPercent for the collection and returns
// the function that restores it. A GOGC set in the environment is left
// alone; GOMEMLIMIT still bounds the heap either way.
func collectGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(collectGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// liveRetry bounds the retries of each ListAssets page; tests shorten it.
var liveRetry = scan.DefaultRetry

// liveStats sums up a live collection.
type liveStats struct {
	calls, pages, assets int
	failed               map[string]int
}

func collectLive(ctx context.Context, cfg *Config, b *inventory.Builder, p *progress, log *slog.Logger) (liveStats, error) {
	c := &cfg.Collect
	if c.Mode == collectExport {
		return collectExportAssets(ctx, cfg, b, p, log)
	}
	pacer := scan.NewPacer(c.ListAssetsPerMinute)
	cl, err := scan.NewAssetClient(ctx, scan.ClientConfig{EmulatorHost: c.EmulatorHost, Pacer: pacer}, cfg.googleOptions(apiAsset)...)
	if err != nil {
		return liveStats{}, err
	}
	defer cl.Close()
	live := &scan.Live{Client: cl, Scope: c.scope, Streams: c.Streams, Timeout: c.Timeout, Retry: liveRetry, Log: p.streamLog(log)}
	stop := p.watchLive(live, pacer)
	err = live.Collect(ctx, b)
	stop()
	if err != nil {
		return liveStats{}, err
	}
	st := liveStats{calls: int(pacer.Calls()), failed: map[string]int{}}
	for code, n := range pacer.Failed() {
		st.failed[code.String()] = n
	}
	for _, s := range live.Progress() {
		st.pages += s.Pages
		st.assets += s.Assets
	}
	return st, nil
}

func collectExports(ctx context.Context, cfg *Config, b *inventory.Builder, p *progress, log *slog.Logger) error {
	var local, remote []string
	for _, e := range cfg.Collect.Exports {
		if scan.IsGCS(e) {
			remote = append(remote, e)
		} else {
			local = append(local, e)
		}
	}
	onFile := func(file string, lines int) {
		log.Debug("read export file", "file", file, "lines_total", lines)
		p.file(file, lines)
	}
	defer p.done()
	// Everything named must exist before anything is read.
	var files []string
	if len(local) > 0 {
		var err error
		if files, err = scan.ExportFiles(local); err != nil {
			return err
		}
	}
	var gcs *scan.GCSExport
	if len(remote) > 0 {
		// The client honours STORAGE_EMULATOR_HOST.
		cl, err := storage.NewClient(ctx, cfg.googleOptions(apiStorage)...)
		if err != nil {
			return fmt.Errorf("connecting to Cloud Storage: %w", err)
		}
		defer cl.Close()
		gcs = &scan.GCSExport{Client: cl, URLs: remote, Workers: cfg.Concurrency, Progress: onFile}
		if _, err := gcs.Objects(ctx); err != nil {
			return err
		}
	}
	if len(files) > 0 {
		if err := (&scan.Export{Files: files, Workers: cfg.Concurrency, Progress: onFile}).Collect(ctx, b); err != nil {
			return err
		}
	}
	if gcs != nil {
		if err := gcs.Collect(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
