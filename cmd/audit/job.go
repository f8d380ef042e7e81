package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/scan"
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
// The human summary goes to stdout; progress and logs to stderr.
func runAudit(ctx context.Context, cfg *Config, log *slog.Logger, stdout, stderr io.Writer) (audit.Result, error) {
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
	if errors.Is(err, scan.ErrNoInput) || errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return res, fmt.Errorf("collecting the inventory: %w", err)
	}
	res.Summary.Source, res.Summary.Scope = source, scopeOf(source, inv)
	sig, stopped := interrupted(ctx)
	if stopped {
		// What was read is evaluated and written, marked incomplete; the
		// collection's own gaps say what is missing.
		ctx = context.WithoutCancel(ctx)
		inv.Gaps = append(inv.Gaps, inventory.Gap{Scope: res.Summary.Scope, Reason: "the run was interrupted by " + sig.Error() + " during collection", Fix: "run the audit again to the end"})
	}
	if inv.Counts["assets_read"] == 0 && !stopped {
		return res, fmt.Errorf("%w: nothing to audit: %s held no readable asset%s", errUsage, source, gapList(inv.Gaps))
	}
	inv.Gaps = append(inv.Gaps, inventory.Missing(inv, res.Summary.Scope)...)
	checkMemory(log, inv.RunCount())

	// 2. Evaluate.
	opts, err := accessOptions(ctx, cfg, at)
	if err != nil {
		return res, err
	}
	if live := cfg.Accuracy.live; live != nil {
		inv.Gaps = append(inv.Gaps, live.gaps...)
	}
	eng := access.New(inv, access.Predefined(), opts)
	for _, r := range eng.UnknownRoles {
		inv.Skipped = append(inv.Skipped, inventory.Skip{Where: r, Reason: "role not in the role table or the inventory's custom roles: its grants are undecided"})
		inv.SkippedTotal++
	}
	res.Findings, res.Inventory, err = audit.Evaluate(ctx, inv, eng, audit.Options{Concurrency: cfg.Concurrency, PublicProbes: probePublicImages(ctx, cfg, inv, log, stopped)})
	if err != nil {
		return res, err
	}
	res.Findings, res.Deployers = auditLogEvidence(ctx, cfg, inv, res.Findings, at, log)
	confirmFindings(ctx, cfg, res.Findings, log)
	inv.Gaps = append(inv.Gaps, accuracyGaps(cfg)...)
	exceptions := cfg.Output.applyExceptions(res.Findings, started)
	res.Coverage = audit.Coverage(inv)
	res.Summary.FinishedAt = time.Now().UTC()
	audit.Summarize(&res.Summary, inv, res.Findings)
	res.Summary.Exceptions = exceptions

	if stopped {
		res.Summary.Status = "interrupted"
	}

	// The inventory and the engine, most of the heap, are garbage from
	// here on: collect them before the writers allocate, so that the
	// writers reuse their memory instead of growing the heap on top of
	// them (docs/scale.md).
	runtime.GC()

	// 3. Write. An interrupted run writes its local outputs only: a
	// partial run must not replace the day's run in BigQuery or the
	// uploaded reports.
	if err := write(ctx, cfg, res, log, !stopped); err != nil {
		return res, err
	}
	if !cfg.Quiet {
		report.WriteText(stdout, res)
		fmt.Fprintf(stdout, "outputs: %s (open %s first)\n", report.Inert(cfg.Output.Dir), WorkbookName)
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

// gapList appends the first gaps to a message.
func gapList(gaps []inventory.Gap) string {
	if len(gaps) == 0 {
		return ""
	}
	var parts []string
	for _, g := range gaps[:min(len(gaps), 3)] {
		parts = append(parts, g.Scope+": "+g.Reason)
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func newRunID(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
