package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/report/bq"
	"github.com/runaudit/runaudit/internal/report/notify"
)

// bigQueryEmulator starts goccy/bigquery-emulator (BIGQUERY_EMULATOR_BIN,
// as the bq package's tests use it) and returns its endpoint; it skips
// without the binary, except under CI.
func bigQueryEmulator(t *testing.T, project string) string {
	t.Helper()
	bin := os.Getenv("BIGQUERY_EMULATOR_BIN")
	if bin == "" {
		if v := strings.ToLower(os.Getenv("CI")); v != "" && v != "0" && v != "false" {
			t.Fatal("BIGQUERY_EMULATOR_BIN is not set; CI is set, so this test must run")
		}
		t.Skip("BIGQUERY_EMULATOR_BIN is not set: build the emulator with .ci/bigquery-emulator.sh")
	}
	ports := freeLocalPorts(t, 2)
	cmd := exec.Command(bin, "--project="+project, "--host=127.0.0.1",
		fmt.Sprintf("--port=%d", ports[0]), fmt.Sprintf("--grpc-port=%d", ports[1]), "--log-level=error")
	// A file, not a buffer: the process writes it while the test may read.
	log, err := os.Create(t.TempDir() + "/emulator.log")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	return startEmulator(t, cmd, fmt.Sprintf("http://127.0.0.1:%d", ports[0]), project, log.Name())
}

// freeLocalPorts finds n free loopback ports and releases them for the
// emulator to bind.
func freeLocalPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func startEmulator(t *testing.T, cmd *exec.Cmd, endpoint, project, logPath string) string {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(endpoint + "/bigquery/v2/projects/" + project + "/datasets")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return endpoint
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(logPath)
	t.Fatalf("the emulator did not come up:\n%s", out)
	return ""
}

// TestNotifyFromBigQuery: with --bq-dataset, the change notice compares
// with the latest earlier run in BigQuery, read before this run is written.
func TestNotifyFromBigQuery(t *testing.T) {
	const project, dataset = "runaudit-test", "audit"
	const topic = "projects/acme-audit/topics/runaudit-changes"
	endpoint := bigQueryEmulator(t, project)
	ps := pstest.NewServer()
	defer ps.Close()
	if _, err := ps.GServer.CreateTopic(context.Background(), &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PUBSUB_EMULATOR_HOST", ps.Addr)

	// Yesterday's run: every finding of the example but the critical one,
	// and one fixed since.
	golden, err := report.ReadFindings("testdata/acme.findings.jsonl.golden")
	if err != nil {
		t.Fatal(err)
	}
	var prev []audit.Finding
	var critical string
	for _, f := range golden {
		if f.Kind == audit.ServiceAgentCannotReadImage {
			critical = f.FindingID
			continue
		}
		prev = append(prev, f)
	}
	fixed := golden[0]
	fixed.FindingID = "fedcba9876543210fedcba9876543210"
	prev = append(prev, fixed)
	yesterday := time.Now().UTC().AddDate(0, 0, -1)
	ctx := context.Background()
	sink, err := bq.New(ctx, bq.Config{Project: project, Dataset: dataset, Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	err = sink.Write(ctx, audit.Result{Summary: audit.Summary{RunID: "yesterday", StartedAt: yesterday, Complete: true, Organization: "123456789012"}, Findings: prev})
	sink.Close()
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--export", "../../examples/acme", "--out", t.TempDir(), "--at", "2026-11-01T00:00:00Z",
		"--log-format", "json", "--quiet", "--bq-dataset", project + "." + dataset, "--bq-endpoint", endpoint, "--notify-topic", topic,
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	msgs := ps.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	var m notify.Message
	if err := json.Unmarshal(msgs[0].Data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Previous != "bigquery:yesterday" {
		t.Errorf("compared with %q, want bigquery:yesterday", m.Previous)
	}
	if m.Counts.New != 1 || m.New[0].FindingID != critical {
		t.Errorf("new %d %+v, want only %s", m.Counts.New, m.New, critical)
	}
	if m.Counts.Resolved != 1 || m.Resolved[0].FindingID != fixed.FindingID {
		t.Errorf("resolved %d %+v, want only %s", m.Counts.Resolved, m.Resolved, fixed.FindingID)
	}
}
