package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"cloud.google.com/go/storage"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/exceptions"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/report/bq"
	"github.com/runaudit/runaudit/internal/report/gcsupload"
	"github.com/runaudit/runaudit/internal/report/xlsx"
)

// WorkbookName is the workbook's file name in the output directory.
const WorkbookName = "report.xlsx"

// OutputConfig says where results go.
type OutputConfig struct {
	Dir        string
	Baseline   string
	ReportURI  string
	BQDataset  string
	BQEndpoint string
	BQLocation string
	// Exceptions is the --exceptions file; exceptions is it parsed, by check.
	Exceptions string
	exceptions *exceptions.File
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
	fs.StringVar(&c.Exceptions, "exceptions", "", "YAML file of accepted risks (reason, owner, expires each): matched findings are marked excepted and counted apart from open ones (see examples/exceptions.yaml)")
	def("exceptions", "AUDIT_EXCEPTIONS")
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
func write(ctx context.Context, cfg *Config, res audit.Result, log *slog.Logger) error {
	c := cfg.Output
	paths, err := report.WriteLocal(c.Dir, res)
	if err != nil {
		return err
	}
	var errs []error
	opts := xlsx.Options{AssetTypes: inventory.AssetTypes}
	if c.Baseline != "" {
		base, err := report.ReadFindings(c.Baseline)
		if err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
		opts.Baseline, opts.HaveBaseline, opts.BaselineName = base, true, c.Baseline
	}
	book := filepath.Join(c.Dir, WorkbookName)
	if err := xlsx.Write(book, res, opts); err != nil {
		errs = append(errs, fmt.Errorf("workbook: %w", err))
	} else {
		paths = append(paths, book)
	}
	log.Info("outputs written", "dir", c.Dir, "files", len(paths))

	if c.ReportURI != "" {
		if err := upload(ctx, c.ReportURI, res.Summary, paths, log); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BQDataset != "" {
		if err := toBigQuery(ctx, c, res, log); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func upload(ctx context.Context, uri string, s audit.Summary, paths []string, log *slog.Logger) error {
	client, err := storage.NewClient(ctx)
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

func toBigQuery(ctx context.Context, c OutputConfig, res audit.Result, log *slog.Logger) error {
	project, dataset, err := bq.ParseDataset(c.BQDataset)
	if err != nil {
		return err
	}
	sink, err := bq.New(ctx, bq.Config{Project: project, Dataset: dataset, Location: c.BQLocation, Endpoint: c.BQEndpoint, Logger: log})
	if err != nil {
		return fmt.Errorf("BigQuery %s: %w", c.BQDataset, err)
	}
	defer sink.Close()
	if err := sink.Write(ctx, res); err != nil {
		return fmt.Errorf("BigQuery %s: %w", c.BQDataset, err)
	}
	log.Info("run written to BigQuery", "dataset", sink.Dataset(), "findings", len(res.Findings))
	return nil
}
