package scc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	securitycenter "cloud.google.com/go/securitycenter/apiv2"
	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report/scc/scctest"
)

const source = "organizations/123456789012/sources/42"

// harness is one fake SCC and a way to run the sink against it, as a
// nightly job would: a new client and sink per run, the same server.
type harness struct {
	t   *testing.T
	srv *scctest.Server
	adr string
}

func newHarness(t *testing.T) *harness {
	srv := &scctest.Server{Sources: []string{source}}
	return &harness{t: t, srv: srv, adr: srv.Start(t)}
}

func (h *harness) run(res audit.Result, cfg Config) (Stats, error) {
	h.t.Helper()
	ctx := context.Background()
	client, err := securitycenter.NewClient(ctx, option.WithEndpoint(h.adr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		h.t.Fatal(err)
	}
	defer client.Close()
	cfg.Source = source
	if cfg.WritesPerMinute == 0 {
		cfg.WritesPerMinute = 600_000
	}
	cfg.ReadsPerMinute = 600_000
	cfg.Backoff = gax.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}
	s, err := New(client, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return s.Write(ctx, res)
}

// byID indexes the server's findings by SCC finding id.
func (h *harness) byID() map[string]*securitycenterpb.Finding {
	out := map[string]*securitycenterpb.Finding{}
	for _, f := range h.srv.Findings() {
		out[f.Name[strings.LastIndex(f.Name, "/")+1:]] = f
	}
	return out
}

func finding(kind audit.Kind, sev audit.Severity, project, principal string) audit.Finding {
	res := "//run.googleapis.com/projects/" + project + "/locations/europe-west1/services/app"
	repo := "projects/shared/locations/europe-west1/repositories/images"
	return audit.Finding{
		FindingID: audit.ID(kind, res, principal, repo), Kind: kind, Severity: sev,
		Resource: res, ResourceType: "run.googleapis.com/Service", ProjectID: project, ProjectNumber: "1",
		Location: "europe-west1", Principal: principal, Image: "europe-west1-docker.pkg.dev/shared/images/app:1",
		Repository: repo, Permission: "artifactregistry.repositories.downloadArtifacts",
		Reason: principal + " cannot read the image", Remediation: "gcloud artifacts repositories add-iam-policy-binding images …",
		Folders: []string{"7"}, Organization: "123456789012",
	}
}

func result(runID string, complete bool, at time.Time, fs ...audit.Finding) audit.Result {
	return audit.Result{
		Summary:  audit.Summary{RunID: runID, StartedAt: at, Complete: complete},
		Findings: fs,
		Coverage: []audit.ProjectCoverage{{ProjectID: "payments"}, {ProjectID: "data"}},
	}
}

func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	day1 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	deployer := finding(audit.DeployerCannotReadImage, audit.High, "payments", "user:bob@acme.example")
	undecided := finding(audit.MembershipNotResolvable, audit.Info, "data", "group:ops@acme.example")
	low := finding("REMOTE_REPO_SECRET_NOT_FOUND", audit.Low, "data", "")
	outside := finding(audit.ServiceAgentCannotReadImage, audit.Critical, "elsewhere", "serviceAccount:service-1@serverless-robot-prod.iam.gserviceaccount.com")
	idD, idU, idO := deployer.FindingID, undecided.FindingID, outside.FindingID
	const workbook = "https://storage.cloud.google.com/reports/nightly/2026-11-01/r1/report.xlsx"

	// Run 1: three written (the duplicate once, the LOW informational one never).
	st, err := h.run(result("r1", true, day1, deployer, undecided, low, deployer, outside), Config{WorkbookURL: workbook})
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 3 || st.Written != 3 {
		t.Fatalf("run 1: %+v, want 3 created", st)
	}
	got := h.byID()
	if len(got) != 3 {
		t.Fatalf("SCC holds %d findings, want 3", len(got))
	}
	d := got[idD]
	if d == nil {
		t.Fatalf("no SCC finding with id %s", idD)
	}
	checks := map[string][2]string{
		"category":      {d.Category, "DEPLOYER_CANNOT_READ_IMAGE"},
		"severity":      {d.Severity.String(), "HIGH"},
		"class":         {d.FindingClass.String(), "MISCONFIGURATION"},
		"state":         {d.State.String(), "ACTIVE"},
		"resource_name": {d.ResourceName, deployer.Resource},
		"event_time":    {d.EventTime.AsTime().String(), day1.String()},
		"external_uri":  {d.ExternalUri, workbook},
		"description":   {d.Description, deployer.Reason},
		"next_steps":    {d.NextSteps, deployer.Remediation},
		"name":          {d.Name, source + "/locations/global/findings/" + idD},
	}
	for _, k := range []string{"principal", "repository", "image", "reason", "remediation", "run_id", "workbook", "project_id"} {
		checks["property "+k] = [2]string{d.SourceProperties[k].GetStringValue(), map[string]string{
			"principal": deployer.Principal, "repository": deployer.Repository, "image": deployer.Image,
			"reason": deployer.Reason, "remediation": deployer.Remediation, "run_id": "r1", "workbook": workbook, "project_id": "payments",
		}[k]}
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if _, ok := d.SourceProperties["secret"]; ok {
		t.Error("an empty field became a property")
	}
	if got[idU].Severity != securitycenterpb.Finding_LOW || got[idU].Category != string(audit.MembershipNotResolvable) {
		t.Errorf("undecided finding: %v %s", got[idU].Severity, got[idU].Category)
	}

	// The team mutes the deployer finding in the console.
	h.srv.Mute(d.Name, securitycenterpb.Finding_MUTED)

	// Rerun of the same run: nothing written, nothing changed.
	before := h.srv.Findings()
	h.srv.ResetCalls()
	st, err = h.run(result("r1", true, day1, deployer, undecided, low, deployer, outside), Config{WorkbookURL: workbook})
	if err != nil {
		t.Fatal(err)
	}
	calls := h.srv.Calls()
	if st.Unchanged != 3 || calls["CreateFinding"]+calls["UpdateFinding"]+calls["SetFindingState"] != 0 {
		t.Errorf("rerun: %+v, calls %v; want 3 unchanged and no writes", st, calls)
	}
	if after := h.srv.Findings(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("rerun changed SCC's findings")
	}

	// Run 2, incomplete, the undecided finding gone: updated in place,
	// nothing deactivated, mute untouched.
	day2 := day1.AddDate(0, 0, 1)
	st, err = h.run(result("r2", false, day2, deployer), Config{})
	if err != nil {
		t.Fatal(err)
	}
	got = h.byID()
	if st.Updated != 1 || st.Deactivated != 0 || len(got) != 3 {
		t.Errorf("run 2: %+v, %d findings; want 1 updated, none deactivated", st, len(got))
	}
	if d := got[idD]; d.SourceProperties["run_id"].GetStringValue() != "r2" || !d.EventTime.AsTime().Equal(day2) || d.ExternalUri != "" {
		t.Errorf("run 2 did not update in place: run_id %v, event %v, uri %q", d.SourceProperties["run_id"], d.EventTime.AsTime(), d.ExternalUri)
	}
	if got[idD].Mute != securitycenterpb.Finding_MUTED {
		t.Errorf("mute is %v after an update, want MUTED as the team set it", got[idD].Mute)
	}
	if got[idU].State != securitycenterpb.Finding_ACTIVE {
		t.Error("an incomplete run deactivated a finding")
	}

	// Run 3, complete, still without it: deactivated. The finding in a
	// project the run did not read stays active.
	day3 := day2.AddDate(0, 0, 1)
	if st, err = h.run(result("r3", true, day3, deployer), Config{}); err != nil {
		t.Fatal(err)
	}
	got = h.byID()
	if st.Deactivated != 1 || got[idU].State != securitycenterpb.Finding_INACTIVE {
		t.Errorf("run 3: %+v, undecided finding %v; want it INACTIVE", st, got[idU].State)
	}
	if got[idO].State != securitycenterpb.Finding_ACTIVE {
		t.Error("a complete run deactivated a finding in a project it did not read")
	}
	if got[idD].State != securitycenterpb.Finding_ACTIVE || got[idD].Mute != securitycenterpb.Finding_MUTED {
		t.Errorf("still-reported finding: %v %v", got[idD].State, got[idD].Mute)
	}

	// Run 4: it is back, and excepted: reactivated, marked.
	undecided.Excepted = true
	undecided.Exception = &audit.Exception{Where: "ex.yaml:2", Reason: "accepted", Owner: "ops@acme.example", Expires: "2027-01-01"}
	if st, err = h.run(result("r4", true, day3.AddDate(0, 0, 1), deployer, undecided), Config{}); err != nil {
		t.Fatal(err)
	}
	got = h.byID()
	if st.Reactivated != 1 || got[idU].State != securitycenterpb.Finding_ACTIVE {
		t.Errorf("run 4: %+v, state %v; want it ACTIVE again", st, got[idU].State)
	}
	u := got[idU].SourceProperties
	if !u["excepted"].GetBoolValue() || u["exception"].GetStructValue().GetFields()["owner"].GetStringValue() != "ops@acme.example" {
		t.Errorf("excepted finding not marked: %v", u)
	}
	if got[idD].SourceProperties["excepted"].GetBoolValue() {
		t.Error("open finding marked excepted")
	}
}

// TestManyFindings writes more findings than one ListFindings page holds:
// the second run must find every one of them (paging) and write nothing.
func TestManyFindings(t *testing.T) {
	h := newHarness(t)
	var fs []audit.Finding
	for i := range 1205 {
		fs = append(fs, finding(audit.DeployerCannotReadImage, audit.Medium, "payments", fmt.Sprintf("user:u%d@acme.example", i)))
	}
	at := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	if st, err := h.run(result("r1", true, at, fs...), Config{}); err != nil || st.Created != 1205 {
		t.Fatalf("run 1: %+v %v", st, err)
	}
	h.srv.ResetCalls()
	st, err := h.run(result("r1", true, at, fs...), Config{})
	if err != nil {
		t.Fatal(err)
	}
	calls := h.srv.Calls()
	if st.Unchanged != 1205 || calls["ListFindings"] != 2 || calls["CreateFinding"] != 0 {
		t.Errorf("rerun: %+v, calls %v; want 1205 unchanged over 2 pages", st, calls)
	}
}

// TestFailures: transient codes are retried; a refused write is counted,
// reported, and does not stop the others.
func TestFailures(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	creates := 0
	h.srv.Fail = func(method string) error {
		mu.Lock()
		defer mu.Unlock()
		if method == "CreateFinding" {
			creates++
			switch creates {
			case 1, 2:
				return status.Error(codes.Unavailable, "try again")
			case 4:
				return status.Error(codes.PermissionDenied, "securitycenter.findings.update denied")
			}
		}
		return nil
	}
	at := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	a := finding(audit.DeployerCannotReadImage, audit.High, "payments", "user:a@acme.example")
	b := finding(audit.DeployerCannotReadImage, audit.High, "payments", "user:b@acme.example")
	c := finding(audit.DeployerCannotReadImage, audit.High, "payments", "user:c@acme.example")
	st, err := h.run(result("r1", true, at, a, b, c), Config{})
	if err == nil || !strings.Contains(err.Error(), "1 SCC write(s) failed") || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("error %v, want one failed write named", err)
	}
	if st.Created != 2 || st.Failed != 1 {
		t.Errorf("%+v, want 2 created (one after 2 retries) and 1 failed", st)
	}
	if n := len(h.srv.Findings()); n != 2 {
		t.Errorf("SCC holds %d findings, want 2", n)
	}

	// The listing itself refused: nothing is written, the error says so.
	h.srv.Fail = func(method string) error {
		if method == "ListFindings" {
			return status.Error(codes.PermissionDenied, "securitycenter.findings.list denied")
		}
		return nil
	}
	if _, err := h.run(result("r2", true, at, a), Config{}); err == nil || !strings.Contains(err.Error(), "listing findings of "+source) {
		t.Errorf("error %v, want the listing failure", err)
	}
}

// TestPacing: writes are spread at the configured rate.
func TestPacing(t *testing.T) {
	h := newHarness(t)
	var fs []audit.Finding
	for i := range 11 {
		fs = append(fs, finding(audit.DeployerCannotReadImage, audit.Medium, "payments", fmt.Sprintf("user:u%d@acme.example", i)))
	}
	start := time.Now()
	if _, err := h.run(result("r1", true, time.Now(), fs...), Config{WritesPerMinute: 1200}); err != nil {
		t.Fatal(err)
	}
	// 20 a second with a burst of one: 11 writes take at least 0.5 s.
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Errorf("11 writes at 1,200 a minute took %v, want >= 0.5 s", el)
	}
}

func TestFindingIDAndSource(t *testing.T) {
	for in, want := range map[string]string{
		"8cf1b6bc9e795a256270d0c64b0a6451": "8cf1b6bc9e795a256270d0c64b0a6451",
		"short":                            "short",
	} {
		if got := FindingID(in); got != want {
			t.Errorf("FindingID(%q) = %q", in, got)
		}
	}
	for _, in := range []string{"has-dash", strings.Repeat("a", 33), ""} {
		got := FindingID(in)
		if !validID.MatchString(got) || got == in {
			t.Errorf("FindingID(%q) = %q, want a fresh 1-32 alphanumeric id", in, got)
		}
	}
	if FindingID("has-dash") == FindingID("has_dash") {
		t.Error("different ids collide")
	}
	for _, ok := range []string{source, source + "/locations/global", source + "/locations/eu"} {
		if err := ParseSource(ok); err != nil {
			t.Errorf("ParseSource(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "organizations/acme/sources/1", "projects/p/sources/1", source + "/findings/x", "123/sources/4"} {
		if err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q): no error", bad)
		}
	}
}

func TestSeverity(t *testing.T) {
	for in, want := range map[audit.Severity]securitycenterpb.Finding_Severity{
		audit.Critical: securitycenterpb.Finding_CRITICAL,
		audit.High:     securitycenterpb.Finding_HIGH,
		audit.Medium:   securitycenterpb.Finding_MEDIUM,
		audit.Low:      securitycenterpb.Finding_LOW,
		audit.Info:     securitycenterpb.Finding_LOW, // SCC has no INFO
	} {
		if got := severity(in); got != want {
			t.Errorf("severity(%s) = %v, want %v", in, got, want)
		}
	}
	for _, tc := range []struct {
		f    audit.Finding
		want bool
	}{
		{audit.Finding{Kind: audit.DeployerCannotReadImage, Severity: audit.Medium}, true},
		{audit.Finding{Kind: audit.MembershipNotResolvable, Severity: audit.Info}, true},
		{audit.Finding{Kind: audit.PolicyNotRead, Severity: audit.Info}, true},
		// Informational, not undecided: nothing to settle in the audit.
		{audit.Finding{Kind: audit.ImageOutsideOrganization, Severity: audit.Info}, false},
		{audit.Finding{Kind: "REMOTE_REPO_SECRET_NOT_FOUND", Severity: audit.Low}, false},
	} {
		if got := Eligible(&tc.f); got != tc.want {
			t.Errorf("Eligible(%s %s) = %v, want %v", tc.f.Kind, tc.f.Severity, got, tc.want)
		}
	}
}
