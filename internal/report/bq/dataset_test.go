package bq

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/iterator"
)

// The tables New creates from sql/ have exactly the columns the sink
// writes, in the same order.
func TestTablesMatchRows(t *testing.T) {
	s := newSink(t, emulator(t))
	for _, tbl := range tableOrder {
		if !slices.Equal(s.columns[tbl], rowColumns(tbl)) {
			t.Errorf("table %s has columns\n %v\nthe sink writes\n %v", tbl, s.columns[tbl], rowColumns(tbl))
		}
	}
}

// Every value of a run comes back from BigQuery as it was sent.
func TestRoundTrip(t *testing.T) {
	s := newSink(t, emulator(t))
	loaded := time.Date(2026, 3, 2, 4, 32, 0, 0, time.UTC)
	s.now = func() time.Time { return loaded }
	res := sampleResult()
	mustWrite(t, s, res)
	b, err := encode(res, loaded)
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tableOrder {
		var want []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(b.data[tbl])), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			want = append(want, m)
		}
		got := readTable(t, s, tbl)
		slices.SortFunc(want, func(a, b map[string]any) int {
			x, _ := json.Marshal(a)
			y, _ := json.Marshal(b)
			return strings.Compare(string(x), string(y))
		})
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("%s read back:\n%s\nsent:\n%s", tbl, gotJSON, wantJSON)
		}
	}
}

// readTable reads a table's rows in a stable order as JSON-like values, in
// the form the sink sends them (dates and timestamps as strings, numbers as
// float64, records as objects).
func readTable(t *testing.T, s *Sink, table string) []map[string]any {
	t.Helper()
	ctx := context.Background()
	sql := fmt.Sprintf("SELECT * FROM `%s.%s`", s.Dataset(), table)
	it, err := s.client.Query(sql).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for {
		var vals []bigquery.Value
		err := it.Next(&vals)
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, record(it.Schema, vals))
	}
	slices.SortFunc(out, func(a, b map[string]any) int {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return strings.Compare(string(x), string(y))
	})
	return out
}

func record(schema bigquery.Schema, vals []bigquery.Value) map[string]any {
	m := map[string]any{}
	for i, f := range schema {
		m[f.Name] = value(f, vals[i])
	}
	return m
}

func value(f *bigquery.FieldSchema, v bigquery.Value) any {
	if f.Repeated {
		out := []any{}
		for _, e := range v.([]bigquery.Value) {
			g := *f
			g.Repeated = false
			out = append(out, value(&g, e))
		}
		return out
	}
	switch x := v.(type) {
	case nil:
		return nil
	case []bigquery.Value: // a record
		return record(f.Schema, x)
	case civil.Date:
		return x.String()
	case time.Time:
		return *timestamp(x)
	case int64:
		return float64(x)
	}
	return v
}

// New on an existing dataset changes nothing but the views' text, and keeps
// the data.
func TestNewIsIdempotent(t *testing.T) {
	endpoint := emulator(t)
	s := newSink(t, endpoint)
	mustWrite(t, s, night(1, "", true, "A", "B"))
	for i := 0; i < 2; i++ {
		again, err := New(context.Background(), Config{Project: emulatorProject, Dataset: s.dataset, Endpoint: endpoint})
		if err != nil {
			t.Fatalf("New on an existing dataset: %v", err)
		}
		again.Close()
	}
	checkTables(t, s, []string{"coverage 3", "findings 2", "inventory 3", "runs 1"})
	assertNoStaging(t, s)
	// The recreated views still read the tables.
	wantRows(t, "latest_findings", rows(t, s, "SELECT kind FROM `${dataset}.latest_findings` ORDER BY 1"),
		[]string{"DEPLOYER_CANNOT_READ_IMAGE", "SERVICE_AGENT_CANNOT_READ_IMAGE"})
	mustWrite(t, s, night(2, "", true, "C"))
	wantRows(t, "remediation_progress", rows(t, s, "SELECT status, COUNT(*) FROM `${dataset}.remediation_progress` GROUP BY 1 ORDER BY 1"),
		[]string{"OPEN 1", "RESOLVED 2"})
}

// A table created by an older version, lacking a column the sink writes,
// stops New with a message that says what to add.
func TestNewReportsMissingColumns(t *testing.T) {
	endpoint := emulator(t)
	s := newSink(t, endpoint)
	ctx := context.Background()
	md, err := s.client.Dataset(s.dataset).Table(tableFindings).Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds := testDataset(t)
	if err := s.client.Dataset(ds).Create(ctx, &bigquery.DatasetMetadata{Location: "US"}); err != nil {
		t.Fatal(err)
	}
	old := slices.DeleteFunc(slices.Clone(md.Schema), func(f *bigquery.FieldSchema) bool {
		return f.Name == "confirmation" || f.Name == "actionable"
	})
	if err := s.client.Dataset(ds).Table(tableFindings).Create(ctx, &bigquery.TableMetadata{Schema: old}); err != nil {
		t.Fatal(err)
	}
	_, err = New(ctx, Config{Project: emulatorProject, Dataset: ds, Endpoint: endpoint})
	// actionable is REQUIRED: it cannot be added; confirmation (nullable)
	// was added, so it is no longer named.
	want := "table " + emulatorProject + "." + ds + ".findings lacks columns actionable that this version writes"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("New: %v; want an error containing %q", err, want)
	}
}

// A table created before the exception columns (or coverage's
// worker_pools) existed gets them: New
// patches its schema through the tables API with the old columns followed
// by the new nullable ones, as BigQuery documents for adding columns. The
// emulator accepts the patch but does not apply it to its storage (it also
// lacks ALTER TABLE ADD COLUMN), so this test checks the request sent, not
// the table after it.
func TestNewAddsNullableColumns(t *testing.T) {
	endpoint := emulator(t)
	s := newSink(t, endpoint)
	ctx := context.Background()
	added := map[string][]string{
		tableFindings: {"excepted", "exception_where", "exception_reason", "exception_owner", "exception_expires"},
		tableRuns:     {"excepted_findings", "open_findings", "expired_exceptions", "unmatched_exceptions"},
		tableCoverage: {"worker_pools"},
	}
	types := map[string]string{"excepted": "BOOLEAN", "exception_where": "STRING", "excepted_findings": "INTEGER", "worker_pools": "INTEGER"}
	for tbl, cols := range added {
		// One older table per dataset: New stops at the first table it
		// cannot bring up to date.
		ds := testDataset(t) + "_" + tbl
		if err := s.client.Dataset(ds).Create(ctx, &bigquery.DatasetMetadata{Location: "US"}); err != nil {
			t.Fatal(err)
		}
		md, err := s.client.Dataset(s.dataset).Table(tbl).Metadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old := slices.DeleteFunc(slices.Clone(md.Schema), func(f *bigquery.FieldSchema) bool { return slices.Contains(cols, f.Name) })
		if len(old) != len(md.Schema)-len(cols) {
			t.Fatalf("%s: the columns to drop are not all in the DDL", tbl)
		}
		if err := s.client.Dataset(ds).Table(tbl).Create(ctx, &bigquery.TableMetadata{Schema: old}); err != nil {
			t.Fatal(err)
		}
		p := newProxy(t, endpoint)
		if again, err := New(ctx, Config{Project: emulatorProject, Dataset: ds, Endpoint: p.URL()}); err == nil {
			again.Close()
		}
		patches := 0
		for _, r := range p.requests() {
			if r.Method != http.MethodPatch {
				continue
			}
			patches++
			if !strings.HasSuffix(r.Path, "/tables/"+tbl) {
				t.Errorf("patch of %s, want only %s", r.Path, tbl)
				continue
			}
			var body bqv2.Table
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("patch of %s: %v", tbl, err)
			}
			var names []string
			for _, f := range body.Schema.Fields {
				names = append(names, f.Name)
				if want, ok := types[f.Name]; ok && f.Type != want {
					t.Errorf("%s.%s patched as %s, want %s", tbl, f.Name, f.Type, want)
				}
				if slices.Contains(cols, f.Name) && (f.Mode == "REQUIRED" || f.Description == "") {
					t.Errorf("%s.%s added as %q or without a description", tbl, f.Name, f.Mode)
				}
			}
			if want := rowColumns(tbl); !slices.Equal(names, want) {
				t.Errorf("patch of %s has columns\n %v\nwant\n %v", tbl, names, want)
			}
		}
		if patches != 1 {
			t.Errorf("%s: %d schema patches, want 1", tbl, patches)
		}
	}
}

// A dataset that exists elsewhere is not written to silently.
func TestNewRejectsOtherLocation(t *testing.T) {
	endpoint := emulator(t)
	s := newSink(t, endpoint)
	_, err := New(context.Background(), Config{Project: emulatorProject, Dataset: s.dataset, Endpoint: endpoint, Location: "asia-northeast1"})
	if err == nil || !strings.Contains(err.Error(), "not asia-northeast1") {
		t.Fatalf("New with another location: %v", err)
	}
}

// A result the sink cannot store is refused before anything is sent, and
// the dataset keeps what it had.
func TestWriteRejectsInvalidResult(t *testing.T) {
	s := newSink(t, emulator(t))
	mustWrite(t, s, night(1, "", true, "A"))
	bad := night(1, "-rerun", true, "B")
	bad.Findings[0].FindingID = ""
	err := s.Write(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "finding 0") {
		t.Fatalf("Write: %v; want the bad finding named", err)
	}
	checkTables(t, s, []string{"coverage 3", "findings 1", "inventory 3", "runs 1"})
	assertNoStaging(t, s)
}

// A commit that fails is reported, the staging tables are dropped, and the
// next write of the day leaves exactly that run. BigQuery rolls a failed
// transaction back as a whole (https://cloud.google.com/bigquery/docs/transactions);
// the emulator cannot show that: it accepts BEGIN/COMMIT TRANSACTION, lacks
// ROLLBACK, and keeps what the statements before the failing one did. So
// this test asserts what holds on both, and TestContract* pin the single
// transaction the sink sends.
func TestFailedCommitIsReportedAndRepaired(t *testing.T) {
	p := newProxy(t, emulator(t))
	s := emulatorModeSink(t, p)
	mustWrite(t, s, night(1, "", true, "A", "B", "C"))

	// The commit's last INSERT reads a staging table that does not exist.
	p.rewrite = func(r *request, body []byte) []byte {
		if strings.HasSuffix(r.jobID(), "_commit") {
			return []byte(strings.Replace(string(body), "_coverage`", "_gone`", 1))
		}
		return body
	}
	err := s.Write(context.Background(), night(1, "-rerun", true, "D"))
	if err == nil || !strings.Contains(err.Error(), "committing run nightly-2026-03-01-rerun (2026-03-01)") || !strings.Contains(err.Error(), "_gone") {
		t.Fatalf("Write: %v; want the failed commit reported", err)
	}
	assertNoStaging(t, s)

	p.rewrite = nil
	mustWrite(t, s, night(1, "-rerun2", true, "D"))
	checkTables(t, s, []string{"coverage 3", "findings 1", "inventory 3", "runs 1"})
	for _, tbl := range tableOrder {
		wantRows(t, tbl+" run ids", rows(t, s, "SELECT DISTINCT run_id FROM `${dataset}."+tbl+"`"), []string{"nightly-2026-03-01-rerun2"})
	}
}

// A reader racing with rewrites of the same day sees one whole run at a
// time: the run row's finding count always matches the findings rows.
func TestReadersSeeWholeRuns(t *testing.T) {
	s := newSink(t, emulator(t))
	runs := [][]string{{"A", "A2", "B", "C"}, {"D"}}
	mustWrite(t, s, night(1, "-v0", true, runs[0]...))

	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		mu      sync.Mutex
		seen    = map[string]bool{}
		badSeen []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got := rows(t, s, "SELECT r.run_id, r.findings, (SELECT COUNT(*) FROM `${dataset}.findings` f WHERE f.run_date = r.run_date), "+
				"(SELECT COUNT(*) FROM `${dataset}.findings` f WHERE f.run_id != r.run_id) FROM `${dataset}.runs` r")
			mu.Lock()
			for _, r := range got {
				f := strings.Fields(r)
				seen[f[0]] = true
				if f[1] != f[2] || f[3] != "0" {
					badSeen = append(badSeen, r)
				}
			}
			if len(got) != 1 {
				badSeen = append(badSeen, fmt.Sprintf("%d run rows", len(got)))
			}
			mu.Unlock()
		}
	}()
	for i := 1; i <= 4; i++ {
		mustWrite(t, s, night(1, fmt.Sprintf("-v%d", i), true, runs[i%2]...))
	}
	close(stop)
	wg.Wait()
	if len(badSeen) > 0 {
		t.Errorf("a reader saw a half-written day: %q", badSeen)
	}
	if len(seen) < 2 {
		t.Errorf("the reader saw only %v: the race did not happen", seen)
	}
}
