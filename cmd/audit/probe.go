package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/imageprobe"
	"github.com/runaudit/runaudit/internal/inventory"
)

// ProbeConfig says whether and how images outside the scan are checked for
// public read by asking their registry anonymously. See docs/accuracy.md.
type ProbeConfig struct {
	Enabled bool
	Timeout time.Duration
	Budget  time.Duration
}

func (c *ProbeConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.BoolVar(&c.Enabled, "probe-public-images", true, "ask the registry anonymously whether images in projects outside the scan are public (set false for offline runs)")
	def("probe-public-images", "AUDIT_PROBE_PUBLIC_IMAGES")
	fs.DurationVar(&c.Timeout, "probe-timeout", imageprobe.DefaultTimeout, "time allowed for one repository's anonymous registry request")
	def("probe-timeout", "AUDIT_PROBE_TIMEOUT")
	fs.DurationVar(&c.Budget, "probe-budget", imageprobe.DefaultBudget, "time allowed for all anonymous registry requests together; what is not answered stays unverified")
	def("probe-budget", "AUDIT_PROBE_BUDGET")
}

func (c *ProbeConfig) check() error {
	switch {
	case c.Timeout <= 0:
		return errors.New("--probe-timeout must be positive")
	case c.Budget <= 0:
		return errors.New("--probe-budget must be positive")
	}
	return nil
}

// probePublicImages is the step between building the engine and evaluating
// the rules: it asks the registries of the images outside the scan,
// anonymously, whether they serve them to anyone, and returns the answers
// for audit.Options. It never fails the run: an unanswered probe leaves
// the image unverified. An interrupted run does not probe: it must write
// what it has before the signal's grace period ends.
func probePublicImages(ctx context.Context, cfg *Config, inv *inventory.Inventory, log *slog.Logger, stopped bool) map[string]audit.PublicProbe {
	refs := audit.OutsideScan(inv)
	if len(refs) == 0 {
		return nil
	}
	c := &cfg.Probe
	switch {
	case !c.Enabled:
		log.Info("images outside the scan were not probed for public read (--probe-public-images=false): they stay unverified", "images", len(refs))
		return nil
	case stopped:
		log.Info("images outside the scan were not probed for public read: the run was interrupted", "images", len(refs))
		return nil
	}
	var rt http.RoundTripper
	if host := os.Getenv(imageprobe.EmulatorHostEnv); host != "" {
		rt = imageprobe.Emulator(host, nil)
	}
	start := time.Now()
	p := imageprobe.New(imageprobe.Options{Transport: rt, Timeout: c.Timeout, Budget: c.Budget, UserAgent: "runaudit/" + version()})
	answers := p.Probe(ctx, refs)
	out := make(map[string]audit.PublicProbe, len(answers))
	counts := map[imageprobe.Result]int{}
	for repo, a := range answers {
		out[repo] = audit.PublicProbe{Public: a.Result == imageprobe.Public, Detail: a.Detail}
		counts[a.Result]++
	}
	log.Info("images outside the scan probed for public read", "images", len(refs), "repositories", len(answers),
		"public", counts[imageprobe.Public], "not_public", counts[imageprobe.NotPublic], "unknown", counts[imageprobe.Unknown],
		"took", time.Since(start).Round(time.Millisecond).String())
	return out
}
