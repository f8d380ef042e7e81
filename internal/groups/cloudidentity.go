package groups

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/googleapi"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// CloudIdentity resolves transitive group membership with the Cloud
// Identity Groups API, one (member, group) pair at a time, as the engine
// asks: groups.lookup turns the group email into its resource name, and
// memberships.checkTransitiveMembership answers the pair. That call counts
// only memberships the caller can view, so its "no" is checked by listing
// the group's members and those of the groups nested in it
// (memberships.list, FULL view, which carries each member's type): "no"
// only when every group below was listed. Where the check is refused
// because the account lacks the edition it needs (Google Workspace
// Enterprise or Cloud Identity Premium), the listing alone answers; a
// refusal for one group that cannot be listed either is a permission
// error, undecided for that group only. Every answer is cached; calls are
// rate-limited and retried on quota and server errors. What could not be
// read is reported by Gaps. CloudIdentity is safe for concurrent use.
type CloudIdentity struct {
	ctx context.Context
	svc *cloudidentity.Service
	lim *rate.Limiter

	mu      sync.Mutex
	names   map[string]*once[string]    // group email → groups/ID
	direct  map[string]*once[[]member]  // groups/ID → direct members
	answers map[[2]string]*once[answer] // (member, group) → answer
	noCheck atomic.Bool                 // checkTransitiveMembership was refused
	scope   string                      // what gaps name: the organization
	unread  map[string]string           // group email → why it could not be read
	lastErr string

	calls, failures, succeeded atomic.Int64
	backoff                    time.Duration // first retry delay
}

// TypeGroup is the asset type a coverage gap names for Google groups whose
// memberships could not be read.
const TypeGroup = "cloudidentity.googleapis.com/Group"

// Membership types of memberships.list (FULL view). A member without a
// type (or TYPE_UNSPECIFIED) may be a group.
const (
	typeGroup       = "GROUP"
	typeUnspecified = "TYPE_UNSPECIFIED"
)

// pageSize is the largest page memberships.list allows in the FULL view.
const pageSize = 500

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
		unread:  map[string]string{},
		backoff: 500 * time.Millisecond,
	}
}

// UseInventory implements access.InventoryUser: gaps name the scanned
// organization as their scope.
func (c *CloudIdentity) UseInventory(inv *inventory.Inventory) {
	if inv != nil && inv.Organization != "" {
		c.mu.Lock()
		c.scope = "organizations/" + inv.Organization
		c.mu.Unlock()
	}
}

// Gaps returns what Cloud Identity did not let the audit read: one gap
// when every call was refused or failed, else one per group whose lookup
// or member list failed. Memberships that depend on them are Unknown.
func (c *CloudIdentity) Gaps() []inventory.Gap {
	c.mu.Lock()
	defer c.mu.Unlock()
	scope := c.scope
	if scope == "" {
		scope = "cloudidentity.googleapis.com"
	}
	const fix = "enable cloudidentity.googleapis.com in the job's project and assign the job's service account the Groups Reader admin role (docs/deploy.md), or list the groups with --groups FILE"
	if c.calls.Load() > 0 && c.succeeded.Load() == 0 {
		return []inventory.Gap{{Scope: scope, AssetType: TypeGroup,
			Reason: fmt.Sprintf("Cloud Identity refused or failed every call (%d, last: %s): group memberships are undecided", c.calls.Load(), c.lastErr),
			Fix:    fix}}
	}
	var out []inventory.Gap
	for email, why := range c.unread {
		out = append(out, inventory.Gap{Scope: scope, AssetType: TypeGroup, Asset: "group:" + email,
			Reason: "the group's memberships could not be read from Cloud Identity: " + why, Fix: fix})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out
}

// unreadable records a group whose lookup or listing failed.
func (c *CloudIdentity) unreadable(email string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.unread[strings.ToLower(email)]; !ok {
		c.unread[strings.ToLower(email)] = short(err)
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
			c.unreadable(gemail, err)
			return access.Unknown, fmt.Sprintf("group %s cannot be looked up in Cloud Identity (deleted, outside the directory, or not visible to the audit; a coverage gap): %v", gemail, short(err))
		}
		return access.Unknown, fmt.Sprintf("membership of %s could not be resolved: %v", who, short(err))
	}
	how := "listed memberships"
	if !c.noCheck.Load() {
		has, err := c.check(name, memail)
		switch {
		case err == nil && has:
			return access.Yes, fmt.Sprintf("%s is a member of %s (Cloud Identity, transitive)", memail, gemail)
		case err == nil:
			// "No viewable transitive membership": decided only if every
			// group below can be listed.
			how = "transitive check, confirmed by listed memberships"
		case code(err) == http.StatusNotFound:
			return access.Unknown, fmt.Sprintf("membership of %s could not be resolved: checkTransitiveMembership does not find the group or may not see it: %v", who, short(err))
		case code(err) == http.StatusForbidden:
			// Either the account lacks the edition the check needs, or the
			// audit may not see this group. A group it can list is visible:
			// then it is the edition, for this and every later question.
			if _, lerr := c.members(name, gemail); lerr != nil {
				return access.Unknown, fmt.Sprintf("membership of %s could not be resolved: Cloud Identity refuses both checkTransitiveMembership (%v) and listing the group's members (%v); a coverage gap", who, short(err), short(lerr))
			}
			c.noCheck.Store(true)
		default:
			return access.Unknown, fmt.Sprintf("membership of %s could not be resolved: %v", who, short(err))
		}
	}
	return c.walk(name, gemail, memail, how)
}

// walk searches the members of group name and of the groups nested in it,
// breadth first. It answers No only when it listed every group below; a
// member whose type is missing may be a group and is looked up as one.
func (c *CloudIdentity) walk(name, gemail, memail, how string) (access.Tri, string) {
	seen := map[string]bool{name: true}
	type item struct{ name, email string }
	queue := []item{{name, gemail}}
	var undecided string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		ms, err := c.members(cur.name, cur.email)
		if err != nil {
			return access.Unknown, fmt.Sprintf("membership of %s in group %s could not be resolved: listing members of %s: %v (a coverage gap)", memail, gemail, cur.email, short(err))
		}
		for _, m := range ms {
			if strings.EqualFold(m.email, memail) {
				return access.Yes, fmt.Sprintf("%s is a member of %s (Cloud Identity, listed memberships)", memail, gemail)
			}
			untyped := m.kind == "" || m.kind == typeUnspecified
			if m.kind != typeGroup && !untyped {
				continue
			}
			nested, err := c.groupName(m.email)
			switch {
			case err == nil:
			case untyped:
				// Not found as a group, or not visible: a user, or a group
				// the audit cannot see.
				if undecided == "" {
					undecided = fmt.Sprintf("member %s of %s has no membership type, and looking it up as a group gives %v", m.email, cur.email, short(err))
				}
				continue
			default:
				return access.Unknown, fmt.Sprintf("membership of %s in group %s could not be resolved: nested group %s: %v (a coverage gap)", memail, gemail, m.email, short(err))
			}
			if !seen[nested] {
				seen[nested] = true
				queue = append(queue, item{nested, m.email})
			}
		}
	}
	if undecided != "" {
		return access.Unknown, fmt.Sprintf("membership of %s in group %s could not be resolved: %s", memail, gemail, undecided)
	}
	return access.No, fmt.Sprintf("%s is not a member of %s (Cloud Identity, %s)", memail, gemail, how)
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
		if err != nil && code(err) != http.StatusNotFound {
			// 404 is also what a user's email gives; 403 and other errors
			// hide a group.
			c.unreadable(email, err)
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

// members lists the direct members of group (groups/ID, email gemail), all
// pages, in the FULL view: the default BASIC view leaves each member's type
// out, and without it nested groups cannot be told from users.
func (c *CloudIdentity) members(group, gemail string) ([]member, error) {
	return get(&c.mu, c.direct, group, func() ([]member, error) {
		var out []member
		token := ""
		for {
			var page *cloudidentity.ListMembershipsResponse
			err := c.do(func(ctx context.Context) error {
				var err error
				page, err = c.svc.Groups.Memberships.List(group).View("FULL").PageSize(pageSize).PageToken(token).Context(ctx).Do()
				return err
			})
			if err != nil {
				c.unreadable(gemail, err)
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
		if err == nil || code(err) == http.StatusNotFound {
			c.succeeded.Add(1) // a 404 is an answer: the API is reachable
		}
		if err == nil {
			return nil
		}
		c.failures.Add(1)
		c.mu.Lock()
		c.lastErr = short(err)
		c.mu.Unlock()
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
