package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/imageprobe"
	"github.com/runaudit/runaudit/internal/registryfake"
)

const helloImage = "us-docker.pkg.dev/cloudrun/container/hello"

// TestMain keeps every test of the command off the network: the registry
// probe (on by default) goes to an in-process registry that serves
// Google's public sample image, as the real us-docker.pkg.dev does.
// A test that wants another registry sets REGISTRY_EMULATOR_HOST itself.
func TestMain(m *testing.M) {
	srv, err := sampleRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(imageprobe.EmulatorHostEnv, srv.Addr())
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// sampleRegistry serves the example organization's one image outside the
// organization, publicly.
func sampleRegistry() (*registryfake.Server, error) {
	srv := registryfake.New()
	if err := srv.Push(context.Background(), helloImage); err != nil {
		srv.Close()
		return nil, err
	}
	return srv, nil
}

func TestProbeFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want ProbeConfig
		err  string
	}{
		{"on by default", nil, nil, ProbeConfig{Enabled: true, Timeout: 5 * time.Second, Budget: 30 * time.Second}, ""},
		{"off by flag", []string{"--probe-public-images=false"}, nil, ProbeConfig{Timeout: 5 * time.Second, Budget: 30 * time.Second}, ""},
		{"off by environment", nil, map[string]string{"AUDIT_PROBE_PUBLIC_IMAGES": "false"}, ProbeConfig{Timeout: 5 * time.Second, Budget: 30 * time.Second}, ""},
		{"limits from the environment", nil, map[string]string{"AUDIT_PROBE_TIMEOUT": "1s", "AUDIT_PROBE_BUDGET": "3s"}, ProbeConfig{Enabled: true, Timeout: time.Second, Budget: 3 * time.Second}, ""},
		{"zero timeout", []string{"--probe-timeout=0"}, nil, ProbeConfig{}, "--probe-timeout must be positive"},
		{"negative budget", nil, map[string]string{"AUDIT_PROBE_BUDGET": "-1s"}, ProbeConfig{}, "--probe-budget must be positive"},
		{"not a duration", []string{"--probe-timeout=soon"}, nil, ProbeConfig{}, "probe-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--export", "x"}, tc.args...)
			c, err := parseConfig(args, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Probe != tc.want {
				t.Errorf("got %+v, want %+v", c.Probe, tc.want)
			}
		})
	}
	var stderr bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, noEnv, &stderr); err != errHelp {
		t.Fatalf("--help: %v", err)
	}
	help := strings.Join(strings.Fields(stderr.String()), " ") // the help wraps its lines
	for _, want := range []string{"--probe-public-images ask", "env AUDIT_PROBE_PUBLIC_IMAGES]", "--probe-timeout DURATION", "env AUDIT_PROBE_TIMEOUT]", "--probe-budget DURATION", "env AUDIT_PROBE_BUDGET]"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// helloResults runs the example organization and returns the findings and
// the inventory row of its image outside the organization.
func helloResults(t *testing.T, args ...string) ([]audit.Finding, audit.InventoryRow, string) {
	t.Helper()
	code, stderr, out := runCollect(t, noEnv, append([]string{"--export", "../../examples/acme"}, args...)...)
	if code != exitOK {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	var hello []audit.Finding
	for _, line := range bytes.Split(bytes.TrimSpace(readOut(t, out, "findings.jsonl")), []byte("\n")) {
		var f audit.Finding
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatal(err)
		}
		if f.Image == helloImage {
			hello = append(hello, f)
		}
	}
	var row audit.InventoryRow
	for _, line := range bytes.Split(bytes.TrimSpace(readOut(t, out, "inventory.jsonl")), []byte("\n")) {
		var r audit.InventoryRow
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if r.Image == helloImage {
			row = r
		}
	}
	if row.Image == "" {
		t.Fatalf("no inventory row for %s", helloImage)
	}
	return hello, row, stderr
}

// The example organization's cloudrun/container/hello, outside the
// organization: public where the registry serves it anonymously,
// unverified where it refuses, cannot be reached, or is not asked.
func TestProbeExampleOrganization(t *testing.T) {
	private, err := sampleRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer private.Close()
	private.Private("cloudrun/container", registryfake.DenyManifest)
	slow, err := sampleRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Slow("cloudrun", 3*time.Second)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens: an offline laptop's refused connection

	tests := []struct {
		name     string
		registry string // REGISTRY_EMULATOR_HOST; "" keeps TestMain's public one
		args     []string
		verdict  audit.Verdict
		reason   string // in the finding, or in the row's note when public
		log      string
	}{
		{"public", "", nil, audit.VerdictPublic, "(HTTP 200): the repository is public, so anyone can read it", `"public":1`},
		{"refused", private.Addr(), nil, audit.VerdictUnverified, "Anonymous registry probe: an anonymous request for the manifest of " + helloImage + ":latest was refused (HTTP 403)", `"not_public":1`},
		{"slow", slow.Addr(), []string{"--probe-timeout", "200ms"}, audit.VerdictUnverified, "timed out after 200ms: whether it is public is unknown", `"unknown":1`},
		{"offline", closed, nil, audit.VerdictUnverified, "failed (", `"unknown":1`},
		{"not asked", "", []string{"--probe-public-images=false"}, audit.VerdictUnverified, "cannot be verified.", "were not probed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.registry != "" {
				t.Setenv(imageprobe.EmulatorHostEnv, tc.registry)
			}
			start := time.Now()
			fs, row, stderr := helloResults(t, tc.args...)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("run took %s", d)
			}
			if row.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", row.Verdict, tc.verdict)
			}
			text := row.Note
			if tc.verdict == audit.VerdictPublic {
				if len(fs) != 0 {
					t.Errorf("public image has findings: %+v", fs)
				}
			} else {
				if len(fs) != 1 || fs[0].Kind != audit.ImageOutsideOrganization {
					t.Fatalf("findings %+v, want one %s", fs, audit.ImageOutsideOrganization)
				}
				text = fs[0].Reason
			}
			if !strings.Contains(text, tc.reason) {
				t.Errorf("reason or note %q lacks %q", text, tc.reason)
			}
			if tc.name == "not asked" && strings.Contains(text, "probe") {
				t.Errorf("an image not probed claims a probe: %q", text)
			}
			if !strings.Contains(stderr, tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, stderr)
			}
		})
	}
}

// An interrupted run writes what it has at once: it does not wait on a
// registry. The same inventory, not interrupted, is probed.
func TestProbeSkippedWhenInterrupted(t *testing.T) {
	slow, err := sampleRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Slow("cloudrun", 500*time.Millisecond)
	t.Setenv(imageprobe.EmulatorHostEnv, slow.Addr())
	cfg, err := parseConfig([]string{"--export", "../../examples/acme"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	inv, _, err := collect(context.Background(), cfg, log, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got := probePublicImages(context.Background(), cfg, inv, log, true); got != nil {
		t.Errorf("interrupted run probed: %v", got)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("interrupted run took %s: it waited on the registry", d)
	}
	if !strings.Contains(logs.String(), "not probed for public read: the run was interrupted") {
		t.Errorf("log does not say the probe was skipped:\n%s", logs.String())
	}
	got := probePublicImages(context.Background(), cfg, inv, log, false)
	if p := got["projects/cloudrun/locations/us/repositories/container"]; !p.Public || len(got) != 1 {
		t.Errorf("not interrupted: got %v, want the one public repository", got)
	}
}
