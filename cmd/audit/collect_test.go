package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/grpc/codes"

	"github.com/runaudit/runaudit/internal/caifake"
	"github.com/runaudit/runaudit/internal/inventory"
)

// acmeFake serves the example organization from an in-process fake Cloud
// Asset Inventory and returns it with the environment that points the
// command at it.
func acmeFake(t *testing.T) (*caifake.Server, func(string) string) {
	t.Helper()
	srv := caifake.New(acmeAssets(t))
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, func(k string) string {
		switch k {
		case "CLOUDASSET_EMULATOR_HOST":
			return addr
		case "AUDIT_LIST_ASSETS_QPM":
			// Unpaced: the default pace (80 a minute) would make each run
			// here last about ten seconds; TestQuotaProjectReachesEveryAPI
			// runs one at the default.
			return "0"
		}
		return ""
	}
}

// runCollect runs the command and returns its exit code, stderr and output dir.
func runCollect(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	// Audit logs are read live by default; auditlogs_test.go tests that.
	args = append([]string{"--out", out, "--at", "2026-11-01T00:00:00Z", "--log-format", "json", "--audit-logs=false"}, args...)
	code := run(context.Background(), args, getenv, &stdout, &stderr)
	// The logs (stderr), then the human summary (stdout).
	return code, stderr.String() + stdout.String(), out
}

func readOut(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLiveFindsWhatTheExportFinds runs the command live against the fake
// serving the example organization and requires the very outputs the
// export run writes (and its golden files pin).
func TestLiveFindsWhatTheExportFinds(t *testing.T) {
	srv, env := acmeFake(t)
	code, stderr, live := runCollect(t, env, "--org", "123456789012")
	if code != exitOK {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	code, stderr2, export := runCollect(t, noEnv, "--export", "../../examples/acme")
	if code != exitOK {
		t.Fatalf("export run: exit code %d; stderr:\n%s", code, stderr2)
	}
	for _, name := range []string{"findings.jsonl", "inventory.jsonl"} {
		if got, want := readOut(t, live, name), readOut(t, export, name); !bytes.Equal(got, want) {
			t.Errorf("live %s differs from the export's:\n%s", name, firstDiff(string(want), string(got)))
		}
	}
	var sum map[string]any
	if err := json.Unmarshal(readOut(t, live, "summary.json"), &sum); err != nil {
		t.Fatal(err)
	}
	if sum["source"] != "live:organizations/123456789012" || sum["complete"] != true {
		t.Errorf("summary source %v complete %v", sum["source"], sum["complete"])
	}
	// The structured log reports the API calls: one per stream here.
	if !strings.Contains(stderr, `"message":"collected live"`) || !strings.Contains(stderr, `"api_calls":17`) {
		t.Errorf("no collection record with 17 API calls in the logs:\n%s", stderr)
	}
	if st := srv.Stats(); st.Calls != 17 || st.MaxPageSize != 1000 {
		t.Errorf("server stats %+v", st)
	}
}

func TestLiveGapsAndFailures(t *testing.T) {
	tests := []struct {
		name   string
		fault  caifake.Fault
		args   []string
		code   int
		stderr []string
		gaps   []inventory.Gap // Reason holds a part of the reason
	}{
		{
			name:   "a denied stream is a gap",
			fault:  caifake.Fault{AssetType: inventory.TypeRepository, ContentType: assetpb.ContentType_IAM_POLICY, Code: codes.PermissionDenied},
			args:   []string{"--org", "123456789012"},
			code:   exitPartial,
			stderr: []string{"ListAssets stream failed", "scan: INCOMPLETE", "organizations/123456789012: Artifact Registry repositories (IAM policies) not read"},
			gaps:   []inventory.Gap{{Scope: "organizations/123456789012", AssetType: inventory.TypeRepository, Reason: "IAM_POLICY content not read completely (0 page(s), 0 asset(s) read): PERMISSION_DENIED"}},
		},
		{
			name:   "a project scope missing what it inherits is a gap",
			fault:  caifake.Fault{Parent: "organizations/123456789012", ContentType: assetpb.ContentType_IAM_POLICY, Code: codes.PermissionDenied},
			args:   []string{"--project", "acme-payments"},
			code:   exitPartial,
			stderr: []string{"scan: INCOMPLETE"},
			gaps:   []inventory.Gap{{Scope: "organizations/123456789012", AssetType: inventory.TypeOrganization, Reason: "above the scope projects/acme-payments"}},
		},
		{
			name:   "nothing readable fails the run",
			fault:  caifake.Fault{Code: codes.PermissionDenied},
			args:   []string{"--folder", "555555555555"},
			code:   exitFailed,
			stderr: []string{"no ListAssets stream over folders/555555555555 could be read", "PERMISSION_DENIED"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, env := acmeFake(t)
			srv.Inject(tc.fault)
			code, stderr, out := runCollect(t, env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if tc.code == exitFailed {
				// A failed run's summary says so, and nothing else is left.
				b, err := os.ReadFile(filepath.Join(out, "summary.json"))
				if err != nil {
					t.Fatalf("a failed run wrote no summary: %v", err)
				}
				var sum struct {
					Status, Error string
					Complete      bool
				}
				if err := json.Unmarshal(b, &sum); err != nil || sum.Status != "failed" || sum.Error == "" || sum.Complete {
					t.Errorf("summary of a failed run = %s, want status failed with the error", b)
				}
				if _, err := os.Stat(filepath.Join(out, "findings.jsonl")); err == nil {
					t.Error("a failed run wrote findings")
				}
				return
			}
			var sum struct {
				Complete bool            `json:"complete"`
				Gaps     []inventory.Gap `json:"gaps"`
			}
			if err := json.Unmarshal(readOut(t, out, "summary.json"), &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Complete || len(sum.Gaps) != len(tc.gaps) {
				t.Fatalf("summary complete=%v gaps %+v, want incomplete with %d", sum.Complete, sum.Gaps, len(tc.gaps))
			}
			for i, want := range tc.gaps {
				g := sum.Gaps[i]
				if g.Scope != want.Scope || g.AssetType != want.AssetType || !strings.Contains(g.Reason, want.Reason) {
					t.Errorf("gap %+v, want %+v (reason containing)", g, want)
				}
			}
		})
	}
}

func TestCollectUsage(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--org", "1", "--export", "x"}, nil, "either --export or --org"},
		{[]string{"--org", "1", "--folder", "2"}, nil, "one live scope"},
		{[]string{"--org", "acme"}, nil, "numeric"},
		{[]string{"--project", "Bad_Project"}, nil, "project id"},
		{[]string{"--org", "1", "--streams", "0"}, nil, "--streams"},
		{[]string{"--org", "1", "--list-assets-qpm", "-1"}, nil, "--list-assets-qpm"},
		{[]string{"--export", "gs://"}, nil, "names no bucket"},
		{nil, map[string]string{"AUDIT_ORG": "1", "AUDIT_TIMEOUT": "soon"}, "AUDIT_TIMEOUT"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"--out", t.TempDir()}, tc.args...), func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tc.want)
			}
		})
	}
}

// TestExportFromCloudStorage reads the example organization from
// fake-gcs-server through STORAGE_EMULATOR_HOST, as the scheduled job reads
// an organization's nightly export.
func TestExportFromCloudStorage(t *testing.T) {
	var objects []fakestorage.Object
	for _, name := range []string{"resources.ndjson", "iam-policies.ndjson"} {
		b, err := os.ReadFile(filepath.Join("../../examples/acme", name))
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "acme-cai", Name: "nightly/" + name}, Content: b})
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: port, PublicHost: fmt.Sprintf("127.0.0.1:%d", port), InitialObjects: objects,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Setenv("STORAGE_EMULATOR_HOST", srv.URL())

	code, stderr, gcs := runCollect(t, noEnv, "--export", "gs://acme-cai/nightly")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	_, _, local := runCollect(t, noEnv, "--export", "../../examples/acme")
	if got, want := readOut(t, gcs, "findings.jsonl"), readOut(t, local, "findings.jsonl"); !bytes.Equal(got, want) {
		t.Errorf("findings from gs:// differ from the local export's:\n%s", firstDiff(string(want), string(got)))
	}
	if code, stderr, _ := runCollect(t, noEnv, "--export", "gs://acme-cai/absent"); code != exitUsage || !strings.Contains(stderr, "gs://acme-cai/absent") {
		t.Errorf("absent prefix: exit %d, stderr %s", code, stderr)
	}
}
