package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"cloud.google.com/go/pubsub/v2"
	securitycenter "cloud.google.com/go/securitycenter/apiv2"
	"cloud.google.com/go/storage"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/exceptions"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/report/bq"
	"github.com/runaudit/runaudit/internal/report/gcsupload"
	"github.com/runaudit/runaudit/internal/report/notify"
	"github.com/runaudit/runaudit/internal/report/scc"
	"github.com/runaudit/runaudit/internal/report/xlsx"
)

// WorkbookName is the workbook's file name in the output directory.
const WorkbookName = report.Workbook

// OutputConfig says where results go.
type OutputConfig struct {
	Dir        string
	Baseline   string
	ReportURI  string
	BQDataset  string
	BQEndpoint string
	BQLocation string
	// InventoryRows bounds the workbook's Inventory sheet.
	InventoryRows int
	// Exceptions is the --exceptions file; exceptions is it parsed, by check.
	Exceptions string
	exceptions *exceptions.File
	// SCCSource is organizations/ORG/sources/ID; SCCWritesPerMinute paces it.
	SCCSource          string
	SCCWritesPerMinute int
	// NotifyTopic is projects/P/topics/T.
	NotifyTopic string
}

func (c *OutputConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.StringVar(&c.Dir, "out", "./audit-out", "directory for findings.jsonl, findings.csv, inventory.jsonl, summary.json and report.xlsx")
	def("out", "AUDIT_OUT")
	fs.StringVar(&c.Baseline, "baseline", "", "an earlier run's findings.jsonl: the workbook shows what is new and what was resolved since")
	def("baseline", "AUDIT_BASELINE")
	fs.StringVar(&c.ReportURI, "report-uri", "", "gs://BUCKET/PREFIX/: upload the outputs under PREFIX/YYYY-MM-DD/RUN_ID/")
	def("report-uri", "AUDIT_REPORT_URI")
	fs.StringVar(&c.BQDataset, "bq-dataset", "", "PROJECT.DATASET: write the run to BigQuery (tables and views are created when missing)")
	def("bq-dataset", "AUDIT_BQ_DATASET")
	fs.StringVar(&c.BQEndpoint, "bq-endpoint", "", "BigQuery API endpoint override, e.g. http://127.0.0.1:9050 for the emulator")
	def("bq-endpoint", "AUDIT_BQ_ENDPOINT")
	fs.StringVar(&c.BQLocation, "bq-location", "", "location for a dataset the sink creates (default US)")
	def("bq-location", "AUDIT_BQ_LOCATION")
	fs.IntVar(&c.InventoryRows, "workbook-inventory-rows", xlsx.DefaultInventoryRows, "most rows on the workbook's Inventory sheet, worst verdicts first (inventory.jsonl has them all); -1: no bound")
	def("workbook-inventory-rows", "AUDIT_WORKBOOK_INVENTORY_ROWS")
	fs.StringVar(&c.Exceptions, "exceptions", "", "YAML file of accepted risks (reason, owner, expires each): matched findings are marked excepted and counted apart from open ones (see examples/exceptions.yaml)")
	def("exceptions", "AUDIT_EXCEPTIONS")
	fs.StringVar(&c.SCCSource, "scc-source", "", "organizations/ORG/sources/ID: write actionable and undecided findings to this Security Command Center source (SECURITYCENTER_EMULATOR_HOST for a fake)")
	def("scc-source", "AUDIT_SCC_SOURCE")
	fs.IntVar(&c.SCCWritesPerMinute, "scc-writes-per-minute", scc.DefaultWritesPerMinute, "pace of SCC writes (the API allows 1,000 a minute per project)")
	def("scc-writes-per-minute", "AUDIT_SCC_WRITES_PER_MINUTE")
	fs.StringVar(&c.NotifyTopic, "notify-topic", "", "projects/P/topics/T: publish one message per run with what is new and resolved since the previous run (from BigQuery when --bq-dataset is set, else --baseline)")
	def("notify-topic", "AUDIT_NOTIFY_TOPIC")
}

func (c *OutputConfig) check() error {
	if c.Dir == "" {
		return errors.New("--out must name a directory")
	}
	if c.ReportURI != "" {
		if _, _, err := gcsupload.ParseURI(c.ReportURI); err != nil {
			return fmt.Errorf("--report-uri: %w", err)
		}
	}
	if c.BQDataset != "" {
		if _, _, err := bq.ParseDataset(c.BQDataset); err != nil {
			return fmt.Errorf("--bq-dataset: %w", err)
		}
	}
	if c.SCCSource != "" {
		if err := scc.ParseSource(c.SCCSource); err != nil {
			return fmt.Errorf("--scc-source: %w", err)
		}
	}
	if c.SCCWritesPerMinute <= 0 {
		return errors.New("--scc-writes-per-minute must be positive")
	}
	if c.NotifyTopic != "" {
		if _, err := notify.ParseTopic(c.NotifyTopic); err != nil {
			return fmt.Errorf("--notify-topic: %w", err)
		}
	}
	if c.Exceptions != "" {
		f, err := exceptions.Load(c.Exceptions)
		if err != nil {
			return fmt.Errorf("--exceptions: %w", err)
		}
		c.exceptions = f
	}
	return nil
}

// applyExceptions marks the findings the exceptions file accepts at now,
// and reports on its entries; nil without a file.
func (c *OutputConfig) applyExceptions(findings []audit.Finding, now time.Time) *audit.ExceptionsReport {
	if c.exceptions == nil {
		return nil
	}
	return c.exceptions.Apply(findings, now)
}

// write sends the result to every configured sink. Sinks are independent:
// one failing does not keep the others from writing, and every failure is
// returned.
func write(ctx context.Context, cfg *Config, res audit.Result, log *slog.Logger, remote bool) error {
	c := cfg.Output
	var errs []error
	// Whatever local file fails, the rest are written and uploaded.
	paths, err := report.WriteLocal(c.Dir, res)
	if err != nil {
		errs = append(errs, err)
	}
	opts := xlsx.Options{AssetTypes: inventory.AssetTypes, InventoryRows: c.InventoryRows}
	var previous notify.Previous
	if c.Baseline != "" {
		base, err := report.ReadFindings(c.Baseline)
		if err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
		opts.Baseline, opts.HaveBaseline, opts.BaselineName = base, true, c.Baseline
		previous = notify.Previous{Name: "baseline:" + c.Baseline, Findings: base}
	}
	book := filepath.Join(c.Dir, WorkbookName)
	if err := xlsx.Write(book, res, opts); err != nil {
		errs = append(errs, fmt.Errorf("workbook: %w", err))
	} else {
		paths = append(paths, book)
	}
	log.Info("outputs written", "dir", c.Dir, "files", len(paths))

	if !remote {
		if c.ReportURI != "" || c.BQDataset != "" {
			log.Warn("the run was interrupted: nothing is uploaded or written to BigQuery")
		}
		return errors.Join(errs...)
	}
	if c.ReportURI != "" {
		if err := upload(ctx, cfg, res.Summary, paths, log); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BQDataset != "" {
		prev, err := toBigQuery(ctx, cfg, res, log)
		if err != nil {
			errs = append(errs, err)
		} else if prev != nil && c.NotifyTopic != "" {
			previous = *prev
		}
	}
	if c.SCCSource != "" {
		if err := toSCC(ctx, cfg, res, log); err != nil {
			errs = append(errs, err)
		}
	}
	if c.NotifyTopic != "" {
		if err := publish(ctx, cfg, res, previous, log); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// workbookURL is where a reader opens the uploaded workbook in a browser
// (signed in to Google Cloud); empty when nothing is uploaded.
func workbookURL(c OutputConfig, s audit.Summary) string {
	if c.ReportURI == "" {
		return ""
	}
	bucket, prefix, err := gcsupload.ParseURI(c.ReportURI)
	if err != nil {
		return ""
	}
	return "https://storage.cloud.google.com/" + bucket + "/" + gcsupload.ObjectDir(prefix, s.StartedAt, s.RunID) + WorkbookName
}

func toSCC(ctx context.Context, cfg *Config, res audit.Result, log *slog.Logger) error {
	c := cfg.Output
	client, err := securitycenter.NewClient(ctx, cfg.googleOptions(apiSCC, grpcOptions(sccHostEnv)...)...)
	if err != nil {
		return fmt.Errorf("writing to Security Command Center source %s: %w", c.SCCSource, err)
	}
	defer client.Close()
	sink, err := scc.New(client, scc.Config{Source: c.SCCSource, WorkbookURL: workbookURL(c, res.Summary), WritesPerMinute: c.SCCWritesPerMinute, Logger: log})
	if err != nil {
		return fmt.Errorf("writing to Security Command Center source %s: %w", c.SCCSource, err)
	}
	st, err := sink.Write(ctx, res)
	log.Info("findings written to Security Command Center", "source", c.SCCSource, "written", st.Written, "created", st.Created,
		"updated", st.Updated, "unchanged", st.Unchanged, "reactivated", st.Reactivated, "deactivated", st.Deactivated, "failed", st.Failed)
	if err != nil {
		return fmt.Errorf("writing to Security Command Center source %s: %w", c.SCCSource, err)
	}
	return nil
}

// sccHostEnv names a fake Security Command Center, dialled in plaintext.
const sccHostEnv = "SECURITYCENTER_EMULATOR_HOST"

func publish(ctx context.Context, cfg *Config, res audit.Result, prev notify.Previous, log *slog.Logger) error {
	c := cfg.Output
	project, _ := notify.ParseTopic(c.NotifyTopic)
	// The client honours PUBSUB_EMULATOR_HOST.
	client, err := pubsub.NewClient(ctx, project, cfg.googleOptions(apiPubSub)...)
	if err != nil {
		return fmt.Errorf("notifying %s: %w", c.NotifyTopic, err)
	}
	defer client.Close()
	m := notify.Build(res, prev, 0, workbookURL(c, res.Summary))
	id, err := notify.Publish(ctx, client, c.NotifyTopic, m)
	if err != nil {
		return fmt.Errorf("notifying %s: %w", c.NotifyTopic, err)
	}
	log.Info("run change notice published", "topic", c.NotifyTopic, "message_id", id, "previous", m.Previous,
		"new", m.Counts.New, "resolved", m.Counts.Resolved)
	return nil
}

func upload(ctx context.Context, cfg *Config, s audit.Summary, paths []string, log *slog.Logger) error {
	uri := cfg.Output.ReportURI
	client, err := storage.NewClient(ctx, cfg.googleOptions(apiStorage)...)
	if err != nil {
		return fmt.Errorf("uploading to %s: %w", uri, err)
	}
	defer client.Close()
	objs, err := gcsupload.Upload(ctx, client, uri, s.StartedAt, s.RunID, paths)
	if err != nil {
		return fmt.Errorf("uploading to %s: %w", uri, err)
	}
	log.Info("outputs uploaded", "uri", uri, "objects", len(objs))
	return nil
}

// toBigQuery writes the run; with --notify-topic it first reads the
// previous run's findings to compare with (nil when there is none).
func toBigQuery(ctx context.Context, cfg *Config, res audit.Result, log *slog.Logger) (*notify.Previous, error) {
	c := cfg.Output
	project, dataset, err := bq.ParseDataset(c.BQDataset)
	if err != nil {
		return nil, err
	}
	sink, err := bq.New(ctx, bq.Config{Project: project, Dataset: dataset, Location: c.BQLocation, Endpoint: c.BQEndpoint, Logger: log, ClientOptions: cfg.googleOptions(apiBigQuery)})
	if err != nil {
		return nil, fmt.Errorf("BigQuery %s: %w", c.BQDataset, err)
	}
	defer sink.Close()
	var prev *notify.Previous
	if c.NotifyTopic != "" {
		runID, findings, err := sink.Previous(ctx, res.Summary)
		if err != nil {
			return nil, fmt.Errorf("BigQuery %s: reading the previous run: %w", c.BQDataset, err)
		}
		if runID != "" {
			prev = &notify.Previous{Name: "bigquery:" + runID, Findings: findings}
		}
	}
	if err := sink.Write(ctx, res); err != nil {
		return nil, fmt.Errorf("BigQuery %s: %w", c.BQDataset, err)
	}
	log.Info("run written to BigQuery", "dataset", sink.Dataset(), "findings", len(res.Findings))
	return prev, nil
}
