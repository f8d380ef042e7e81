package groups

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/googleapi"

	"github.com/runaudit/runaudit/internal/access"
)

// CloudIdentity resolves transitive group membership with the Cloud
// Identity Groups API, one (member, group) pair at a time, as the engine
// asks: groups.lookup turns the group email into its resource name, and
// memberships.checkTransitiveMembership answers the pair. Where that call
// is refused (it needs a Google Workspace Enterprise or Cloud Identity
// Premium account), membership is found by listing the group's members and
// those of the groups nested in it (memberships.list). Every answer is
// cached; calls are rate-limited and retried on quota and server errors.
// CloudIdentity is safe for concurrent use.
type CloudIdentity struct {
	ctx context.Context
	svc *cloudidentity.Service
	lim *rate.Limiter

	mu      sync.Mutex
	names   map[string]*once[string]    // group email → groups/ID
	direct  map[string]*once[[]member]  // groups/ID → direct members
	answers map[[2]string]*once[answer] // (member, group) → answer
	noCheck atomic.Bool                 // checkTransitiveMembership was refused

	calls, failures atomic.Int64
	backoff         time.Duration // first retry delay
}

type member struct{ kind, email string }

type answer struct {
	res  access.Tri
	note string
}

// once runs a computation once and shares its result with every caller,
// including those that ask while it runs.
type once[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func get[K comparable, T any](mu *sync.Mutex, m map[K]*once[T], k K, f func() (T, error)) (T, error) {
	mu.Lock()
	o, ok := m[k]
	if !ok {
		o = &once[T]{done: make(chan struct{})}
		m[k] = o
	}
	mu.Unlock()
	if !ok {
		o.val, o.err = f()
		close(o.done)
	}
	<-o.done
	return o.val, o.err
}

// CloudIdentityOptions configure a CloudIdentity resolver.
type CloudIdentityOptions struct {
	// QPS bounds the API calls per second (default 5); Burst allows short
	// bursts above it (default 1).
	QPS   float64
	Burst int
}

// NewCloudIdentity returns a resolver that calls svc. ctx bounds every
// call: the engine's questions carry no context of their own.
func NewCloudIdentity(ctx context.Context, svc *cloudidentity.Service, opts CloudIdentityOptions) *CloudIdentity {
	if opts.QPS <= 0 {
		opts.QPS = 5
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	return &CloudIdentity{
		ctx:     ctx,
		svc:     svc,
		lim:     rate.NewLimiter(rate.Limit(opts.QPS), opts.Burst),
		names:   map[string]*once[string]{},
		direct:  map[string]*once[[]member]{},
		answers: map[[2]string]*once[answer]{},
		backoff: 500 * time.Millisecond,
	}
}

// Calls reports the API calls made and how many of them failed.
func (c *CloudIdentity) Calls() (calls, failures int64) { return c.calls.Load(), c.failures.Load() }

// IsMember implements access.Groups.
func (c *CloudIdentity) IsMember(member, group string) (access.Tri, string) {
	m, _, memail := canonical(member, false)
	g, _, gemail := canonical(group, true)
	if m == "" || g == "" {
		return access.Unknown, fmt.Sprintf("membership of %s in %s cannot be asked of Cloud Identity", member, group)
	}
	a, _ := get(&c.mu, c.answers, [2]string{m, g}, func() (answer, error) {
		res, note := c.resolve(memail, gemail)
		return answer{res, note}, nil
	})
	return a.res, a.note
}

func (c *CloudIdentity) resolve(memail, gemail string) (access.Tri, string) {
	who := memail + " in group " + gemail
	name, err := c.groupName(gemail)
	if err != nil {
		if code(err) == http.StatusNotFound || code(err) == http.StatusForbidden {
			return access.Unknown, fmt.Sprintf("group %s cannot be looked up in Cloud Identity (deleted, outside the directory, or not visible to the audit): %v", gemail, short(err))
		}
		return access.Unknown, fmt.Sprintf("membership of %s could not be resolved: %v", who, short(err))
	}
	if !c.noCheck.Load() {
		has, err := c.check(name, memail)
		switch {
		case err == nil && has:
			return access.Yes, fmt.Sprintf("%s is a member of %s (Cloud Identity, transitive)", memail, gemail)
		case err == nil:
			return access.No, fmt.Sprintf("%s is not a member of %s (Cloud Identity, transitive)", memail, gemail)
		case code(err) == http.StatusNotFound:
			return access.No, fmt.Sprintf("%s is not found as a member of %s (Cloud Identity)", memail, gemail)
		case code(err) == http.StatusForbidden:
			// Not a Premium/Enterprise account, or not allowed: walk the
			// memberships instead, for this and every later question.
			c.noCheck.Store(true)
		default:
			return access.Unknown, fmt.Sprintf("membership of %s could not be resolved: %v", who, short(err))
		}
	}
	return c.walk(name, gemail, memail)
}

// walk searches the members of group name and of the groups nested in it,
// breadth first.
func (c *CloudIdentity) walk(name, gemail, memail string) (access.Tri, string) {
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		ms, err := c.members(cur)
		if err != nil {
			return access.Unknown, fmt.Sprintf("membership of %s in group %s could not be resolved: listing members of %s: %v", memail, gemail, cur, short(err))
		}
		for _, m := range ms {
			if strings.EqualFold(m.email, memail) {
				return access.Yes, fmt.Sprintf("%s is a member of %s (Cloud Identity, listed memberships)", memail, gemail)
			}
			if m.kind != "GROUP" {
				continue
			}
			nested, err := c.groupName(m.email)
			if err != nil {
				return access.Unknown, fmt.Sprintf("membership of %s in group %s could not be resolved: nested group %s: %v", memail, gemail, m.email, short(err))
			}
			if !seen[nested] {
				seen[nested] = true
				queue = append(queue, nested)
			}
		}
	}
	return access.No, fmt.Sprintf("%s is not a member of %s (Cloud Identity, listed memberships)", memail, gemail)
}

// groupName looks up the resource name (groups/ID) of a group email.
func (c *CloudIdentity) groupName(email string) (string, error) {
	return get(&c.mu, c.names, strings.ToLower(email), func() (string, error) {
		var name string
		err := c.do(func(ctx context.Context) error {
			r, err := c.svc.Groups.Lookup().GroupKeyId(email).Context(ctx).Do()
			if err == nil {
				name = r.Name
			}
			return err
		})
		if err == nil && name == "" {
			err = fmt.Errorf("groups.lookup of %s returned no name", email)
		}
		return name, err
	})
}

func (c *CloudIdentity) check(group, memail string) (bool, error) {
	if strings.ContainsAny(memail, `'"\`) {
		return false, fmt.Errorf("member email %q cannot be quoted in a query", memail)
	}
	var has bool
	err := c.do(func(ctx context.Context) error {
		r, err := c.svc.Groups.Memberships.CheckTransitiveMembership(group).
			Query(fmt.Sprintf("member_key_id == '%s'", memail)).Context(ctx).Do()
		if err == nil {
			has = r.HasMembership
		}
		return err
	})
	return has, err
}

// members lists the direct members of group (groups/ID), all pages.
func (c *CloudIdentity) members(group string) ([]member, error) {
	return get(&c.mu, c.direct, group, func() ([]member, error) {
		var out []member
		token := ""
		for {
			var page *cloudidentity.ListMembershipsResponse
			err := c.do(func(ctx context.Context) error {
				var err error
				page, err = c.svc.Groups.Memberships.List(group).PageSize(1000).PageToken(token).Context(ctx).Do()
				return err
			})
			if err != nil {
				return nil, err
			}
			for _, m := range page.Memberships {
				if m.PreferredMemberKey != nil {
					out = append(out, member{kind: m.Type, email: m.PreferredMemberKey.Id})
				}
			}
			if token = page.NextPageToken; token == "" {
				return out, nil
			}
		}
	})
}

// do runs one API call under the rate limit, retrying quota and server
// errors with backoff.
func (c *CloudIdentity) do(call func(ctx context.Context) error) error {
	backoff := c.backoff
	for attempt := 1; ; attempt++ {
		if err := c.lim.Wait(c.ctx); err != nil {
			return err
		}
		c.calls.Add(1)
		err := call(c.ctx)
		if err == nil {
			return nil
		}
		c.failures.Add(1)
		switch code(err) {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			if attempt < 4 {
				select {
				case <-time.After(backoff):
				case <-c.ctx.Done():
					return c.ctx.Err()
				}
				backoff *= 2
				continue
			}
		}
		return err
	}
}

func code(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// short keeps an API error to its code and message.
func short(err error) string {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		if ge.Message != "" {
			return fmt.Sprintf("HTTP %d: %s", ge.Code, ge.Message)
		}
		return fmt.Sprintf("HTTP %d", ge.Code)
	}
	return err.Error()
}
