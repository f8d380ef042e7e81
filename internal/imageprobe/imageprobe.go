// Package imageprobe asks a container registry, without credentials,
// whether an image can be pulled by anyone. The audit uses it for images in
// projects the scan does not cover: their IAM policies are unknown, but a
// repository that grants read to allUsers (Google's own samples such as
// us-docker.pkg.dev/cloudrun/container/hello) serves its manifests to an
// anonymous client, and then every deployer and service agent can read it.
//
// A probe is one manifest HEAD per repository with anonymous auth, through
// go-containerregistry's remote package (which performs the registry's
// anonymous token handshake). Only a served manifest counts as Public; a
// refusal or a missing manifest is NotPublic; anything else (network
// error, timeout, rate limit, server error, budget spent) is Unknown and is
// never read as public.
package imageprobe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/runaudit/runaudit/internal/imageref"
)

// Result is what a probe decided about a repository.
type Result string

// Results.
const (
	// Public: the registry served a manifest of the repository to an
	// anonymous client.
	Public Result = "PUBLIC"
	// NotPublic: the registry refused the anonymous client (401, 403) or
	// had no such manifest for it (404).
	NotPublic Result = "NOT_PUBLIC"
	// Unknown: the probe could not tell (network error, timeout, other
	// status, budget spent, not probed).
	Unknown Result = "UNKNOWN"
)

// Answer is the outcome of probing one repository.
type Answer struct {
	Result Result
	// Image is the image reference whose manifest was requested last.
	Image string
	// Status is the HTTP status of that request, 0 when none came back.
	Status int
	// Detail says what happened, in words, for a finding's reason.
	Detail string
}

// Defaults for Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultBudget      = 30 * time.Second
	DefaultConcurrency = 8
)

// imagesPerRepository bounds the images tried in one repository when the
// first ones are missing (404): a stale tag says nothing about the others.
const imagesPerRepository = 3

// Options configure a Prober.
type Options struct {
	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds one repository's requests (token handshake and manifest
	// HEAD); 0 means DefaultTimeout.
	Timeout time.Duration
	// Budget bounds the whole probe; repositories not answered by then are
	// Unknown. 0 means DefaultBudget.
	Budget time.Duration
	// Concurrency bounds the repositories probed at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// UserAgent is sent with every request.
	UserAgent string
}

// Prober probes registries anonymously. Its methods are safe for
// concurrent use.
type Prober struct {
	opts Options
}

// New returns a Prober with opts, defaults filled in.
func New(opts Options) *Prober {
	opts.Transport = cmp.Or[http.RoundTripper](opts.Transport, remote.DefaultTransport)
	opts.Timeout = cmp.Or(opts.Timeout, DefaultTimeout)
	opts.Budget = cmp.Or(opts.Budget, DefaultBudget)
	opts.Concurrency = cmp.Or(opts.Concurrency, DefaultConcurrency)
	return &Prober{opts: opts}
}

// Probe asks the registry about the repository of every Artifact Registry
// or Container Registry image in refs and returns one Answer per repository,
// keyed by Ref.RepositoryName ("projects/P/locations/L/repositories/R": the
// unit Artifact Registry grants read on). Other images are ignored. Probe
// never fails: what it cannot decide is Unknown.
func (p *Prober) Probe(ctx context.Context, refs []imageref.Ref) map[string]Answer {
	byRepo := map[string][]imageref.Ref{}
	for _, r := range refs {
		if key := r.RepositoryName(); key != "" {
			if !slices.ContainsFunc(byRepo[key], func(o imageref.Ref) bool { return o.String() == r.String() }) {
				byRepo[key] = append(byRepo[key], r)
			}
		}
	}
	out := make(map[string]Answer, len(byRepo))
	if len(byRepo) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Budget)
	defer cancel()

	var mu sync.Mutex
	down := map[string]string{} // registry host → why it could not be reached
	g := errgroup.Group{}
	g.SetLimit(p.opts.Concurrency)
	keys := make([]string, 0, len(byRepo))
	for k := range byRepo {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		imgs := byRepo[key]
		slices.SortFunc(imgs, func(a, b imageref.Ref) int { return cmp.Compare(a.String(), b.String()) })
		g.Go(func() error {
			var a Answer
			for _, r := range imgs[:min(len(imgs), imagesPerRepository)] {
				mu.Lock()
				why, isDown := down[r.Registry]
				mu.Unlock()
				if isDown {
					a = Answer{Result: Unknown, Image: r.String(), Detail: fmt.Sprintf("registry %s was not asked: %s", r.Registry, why)}
					break
				}
				var err error
				a, err = p.probeOne(ctx, r)
				if a.Result == Unknown && a.Status == 0 && unreachable(err) {
					// One host that cannot be reached stops the others
					// of that host: an offline run must not wait once per
					// repository.
					mu.Lock()
					down[r.Registry] = "an earlier request to it failed (" + a.Detail + ")"
					mu.Unlock()
				}
				if !(a.Result == NotPublic && a.Status == http.StatusNotFound) {
					break
				}
			}
			mu.Lock()
			out[key] = a
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return out
}

// probeOne requests one image's manifest anonymously.
func (p *Prober) probeOne(budget context.Context, r imageref.Ref) (a Answer, err error) {
	a.Image = r.String()
	if err := budget.Err(); err != nil {
		a.Result, a.Detail = Unknown, fmt.Sprintf("not asked: the probe's budget of %s was spent", p.opts.Budget)
		return a, err
	}
	ref, err := name.ParseReference(a.Image, name.StrictValidation)
	if err != nil {
		a.Result, a.Detail = Unknown, fmt.Sprintf("not asked: %v", err)
		return a, err
	}
	ctx, cancel := context.WithTimeout(budget, p.opts.Timeout)
	defer cancel()
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(authn.Anonymous),
		remote.WithTransport(p.opts.Transport),
		// One try: the timeout and the budget bound the probe, and an
		// unanswered probe is Unknown, never a guess.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	if p.opts.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(p.opts.UserAgent))
	}
	_, err = remote.Head(ref, opts...)
	var terr *transport.Error
	switch {
	case err == nil:
		a.Result, a.Status = Public, http.StatusOK
		a.Detail = fmt.Sprintf("an anonymous request for the manifest of %s was answered (HTTP 200): the repository is public", a.Image)
	case errors.As(err, &terr):
		a.Status = terr.StatusCode
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			a.Result = NotPublic
			a.Detail = fmt.Sprintf("an anonymous request for the manifest of %s was refused (HTTP %d%s): the repository is not public", a.Image, terr.StatusCode, codes(terr))
		case http.StatusNotFound:
			a.Result = NotPublic
			a.Detail = fmt.Sprintf("an anonymous request for the manifest of %s found nothing (HTTP 404%s): the image is not publicly readable", a.Image, codes(terr))
		default:
			a.Result = Unknown
			a.Detail = fmt.Sprintf("an anonymous request for the manifest of %s got HTTP %d%s: whether it is public is unknown", a.Image, terr.StatusCode, codes(terr))
		}
	case budget.Err() != nil:
		a.Result, a.Detail = Unknown, fmt.Sprintf("the anonymous request for the manifest of %s was cut off: the probe's budget of %s was spent", a.Image, p.opts.Budget)
	case ctx.Err() != nil:
		a.Result, a.Detail = Unknown, fmt.Sprintf("the anonymous request for the manifest of %s timed out after %s: whether it is public is unknown", a.Image, p.opts.Timeout)
	default:
		a.Result, a.Detail = Unknown, fmt.Sprintf("the anonymous request for the manifest of %s failed (%v): whether it is public is unknown", a.Image, err)
	}
	return a, err
}

// codes lists the registry's error codes of e, ", DENIED" style.
func codes(e *transport.Error) string {
	var s string
	for _, d := range e.Errors {
		if d.Code != "" {
			s += ", " + string(d.Code)
		}
	}
	return s
}

// unreachable reports whether err says the registry host cannot be reached
// at all (no DNS answer, connection refused or dial timeout), as opposed to
// one slow request.
func unreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial")
}
