package confirm

import (
	"context"
	"strings"
	"testing"
	"time"

	policytroubleshooter "cloud.google.com/go/policytroubleshooter/iam/apiv3"
	"cloud.google.com/go/policytroubleshooter/iam/apiv3/iampb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/confirm/confirmtest"
)

func dial(t *testing.T, srv *confirmtest.Server) *policytroubleshooter.PolicyTroubleshooterClient {
	t.Helper()
	addr := srv.Start(t)
	c, err := policytroubleshooter.NewPolicyTroubleshooterClient(context.Background(), option.WithEndpoint(addr),
		option.WithoutAuthentication(), option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

const (
	svc      = "//run.googleapis.com/projects/app/locations/europe-west1/services/web"
	job      = "//run.googleapis.com/projects/app/locations/europe-west1/jobs/batch"
	pool     = "//run.googleapis.com/projects/app/locations/europe-west1/workerPools/pool"
	gcfAgent = "service-100@gcf-admin-robot.iam.gserviceaccount.com"
	repoName = "projects/reg/locations/europe-west1/repositories/shared"
	repoFull = "//artifactregistry.googleapis.com/" + repoName
	read     = "artifactregistry.repositories.downloadArtifacts"
	agent    = "service-100@serverless-robot-prod.iam.gserviceaccount.com"
	arAgent  = "service-200@gcp-sa-artifactregistry.iam.gserviceaccount.com"
	secret   = "//secretmanager.googleapis.com/projects/reg/secrets/token"
)

func deployer(principal, resource string) audit.Finding {
	typ := audit.ResourceTypeService
	switch {
	case strings.Contains(resource, "/jobs/"):
		typ = audit.ResourceTypeJob
	case strings.Contains(resource, "/workerPools/"):
		typ = audit.ResourceTypeWorkerPool
	}
	return audit.Finding{Kind: audit.DeployerCannotReadImage, Resource: resource, ResourceType: typ, Principal: principal, Repository: repoName, Permission: read, Reason: "r."}
}

func TestConfirm(t *testing.T) {
	k := confirmtest.Key
	srv := &confirmtest.Server{Default: confirmtest.CannotAccess, Access: map[string]confirmtest.State{
		k("dev@x.example", svc, "run.services.update"):        confirmtest.CanAccess,
		k("reader@x.example", repoFull, read):                 confirmtest.CanAccess,
		k("creator@x.example", svc, "run.services.create"):    confirmtest.CanAccess,
		k("jobber@x.example", job, "run.jobs.update"):         confirmtest.CanAccess,
		k("pooler@x.example", pool, "run.workerpools.update"): confirmtest.CanAccess,
		k("cond@x.example", repoFull, read):                   confirmtest.UnknownInfo,
		k("half@x.example", svc, "run.services.update"):       confirmtest.UnknownInfo,
		k(arAgent, secret, "secretmanager.versions.access"):   confirmtest.CannotAccess,
	}, Fail: map[string]codes.Code{
		k("denied@x.example", repoFull, read): codes.PermissionDenied,
	}}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tr := New(dial(t, srv), Options{PerMinute: 60000, At: at})
	findings := []audit.Finding{
		deployer("user:dev@x.example", svc),              // 0: cannot read, can update
		deployer("user:reader@x.example", svc),           // 1: can read after all
		deployer("user:nobody@x.example", svc),           // 2: cannot read, cannot deploy
		deployer("user:creator@x.example", svc),          // 3: can only create
		deployer("serviceAccount:jobber@x.example", job), // 4: a job deployer
		deployer("user:cond@x.example", svc),             // 5: troubleshooter cannot tell
		deployer("user:half@x.example", svc),             // 6: deploy permission unknown
		deployer("user:denied@x.example", svc),           // 7: the call fails
		deployer("group:devs@x.example", svc),            // 8: groups are not checked
		deployer("principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*", svc),                               // 9
		{Kind: audit.ServiceAgentCannotReadImage, Resource: svc, Principal: "serviceAccount:" + agent, Repository: repoName, Permission: read}, // 10
		{Kind: audit.RemoteRepoSecretInaccessible, Principal: "serviceAccount:" + arAgent, Repository: repoName, Permission: "secretmanager.versions.access", // 11
			Secret: "projects/reg/secrets/token/versions/3"},
		{Kind: audit.ConditionNotEvaluable, Resource: svc, Principal: "user:dev@x.example", Repository: repoName, Permission: read}, // 12: informational
		deployer("user:dev@x.example", svc),               // 13: same questions as 0
		deployer("serviceAccount:pooler@x.example", pool), // 14: a worker-pool deployer
		// 15: Cloud Functions' agent deploys the functions it manages
		// whatever its own grants say: only the read is in question.
		deployer("serviceAccount:"+gcfAgent, svc),
	}
	stats := tr.Confirm(context.Background(), findings)
	want := []struct{ verdict, why string }{
		{Confirmed, ""},
		{Contradicted, "reader@x.example holds " + read + " on " + repoFull},
		{Contradicted, "nobody@x.example cannot deploy"},
		{Confirmed, ""},
		{Confirmed, ""},
		{Unknown, "UNKNOWN_INFO"},
		{Unknown, "whether half@x.example can deploy"},
		{Unknown, "PermissionDenied: injected failure"},
		{Unknown, "not group:devs@x.example"},
		{Unknown, "only Google accounts and service accounts"},
		{Confirmed, ""},
		{Confirmed, ""},
		{"", ""},
		{Confirmed, ""},
		{Confirmed, ""},
		{Confirmed, ""},
	}
	for i, w := range want {
		f := findings[i]
		if f.Confirmation != w.verdict {
			t.Errorf("finding %d (%s): confirmation %q, want %q; reason %q", i, f.Principal, f.Confirmation, w.verdict, f.Reason)
		}
		if w.why != "" && (!strings.Contains(f.Reason, "Policy Troubleshooter: ") || !strings.Contains(f.Reason, w.why)) {
			t.Errorf("finding %d: reason %q lacks %q", i, f.Reason, w.why)
		}
		if w.verdict == Confirmed && f.Reason != "r." && f.Reason != "" {
			t.Errorf("finding %d: a confirmed finding's reason changed to %q", i, f.Reason)
		}
	}
	if stats.Checked != 15 || stats.Confirmed != 8 || stats.Contradicted != 2 || stats.Unknown != 5 {
		t.Errorf("stats %+v", stats)
	}
	// Each distinct question is asked once: finding 13 repeats 0.
	reqs := srv.Requests()
	seen := map[string]bool{}
	for _, r := range reqs {
		a := r.GetAccessTuple()
		key := k(a.GetPrincipal(), a.GetFullResourceName(), a.GetPermission())
		if seen[key] {
			t.Errorf("asked twice: %s", key)
		}
		seen[key] = true
		if got := r.GetAccessTuple().GetConditionContext().GetRequest().GetReceiveTime().AsTime(); !got.Equal(at) {
			t.Errorf("request time %s, want %s", got, at)
		}
		res := r.GetAccessTuple().GetConditionContext().GetResource()
		switch a.GetFullResourceName() {
		case repoFull:
			if res.GetService() != "artifactregistry.googleapis.com" || res.GetName() != repoName || res.GetType() != "artifactregistry.googleapis.com/Repository" {
				t.Errorf("%s: condition resource %v, want the repository's service, name and type", key, res)
			}
		default:
			if svc, _, _ := strings.Cut(strings.TrimPrefix(a.GetFullResourceName(), "//"), "/"); res.GetService() != svc || res.GetName() != "" {
				t.Errorf("%s: condition resource %v, want only the service %s", key, res, svc)
			}
		}
	}
	if int64(len(reqs)) != stats.Calls {
		t.Errorf("server saw %d requests, stats say %d", len(reqs), stats.Calls)
	}
}

func TestConfirmRateLimit(t *testing.T) {
	srv := &confirmtest.Server{Default: confirmtest.CannotAccess, Access: map[string]confirmtest.State{}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // the first call's room, far short of a minute
	defer cancel()
	tr := New(dial(t, srv), Options{PerMinute: 1, Concurrency: 1})
	fs := []audit.Finding{deployer("user:a@x.example", svc), deployer("user:b@x.example", svc)}
	tr.Confirm(ctx, fs)
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d calls reached the API at one a minute, want 1", n)
	}
	for _, f := range fs {
		if f.Confirmation != Unknown {
			t.Errorf("%s: %q; rate-limited checks are unknown", f.Principal, f.Confirmation)
		}
	}
}

// Access through a condition on the resource is decided once the request
// carries the resource's attributes; what still rests on an unevaluable
// condition is recorded as UNKNOWN_CONDITIONAL, apart from other unknowns.
func TestConfirmConditions(t *testing.T) {
	k := confirmtest.Key
	onRepo := &iampb.ConditionContext_Resource{Service: "artifactregistry.googleapis.com", Name: repoName, Type: "artifactregistry.googleapis.com/Repository"}
	srv := &confirmtest.Server{Default: confirmtest.CannotAccess,
		Access: map[string]confirmtest.State{
			k("dev@x.example", svc, "run.services.update"): confirmtest.CanAccess,
		},
		Conditions: map[string]confirmtest.Conditional{
			// reader "on other repositories": false for this one.
			k("dev@x.example", repoFull, read): {Resource: &iampb.ConditionContext_Resource{Name: "projects/reg/locations/europe-west1/repositories/other"}, Then: confirmtest.CanAccess, Else: confirmtest.CannotAccess},
			// reader "on this repository": true.
			k("ok@x.example", repoFull, read): {Resource: onRepo, Then: confirmtest.CanAccess, Else: confirmtest.CannotAccess},
			// secret access under a condition on the version's name, which
			// the audit does not send.
			k(arAgent, secret, "secretmanager.versions.access"): {Resource: &iampb.ConditionContext_Resource{Name: "projects/reg/secrets/token/versions/3"}, Then: confirmtest.CanAccess, Else: confirmtest.CannotAccess},
			// a deploy grant under a condition on the service's name.
			k("tagged@x.example", svc, "run.services.update"): {Resource: &iampb.ConditionContext_Resource{Name: "projects/app/locations/europe-west1/services/web"}, Then: confirmtest.CanAccess, Else: confirmtest.CannotAccess},
		}}
	tr := New(dial(t, srv), Options{PerMinute: 60000, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	findings := []audit.Finding{
		deployer("user:dev@x.example", svc),
		deployer("user:ok@x.example", svc),
		{Kind: audit.RemoteRepoSecretInaccessible, Principal: "serviceAccount:" + arAgent, Repository: repoName, Permission: "secretmanager.versions.access", Secret: "projects/reg/secrets/token/versions/3"},
		deployer("user:tagged@x.example", svc),
		deployer("user:plain@x.example", svc), // 4: cannot deploy at all
	}
	stats := tr.Confirm(context.Background(), findings)
	for i, w := range []struct{ verdict, why string }{
		{Confirmed, ""},
		{Contradicted, "ok@x.example holds"},
		{UnknownConditional, "secretmanager.versions.access on " + secret + " is UNKNOWN_CONDITIONAL"},
		{UnknownConditional, "whether tagged@x.example can deploy " + svc + " depends on a condition"},
		{Contradicted, "cannot deploy"},
	} {
		if f := findings[i]; f.Confirmation != w.verdict || !strings.Contains(f.Reason, w.why) {
			t.Errorf("finding %d (%s): %q, %q; want %q with %q", i, f.Principal, f.Confirmation, f.Reason, w.verdict, w.why)
		}
	}
	if stats.UnknownConditional != 2 || stats.Unknown != 0 || stats.Checked != 5 {
		t.Errorf("stats %+v, want 2 unknown-conditional and no other unknown", stats)
	}
}
