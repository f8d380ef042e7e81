package bq

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/runaudit/runaudit/internal/audit"
)

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// newSink opens a sink on a dataset of its own in the shared emulator.
func newSink(t *testing.T, endpoint string) *Sink {
	t.Helper()
	ds := "t_" + strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_") + "_" + randomToken()[:6]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := New(ctx, Config{Project: emulatorProject, Dataset: ds, Endpoint: endpoint})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.backoff = 10 * time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

// rows runs sql (with ${dataset} standing for the sink's dataset) and
// formats each result row as its values joined by spaces, NULL for null.
func rows(t *testing.T, s *Sink, sql string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sql = strings.ReplaceAll(sql, "${dataset}", s.Dataset())
	it, err := s.client.Query(sql).Read(ctx)
	if err != nil {
		t.Fatalf("query %s: %v", sql, err)
	}
	var out []string
	for {
		var vals []bigquery.Value
		err := it.Next(&vals)
		if err == iterator.Done {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", sql, err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
}

func wantRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// The nightly fixture: five findings (A–E) over five runs.
var fixture = map[string]audit.Finding{
	"A": {Kind: audit.DeployerCannotReadImage, Severity: audit.High, ProjectID: "app-a",
		Resource:  "//run.googleapis.com/projects/app-a/locations/europe-west1/services/api",
		Principal: "serviceAccount:ci@ci.iam.gserviceaccount.com", Image: "europe-docker.pkg.dev/img/apps/api:1",
		Repository: "projects/img/locations/europe/repositories/apps", Folders: []string{"200", "100"}},
	"B": {Kind: audit.ServiceAgentCannotReadImage, Severity: audit.Critical, ProjectID: "app-b",
		Resource:  "//run.googleapis.com/projects/app-b/locations/us-central1/jobs/worker",
		Principal: "serviceAccount:service-2222@serverless-robot-prod.iam.gserviceaccount.com",
		Image:     "us-docker.pkg.dev/img/jobs/worker:7", Repository: "projects/img/locations/us/repositories/jobs",
		Folders: []string{"300", "100"}},
	"C": {Kind: audit.DeployerCannotReadImage, Severity: audit.High, ProjectID: "app-a",
		Resource:  "//run.googleapis.com/projects/app-a/locations/europe-west1/services/web",
		Principal: "user:bob@example.com", Image: "europe-docker.pkg.dev/img/apps/web:3",
		Repository: "projects/img/locations/europe/repositories/apps", Folders: []string{"200", "100"}},
	"D": {Kind: audit.RemoteRepoSecretInaccessible, Severity: audit.Medium, ProjectID: "registry",
		Resource:   "//artifactregistry.googleapis.com/projects/registry/locations/us/repositories/dockerhub",
		Principal:  "serviceAccount:service-4444@gcp-sa-artifactregistry.iam.gserviceaccount.com",
		Repository: "projects/registry/locations/us/repositories/dockerhub",
		Secret:     "projects/registry/secrets/hub/versions/1"},
	"E": {Kind: audit.ImageOutsideOrganization, Severity: audit.Info, ProjectID: "app-b",
		Resource: "//run.googleapis.com/projects/app-b/locations/us-central1/jobs/worker",
		Image:    "docker.io/vendor/tool:2", Folders: []string{"300", "100"}},
}

func fixtureFinding(key string) audit.Finding {
	f := fixture[key]
	f.Organization = "999"
	f.Folders = slices.Clone(f.Folders)
	f.Reason = "fixture finding " + key
	f.FindingID = audit.ID(f.Kind, f.Resource, f.Principal, f.Repository)
	return f
}

// night builds the run of 2026-03-DD holding the named findings ("A2" is a
// second image of finding A: same finding id, another row).
func night(day int, suffix string, complete bool, keys ...string) audit.Result {
	start := time.Date(2026, 3, day, 2, 0, 0, 0, time.UTC)
	res := audit.Result{Summary: audit.Summary{
		RunID:        fmt.Sprintf("nightly-2026-03-%02d%s", day, suffix),
		Version:      "test",
		Organization: "999",
		Scope:        "organizations/999",
		Source:       "export",
		StartedAt:    start,
		FinishedAt:   start.Add(time.Minute),
		Complete:     complete,
	}}
	if !complete {
		res.Summary.Gaps = []audit.Gap{{Scope: "projects/app-a", Reason: "PERMISSION_DENIED"}}
	}
	present := map[string]bool{}
	for _, k := range keys {
		f := fixtureFinding(k[:1])
		if k == "A2" {
			f.Image = "europe-docker.pkg.dev/img/apps/api-sidecar:1"
		}
		present[k[:1]] = true
		res.Findings = append(res.Findings, f)
	}
	res.Summary.Findings = len(res.Findings)
	inv := func(name, project string, atRisk, unverified bool) audit.InventoryRow {
		v := audit.VerdictOK
		if atRisk {
			v = audit.VerdictAtRisk
		} else if unverified {
			v = audit.VerdictUnverified
		}
		return audit.InventoryRow{Resource: "//run.googleapis.com/projects/" + project + "/locations/l/services/" + name,
			ResourceType: "run.googleapis.com/Service", ProjectID: project, Container: name, Image: name + ":1",
			Verdict: v, Folders: []string{"200", "100"}, Organization: "999"}
	}
	res.Inventory = []audit.InventoryRow{inv("api", "app-a", present["A"], false), inv("web", "app-a", present["C"], false)}
	if suffix == "" || day != 3 { // the rerun of day 3 no longer has worker
		res.Inventory = append(res.Inventory, inv("worker", "app-b", present["B"], present["E"]))
	}
	for _, p := range []string{"app-a", "app-b", "registry"} {
		c := audit.ProjectCoverage{ProjectID: p, ProjectNumber: "1" + p, Services: 1}
		if !complete && p == "app-a" {
			c.Gaps = []string{"run.googleapis.com/Service: PERMISSION_DENIED"}
		}
		res.Coverage = append(res.Coverage, c)
	}
	return res
}

func mustWrite(t *testing.T, s *Sink, res audit.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Write(ctx, res); err != nil {
		t.Fatalf("Write %s: %v", res.Summary.RunID, err)
	}
}

const countsSQL = `
SELECT 'runs', COUNT(*) FROM ` + "`${dataset}.runs`" + `
UNION ALL SELECT 'findings', COUNT(*) FROM ` + "`${dataset}.findings`" + `
UNION ALL SELECT 'inventory', COUNT(*) FROM ` + "`${dataset}.inventory`" + `
UNION ALL SELECT 'coverage', COUNT(*) FROM ` + "`${dataset}.coverage`" + `
ORDER BY 1`

const perDaySQL = "SELECT CAST(run_date AS STRING), run_id, COUNT(*) FROM `${dataset}.%s` GROUP BY 1, 2 ORDER BY 1"

func fmtPerDay(table string) string { return fmt.Sprintf(perDaySQL, table) }

// TestNightlyRuns seeds five nightly runs, reruns one day, and checks the
// tables' exact contents and every view against the emulator.
func TestNightlyRuns(t *testing.T) {
	s := newSink(t, emulator(t))
	mustWrite(t, s, night(1, "", true, "A", "A2", "B", "C"))
	mustWrite(t, s, night(2, "", true, "A", "B", "D"))
	mustWrite(t, s, night(3, "", true, "A", "B", "D", "E"))
	wantRows(t, "findings per day before the rerun", rows(t, s, fmtPerDay("findings")), []string{
		"2026-03-01 nightly-2026-03-01 4", "2026-03-02 nightly-2026-03-02 3", "2026-03-03 nightly-2026-03-03 4",
	})
	// The rerun of day 3: B and E are gone, and so is the worker job.
	mustWrite(t, s, night(3, "-rerun", true, "A", "D"))
	mustWrite(t, s, night(4, "", false, "D"))
	mustWrite(t, s, night(5, "", true, "C", "D"))

	wantRows(t, "table sizes", rows(t, s, countsSQL), []string{
		"coverage 15", "findings 12", "inventory 14", "runs 5",
	})
	wantRows(t, "findings per day", rows(t, s, fmtPerDay("findings")), []string{
		"2026-03-01 nightly-2026-03-01 4", "2026-03-02 nightly-2026-03-02 3", "2026-03-03 nightly-2026-03-03-rerun 2",
		"2026-03-04 nightly-2026-03-04 1", "2026-03-05 nightly-2026-03-05 2",
	})
	wantRows(t, "inventory per day", rows(t, s, fmtPerDay("inventory")), []string{
		"2026-03-01 nightly-2026-03-01 3", "2026-03-02 nightly-2026-03-02 3", "2026-03-03 nightly-2026-03-03-rerun 2",
		"2026-03-04 nightly-2026-03-04 3", "2026-03-05 nightly-2026-03-05 3",
	})
	wantRows(t, "runs", rows(t, s, "SELECT CAST(run_date AS STRING), run_id, complete, findings, actionable_findings, ARRAY_LENGTH(gaps) FROM `${dataset}.runs` ORDER BY 1"), []string{
		"2026-03-01 nightly-2026-03-01 true 4 4 0",
		"2026-03-02 nightly-2026-03-02 true 3 3 0",
		"2026-03-03 nightly-2026-03-03-rerun true 2 2 0",
		"2026-03-04 nightly-2026-03-04 false 1 1 1",
		"2026-03-05 nightly-2026-03-05 true 2 2 0",
	})

	id := func(k string) string { return fixtureFinding(k).FindingID }
	name := map[string]string{}
	for k := range fixture {
		name[id(k)] = k
	}
	// named replaces the finding id in the first column with its letter.
	named := func(in []string) []string {
		out := make([]string, len(in))
		for i, r := range in {
			first, rest, _ := strings.Cut(r, " ")
			if n, ok := name[first]; ok {
				first = n
			}
			out[i] = first + " " + rest
		}
		slices.Sort(out)
		return out
	}

	t.Run("remediation_progress", func(t *testing.T) {
		got := named(rows(t, s, `SELECT finding_id, CAST(first_seen AS STRING), CAST(last_seen AS STRING),
			IFNULL(CAST(resolved_on AS STRING), 'NULL'), status, CAST(open_since AS STRING), times_reopened, runs_seen, days_open
			FROM `+"`${dataset}.remediation_progress`"))
		wantRows(t, "remediation_progress", got, []string{
			// A: absent from the incomplete run of the 4th, so resolved only on the 5th.
			"A 2026-03-01 2026-03-03 2026-03-05 RESOLVED 2026-03-01 0 3 4",
			// B: the rerun of the 3rd replaced the first write, which had it.
			"B 2026-03-01 2026-03-02 2026-03-03 RESOLVED 2026-03-01 0 2 2",
			// C: resolved on the 2nd, back on the 5th.
			"C 2026-03-01 2026-03-05 NULL OPEN 2026-03-05 1 2 4",
			"D 2026-03-02 2026-03-05 NULL OPEN 2026-03-02 0 4 3",
		})
	})

	t.Run("finding_changes", func(t *testing.T) {
		got := rows(t, s, "SELECT finding_id, CAST(run_date AS STRING), change, CAST(observed_on AS STRING) FROM `${dataset}.finding_changes`")
		wantRows(t, "finding_changes", named(got), []string{
			"A 2026-03-01 NEW 2026-03-01",
			"A 2026-03-05 RESOLVED 2026-03-03",
			"B 2026-03-01 NEW 2026-03-01",
			"B 2026-03-03 RESOLVED 2026-03-02",
			"C 2026-03-01 NEW 2026-03-01",
			"C 2026-03-02 RESOLVED 2026-03-01",
			"C 2026-03-05 NEW 2026-03-05",
			"D 2026-03-02 NEW 2026-03-02",
		})
	})

	t.Run("latest_changes", func(t *testing.T) {
		got := rows(t, s, "SELECT finding_id, CAST(run_date AS STRING), change, CAST(previous_run_date AS STRING), run_complete FROM `${dataset}.latest_changes`")
		wantRows(t, "latest_changes", named(got), []string{
			"A 2026-03-05 RESOLVED 2026-03-04 true",
			"C 2026-03-05 NEW 2026-03-04 true",
		})
	})

	t.Run("latest_findings", func(t *testing.T) {
		got := rows(t, s, "SELECT finding_id, CAST(run_date AS STRING), kind, run_complete FROM `${dataset}.latest_findings`")
		wantRows(t, "latest_findings", named(got), []string{
			"C 2026-03-05 DEPLOYER_CANNOT_READ_IMAGE true",
			"D 2026-03-05 REMOTE_REPO_SECRET_INACCESSIBLE true",
		})
	})

	t.Run("daily_trend", func(t *testing.T) {
		got := rows(t, s, `SELECT CAST(run_date AS STRING), kind, severity, actionable, folder, project_id, run_complete, findings, principals, resources
			FROM `+"`${dataset}.daily_trend`"+` ORDER BY 1, 2, 6`)
		wantRows(t, "daily_trend", got, []string{
			// A counted once although two of its images are rows.
			"2026-03-01 DEPLOYER_CANNOT_READ_IMAGE HIGH true 200 app-a true 2 2 2",
			"2026-03-01 SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL true 300 app-b true 1 1 1",
			"2026-03-02 DEPLOYER_CANNOT_READ_IMAGE HIGH true 200 app-a true 1 1 1",
			"2026-03-02 REMOTE_REPO_SECRET_INACCESSIBLE MEDIUM true  registry true 1 1 1",
			"2026-03-02 SERVICE_AGENT_CANNOT_READ_IMAGE CRITICAL true 300 app-b true 1 1 1",
			"2026-03-03 DEPLOYER_CANNOT_READ_IMAGE HIGH true 200 app-a true 1 1 1",
			"2026-03-03 REMOTE_REPO_SECRET_INACCESSIBLE MEDIUM true  registry true 1 1 1",
			"2026-03-04 REMOTE_REPO_SECRET_INACCESSIBLE MEDIUM true  registry false 1 1 1",
			"2026-03-05 DEPLOYER_CANNOT_READ_IMAGE HIGH true 200 app-a true 1 1 1",
			"2026-03-05 REMOTE_REPO_SECRET_INACCESSIBLE MEDIUM true  registry true 1 1 1",
		})
	})

	t.Run("daily_trend_by_folder", func(t *testing.T) {
		got := rows(t, s, `SELECT CAST(run_date AS STRING), folder, kind, findings, projects
			FROM `+"`${dataset}.daily_trend_by_folder`"+` WHERE run_date IN ('2026-03-01', '2026-03-05') ORDER BY 1, 2, 3`)
		wantRows(t, "daily_trend_by_folder", got, []string{
			"2026-03-01 100 DEPLOYER_CANNOT_READ_IMAGE 2 1",
			"2026-03-01 100 SERVICE_AGENT_CANNOT_READ_IMAGE 1 1",
			"2026-03-01 200 DEPLOYER_CANNOT_READ_IMAGE 2 1",
			"2026-03-01 300 SERVICE_AGENT_CANNOT_READ_IMAGE 1 1",
			// D's project sits under the organization: no folder row.
			"2026-03-05 100 DEPLOYER_CANNOT_READ_IMAGE 1 1",
			"2026-03-05 200 DEPLOYER_CANNOT_READ_IMAGE 1 1",
		})
	})

	t.Run("latest_inventory", func(t *testing.T) {
		got := rows(t, s, "SELECT container, verdict, run_complete FROM `${dataset}.latest_inventory` ORDER BY 1")
		wantRows(t, "latest_inventory", got, []string{"api OK true", "web AT_RISK true", "worker OK true"})
	})

	t.Run("daily_inventory", func(t *testing.T) {
		got := rows(t, s, "SELECT CAST(run_date AS STRING), verdict, SUM(images) FROM `${dataset}.daily_inventory` GROUP BY 1, 2 ORDER BY 1, 2")
		wantRows(t, "daily_inventory", got, []string{
			"2026-03-01 AT_RISK 3",
			"2026-03-02 AT_RISK 2", "2026-03-02 OK 1",
			"2026-03-03 AT_RISK 1", "2026-03-03 OK 1",
			"2026-03-04 OK 3",
			"2026-03-05 AT_RISK 1", "2026-03-05 OK 2",
		})
	})

	t.Run("no staging tables left", func(t *testing.T) { assertNoStaging(t, s) })
}

// assertNoStaging checks that the dataset holds exactly the tables and views
// of sql/.
func assertNoStaging(t *testing.T, s *Sink) {
	t.Helper()
	it := s.client.Dataset(s.dataset).Tables(context.Background())
	var names []string
	for {
		tb, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tb.TableID)
	}
	slices.Sort(names)
	want := []string{"confirmed_failures_daily", "coverage", "daily_inventory", "daily_trend", "daily_trend_by_folder", "finding_changes", "findings",
		"inventory", "latest_changes", "latest_findings", "latest_inventory", "remediation_progress", "run_sequence", "runs"}
	wantRows(t, "dataset objects", names, want)
}

// Previous finds the latest run of an earlier date, whatever the current
// one holds, and reads its findings back with what a change notice needs.
func TestPrevious(t *testing.T) {
	s := newSink(t, emulator(t))
	ctx := context.Background()
	if id, fs, err := s.Previous(ctx, night(1, "", true).Summary); err != nil || id != "" || fs != nil {
		t.Fatalf("empty dataset: %q %v %v", id, fs, err)
	}
	mustWrite(t, s, night(1, "", true, "A", "B"))
	n2 := night(2, "", true, "A", "C", "E")
	n2.Findings[1].Excepted = true
	n2.Findings[1].Exception = &audit.Exception{Where: "x.yaml:2", Reason: "r", Owner: "o", Expires: "2027-01-01"}
	mustWrite(t, s, n2)
	// A run of day 3, and a rerun of day 2: both compare with the run before their date.
	for _, tc := range []struct {
		cur    audit.Summary
		wantID string
		want   []audit.Finding
	}{
		{night(3, "", true).Summary, "nightly-2026-03-02", n2.Findings},
		{night(2, "-again", true).Summary, "nightly-2026-03-01", night(1, "", true, "A", "B").Findings},
	} {
		id, fs, err := s.Previous(ctx, tc.cur)
		if err != nil {
			t.Fatal(err)
		}
		if id != tc.wantID {
			t.Errorf("previous of %s: %q, want %q", tc.cur.RunID, id, tc.wantID)
		}
		got := map[string]audit.Finding{}
		for _, f := range fs {
			got[f.FindingID] = f
		}
		if len(got) != len(tc.want) {
			t.Errorf("previous of %s: %d findings, want %d", tc.cur.RunID, len(got), len(tc.want))
		}
		for _, w := range tc.want {
			g := got[w.FindingID]
			if g.Kind != w.Kind || g.Severity != w.Severity || g.Resource != w.Resource || g.ProjectID != w.ProjectID ||
				g.Principal != w.Principal || g.Repository != w.Repository || g.Excepted != w.Excepted {
				t.Errorf("finding %s read back as %+v, want %+v", w.FindingID, g, w)
			}
		}
	}
}
