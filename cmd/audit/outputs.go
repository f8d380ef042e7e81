package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
)

// OutputConfig says where results go.
type OutputConfig struct {
	Dir string
}

func (c *OutputConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.StringVar(&c.Dir, "out", "./audit-out", "directory for findings.jsonl, findings.csv, inventory.jsonl and summary.json")
	def("out", "AUDIT_OUT")
}

func (c *OutputConfig) check() error {
	if c.Dir == "" {
		return errors.New("--out must name a directory")
	}
	return nil
}

// write sends the result to every configured sink.
func write(ctx context.Context, cfg *Config, res audit.Result, log *slog.Logger) error {
	paths, err := report.WriteLocal(cfg.Output.Dir, res)
	if err != nil {
		return err
	}
	log.Info("outputs written", "dir", cfg.Output.Dir, "files", len(paths))
	return nil
}
