package auditlog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	auditpb "google.golang.org/genproto/googleapis/cloud/audit"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/auditlog"
	"github.com/runaudit/runaudit/internal/auditlog/loggingtest"
)

var (
	since = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	until = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

const view = "projects/acme-logs/locations/global/buckets/central/views/cloudrun"

func fixture(t *testing.T) map[string][]*loggingpb.LogEntry {
	t.Helper()
	byProject, err := loggingtest.Load("testdata/entries.json")
	if err != nil {
		t.Fatal(err)
	}
	return byProject
}

func client(t *testing.T, srv *loggingtest.Server, perMinute float64) *auditlog.Client {
	t.Helper()
	cl, err := auditlog.NewClient(context.Background(), auditlog.ClientConfig{EmulatorHost: srv.Start(t), PerMinute: perMinute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// TestReadProjects reads two projects in pages, batched, and a third
// project that refuses: the refused one is a gap with its fix, the others
// are read.
func TestReadProjects(t *testing.T) {
	srv := &loggingtest.Server{Entries: fixture(t), PageCap: 2, Refuse: map[string]codes.Code{"projects/acme-denied": codes.PermissionDenied}}
	cl := client(t, srv, 6000)
	r := &auditlog.Reader{Client: cl, Batch: 2}
	res := r.Read(context.Background(), auditlog.Query{Projects: []string{"acme-payments", "acme-data", "acme-denied"}, Since: since, Until: until})

	if !res.Read["acme-payments"] || !res.Read["acme-data"] || res.Read["acme-denied"] || res.AllRead {
		t.Errorf("read = %v (all %v), want acme-payments and acme-data only", res.Read, res.AllRead)
	}
	if len(res.Gaps) != 1 {
		t.Fatalf("gaps = %+v, want one", res.Gaps)
	}
	g := res.Gaps[0]
	if g.Scope != "projects/acme-denied" || g.AssetType != auditlog.AssetType || !strings.Contains(g.Reason, "PermissionDenied") || !strings.Contains(g.Fix, "roles/logging.viewer") {
		t.Errorf("gap = %+v", g)
	}
	// Seven deploy entries of the fixture fall in the window; the rest
	// (a delete, a non-image System Event, a text payload) are filtered
	// out by the query or the parser, and the malformed one is skipped.
	if len(res.Events) != 7 || len(res.Skips) != 1 {
		t.Errorf("%d events, %d skips; want 7 and 1", len(res.Events), len(res.Skips))
	}
	reqs := srv.Requests()
	if int64(len(reqs)) != cl.Calls() {
		t.Errorf("%d requests served, %d counted", len(reqs), cl.Calls())
	}
	var paged, single bool
	for _, q := range reqs {
		if q.GetPageSize() <= 0 || q.GetPageSize() > 1000 || q.GetOrderBy() != "timestamp asc" {
			t.Errorf("request %v: want pages of at most 1000 in timestamp order", q)
		}
		for _, want := range []string{`log_id("cloudaudit.googleapis.com/activity")`, `log_id("cloudaudit.googleapis.com/system_event")`, `protoPayload.serviceName="run.googleapis.com"`} {
			if !strings.Contains(q.GetFilter(), want) {
				t.Errorf("filter lacks %s: %s", want, q.GetFilter())
			}
		}
		if q.GetPageToken() != "" {
			paged = true
		}
		if len(q.GetResourceNames()) == 1 && q.GetResourceNames()[0] == "projects/acme-denied" {
			single = true
		}
	}
	if !paged || !single {
		t.Errorf("paged %v, refused project retried alone %v; want both", paged, single)
	}
}

func TestReadView(t *testing.T) {
	all := fixture(t)
	var inView []*loggingpb.LogEntry
	for _, es := range all {
		inView = append(inView, es...)
	}
	srv := &loggingtest.Server{Entries: map[string][]*loggingpb.LogEntry{view: inView}}
	res := (&auditlog.Reader{Client: client(t, srv, 6000)}).Read(context.Background(), auditlog.Query{View: view, Since: since, Until: until})
	if !res.AllRead || len(res.Gaps) != 0 || len(res.Events) != 7 {
		t.Errorf("view: all read %v, gaps %v, %d events", res.AllRead, res.Gaps, len(res.Events))
	}
	if got := srv.Requests()[0].GetResourceNames(); len(got) != 1 || got[0] != view {
		t.Errorf("resource names = %v, want the view", got)
	}

	refused := &loggingtest.Server{Refuse: map[string]codes.Code{view: codes.PermissionDenied}}
	res = (&auditlog.Reader{Client: client(t, refused, 6000)}).Read(context.Background(), auditlog.Query{View: view, Since: since, Until: until})
	if res.AllRead || len(res.Gaps) != 1 || res.Gaps[0].Scope != view || !strings.Contains(res.Gaps[0].Fix, "roles/logging.viewAccessor") {
		t.Errorf("refused view: all read %v, gaps %+v", res.AllRead, res.Gaps)
	}
}

// TestReadIsPaced: at 60 calls a minute, one call a second after the
// first; three pages take two seconds.
func TestReadIsPaced(t *testing.T) {
	srv := &loggingtest.Server{Entries: fixture(t), PageCap: 3}
	cl := client(t, srv, 60)
	start := time.Now()
	(&auditlog.Reader{Client: cl}).Read(context.Background(), auditlog.Query{Projects: []string{"acme-payments"}, Since: since, Until: until})
	calls := cl.Calls()
	if calls < 3 {
		t.Fatalf("%d calls, want paging over at least 3", calls)
	}
	if min := time.Duration(calls-1) * 900 * time.Millisecond; time.Since(start) < min {
		t.Errorf("%d calls in %v, want at least %v at 60 a minute", calls, time.Since(start), min)
	}
}

func TestCheckView(t *testing.T) {
	if err := auditlog.CheckView(view); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"projects/p/locations/global/buckets/b", "organizations/1/locations/global/buckets/b/views/v", ""} {
		if auditlog.CheckView(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// finding is a deployer finding as the rules write it.
func finding(kind audit.Kind, sev audit.Severity, resource, principal, repository string) audit.Finding {
	parts := strings.Split(resource, "/")
	typ := map[string]string{"services": auditlog.TypeService, "jobs": auditlog.TypeJob, "workerPools": auditlog.TypeWorkerPool}[parts[len(parts)-2]]
	return audit.Finding{
		FindingID: audit.ID(kind, resource, principal, repository), Kind: kind, Severity: sev,
		Resource: resource, ResourceType: typ, ProjectID: parts[4], Location: parts[6], Principal: principal, Repository: repository,
		Reason: "path.",
	}
}

const (
	checkout  = "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/checkout"
	refunds   = "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/refunds"
	backfill  = "//run.googleapis.com/projects/acme-data/locations/us-central1/jobs/backfill"
	images    = "projects/acme-shared/locations/europe-west1/repositories/images"
	gha       = "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com"
	agent     = "serviceAccount:service-987654321098@serverless-robot-prod.iam.gserviceaccount.com"
	poolSet   = "principalSet://iam.googleapis.com/projects/333333333333/locations/global/workloadIdentityPools/github/*"
	attrSet   = "principalSet://iam.googleapis.com/projects/333333333333/locations/global/workloadIdentityPools/github/attribute.repository/acme/ingest"
	ingest    = "//run.googleapis.com/projects/acme-data/locations/us-central1/workerPools/ingest"
	jobsRepo  = "projects/acme-data/locations/us-central1/repositories/jobs"
	otherRepo = "projects/acme-shared/locations/europe-west1/repositories/other"
)

// TestJoinLive reads the fixture live (one project refused) and joins it
// with findings: evidence that confirms, that contradicts the audit, that
// was resolved, that cannot be had.
func TestJoinLive(t *testing.T) {
	entries := fixture(t)
	// dave's refused job create is followed, in this run, by a successful
	// one: the refusal is resolved.
	resolvedEntry := &loggingpb.LogEntry{}
	for _, e := range entries["projects/acme-data"] {
		if e.GetInsertId() == "5e6f7a8b9c" {
			resolvedEntry = cloneOK(t, e)
		}
	}
	entries["projects/acme-data"] = append(entries["projects/acme-data"], resolvedEntry)
	srv := &loggingtest.Server{Entries: entries, PageCap: 4, Refuse: map[string]codes.Code{"projects/acme-denied": codes.PermissionDenied}}
	res := (&auditlog.Reader{Client: client(t, srv, 6000)}).Read(context.Background(),
		auditlog.Query{Projects: []string{"acme-payments", "acme-data", "acme-denied"}, Since: since, Until: until})
	denied := "//run.googleapis.com/projects/acme-denied/locations/europe-west1/services/api"

	findings := []audit.Finding{
		finding(audit.DeployerCannotReadImage, audit.High, checkout, gha, images),                                                   // 0 confirmed, impersonated
		finding(audit.ServiceAgentCannotReadImage, audit.Critical, checkout, agent, images),                                         // 1 confirmed by the System Event
		finding(audit.DeployerCannotReadImage, audit.Medium, refunds, gha, "projects/acme-shared/locations/us/repositories/gcr.io"), // 2 active deployer, no refusal
		finding(audit.DeployerCannotReadImage, audit.Medium, backfill, "user:dave@acme.example", jobsRepo),                          // 3 resolved
		finding(audit.DeployerCannotReadImage, audit.Medium, checkout, "user:bob@acme.example", images),                             // 4 actAs refusal only: not confirmed, dormant
		finding(audit.DeployerCannotReadImage, audit.Medium, ingest, poolSet, jobsRepo),                                             // 5 pool-wide set: its subject deploys
		finding(audit.DeployerCannotReadImage, audit.Medium, ingest, attrSet, jobsRepo),                                             // 6 attribute set: mapping unknown
		finding(audit.DeployerCannotReadImage, audit.Medium, denied, "user:x@acme.example", images),                                 // 7 logs unreadable
		finding(audit.DeployerCannotReadImage, audit.Medium, checkout, gha, otherRepo),                                              // 8 another repository: not this refusal
	}
	auditlog.Normalize(res.Events, func(string) (string, bool) { return "", false })
	ev := auditlog.Evidence{Events: auditlog.Collapse(res.Events), Read: res.Read, Since: since, Until: until,
		Project: func(id string) (string, []string, string, bool) {
			return "987654321098", []string{"555"}, "123", id == "acme-payments"
		}}
	out, st := auditlog.Join(findings, ev)

	type want struct {
		evidence, activity string
		sev                audit.Severity
		failed, deploys    int
	}
	wants := []want{
		{auditlog.Confirmed, auditlog.Dormant, audit.Critical, 1, 0},
		{auditlog.Confirmed, "", audit.Critical, 1, 0},
		{auditlog.NotInLogs, auditlog.Active, audit.High, 0, 1},
		{auditlog.Resolved, auditlog.Active, audit.High, 1, 1},
		{auditlog.NotInLogs, auditlog.Dormant, audit.Medium, 0, 0},
		{auditlog.NotInLogs, auditlog.Active, audit.High, 0, 1},
		{auditlog.NotInLogs, auditlog.Undecided, audit.Medium, 0, 0},
		{auditlog.Undecided, auditlog.Undecided, audit.Medium, 0, 0},
		{auditlog.NotInLogs, auditlog.Dormant, audit.Medium, 0, 0},
	}
	for i, w := range wants {
		f := out[i]
		got := want{f.LogEvidence, f.DeployerActivity, f.Severity, f.FailedDeploys, f.Deploys}
		if got != w {
			t.Errorf("finding %d (%s %s): got %+v, want %+v\nreason: %s", i, f.Principal, f.Resource, got, w, f.Reason)
		}
		if w.deploys > 0 != f.ActiveDeployer || w.deploys > 0 && f.LastDeploy.IsZero() {
			t.Errorf("finding %d: active %v last %v", i, f.ActiveDeployer, f.LastDeploy)
		}
	}
	if !strings.Contains(out[0].FailedBy, "impersonated by user:carol@acme.example") || !strings.Contains(out[0].Reason, "confirmed by logs") {
		t.Errorf("impersonated refusal: failed_by %q reason %q", out[0].FailedBy, out[0].Reason)
	}
	if !strings.Contains(out[7].Reason, "undecided") || strings.Contains(out[7].Reason, "no deploy") {
		t.Errorf("unreadable logs must say undecided, never no evidence: %s", out[7].Reason)
	}
	if strings.Contains(out[4].Reason, "confirmed by logs") {
		t.Errorf("actAs refusal counted as an image read: %s", out[4].Reason)
	}
	// No refusal is left unexplained in this run: every one matched a finding.
	if len(out) != len(findings) || st.Created != 0 {
		t.Errorf("%d findings, %d created; want none created", len(out), st.Created)
	}

	// Without the findings that explain them, the refusals contradict the
	// audit: each becomes a finding of its own, except the resolved one.
	out, st = auditlog.Join(findings[2:3], ev)
	var created []audit.Finding
	for _, f := range out {
		if f.Kind == audit.DeployFailedImageRead {
			created = append(created, f)
		}
	}
	if len(created) != 2 || st.Created != 2 {
		t.Fatalf("created %d findings (%+v), want the deployer's and the service agent's refusals", len(created), created)
	}
	for _, f := range created {
		if f.Resource != checkout || f.Repository != images || f.LogEvidence != auditlog.Confirmed || f.Severity != audit.High ||
			f.ProjectNumber != "987654321098" || f.Permission != auditlog.DownloadArtifacts || f.FindingID != audit.ID(f.Kind, f.Resource, f.Principal, f.Repository) {
			t.Errorf("created finding = %+v", f)
		}
	}
	if created[0].Principal != agent && created[1].Principal != agent {
		t.Errorf("the service agent's refusal names %q / %q, want %s", created[0].Principal, created[1].Principal, agent)
	}
	for _, f := range created {
		if f.Principal == gha && !strings.Contains(f.Remediation, "--member="+gha) {
			t.Errorf("remediation = %q", f.Remediation)
		}
	}
	if audit.DeployFailedImageRead.Actionable() {
		t.Error("DEPLOY_FAILED_IMAGE_READ must stay out of the three actionable kinds")
	}
}

func cloneOK(t *testing.T, e *loggingpb.LogEntry) *loggingpb.LogEntry {
	t.Helper()
	// The refused create's success: same job, same caller, a day later,
	// no status.
	ev, ok, err := auditlog.FromEntry(e)
	if err != nil || !ok || !ev.ImageReadFailure() {
		t.Fatalf("fixture entry is not the refused create: %v %v", ok, err)
	}
	c := protoClone(e)
	c.InsertId = "5e6f7a8b9c-ok"
	c.Timestamp.Seconds += 86400
	clearStatus(t, c)
	return c
}

func protoClone(e *loggingpb.LogEntry) *loggingpb.LogEntry {
	return proto.Clone(e).(*loggingpb.LogEntry)
}

func clearStatus(t *testing.T, e *loggingpb.LogEntry) {
	t.Helper()
	var al auditpb.AuditLog
	if err := e.GetProtoPayload().UnmarshalTo(&al); err != nil {
		t.Fatal(err)
	}
	al.Status = nil
	a, err := anypb.New(&al)
	if err != nil {
		t.Fatal(err)
	}
	e.Payload = &loggingpb.LogEntry_ProtoPayload{ProtoPayload: a}
}
