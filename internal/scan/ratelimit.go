package scan

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ListAssets quotas, as documented at
// https://cloud.google.com/asset-inventory/docs/quota: both bind at once,
// and a run charges both, so the per-project one is the tighter.
const (
	// ListAssetsProjectQuota is the default per consumer (quota) project
	// quota, in calls a minute.
	ListAssetsProjectQuota = 100
	// ListAssetsOrgQuota is the per-organization quota, in calls a minute,
	// shared by every caller listing the organization's assets.
	ListAssetsOrgQuota = 800
)

// DefaultListAssetsPerMinute paces ListAssets at 80 % of the per-project
// quota, leaving room for other ListAssets callers that bill the same quota
// project (gcloud asset list, a console session, a second run) and for the
// pacer's own one-minute window not lining up with the service's.
const DefaultListAssetsPerMinute = ListAssetsProjectQuota * 8 / 10

// Pacer keeps the ListAssets calls of a whole run under a per-minute quota
// and counts them. It sits on the gRPC connection, so every attempt is
// paced and counted, retries included: each one uses quota.
type Pacer struct {
	lim       *rate.Limiter
	perMinute int

	calls  atomic.Int64
	mu     sync.Mutex
	failed map[codes.Code]int
}

// NewPacer allows at most perMinute calls in any 60-second window: a burst
// of b = max(1, perMinute/60) calls, then (perMinute−b)/60 calls a second,
// so that b + 60 s × rate never exceeds perMinute. perMinute ≤ 0 means no
// limit.
func NewPacer(perMinute int) *Pacer {
	p := &Pacer{perMinute: perMinute, failed: map[codes.Code]int{}}
	if perMinute <= 0 {
		p.lim = rate.NewLimiter(rate.Inf, 1)
		return p
	}
	burst := max(1, perMinute/60)
	perSecond := float64(perMinute-burst) / 60
	if perSecond <= 0 {
		// One call a minute: the next token comes just after the window.
		perSecond = 1.0 / 61
	}
	p.lim = rate.NewLimiter(rate.Limit(perSecond), burst)
	return p
}

// PerMinute returns the configured quota (≤ 0: unlimited).
func (p *Pacer) PerMinute() int { return p.perMinute }

// Calls counts the calls sent so far.
func (p *Pacer) Calls() int64 { return p.calls.Load() }

// Failed returns the failed calls so far, by status code.
func (p *Pacer) Failed() map[codes.Code]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[codes.Code]int, len(p.failed))
	for k, v := range p.failed {
		out[k] = v
	}
	return out
}

// UnaryInterceptor waits for the quota before each call, then sends it
// with at most attemptTimeout (0: none) for the attempt.
func (p *Pacer) UnaryInterceptor(attemptTimeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if err := p.lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			// The wait would outlast the deadline: the call cannot be made
			// in time under the quota.
			return status.Error(codes.DeadlineExceeded, fmt.Sprintf("waiting for ListAssets quota: %v", err))
		}
		p.calls.Add(1)
		if attemptTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, attemptTimeout)
			defer cancel()
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil {
			p.mu.Lock()
			p.failed[status.Code(err)]++
			p.mu.Unlock()
		}
		return err
	}
}
