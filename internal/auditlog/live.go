package auditlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	logging "cloud.google.com/go/logging/apiv2"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"golang.org/x/time/rate"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/inventory"
)

// DefaultPerMinute paces entries.list below the Logging API's read quota
// of 60 requests a minute, which is charged to the caller's (quota)
// project however many projects are read
// (https://cloud.google.com/logging/quotas).
const DefaultPerMinute = 50

// DefaultBatch is how many projects one entries.list request reads: the
// API takes several parent resources at once, which saves quota.
const DefaultBatch = 20

// pageSize is the most entries a page holds.
const pageSize = 1000

// EmulatorHostEnv names the variable that points the client at a fake
// Logging API (host:port, plaintext, no credentials).
const EmulatorHostEnv = "LOGGING_EMULATOR_HOST"

// viewName is a log view: projects/P/locations/L/buckets/B/views/V.
var viewName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/buckets/[^/]+/views/[^/]+$`)

// CheckView reports whether name is a log view's resource name.
func CheckView(name string) error {
	if !viewName.MatchString(name) {
		return fmt.Errorf("--audit-log-view %q: want projects/PROJECT/locations/LOCATION/buckets/BUCKET/views/VIEW", name)
	}
	return nil
}

// ClientConfig configures NewClient.
type ClientConfig struct {
	// PerMinute bounds the calls, retries included (≤ 0: DefaultPerMinute).
	PerMinute float64
	// EmulatorHost dials a fake in plaintext without credentials.
	EmulatorHost string
	Options      []option.ClientOption
}

// Client is a Logging API client whose every call is paced.
type Client struct {
	*logging.Client
	calls atomic.Int64
}

// Calls counts the calls sent, retries included.
func (c *Client) Calls() int64 { return c.calls.Load() }

// NewClient connects to the Logging API with a pacer on the connection, so
// that every attempt waits for quota.
func NewClient(ctx context.Context, cfg ClientConfig) (*Client, error) {
	per := cfg.PerMinute
	if per <= 0 {
		per = DefaultPerMinute
	}
	burst := max(1, int(per/60))
	lim := rate.NewLimiter(rate.Limit((per-float64(burst))/60), burst)
	if per-float64(burst) <= 0 {
		lim = rate.NewLimiter(rate.Limit(1.0/61), 1)
	}
	c := &Client{}
	pace := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if err := lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			return status.Error(codes.DeadlineExceeded, fmt.Sprintf("waiting for Logging API read quota: %v", err))
		}
		c.calls.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	opts := append([]option.ClientOption{}, cfg.Options...)
	if cfg.EmulatorHost != "" {
		opts = append(opts, option.WithEndpoint(cfg.EmulatorHost), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	// Read-only scope: the default scopes include writes.
	opts = append(opts, option.WithScopes("https://www.googleapis.com/auth/logging.read"),
		option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(pace)))
	cl, err := logging.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Logging API: %w", err)
	}
	c.Client = cl
	return c, nil
}

// Query says what to read: the Cloud Run deploys of Since ≤ t < Until in
// the given projects (ids), or in one log view instead.
type Query struct {
	Projects     []string
	View         string
	Since, Until time.Time
}

// Filter is the Logging query of q's window: Admin Activity entries of the
// deploy methods, and System Event entries that record an image-read
// failure.
func (q Query) Filter() string {
	return fmt.Sprintf(`timestamp>=%q AND timestamp<%q AND protoPayload.serviceName="run.googleapis.com" AND `+
		`((log_id("cloudaudit.googleapis.com/activity") AND protoPayload.methodName=~"^google\\.cloud\\.run\\.v[12]\\.(Services|Jobs|WorkerPools)\\.(Create|Replace|Update)") OR `+
		`(log_id("cloudaudit.googleapis.com/system_event") AND (protoPayload.status.message:"read the image" OR protoPayload.status.message:"downloadArtifacts")))`,
		q.Since.UTC().Format(time.RFC3339), q.Until.UTC().Format(time.RFC3339))
}

// Result is what a read returned.
type Result struct {
	Events []Event
	// Read holds every project id whose logs were read completely; AllRead
	// is true when a log view was read, which the audit takes to hold
	// every project's audit logs.
	Read    map[string]bool
	AllRead bool
	Gaps    []inventory.Gap
	Skips   []inventory.Skip
	Pages   int
	Entries int
}

// Reader reads deploy events live.
type Reader struct {
	Client *Client
	// Batch is how many projects one request reads (≤ 0: DefaultBatch).
	Batch int
	Log   *slog.Logger
}

// Read reads q. Every project (or the view) that cannot be read is a gap
// and is left out of Read, so that the join calls its evidence undecided.
func (r *Reader) Read(ctx context.Context, q Query) Result {
	res := Result{Read: map[string]bool{}}
	if q.View != "" {
		if err := r.list(ctx, q, []string{q.View}, &res); err != nil {
			res.Gaps = append(res.Gaps, gapOf(q.View, err, "grant the job's service account roles/logging.viewAccessor on the view (or its bucket's project)"))
			return res
		}
		res.AllRead = true
		return res
	}
	batch := r.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	projects := append([]string{}, q.Projects...)
	sort.Strings(projects)
	for i := 0; i < len(projects); i += batch {
		group := projects[i:min(i+batch, len(projects))]
		names := make([]string, len(group))
		for j, p := range group {
			names[j] = "projects/" + p
		}
		part := Result{Read: map[string]bool{}}
		err := r.list(ctx, q, names, &part)
		if err == nil {
			res.add(part)
			for _, p := range group {
				res.Read[p] = true
			}
			continue
		}
		if ctx.Err() != nil || len(group) == 1 {
			for _, p := range group {
				res.Gaps = append(res.Gaps, gapOf("projects/"+p, err, projectFix))
			}
			continue
		}
		// One refusal fails the batch: read its projects one by one to
		// find which.
		r.logf("audit log batch failed, reading its projects one by one", "projects", len(group), "err", err)
		for _, p := range group {
			one := Result{Read: map[string]bool{}}
			if err := r.list(ctx, q, []string{"projects/" + p}, &one); err != nil {
				res.Gaps = append(res.Gaps, gapOf("projects/"+p, err, projectFix))
				continue
			}
			res.add(one)
			res.Read[p] = true
		}
	}
	return res
}

const projectFix = "grant the job's service account roles/logging.viewer on the project or the organization (Admin Activity and System Event audit logs need no more)"

func (res *Result) add(o Result) {
	res.Events = append(res.Events, o.Events...)
	res.Skips = append(res.Skips, o.Skips...)
	res.Pages += o.Pages
	res.Entries += o.Entries
}

func (r *Reader) logf(msg string, args ...any) {
	if r.Log != nil {
		r.Log.Warn(msg, args...)
	}
}

// list reads every page of one request into res.
func (r *Reader) list(ctx context.Context, q Query, names []string, res *Result) error {
	req := &loggingpb.ListLogEntriesRequest{
		ResourceNames: names, Filter: q.Filter(), OrderBy: "timestamp asc", PageSize: pageSize,
	}
	it := r.Client.ListLogEntries(ctx, req)
	pager := iterator.NewPager(it, pageSize, "")
	for {
		var page []*loggingpb.LogEntry
		tok, err := pager.NextPage(&page)
		if err != nil {
			return err
		}
		res.Pages++
		for _, e := range page {
			res.Entries++
			ev, ok, err := FromEntry(e)
			if err != nil {
				res.Skips = append(res.Skips, inventory.Skip{Where: e.GetLogName() + " " + e.GetInsertId(), Reason: "audit log entry: " + err.Error()})
				continue
			}
			if ok {
				res.Events = append(res.Events, ev)
			}
		}
		if tok == "" {
			return nil
		}
	}
}

// gapOf describes a scope whose audit logs could not be read.
func gapOf(scope string, err error, fix string) inventory.Gap {
	reason := "Cloud Run audit logs not read: " + err.Error() + "; log evidence for its resources is undecided"
	if s, ok := status.FromError(err); ok && s.Code() != codes.PermissionDenied && s.Code() != codes.NotFound {
		fix = "run again; if it persists, check the Logging API's read quota (60 requests a minute) and the job's network"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		fix = "run again with a longer --timeout, or read one log view with --audit-log-view"
	}
	return inventory.Gap{Scope: scope, AssetType: AssetType, Reason: strings.TrimSpace(reason), Fix: fix}
}
