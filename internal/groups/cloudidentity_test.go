package groups

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/option"

	"github.com/runaudit/runaudit/internal/access"
)

// fakeIdentity serves the Cloud Identity Groups REST calls the resolver
// makes: groups.lookup, memberships.checkTransitiveMembership and
// memberships.list (paged), from a table of groups.
type fakeIdentity struct {
	mu       sync.Mutex
	ids      map[string]string      // group email → id
	members  map[string][][2]string // group id → (type, email)
	premium  bool                   // checkTransitiveMembership allowed
	failures int                    // answer 503 to this many requests first
	broken   bool                   // answer 500 to everything
	pageSize int
	calls    map[string]int
}

func newFake() *fakeIdentity {
	f := &fakeIdentity{ids: map[string]string{}, members: map[string][][2]string{}, premium: true, pageSize: 2, calls: map[string]int{}}
	f.group("devs@acme.example", "u:alice@acme.example", "g:leads@acme.example", "u:carol@acme.example", "u:dan@acme.example")
	f.group("leads@acme.example", "u:bob@acme.example", "g:ci@acme.example")
	f.group("ci@acme.example", "s:deployer@acme-ci.iam.gserviceaccount.com", "g:devs@acme.example")
	f.group("ops@acme.example", "u:erin@acme.example")
	return f
}

func (f *fakeIdentity) group(email string, members ...string) {
	id := fmt.Sprintf("id%d", len(f.ids))
	f.ids[email] = id
	for _, m := range members {
		typ := map[string]string{"u": "USER", "s": "SERVICE_ACCOUNT", "g": "GROUP"}[m[:1]]
		f.members[id] = append(f.members[id], [2]string{typ, m[2:]})
	}
}

func (f *fakeIdentity) transitive(id, email string, seen map[string]bool) bool {
	if seen[id] {
		return false
	}
	seen[id] = true
	for _, m := range f.members[id] {
		if strings.EqualFold(m[1], email) {
			return true
		}
		if m[0] == "GROUP" && f.transitive(f.ids[m[1]], email, seen) {
			return true
		}
	}
	return false
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (f *fakeIdentity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	kind := "list"
	switch {
	case p == "/v1/groups:lookup":
		kind = "lookup"
	case strings.HasSuffix(p, "/memberships:checkTransitiveMembership"):
		kind = "check"
	}
	f.calls[kind]++
	if f.broken {
		apiError(w, 500, "backend error")
		return
	}
	if f.failures > 0 {
		f.failures--
		apiError(w, 503, "try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch kind {
	case "lookup":
		id, ok := f.ids[strings.ToLower(r.URL.Query().Get("groupKey.id"))]
		if !ok {
			apiError(w, 404, "group not found")
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"name": "groups/" + id})
	case "check":
		if !f.premium {
			apiError(w, 403, "feature requires Cloud Identity Premium")
			return
		}
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/groups/"), "/memberships:checkTransitiveMembership")
		q := r.URL.Query().Get("query")
		email, ok := strings.CutPrefix(q, "member_key_id == '")
		if !ok || !strings.HasSuffix(email, "'") {
			apiError(w, 400, "bad query "+q)
			return
		}
		email = strings.TrimSuffix(email, "'")
		json.NewEncoder(w).Encode(map[string]bool{"hasMembership": f.transitive(id, email, map[string]bool{})})
	default:
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/groups/"), "/memberships")
		ms, ok := f.members[id]
		if !ok {
			apiError(w, 404, "no group "+id)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		end := min(start+f.pageSize, len(ms))
		var page []map[string]any
		for i, m := range ms[start:end] {
			page = append(page, map[string]any{
				"name": fmt.Sprintf("groups/%s/memberships/%d", id, start+i), "type": m[0],
				"preferredMemberKey": map[string]string{"id": m[1]},
			})
		}
		resp := map[string]any{"memberships": page}
		if end < len(ms) {
			resp["nextPageToken"] = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(resp)
	}
}

func (f *fakeIdentity) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[kind]
}

// resolver connects the real Cloud Identity client to the fake.
func resolver(t *testing.T, ctx context.Context, f *fakeIdentity, opts CloudIdentityOptions) *CloudIdentity {
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
	if f.count("list") != 0 {
		t.Errorf("listed memberships %d times; the transitive check needs none", f.count("list"))
	}
	// Answers and group names are cached: asking again costs nothing.
	before := f.count("lookup") + f.count("check")
	for _, tc := range membershipCases {
		c.IsMember(tc.member, tc.group)
	}
	if after := f.count("lookup") + f.count("check"); after != before {
		t.Errorf("repeated questions made %d more calls", after-before)
	}
	if f.count("lookup") != 5 { // devs, ci, ops, leads, gone
		t.Errorf("looked up groups %d times, want once per group (5)", f.count("lookup"))
	}
}

func TestCloudIdentityWithoutPremiumWalksMemberships(t *testing.T) {
	f := newFake()
	f.premium = false
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	for _, tc := range membershipCases {
		if got, note := c.IsMember(tc.member, tc.group); got != tc.want || !strings.Contains(note, tc.note) {
			t.Errorf("IsMember(%s, %s) = %v, %q; want %v with %q", tc.member, tc.group, got, note, tc.want, tc.note)
		}
	}
	if n := f.count("check"); n != 1 {
		t.Errorf("tried checkTransitiveMembership %d times; after one refusal it should stop", n)
	}
	// Each group's members are listed once (pages of 2: devs 2, leads 1,
	// ci 1, ops 1).
	if n := f.count("list"); n != 5 {
		t.Errorf("listed %d pages, want 5", n)
	}
}

func TestCloudIdentityRetriesTransientErrors(t *testing.T) {
	f := newFake()
	f.failures = 2
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
	f.broken = true
	c := resolver(t, context.Background(), f, CloudIdentityOptions{})
	got, note := c.IsMember("user:alice@acme.example", "group:devs@acme.example")
	if got != access.Unknown || !strings.Contains(note, "could not be resolved") || !strings.Contains(note, "HTTP 500") {
		t.Errorf("broken API: %v, %q; want unknown with the error", got, note)
	}
	if f.count("lookup") != 4 {
		t.Errorf("lookup tried %d times, want 4 (retries on 500)", f.count("lookup"))
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
	if n := f.count("lookup") + f.count("check"); n != 1 {
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
	if f.count("lookup") != 1 || f.count("check") != 1 {
		t.Errorf("32 concurrent questions made %d lookups and %d checks, want 1 each", f.count("lookup"), f.count("check"))
	}
}
