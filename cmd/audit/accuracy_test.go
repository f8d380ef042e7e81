package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/iam/apiv2/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/confirm"
	"github.com/runaudit/runaudit/internal/confirm/confirmtest"
	"github.com/runaudit/runaudit/internal/deny/denytest"
	"github.com/runaudit/runaudit/internal/groups/groupstest"
)

// at is when the example organization is evaluated: after both of its
// time-bound grants expired.
const at = "2026-11-01T00:00:00Z"

// auditAcme runs the command on examples/acme with extra flags and returns
// its findings by brief key ("KIND principal resource repository").
func auditAcme(t *testing.T, args ...string) (map[string]audit.Finding, string) {
	t.Helper()
	fs, stderr, _ := auditAcmeExit(t, exitOK, args...)
	return fs, stderr
}

// auditAcmeExit runs the audit over examples/acme, wants exit code want,
// and returns the findings, the log and the summary's gaps.
func auditAcmeExit(t *testing.T, want int, args ...string) (map[string]audit.Finding, string, []audit.Gap) {
	t.Helper()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	all := append([]string{"--export", "../../examples/acme", "--out", out, "--log-format", "json", "--at", at}, args...)
	if code := run(context.Background(), all, noEnv, &stdout, &stderr); code != want {
		t.Fatalf("audit %v: exit %d, want %d\n%s", args, code, want, stderr.String())
	}
	var sum audit.Summary
	if b, err := os.ReadFile(filepath.Join(out, "summary.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs := map[string]audit.Finding{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var x audit.Finding
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatal(err)
		}
		fs[key(x)] = x
	}
	return fs, stderr.String(), sum.Gaps
}

func key(f audit.Finding) string {
	last := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	return strings.TrimSpace(fmt.Sprintf("%s %s %s %s", f.Kind, f.Principal, last(f.Resource), last(f.Repository)))
}

// diff lists the findings only in a and only in b.
func diff(a, b map[string]audit.Finding) (gone, added []string) {
	for k := range a {
		if _, ok := b[k]; !ok {
			gone = append(gone, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			added = append(added, k)
		}
	}
	slices.Sort(gone)
	slices.Sort(added)
	return gone, added
}

const (
	bob         = "user:bob@acme.example"
	alice       = "user:alice@acme.example"
	dave        = "user:dave@acme.example"
	gha         = "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com"
	bobSettle   = "GROUP_MEMBERSHIP_UNKNOWN " + bob + " settle app"
	bobLedger   = "GROUP_MEMBERSHIP_UNKNOWN " + bob + " ledger app"
	daveETL     = "DEPLOYER_CANNOT_READ_IMAGE " + dave + " nightly-etl base"
	aliceImages = "DEPLOYER_CANNOT_READ_IMAGE " + alice + " checkout images"
)

// aliceDenied are alice's findings once a deny rule takes every download
// from her: allUsers on public-base included, as deny overrides any grant.
var aliceDenied = []string{
	aliceImages,
	"DEPLOYER_CANNOT_READ_IMAGE " + alice + " ledger app",
	"DEPLOYER_CANNOT_READ_IMAGE " + alice + " refunds gcr.io",
	"DEPLOYER_CANNOT_READ_IMAGE " + alice + " settle app",
	"DEPLOYER_CANNOT_READ_IMAGE " + alice + " status-page public-base",
}

func TestAccuracyMechanismsTurnFindingsOnAndOff(t *testing.T) {
	base, _ := auditAcme(t)
	// Conditions are evaluated: dave's "temporary access" expired in 2025,
	// so his finding is actionable and says why.
	if f, ok := base[daveETL]; !ok || !strings.Contains(f.Reason, `under condition "temporary access" [the condition is false at 2026-11-01T00:00:00Z]`) {
		t.Fatalf("expired conditional grant: finding %q missing or reason lacks the condition: %+v", daveETL, f)
	}
	for _, k := range []string{bobSettle, bobLedger} {
		if f := base[k]; !strings.Contains(f.Reason, `"until end of 2025" [the condition is false`) {
			t.Errorf("%s: reason lacks the expired grant: %q", k, f.Reason)
		}
	}

	fakeCI := func(members ...string) string {
		srv := &groupstest.Server{Premium: true}
		srv.AddGroup("ledger-devs@acme.example", members...)
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		return strings.TrimPrefix(hs.URL, "http://")
	}
	fakeIAM := func(fail codes.Code, policies ...string) string {
		srv := &denytest.Server{PageSize: 10}
		for _, p := range policies {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			pol := &iampb.Policy{}
			if err := protojsonUnmarshal(b, pol); err != nil {
				t.Fatal(err)
			}
			srv.Add(pol)
		}
		if fail != codes.OK {
			srv.Fail = map[string]codes.Code{"cloudresourcemanager.googleapis.com%2Forganizations%2F123456789012": fail}
		}
		return srv.Start(t)
	}

	tests := []struct {
		name   string
		args   []string
		env    func() map[string]string
		gone   []string
		added  []string
		reason map[string]string // finding → a part of its reason
		gaps   []string          // the coverage gaps the run reports: "scope asset_type"
	}{
		{
			name: "a grant still in force turns findings off",
			args: []string{"--at", "2025-05-01T00:00:00Z"},
			gone: []string{bobLedger, bobSettle, daveETL},
		},
		{
			name: "a groups file that holds the principal turns findings off",
			args: []string{"--groups", "testdata/accuracy/groups-bob.json"},
			gone: []string{bobLedger, bobSettle},
		},
		{
			name:   "a groups file that does not hold the principal turns findings on",
			args:   []string{"--groups", "testdata/accuracy/groups-no-bob.csv"},
			gone:   []string{bobLedger, bobSettle},
			added:  []string{"DEPLOYER_CANNOT_READ_IMAGE " + bob + " ledger app", "DEPLOYER_CANNOT_READ_IMAGE " + bob + " settle app"},
			reason: map[string]string{"DEPLOYER_CANNOT_READ_IMAGE " + bob + " ledger app": "bound to group:ledger-devs@acme.example (group membership) [user:bob@acme.example is not a member of group:ledger-devs@acme.example (groups file testdata/accuracy/groups-no-bob.csv)]"},
		},
		{
			name: "a failing Cloud Identity leaves memberships undecided",
			args: []string{"--resolve-groups"},
			env: func() map[string]string {
				srv := &groupstest.Server{Premium: true}
				srv.Break(true)
				hs := httptest.NewServer(srv)
				t.Cleanup(hs.Close)
				return map[string]string{cloudIdentityHostEnv: strings.TrimPrefix(hs.URL, "http://")}
			},
			reason: map[string]string{bobLedger: "membership of bob@acme.example in group ledger-devs@acme.example could not be resolved: HTTP 500: backend error"},
			gaps:   []string{"organizations/123456789012 cloudidentity.googleapis.com/Group"},
		},
		{
			name:   "Cloud Identity non-membership turns findings on",
			args:   []string{"--resolve-groups"},
			env:    func() map[string]string { return map[string]string{cloudIdentityHostEnv: fakeCI(alice)} },
			gone:   []string{bobLedger, bobSettle},
			added:  []string{"DEPLOYER_CANNOT_READ_IMAGE " + bob + " ledger app", "DEPLOYER_CANNOT_READ_IMAGE " + bob + " settle app"},
			reason: map[string]string{"DEPLOYER_CANNOT_READ_IMAGE " + bob + " settle app": "bob@acme.example is not a member of ledger-devs@acme.example (Cloud Identity, transitive check, confirmed by listed memberships)"},
		},
		{
			name: "Cloud Identity membership of the principal turns findings off",
			args: []string{"--resolve-groups"},
			env:  func() map[string]string { return map[string]string{cloudIdentityHostEnv: fakeCI(alice, bob)} },
			gone: []string{bobLedger, bobSettle},
		},
		{
			name:   "a deny policy turns findings on",
			args:   []string{"--deny-policies", "testdata/accuracy/deny-alice.json"},
			added:  aliceDenied,
			reason: map[string]string{aliceImages: `it is denied by deny rule 1 of deny policy "no-pulls-for-alice" on organization 123456789012 denying principal://goog/subject/alice@acme.example`},
		},
		{
			name: "a deny policy on deploying turns findings off",
			args: []string{"--deny-policies", "testdata/accuracy/deny-ci-deploys.ndjson"},
			gone: []string{"DEPLOYER_CANNOT_READ_IMAGE " + gha + " checkout images", "DEPLOYER_CANNOT_READ_IMAGE " + gha + " refunds gcr.io"},
		},
		{
			name: "deny policies read from the IAM API",
			args: []string{"--read-deny-policies", "--deny-policies-projects", "--deny-policies-rate", "60000"},
			env: func() map[string]string {
				return map[string]string{iamHostEnv: fakeIAM(codes.OK, "testdata/accuracy/deny-alice.json")}
			},
			added:  aliceDenied,
			reason: map[string]string{aliceImages: `denied by deny rule 1 of deny policy "no-pulls-for-alice"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				for k, v := range tc.env() {
					t.Setenv(k, v)
				}
			}
			want := exitOK
			if len(tc.gaps) > 0 {
				want = exitPartial
			}
			got, stderr, gaps := auditAcmeExit(t, want, tc.args...)
			var gotGaps []string
			for _, g := range gaps {
				gotGaps = append(gotGaps, g.Scope+" "+g.AssetType)
			}
			if !slices.Equal(gotGaps, tc.gaps) {
				t.Errorf("gaps %q, want %q", gotGaps, tc.gaps)
			}
			gone, added := diff(base, got)
			slices.Sort(tc.gone)
			slices.Sort(tc.added)
			if !slices.Equal(gone, tc.gone) || !slices.Equal(added, tc.added) {
				t.Errorf("against the plain run:\n gone  %q\n want  %q\n added %q\n want  %q\n%s", gone, tc.gone, added, tc.added, stderr)
			}
			for k, part := range tc.reason {
				if !strings.Contains(got[k].Reason, part) {
					t.Errorf("%s: reason %q lacks %q", k, got[k].Reason, part)
				}
			}
		})
	}
}

func protojsonUnmarshal(b []byte, p *iampb.Policy) error {
	return protojson.Unmarshal(b, p)
}

func TestUndecidedDenyRulesAreInformational(t *testing.T) {
	base, _ := auditAcme(t)
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		reason string
		gaps   []string // "scope asset_type"
	}{
		{"a deny rule on tags", []string{"--deny-policies", "testdata/accuracy/deny-tagged.json"}, nil,
			`deny rule 1 of deny policy "prod-tagged" on folder 556666666666 denying principalSet://goog/public:all (all principals) under condition "prod repositories" [a deny rule may apply: the condition depends on resource.matchTag, which the audit cannot know]`, nil},
		{"unreadable deny policies", []string{"--read-deny-policies", "--deny-policies-projects", "--deny-policies-rate", "60000"}, nil,
			"deny policies on organization 123456789012 [a deny rule may apply: the deny policies attached to organizations/123456789012 could not be read: listing policies/cloudresourcemanager.googleapis.com%2Forganizations%2F123456789012/denypolicies: rpc error: code = PermissionDenied",
			[]string{"organizations/123456789012 iam.googleapis.com/DenyPolicy"}},
		{"project deny policies not read", []string{"--read-deny-policies", "--deny-policies-rate", "60000"}, nil,
			"a deny rule may apply: the deny policies attached to projects/",
			// The projects above a checked resource, each named.
			[]string{"projects/222222222222 iam.googleapis.com/DenyPolicy", "projects/444444444444 iam.googleapis.com/DenyPolicy", "projects/987654321098 iam.googleapis.com/DenyPolicy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.name {
			case "unreadable deny policies":
				srv := &denytest.Server{Fail: map[string]codes.Code{"cloudresourcemanager.googleapis.com%2Forganizations%2F123456789012": codes.PermissionDenied}}
				t.Setenv(iamHostEnv, srv.Start(t))
			case "project deny policies not read":
				t.Setenv(iamHostEnv, (&denytest.Server{}).Start(t))
			}
			want := exitOK
			if len(tc.gaps) > 0 {
				want = exitPartial
			}
			got, _, gaps := auditAcmeExit(t, want, tc.args...)
			var gotGaps []string
			for _, g := range gaps {
				gotGaps = append(gotGaps, g.Scope+" "+g.AssetType)
			}
			if !slices.Equal(gotGaps, tc.gaps) {
				t.Errorf("gaps %q, want %q", gotGaps, tc.gaps)
			}
			// No gap disappears: an undecided deny cannot create access. A
			// deployer whose deploy permission may be denied is no longer a
			// sure deployer: its finding stays, as undecided.
			same := func(a, b audit.Finding) bool {
				return a.Principal == b.Principal && a.Resource == b.Resource && a.Repository == b.Repository
			}
			for k, f := range base {
				if !f.Kind.Actionable() {
					continue
				}
				kept := false
				for _, g := range got {
					kept = kept || same(f, g) && (g.Kind == f.Kind || g.Kind == audit.DenyNotEvaluable)
				}
				if !kept {
					t.Errorf("actionable finding %s disappeared", k)
				}
			}
			var informational int
			for _, f := range got {
				if f.Kind == audit.DenyNotEvaluable {
					informational++
					if f.Severity != audit.Info || !strings.Contains(f.Reason, "Undecided grants are not counted as access") {
						t.Errorf("%s: %s %q", key(f), f.Severity, f.Reason)
					}
				}
			}
			if informational == 0 {
				t.Fatalf("no %s finding", audit.DenyNotEvaluable)
			}
			found := false
			for _, f := range got {
				found = found || strings.Contains(f.Reason, tc.reason)
			}
			if !found {
				t.Errorf("no reason contains %q", tc.reason)
			}
		})
	}
}

func TestConfirmRecordsVerdicts(t *testing.T) {
	k := confirmtest.Key
	srv := &confirmtest.Server{Default: confirmtest.CannotAccess, Access: map[string]confirmtest.State{
		// gha-deployer can deploy checkout and cannot read images: confirmed.
		k("gha-deployer@acme-ci.iam.gserviceaccount.com", "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/checkout", "run.services.update"): confirmtest.CanAccess,
		// carol can read images after all: contradicted.
		k("carol@acme.example", "//artifactregistry.googleapis.com/projects/acme-shared/locations/europe-west1/repositories/images", "artifactregistry.repositories.downloadArtifacts"): confirmtest.CanAccess,
	}}
	t.Setenv(troubleshooterEnv, srv.Start(t))
	got, stderr := auditAcme(t, "--confirm", "--confirm-rate", "60000")
	want := map[string]string{
		"DEPLOYER_CANNOT_READ_IMAGE " + gha + " checkout images":                                                                                                                            confirm.Confirmed,
		"DEPLOYER_CANNOT_READ_IMAGE user:carol@acme.example checkout images":                                                                                                                confirm.Contradicted,
		"DEPLOYER_CANNOT_READ_IMAGE user:bob@acme.example checkout images":                                                                                                                  confirm.Contradicted, // cannot deploy either way
		"SERVICE_AGENT_CANNOT_READ_IMAGE serviceAccount:service-987654321098@serverless-robot-prod.iam.gserviceaccount.com checkout images":                                                 confirm.Confirmed,
		"REMOTE_REPO_SECRET_INACCESSIBLE serviceAccount:service-222222222222@gcp-sa-artifactregistry.iam.gserviceaccount.com hub-mirror hub-mirror":                                         confirm.Confirmed,
		"DEPLOYER_CANNOT_READ_IMAGE principalSet://iam.googleapis.com/projects/333333333333/locations/global/workloadIdentityPools/github/attribute.repository/acme/ledger checkout images": confirm.Unknown,
		bobLedger: "",
	}
	for key, verdict := range want {
		f, ok := got[key]
		if !ok {
			t.Errorf("no finding %s", key)
			continue
		}
		if f.Confirmation != verdict {
			t.Errorf("%s: confirmation %q, want %q (%s)", key, f.Confirmation, verdict, f.Reason)
		}
	}
	if r := got["DEPLOYER_CANNOT_READ_IMAGE user:carol@acme.example checkout images"].Reason; !strings.Contains(r, "Policy Troubleshooter: carol@acme.example holds artifactregistry.repositories.downloadArtifacts on //artifactregistry.googleapis.com/projects/acme-shared/locations/europe-west1/repositories/images.") {
		t.Errorf("contradicted reason: %q", r)
	}
	for _, f := range got {
		if f.Kind.Actionable() != (f.Confirmation != "") {
			t.Errorf("%s: confirmation %q; every actionable finding and no other gets one", key(f), f.Confirmation)
		}
	}
	if !strings.Contains(stderr, `"message":"findings checked with Policy Troubleshooter"`) {
		t.Errorf("no log line with the confirmation counts:\n%s", stderr)
	}
	for _, r := range srv.Requests() {
		if got := r.GetAccessTuple().GetConditionContext().GetRequest().GetReceiveTime().AsTime().Format("2006-01-02T15:04:05Z"); got != at {
			t.Errorf("troubleshooter asked at %s, want the audit's --at %s", got, at)
		}
	}
}

func TestAccuracyConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"projects without reading", []string{"--deny-policies-projects"}, nil, exitUsage, "--deny-policies-projects needs --read-deny-policies"},
		{"file and live deny", []string{"--deny-policies", "x.json", "--read-deny-policies"}, nil, exitUsage, "not both"},
		{"zero rate", []string{"--confirm-rate", "0"}, nil, exitUsage, "--confirm-rate must be positive"},
		{"bad groups file", []string{"--groups", "testdata/accuracy/groups-bad.csv"}, nil, exitFailed, `testdata/accuracy/groups-bad.csv:3: member`},
		{"groups file from the environment", nil, map[string]string{"AUDIT_GROUPS": "testdata/accuracy/groups-bad.csv"}, exitFailed, "groups-bad.csv:3"},
		{"missing deny file", []string{"--deny-policies", "testdata/accuracy/absent.json"}, nil, exitFailed, "reading deny policies"},
		{"bool from the environment", nil, map[string]string{"AUDIT_DENY_POLICIES_PROJECTS": "true"}, exitUsage, "needs --read-deny-policies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--export", "../../examples/acme", "--out", t.TempDir(), "--log-format", "text"}, tc.args...)
			code := run(context.Background(), args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.code, tc.want, stderr.String())
			}
		})
	}
}
