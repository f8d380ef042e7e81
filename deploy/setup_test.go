package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Test values for setup.sh.
const (
	testProject = "acme-audit"
	testOrg     = "123456789012"
	testRegion  = "europe-west1"
)

// Identities the setup creates, by the names the checks use.
var identities = map[string]string{
	"serviceAccount:runaudit-job@" + testProject + ".iam.gserviceaccount.com":       "runtime",
	"serviceAccount:runaudit-deployer@" + testProject + ".iam.gserviceaccount.com":  "deployer",
	"serviceAccount:runaudit-scheduler@" + testProject + ".iam.gserviceaccount.com": "scheduler",
}

// grant is one IAM grant the setup made: role to member on a resource of a
// kind (organization, project, repository, dataset, bucket, job,
// serviceaccount).
type grant struct {
	Kind     string
	Resource string
	Member   string
	Role     string
}

func (g grant) String() string {
	return fmt.Sprintf("%s to %s on %s %s", g.Role, g.Member, g.Kind, g.Resource)
}

// fakeTool records each call as one line of \x1f-separated words, and
// answers "not found" to describe/show so that every create path runs.
const fakeTool = `#!/usr/bin/env bash
{ printf '%s' "$(basename "$0")"; printf '\x1f%s' "$@"; printf '\n'; } >>"$FAKE_LOG"
for a in "$@"; do
	case "$a" in describe|show) exit 1 ;; esac
done
exit 0
`

// fakeCurl records its call like fakeTool and answers as the Security
// Command Center API answers organizations.sources.create.
const fakeCurl = `#!/usr/bin/env bash
{ printf '%s' "$(basename "$0")"; printf '\x1f%s' "$@"; printf '\n'; } >>"$FAKE_LOG"
printf '{\n  "name": "organizations/` + testOrg + `/sources/5550001",\n  "displayName": "runaudit"\n}\n'
`

// runSetup runs deploy/setup.sh with gcloud and bq replaced by recorders
// and returns the commands it ran and its output.
func runSetup(t *testing.T, env ...string) ([][]string, string) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	bin := t.TempDir()
	for _, tool := range []string{"gcloud", "bq"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(fakeTool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "curl"), []byte(fakeCurl), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "calls")
	cmd := exec.Command("bash", "deploy/setup.sh")
	cmd.Dir = ".."
	cmd.Env = append([]string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"FAKE_LOG=" + log,
		"PROJECT_ID=" + testProject,
		"ORG_ID=" + testOrg,
		"REGION=" + testRegion,
	}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		calls = append(calls, strings.Split(line, "\x1f"))
	}
	return calls, string(out)
}

// flag returns the value of --name=value in args.
func flag(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

var grantSQL = regexp.MustCompile("^GRANT `([^`]+)` ON SCHEMA `([^`]+)` TO \"([^\"]+)\"$")

// grantsOf reads the IAM grants out of recorded gcloud and bq calls.
func grantsOf(t *testing.T, calls [][]string) []grant {
	t.Helper()
	var out []grant
	for _, c := range calls {
		words := strings.Join(c, " ")
		switch {
		case c[0] == "bq" && strings.Contains(words, " query ") && strings.Contains(words, "GRANT "):
			m := grantSQL.FindStringSubmatch(c[len(c)-1])
			if m == nil {
				t.Fatalf("unparsed GRANT: %q", c[len(c)-1])
			}
			out = append(out, grant{Kind: "dataset", Resource: m[2], Member: m[3], Role: m[1]})
		case c[0] == "gcloud" && slices.Contains(c, "add-iam-policy-binding"):
			i := slices.Index(c, "add-iam-policy-binding")
			g := grant{Resource: c[i+1], Member: flag(c, "member"), Role: flag(c, "role")}
			switch strings.Join(c[1:i], " ") {
			case "organizations":
				g.Kind = "organization"
			case "projects":
				g.Kind = "project"
			case "artifacts repositories":
				g.Kind = "repository"
				g.Resource = flag(c, "project") + "/" + flag(c, "location") + "/" + g.Resource
			case "storage buckets":
				g.Kind = "bucket"
			case "run jobs":
				g.Kind = "job"
				g.Resource = flag(c, "project") + "/" + flag(c, "region") + "/" + g.Resource
			case "iam service-accounts":
				g.Kind = "serviceaccount"
			case "pubsub topics":
				g.Kind = "topic"
				g.Resource = flag(c, "project") + "/" + g.Resource
			default:
				t.Fatalf("unknown binding command %q", words)
			}
			out = append(out, g)
		case strings.Contains(words, "set-iam-policy"):
			t.Fatalf("setup replaces a whole policy: %q", words)
		}
	}
	return out
}

// allowed is every grant the deployment may make: who, which role, on
// which kind of resource, whether always made, and why. The why is
// docs/deploy.md's table.
var allowed = []struct {
	Who, Role, Kind string
	Always          bool
	Why             string
}{
	{"runtime", "roles/cloudasset.viewer", "organization", true, "list assets and IAM policies organization-wide"},
	{"runtime", "roles/iam.roleViewer", "organization", true, "expand custom roles"},
	{"runtime", "roles/logging.viewer", "organization", true, "read Admin Activity and System Event audit logs"},
	{"runtime", "roles/bigquery.dataEditor", "dataset", true, "create tables and views, write rows, in the one dataset"},
	{"runtime", "roles/bigquery.jobUser", "project", true, "run load and query jobs"},
	{"runtime", "roles/storage.objectCreator", "bucket", true, "upload reports, without read or delete"},
	{"runtime", "roles/iam.denyReviewer", "organization", false, "read deny policies (ENABLE_DENY_POLICIES)"},
	{"runtime", "organizations/" + testOrg + "/roles/runauditTroubleshooter", "organization", false, "getIamPolicy for Policy Troubleshooter (ENABLE_CONFIRM)"},
	{"runtime", "organizations/" + testOrg + "/roles/runauditSccWriter", "organization", false, "write findings to the SCC source, never mute (ENABLE_SCC)"},
	{"runtime", "roles/pubsub.publisher", "topic", false, "publish change notices to the one topic (NOTIFY_TOPIC)"},
	{"deployer", "roles/run.developer", "project", true, "create and update the job"},
	{"deployer", "roles/iam.serviceAccountUser", "serviceaccount", true, "actAs the runtime service account only"},
	{"deployer", "roles/artifactregistry.writer", "repository", true, "push, and downloadArtifacts that Cloud Run checks on deploy"},
	{"deployer", "roles/logging.logWriter", "project", true, "build logs"},
	{"scheduler", "roles/run.invoker", "job", true, "run.jobs.run on the one job"},
}

// forbiddenRole matches roles no part of the deployment may hold: basic
// roles and administrator roles.
var forbiddenRole = regexp.MustCompile(`^roles/(owner|editor|viewer|browser)$|(?i)admin$|^roles/iam\.securityReviewer$`)

// checkGrants returns every grant outside the allow-list or scoped wider
// than its own resource, and every required grant missing.
func checkGrants(gs []grant, optional bool) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	resource := map[string]string{
		"organization":   testOrg,
		"project":        testProject,
		"repository":     testProject + "/" + testRegion + "/runaudit",
		"dataset":        testProject + ".runaudit",
		"bucket":         "gs://" + testProject + "-runaudit-reports",
		"job":            testProject + "/" + testRegion + "/runaudit",
		"serviceaccount": "runaudit-job@" + testProject + ".iam.gserviceaccount.com",
		"topic":          testProject + "/runaudit-changes",
	}
	seen := map[int]bool{}
	for _, g := range gs {
		who := identities[g.Member]
		if who == "" {
			bad("grant to %s, which is not one of the deployment's identities", g)
			continue
		}
		if forbiddenRole.MatchString(g.Role) {
			bad("forbidden role: %s", g)
		}
		i := slices.IndexFunc(allowed, func(a struct {
			Who, Role, Kind string
			Always          bool
			Why             string
		}) bool {
			return a.Who == who && a.Role == g.Role
		})
		if i < 0 {
			bad("grant not in the allow-list: %s", g)
			continue
		}
		if a := allowed[i]; g.Kind != a.Kind || g.Resource != resource[a.Kind] {
			bad("%s: allowed only on %s %s", g, a.Kind, resource[a.Kind])
		}
		seen[i] = true
	}
	for i, a := range allowed {
		if (a.Always || optional) && !seen[i] {
			bad("missing grant: %s to %s on the %s (%s)", a.Role, a.Who, a.Kind, a.Why)
		}
		if !a.Always && !optional && seen[i] {
			bad("optional grant made without being asked for: %s to %s", a.Role, a.Who)
		}
	}
	return errs
}

func TestSetupGrants(t *testing.T) {
	for _, optional := range []bool{false, true} {
		t.Run(fmt.Sprintf("optional=%v", optional), func(t *testing.T) {
			var env []string
			if optional {
				env = []string{"ENABLE_DENY_POLICIES=true", "ENABLE_CONFIRM=true", "ENABLE_SCC=true", "NOTIFY_TOPIC=runaudit-changes"}
			}
			calls, out := runSetup(t, env...)
			gs := grantsOf(t, calls)
			for _, err := range checkGrants(gs, optional) {
				t.Error(err)
			}
			// Every grant is announced with its reason.
			for _, g := range gs {
				if !regexp.MustCompile(`(?m)^# grant ` + regexp.QuoteMeta(g.Role) + ` to ` + regexp.QuoteMeta(g.Member) + ` on \S+: \S.{20,}$`).MatchString(out) {
					t.Errorf("no reason printed for %s", g)
				}
			}
		})
	}
}

// TestGrantChecksFire changes the recorded grants in each way the checks
// guard against.
func TestGrantChecksFire(t *testing.T) {
	calls, _ := runSetup(t)
	base := grantsOf(t, calls)
	deployer := "serviceAccount:runaudit-deployer@" + testProject + ".iam.gserviceaccount.com"
	runtime := "serviceAccount:runaudit-job@" + testProject + ".iam.gserviceaccount.com"
	tests := []struct {
		name   string
		change func([]grant) []grant
		want   string
	}{
		{"basic role", func(gs []grant) []grant {
			return append(gs, grant{"project", testProject, deployer, "roles/editor"})
		}, "forbidden role"},
		{"admin role", func(gs []grant) []grant {
			return append(gs, grant{"organization", testOrg, runtime, "roles/run.admin"})
		}, "forbidden role"},
		{"writer on the project", func(gs []grant) []grant {
			for i := range gs {
				if gs[i].Role == "roles/artifactregistry.writer" {
					gs[i].Kind, gs[i].Resource = "project", testProject
				}
			}
			return gs
		}, "allowed only on repository"},
		{"invoker on the project", func(gs []grant) []grant {
			for i := range gs {
				if gs[i].Role == "roles/run.invoker" {
					gs[i].Kind, gs[i].Resource = "project", testProject
				}
			}
			return gs
		}, "allowed only on job"},
		{"no registry read for the deployer", func(gs []grant) []grant {
			return slices.DeleteFunc(gs, func(g grant) bool { return g.Role == "roles/artifactregistry.writer" })
		}, "missing grant: roles/artifactregistry.writer"},
		{"stranger", func(gs []grant) []grant {
			return append(gs, grant{"bucket", "gs://x", "user:someone@example.com", "roles/storage.objectCreator"})
		}, "not one of the deployment's identities"},
		{"unlisted role", func(gs []grant) []grant {
			return append(gs, grant{"project", testProject, runtime, "roles/secretmanager.secretAccessor"})
		}, "not in the allow-list"},
		{"optional without asking", func(gs []grant) []grant {
			return append(gs, grant{"organization", testOrg, runtime, "roles/iam.denyReviewer"})
		}, "optional grant made"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := checkGrants(tc.change(slices.Clone(base)), false)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("no error mentions %q; got %v", tc.want, errs)
		})
	}
}

// TestSetupBuildAndSchedule checks the commands around the grants: the
// first build runs as the deployer with substitutions cloudbuild.yaml
// defines, and Cloud Scheduler calls the job's run method as the
// scheduler's account.
func TestSetupBuildAndSchedule(t *testing.T) {
	calls, _ := runSetup(t)
	cb := loadCloudBuild(t)
	var build, sched []string
	for _, c := range calls {
		w := strings.Join(c, " ")
		if strings.HasPrefix(w, "gcloud builds submit") {
			build = c
		}
		if strings.HasPrefix(w, "gcloud scheduler jobs create http") {
			sched = c
		}
	}
	if build == nil {
		t.Fatal("setup.sh does not run the first build")
	}
	if got, want := flag(build, "service-account"), "projects/"+testProject+"/serviceAccounts/runaudit-deployer@"+testProject+".iam.gserviceaccount.com"; got != want {
		t.Errorf("build runs as %q, want %q", got, want)
	}
	if flag(build, "config") != "cloudbuild.yaml" {
		t.Errorf("build config %q", flag(build, "config"))
	}
	for _, kv := range strings.Split(flag(build, "substitutions"), ",") {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := cb.Substitutions[k]; !ok {
			t.Errorf("setup.sh passes substitution %s, which cloudbuild.yaml does not define", k)
		}
	}
	for _, k := range []string{"_ORG", "_BUCKET", "_REGION", "_DATASET", "_REPOSITORY"} {
		if !strings.Contains(","+flag(build, "substitutions"), ","+k+"=") {
			t.Errorf("setup.sh does not pass %s to the build", k)
		}
	}
	if sched == nil {
		t.Fatal("setup.sh creates no Cloud Scheduler job")
	}
	want := map[string]string{
		"uri":                         "https://run.googleapis.com/v2/projects/" + testProject + "/locations/" + testRegion + "/jobs/runaudit:run",
		"http-method":                 "POST",
		"oauth-service-account-email": "runaudit-scheduler@" + testProject + ".iam.gserviceaccount.com",
		"oauth-token-scope":           "https://www.googleapis.com/auth/cloud-platform",
		"location":                    testRegion,
	}
	for k, v := range want {
		if got := flag(sched, k); got != v {
			t.Errorf("scheduler --%s=%q, want %q", k, got, v)
		}
	}
	// The invoker grant on the job follows the build that creates the job.
	bi, ii := -1, -1
	for i, c := range calls {
		w := strings.Join(c, " ")
		if strings.HasPrefix(w, "gcloud builds submit") {
			bi = i
		}
		if strings.HasPrefix(w, "gcloud run jobs add-iam-policy-binding") {
			ii = i
		}
	}
	if ii < bi {
		t.Errorf("run.invoker is granted on the job (call %d) before the build creates it (call %d)", ii, bi)
	}
}

func TestSetupRequiresOrganization(t *testing.T) {
	cmd := exec.Command("bash", "deploy/setup.sh")
	cmd.Dir = ".."
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PROJECT_ID=" + testProject, "ORG_ID=acme.example"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "numeric organization id") {
		t.Errorf("setup.sh with ORG_ID=acme.example: %v\n%s", err, out)
	}
}
