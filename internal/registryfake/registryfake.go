// Package registryfake is an in-process container registry for tests: the
// OCI distribution API of go-containerregistry's pkg/registry behind the
// anonymous token handshake Artifact Registry performs, with repositories
// that refuse anonymous reads and repositories that answer slowly.
//
// Every registry host maps to the one server: point a client at it with
// imageprobe.Emulator(server.Addr(), nil) (or REGISTRY_EMULATOR_HOST), and
// name images as the audit sees them, e.g.
// us-docker.pkg.dev/cloudrun/container/hello. Only the path after the host
// matters to the server; it listens on 127.0.0.1 only.
package registryfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/runaudit/runaudit/internal/imageprobe"
)

// Denial is how the server refuses an anonymous read of a private
// repository.
type Denial int

// Denials.
const (
	// DenyManifest answers the manifest request with 403 DENIED, as
	// Artifact Registry does ("Permission artifactregistry.repositories.
	// downloadArtifacts denied on resource … (or it may not exist)").
	DenyManifest Denial = iota
	// DenyToken refuses the anonymous token for the repository's pull
	// scope with 401 UNAUTHORIZED.
	DenyToken
)

// Server is a running fake registry.
type Server struct {
	srv   *httptest.Server
	inner http.Handler

	mu      sync.Mutex
	private map[string]Denial        // repository path prefix → how it refuses
	delay   map[string]time.Duration // repository path prefix → added latency
	status  map[string]int           // repository path prefix → forced status
	calls   map[string]int           // repository path → manifest requests
}

// New starts a server; Close stops it.
func New() *Server {
	s := &Server{
		inner:   registry.New(registry.Logger(nopLogger())),
		private: map[string]Denial{},
		delay:   map[string]time.Duration{},
		status:  map[string]int{},
		calls:   map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return strings.TrimPrefix(s.srv.URL, "http://") }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Transport sends every registry request to the server.
func (s *Server) Transport() http.RoundTripper { return imageprobe.Emulator(s.Addr(), nil) }

// Push stores a small random image under image (a full reference such as
// us-docker.pkg.dev/p/r/img:tag; the host is ignored).
func (s *Server) Push(ctx context.Context, image string) error {
	ref, err := name.ParseReference(image)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", image, err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", image, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(authn.Anonymous), remote.WithTransport(s.Transport())); err != nil {
		return fmt.Errorf("pushing %s: %w", image, err)
	}
	return nil
}

// Private makes the repositories under prefix (a path such as
// "acme-shared/private") refuse anonymous reads, the way d says.
func (s *Server) Private(prefix string, d Denial) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.private[prefix] = d
}

// Slow adds latency d to every request for repositories under prefix.
func (s *Server) Slow(prefix string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[prefix] = d
}

// Fail answers every request for repositories under prefix with status.
func (s *Server) Fail(prefix string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[prefix] = status
}

// ManifestRequests counts the manifest requests for repository path repo
// ("cloudrun/container/hello").
func (s *Server) ManifestRequests(repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[repo]
}

// match returns the value of the longest prefix of repo in m.
func match[V any](m map[string]V, repo string) (V, bool) {
	var best string
	var v V
	found := false
	for p, pv := range m {
		if (repo == p || strings.HasPrefix(repo, p+"/")) && len(p) >= len(best) {
			best, v, found = p, pv, true
		}
	}
	return v, found
}

const token = "anonymous-token"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v2/token":
		s.token(w, r)
		return
	case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
		if r.Header.Get("Authorization") != "Bearer "+token {
			s.challenge(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	repo, kind, ok := splitPath(r.URL.Path)
	if !ok {
		s.inner.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	delay, _ := match(s.delay, repo)
	status, forced := match(s.status, repo)
	denial, private := match(s.private, repo)
	if kind == "manifests" {
		s.calls[repo]++
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		s.challenge(w, r)
		return
	}
	if forced {
		writeError(w, status, "UNAVAILABLE", "forced failure")
		return
	}
	if private && denial == DenyManifest && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		writeError(w, http.StatusForbidden, "DENIED", fmt.Sprintf("Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource %q (or it may not exist)", repo))
		return
	}
	s.inner.ServeHTTP(w, r)
}

// token issues the anonymous token, or refuses it for a private repository
// with DenyToken.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	for _, scope := range r.URL.Query()["scope"] {
		parts := strings.Split(scope, ":")
		if len(parts) != 3 || parts[0] != "repository" {
			continue
		}
		s.mu.Lock()
		d, private := match(s.private, parts[1])
		delay, _ := match(s.delay, parts[1])
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if private && d == DenyToken && !strings.Contains(parts[2], "push") {
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": token, "expires_in": 3600})
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q,service=%q", "https://"+r.Host+"/v2/token", r.Host))
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// splitPath splits /v2/REPO/(manifests|blobs|tags)/… into REPO and the kind.
func splitPath(p string) (repo, kind string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	for _, k := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			return rest[:i], strings.Trim(k, "/"), true
		}
	}
	return "", "", false
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
