package imageprobe_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/imageprobe"
	"github.com/runaudit/runaudit/internal/imageref"
	"github.com/runaudit/runaudit/internal/registryfake"
)

func parse(t *testing.T, images ...string) []imageref.Ref {
	t.Helper()
	var refs []imageref.Ref
	for _, s := range images {
		r, err := imageref.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	return refs
}

func server(t *testing.T, images ...string) *registryfake.Server {
	t.Helper()
	s := registryfake.New()
	t.Cleanup(s.Close)
	for _, img := range images {
		if err := s.Push(context.Background(), img); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestProbe classifies every kind of repository the brief names: public,
// private (refused at the manifest and at the token), missing, slow, and
// failing.
func TestProbe(t *testing.T) {
	s := server(t,
		"us-docker.pkg.dev/cloudrun/container/hello",
		"europe-docker.pkg.dev/other/private/app:1",
		"gcr.io/vendor-secret/agent:2",
		"us-docker.pkg.dev/slowpoke/repo/img:1",
		"us-docker.pkg.dev/broken/repo/img:1",
	)
	s.Private("other/private", registryfake.DenyManifest)
	s.Private("vendor-secret", registryfake.DenyToken)
	s.Slow("slowpoke", 10*time.Second)
	s.Fail("broken", http.StatusServiceUnavailable)

	// A second per request: the fake's prompt answers need far less even on
	// a loaded machine, and slowpoke takes ten.
	p := imageprobe.New(imageprobe.Options{Transport: s.Transport(), Timeout: time.Second})
	got := p.Probe(context.Background(), parse(t,
		"us-docker.pkg.dev/cloudrun/container/hello",
		"europe-docker.pkg.dev/other/private/app:1",
		"gcr.io/vendor-secret/agent:2",
		"us-docker.pkg.dev/gone/repo/img:1",
		"us-docker.pkg.dev/slowpoke/repo/img:1",
		"us-docker.pkg.dev/broken/repo/img:1",
		"nginx:1.27", // no Google Cloud IAM: not probed
	))
	tests := []struct {
		repo   string
		result imageprobe.Result
		status int
		detail string
	}{
		{"projects/cloudrun/locations/us/repositories/container", imageprobe.Public, 200, "was answered (HTTP 200): the repository is public"},
		{"projects/other/locations/europe/repositories/private", imageprobe.NotPublic, 403, "was refused (HTTP 403): the repository is not public"},
		{"projects/vendor-secret/locations/us/repositories/gcr.io", imageprobe.NotPublic, 401, "was refused (HTTP 401, UNAUTHORIZED)"},
		{"projects/gone/locations/us/repositories/repo", imageprobe.NotPublic, 404, "found nothing (HTTP 404): the image is not publicly readable"},
		{"projects/slowpoke/locations/us/repositories/repo", imageprobe.Unknown, 0, "timed out after 1s"},
		{"projects/broken/locations/us/repositories/repo", imageprobe.Unknown, 503, "got HTTP 503"},
	}
	for _, tt := range tests {
		a, ok := got[tt.repo]
		if !ok {
			t.Errorf("%s: no answer; got %v", tt.repo, got)
			continue
		}
		if a.Result != tt.result || a.Status != tt.status || !strings.Contains(a.Detail, tt.detail) {
			t.Errorf("%s: got %s %d %q, want %s %d containing %q", tt.repo, a.Result, a.Status, a.Detail, tt.result, tt.status, tt.detail)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("got %d answers, want %d (Docker Hub images are not probed): %v", len(got), len(tests), got)
	}
}

// TestProbeOneRequestPerRepository: images of one repository share one
// answer and one request.
func TestProbeOneRequestPerRepository(t *testing.T) {
	s := server(t, "us-docker.pkg.dev/cloudrun/container/hello", "us-docker.pkg.dev/cloudrun/container/job")
	requests := func() int {
		return s.ManifestRequests("cloudrun/container/hello") + s.ManifestRequests("cloudrun/container/job")
	}
	before := requests() // the pushes'
	p := imageprobe.New(imageprobe.Options{Transport: s.Transport()})
	got := p.Probe(context.Background(), parse(t,
		"us-docker.pkg.dev/cloudrun/container/hello",
		"us-docker.pkg.dev/cloudrun/container/hello:latest",
		"us-docker.pkg.dev/cloudrun/container/job",
	))
	if a := got["projects/cloudrun/locations/us/repositories/container"]; a.Result != imageprobe.Public {
		t.Fatalf("got %+v, want Public", a)
	}
	if n := requests() - before; n != 1 {
		t.Errorf("%d manifest requests for one repository, want 1", n)
	}
}

// TestProbeMissingTagTriesAnother: a missing tag says nothing about the
// repository; another image of it that exists decides.
func TestProbeMissingTagTriesAnother(t *testing.T) {
	s := server(t, "us-docker.pkg.dev/pub/repo/b:1")
	p := imageprobe.New(imageprobe.Options{Transport: s.Transport()})
	got := p.Probe(context.Background(), parse(t, "us-docker.pkg.dev/pub/repo/a:stale", "us-docker.pkg.dev/pub/repo/b:1"))
	a := got["projects/pub/locations/us/repositories/repo"]
	if a.Result != imageprobe.Public || a.Image != "us-docker.pkg.dev/pub/repo/b:1" {
		t.Errorf("got %+v, want Public through b:1", a)
	}
}

// TestProbeBudget: when the budget runs out, what is left is Unknown, and
// Probe returns in about the budget.
func TestProbeBudget(t *testing.T) {
	s := server(t, "us-docker.pkg.dev/slow/a/img:1", "us-docker.pkg.dev/slow/b/img:1", "us-docker.pkg.dev/slow/c/img:1")
	s.Slow("slow", 5*time.Second)
	p := imageprobe.New(imageprobe.Options{Transport: s.Transport(), Timeout: 10 * time.Second, Budget: 300 * time.Millisecond, Concurrency: 1})
	start := time.Now()
	got := p.Probe(context.Background(), parse(t, "us-docker.pkg.dev/slow/a/img:1", "us-docker.pkg.dev/slow/b/img:1", "us-docker.pkg.dev/slow/c/img:1"))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Probe took %s with a 300ms budget", d)
	}
	if len(got) != 3 {
		t.Fatalf("got %d answers, want 3", len(got))
	}
	for repo, a := range got {
		if a.Result != imageprobe.Unknown || !strings.Contains(a.Detail, "budget of 300ms") {
			t.Errorf("%s: got %+v, want Unknown for the budget", repo, a)
		}
	}
}

// TestProbeUnreachable: a registry that cannot be reached (an offline run)
// is Unknown, never public, asked once, and quickly.
func TestProbeUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	p := imageprobe.New(imageprobe.Options{Transport: imageprobe.Emulator(addr, nil), Concurrency: 1})
	start := time.Now()
	got := p.Probe(context.Background(), parse(t, "us-docker.pkg.dev/a/r/i", "us-docker.pkg.dev/b/r/i", "us-docker.pkg.dev/c/r/i"))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Probe took %s against a refused port", d)
	}
	asked := 0
	for repo, a := range got {
		if a.Result != imageprobe.Unknown {
			t.Errorf("%s: got %s, want Unknown", repo, a.Result)
		}
		if !strings.Contains(a.Detail, "was not asked") {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("%d requests to an unreachable registry, want 1: %v", asked, got)
	}
}

// TestProbeCancelled: a cancelled context gives Unknown answers, not
// public ones.
func TestProbeCancelled(t *testing.T) {
	s := server(t, "us-docker.pkg.dev/cloudrun/container/hello")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := imageprobe.New(imageprobe.Options{Transport: s.Transport()}).Probe(ctx, parse(t, "us-docker.pkg.dev/cloudrun/container/hello"))
	if a := got["projects/cloudrun/locations/us/repositories/container"]; a.Result != imageprobe.Unknown {
		t.Errorf("got %+v, want Unknown", a)
	}
}
