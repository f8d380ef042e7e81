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
	"github.com/runaudit/runaudit/internal/inventory"
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
	// The check counts only viewable memberships: its two "no" answers
	// (mallory in devs, dan in ops) are confirmed by listing devs (2 pages),
	// leads, ci and ops once each; its "yes" answers need no listing.
	if n := f.Calls("list"); n != 5 {
		t.Errorf("listed %d pages, want 5", n)
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // the first call's room, far short of 1000 s
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

// The walk asks for the FULL view (the default BASIC view leaves each
// member's type out, and nested groups would look like users) in pages the
// FULL view allows.
func TestCloudIdentityListsInTheFullView(t *testing.T) {
	f := newFake()
	f.Premium = false
	f.PageSize = 500
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	if got, note := c.IsMember("user:bob@acme.example", "group:devs@acme.example"); got != access.Yes {
		t.Fatalf("bob, in devs through leads: %v (%s), want yes", got, note)
	}
	views := f.Views()
	if len(views) == 0 {
		t.Fatal("no memberships listed")
	}
	for _, v := range views {
		if v != "FULL" {
			t.Errorf("listed in view %q, want FULL", v)
		}
	}
}

// A server that leaves the type out: a member without a type may be a
// group, so it is looked up as one, and an answer that depends on one that
// cannot be found is undecided, never "no".
func TestCloudIdentityMissingTypeIsNeverNo(t *testing.T) {
	f := newFake()
	f.Premium = false
	f.BasicOnly = true
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	for _, tc := range []struct {
		member, group string
		want          access.Tri
		note          string
	}{
		{"user:alice@acme.example", "group:devs@acme.example", access.Yes, "listed memberships"},
		{"user:bob@acme.example", "group:devs@acme.example", access.Yes, "listed memberships"}, // leads found by lookup
		{"user:mallory@acme.example", "group:devs@acme.example", access.Unknown, "has no membership type"},
		{"user:dan@acme.example", "group:ops@acme.example", access.Unknown, "member erin@acme.example of ops@acme.example has no membership type"},
	} {
		if got, note := c.IsMember(tc.member, tc.group); got != tc.want || !strings.Contains(note, tc.note) {
			t.Errorf("IsMember(%s, %s) = %v, %q; want %v with %q", tc.member, tc.group, got, note, tc.want, tc.note)
		}
	}
}

// hasMembership false means no *viewable* membership: a nested group the
// audit may not see leaves the answer undecided, and is a coverage gap.
func TestCloudIdentityInvisibleNestedGroupIsUnknown(t *testing.T) {
	for _, premium := range []bool{true, false} {
		f := newFake()
		f.Premium = premium
		f.AddGroup("secret@acme.example", "user:mallory@acme.example")
		f.AddGroup("outer@acme.example", "user:olga@acme.example", "group:secret@acme.example")
		f.Hide("secret@acme.example")
		c := resolver(t, context.Background(), f, CloudIdentityOptions{})
		c.UseInventory(&inventory.Inventory{Organization: "1"})
		got, note := c.IsMember("user:mallory@acme.example", "group:outer@acme.example")
		if got != access.Unknown || !strings.Contains(note, "nested group secret@acme.example: HTTP 403") {
			t.Errorf("premium %v: mallory through a hidden group: %v, %q; want unknown naming the group", premium, got, note)
		}
		if got, _ := c.IsMember("user:olga@acme.example", "group:outer@acme.example"); got != access.Yes {
			t.Errorf("premium %v: olga, a direct member: %v, want yes", premium, got)
		}
		gaps := c.Gaps()
		if len(gaps) != 1 || gaps[0].Asset != "group:secret@acme.example" || gaps[0].Scope != "organizations/1" || gaps[0].AssetType != TypeGroup || gaps[0].Fix == "" {
			t.Errorf("premium %v: gaps %+v, want one for group:secret@acme.example", premium, gaps)
		}
	}
}

// A 403 from checkTransitiveMembership is either the missing edition or a
// permission error. A group whose members cannot be listed either is a
// permission error: undecided for that group, and the run keeps using the
// check for the others.
func TestCloudIdentityPermissionErrorIsNotTheEdition(t *testing.T) {
	f := newFake()
	f.AddGroup("private@acme.example", "user:pat@acme.example")
	f.HideMembers("private@acme.example")
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	got, note := c.IsMember("user:pat@acme.example", "group:private@acme.example")
	if got != access.Unknown || !strings.Contains(note, "refuses both checkTransitiveMembership") {
		t.Errorf("private group: %v, %q; want unknown", got, note)
	}
	if got, note := c.IsMember("user:bob@acme.example", "group:devs@acme.example"); got != access.Yes || !strings.Contains(note, "transitive") {
		t.Errorf("bob in devs after the refusal: %v, %q; want yes from the check", got, note)
	}
	if n := f.Calls("check"); n != 2 {
		t.Errorf("checkTransitiveMembership called %d times, want 2: one group's refusal does not switch the run to the walk", n)
	}
	if gaps := c.Gaps(); len(gaps) != 1 || gaps[0].Asset != "group:private@acme.example" {
		t.Errorf("gaps %+v, want one for the private group", gaps)
	}
}

// Without the edition, the first refusal switches to the walk, and no gap
// is left: every membership was read.
func TestCloudIdentityMissingEditionLeavesNoGap(t *testing.T) {
	f := newFake()
	f.Premium = false
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	for _, tc := range membershipCases {
		c.IsMember(tc.member, tc.group)
	}
	gaps := c.Gaps()
	if len(gaps) != 1 || gaps[0].Asset != "group:gone@acme.example" {
		t.Errorf("gaps %+v, want only the group that does not exist", gaps)
	}
}

// Cloud Identity failing as a whole is one gap, not one per group.
func TestCloudIdentityFailingAsAWholeIsOneGap(t *testing.T) {
	f := newFake()
	f.Break(true)
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	c.UseInventory(&inventory.Inventory{Organization: "1"})
	c.IsMember("user:alice@acme.example", "group:devs@acme.example")
	c.IsMember("user:alice@acme.example", "group:ops@acme.example")
	gaps := c.Gaps()
	if len(gaps) != 1 || gaps[0].Asset != "" || gaps[0].Scope != "organizations/1" || !strings.Contains(gaps[0].Reason, "every call") || !strings.Contains(gaps[0].Reason, "HTTP 500") {
		t.Errorf("gaps %+v, want one saying every call failed", gaps)
	}
}

// A 404 from checkTransitiveMembership (the group is gone, or not visible)
// is undecided, not "not a member".
func TestCloudIdentityCheckNotFoundIsUnknown(t *testing.T) {
	f := newFake()
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	if got, _ := c.IsMember("user:alice@acme.example", "group:devs@acme.example"); got != access.Yes {
		t.Fatalf("alice before the deletion: %v, want yes", got)
	}
	f.Delete("devs@acme.example") // the group's name is cached from the lookup
	got, note := c.IsMember("user:bob@acme.example", "group:devs@acme.example")
	if got != access.Unknown || !strings.Contains(note, "HTTP 404") {
		t.Errorf("bob in a group deleted during the run: %v, %q; want unknown", got, note)
	}
}
