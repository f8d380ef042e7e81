package scan

import (
	"testing"
	"time"
)

// TestPacerWindow drives the pacer's limiter on a simulated clock, a call
// attempted every 10 ms for five minutes, and checks that no 60-second
// window holds more than the quota, and that the pacer does not leave much
// of the quota unused either.
func TestPacerWindow(t *testing.T) {
	for _, perMinute := range []int{1, 7, 60, DefaultListAssetsPerMinute, 600, 800, 6000} {
		allowed, most := simulate(NewPacer(perMinute), 5*time.Minute)
		if most > perMinute {
			t.Errorf("quota %d/min: %d calls in one 60 s window", perMinute, most)
		}
		// Over five minutes the pacer should use the quota less its burst
		// margin.
		if min := (perMinute - max(1, perMinute/60)) * 5 * 98 / 100; len(allowed) < min {
			t.Errorf("quota %d/min: only %d calls in 5 min, want at least %d", perMinute, len(allowed), min)
		}
	}
}

// simulate attempts a call every 10 ms for d on a simulated clock and
// returns when each allowed call was made, and the most calls allowed in
// any 60-second window.
func simulate(p *Pacer, d time.Duration) (allowed []time.Duration, most int) {
	start := time.Unix(0, 0)
	for at := time.Duration(0); at < d; at += 10 * time.Millisecond {
		if p.lim.AllowN(start.Add(at), 1) {
			allowed = append(allowed, at)
		}
	}
	j := 0
	for i := range allowed {
		for allowed[i]-allowed[j] >= time.Minute {
			j++
		}
		most = max(most, i-j+1)
	}
	return allowed, most
}

// TestDefaultPacingFitsProjectQuota holds the default to the tighter of the
// two ListAssets quotas with headroom: a run charges the per-project quota
// (100 a minute) and the organization's (800) at once, so a default sized
// for the organization's alone (as 600 was) is refused with
// RESOURCE_EXHAUSTED after the first hundred calls of every minute.
func TestDefaultPacingFitsProjectQuota(t *testing.T) {
	// At most 90 % of the quota: other callers bill the same quota project.
	limit := ListAssetsProjectQuota * 9 / 10
	if DefaultListAssetsPerMinute <= 0 || DefaultListAssetsPerMinute > limit {
		t.Fatalf("DefaultListAssetsPerMinute = %d, want 1..%d (90 %% of the per-project quota of %d a minute)",
			DefaultListAssetsPerMinute, limit, ListAssetsProjectQuota)
	}
	if ListAssetsProjectQuota > ListAssetsOrgQuota {
		t.Fatalf("the per-project quota (%d) should be the tighter one (organization: %d)", ListAssetsProjectQuota, ListAssetsOrgQuota)
	}
	// A run that always has a call ready never sends more than the
	// headroom allows in any minute, and still uses most of the default
	// (the collection's time is bound by it: docs/scale.md).
	allowed, most := simulate(NewPacer(DefaultListAssetsPerMinute), 10*time.Minute)
	if most > limit {
		t.Errorf("at the default pace: %d calls in one 60 s window, want at most %d", most, limit)
	}
	if perMinute := len(allowed) / 10; perMinute < DefaultListAssetsPerMinute*9/10 {
		t.Errorf("at the default pace: %d calls a minute on average, want about %d", perMinute, DefaultListAssetsPerMinute)
	}
}

func TestPacerUnlimited(t *testing.T) {
	p := NewPacer(0)
	for i := range 10000 {
		if !p.lim.Allow() {
			t.Fatalf("call %d refused without a quota", i)
		}
	}
}

func TestScope(t *testing.T) {
	tests := []struct {
		kind, id, want, err string
	}{
		{"org", "123456789012", "organizations/123456789012", ""},
		{"org", "organizations/123", "organizations/123", ""},
		{"org", "acme", "", "numeric"},
		{"folder", "555", "folders/555", ""},
		{"folder", "folders/x", "", "numeric"},
		{"project", "acme-payments", "projects/acme-payments", ""},
		{"project", "987654321098", "projects/987654321098", ""},
		{"project", "projects/acme-data", "projects/acme-data", ""},
		{"project", "Acme", "", "project id"},
		{"project", "abc", "", "project id"},
		{"project", "acme-", "", "project id"},
		{"project", "acme_payments", "", "project id"},
		{"region", "x", "", "unknown scope"},
	}
	for _, tc := range tests {
		got, err := Scope(tc.kind, tc.id)
		if tc.err != "" {
			if err == nil || !contains(err.Error(), tc.err) {
				t.Errorf("Scope(%q, %q) = %q, %v; want an error holding %q", tc.kind, tc.id, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Scope(%q, %q) = %q, %v; want %q", tc.kind, tc.id, got, err, tc.want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
