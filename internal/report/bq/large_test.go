package bq

import (
	"fmt"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

// largeRun is a run whose findings payload exceeds the client's 16 MiB
// upload chunk.
func largeRun(n int) audit.Result {
	res := night(1, "-large", true)
	base := fixtureFinding("A")
	for i := range n {
		f := base
		f.Resource = fmt.Sprintf("//run.googleapis.com/projects/app-%03d/locations/europe-west1/services/svc-%05d", i%500, i)
		f.ProjectID = fmt.Sprintf("app-%03d", i%500)
		f.Reason = fmt.Sprintf("%s; padding %0600d", base.Reason, i)
		f.FindingID = audit.ID(f.Kind, f.Resource, f.Principal, f.Repository)
		res.Findings = append(res.Findings, f)
	}
	res.Summary.Findings = n
	return res
}

// Against the emulator, a load over 16 MiB must go in one request
// (googleapi.ChunkSize(0)): it cannot assemble a chunked upload.
func TestLargeRun(t *testing.T) {
	s := newSink(t, emulator(t))
	const n = 18000
	res := largeRun(n)
	b, err := encode(res, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if size := len(b.data[tableFindings]); size <= 16<<20 {
		t.Fatalf("findings payload is %d bytes; the test needs more than 16 MiB", size)
	}
	start := time.Now()
	mustWrite(t, s, res)
	t.Logf("wrote %d findings (%.1f MiB) in %v", n, float64(len(b.data[tableFindings]))/(1<<20), time.Since(start).Round(time.Millisecond))
	wantRows(t, "findings", rows(t, s, "SELECT COUNT(*), COUNT(DISTINCT finding_id) FROM `${dataset}.findings`"), []string{fmt.Sprintf("%d %d", n, n)})
}

// BenchmarkEncode measures turning a run of 18,000 findings into load
// payloads.
func BenchmarkEncode(b *testing.B) {
	res := largeRun(18000)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(res, now); err != nil {
			b.Fatal(err)
		}
	}
}
