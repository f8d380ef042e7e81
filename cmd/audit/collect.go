package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"

	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// CollectConfig says where the inventory comes from.
type CollectConfig struct {
	Exports []string
}

func (c *CollectConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.Var(listFlag{&c.Exports}, "export", "Cloud Asset Inventory export: an NDJSON file (.gz allowed) or a directory of them; repeatable")
	def("export", "AUDIT_EXPORT")
}

func (c *CollectConfig) check() error {
	if len(c.Exports) == 0 {
		return errors.New("give --export PATH (or set AUDIT_EXPORT)")
	}
	return nil
}

// collect reads the inventory from the configured source.
func collect(ctx context.Context, cfg *Config, log *slog.Logger) (*inventory.Inventory, string, error) {
	files, err := scan.ExportFiles(cfg.Collect.Exports)
	if err != nil {
		return nil, "", err
	}
	b := inventory.NewBuilder()
	src := &scan.Export{Files: files, Workers: cfg.Concurrency, Progress: func(file string, lines int) {
		log.Debug("read export file", "file", file, "lines_total", lines)
	}}
	if err := src.Collect(ctx, b); err != nil {
		return nil, "", err
	}
	return b.Finish(), "export:" + strings.Join(cfg.Collect.Exports, ","), nil
}
