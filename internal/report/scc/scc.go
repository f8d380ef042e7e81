// Package scc is the Security Command Center sink: it writes each
// actionable and undecided finding of a run as a finding of one SCC source,
// through the v2 API, so security teams triage the audit where they triage
// everything else.
//
//   - The SCC finding id is the audit's finding_id (32 hex characters,
//     within SCC's limit of 1–32 alphanumerics), so the same finding is
//     updated in place night after night.
//   - category is the kind, severity is mapped (INFO, for undecided
//     findings, becomes LOW), finding class MISCONFIGURATION, resourceName
//     the full resource name, event time the run's start; description is
//     the reason and next steps the remediation; source properties carry
//     every non-empty field of the finding (principal, repository, image,
//     reason, remediation, audit-log evidence when present, …), the run id,
//     whether an exceptions entry accepted it, and the workbook's link,
//     which is also the external URI.
//   - A COMPLETE run sets INACTIVE every ACTIVE finding of the source that
//     it no longer reports, within the projects it read without gaps; an
//     incomplete run never deactivates anything. A finding that comes back
//     is set ACTIVE again.
//   - Mute is never written: the team's mute state stays as they set it.
//   - A finding whose SCC copy already holds what the run would write is
//     not written again, so a rerun of the same run changes nothing.
//   - Calls are paced under the SCC API quota (1,000 writes and 1,000
//     reads a minute per project: see docs/scc.md), retried on transient
//     codes, and a failed write does not stop the others: Write returns
//     their count and the first error.
package scc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	securitycenter "cloud.google.com/go/securitycenter/apiv2"
	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/time/rate"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/runaudit/runaudit/internal/audit"
)

// Defaults under the documented quota of 1,000 writes and 1,000 reads a
// minute per project, which other tools of the project share.
const (
	DefaultWritesPerMinute = 600
	DefaultReadsPerMinute  = 600
	pageSize               = 1000
)

// Config says where and how fast the sink writes.
type Config struct {
	// Source is organizations/ORG/sources/ID, optionally with
	// /locations/LOCATION (default global).
	Source string
	// WorkbookURL links each finding to the run's workbook; empty when the
	// run was not uploaded.
	WorkbookURL string
	// WritesPerMinute and ReadsPerMinute pace the calls (0: the defaults).
	WritesPerMinute, ReadsPerMinute int
	// Backoff and MaxAttempts shape retries of transient errors (zero:
	// 1 s doubling to 30 s, 5 attempts).
	Backoff     gax.Backoff
	MaxAttempts int
	Logger      *slog.Logger
}

// Stats counts what a Write did.
type Stats struct {
	Written, Created, Updated, Unchanged, Reactivated, Deactivated, Failed int
}

var validID = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

var sourcePattern = regexp.MustCompile(`^organizations/[0-9]+/sources/[0-9]+(/locations/[a-z0-9-]+)?$`)

// ParseSource checks a --scc-source value.
func ParseSource(s string) error {
	if !sourcePattern.MatchString(s) {
		return fmt.Errorf("%q: want organizations/ORG_ID/sources/SOURCE_ID (numeric ids), optionally /locations/LOCATION", s)
	}
	return nil
}

// Sink writes runs to one source.
type Sink struct {
	client        *securitycenter.Client
	cfg           Config
	writes, reads *rate.Limiter
	log           *slog.Logger
}

// New returns a sink writing through client.
func New(client *securitycenter.Client, cfg Config) (*Sink, error) {
	if err := ParseSource(cfg.Source); err != nil {
		return nil, err
	}
	if cfg.WritesPerMinute <= 0 {
		cfg.WritesPerMinute = DefaultWritesPerMinute
	}
	if cfg.ReadsPerMinute <= 0 {
		cfg.ReadsPerMinute = DefaultReadsPerMinute
	}
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff = gax.Backoff{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	perSec := func(n int) *rate.Limiter { return rate.NewLimiter(rate.Limit(float64(n)/60), 1) }
	return &Sink{client: client, cfg: cfg, writes: perSec(cfg.WritesPerMinute), reads: perSec(cfg.ReadsPerMinute), log: log}, nil
}

// retryer retries the codes that mean "try again": quota, unavailable,
// deadline, and aborted, with backoff, a bounded number of times.
type retryer struct {
	left     int
	inner    gax.Retryer
	attempts int
}

func (r *retryer) Retry(err error) (time.Duration, bool) {
	r.attempts++
	if r.attempts >= r.left {
		return 0, false
	}
	return r.inner.Retry(err)
}

func (s *Sink) callOpts() []gax.CallOption {
	return []gax.CallOption{gax.WithRetry(func() gax.Retryer {
		return &retryer{left: s.cfg.MaxAttempts, inner: gax.OnCodes(
			[]codes.Code{codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted, codes.Internal},
			s.cfg.Backoff)}
	})}
}

// FindingID derives an SCC finding id from an audit finding_id: kept when
// it is already 1–32 alphanumerics (the audit's are 32 hex characters),
// otherwise a hash of it.
func FindingID(id string) string {
	if validID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// Eligible reports whether the sink writes f: actionable or undecided.
func Eligible(f *audit.Finding) bool { return f.Kind.Actionable() || f.Undecided() }

// severity maps the audit's severity to SCC's; SCC has no INFO.
func severity(s audit.Severity) securitycenterpb.Finding_Severity {
	switch s {
	case audit.Critical:
		return securitycenterpb.Finding_CRITICAL
	case audit.High:
		return securitycenterpb.Finding_HIGH
	case audit.Medium:
		return securitycenterpb.Finding_MEDIUM
	}
	return securitycenterpb.Finding_LOW
}

// updateMask names the fields the sink owns; state is set with
// SetFindingState and mute never.
var updateMask = []string{"category", "severity", "finding_class", "resource_name", "event_time",
	"external_uri", "description", "next_steps", "source_properties"}

// Build is the SCC finding the sink writes for f in run res.
func (s *Sink) Build(f *audit.Finding, sum audit.Summary) (*securitycenterpb.Finding, error) {
	props, err := properties(f)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", f.FindingID, err)
	}
	props["run_id"] = structpb.NewStringValue(sum.RunID)
	props["excepted"] = structpb.NewBoolValue(f.Excepted)
	if s.cfg.WorkbookURL != "" {
		props["workbook"] = structpb.NewStringValue(s.cfg.WorkbookURL)
	}
	return &securitycenterpb.Finding{
		ResourceName:     f.Resource,
		State:            securitycenterpb.Finding_ACTIVE,
		Category:         string(f.Kind),
		ExternalUri:      s.cfg.WorkbookURL,
		SourceProperties: props,
		EventTime:        timestamppb.New(sum.StartedAt),
		Severity:         severity(f.Severity),
		FindingClass:     securitycenterpb.Finding_MISCONFIGURATION,
		Description:      f.Reason,
		NextSteps:        f.Remediation,
	}, nil
}

// properties turns every non-empty field of the finding's JSON form into a
// source property, so fields added to findings later travel too.
func properties(f *audit.Finding) (map[string]*structpb.Value, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := map[string]*structpb.Value{}
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case []any:
			if len(x) == 0 {
				continue
			}
		}
		pv, err := structpb.NewValue(v)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", k, err)
		}
		out[k] = pv
	}
	return out, nil
}

// same reports whether have already holds everything want sets.
func same(have, want *securitycenterpb.Finding) bool {
	return have.GetCategory() == want.GetCategory() &&
		have.GetSeverity() == want.GetSeverity() &&
		have.GetFindingClass() == want.GetFindingClass() &&
		have.GetResourceName() == want.GetResourceName() &&
		have.GetEventTime().AsTime().Equal(want.GetEventTime().AsTime()) &&
		have.GetExternalUri() == want.GetExternalUri() &&
		have.GetDescription() == want.GetDescription() &&
		have.GetNextSteps() == want.GetNextSteps() &&
		proto.Equal(&structpb.Struct{Fields: have.GetSourceProperties()}, &structpb.Struct{Fields: want.GetSourceProperties()})
}

// Write brings the source in line with the run. It returns what it did;
// the error joins the listing failure or counts the failed writes.
func (s *Sink) Write(ctx context.Context, res audit.Result) (Stats, error) {
	var st Stats
	existing, err := s.list(ctx)
	if err != nil {
		return st, fmt.Errorf("listing findings of %s: %w", s.cfg.Source, err)
	}
	var first error
	fail := func(what string, err error) {
		st.Failed++
		if first == nil {
			first = fmt.Errorf("%s: %w", what, err)
		}
		s.log.Warn("SCC write failed", "what", what, "err", err)
	}
	seen := map[string]bool{}
	for i := range res.Findings {
		f := &res.Findings[i]
		if !Eligible(f) {
			continue
		}
		id := FindingID(f.FindingID)
		if seen[id] {
			continue // the same finding reported twice (one per container)
		}
		seen[id] = true
		want, err := s.Build(f, res.Summary)
		if err != nil {
			fail(id, err)
			continue
		}
		st.Written++
		have := existing[id]
		switch {
		case have == nil:
			if err := s.create(ctx, id, want); err != nil {
				fail("creating "+id, err)
				continue
			}
			st.Created++
		case same(have, want):
			st.Unchanged++
		default:
			want.Name = have.GetName()
			if err := s.update(ctx, want); err != nil {
				fail("updating "+have.GetName(), err)
				continue
			}
			st.Updated++
		}
		if have != nil && have.GetState() != securitycenterpb.Finding_ACTIVE {
			if err := s.setState(ctx, have.GetName(), securitycenterpb.Finding_ACTIVE); err != nil {
				fail("reactivating "+have.GetName(), err)
				continue
			}
			st.Reactivated++
		}
	}
	if res.Summary.Complete {
		read := readProjects(res.Coverage)
		for id, have := range existing {
			if seen[id] || have.GetState() != securitycenterpb.Finding_ACTIVE || !read[projectOf(have)] {
				continue
			}
			if err := s.setState(ctx, have.GetName(), securitycenterpb.Finding_INACTIVE); err != nil {
				fail("deactivating "+have.GetName(), err)
				continue
			}
			st.Deactivated++
		}
	}
	if st.Failed > 0 {
		return st, fmt.Errorf("%d SCC write(s) failed; first: %w", st.Failed, first)
	}
	return st, nil
}

// readProjects is the set of project ids the run read without gaps: only
// there does a missing finding mean a resolved one.
func readProjects(cov []audit.ProjectCoverage) map[string]bool {
	out := map[string]bool{}
	for _, c := range cov {
		if len(c.Gaps) == 0 {
			out[c.ProjectID] = true
		}
	}
	return out
}

func projectOf(f *securitycenterpb.Finding) string {
	return f.GetSourceProperties()["project_id"].GetStringValue()
}

// list reads every finding of the source, by SCC finding id.
func (s *Sink) list(ctx context.Context) (map[string]*securitycenterpb.Finding, error) {
	it := s.client.ListFindings(ctx, &securitycenterpb.ListFindingsRequest{Parent: s.cfg.Source, PageSize: pageSize}, s.callOpts()...)
	p := iterator.NewPager(it, pageSize, "")
	out := map[string]*securitycenterpb.Finding{}
	for {
		if err := s.reads.Wait(ctx); err != nil {
			return nil, err
		}
		var page []*securitycenterpb.ListFindingsResponse_ListFindingsResult
		next, err := p.NextPage(&page)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			f := r.GetFinding()
			name := f.GetName()
			out[name[strings.LastIndex(name, "/")+1:]] = f
		}
		if next == "" {
			return out, nil
		}
	}
}

func (s *Sink) create(ctx context.Context, id string, f *securitycenterpb.Finding) error {
	if err := s.writes.Wait(ctx); err != nil {
		return err
	}
	_, err := s.client.CreateFinding(ctx, &securitycenterpb.CreateFindingRequest{Parent: s.cfg.Source, FindingId: id, Finding: f}, s.callOpts()...)
	if status.Code(err) == codes.AlreadyExists {
		// An earlier attempt of this call did create it (its answer was
		// lost): make sure it holds what this run writes.
		f = proto.Clone(f).(*securitycenterpb.Finding)
		f.Name = s.cfg.Source + "/findings/" + id
		return s.update(ctx, f)
	}
	return err
}

func (s *Sink) update(ctx context.Context, f *securitycenterpb.Finding) error {
	if err := s.writes.Wait(ctx); err != nil {
		return err
	}
	_, err := s.client.UpdateFinding(ctx, &securitycenterpb.UpdateFindingRequest{
		Finding: f, UpdateMask: &fieldmaskpb.FieldMask{Paths: updateMask},
	}, s.callOpts()...)
	return err
}

func (s *Sink) setState(ctx context.Context, name string, state securitycenterpb.Finding_State) error {
	if err := s.writes.Wait(ctx); err != nil {
		return err
	}
	_, err := s.client.SetFindingState(ctx, &securitycenterpb.SetFindingStateRequest{Name: name, State: state}, s.callOpts()...)
	return err
}
