// Package denytest is an in-process fake of the IAM v2 Policies API for
// tests: it serves deny policies per attachment point, with real paging,
// and can inject latency and errors. Tests dial it with the real client.
package denytest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv2/iampb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/runaudit/runaudit/internal/grpcfake"
)

// Server is a fake Policies service. Set its fields before Start.
type Server struct {
	iampb.UnimplementedPoliciesServer

	// Latency delays every call.
	Latency time.Duration
	// PageSize is the policies per ListPolicies page (default 1).
	PageSize int
	// Fail answers every call about an attachment point (its
	// URL-encoded full resource name) with this code.
	Fail map[string]codes.Code

	mu       sync.Mutex
	policies map[string][]*iampb.Policy // parent → policies
	calls    map[string]int
}

// Add attaches policies; their names give the attachment point.
func (s *Server) Add(ps ...*iampb.Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policies == nil {
		s.policies = map[string][]*iampb.Policy{}
	}
	for _, p := range ps {
		parent := p.GetName()[:strings.LastIndex(p.GetName(), "/")]
		s.policies[parent] = append(s.policies[parent], p)
	}
}

// Calls counts the calls of a method ("ListPolicies", "GetPolicy").
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Start serves on a local port until the test ends and returns the
// address.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	return grpcfake.Serve(t, func(g *grpc.Server) {
		iampb.RegisterPoliciesServer(g, s)
	})
}

func (s *Server) enter(ctx context.Context, method, name string) error {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
	s.mu.Unlock()
	if s.Latency > 0 {
		select {
		case <-time.After(s.Latency):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for att, c := range s.Fail {
		if strings.HasPrefix(name, "policies/"+att+"/") || name == "policies/"+att {
			return status.Error(c, "injected failure for "+att)
		}
	}
	return nil
}

// ListPolicies returns the policies of a parent without their rules, as
// the real API does.
func (s *Server) ListPolicies(ctx context.Context, req *iampb.ListPoliciesRequest) (*iampb.ListPoliciesResponse, error) {
	if err := s.enter(ctx, "ListPolicies", req.GetParent()); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(req.GetParent(), "/denypolicies") {
		return nil, status.Error(codes.InvalidArgument, "parent must end in /denypolicies")
	}
	s.mu.Lock()
	all := s.policies[req.GetParent()]
	s.mu.Unlock()
	size := s.PageSize
	if size <= 0 {
		size = 1
	}
	start := 0
	if req.GetPageToken() != "" {
		var err error
		if start, err = strconv.Atoi(req.GetPageToken()); err != nil {
			return nil, status.Error(codes.InvalidArgument, "bad page token")
		}
	}
	end := min(start+size, len(all))
	resp := &iampb.ListPoliciesResponse{}
	for _, p := range all[start:end] {
		meta := proto.Clone(p).(*iampb.Policy)
		meta.Rules = nil
		resp.Policies = append(resp.Policies, meta)
	}
	if end < len(all) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// GetPolicy returns one policy with its rules.
func (s *Server) GetPolicy(ctx context.Context, req *iampb.GetPolicyRequest) (*iampb.Policy, error) {
	if err := s.enter(ctx, "GetPolicy", req.GetName()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ps := range s.policies {
		for _, p := range ps {
			if p.GetName() == req.GetName() {
				return p, nil
			}
		}
	}
	return nil, status.Error(codes.NotFound, req.GetName())
}
