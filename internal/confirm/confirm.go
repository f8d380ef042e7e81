// Package confirm checks actionable findings with Policy Troubleshooter
// (IAM v3) and records its verdict on each: CONFIRMED when Google's own
// evaluation agrees the principal lacks the permission (and, for a
// deployer, that it can deploy), CONTRADICTED when it disagrees,
// UNKNOWN_CONDITIONAL when the answer rests on a condition it could not
// evaluate with the context sent, UNKNOWN when it cannot tell otherwise or
// the call fails. A failed check never removes or changes a finding, it
// only says it was not confirmed.
//
// Each question carries the condition context the audit knows: the
// request time, and the resource's service, name and type where IAM
// conditions see them (Artifact Registry repositories), so that a
// condition on the resource is evaluated rather than left unknown.
package confirm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	policytroubleshooter "cloud.google.com/go/policytroubleshooter/iam/apiv3"
	"cloud.google.com/go/policytroubleshooter/iam/apiv3/iampb"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/audit"
)

// Verdicts recorded in Finding.Confirmation.
const (
	Confirmed    = "CONFIRMED"
	Contradicted = "CONTRADICTED"
	Unknown      = "UNKNOWN"
	// UnknownConditional: the troubleshooter could not evaluate a condition
	// the answer depends on (e.g. on resource tags) with the context sent.
	UnknownConditional = "UNKNOWN_CONDITIONAL"
)

// Options configure a Troubleshooter.
type Options struct {
	// PerMinute bounds the calls per minute (default 60).
	PerMinute float64
	// Concurrency bounds the calls in flight (default 4).
	Concurrency int
	// At is the request time conditions are evaluated at; zero means the
	// time of the call.
	At time.Time
}

// Troubleshooter confirms findings. It is safe for concurrent use.
type Troubleshooter struct {
	client *policytroubleshooter.PolicyTroubleshooterClient
	lim    *rate.Limiter
	opts   Options

	mu    sync.Mutex
	cache map[tuple]*result

	calls, failures atomic.Int64
}

type tuple struct{ principal, resource, permission string }

type result struct {
	done  chan struct{}
	state iampb.TroubleshootIamPolicyResponse_OverallAccessState
	err   error
}

// New returns a Troubleshooter over client.
func New(client *policytroubleshooter.PolicyTroubleshooterClient, opts Options) *Troubleshooter {
	if opts.PerMinute <= 0 {
		opts.PerMinute = 60
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	return &Troubleshooter{
		client: client, opts: opts,
		lim:   rate.NewLimiter(rate.Limit(opts.PerMinute/60), max(1, int(opts.PerMinute/60))),
		cache: map[tuple]*result{},
	}
}

// Stats counts what a Confirm run did.
type Stats struct {
	Checked, Confirmed, Contradicted, Unknown, UnknownConditional int
	Calls, Failures                                               int64
}

// Confirm checks every actionable finding in place: it sets Confirmation
// and, unless confirmed, says in Reason what Policy Troubleshooter
// reported. Informational findings are left as they are.
func (t *Troubleshooter) Confirm(ctx context.Context, findings []audit.Finding) Stats {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for i := range findings {
		if !findings[i].Kind.Actionable() {
			continue
		}
		g.Go(func() error {
			f := &findings[i]
			verdict, why := t.check(ctx, f)
			f.Confirmation = verdict
			if verdict != Confirmed {
				f.Reason = strings.TrimSpace(f.Reason + " Policy Troubleshooter: " + why + ".")
			}
			return nil
		})
	}
	g.Wait()
	var s Stats
	for _, f := range findings {
		switch f.Confirmation {
		case Confirmed:
			s.Confirmed++
		case Contradicted:
			s.Contradicted++
		case Unknown:
			s.Unknown++
		case UnknownConditional:
			s.UnknownConditional++
		default:
			continue
		}
		s.Checked++
	}
	s.Calls, s.Failures = t.calls.Load(), t.failures.Load()
	return s
}

// check decides one finding: the permission it says is missing, then, for
// a deployer, the deploy permission it says is held.
func (t *Troubleshooter) check(ctx context.Context, f *audit.Finding) (verdict, why string) {
	email, ok := principalEmail(f.Principal)
	if !ok {
		return Unknown, "it checks only Google accounts and service accounts, not " + f.Principal
	}
	resource, ok := readResource(f)
	if !ok {
		return Unknown, "the finding names no resource to check"
	}
	state, err := t.troubleshoot(ctx, tuple{email, resource, f.Permission})
	switch {
	case err != nil:
		return Unknown, fmt.Sprintf("checking %s on %s failed: %v", f.Permission, resource, err)
	case state == iampb.TroubleshootIamPolicyResponse_CAN_ACCESS:
		return Contradicted, fmt.Sprintf("%s holds %s on %s", email, f.Permission, resource)
	case state == iampb.TroubleshootIamPolicyResponse_UNKNOWN_CONDITIONAL:
		return UnknownConditional, fmt.Sprintf("%s on %s is %s: it depends on a condition the troubleshooter could not evaluate with the context sent", f.Permission, resource, state)
	case state != iampb.TroubleshootIamPolicyResponse_CANNOT_ACCESS:
		return Unknown, fmt.Sprintf("%s on %s is %s", f.Permission, resource, state)
	}
	if f.Kind != audit.DeployerCannotReadImage || audit.ServiceAgent(f.Principal) {
		// A service agent is a deployer only of what its service manages
		// (Cloud Functions' services), whatever its own grants say.
		return Confirmed, ""
	}
	// The finding also says the principal can deploy: update, or create.
	deploy := []access.Perm{access.RunServicesUpdate, access.RunServicesCreate}
	switch f.ResourceType {
	case audit.ResourceTypeJob:
		deploy = []access.Perm{access.RunJobsUpdate, access.RunJobsCreate}
	case audit.ResourceTypeWorkerPool:
		deploy = []access.Perm{access.RunWorkerPoolsUpdate, access.RunWorkerPoolsCreate}
	}
	var states []string
	for _, perm := range deploy {
		p := perm.String()
		st, err := t.troubleshoot(ctx, tuple{email, f.Resource, p})
		switch {
		case err != nil:
			return Unknown, fmt.Sprintf("%s is confirmed missing, but checking %s on %s failed: %v", f.Permission, p, f.Resource, err)
		case st == iampb.TroubleshootIamPolicyResponse_CAN_ACCESS:
			return Confirmed, ""
		}
		states = append(states, p+" "+st.String())
	}
	for _, s := range states {
		if strings.HasSuffix(s, iampb.TroubleshootIamPolicyResponse_UNKNOWN_CONDITIONAL.String()) {
			return UnknownConditional, fmt.Sprintf("%s is confirmed missing, but whether %s can deploy %s depends on a condition the troubleshooter could not evaluate (%s)", f.Permission, email, f.Resource, strings.Join(states, ", "))
		}
	}
	for _, s := range states {
		if !strings.HasSuffix(s, iampb.TroubleshootIamPolicyResponse_CANNOT_ACCESS.String()) {
			return Unknown, fmt.Sprintf("%s is confirmed missing, but whether %s can deploy %s is not known (%s)", f.Permission, email, f.Resource, strings.Join(states, ", "))
		}
	}
	return Contradicted, fmt.Sprintf("%s cannot deploy %s (%s)", email, f.Resource, strings.Join(states, ", "))
}

// troubleshoot asks once per tuple, under the rate limit.
func (t *Troubleshooter) troubleshoot(ctx context.Context, k tuple) (iampb.TroubleshootIamPolicyResponse_OverallAccessState, error) {
	t.mu.Lock()
	r, ok := t.cache[k]
	if !ok {
		r = &result{done: make(chan struct{})}
		t.cache[k] = r
	}
	t.mu.Unlock()
	if !ok {
		r.state, r.err = t.call(ctx, k)
		close(r.done)
	}
	<-r.done
	return r.state, r.err
}

var retry = gax.WithRetry(func() gax.Retryer {
	return gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted}, gax.Backoff{
		Initial: time.Second, Max: 30 * time.Second, Multiplier: 2,
	})
})

func (t *Troubleshooter) call(ctx context.Context, k tuple) (iampb.TroubleshootIamPolicyResponse_OverallAccessState, error) {
	if err := t.lim.Wait(ctx); err != nil {
		return 0, err
	}
	t.calls.Add(1)
	req := &iampb.TroubleshootIamPolicyRequest{AccessTuple: &iampb.AccessTuple{
		Principal: k.principal, FullResourceName: k.resource, Permission: k.permission,
		ConditionContext: &iampb.ConditionContext{Resource: conditionResource(k.resource)},
	}}
	if !t.opts.At.IsZero() {
		req.AccessTuple.ConditionContext.Request = &iampb.ConditionContext_Request{ReceiveTime: timestamppb.New(t.opts.At)}
	}
	resp, err := t.client.TroubleshootIamPolicy(ctx, req, retry)
	if err != nil {
		t.failures.Add(1)
		if s, ok := status.FromError(err); ok {
			return 0, fmt.Errorf("%s: %s", s.Code(), s.Message())
		}
		return 0, err
	}
	return resp.GetOverallAccessState(), nil
}

// principalEmail returns the email Policy Troubleshooter takes for a user
// or service account member string.
func principalEmail(member string) (string, bool) {
	kind, email, ok := strings.Cut(member, ":")
	if !ok || email == "" {
		return "", false
	}
	switch kind {
	case "user", "serviceAccount":
		return email, true
	}
	return "", false
}

// readResource is the full resource name the finding's missing permission
// is checked on: the repository, or the secret for secret findings.
func readResource(f *audit.Finding) (string, bool) {
	if f.Kind == audit.RemoteRepoSecretInaccessible {
		parts := strings.Split(f.Secret, "/")
		if len(parts) < 4 || parts[0] != "projects" || parts[2] != "secrets" {
			return "", false
		}
		return "//secretmanager.googleapis.com/" + strings.Join(parts[:4], "/"), true
	}
	if f.Repository == "" {
		return "", false
	}
	return "//artifactregistry.googleapis.com/" + f.Repository, true
}

// conditionResource is what IAM conditions see of the resource a question
// is about (resource.service, resource.name, resource.type), as far as the
// audit knows it: a repository's name and type with its project id
// (https://cloud.google.com/iam/docs/conditions-resource-attributes); for
// secrets (checked on a version the question does not name) and Cloud Run
// resources only the service. A name the audit cannot give exactly is left
// out rather than guessed, so the troubleshooter answers
// UNKNOWN_CONDITIONAL instead of evaluating a wrong one.
func conditionResource(fullName string) *iampb.ConditionContext_Resource {
	rest, ok := strings.CutPrefix(fullName, "//")
	if !ok {
		return nil
	}
	service, name, _ := strings.Cut(rest, "/")
	r := &iampb.ConditionContext_Resource{Service: service}
	if service == "artifactregistry.googleapis.com" {
		parts := strings.Split(name, "/")
		if len(parts) == 6 && parts[0] == "projects" && parts[2] == "locations" && parts[4] == "repositories" && !numeric(parts[1]) {
			r.Name, r.Type = name, "artifactregistry.googleapis.com/Repository"
		}
	}
	return r
}

// numeric reports whether s is a project number rather than an id.
func numeric(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
