// Package confirmtest is an in-process fake of the Policy Troubleshooter
// (IAM v3) API for tests. Tests dial it with the real client.
package confirmtest

import (
	"context"
	"net"
	"sync"
	"testing"

	"cloud.google.com/go/policytroubleshooter/iam/apiv3/iampb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// State is Policy Troubleshooter's overall verdict.
type State = iampb.TroubleshootIamPolicyResponse_OverallAccessState

// Verdicts.
const (
	CanAccess    = iampb.TroubleshootIamPolicyResponse_CAN_ACCESS
	CannotAccess = iampb.TroubleshootIamPolicyResponse_CANNOT_ACCESS
	UnknownInfo  = iampb.TroubleshootIamPolicyResponse_UNKNOWN_INFO
)

// Key names one access question: "principal resource permission".
func Key(principal, resource, permission string) string {
	return principal + " " + resource + " " + permission
}

// Server answers TroubleshootIamPolicy from a table. Set its fields before
// Start.
type Server struct {
	iampb.UnimplementedPolicyTroubleshooterServer

	// Access holds the verdict per Key; Default answers the rest.
	Access  map[string]State
	Default State
	// Fail answers these keys with this code.
	Fail map[string]codes.Code

	mu       sync.Mutex
	requests []*iampb.TroubleshootIamPolicyRequest
}

// Start serves on a local port until the test ends and returns the
// address.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	iampb.RegisterPolicyTroubleshooterServer(g, s)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*iampb.TroubleshootIamPolicyRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*iampb.TroubleshootIamPolicyRequest{}, s.requests...)
}

// TroubleshootIamPolicy implements the service.
func (s *Server) TroubleshootIamPolicy(ctx context.Context, req *iampb.TroubleshootIamPolicyRequest) (*iampb.TroubleshootIamPolicyResponse, error) {
	s.mu.Lock()
	s.requests = append(s.requests, proto.Clone(req).(*iampb.TroubleshootIamPolicyRequest))
	s.mu.Unlock()
	at := req.GetAccessTuple()
	if at.GetPrincipal() == "" || at.GetFullResourceName() == "" || at.GetPermission() == "" {
		return nil, status.Error(codes.InvalidArgument, "access tuple incomplete")
	}
	k := Key(at.GetPrincipal(), at.GetFullResourceName(), at.GetPermission())
	if c, ok := s.Fail[k]; ok {
		return nil, status.Error(c, "injected failure")
	}
	st, ok := s.Access[k]
	if !ok {
		st = s.Default
	}
	return &iampb.TroubleshootIamPolicyResponse{OverallAccessState: st, AccessTuple: at}, nil
}
