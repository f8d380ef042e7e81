package bq

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Retries: a request repeated under its fixed job id never loads or commits
// twice, and a load that did land twice is caught before the commit.

func TestRetriedRequests(t *testing.T) {
	tests := []struct {
		name string
		// step is the job step whose first request is faulted.
		step  string
		fault fault
	}{
		// The upload never reached BigQuery: the retry loads.
		{"load lost", "load_findings", lose},
		// The upload reached BigQuery, the answer did not: the retry gets
		// 409 and waits for the job that exists.
		{"load reply lost", "load_findings", loseReply},
		// The client library itself retries a query job under its id.
		{"commit reply lost", "commit", loseReply},
		{"verify lost", "verify", lose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProxy(t, emulator(t))
			s := emulatorModeSink(t, p)
			mustWrite(t, s, night(1, "", true, "A", "B"))

			faulted := false
			p.fault = func(r *request) fault {
				if !faulted && strings.HasSuffix(r.jobID(), "_"+tt.step) {
					faulted = true
					return tt.fault
				}
				return pass
			}
			mustWrite(t, s, night(2, "", true, "A", "A2", "B", "C"))
			if !faulted {
				t.Fatalf("no %s request was sent", tt.step)
			}
			var sent []string
			for _, r := range p.requests() {
				if strings.HasSuffix(r.jobID(), "_"+tt.step) && strings.Contains(r.jobID(), "nightly-2026-03-02") {
					sent = append(sent, r.jobID())
				}
			}
			if len(sent) < 2 || sent[0] != sent[len(sent)-1] {
				t.Errorf("%s sent as %q; want it retried under the same job id", tt.step, sent)
			}
			checkTables(t, s, []string{"coverage 6", "findings 6", "inventory 6", "runs 2"})
			wantRows(t, "findings per day", rows(t, s, fmtPerDay("findings")), []string{
				"2026-03-01 nightly-2026-03-01 2", "2026-03-02 nightly-2026-03-02 4",
			})
		})
	}
}

// A load that lands twice (as it would under two job ids, which the sink
// never sends) is caught by the row count before anything is committed.
// BigQuery would already refuse the second load (WRITE_EMPTY); the emulator
// appends, which makes this the check of the count.
func TestDoubleLoadIsNotCommitted(t *testing.T) {
	p := newProxy(t, emulator(t))
	s := emulatorModeSink(t, p)
	mustWrite(t, s, night(1, "", true, "A", "B"))
	mustWrite(t, s, night(2, "", true, "A"))

	faulted := false
	p.fault = func(r *request) fault {
		if !faulted && r.isLoad("findings") {
			faulted = true
			return twiceUnderNewID
		}
		return pass
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.Write(ctx, night(2, "-rerun", true, "C", "D"))
	if err == nil || !strings.Contains(err.Error(), "findings: staged 4 rows, sent 2") {
		t.Fatalf("Write: %v; want the double load reported", err)
	}
	checkTables(t, s, []string{"coverage 6", "findings 3", "inventory 6", "runs 2"})
	wantRows(t, "findings per day", rows(t, s, fmtPerDay("findings")), []string{
		"2026-03-01 nightly-2026-03-01 2", "2026-03-02 nightly-2026-03-02 1",
	})
	assertNoStaging(t, s)
}
