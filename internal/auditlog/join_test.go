package auditlog

import (
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

const (
	jSvc   = "//run.googleapis.com/projects/p1/locations/europe-west1/services/api"
	jOther = "//run.googleapis.com/projects/p1/locations/europe-west1/services/web"
	jRepo  = "projects/img/locations/europe-west1/repositories/apps"
	jImage = "europe-west1-docker.pkg.dev/img/apps/api:1"
	jAlice = "user:alice@x.example"
	jBob   = "user:bob@x.example"
	jAgent = "serviceAccount:service-111@serverless-robot-prod.iam.gserviceaccount.com"
)

func day(d int) time.Time { return time.Date(2026, 10, d, 12, 0, 0, 0, time.UTC) }

func refusal(resource, member string, d int) Event {
	return Event{Resource: resource, ResourceType: TypeService, ProjectID: "p1", Location: "europe-west1", Name: resource[strings.LastIndex(resource, "/")+1:],
		Time: day(d), Source: AdminActivity, Caller: Principal{Member: member}, Outcome: Failed,
		Failure: &Failure{Code: 7, ImageRead: true, Image: jImage, Repository: jRepo, Message: "User must have permission to read the image, " + jImage + "."}}
}

func deploy(resource, member string, d int, o Outcome) Event {
	e := refusal(resource, member, d)
	e.Outcome, e.Failure = o, nil
	return e
}

func agentRefusal(d int) Event {
	e := refusal(jSvc, jAgent, d)
	e.Source = SystemEvent
	return e
}

func jFinding(kind audit.Kind, sev audit.Severity, principal string) audit.Finding {
	return audit.Finding{FindingID: "f", Kind: kind, Severity: sev, Resource: jSvc, ResourceType: TypeService, ProjectID: "p1",
		Location: "europe-west1", Principal: principal, Image: jImage, Repository: jRepo, Reason: "path."}
}

// TestJoinCases: each case one finding and the events around it; what
// the finding becomes, and how many findings the join creates.
func TestJoinCases(t *testing.T) {
	deployer := jFinding(audit.DeployerCannotReadImage, audit.Medium, jAlice)
	tests := []struct {
		name     string
		f        audit.Finding
		events   []Event
		unread   bool
		evidence string
		activity string
		sev      audit.Severity
		failed   int
		created  int
	}{
		{"no events: not in logs, dormant", deployer, nil, false, NotInLogs, Dormant, audit.Medium, 0, 0},
		{"refusal confirms and raises", deployer, []Event{refusal(jSvc, jAlice, 3)}, false, Confirmed, Dormant, audit.High, 1, 0},
		{"refusal then own success: resolved, active", deployer, []Event{refusal(jSvc, jAlice, 3), deploy(jSvc, jAlice, 4, Succeeded)}, false, Resolved, Active, audit.High, 1, 0},
		{"success before the refusal does not resolve it", deployer, []Event{deploy(jSvc, jAlice, 2, Succeeded), refusal(jSvc, jAlice, 3)}, false, Confirmed, Active, audit.High, 1, 0},
		{"someone else's success does not resolve it", deployer, []Event{refusal(jSvc, jAlice, 3), deploy(jSvc, jBob, 4, Succeeded)}, false, Confirmed, Dormant, audit.High, 1, 0},
		{"a pending deploy does not resolve it but is activity", deployer, []Event{refusal(jSvc, jAlice, 3), deploy(jSvc, jAlice, 4, Pending)}, false, Confirmed, Active, audit.High, 1, 0},
		{"another resource's refusal does not confirm; it is its own finding", deployer, []Event{refusal(jOther, jAlice, 3)}, false, NotInLogs, Dormant, audit.Medium, 0, 1},
		{"another principal's refusal does not confirm; it is its own finding", deployer, []Event{refusal(jSvc, jBob, 3)}, false, NotInLogs, Dormant, audit.Medium, 0, 1},
		{"a failed deploy is no activity", deployer, []Event{func() Event {
			e := deploy(jSvc, jAlice, 3, Failed)
			e.Failure = classify(7, "Permission 'iam.serviceaccounts.actAs' denied")
			return e
		}()}, false, NotInLogs, Dormant, audit.Medium, 0, 0},
		{"unreadable project: undecided, never no evidence", deployer, []Event{refusal(jSvc, jAlice, 3)}, true, Undecided, Undecided, audit.Medium, 0, 0},
		{"agent finding confirmed by the System Event", jFinding(audit.ServiceAgentCannotReadImage, audit.Critical, jAgent), []Event{agentRefusal(3)}, false, Confirmed, "", audit.Critical, 1, 0},
		{"agent finding not confirmed by a deployer's refusal", jFinding(audit.ServiceAgentCannotReadImage, audit.Critical, jAgent), []Event{refusal(jSvc, jAlice, 3)}, false, NotInLogs, "", audit.Critical, 0, 1},
		{"informational finding confirmed, not raised", jFinding(audit.MembershipNotResolvable, audit.Info, jAlice), []Event{refusal(jSvc, jAlice, 3)}, false, Confirmed, Dormant, audit.Info, 1, 0},
		{"a group's finding: a member's refusal may be it, and stays a finding of its own", jFinding(audit.DeployerCannotReadImage, audit.Medium, "group:devs@x.example"), []Event{refusal(jSvc, jBob, 3)}, false, NotInLogs, Undecided, audit.Medium, 0, 1},
		{"a group's finding with no deploy at all is dormant", jFinding(audit.DeployerCannotReadImage, audit.Medium, "group:devs@x.example"), []Event{refusal(jOther, jBob, 3)}, false, NotInLogs, Dormant, audit.Medium, 0, 1},
		{"a domain's finding: a member's refusal confirms", jFinding(audit.DeployerCannotReadImage, audit.Medium, "domain:x.example"), []Event{refusal(jSvc, jBob, 3)}, false, Confirmed, Dormant, audit.High, 1, 0},
		{"critical stays critical", jFinding(audit.DeployerCannotReadImage, audit.Critical, jAlice), []Event{refusal(jSvc, jAlice, 3)}, false, Confirmed, Dormant, audit.Critical, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := Evidence{Events: Collapse(tc.events), Read: map[string]bool{"p1": !tc.unread}, Since: day(1), Until: day(31)}
			out, st := Join([]audit.Finding{tc.f}, ev)
			f := out[0]
			if f.LogEvidence != tc.evidence || f.DeployerActivity != tc.activity || f.Severity != tc.sev || f.FailedDeploys != tc.failed {
				t.Errorf("got evidence %s, activity %q, severity %s, failed %d; want %s, %q, %s, %d\nreason: %s",
					f.LogEvidence, f.DeployerActivity, f.Severity, f.FailedDeploys, tc.evidence, tc.activity, tc.sev, tc.failed, f.Reason)
			}
			if len(out)-1 != tc.created || st.Created != tc.created {
				t.Errorf("created %d (stats %d), want %d", len(out)-1, st.Created, tc.created)
			}
			if tc.unread && (strings.Contains(f.Reason, "no deploy") || !strings.Contains(f.Reason, "undecided")) {
				t.Errorf("unread logs reason: %s", f.Reason)
			}
			if tc.f.Severity != f.Severity && !strings.Contains(f.Reason, "Severity raised from "+string(tc.f.Severity)) {
				t.Errorf("severity raised without saying so: %s", f.Reason)
			}
			if tc.f.FindingID != f.FindingID || tc.f.Kind != f.Kind || tc.f.Principal != f.Principal {
				t.Errorf("identity changed: %+v", f)
			}
		})
	}
}

// TestJoinLeavesOtherFindings: findings about no principal, the secret
// kind, and logs not read at all are untouched.
func TestJoinLeavesOtherFindings(t *testing.T) {
	secret := jFinding(audit.RemoteRepoSecretInaccessible, audit.High, "serviceAccount:service-2@gcp-sa-artifactregistry.iam.gserviceaccount.com")
	secret.Resource = "//artifactregistry.googleapis.com/projects/img/locations/europe/repositories/hub"
	noPrincipal := jFinding(audit.ImageUnparseable, audit.Info, "")
	in := []audit.Finding{secret, noPrincipal}
	out, _ := Join(in, Evidence{Events: []Event{refusal(jSvc, jAlice, 3)}, Read: map[string]bool{"p1": true}})
	for i := range in {
		if out[i].LogEvidence != "" || out[i].Reason != in[i].Reason || out[i].Severity != in[i].Severity {
			t.Errorf("finding %d changed: %+v", i, out[i])
		}
	}
}

func TestJoinCreatedFinding(t *testing.T) {
	ev := Evidence{
		Events: []Event{refusal(jSvc, jBob, 3), refusal(jSvc, jBob, 9), agentRefusal(10)},
		Read:   map[string]bool{"p1": true}, Since: day(1), Until: day(31),
		Project: func(id string) (string, []string, string, bool) { return "111", []string{"5"}, "9", id == "p1" },
	}
	ev.Events[2].Caller = Principal{Unmapped: "the Cloud Run service agent of the resource's project"}
	out, st := Join(nil, ev)
	if len(out) != 2 || st.Created != 2 || st.Confirmed != 2 {
		t.Fatalf("created %+v, stats %+v", out, st)
	}
	agent, bob := out[0], out[1]
	if agent.Principal != jAgent {
		agent, bob = bob, agent
	}
	if agent.Principal != jAgent || !strings.Contains(agent.Reason, "revision") {
		t.Errorf("agent finding = %+v", agent)
	}
	want := audit.Finding{
		FindingID: audit.ID(audit.DeployFailedImageRead, jSvc, jBob, jRepo), Kind: audit.DeployFailedImageRead, Severity: audit.High,
		Resource: jSvc, ResourceType: TypeService, ProjectID: "p1", ProjectNumber: "111", Location: "europe-west1", Principal: jBob,
		Image: jImage, Repository: jRepo, Permission: DownloadArtifacts,
		Remediation: "gcloud artifacts repositories add-iam-policy-binding apps --project=img --location=europe-west1 --member=user:bob@x.example --role=roles/artifactregistry.reader",
		Folders:     []string{"5"}, Organization: "9", LogEvidence: Confirmed, FailedDeploys: 2, FirstFailure: day(3), LastFailure: day(9), FailedBy: jBob,
	}
	got := bob
	got.Reason = ""
	if got.FindingID != want.FindingID || got.Remediation != want.Remediation || got.FailedDeploys != 2 || !got.FirstFailure.Equal(day(3)) ||
		!got.LastFailure.Equal(day(9)) || got.ProjectNumber != "111" || got.Organization != "9" || got.Permission != DownloadArtifacts || got.Severity != audit.High {
		t.Errorf("created finding:\n got %+v\nwant %+v", got, want)
	}
	if !strings.Contains(bob.Reason, "policy changed since") || !strings.Contains(bob.Reason, "between 2026-10-03T12:00:00Z and 2026-10-09T12:00:00Z") {
		t.Errorf("reason = %s", bob.Reason)
	}
}

func TestJoinPossibleExplanation(t *testing.T) {
	group := jFinding(audit.DeployerCannotReadImage, audit.Medium, "group:devs@x.example")
	out, _ := Join([]audit.Finding{group}, Evidence{Events: []Event{refusal(jSvc, jBob, 3)}, Read: map[string]bool{"p1": true}})
	if len(out) != 2 || !strings.Contains(out[1].Reason, "A finding for group:devs@x.example may explain it") {
		t.Errorf("created finding does not name the group finding that may explain it: %+v", out)
	}
	if !strings.Contains(out[0].Reason, "may be in group:devs@x.example") {
		t.Errorf("group finding reason: %s", out[0].Reason)
	}
}

func TestDeployers(t *testing.T) {
	imp := deploy(jSvc, "serviceAccount:ci@p.iam.gserviceaccount.com", 5, Succeeded)
	imp.Caller.Delegates = []string{jBob}
	actAs := deploy(jSvc, jAlice, 6, Failed)
	actAs.Failure = classify(7, "Permission 'iam.serviceaccounts.actAs' denied")
	unknown := deploy(jOther, "", 7, Succeeded)
	unknown.Caller.Logged = "legacy-subject"
	got := Deployers([]Event{
		refusal(jSvc, jAlice, 2), deploy(jSvc, jAlice, 3, Succeeded), deploy(jSvc, jAlice, 8, Pending),
		imp, actAs, agentRefusal(9), unknown,
	})
	type row struct {
		resource, principal, logged, via string
		deploys, failures                int
		last                             time.Time
	}
	want := []row{
		{jSvc, jAlice, "", "", 2, 1, day(8)},
		{jSvc, "serviceAccount:ci@p.iam.gserviceaccount.com", "", jBob, 1, 0, day(5)},
		{jOther, "", "legacy-subject", "", 1, 0, day(7)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d deployers, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		d := got[i]
		g := row{d.Resource, d.Principal, d.Logged, strings.Join(d.Via, ","), d.Deploys, d.ImageReadFailures, d.LastDeploy}
		if g != w {
			t.Errorf("deployer %d = %+v, want %+v", i, g, w)
		}
	}
	if got := Deployers(nil); got == nil || len(got) != 0 {
		t.Errorf("no events: %v, want an empty, non-nil list (logs read, nobody deployed)", got)
	}
}
