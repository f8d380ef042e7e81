package deny

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	iam "cloud.google.com/go/iam/apiv2"
	"cloud.google.com/go/iam/apiv2/iampb"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Reader is a Source that reads deny policies with the IAM v2 API when a
// node is first asked about: ListPolicies on the node's attachment point
// (it returns policy metadata only), then GetPolicy for each policy;
// deleted policies (deleteTime set) are skipped. Each node is read once,
// also when asked concurrently. Projects are read only when
// ReaderOptions.Projects is set; otherwise a project's policies are not
// read, and answers that a project deny could change are undecided. Every
// node not read is a coverage gap (Gaps). Reader is safe for concurrent
// use.
type Reader struct {
	ctx      context.Context
	client   *iam.PoliciesClient
	lim      *rate.Limiter
	projects bool

	mu    sync.Mutex
	nodes map[string]*read

	lists, gets, failures, skipped atomic.Int64
	busy                           atomic.Int64 // nanoseconds spent reading
}

type read struct {
	done     chan struct{}
	policies []*iampb.Policy
	err      error
}

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// Projects reads project-level deny policies too: one ListPolicies call
	// per project asked about, plus one GetPolicy per policy found.
	Projects bool
	// PerMinute bounds the API calls in any minute (default
	// DefaultPerMinute).
	PerMinute float64
}

// IAMv2ReadQuota is the IAM v2 API's default quota of read requests
// (ListPolicies, GetPolicy) per quota project per minute,
// https://cloud.google.com/iam/quotas.
const IAMv2ReadQuota = 5

// DefaultPerMinute reads deny policies one call a minute under the quota,
// leaving that one to other callers billing the same quota project (gcloud
// iam policies, the console) so that neither is refused.
const DefaultPerMinute = IAMv2ReadQuota - 1

// NewReader returns a Reader over client. ctx bounds every call.
func NewReader(ctx context.Context, client *iam.PoliciesClient, opts ReaderOptions) *Reader {
	if opts.PerMinute <= 0 {
		opts.PerMinute = DefaultPerMinute
	}
	return &Reader{
		ctx: ctx, client: client, projects: opts.Projects,
		lim:   perMinute(opts.PerMinute),
		nodes: map[string]*read{},
	}
}

// perMinute allows at most n calls in any 60-second window: a burst of
// b = max(1, n/60) calls (a second's worth), then (n−b)/60 a second, so
// that b + 60 s × rate ≤ n. A plain n/60 rate with its burst would allow
// n + b, over a quota of n.
func perMinute(n float64) *rate.Limiter {
	burst := max(1, int(n/60))
	perSecond := (n - float64(burst)) / 60
	if perSecond <= 0 {
		perSecond = n / 60 // n ≤ 1: one call, then one every 60/n s
	}
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}

// Stats reports the calls made so far.
type Stats struct {
	// Nodes counts the nodes read, Skipped the projects asked about but not
	// read (project reads off).
	Nodes, Skipped, Lists, Gets, Failures int64
	// Busy is the time spent in reads, summed over concurrent reads.
	Busy time.Duration
}

// Stats returns the calls made so far.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	n := len(r.nodes)
	r.mu.Unlock()
	sk := r.skipped.Load()
	return Stats{Nodes: int64(n) - sk, Skipped: sk, Lists: r.lists.Load(), Gets: r.gets.Load(), Failures: r.failures.Load(), Busy: time.Duration(r.busy.Load())}
}

// Policies implements Source.
func (r *Reader) Policies(n *inventory.Node) ([]*iampb.Policy, error) {
	r.mu.Lock()
	rd, ok := r.nodes[n.Key]
	if !ok {
		rd = &read{done: make(chan struct{})}
		r.nodes[n.Key] = rd
	}
	r.mu.Unlock()
	if !ok {
		if n.Kind == inventory.KindProject && !r.projects {
			rd.err = errProjectsNotRead
			r.skipped.Add(1)
		} else {
			start := time.Now()
			rd.policies, rd.err = r.read(n)
			r.busy.Add(int64(time.Since(start)))
		}
		close(rd.done)
	}
	<-rd.done
	return rd.policies, rd.err
}

// retry adds quota errors to the client's own retries (UNAVAILABLE).
var retry = gax.WithRetry(func() gax.Retryer {
	return gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted}, gax.Backoff{
		Initial: time.Second, Max: 30 * time.Second, Multiplier: 2,
	})
})

func (r *Reader) read(n *inventory.Node) ([]*iampb.Policy, error) {
	parent := "policies/" + attachmentName(n) + "/denypolicies"
	var names []string
	// One InternalFetch is one ListPolicies call: fetch pages by hand so
	// each call waits on the rate limit and is counted.
	it := r.client.ListPolicies(r.ctx, &iampb.ListPoliciesRequest{Parent: parent}, retry)
	for token := ""; ; {
		if err := r.lim.Wait(r.ctx); err != nil {
			return nil, err
		}
		r.lists.Add(1)
		page, next, err := it.InternalFetch(0, token)
		if err != nil {
			r.failures.Add(1)
			return nil, fmt.Errorf("listing %s: %w", parent, err)
		}
		for _, p := range page {
			if p.GetDeleteTime() == nil {
				names = append(names, p.GetName())
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	var out []*iampb.Policy
	for _, name := range names {
		if err := r.lim.Wait(r.ctx); err != nil {
			return nil, err
		}
		r.gets.Add(1)
		p, err := r.client.GetPolicy(r.ctx, &iampb.GetPolicyRequest{Name: name}, retry)
		if err != nil {
			r.failures.Add(1)
			return nil, fmt.Errorf("getting %s: %w", name, err)
		}
		if err := Validate(p); err != nil {
			return nil, err
		}
		if p.GetDeleteTime() != nil {
			continue // deleted since it was listed: it denies nothing
		}
		out = append(out, p)
	}
	return out, nil
}

// errProjectsNotRead is the read error of a project when project-level
// deny policies are off.
var errProjectsNotRead = errors.New("project-level deny policies are not read")

// Gaps returns a coverage gap for every node whose deny policies were asked
// about but not read: projects when project reads are off, and every node
// whose read failed. Answers below them that a deny could change are
// undecided.
func (r *Reader) Gaps() []inventory.Gap {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []inventory.Gap
	for key, rd := range r.nodes {
		select {
		case <-rd.done:
		default:
			continue // still being read
		}
		if rd.err == nil {
			continue
		}
		g := inventory.Gap{Scope: key, AssetType: TypeDenyPolicy}
		switch {
		case errors.Is(rd.err, errProjectsNotRead):
			g.Reason = "the project's deny policies were not read (project-level deny policies are off): a deny rule on the project could take a grant away"
			g.Fix = "rerun with --deny-policies-projects (and a --deny-policies-rate the IAM v2 read quota allows), or pass exported policies with --deny-policies"
		default:
			g.Reason = "the deny policies attached here could not be read: " + rd.err.Error()
			g.Fix = fixFor(rd.err)
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out
}

// fixFor says how to get past a failed read.
func fixFor(err error) string {
	switch status.Code(errors.Unwrap(err)) {
	case codes.PermissionDenied, codes.Unauthenticated:
		return "grant the job's service account roles/iam.denyReviewer on the organization (deploy/setup.sh ENABLE_DENY_POLICIES=true) and rerun"
	case codes.ResourceExhausted, codes.DeadlineExceeded:
		return "raise the IAM v2 read quota and --deny-policies-rate, or export the policies once and pass them with --deny-policies"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "give the run more time, or raise the IAM v2 read quota and --deny-policies-rate"
	}
	return "rerun; if it persists, export the policies with `gcloud iam policies get` and pass them with --deny-policies"
}
