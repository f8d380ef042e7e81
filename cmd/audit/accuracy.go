package main

import (
	"context"
	"flag"
	"time"

	"github.com/runaudit/runaudit/internal/access"
)

// AccuracyConfig says how grants are decided.
type AccuracyConfig struct {
	At time.Time
}

func (c *AccuracyConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.Var(timeFlag{&c.At}, "at", "evaluate IAM conditions at this time (RFC 3339; default now)")
	def("at", "AUDIT_AT")
}

func (c *AccuracyConfig) check() error { return nil }

// accessOptions builds the engine's deciders for conditions, groups and
// deny policies.
func accessOptions(ctx context.Context, cfg *Config, at time.Time) (access.Options, error) {
	return access.Options{}, nil
}
