// Package bq is the BigQuery sink: it writes each audit run to a dataset
// whose tables and dashboard views are defined by the DDL in sql/ (package
// sqlfiles), and creates them when they are missing.
//
// A run belongs to the UTC date it started (its run_date), and a date holds
// one run. Write replaces that date's rows in every table atomically:
//
//  1. stage: load each table's rows into a fresh staging table with a load
//     job (never streaming inserts), under a job id fixed before the first
//     request, so a retried request finds its job already there (409) and
//     waits for it instead of loading twice;
//  2. verify: count the staged rows and stop unless each table holds
//     exactly the rows sent;
//  3. commit: one multi-statement transaction deletes the date's rows and
//     inserts the staged ones in every table, so readers see the previous
//     state or the new run, never half of it, and a rerun of the day
//     replaces instead of duplicating;
//  4. drop the staging tables (they also expire after a day, should the
//     process die first).
//
// Write holds the run's rows in memory as newline-delimited JSON (1 to
// 1.5 KB per finding, depending on the reason's length) so that a retried
// upload sends the same bytes under the same job id.
//
// docs/dashboards.md describes the dataset, its views and the dashboards
// built on them.
package bq

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/runaudit/runaudit/internal/audit"
	sqlfiles "github.com/runaudit/runaudit/sql"
)

// defaultLocation is where a missing dataset is created when Config says
// nothing.
const defaultLocation = "US"

// jobLabels mark the sink's jobs for cost attribution and job history.
var jobLabels = map[string]string{"app": "runaudit"}

// stagingTTL bounds how long a staging table outlives a crashed write.
const stagingTTL = 24 * time.Hour

// Sink writes audit runs to one BigQuery dataset.
type Sink struct {
	client   *bigquery.Client
	project  string
	dataset  string
	location string
	media    []googleapi.MediaOption
	// emulator is set for a plain-http endpoint: see Config.Endpoint.
	emulator bool
	log      *slog.Logger
	// columns and schemas describe each table as the dataset has it;
	// staging tables copy the schema, the commit names the columns.
	columns map[string][]string
	schemas map[string]bigquery.Schema

	// Seams for tests.
	now         func() time.Time
	token       func() string
	maxAttempts int
	backoff     time.Duration
}

// New connects to BigQuery and makes sure the dataset, its tables and its
// views exist, from the DDL in sql/: it creates the dataset and the tables
// that are missing (an existing table is left as it is) and applies every
// view again (CREATE OR REPLACE VIEW), so running it again changes nothing
// but the views' text. It fails when an existing table lacks a REQUIRED column the
// sink writes (a table created by an older version): add the column rather
// than lose data; nullable columns added by a later version are added to
// the table (a schema patch). The jobs of a later Write run in the
// dataset's location.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if err := validate(cfg.Project, cfg.Dataset); err != nil {
		return nil, err
	}
	emulator := false
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("BigQuery endpoint %q: want http://HOST:PORT or https://HOST", cfg.Endpoint)
		}
		emulator = u.Scheme == "http"
	}
	return open(ctx, cfg, emulator)
}

// open is New with the emulator accommodations chosen by the caller, so
// tests can also send exactly what real BigQuery receives.
func open(ctx context.Context, cfg Config, emulator bool) (*Sink, error) {
	var opts []option.ClientOption
	var media []googleapi.MediaOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	if emulator {
		// No credentials over plain http, and uploads in one request
		// because the emulator cannot assemble a chunked (resumable) one.
		opts = append(opts, option.WithoutAuthentication())
		media = append(media, googleapi.ChunkSize(0))
	}
	opts = append(opts, cfg.ClientOptions...)
	client, err := bigquery.NewClient(ctx, cfg.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to BigQuery for %s.%s: %w", cfg.Project, cfg.Dataset, err)
	}
	s := &Sink{
		client:      client,
		project:     cfg.Project,
		dataset:     cfg.Dataset,
		media:       media,
		emulator:    emulator,
		log:         cfg.Logger,
		now:         time.Now,
		token:       randomToken,
		maxAttempts: 5,
		backoff:     time.Second,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.setUp(ctx, cfg.Location); err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the client.
func (s *Sink) Close() error { return s.client.Close() }

// Dataset returns PROJECT.DATASET.
func (s *Sink) Dataset() string { return s.project + "." + s.dataset }

// setUp creates what is missing and reads the tables' columns.
func (s *Sink) setUp(ctx context.Context, location string) error {
	if err := s.ensureDataset(ctx, location); err != nil {
		return err
	}
	s.client.Location = s.location
	tables, err := sqlfiles.Tables()
	if err != nil {
		return err
	}
	views, err := sqlfiles.Views()
	if err != nil {
		return err
	}
	token := s.token()
	for _, f := range tables {
		// CREATE TABLE IF NOT EXISTS alone would do on BigQuery, but the
		// emulator fails it on an existing table; asking first also saves
		// a job per table and run.
		_, err := s.client.Dataset(s.dataset).Table(f.Name).Metadata(ctx)
		if err == nil {
			continue
		}
		if !isStatus(err, http.StatusNotFound) {
			return fmt.Errorf("reading table %s.%s: %w", s.Dataset(), f.Name, err)
		}
		if err := s.applyDDL(ctx, token, f); err != nil {
			return err
		}
	}
	if err := s.readColumns(ctx); err != nil {
		return err
	}
	for _, f := range views {
		if s.emulator {
			if err := s.dropViewForEmulator(ctx, token, f.Name); err != nil {
				return err
			}
		}
		if err := s.applyDDL(ctx, token, f); err != nil {
			return err
		}
	}
	return nil
}

// dropViewForEmulator drops an existing view before it is created again:
// the emulator ignores OR REPLACE (and IF EXISTS), and cannot delete a view
// through the tables API.
func (s *Sink) dropViewForEmulator(ctx context.Context, token, name string) error {
	_, err := s.client.Dataset(s.dataset).Table(name).Metadata(ctx)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading view %s.%s: %w", s.Dataset(), name, err)
	}
	sql := "DROP VIEW " + ref(s.project, s.dataset, name)
	if _, err := s.runQuery(ctx, jobID("predrop", token, name), sql); err != nil {
		return fmt.Errorf("dropping view %s.%s to replace it: %w", s.Dataset(), name, err)
	}
	return nil
}

func (s *Sink) applyDDL(ctx context.Context, token string, f sqlfiles.File) error {
	sql := sqlfiles.Render(f.SQL, s.project, s.dataset)
	if s.emulator && strings.HasPrefix(f.Path, "tables/") {
		sql = emulatorDDL(sql)
	}
	if _, err := s.runQuery(ctx, jobID("ddl", token, f.Name), sql); err != nil {
		return fmt.Errorf("applying sql/%s to %s: %w", f.Path, s.Dataset(), err)
	}
	return nil
}

// readColumns reads each table's columns and checks that the sink's rows
// fit them.
func (s *Sink) readColumns(ctx context.Context) error {
	s.columns = map[string][]string{}
	s.schemas = map[string]bigquery.Schema{}
	for _, t := range tableOrder {
		md, err := s.client.Dataset(s.dataset).Table(t).Metadata(ctx)
		if err != nil {
			return fmt.Errorf("reading table %s.%s: %w", s.Dataset(), t, err)
		}
		var missing []string
		for attempt := 0; ; attempt++ {
			have := map[string]bool{}
			s.columns[t] = nil
			for _, f := range md.Schema {
				s.columns[t] = append(s.columns[t], f.Name)
				have[f.Name] = true
			}
			missing = nil
			for _, c := range rowColumns(t) {
				if !have[c] {
					missing = append(missing, c)
				}
			}
			if len(missing) == 0 || attempt > 0 {
				break
			}
			// A table made by an older version: add what can be added,
			// then read the table again.
			left, err := s.addColumns(ctx, md, t, missing)
			if err != nil {
				return err
			}
			if len(left) > 0 {
				missing = left
				break
			}
			if md, err = s.client.Dataset(s.dataset).Table(t).Metadata(ctx); err != nil {
				return fmt.Errorf("reading table %s.%s: %w", s.Dataset(), t, err)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("table %s.%s lacks columns %s that this version writes (created by an older version?): add them with ALTER TABLE ... ADD COLUMN as in sql/tables/%s.sql",
				s.Dataset(), t, strings.Join(missing, ", "), t)
		}
		s.schemas[t] = md.Schema
	}
	return nil
}

func (s *Sink) ensureDataset(ctx context.Context, location string) error {
	ds := s.client.Dataset(s.dataset)
	md, err := ds.Metadata(ctx)
	if isStatus(err, http.StatusNotFound) {
		if location == "" {
			location = defaultLocation
		}
		err = ds.Create(ctx, &bigquery.DatasetMetadata{
			Location:    location,
			Description: "runaudit: Cloud Run image-access audit runs, findings and dashboard views (see docs/dashboards.md).",
		})
		if err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("creating dataset %s in %s: %w", s.Dataset(), location, err)
		}
		if md, err = ds.Metadata(ctx); err != nil {
			return fmt.Errorf("reading dataset %s after creating it: %w", s.Dataset(), err)
		}
	} else if err != nil {
		return fmt.Errorf("reading dataset %s: %w", s.Dataset(), err)
	}
	s.location = md.Location
	if s.location == "" {
		s.location = location
	}
	if location != "" && !strings.EqualFold(location, s.location) {
		return fmt.Errorf("dataset %s is in %s, not %s", s.Dataset(), s.location, location)
	}
	return nil
}

// Write stores one run, replacing any earlier run of the same run_date. On
// error the dataset is unchanged (BigQuery rolls back a failed commit). A
// Sink may be shared; two Writes of the same run date race, and BigQuery
// may fail one of them with a concurrent-update error.
func (s *Sink) Write(ctx context.Context, res audit.Result) error {
	b, err := encode(res, s.now())
	if err != nil {
		return fmt.Errorf("BigQuery sink: %w", err)
	}
	w := s.newWrite(b)
	defer w.dropStaging(ctx)
	if err := w.stage(ctx); err != nil {
		return fmt.Errorf("BigQuery sink: staging run %s (%s): %w", b.runID, b.runDate, err)
	}
	if err := w.verify(ctx); err != nil {
		return fmt.Errorf("BigQuery sink: verifying run %s (%s): %w", b.runID, b.runDate, err)
	}
	if err := w.commit(ctx); err != nil {
		return fmt.Errorf("BigQuery sink: committing run %s (%s) to %s: %w", b.runID, b.runDate, s.Dataset(), err)
	}
	return nil
}

// write is one attempt at writing one run: its staging tables and job ids
// are fixed when it starts.
type write struct {
	s       *Sink
	b       *batch
	token   string
	staging map[string]string
	created []string
}

func (s *Sink) newWrite(b *batch) *write {
	w := &write{s: s, b: b, token: s.token(), staging: map[string]string{}}
	for _, t := range tableOrder {
		w.staging[t] = fmt.Sprintf("_runaudit_staging_%s_%s_%s", strings.ReplaceAll(b.runDate, "-", ""), w.token, t)
	}
	return w
}

// jobID names one step's job. Ids are unique per write attempt (token) and
// identical across retries of a request within it; the run id makes them
// findable in the job history.
func (w *write) jobID(step string) string {
	return jobID(runKey(w.b.runID), w.token, step)
}

func (w *write) stage(ctx context.Context) error {
	s := w.s
	for _, t := range tableOrder {
		tbl := s.client.Dataset(s.dataset).Table(w.staging[t])
		err := tbl.Create(ctx, &bigquery.TableMetadata{
			Schema:         s.schemas[t],
			ExpirationTime: s.now().Add(stagingTTL),
			Description:    fmt.Sprintf("runaudit staging for run %s; dropped after commit.", w.b.runID),
		})
		// The name is unique to this attempt: a 409 can only come from our
		// own retried request.
		if err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("creating staging table %s: %w", w.staging[t], err)
		}
		w.created = append(w.created, w.staging[t])
		if w.b.rows[t] == 0 {
			continue
		}
		data := w.b.data[t]
		id := w.jobID("load_" + t)
		_, err = s.runJob(ctx, id, func(ctx context.Context) (*bigquery.Job, error) {
			src := bigquery.NewReaderSource(bytes.NewReader(data))
			src.SourceFormat = bigquery.JSON
			l := tbl.LoaderFrom(src)
			l.JobID = id
			l.Location = s.location
			// The staging table exists and is empty: a second load into it
			// fails instead of appending.
			l.CreateDisposition = bigquery.CreateNever
			l.WriteDisposition = bigquery.WriteEmpty
			l.MediaOptions = s.media
			l.Labels = jobLabels
			return l.Run(ctx)
		})
		if err != nil {
			return fmt.Errorf("loading %d rows into %s: %w", w.b.rows[t], w.staging[t], err)
		}
	}
	return nil
}

func (w *write) verify(ctx context.Context) error {
	s := w.s
	job, err := s.runQuery(ctx, w.jobID("verify"), verifySQL(s.project, s.dataset, w.staging))
	if err != nil {
		return err
	}
	it, err := job.Read(ctx)
	if err != nil {
		return fmt.Errorf("reading staged row counts: %w", err)
	}
	var row map[string]bigquery.Value
	if err := it.Next(&row); err != nil {
		return fmt.Errorf("reading staged row counts: %w", err)
	}
	if err := it.Next(&row); err != iterator.Done {
		return fmt.Errorf("reading staged row counts: want one row, got more (%v)", err)
	}
	var bad []string
	for _, t := range tableOrder {
		got, ok := row[t].(int64)
		if !ok || got != int64(w.b.rows[t]) {
			bad = append(bad, fmt.Sprintf("%s: staged %v rows, sent %d", t, row[t], w.b.rows[t]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("staged rows differ from the rows sent (%s)", strings.Join(bad, "; "))
	}
	return nil
}

func (w *write) commit(ctx context.Context) error {
	s := w.s
	_, err := s.runQuery(ctx, w.jobID("commit"), commitSQL(s.project, s.dataset, w.b.runDate, w.staging, s.columns))
	return err
}

// dropStaging removes the attempt's staging tables, even when ctx is done.
// A failure is logged, not returned: the run is written (or not) already,
// and the tables expire on their own.
func (w *write) dropStaging(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, name := range w.created {
		err := w.s.client.Dataset(w.s.dataset).Table(name).Delete(ctx)
		if err != nil && !isStatus(err, http.StatusNotFound) {
			w.s.log.Warn("BigQuery sink: could not drop staging table; it expires within a day",
				"table", w.s.Dataset()+"."+name, "err", err)
		}
	}
}

// runQuery runs sql as a job named id and waits for it.
func (s *Sink) runQuery(ctx context.Context, id, sql string) (*bigquery.Job, error) {
	return s.runJob(ctx, id, func(ctx context.Context) (*bigquery.Job, error) {
		q := s.client.Query(sql)
		q.JobID = id
		q.Location = s.location
		q.Labels = jobLabels
		return q.Run(ctx)
	})
}

// runJob starts a job under the fixed id and waits for it to finish. A
// start that may not have reached BigQuery (a transport error, 5xx, 429) is
// retried under the same id; if BigQuery answers 409, an earlier attempt
// did create the job, and runJob waits for that job instead of starting
// another. That is what keeps a retried load from loading twice.
func (s *Sink) runJob(ctx context.Context, id string, start func(context.Context) (*bigquery.Job, error)) (*bigquery.Job, error) {
	var first error
	for attempt := 1; ; attempt++ {
		job, err := start(ctx)
		if isStatus(err, http.StatusConflict) {
			job, err = s.client.JobFromIDLocation(ctx, id, s.location)
			if err != nil {
				return nil, fmt.Errorf("job %s already exists, but reading it failed: %w", id, err)
			}
		}
		if err == nil {
			status, err := job.Wait(ctx)
			if err != nil {
				return nil, fmt.Errorf("waiting for job %s: %w", id, err)
			}
			if err := status.Err(); err != nil {
				return nil, fmt.Errorf("job %s failed: %w", id, err)
			}
			return job, nil
		}
		if first == nil {
			first = err
		}
		if attempt >= s.maxAttempts || !retryable(ctx, err) {
			if attempt > 1 {
				return nil, fmt.Errorf("starting job %s: %w (after %d attempts; first error: %v)", id, err, attempt, first)
			}
			return nil, fmt.Errorf("starting job %s: %w", id, err)
		}
		t := time.NewTimer(s.backoff << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("starting job %s: %w (last error: %v)", id, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// retryable reports whether a failed request may simply not have arrived
// and is worth repeating under the same job id.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch gerr.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	// Transport errors (connection reset, EOF, timeouts) carry no status.
	var uerr *url.Error
	return errors.As(err, &uerr)
}

func isStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// runKey makes a run id usable in job ids: readable, and still unique by a
// short hash of the original.
func runKey(runID string) string {
	k := unsafeID.ReplaceAllString(runID, "_")
	if len(k) > 64 {
		k = k[:64]
	}
	sum := sha256.Sum256([]byte(runID))
	return k + "_" + hex.EncodeToString(sum[:4])
}

func jobID(parts ...string) string { return "runaudit_" + strings.Join(parts, "_") }

func randomToken() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// rowColumns lists the JSON keys, i.e. the columns, the sink writes to a
// table.
func rowColumns(table string) []string {
	var v any
	switch table {
	case tableRuns:
		v = runRow{}
	case tableFindings:
		v = findingRow{}
	case tableInventory:
		v = inventoryRow{}
	case tableCoverage:
		v = coverageRow{}
	}
	t := reflect.TypeOf(v)
	cols := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		cols = append(cols, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
	}
	return cols
}
