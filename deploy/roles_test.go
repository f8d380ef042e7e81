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
	// Filtered marks a role the repository's copy keeps only some
	// permissions of (see scripts/rolesnapshot).
	Filtered bool `json:"filtered"`
}

// snapshot is the repository's copy of the published role definitions:
// whole, the roles deploy/ names, with every permission; known, every
// permission of any role in it.
type snapshot struct {
	whole    map[string]role
	filtered map[string]bool
	known    map[string]bool
}

// snapshotPath is made by go run ./scripts/rolesnapshot; it holds every
// permission of each role named in deploy/.
var snapshotPath = filepath.Join("..", "third_party", "iam", "predefined-roles.jsonl.gz")

func predefinedRoles(t *testing.T) snapshot {
	t.Helper()
	path := snapshotPath
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("role snapshot: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s := snapshot{whole: map[string]role{}, filtered: map[string]bool{}, known: map[string]bool{}}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		var r role
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		for _, p := range r.Perms {
			s.known[p] = true
		}
		if r.Filtered {
			s.filtered[r.Name] = true
		} else {
			s.whole[r.Name] = r
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// role returns a role with all its permissions; a role the snapshot holds
// only filtered fails the test, since a check on part of a role could pass
// wrongly.
func (s snapshot) role(t *testing.T, name string) (role, bool) {
	t.Helper()
	if r, ok := s.whole[name]; ok {
		return r, true
	}
	if s.filtered[name] {
		t.Errorf("%s is in %s without all its permissions: rerun go run ./scripts/rolesnapshot (third_party/iam/README.md)", name, snapshotPath)
	}
	return role{}, false
}

// customRole reads the permissions setup.sh gives the custom role id.
func customRole(t *testing.T, calls [][]string, id string) []string {
	t.Helper()
	for _, c := range calls {
		if strings.HasPrefix(strings.Join(c, " "), "gcloud iam roles create "+id+" ") {
			return strings.Split(flag(c, "permissions"), ",")
		}
	}
	t.Fatalf("setup.sh creates no custom role %s", id)
	return nil
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
	calls, _ := runSetup(t, "ENABLE_DENY_POLICIES=true", "ENABLE_CONFIRM=true", "ENABLE_SCC=true", "NOTIFY_TOPIC=runaudit-changes")
	custom := customRolePerms(t, calls)
	perms := map[string]map[string]bool{}
	for _, g := range grantsOf(t, calls) {
		who := identities[g.Member]
		if perms[who] == nil {
			perms[who] = map[string]bool{}
		}
		var ps []string
		if strings.HasPrefix(g.Role, "organizations/") {
			ps = customRole(t, calls, g.Role[strings.LastIndex(g.Role, "/")+1:])
		} else {
			r, ok := roles.role(t, g.Role)
			if !ok {
				if !roles.filtered[g.Role] {
					t.Errorf("%s: no such predefined role", g)
				}
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
			"securitycenter.findings.list", "securitycenter.findings.update", "securitycenter.findings.setState", // ENABLE_SCC
			"pubsub.topics.publish", // NOTIFY_TOPIC
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
	for _, p := range []string{"securitycenter.findings.setMute", "securitycenter.findings.bulkMuteUpdate", "run.jobs.update", "run.services.update", "run.jobs.run", "storage.objects.delete", "storage.objects.get", "artifactregistry.repositories.uploadArtifacts", "iam.serviceAccounts.actAs"} {
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
	for _, p := range custom {
		if !roles.known[p] {
			t.Errorf("custom role permission %s is in no predefined role: misspelt?", p)
		}
		if !strings.HasSuffix(p, ".getIamPolicy") && !slices.Contains([]string{"iam.roles.get", "iam.denypolicies.get", "iam.denypolicies.list"}, p) {
			t.Errorf("custom role permission %s is not a policy read", p)
		}
	}
}

// TestConfirmRoleReadsDenyPolicies: Policy Troubleshooter answers the deny
// state UNKNOWN_INFO to a caller that cannot read the deny policies, so the
// confirmation role holds the deny reads even when the deny-policy option
// (and its roles/iam.denyReviewer) is off.
func TestConfirmRoleReadsDenyPolicies(t *testing.T) {
	calls, _ := runSetup(t, "ENABLE_CONFIRM=true")
	custom := customRolePerms(t, calls)
	for _, p := range []string{"iam.denypolicies.get", "iam.denypolicies.list"} {
		if !slices.Contains(custom, p) {
			t.Errorf("runauditTroubleshooter lacks %s: %v", p, custom)
		}
	}
	for _, g := range grantsOf(t, calls) {
		if g.Role == "roles/iam.denyReviewer" {
			t.Errorf("%s granted without ENABLE_DENY_POLICIES", g)
		}
	}
}

// TestRoleChoicesAreMinimal records why each role is the smallest that
// does the job, by comparing it with the alternatives in the snapshot.
func TestRoleChoicesAreMinimal(t *testing.T) {
	roles := predefinedRoles(t)
	get := func(name string) role {
		r, ok := roles.role(t, name)
		if !ok {
			t.Fatalf("%s is not in %s", name, snapshotPath)
		}
		return r
	}
	has := func(r, p string) bool { return slices.Contains(get(r).Perms, p) }
	size := func(r string) int { return len(get(r).Perms) }

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
		t.Errorf("roles/run.invoker = %v, want run.jobs.run and no cancel", get("roles/run.invoker").Perms)
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
	if got := get("roles/iam.denyReviewer").Perms; !slices.Equal(got, []string{"iam.denypolicies.get", "iam.denypolicies.list"}) {
		t.Errorf("roles/iam.denyReviewer = %v", got)
	}
}
