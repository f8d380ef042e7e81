package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	asset "cloud.google.com/go/asset/apiv1"
	"cloud.google.com/go/asset/apiv1/assetpb"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/iterator"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/inventory"
)

// PageSize is the ListAssets page size: the most the service allows, so
// that a run makes as few calls as it can.
const PageSize = 1000

// DefaultStreams is how many ListAssets streams run at once by default.
const DefaultStreams = 8

// Retry bounds the retries of one ListAssets page.
type Retry struct {
	// Backoff paces the attempts.
	Backoff gax.Backoff
	// MaxAttempts bounds the attempts per page, the first included.
	MaxAttempts int
}

// DefaultRetry rides out a quota refill (RESOURCE_EXHAUSTED is per minute)
// and short outages: up to 8 attempts over about 95 s.
var DefaultRetry = Retry{
	Backoff:     gax.Backoff{Initial: time.Second, Max: 32 * time.Second, Multiplier: 2},
	MaxAttempts: 8,
}

// retryCodes are retried with backoff; everything else (PERMISSION_DENIED,
// INVALID_ARGUMENT, …) fails the stream at once. DEADLINE_EXCEEDED is a
// single attempt that took too long.
var retryCodes = []codes.Code{codes.ResourceExhausted, codes.Unavailable, codes.DeadlineExceeded}

// boundedRetryer stops a gax retryer after a number of attempts.
type boundedRetryer struct {
	inner gax.Retryer
	left  int
}

func (r *boundedRetryer) Retry(err error) (time.Duration, bool) {
	if r.left <= 0 {
		return 0, false
	}
	r.left--
	return r.inner.Retry(err)
}

func (r Retry) callOption() gax.CallOption {
	return gax.WithRetry(func() gax.Retryer {
		return &boundedRetryer{inner: gax.OnCodes(retryCodes, r.Backoff), left: r.MaxAttempts - 1}
	})
}

// Scope checks a live scope given as a flag ("123", or already
// "organizations/123") and returns its ListAssets parent.
func Scope(kind, id string) (string, error) {
	collection := map[string]string{"org": "organizations", "folder": "folders", "project": "projects"}[kind]
	if collection == "" {
		return "", fmt.Errorf("unknown scope kind %q", kind)
	}
	id = strings.TrimPrefix(id, collection+"/")
	switch kind {
	case "org", "folder":
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return "", fmt.Errorf("--%s %q: want the numeric %s id", kind, id, kind)
		}
	case "project":
		if !validProject(id) {
			return "", fmt.Errorf("--project %q: want a project id (6–30 lower-case letters, digits, hyphens) or number", id)
		}
	}
	return collection + "/" + id, nil
}

func validProject(s string) bool {
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return true
	}
	if len(s) < 6 || len(s) > 30 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Live collects the inventory from the Cloud Asset Inventory API: one
// ListAssets stream per (asset type, content type) over the scope, several
// at once, each page added to the Builder as it arrives while the other
// streams are still paging.
//
// A stream that fails (PERMISSION_DENIED, retries exhausted, the deadline)
// becomes one inventory.Gap naming the scope, the asset type and the
// content type; whatever it read before stays in the inventory. Only when
// no stream succeeds does Collect return an error.
//
// For a folder or project scope the grants inherited from above it matter
// too: once the scope's ancestry is known (from any asset's ancestors),
// Live also reads the IAM policies of the folders and organization above
// it and the organization's custom roles, and records a gap for any of
// them it cannot read.
type Live struct {
	Client *asset.Client
	// Scope is the ListAssets parent: organizations/N, folders/N or
	// projects/ID (or number). See Scope.
	Scope string
	// Streams bounds the streams run at once; 0 means DefaultStreams.
	Streams int
	// Timeout bounds the whole collection; unfinished streams become gaps.
	// 0 means no deadline of its own.
	Timeout time.Duration
	// Retry bounds retries; the zero value means DefaultRetry.
	Retry Retry
	// Log receives a warning per failed stream and a record per finished
	// one; nil discards.
	Log *slog.Logger

	mu      sync.Mutex
	streams []*streamState
}

// StreamProgress is what one stream has read so far.
type StreamProgress struct {
	Parent      string
	AssetType   string
	ContentType string
	Pages       int
	Assets      int
	Done        bool
	// Err is why the stream failed, once done.
	Err     error
	Started time.Time
	Elapsed time.Duration
}

type stream struct {
	parent    string
	assetType string
	content   assetpb.ContentType
	// keep, if set, selects the assets to add (streams above the scope
	// return more than the one node they are for).
	keep func(*assetpb.Asset) bool
	// above is the scope a stream above the scope serves, for its gap.
	above string
}

type streamState struct {
	stream
	mu sync.Mutex
	p  StreamProgress
}

// Progress returns a snapshot of every stream started so far.
func (l *Live) Progress() []StreamProgress {
	l.mu.Lock()
	states := append([]*streamState(nil), l.streams...)
	l.mu.Unlock()
	out := make([]StreamProgress, len(states))
	for i, s := range states {
		s.mu.Lock()
		out[i] = s.p
		if !s.p.Done && !s.p.Started.IsZero() {
			out[i].Elapsed = time.Since(s.p.Started)
		}
		s.mu.Unlock()
	}
	return out
}

// scopeStreams lists the streams over a scope: every asset type the audit
// reads as RESOURCE, and every one that carries IAM policies as
// IAM_POLICY. Types that cannot exist below the scope are left out.
func scopeStreams(scope string) []stream {
	kind, _, _ := strings.Cut(scope, "/")
	var out []stream
	for _, content := range []assetpb.ContentType{assetpb.ContentType_RESOURCE, assetpb.ContentType_IAM_POLICY} {
		for _, t := range inventory.AssetTypes {
			switch {
			case t == inventory.TypeRole && content == assetpb.ContentType_IAM_POLICY:
				continue // custom roles carry no IAM policy
			case t == inventory.TypeOrganization && kind != "organizations":
				continue
			case t == inventory.TypeFolder && kind == "projects":
				continue
			}
			out = append(out, stream{parent: scope, assetType: t, content: content})
		}
	}
	return out
}

// errDeadline is the cause of the collection's own deadline.
var errDeadline = errors.New("collection deadline passed")

// Collect reads the scope into b.
func (l *Live) Collect(ctx context.Context, b *inventory.Builder) error {
	if l.Client == nil || l.Scope == "" {
		return errors.New("live collection needs a client and a scope")
	}
	parent := ctx
	if l.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.Timeout, errDeadline)
		defer cancel()
	}
	retry := l.Retry
	if retry.MaxAttempts == 0 {
		retry = DefaultRetry
	}
	n := l.Streams
	if n <= 0 {
		n = DefaultStreams
	}

	anc := newAncestry(l.Scope)
	streams := scopeStreams(l.Scope)
	results := make([]error, len(streams))
	var g errgroup.Group // streams fail alone: no shared cancellation
	g.SetLimit(n)
	for i, st := range streams {
		g.Go(func() error {
			results[i] = l.run(ctx, b, st, retry, anc.observe)
			return nil
		})
	}

	// Inherited grants: read above the scope once its ancestry is known,
	// alongside the scope's own streams.
	var aboveErrs []error
	var aboveStreams []stream
	scopeDone := make(chan struct{})
	aboveDone := make(chan struct{})
	go func() {
		defer close(aboveDone)
		var above []string
		select {
		case above = <-anc.known:
		case <-scopeDone:
			select {
			case above = <-anc.known:
			default:
				return // nothing in the scope carried its ancestry: nothing read
			}
		}
		aboveStreams = streamsAbove(l.Scope, above)
		aboveErrs = make([]error, len(aboveStreams))
		var ag errgroup.Group
		ag.SetLimit(n)
		for i, st := range aboveStreams {
			ag.Go(func() error {
				aboveErrs[i] = l.run(ctx, b, st, retry, nil)
				return nil
			})
		}
		ag.Wait()
	}()
	g.Wait()
	close(scopeDone)
	<-aboveDone

	if err := parent.Err(); err != nil {
		return fmt.Errorf("collecting %s: %w", l.Scope, err) // interrupted: nothing to report
	}
	ok := 0
	var first error
	for i, err := range results {
		if err == nil {
			ok++
			continue
		}
		if first == nil {
			first = fmt.Errorf("%s %s %s: %w", streams[i].parent, streams[i].assetType, streams[i].content, err)
		}
		b.Gap(l.gap(ctx, streams[i], err))
	}
	for i, err := range aboveErrs {
		if err != nil {
			b.Gap(l.gap(ctx, aboveStreams[i], err))
		}
	}
	if ok == 0 {
		return fmt.Errorf("no ListAssets stream over %s could be read; the first failure: %w", l.Scope, first)
	}
	return nil
}

// run reads one stream into b.
func (l *Live) run(ctx context.Context, b *inventory.Builder, st stream, retry Retry, observe func(*assetpb.Asset)) error {
	state := &streamState{stream: st, p: StreamProgress{
		Parent: st.parent, AssetType: st.assetType, ContentType: st.content.String(), Started: time.Now(),
	}}
	l.mu.Lock()
	l.streams = append(l.streams, state)
	l.mu.Unlock()

	req := &assetpb.ListAssetsRequest{
		Parent: st.parent, AssetTypes: []string{st.assetType}, ContentType: st.content, PageSize: PageSize,
	}
	pager := iterator.NewPager(l.Client.ListAssets(ctx, req, retry.callOption()), PageSize, "")
	var err error
	for page := 1; ; page++ {
		var assets []*assetpb.Asset
		var next string
		next, err = pager.NextPage(&assets)
		if err != nil {
			break
		}
		where := "ListAssets " + st.parent + " " + st.assetType + " " + st.content.String() + " page " + strconv.Itoa(page)
		added := 0
		for _, a := range assets {
			if st.keep != nil && !st.keep(a) {
				continue
			}
			if observe != nil && added == 0 {
				observe(a)
			}
			b.Add(a, where)
			added++
		}
		state.mu.Lock()
		state.p.Pages++
		state.p.Assets += added
		state.mu.Unlock()
		if next == "" {
			break
		}
	}
	state.mu.Lock()
	state.p.Done, state.p.Err, state.p.Elapsed = true, err, time.Since(state.p.Started)
	p := state.p
	state.mu.Unlock()
	if l.Log != nil {
		if err != nil {
			l.Log.Warn("ListAssets stream failed", "parent", p.Parent, "asset_type", p.AssetType, "content_type", p.ContentType,
				"pages", p.Pages, "assets", p.Assets, "err", describe(ctx, err))
		} else {
			l.Log.Info("ListAssets stream read", "parent", p.Parent, "asset_type", p.AssetType, "content_type", p.ContentType,
				"pages", p.Pages, "assets", p.Assets, "seconds", p.Elapsed.Seconds())
		}
	}
	return err
}

// gap describes a failed stream for the summary.
func (l *Live) gap(ctx context.Context, st stream, err error) inventory.Gap {
	var read StreamProgress
	l.mu.Lock()
	for _, s := range l.streams {
		if s.stream.parent == st.parent && s.stream.assetType == st.assetType && s.stream.content == st.content {
			s.mu.Lock()
			read = s.p
			s.mu.Unlock()
		}
	}
	l.mu.Unlock()
	g := inventory.Gap{Scope: st.parent, AssetType: st.assetType, ContentType: st.content.String()}
	what := st.content.String() + " content"
	if st.above != "" {
		what = st.content.String() + " content above the scope " + st.above
	}
	g.Reason = fmt.Sprintf("%s not read completely (%d page(s), %d asset(s) read): %s", what, read.Pages, read.Assets, describe(ctx, err))
	if st.above != "" {
		g.Reason += "; grants inherited from it are not counted"
	}
	return g
}

// describe names an error by its status code as the API spells it, or says
// that the collection's deadline passed.
func describe(ctx context.Context, err error) string {
	if errors.Is(context.Cause(ctx), errDeadline) && endedByContext(err) {
		return "the collection deadline (--timeout) passed"
	}
	if st, ok := status.FromError(err); ok {
		return rpccode.Code(st.Code()).String() + ": " + st.Message()
	}
	return err.Error()
}

// endedByContext reports whether err is a call cut by its context, not an
// answer of the service.
func endedByContext(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	c := status.Code(err)
	return c == codes.DeadlineExceeded || c == codes.Canceled
}

// ancestry learns, from the first asset read in the scope, the folders and
// organization above a folder or project scope.
type ancestry struct {
	scope string
	once  sync.Once
	known chan []string
}

func newAncestry(scope string) *ancestry {
	return &ancestry{scope: scope, known: make(chan []string, 1)}
}

func (a *ancestry) observe(asset *assetpb.Asset) {
	if strings.HasPrefix(a.scope, "organizations/") {
		return
	}
	anc := asset.GetAncestors()
	var above []string
	switch {
	case strings.HasPrefix(a.scope, "projects/"):
		// Everything in a project lists the project, by number, first.
		if len(anc) == 0 || !strings.HasPrefix(anc[0], "projects/") {
			return
		}
		above = anc[1:]
	default:
		i := indexOf(anc, a.scope)
		if i < 0 {
			return
		}
		above = anc[i+1:]
	}
	a.once.Do(func() { a.known <- append([]string(nil), above...) })
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// streamsAbove lists the streams that read what a scope inherits: the IAM
// policy of each folder and of the organization above it, and the
// organization's custom roles. ListAssets over a folder also returns its
// subfolders, so each stream keeps only the one node it is for.
func streamsAbove(scope string, above []string) []stream {
	var out []stream
	for _, node := range above {
		var t string
		switch {
		case strings.HasPrefix(node, "folders/"):
			t = inventory.TypeFolder
		case strings.HasPrefix(node, "organizations/"):
			t = inventory.TypeOrganization
		default:
			continue
		}
		name := "//cloudresourcemanager.googleapis.com/" + node
		out = append(out, stream{parent: node, assetType: t, content: assetpb.ContentType_IAM_POLICY, above: scope,
			keep: func(a *assetpb.Asset) bool { return a.GetName() == name }})
		if t == inventory.TypeOrganization {
			prefix := "//iam.googleapis.com/" + node + "/roles/"
			out = append(out, stream{parent: node, assetType: inventory.TypeRole, content: assetpb.ContentType_RESOURCE, above: scope,
				keep: func(a *assetpb.Asset) bool { return strings.HasPrefix(a.GetName(), prefix) }})
		}
	}
	return out
}
