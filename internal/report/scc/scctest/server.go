// Package scctest is an in-process fake of the Security Command Center v2
// API's findings methods, for tests that dial it with the real client. It
// keeps its findings across calls and clients, as SCC does across runs,
// and follows the documented behaviour: CreateFinding refuses an id that is
// not 1–32 alphanumerics or that exists; UpdateFinding creates a missing
// finding and, on an existing one, applies its field mask (empty: every
// mutable field, replacing source_properties; `source_properties.KEY`: one
// property); ListFindings filters on state and pages (default 10, at most
// 1,000 per page); SetFindingState sets ACTIVE or INACTIVE. Mute is never
// changed by these methods (SetMute is its own method, which the fake
// offers as Server.Mute for tests).
package scctest

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/runaudit/runaudit/internal/grpcfake"
)

// Server holds findings by name. Set Sources before Start.
type Server struct {
	securitycenterpb.UnimplementedSecurityCenterServer

	// Sources lists the sources that exist, as organizations/O/sources/S.
	Sources []string
	// Fail, when set, is asked before each call; a non-nil error is
	// returned instead of serving it (to inject UNAVAILABLE and such).
	Fail func(method string) error

	mu       sync.Mutex
	findings map[string]*securitycenterpb.Finding
	calls    map[string]int
}

// Start serves on a local port until the test ends and returns the
// address.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	return grpcfake.Serve(t, func(g *grpc.Server) {
		securitycenterpb.RegisterSecurityCenterServer(g, s)
	})
}

// Calls returns how many times each method was served (failed ones too).
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counts.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// Findings returns a copy of every finding, sorted by name.
func (s *Server) Findings() []*securitycenterpb.Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*securitycenterpb.Finding
	for _, f := range s.findings {
		out = append(out, proto.Clone(f).(*securitycenterpb.Finding))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Mute sets a finding's mute state as a team would in the console.
func (s *Server) Mute(name string, m securitycenterpb.Finding_Mute) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.findings[name]; f != nil {
		f.Mute = m
	}
}

var (
	findingID = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
	// organizations/O/sources/S[/locations/L]
	sourceName  = regexp.MustCompile(`^(organizations/[0-9]+/sources/[0-9]+)(?:/locations/([a-z0-9-]+))?$`)
	findingName = regexp.MustCompile(`^(organizations/[0-9]+/sources/[0-9]+)(?:/locations/([a-z0-9-]+))?/findings/([^/]+)$`)
)

// begin counts a call and asks Fail.
func (s *Server) begin(method string) error {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
	fail := s.Fail
	s.mu.Unlock()
	if fail != nil {
		return fail(method)
	}
	return nil
}

// source resolves a parent to its source and location (global when none).
func (s *Server) source(parent string) (src, loc string, err error) {
	m := sourceName.FindStringSubmatch(parent)
	if m == nil {
		return "", "", status.Errorf(codes.InvalidArgument, "invalid parent %q", parent)
	}
	loc = m[2]
	if loc == "" {
		loc = "global"
	}
	for _, known := range s.Sources {
		if known == m[1] {
			return m[1], loc, nil
		}
	}
	return "", "", status.Errorf(codes.NotFound, "source %s not found", m[1])
}

// canonical resolves a finding name to the form SCC returns.
func (s *Server) canonical(name string) (string, error) {
	m := findingName.FindStringSubmatch(name)
	if m == nil {
		return "", status.Errorf(codes.InvalidArgument, "invalid finding name %q", name)
	}
	src, loc, err := s.source(m[1] + strings.TrimSuffix("/locations/"+m[2], "/locations/"))
	if err != nil {
		return "", err
	}
	return src + "/locations/" + loc + "/findings/" + m[3], nil
}

// CreateFinding implements the method.
func (s *Server) CreateFinding(ctx context.Context, req *securitycenterpb.CreateFindingRequest) (*securitycenterpb.Finding, error) {
	if err := s.begin("CreateFinding"); err != nil {
		return nil, err
	}
	src, loc, err := s.source(req.GetParent())
	if err != nil {
		return nil, err
	}
	if !findingID.MatchString(req.GetFindingId()) {
		return nil, status.Errorf(codes.InvalidArgument, "finding_id %q must be 1 to 32 alphanumeric characters", req.GetFindingId())
	}
	if req.GetFinding() == nil {
		return nil, status.Error(codes.InvalidArgument, "finding is required")
	}
	name := src + "/locations/" + loc + "/findings/" + req.GetFindingId()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.findings[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "finding %s already exists", name)
	}
	return s.store(name, src, req.GetFinding()), nil
}

// store creates a finding from f's mutable fields; s.mu is held.
func (s *Server) store(name, src string, f *securitycenterpb.Finding) *securitycenterpb.Finding {
	n := proto.Clone(f).(*securitycenterpb.Finding)
	n.Name, n.Parent, n.CanonicalName = name, src, name
	n.CreateTime = timestamppb.Now()
	n.SecurityMarks = nil
	n.Mute, n.MuteInfo, n.MuteUpdateTime, n.MuteInitiator = securitycenterpb.Finding_MUTE_UNSPECIFIED, nil, nil, ""
	if n.State == securitycenterpb.Finding_STATE_UNSPECIFIED {
		n.State = securitycenterpb.Finding_ACTIVE
	}
	if s.findings == nil {
		s.findings = map[string]*securitycenterpb.Finding{}
	}
	s.findings[name] = n
	return proto.Clone(n).(*securitycenterpb.Finding)
}

// UpdateFinding implements the method: create or update.
func (s *Server) UpdateFinding(ctx context.Context, req *securitycenterpb.UpdateFindingRequest) (*securitycenterpb.Finding, error) {
	if err := s.begin("UpdateFinding"); err != nil {
		return nil, err
	}
	in := req.GetFinding()
	name, err := s.canonical(in.GetName())
	if err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.findings[name]
	if !ok {
		id := name[strings.LastIndex(name, "/")+1:]
		if !findingID.MatchString(id) {
			return nil, status.Errorf(codes.InvalidArgument, "finding id %q must be 1 to 32 alphanumeric characters", id)
		}
		return s.store(name, name[:strings.Index(name, "/locations/")], in), nil
	}
	if len(paths) == 0 {
		// Every mutable field, source_properties replaced.
		keep := proto.Clone(cur).(*securitycenterpb.Finding)
		n := proto.Clone(in).(*securitycenterpb.Finding)
		n.Name, n.Parent, n.CanonicalName, n.CreateTime = keep.Name, keep.Parent, keep.CanonicalName, keep.CreateTime
		n.SecurityMarks, n.Mute, n.MuteInfo, n.MuteUpdateTime, n.MuteInitiator = keep.SecurityMarks, keep.Mute, keep.MuteInfo, keep.MuteUpdateTime, keep.MuteInitiator
		if n.State == securitycenterpb.Finding_STATE_UNSPECIFIED {
			n.State = keep.State
		}
		s.findings[name] = n
		return proto.Clone(n).(*securitycenterpb.Finding), nil
	}
	n := proto.Clone(cur).(*securitycenterpb.Finding)
	for _, p := range paths {
		if key, ok := strings.CutPrefix(p, "source_properties."); ok {
			if v, ok := in.GetSourceProperties()[key]; ok {
				if n.SourceProperties == nil {
					n.SourceProperties = map[string]*structpb.Value{}
				}
				n.SourceProperties[key] = v
			} else {
				delete(n.SourceProperties, key)
			}
			continue
		}
		switch p {
		case "source_properties":
			n.SourceProperties = in.GetSourceProperties()
		case "category":
			n.Category = in.GetCategory()
		case "severity":
			n.Severity = in.GetSeverity()
		case "finding_class":
			n.FindingClass = in.GetFindingClass()
		case "resource_name":
			n.ResourceName = in.GetResourceName()
		case "event_time":
			n.EventTime = in.GetEventTime()
		case "external_uri":
			n.ExternalUri = in.GetExternalUri()
		case "description":
			n.Description = in.GetDescription()
		case "next_steps":
			n.NextSteps = in.GetNextSteps()
		case "state":
			n.State = in.GetState()
		default:
			return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not a mutable field the fake knows", p)
		}
	}
	s.findings[name] = n
	return proto.Clone(n).(*securitycenterpb.Finding), nil
}

// ListFindings implements the method, for one source, with a state filter.
func (s *Server) ListFindings(ctx context.Context, req *securitycenterpb.ListFindingsRequest) (*securitycenterpb.ListFindingsResponse, error) {
	if err := s.begin("ListFindings"); err != nil {
		return nil, err
	}
	src, loc, err := s.source(req.GetParent())
	if err != nil {
		return nil, err
	}
	var want securitycenterpb.Finding_State
	switch f := strings.ReplaceAll(req.GetFilter(), " ", ""); f {
	case "":
	case `state="ACTIVE"`:
		want = securitycenterpb.Finding_ACTIVE
	case `state="INACTIVE"`:
		want = securitycenterpb.Finding_INACTIVE
	default:
		return nil, status.Errorf(codes.InvalidArgument, "filter %q is not one the fake supports", req.GetFilter())
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Error(codes.InvalidArgument, "negative page_size")
	case size == 0:
		size = 10
	case size > 1000:
		size = 1000
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		start, err = strconv.Atoi(tok)
		if err != nil || start < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "invalid page_token %q", tok)
		}
	}
	prefix := src + "/locations/" + loc + "/findings/"
	s.mu.Lock()
	var names []string
	for name, f := range s.findings {
		if strings.HasPrefix(name, prefix) && (want == 0 || f.State == want) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	resp := &securitycenterpb.ListFindingsResponse{TotalSize: int32(len(names))}
	end := min(start+size, len(names))
	for _, name := range names[min(start, len(names)):end] {
		resp.ListFindingsResults = append(resp.ListFindingsResults, &securitycenterpb.ListFindingsResponse_ListFindingsResult{
			Finding: proto.Clone(s.findings[name]).(*securitycenterpb.Finding),
		})
	}
	s.mu.Unlock()
	if end < len(names) {
		resp.NextPageToken = fmt.Sprint(end)
	}
	return resp, nil
}

// SetFindingState implements the method.
func (s *Server) SetFindingState(ctx context.Context, req *securitycenterpb.SetFindingStateRequest) (*securitycenterpb.Finding, error) {
	if err := s.begin("SetFindingState"); err != nil {
		return nil, err
	}
	name, err := s.canonical(req.GetName())
	if err != nil {
		return nil, err
	}
	switch req.GetState() {
	case securitycenterpb.Finding_ACTIVE, securitycenterpb.Finding_INACTIVE:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "state must be ACTIVE or INACTIVE, not %v", req.GetState())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.findings[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "finding %s not found", name)
	}
	f.State = req.GetState()
	return proto.Clone(f).(*securitycenterpb.Finding), nil
}
