package bq

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"

	sqlfiles "github.com/runaudit/runaudit/sql"
)

// Contract tests: what the sink sends, request by request, where the
// emulator cannot show the behaviour the design relies on (409 on a
// duplicate job id, WRITE_EMPTY, partitioned DDL, resumable uploads).

func testDataset(t *testing.T) string {
	return "t_" + strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_") + "_" + randomToken()[:6]
}

// realModeSink talks to the emulator through p exactly as it would talk to
// BigQuery (partitioned DDL, resumable uploads); p strips the DDL clauses
// the emulator cannot analyze from what it forwards, not from what it
// records.
func realModeSink(t *testing.T, p *proxy) *Sink {
	t.Helper()
	p.rewrite = func(r *request, body []byte) []byte {
		if r.query() == "" {
			return body
		}
		j := *r.Job
		cfg := *j.Configuration
		q := *cfg.Query
		q.Query = emulatorDDL(q.Query)
		cfg.Query, j.Configuration = &q, &cfg
		b, err := json.Marshal(&j)
		if err != nil {
			t.Errorf("re-encoding job: %v", err)
			return body
		}
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := open(ctx, Config{
		Project:       emulatorProject,
		Dataset:       testDataset(t),
		Endpoint:      p.URL(),
		ClientOptions: []option.ClientOption{option.WithoutAuthentication()},
	}, false)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	s.backoff = 10 * time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

func emulatorModeSink(t *testing.T, p *proxy) *Sink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := New(ctx, Config{Project: emulatorProject, Dataset: testDataset(t), Endpoint: p.URL()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.backoff = 10 * time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

func ddlFiles(t *testing.T) []sqlfiles.File {
	tables, err := sqlfiles.Tables()
	if err != nil {
		t.Fatal(err)
	}
	views, err := sqlfiles.Views()
	if err != nil {
		t.Fatal(err)
	}
	return append(tables, views...)
}

func TestContractRealMode(t *testing.T) {
	p := newProxy(t, emulator(t))
	s := realModeSink(t, p)
	res := night(1, "", true, "A", "A2", "B", "C")
	start := time.Now()
	mustWrite(t, s, res)
	// Payloads under the client's 16 MiB chunk go as one multipart request
	// to BigQuery too; larger ones go resumable, chunk by chunk.
	checkWriteRequests(t, s, p.requests(), res.Summary.RunID, "2026-03-01", start, "multipart", true)
	checkTables(t, s, []string{"coverage 3", "findings 4", "inventory 3", "runs 1"})
}

func TestContractEmulatorMode(t *testing.T) {
	p := newProxy(t, emulator(t))
	s := emulatorModeSink(t, p)
	res := night(1, "", true, "A", "A2", "B", "C")
	start := time.Now()
	mustWrite(t, s, res)
	checkWriteRequests(t, s, p.requests(), res.Summary.RunID, "2026-03-01", start, "multipart", false)
}

func checkTables(t *testing.T, s *Sink, want []string) {
	t.Helper()
	wantRows(t, "table sizes", rows(t, s, countsSQL), want)
}

// checkWriteRequests asserts the whole conversation of New followed by one
// Write.
func checkWriteRequests(t *testing.T, s *Sink, reqs []*request, runID, runDate string, start time.Time, uploadType string, realDDL bool) {
	t.Helper()
	b, err := encode(night(1, "", true, "A", "A2", "B", "C"), start)
	if err != nil {
		t.Fatal(err)
	}

	// New: every DDL file, in order, as a job with a fixed id.
	var ddl []string
	for _, r := range reqs {
		if strings.Contains(r.jobID(), "_ddl_") {
			ddl = append(ddl, r.query())
		}
	}
	var want []string
	for _, f := range ddlFiles(t) {
		sql := sqlfiles.Render(f.SQL, s.project, s.dataset)
		if !realDDL && strings.HasPrefix(f.Path, "tables/") {
			sql = emulatorDDL(sql)
		}
		want = append(want, sql)
	}
	if !slices.Equal(ddl, want) {
		t.Errorf("DDL sent differs from sql/:\n got %d statements\n%s\n want %d statements\n%s", len(ddl), strings.Join(ddl, "\n"), len(want), strings.Join(want, "\n"))
	}
	if realDDL && !strings.Contains(strings.Join(ddl, "\n"), "PARTITION BY run_date\nCLUSTER BY kind, severity, project_id, finding_id") {
		t.Error("the findings DDL sent to BigQuery lacks its partitioning and clustering")
	}

	// Write: one token for every job, ids fixed by the sink.
	idRE := regexp.MustCompile(`^runaudit_` + regexp.QuoteMeta(runKey(runID)) + `_([0-9a-f]{12})_(load_(runs|findings|inventory|coverage)|verify|commit)$`)
	var token string
	pos := map[string]int{}
	for i, r := range reqs {
		if strings.Contains(r.Path, "insertAll") {
			t.Errorf("streaming insert sent: %s", r)
		}
		if r.Job == nil || strings.Contains(r.jobID(), "_ddl_") {
			continue
		}
		m := idRE.FindStringSubmatch(r.jobID())
		if m == nil {
			t.Errorf("job id %q not fixed by the sink", r.jobID())
			continue
		}
		if token == "" {
			token = m[1]
		} else if m[1] != token {
			t.Errorf("job %s: token %s, want one token per write (%s)", r.jobID(), m[1], token)
		}
		if _, dup := pos[m[2]]; dup {
			t.Errorf("job step %s sent twice", m[2])
		}
		pos[m[2]] = i
		if loc := r.Job.JobReference.Location; loc != s.location {
			t.Errorf("job %s: location %q, want %q", r.jobID(), loc, s.location)
		}
	}
	staging := map[string]string{}
	for _, tbl := range tableOrder {
		staging[tbl] = "_runaudit_staging_" + strings.ReplaceAll(runDate, "-", "") + "_" + token + "_" + tbl
	}

	// Staging tables: created with the final schema and an expiry, then
	// loaded once each with WRITE_EMPTY, then dropped after the commit.
	for _, tbl := range tableOrder {
		var created, dropped int = -1, -1
		for i, r := range reqs {
			if r.Method == "POST" && strings.HasSuffix(r.Path, "/datasets/"+s.dataset+"/tables") {
				var tb bqv2.Table
				if err := json.Unmarshal(r.Body, &tb); err != nil {
					t.Fatal(err)
				}
				if tb.TableReference.TableId != staging[tbl] {
					continue
				}
				created = i
				exp := time.UnixMilli(tb.ExpirationTime)
				if exp.Before(start.Add(23*time.Hour)) || exp.After(time.Now().Add(25*time.Hour)) {
					t.Errorf("%s expires at %v, want about a day after the write", staging[tbl], exp)
				}
				var cols []string
				for _, f := range tb.Schema.Fields {
					cols = append(cols, f.Name)
				}
				if !slices.Equal(cols, s.columns[tbl]) {
					t.Errorf("%s created with columns %v, want those of %s: %v", staging[tbl], cols, tbl, s.columns[tbl])
				}
			}
			if r.Method == "DELETE" && strings.HasSuffix(r.Path, "/tables/"+staging[tbl]) {
				dropped = i
			}
		}
		load, ok := pos["load_"+tbl]
		switch {
		case created < 0:
			t.Errorf("staging table %s never created", staging[tbl])
		case !ok:
			t.Errorf("no load job for %s", tbl)
		case dropped < 0:
			t.Errorf("staging table %s never dropped", staging[tbl])
		case !(created < load && load < pos["verify"] && pos["verify"] < pos["commit"] && pos["commit"] < dropped):
			t.Errorf("%s: create %d, load %d, verify %d, commit %d, drop %d: out of order", tbl, created, load, pos["verify"], pos["commit"], dropped)
		}
		if !ok {
			continue
		}
		r := reqs[load]
		l := r.Job.Configuration.Load
		q, _ := url.ParseQuery(r.Query)
		if q.Get("uploadType") != uploadType {
			t.Errorf("load %s: uploadType %q, want %q", tbl, q.Get("uploadType"), uploadType)
		}
		if l.DestinationTable.TableId != staging[tbl] || l.DestinationTable.DatasetId != s.dataset || l.DestinationTable.ProjectId != s.project {
			t.Errorf("load %s: destination %+v, want %s", tbl, l.DestinationTable, staging[tbl])
		}
		if l.WriteDisposition != "WRITE_EMPTY" || l.CreateDisposition != "CREATE_NEVER" || l.SourceFormat != "NEWLINE_DELIMITED_JSON" {
			t.Errorf("load %s: write %q create %q format %q, want WRITE_EMPTY CREATE_NEVER NEWLINE_DELIMITED_JSON",
				tbl, l.WriteDisposition, l.CreateDisposition, l.SourceFormat)
		}
		if uploadType == "multipart" && len(r.Data) != len(b.data[tbl]) {
			// loaded_at differs between runs of encode; the length does not.
			t.Errorf("load %s: %d bytes uploaded, want %d", tbl, len(r.Data), len(b.data[tbl]))
		}
	}

	if i, ok := pos["commit"]; ok {
		if got, want := reqs[i].query(), commitSQL(s.project, s.dataset, runDate, staging, s.columns); got != want {
			t.Errorf("commit query:\n%s\nwant\n%s", got, want)
		}
	} else {
		t.Error("no commit job")
	}
	if i, ok := pos["verify"]; !ok || reqs[i].query() != verifySQL(s.project, s.dataset, staging) {
		t.Error("verify query missing or different")
	}
	for _, r := range reqs {
		if q := r.query(); strings.Contains(q, "MERGE ") || strings.Contains(q, "$20") {
			t.Errorf("query relies on MERGE or a partition decorator: %s", q)
		}
		if r.Job != nil && r.Job.Configuration != nil && r.Job.Configuration.Load != nil && r.Job.Configuration.Load.WriteDisposition == "WRITE_TRUNCATE" {
			t.Errorf("load with WRITE_TRUNCATE: %s", r)
		}
	}
}
