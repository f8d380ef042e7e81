package deploy

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// role is one predefined role of the published snapshot.
type role struct {
	Name  string   `json:"name"`
	Stage string   `json:"stage"`
	Perms []string `json:"includedPermissions"`
}

// predefinedRoles reads ../shared/iam/predefined-roles.jsonl.gz, which lives
// beside the repository: skipped where it is not, except under CI.
func predefinedRoles(t *testing.T) map[string]role {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "iam", "predefined-roles.jsonl.gz")
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the role snapshot is not there: %v", err)
		}
		t.Skipf("no role snapshot: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	roles := map[string]role{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		var r role
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		roles[r.Name] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return roles
}

// customRolePerms reads the permissions setup.sh gives its custom role.
func customRolePerms(t *testing.T, calls [][]string) []string {
	t.Helper()
	for _, c := range calls {
		if strings.HasPrefix(strings.Join(c, " "), "gcloud iam roles create runauditTroubleshooter") {
			return strings.Split(flag(c, "permissions"), ",")
		}
	}
	t.Fatal("setup.sh with ENABLE_CONFIRM=true creates no runauditTroubleshooter role")
	return nil
}

// TestRolesHoldWhatEachIdentityNeeds expands every role the setup grants
// (all options on) into permissions and checks, per identity, that the
// permissions its work needs are there and that nothing it must not do is.
func TestRolesHoldWhatEachIdentityNeeds(t *testing.T) {
	roles := predefinedRoles(t)
	calls, _ := runSetup(t, "ENABLE_DENY_POLICIES=true", "ENABLE_CONFIRM=true")
	custom := customRolePerms(t, calls)
	perms := map[string]map[string]bool{}
	for _, g := range grantsOf(t, calls) {
		who := identities[g.Member]
		if perms[who] == nil {
			perms[who] = map[string]bool{}
		}
		var ps []string
		if strings.HasPrefix(g.Role, "organizations/") {
			ps = custom
		} else {
			r, ok := roles[g.Role]
			if !ok {
				t.Errorf("%s: no such predefined role", g)
				continue
			}
			if r.Stage != "GA" {
				t.Errorf("%s: role is %s, not GA", g, r.Stage)
			}
			ps = r.Perms
		}
		for _, p := range ps {
			perms[who][p] = true
		}
	}
	need := map[string][]string{
		"runtime": {
			"cloudasset.assets.listResource", "cloudasset.assets.listIamPolicy", // Cloud Asset Inventory
			"iam.roles.get", "iam.roles.list", // custom roles
			"bigquery.jobs.create", "bigquery.tables.create", "bigquery.tables.updateData",
			"bigquery.tables.getData", "bigquery.tables.delete", // staging tables, DELETE+INSERT commit
			"logging.logEntries.list",                       // Admin Activity and System Event audit logs
			"storage.objects.create",                        // the workbook
			"iam.denypolicies.list", "iam.denypolicies.get", // ENABLE_DENY_POLICIES
			"run.jobs.getIamPolicy", "resourcemanager.projects.getIamPolicy", // ENABLE_CONFIRM
		},
		"deployer": {
			"run.jobs.create", "run.jobs.update", "run.jobs.get",
			"artifactregistry.repositories.uploadArtifacts",
			// The trap the audit reports: Cloud Run checks this for the
			// deploying principal on every deploy.
			"artifactregistry.repositories.downloadArtifacts",
			"iam.serviceAccounts.actAs",
			"logging.logEntries.create",
		},
		"scheduler": {"run.jobs.run"},
	}
	for who, ps := range need {
		for _, p := range ps {
			if !perms[who][p] {
				t.Errorf("%s lacks %s", who, p)
			}
		}
	}
	// Nothing may change IAM, and the job reads the organization but
	// cannot deploy, run or delete reports.
	for who, ps := range perms {
		for p := range ps {
			if strings.HasSuffix(p, ".setIamPolicy") {
				t.Errorf("%s holds %s", who, p)
			}
		}
	}
	for _, p := range []string{"run.jobs.update", "run.services.update", "run.jobs.run", "storage.objects.delete", "storage.objects.get", "artifactregistry.repositories.uploadArtifacts", "iam.serviceAccounts.actAs"} {
		if perms["runtime"][p] {
			t.Errorf("runtime holds %s", p)
		}
	}
	for p := range perms["scheduler"] {
		if !slices.Contains([]string{"run.jobs.run", "run.routes.invoke", "run.instances.invoke"}, p) {
			t.Errorf("scheduler holds %s beyond starting the job", p)
		}
	}
	// The custom role holds only real read permissions.
	known := map[string]bool{}
	for _, r := range roles {
		for _, p := range r.Perms {
			known[p] = true
		}
	}
	for _, p := range custom {
		if !known[p] {
			t.Errorf("custom role permission %s is in no predefined role: misspelt?", p)
		}
		if !strings.HasSuffix(p, ".getIamPolicy") && p != "iam.roles.get" {
			t.Errorf("custom role permission %s is not a policy read", p)
		}
	}
}

// TestRoleChoicesAreMinimal records why each role is the smallest that
// does the job, by comparing it with the alternatives in the snapshot.
func TestRoleChoicesAreMinimal(t *testing.T) {
	roles := predefinedRoles(t)
	has := func(r, p string) bool { return slices.Contains(roles[r].Perms, p) }
	size := func(r string) int { return len(roles[r].Perms) }

	// run.developer alone cannot read images: the deployer needs writer.
	if has("roles/run.developer", "artifactregistry.repositories.downloadArtifacts") {
		t.Error("roles/run.developer now holds downloadArtifacts: writer's read half may be redundant")
	}
	if !has("roles/artifactregistry.writer", "artifactregistry.repositories.downloadArtifacts") {
		t.Error("roles/artifactregistry.writer lacks downloadArtifacts: the deployer would fail Cloud Run's check")
	}
	// run.invoker on the job: run.jobs.run without cancelling executions
	// (run.jobsExecutor adds run.executions.cancel).
	if !has("roles/run.invoker", "run.jobs.run") || has("roles/run.invoker", "run.executions.cancel") {
		t.Errorf("roles/run.invoker = %v, want run.jobs.run and no cancel", roles["roles/run.invoker"].Perms)
	}
	if !has("roles/run.jobsExecutor", "run.executions.cancel") {
		t.Error("roles/run.jobsExecutor no longer adds cancel: reconsider the scheduler's role")
	}
	// objectCreator: create only; objectUser would add read, overwrite and delete.
	for _, p := range []string{"storage.objects.delete", "storage.objects.get", "storage.objects.list"} {
		if has("roles/storage.objectCreator", p) {
			t.Errorf("roles/storage.objectCreator holds %s", p)
		}
		if !has("roles/storage.objectUser", p) {
			t.Errorf("roles/storage.objectUser lacks %s: reconsider the bucket role", p)
		}
	}
	// The custom getIamPolicy role instead of Security Reviewer.
	if size("roles/iam.securityReviewer") < 1000 {
		t.Errorf("roles/iam.securityReviewer has only %d permissions", size("roles/iam.securityReviewer"))
	}
	// Deny Reviewer is exactly the two deny-policy reads.
	if got := roles["roles/iam.denyReviewer"].Perms; !slices.Equal(got, []string{"iam.denypolicies.get", "iam.denypolicies.list"}) {
		t.Errorf("roles/iam.denyReviewer = %v", got)
	}
}
