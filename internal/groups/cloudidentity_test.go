package groups

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/option"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/groups/groupstest"
)

func newFake() *groupstest.Server {
	f := &groupstest.Server{Premium: true}
	f.AddGroup("devs@acme.example", "user:alice@acme.example", "group:leads@acme.example", "user:carol@acme.example", "user:dan@acme.example")
	f.AddGroup("leads@acme.example", "user:bob@acme.example", "group:ci@acme.example")
	f.AddGroup("ci@acme.example", "serviceAccount:deployer@acme-ci.iam.gserviceaccount.com", "group:devs@acme.example")
	f.AddGroup("ops@acme.example", "user:erin@acme.example")
	return f
}

// resolver connects the real Cloud Identity client to the fake.
func resolver(t *testing.T, ctx context.Context, f *groupstest.Server, opts CloudIdentityOptions) *CloudIdentity {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	svc, err := cloudidentity.NewService(ctx, option.WithEndpoint(srv.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	if opts.QPS == 0 {
		opts.QPS = 1000
	}
	c := NewCloudIdentity(ctx, svc, opts)
	c.backoff = time.Millisecond
	return c
}

var membershipCases = []struct {
	member, group string
	want          access.Tri
	note          string
}{
	{"user:alice@acme.example", "group:devs@acme.example", access.Yes, "alice@acme.example is a member of devs@acme.example"},
	{"user:bob@acme.example", "group:devs@acme.example", access.Yes, "member"},
	{"serviceAccount:deployer@acme-ci.iam.gserviceaccount.com", "group:devs@acme.example", access.Yes, "member"},
	{"group:ci@acme.example", "group:devs@acme.example", access.Yes, "member"},
	{"user:alice@acme.example", "group:ci@acme.example", access.Yes, "member"}, // through the cycle
	{"user:mallory@acme.example", "group:devs@acme.example", access.No, "is not a member of devs@acme.example"},
	{"user:dan@acme.example", "group:ops@acme.example", access.No, "not a member"},
	{"user:dan@acme.example", "group:leads@acme.example", access.Yes, "member"}, // leads → ci → devs
	{"user:alice@acme.example", "group:gone@acme.example", access.Unknown, "group gone@acme.example cannot be looked up"},
}

func TestCloudIdentityTransitiveCheck(t *testing.T) {
	f := newFake()
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	for _, tc := range membershipCases {
		if got, note := c.IsMember(tc.member, tc.group); got != tc.want || !strings.Contains(note, tc.note) || !strings.Contains(note, "transitive") && got != access.Unknown {
			t.Errorf("IsMember(%s, %s) = %v, %q; want %v with %q", tc.member, tc.group, got, note, tc.want, tc.note)
		}
	}
	if f.Calls("list") != 0 {
		t.Errorf("listed memberships %d times; the transitive check needs none", f.Calls("list"))
	}
	// Answers and group names are cached: asking again costs nothing.
	before := f.Calls("lookup") + f.Calls("check")
	for _, tc := range membershipCases {
		c.IsMember(tc.member, tc.group)
	}
	if after := f.Calls("lookup") + f.Calls("check"); after != before {
		t.Errorf("repeated questions made %d more calls", after-before)
	}
	if f.Calls("lookup") != 5 { // devs, ci, ops, leads, gone
		t.Errorf("looked up groups %d times, want once per group (5)", f.Calls("lookup"))
	}
}

func TestCloudIdentityWithoutPremiumWalksMemberships(t *testing.T) {
	f := newFake()
	f.Premium = false
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	for _, tc := range membershipCases {
		if got, note := c.IsMember(tc.member, tc.group); got != tc.want || !strings.Contains(note, tc.note) {
			t.Errorf("IsMember(%s, %s) = %v, %q; want %v with %q", tc.member, tc.group, got, note, tc.want, tc.note)
		}
	}
	if n := f.Calls("check"); n != 1 {
		t.Errorf("tried checkTransitiveMembership %d times; after one refusal it should stop", n)
	}
	// Each group's members are listed once (pages of 2: devs 2, leads 1,
	// ci 1, ops 1).
	if n := f.Calls("list"); n != 5 {
		t.Errorf("listed %d pages, want 5", n)
	}
}

func TestCloudIdentityRetriesTransientErrors(t *testing.T) {
	f := newFake()
	f.FailNext(2)
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	if got, note := c.IsMember("user:alice@acme.example", "group:devs@acme.example"); got != access.Yes {
		t.Fatalf("after two 503s: %v (%s), want yes", got, note)
	}
	if calls, failures := c.Calls(); calls != 4 || failures != 2 {
		t.Errorf("calls %d, failures %d; want 4 and 2", calls, failures)
	}
}

func TestCloudIdentityErrorsAreUnknown(t *testing.T) {
	f := newFake()
	f.Break(true)
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	got, note := c.IsMember("user:alice@acme.example", "group:devs@acme.example")
	if got != access.Unknown || !strings.Contains(note, "could not be resolved") || !strings.Contains(note, "HTTP 500") {
		t.Errorf("broken API: %v, %q; want unknown with the error", got, note)
	}
	if f.Calls("lookup") != 4 {
		t.Errorf("lookup tried %d times, want 4 (retries on 500)", f.Calls("lookup"))
	}
}

func TestCloudIdentityRateLimitGatesCalls(t *testing.T) {
	// One call is allowed at once, the next only after 1000 s: the second
	// distinct question waits, its context ends, and it is Unknown.
	f := newFake()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c := resolver(t, ctx, f, CloudIdentityOptions{QPS: 0.001, Burst: 1})
	got, note := c.IsMember("user:alice@acme.example", "group:devs@acme.example")
	if got != access.Unknown || !strings.Contains(note, "rate") {
		t.Errorf("rate-limited question: %v, %q; want unknown, waiting on the limit", got, note)
	}
	if n := f.Calls("lookup") + f.Calls("check"); n != 1 {
		t.Errorf("%d calls reached the API, want 1 (the burst)", n)
	}
}

func TestCloudIdentityConcurrentQuestionsShareCalls(t *testing.T) {
	f := newFake()
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, _ := c.IsMember("user:bob@acme.example", "group:devs@acme.example"); got != access.Yes {
				t.Errorf("got %v", got)
			}
		}()
	}
	wg.Wait()
	if f.Calls("lookup") != 1 || f.Calls("check") != 1 {
		t.Errorf("32 concurrent questions made %d lookups and %d checks, want 1 each", f.Calls("lookup"), f.Calls("check"))
	}
}
