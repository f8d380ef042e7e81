package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/report/notify"
	"github.com/runaudit/runaudit/internal/report/scc"
	"github.com/runaudit/runaudit/internal/report/scc/scctest"
)

// TestSCCAndNotify runs the example organization with --scc-source and
// --notify-topic against the fake Security Command Center and pstest,
// reached by the real clients through their emulator-host variables, with
// a baseline that lacks one finding and holds one since fixed.
func TestSCCAndNotify(t *testing.T) {
	const source = "organizations/123456789012/sources/77"
	const topic = "projects/acme-audit/topics/runaudit-changes"
	fake := &scctest.Server{Sources: []string{source}}
	t.Setenv("SECURITYCENTER_EMULATOR_HOST", fake.Start(t))
	ps := pstest.NewServer()
	defer ps.Close()
	if _, err := ps.GServer.CreateTopic(context.Background(), &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PUBSUB_EMULATOR_HOST", ps.Addr)

	golden, err := report.ReadFindings("testdata/acme.findings.jsonl.golden")
	if err != nil {
		t.Fatal(err)
	}
	// The baseline: every finding but the critical one, plus one fixed since.
	var base []byte
	var critical string
	for i, f := range golden {
		if f.Kind == "SERVICE_AGENT_CANNOT_READ_IMAGE" {
			critical = f.FindingID
			continue
		}
		if i == 0 {
			fixed := f
			fixed.FindingID = "0123456789abcdef0123456789abcdef"
			b, _ := json.Marshal(fixed)
			base = append(append(base, b...), '\n')
		}
		b, _ := json.Marshal(f)
		base = append(append(base, b...), '\n')
	}
	baseline := filepath.Join(t.TempDir(), "baseline.jsonl")
	if err := os.WriteFile(baseline, base, 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--export", "../../examples/acme", "--out", t.TempDir(), "--at", "2026-11-01T00:00:00Z", "--log-format", "json", "--quiet",
		"--baseline", baseline, "--scc-source", source, "--notify-topic", topic,
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}

	// SCC: one finding per distinct actionable or undecided finding.
	want := map[string]bool{}
	for i := range golden {
		if scc.Eligible(&golden[i]) {
			want[golden[i].FindingID] = true
		}
	}
	got := fake.Findings()
	if len(got) != len(want) || len(want) == 0 {
		t.Errorf("SCC holds %d findings, want %d", len(got), len(want))
	}
	for _, f := range got {
		id := f.Name[strings.LastIndex(f.Name, "/")+1:]
		if !want[id] {
			t.Errorf("SCC finding %s is not an eligible finding of the run", f.Name)
		}
	}

	// Pub/Sub: one message, the critical finding new, the fixed one resolved.
	msgs := ps.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	var m notify.Message
	if err := json.Unmarshal(msgs[0].Data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Counts.New != 1 || len(m.New) != 1 || m.New[0].FindingID != critical {
		t.Errorf("new: %d %+v, want the critical finding %s", m.Counts.New, m.New, critical)
	}
	if m.Counts.Resolved != 1 || m.Resolved[0].FindingID != "0123456789abcdef0123456789abcdef" {
		t.Errorf("resolved: %d %+v", m.Counts.Resolved, m.Resolved)
	}
	if m.Counts.Open != 14 || m.Previous != "baseline:"+baseline {
		t.Errorf("message %+v", m)
	}
	if a := msgs[0].Attributes; a["has_new"] != "true" || a["complete"] != "true" || a["organization"] != "123456789012" {
		t.Errorf("attributes %v", a)
	}

	// A source SCC does not have: the sink fails, the run exits 1, the
	// local outputs are written all the same.
	out := t.TempDir()
	stderr.Reset()
	code = run(context.Background(), []string{"--export", "../../examples/acme", "--out", out, "--log-format", "json", "--quiet",
		"--scc-source", "organizations/123456789012/sources/404"}, noEnv, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stderr.String(), "sources/404") {
		t.Errorf("unknown source: exit %d, stderr %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "findings.jsonl")); err != nil {
		t.Errorf("local outputs not written when SCC fails: %v", err)
	}

	// Bad values are usage errors.
	for _, args := range [][]string{{"--scc-source", "sources/1"}, {"--notify-topic", "runaudit-changes"}, {"--scc-writes-per-minute", "0"}} {
		stderr.Reset()
		if code := run(context.Background(), append([]string{"--export", "../../examples/acme", "--out", t.TempDir()}, args...), noEnv, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
