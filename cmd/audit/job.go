package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/report"
)

// buildVersion is set with -ldflags "-X main.buildVersion=…".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// runAudit is the job: collect the inventory, evaluate the rules, write the
// outputs.
func runAudit(ctx context.Context, cfg *Config, log *slog.Logger, stderr io.Writer) (audit.Result, error) {
	started := time.Now().UTC()
	at := cfg.Accuracy.At
	if at.IsZero() {
		at = started
	}
	res := audit.Result{Summary: audit.Summary{
		RunID: newRunID(started), Version: version(), StartedAt: started, EvaluatedAt: at,
	}}
	log = log.With("run_id", res.Summary.RunID)

	// 1. Collect.
	inv, source, err := collect(ctx, cfg, log, stderr)
	if err != nil {
		return res, fmt.Errorf("collecting the inventory: %w", err)
	}
	res.Summary.Source, res.Summary.Scope = source, scopeOf(source, inv)

	// 2. Evaluate.
	opts, err := accessOptions(ctx, cfg, at)
	if err != nil {
		return res, err
	}
	eng := access.New(inv, access.Predefined(), opts)
	for _, r := range eng.UnknownRoles {
		inv.Skipped = append(inv.Skipped, inventory.Skip{Where: r, Reason: "role not in the role table or the inventory's custom roles: its grants are undecided"})
		inv.SkippedTotal++
	}
	res.Findings, res.Inventory, err = audit.Evaluate(ctx, inv, eng, audit.Options{Concurrency: cfg.Concurrency})
	if err != nil {
		return res, err
	}
	res.Findings, res.Deployers = auditLogEvidence(ctx, cfg, inv, res.Findings, at, log)
	confirmFindings(ctx, cfg, res.Findings, log)
	res.Coverage = audit.Coverage(inv)
	res.Summary.FinishedAt = time.Now().UTC()
	audit.Summarize(&res.Summary, inv, res.Findings)

	// 3. Write.
	if err := write(ctx, cfg, res, log); err != nil {
		return res, err
	}
	if !cfg.Quiet {
		report.WriteText(stderr, res)
		fmt.Fprintf(stderr, "outputs: %s\n", cfg.Output.Dir)
	}
	return res, nil
}

// scopeOf names what the inventory covers: the live scope asked for, or
// for an export the organization it holds.
func scopeOf(source string, inv *inventory.Inventory) string {
	if live, ok := strings.CutPrefix(source, "live:"); ok {
		return live
	}
	if inv.Organization != "" {
		return "organizations/" + inv.Organization
	}
	return fmt.Sprintf("%d projects", len(inv.Projects))
}

func newRunID(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
