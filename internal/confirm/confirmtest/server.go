// Package confirmtest is an in-process fake of the Policy Troubleshooter
// (IAM v3) API for tests. Tests dial it with the real client.
//
// As the API documents (AccessTuple.conditionContext and the access
// states, https://cloud.google.com/ruby/docs/reference/google-cloud-policy_troubleshooter-iam-v3/latest/Google-Cloud-PolicyTroubleshooter-Iam-V3-AccessTuple),
// access that depends on a condition is UNKNOWN_CONDITIONAL when the
// request's conditionContext lacks an attribute the condition reads, and is
// decided when it carries them.
package confirmtest

import (
	"context"
	"sync"
	"testing"

	"cloud.google.com/go/policytroubleshooter/iam/apiv3/iampb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/runaudit/runaudit/internal/grpcfake"
)

// State is Policy Troubleshooter's overall verdict.
type State = iampb.TroubleshootIamPolicyResponse_OverallAccessState

// Verdicts.
const (
	CanAccess    = iampb.TroubleshootIamPolicyResponse_CAN_ACCESS
	CannotAccess = iampb.TroubleshootIamPolicyResponse_CANNOT_ACCESS
	UnknownInfo  = iampb.TroubleshootIamPolicyResponse_UNKNOWN_INFO
	UnknownCond  = iampb.TroubleshootIamPolicyResponse_UNKNOWN_CONDITIONAL
)

// Conditional is access that depends on a condition over the resource
// attributes: it needs the non-empty fields of Resource (and the request
// time when Time is set) in the request's conditionContext, is Then when
// they all match, Else when one differs, and UNKNOWN_CONDITIONAL when one
// is missing.
type Conditional struct {
	Resource   *iampb.ConditionContext_Resource
	Time       bool
	Then, Else State
}

func (c Conditional) decide(ctx *iampb.ConditionContext) State {
	want, got := c.Resource, ctx.GetResource()
	if c.Time && ctx.GetRequest().GetReceiveTime() == nil {
		return UnknownCond
	}
	match := true
	for _, f := range [][2]string{
		{want.GetService(), got.GetService()},
		{want.GetName(), got.GetName()},
		{want.GetType(), got.GetType()},
	} {
		switch {
		case f[0] == "":
		case f[1] == "":
			return UnknownCond
		case f[0] != f[1]:
			match = false
		}
	}
	if match {
		return c.Then
	}
	return c.Else
}

// Key names one access question: "principal resource permission".
func Key(principal, resource, permission string) string {
	return principal + " " + resource + " " + permission
}

// Server answers TroubleshootIamPolicy from a table. Set its fields before
// Start.
type Server struct {
	iampb.UnimplementedPolicyTroubleshooterServer

	// Access holds the verdict per Key; Conditions the conditional ones;
	// Default answers the rest.
	Access     map[string]State
	Conditions map[string]Conditional
	Default    State
	// Fail answers these keys with this code.
	Fail map[string]codes.Code

	mu       sync.Mutex
	requests []*iampb.TroubleshootIamPolicyRequest
}

// Start serves on a local port until the test ends and returns the
// address.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	return grpcfake.Serve(t, func(g *grpc.Server) {
		iampb.RegisterPolicyTroubleshooterServer(g, s)
	})
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
	if c, cond := s.Conditions[k]; cond {
		st, ok = c.decide(at.GetConditionContext()), true
	}
	if !ok {
		st = s.Default
	}
	return &iampb.TroubleshootIamPolicyResponse{OverallAccessState: st, AccessTuple: at}, nil
}
