package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/runaudit/runaudit/internal/audit"
)

func f(id string, kind audit.Kind, sev audit.Severity, project string) audit.Finding {
	return audit.Finding{FindingID: id, Kind: kind, Severity: sev, ProjectID: project, Resource: "//run.googleapis.com/projects/" + project + "/locations/l/services/" + id}
}

func run(complete bool, fs ...audit.Finding) audit.Result {
	return audit.Result{
		Summary:  audit.Summary{RunID: "r2", Organization: "123", Scope: "organizations/123", Complete: complete, StartedAt: time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)},
		Findings: fs,
		Coverage: []audit.ProjectCoverage{{ProjectID: "p"}, {ProjectID: "gappy", Gaps: []string{"run.googleapis.com/Service PERMISSION_DENIED"}}},
	}
}

func ids(items []Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.FindingID)
	}
	return fmt.Sprint(s)
}

func TestBuild(t *testing.T) {
	dk, sa, info, low := audit.DeployerCannotReadImage, audit.ServiceAgentCannotReadImage, audit.MembershipNotResolvable, audit.Kind("REMOTE_REPO_SECRET_NOT_FOUND")
	prev := Previous{Name: "baseline:old.jsonl", Findings: []audit.Finding{
		f("kept", dk, audit.High, "p"),
		f("fixed", dk, audit.Medium, "p"),
		f("fixedundecided", info, audit.Info, "p"),
		f("ingap", dk, audit.High, "gappy"),     // its project now has gaps: not resolved
		f("outside", dk, audit.High, "notread"), // project not read this time: not resolved
		f("lowgone", low, audit.Low, "p"),       // neither open nor undecided: never counted
		{FindingID: "wasexcepted", Kind: dk, Severity: audit.High, ProjectID: "p", Excepted: true},
	}}
	excepted := f("nowexcepted", dk, audit.Critical, "p")
	excepted.Excepted = true
	cur := []audit.Finding{
		f("kept", dk, audit.High, "p"),
		f("new1", sa, audit.Critical, "p"),
		f("new2", info, audit.Info, "p"),
		f("new2", info, audit.Info, "p"), // the same finding twice
		f("lownew", low, audit.Low, "p"),
		excepted,
	}
	m := Build(run(true, cur...), prev, 0, "https://storage.cloud.google.com/b/o")
	want := Counts{Open: 2, New: 2, Resolved: 2, Undecided: 2, Excepted: 1}
	if m.Counts != want {
		t.Errorf("counts %+v, want %+v", m.Counts, want)
	}
	if got := ids(m.New); got != "[new1 new2]" {
		t.Errorf("new %s", got)
	}
	if got := ids(m.Resolved); got != "[fixed fixedundecided]" {
		t.Errorf("resolved %s", got)
	}
	if m.Previous != "baseline:old.jsonl" || m.Workbook == "" || m.StartedAt != "2026-11-02T03:00:00Z" {
		t.Errorf("message %+v", m)
	}

	// Incomplete: nothing is resolved.
	m = Build(run(false, cur...), prev, 0, "")
	if m.Counts.Resolved != 0 || len(m.Resolved) != 0 || m.Counts.New != 2 {
		t.Errorf("incomplete run: %+v", m.Counts)
	}
	if a := m.Attributes(); a["complete"] != "false" || a["has_new"] != "true" || a["organization"] != "123" {
		t.Errorf("attributes %v", a)
	}

	// No previous run: everything open or undecided is new.
	m = Build(run(true, cur...), Previous{}, 0, "")
	if m.Previous != "none" || m.Counts.New != 3 {
		t.Errorf("no previous: %s, %+v", m.Previous, m.Counts)
	}

	// Nothing new: has_new is false.
	m = Build(run(true, f("kept", dk, audit.High, "p")), prev, 0, "")
	if m.Attributes()["has_new"] != "false" || m.Counts.New != 0 {
		t.Errorf("nothing new: %+v %v", m.Counts, m.Attributes())
	}

	// Capped: the most severe first, totals kept.
	var many []audit.Finding
	for i := range 7 {
		sev := audit.Medium
		if i == 5 {
			sev = audit.Critical
		}
		many = append(many, f(fmt.Sprintf("n%d", i), dk, sev, "p"))
	}
	m = Build(run(true, many...), Previous{Name: "bigquery:r1"}, 3, "")
	if m.Counts.New != 7 || ids(m.New) != "[n5 n0 n1]" {
		t.Errorf("capped: total %d, items %s", m.Counts.New, ids(m.New))
	}
}

// TestPublish publishes through the real client to pstest, Google's
// in-process Pub/Sub fake, and reads the message back.
func TestPublish(t *testing.T) {
	ctx := context.Background()
	srv := pstest.NewServer()
	defer srv.Close()
	const topic = "projects/acme-audit/topics/runaudit-changes"
	if _, err := srv.GServer.CreateTopic(ctx, &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	client, err := pubsub.NewClient(ctx, "acme-audit", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	m := Build(run(true, f("new1", audit.ServiceAgentCannotReadImage, audit.Critical, "p")), Previous{Name: "bigquery:r1"}, 0, "")
	id, err := Publish(ctx, client, topic, m)
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].ID != id {
		t.Fatalf("%d messages on the topic, want the one published (%s)", len(msgs), id)
	}
	got := msgs[0]
	for k, v := range map[string]string{"organization": "123", "complete": "true", "has_new": "true", "run_id": "r2"} {
		if got.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got.Attributes[k], v)
		}
	}
	var body Message
	if err := json.Unmarshal(got.Data, &body); err != nil {
		t.Fatal(err)
	}
	if body.RunID != "r2" || body.Counts.New != 1 || len(body.New) != 1 || body.New[0].Kind != string(audit.ServiceAgentCannotReadImage) {
		t.Errorf("body %+v", body)
	}

	// A topic that does not exist: an error naming it.
	if _, err := Publish(ctx, client, "projects/acme-audit/topics/absent", m); err == nil {
		t.Error("publishing to a missing topic: no error")
	}
}

func TestParseTopic(t *testing.T) {
	if p, err := ParseTopic("projects/acme-audit/topics/runaudit-changes"); err != nil || p != "acme-audit" {
		t.Errorf("ParseTopic: %q %v", p, err)
	}
	for _, bad := range []string{"", "runaudit-changes", "projects/acme-audit/subscriptions/x", "projects//topics/x", "projects/p/topics/ab"} {
		if _, err := ParseTopic(bad); err == nil {
			t.Errorf("ParseTopic(%q): no error", bad)
		}
	}
}
