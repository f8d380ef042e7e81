package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/auditlog"
	"github.com/runaudit/runaudit/internal/inventory"
)

// AuditLogConfig says where Cloud Audit Logs come from: live over the
// scanned projects (on by default with a live scope), one log view, or
// files. See docs/auditlogs.md.
type AuditLogConfig struct {
	Live      bool
	Files     []string
	View      string
	Days      int
	PerMinute float64
	// EmulatorHost points the live reader at a fake Logging API.
	EmulatorHost string
}

func (c *AuditLogConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.BoolVar(&c.Live, "audit-logs", true, "with a live scope, read Cloud Run's Admin Activity and System Event audit logs of the projects that hold Cloud Run resources (false: off)")
	def("audit-logs", "AUDIT_AUDIT_LOGS")
	fs.Var(listFlag{&c.Files}, "audit-log-file", "Cloud Run audit log entries as `gcloud logging read --format=json` writes them (or one per line); repeatable; replaces reading live")
	def("audit-log-file", "AUDIT_AUDIT_LOG_FILE")
	fs.StringVar(&c.View, "audit-log-view", "", "read the audit logs from this log view (projects/P/locations/L/buckets/B/views/V) instead of each project")
	def("audit-log-view", "AUDIT_AUDIT_LOG_VIEW")
	fs.IntVar(&c.Days, "audit-log-days", 30, "days of audit logs read, up to the evaluation time")
	def("audit-log-days", "AUDIT_AUDIT_LOG_DAYS")
	fs.Float64Var(&c.PerMinute, "audit-log-rate", auditlog.DefaultPerMinute, "Logging API entries.list calls per minute (the read quota is 60)")
	def("audit-log-rate", "AUDIT_AUDIT_LOG_RATE")
	fs.StringVar(&c.EmulatorHost, "logging-emulator-host", "", "dial the Logging API at host:port in plaintext without credentials (a fake)")
	def("logging-emulator-host", auditlog.EmulatorHostEnv)
}

// defaults leaves live audit-log reading off, when it was not asked for
// either way, for a run against a fake Cloud Asset Inventory
// (CLOUDASSET_EMULATOR_HOST) with no fake Logging API: no real logs stand
// behind fake resources.
func (c *AuditLogConfig) defaults(collect *CollectConfig, explicit bool) {
	if !explicit && collect.EmulatorHost != "" && c.EmulatorHost == "" {
		c.Live = false
	}
}

func (c *AuditLogConfig) check() error {
	switch {
	case c.Days < 1:
		return errors.New("--audit-log-days must be at least 1")
	case c.PerMinute <= 0:
		return errors.New("--audit-log-rate must be positive")
	case c.View != "" && len(c.Files) > 0:
		return errors.New("give --audit-log-view or --audit-log-file, not both")
	}
	if c.View != "" {
		return auditlog.CheckView(c.View)
	}
	return nil
}

// auditLogEvidence is the step after evaluating: it reads Cloud Run's audit
// logs (files, or live when the inventory was collected live) and joins
// them with the findings, and says who deployed what. Projects whose logs cannot be read become gaps
// and their findings' evidence undecided; with logs off, findings are
// returned as they are and the last modifier remains the only hint of who
// deploys.
func auditLogEvidence(ctx context.Context, cfg *Config, inv *inventory.Inventory, findings []audit.Finding, at time.Time, log *slog.Logger) ([]audit.Finding, []audit.Deployer) {
	c := &cfg.AuditLogs
	live := cfg.Collect.scope != "" && (c.Live || c.View != "")
	if len(c.Files) == 0 && !live {
		return findings, nil
	}
	until := at
	since := until.Add(-time.Duration(c.Days) * 24 * time.Hour)
	ev := auditlog.Evidence{Since: since, Until: until, Read: map[string]bool{}, Project: projectOf(inv)}
	var res auditlog.Result
	if len(c.Files) > 0 {
		res = readAuditLogFiles(c.Files, inv, since, until)
	} else {
		res = readAuditLogsLive(ctx, cfg, inv, since, until, log)
	}
	inv.Gaps = append(inv.Gaps, res.Gaps...)
	inv.Skipped = append(inv.Skipped, res.Skips...)
	inv.SkippedTotal += len(res.Skips)
	auditlog.Normalize(res.Events, func(n string) (string, bool) {
		p := inv.Projects[n]
		return inv.ProjectID(n), p != nil && p.ID != ""
	})
	ev.Events, ev.Read, ev.AllRead = auditlog.Collapse(res.Events), res.Read, res.AllRead
	out, st := auditlog.Join(findings, ev)
	log.Info("joined Cloud Audit Logs with the findings", "events", len(ev.Events), "projects_read", len(ev.Read),
		"gaps", len(res.Gaps), "confirmed", st.Confirmed, "resolved", st.Resolved, "new_findings", st.Created,
		"active_deployers", st.Active, "dormant", st.Dormant, "undecided", st.Undecided)
	return out, auditlog.Deployers(ev.Events)
}

// readAuditLogFiles reads the files and keeps the window. A file covers
// every project: whatever it holds is what the logs say.
func readAuditLogFiles(files []string, inv *inventory.Inventory, since, until time.Time) auditlog.Result {
	res := auditlog.Result{Read: map[string]bool{}, AllRead: true}
	for _, f := range files {
		evs, skips, err := auditlog.ReadFile(f)
		res.Skips = append(res.Skips, skips...)
		if err != nil {
			res.AllRead = false
			res.Gaps = append(res.Gaps, inventory.Gap{Scope: f, AssetType: auditlog.AssetType,
				Reason: err.Error() + "; log evidence is undecided", Fix: "export the entries again with gcloud logging read --format=json"})
			continue
		}
		for _, e := range evs {
			if !e.Time.Before(since) && e.Time.Before(until) {
				res.Events = append(res.Events, e)
			}
		}
	}
	if !res.AllRead {
		// An unreadable file may have held any project's entries.
		res.Read = map[string]bool{}
	}
	return res
}

// readAuditLogsLive reads the projects that hold Cloud Run resources, or
// the log view.
func readAuditLogsLive(ctx context.Context, cfg *Config, inv *inventory.Inventory, since, until time.Time, log *slog.Logger) auditlog.Result {
	c := &cfg.AuditLogs
	seen := map[string]bool{}
	var projects []string
	for _, r := range inv.Runs {
		if id := inv.ProjectID(r.ProjectNumber); !seen[id] {
			seen[id] = true
			projects = append(projects, id)
		}
	}
	q := auditlog.Query{Projects: projects, View: c.View, Since: since, Until: until}
	cl, err := auditlog.NewClient(ctx, auditlog.ClientConfig{PerMinute: c.PerMinute, EmulatorHost: c.EmulatorHost, Options: cfg.googleOptions(apiLogging)})
	if err != nil {
		res := auditlog.Result{Read: map[string]bool{}}
		res.Gaps = append(res.Gaps, inventory.Gap{Scope: "logging.googleapis.com", AssetType: auditlog.AssetType,
			Reason: fmt.Sprintf("%v; log evidence is undecided", err)})
		return res
	}
	defer cl.Close()
	started := time.Now()
	res := (&auditlog.Reader{Client: cl, Log: log}).Read(ctx, q)
	log.Info("read Cloud Run audit logs", "projects", len(projects), "view", c.View, "api_calls", cl.Calls(),
		"pages", res.Pages, "entries", res.Entries, "deploy_events", len(res.Events), "gaps", len(res.Gaps), "seconds", time.Since(started).Seconds())
	return res
}

// projectOf describes projects for the findings the join creates.
func projectOf(inv *inventory.Inventory) func(string) (string, []string, string, bool) {
	return func(id string) (string, []string, string, bool) {
		p := inv.Project(id)
		if p == nil {
			return "", nil, "", false
		}
		return p.Number, p.Folders, p.Organization, true
	}
}
