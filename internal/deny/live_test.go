package deny

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	iam "cloud.google.com/go/iam/apiv2"
	"cloud.google.com/go/iam/apiv2/iampb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/deny/denytest"
	"github.com/runaudit/runaudit/internal/inventory"
)

func policy(attachment, id string, rules ...*iampb.DenyRule) *iampb.Policy {
	p := &iampb.Policy{Name: "policies/cloudresourcemanager.googleapis.com%2F" + strings.ReplaceAll(attachment, "/", "%2F") + "/denypolicies/" + id, Kind: "DenyPolicy"}
	for _, r := range rules {
		p.Rules = append(p.Rules, &iampb.PolicyRule{Kind: &iampb.PolicyRule_DenyRule{DenyRule: r}})
	}
	return p
}

func denyRule(principal, perm string) *iampb.DenyRule {
	return &iampb.DenyRule{DeniedPrincipals: []string{principal}, DeniedPermissions: []string{perm}}
}

func dial(t testing.TB, srv *denytest.Server) *iam.PoliciesClient {
	t.Helper()
	addr := srv.Start(t)
	c, err := iam.NewPoliciesClient(context.Background(), option.WithEndpoint(addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func fakeOrg() *denytest.Server {
	srv := &denytest.Server{}
	srv.Add(
		policy("organizations/1", "org-a", denyRule("principal://goog/subject/ann@acme.example", "artifactregistry.googleapis.com/repositories.downloadArtifacts")),
		policy("organizations/1", "org-b", denyRule("principal://goog/subject/bob@acme.example", "run.googleapis.com/services.update")),
		policy("organizations/1", "org-c"),
		policy("folders/10", "folder", denyRule("principal://goog/subject/carl@acme.example", "artifactregistry.googleapis.com/repositories.*")),
		policy("projects/200", "project", denyRule("principal://goog/subject/dora@acme.example", "artifactregistry.googleapis.com/*.*")),
	)
	return srv
}

func TestReaderReadsEachNodeOnce(t *testing.T) {
	srv := fakeOrg()
	r := NewReader(context.Background(), dial(t, srv), ReaderOptions{PerMinute: 60000})
	inv := loadInventory(t)
	e := New(r, nil, nil)
	e.UseInventory(inv)
	n := inv.Nodes[repo]
	for _, tc := range []struct {
		member string
		want   access.Tri
	}{
		{"user:ann@acme.example", access.Yes},
		{"user:carl@acme.example", access.Yes},
		// Project policies are not read: a project deny could apply.
		{"user:bob@acme.example", access.Unknown},
		{"user:dora@acme.example", access.Unknown},
		{"user:erin@acme.example", access.Unknown},
	} {
		if got, step := e.Denied(tc.member, access.DownloadArtifacts, n); got != tc.want {
			t.Errorf("%s: %v %+v, want %v", tc.member, got, step, tc.want)
		}
	}
	// Pages of one policy: the organization's 3 policies take 3 list calls,
	// the folder's one 1, then one get per policy.
	if l, g := srv.Calls("ListPolicies"), srv.Calls("GetPolicy"); l != 4 || g != 4 {
		t.Errorf("ListPolicies %d, GetPolicy %d; want 4 and 4", l, g)
	}
	st := r.Stats()
	if st.Nodes != 2 || st.Skipped != 1 || st.Lists != 4 || st.Gets != 4 || st.Failures != 0 {
		t.Errorf("stats %+v, want 2 nodes (organization and folder), 1 project skipped, 4 lists, 4 gets", st)
	}
	// The project not read is a coverage gap, named and with a fix.
	gaps := e.Gaps()
	if len(gaps) != 1 || gaps[0].Scope != "projects/200" || gaps[0].AssetType != TypeDenyPolicy ||
		!strings.Contains(gaps[0].Reason, "not read") || !strings.Contains(gaps[0].Fix, "--deny-policies-projects") {
		t.Errorf("gaps %+v, want one for projects/200 saying to read project policies", gaps)
	}
}

// The API returns deleted policies with deleteTime set; they deny nothing.
func TestReaderSkipsDeletedPolicies(t *testing.T) {
	srv := fakeOrg()
	gone := policy("folders/10", "gone", denyRule("principal://goog/subject/erin@acme.example", "artifactregistry.googleapis.com/*.*"))
	gone.DeleteTime = timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv.Add(gone)
	r := NewReader(context.Background(), dial(t, srv), ReaderOptions{Projects: true, PerMinute: 60000})
	inv := loadInventory(t)
	e := New(r, nil, nil)
	e.UseInventory(inv)
	if got, step := e.Denied("user:erin@acme.example", access.DownloadArtifacts, inv.Nodes[repo]); got != access.No {
		t.Errorf("erin, denied only by a deleted policy: %v %+v, want no", got, step)
	}
	if got, _ := e.Denied("user:carl@acme.example", access.DownloadArtifacts, inv.Nodes[repo]); got != access.Yes {
		t.Errorf("carl, denied by the folder's live policy: %v, want yes", got)
	}
	if g := srv.Calls("GetPolicy"); g != 5 { // organization 3, folder 1, project 1
		t.Errorf("GetPolicy %d times, want 5: the deleted policy is not fetched", g)
	}
	if gaps := e.Gaps(); len(gaps) != 0 {
		t.Errorf("everything was read, yet gaps %+v", gaps)
	}
}

func TestReaderProjects(t *testing.T) {
	srv := fakeOrg()
	r := NewReader(context.Background(), dial(t, srv), ReaderOptions{Projects: true, PerMinute: 60000})
	inv := loadInventory(t)
	e := New(r, nil, nil)
	e.UseInventory(inv)
	got, step := e.Denied("user:dora@acme.example", access.DownloadArtifacts, inv.Nodes[repo])
	if got != access.Yes || step.Node.Key != "projects/200" {
		t.Errorf("project deny: %v %+v, want denied on projects/200", got, step)
	}
	if got, _ := e.Denied("user:dora@acme.example", access.DownloadArtifacts, inv.Nodes["projects/300/locations/us/repositories/noid"]); got != access.No {
		t.Errorf("another project: %v, want no", got)
	}
}

func TestReaderFailureIsUnknown(t *testing.T) {
	srv := fakeOrg()
	srv.Fail = map[string]codes.Code{attachmentName(&inventory.Node{Key: "folders/10"}): codes.PermissionDenied}
	r := NewReader(context.Background(), dial(t, srv), ReaderOptions{Projects: true, PerMinute: 60000})
	inv := loadInventory(t)
	e := New(r, nil, nil)
	e.UseInventory(inv)
	got, step := e.Denied("user:erin@acme.example", access.DownloadArtifacts, inv.Nodes[repo])
	if got != access.Unknown || step.Node.Key != "folders/10" || !strings.Contains(step.Note, "PermissionDenied") {
		t.Errorf("unreadable folder: %v %+v, want unknown naming folders/10 and the error", got, step)
	}
	if got, _ := e.Denied("user:ann@acme.example", access.DownloadArtifacts, inv.Nodes[repo]); got != access.Yes {
		t.Errorf("the organization's sure deny: %v, want yes", got)
	}
	if r.Stats().Failures != 1 {
		t.Errorf("failures %d, want 1 (the failed read is remembered, not retried per question)", r.Stats().Failures)
	}
	gaps := e.Gaps()
	if len(gaps) != 1 || gaps[0].Scope != "folders/10" || !strings.Contains(gaps[0].Reason, "PermissionDenied") || !strings.Contains(gaps[0].Fix, "roles/iam.denyReviewer") {
		t.Errorf("gaps %+v, want one for folders/10 naming the error and the role to grant", gaps)
	}
}

func TestReaderConcurrentQuestionsShareReads(t *testing.T) {
	srv := fakeOrg()
	srv.Latency = 20 * time.Millisecond
	r := NewReader(context.Background(), dial(t, srv), ReaderOptions{PerMinute: 60000})
	inv := loadInventory(t)
	e := New(r, nil, nil)
	e.UseInventory(inv)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, _ := e.Denied("user:carl@acme.example", access.DownloadArtifacts, inv.Nodes[repo]); got != access.Yes {
				t.Errorf("got %v", got)
			}
		}()
	}
	wg.Wait()
	// carl is denied on the folder, the nearest node read: one list call.
	if l := srv.Calls("ListPolicies"); l != 1 {
		t.Errorf("16 concurrent questions made %d list calls, want 1", l)
	}
}

func TestReaderRateLimit(t *testing.T) {
	// At the default 4 calls a minute the burst is one call; the second
	// waits 20 s, past the context's end, and the read fails (Unknown), not
	// "no policies".
	srv := fakeOrg()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // the first call's room, far short of 20 s
	defer cancel()
	r := NewReader(ctx, dial(t, srv), ReaderOptions{})
	inv := loadInventory(t)
	e := New(r, nil, nil)
	e.UseInventory(inv)
	got, step := e.Denied("user:erin@acme.example", access.DownloadArtifacts, inv.Nodes[repo])
	if got != access.Unknown || !strings.Contains(step.Note, "could not be read") {
		t.Errorf("rate-limited read: %v %q, want unknown", got, step.Note)
	}
	if n := srv.Calls("ListPolicies") + srv.Calls("GetPolicy"); n != 1 {
		t.Errorf("%d calls reached the API, want 1", n)
	}
}

// TestRateFitsQuota drives the limiter on a simulated clock, a call
// attempted every 10 ms for ten minutes, and requires no 60-second window
// to hold more than the rate asked for, and the default to stay under the
// IAM v2 read quota.
func TestRateFitsQuota(t *testing.T) {
	if DefaultPerMinute >= IAMv2ReadQuota {
		t.Fatalf("DefaultPerMinute = %d, want under the IAM v2 read quota of %d a minute", DefaultPerMinute, IAMv2ReadQuota)
	}
	for _, n := range []float64{1, DefaultPerMinute, IAMv2ReadQuota, 60, 600} {
		lim := perMinute(n)
		start := time.Unix(0, 0)
		var allowed []time.Duration
		for at := time.Duration(0); at < 10*time.Minute; at += 10 * time.Millisecond {
			if lim.AllowN(start.Add(at), 1) {
				allowed = append(allowed, at)
			}
		}
		most, j := 0, 0
		for i := range allowed {
			for allowed[i]-allowed[j] >= time.Minute {
				j++
			}
			most = max(most, i-j+1)
		}
		if float64(most) > n {
			t.Errorf("%v a minute: %d calls in one 60 s window", n, most)
		}
		// Not much slower than asked either: over ten minutes at least
		// the rate less its burst.
		if least := int((n - float64(max(1, int(n/60)))) * 10 * 0.98); len(allowed) < least {
			t.Errorf("%v a minute: %d calls in 10 min, want at least %d", n, len(allowed), least)
		}
	}
}

// BenchmarkReadProjectPolicies measures reading project-level deny policies
// for 100 projects with one policy each, 10 ms per call, the engine's way:
// GOMAXPROCS workers asking about resources in different projects. It
// reports calls per project; the wall time per project is what the rate
// limit (5 calls a minute by default) makes far larger in real use.
func BenchmarkReadProjectPolicies(b *testing.B) {
	const projects = 100
	srv := &denytest.Server{Latency: 10 * time.Millisecond}
	inv := &inventory.Inventory{Nodes: map[string]*inventory.Node{}}
	var nodes []*inventory.Node
	for i := range projects {
		key := fmt.Sprintf("projects/%d", 1000+i)
		srv.Add(policy(key, "p", denyRule("principal://goog/subject/x@acme.example", "run.googleapis.com/*.*")))
		n := &inventory.Node{Key: key, Kind: inventory.KindProject}
		inv.Nodes[key] = n
		nodes = append(nodes, n)
	}
	client := dial(b, srv)
	b.ResetTimer()
	for range b.N {
		r := NewReader(context.Background(), client, ReaderOptions{Projects: true, PerMinute: 1e9})
		var wg sync.WaitGroup
		work := make(chan *inventory.Node)
		for range 2 { // the audit's default concurrency on this machine
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range work {
					if _, err := r.Policies(n); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for _, n := range nodes {
			work <- n
		}
		close(work)
		wg.Wait()
		st := r.Stats()
		b.ReportMetric(float64(st.Lists+st.Gets)/projects, "calls/project")
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/projects, "ms/project")
}
