package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReadFile reads a gcloud logging read --format=json file with every
// entry shape the audit meets and checks each event.
func TestReadFile(t *testing.T) {
	evs, skips, err := ReadFile("testdata/entries.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(skips) != 1 || !strings.HasPrefix(skips[0].Where, "testdata/entries.json:327") || !strings.Contains(skips[0].Reason, "cannot tell the resource") {
		t.Errorf("skips = %+v, want the malformed entry starting at line 327", skips)
	}
	type want struct {
		resource, method, member, logged, delegates string
		src                                         Source
		outcome                                     Outcome
		imageRead                                   bool
		image, repository, operation                string
	}
	wants := []want{
		{resource: "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/checkout", method: "google.cloud.run.v1.Services.ReplaceService",
			member: "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com", logged: "gha-deployer@acme-ci.iam.gserviceaccount.com", delegates: "user:carol@acme.example",
			src: AdminActivity, outcome: Failed, imageRead: true,
			image: "europe-west1-docker.pkg.dev/acme-shared/images/checkout:1.4", repository: "projects/acme-shared/locations/europe-west1/repositories/images"},
		{resource: "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/checkout", method: "google.cloud.run.v1.Services.ReplaceService",
			member: "user:bob@acme.example", logged: "bob@acme.example", src: AdminActivity, outcome: Failed},
		{resource: "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/refunds", method: "google.cloud.run.v2.Services.UpdateService",
			member: "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com", logged: "gha-deployer@acme-ci.iam.gserviceaccount.com",
			src: AdminActivity, outcome: Pending, operation: "projects/acme-payments/locations/europe-west1/operations/op-77"},
		{resource: "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/refunds", method: "google.cloud.run.v2.Services.UpdateService",
			member: "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com", logged: "gha-deployer@acme-ci.iam.gserviceaccount.com",
			src: AdminActivity, outcome: Succeeded, operation: "projects/acme-payments/locations/europe-west1/operations/op-77"},
		{resource: "//run.googleapis.com/projects/acme-data/locations/us-central1/jobs/backfill", method: "google.cloud.run.v2.Jobs.CreateJob",
			member: "user:dave@acme.example", logged: "dave@acme.example", src: AdminActivity, outcome: Failed, imageRead: true,
			image: "us-central1-docker.pkg.dev/acme-data/jobs/backfill:5", repository: "projects/acme-data/locations/us-central1/repositories/jobs"},
		{resource: "//run.googleapis.com/projects/acme-data/locations/us-central1/workerPools/ingest", method: "google.cloud.run.v2.WorkerPools.UpdateWorkerPool",
			member: "principal://iam.googleapis.com/projects/333333333333/locations/global/workloadIdentityPools/github/subject/repo:acme/ingest:ref:refs/heads/main",
			logged: "principal://iam.googleapis.com/projects/333333333333/locations/global/workloadIdentityPools/github/subject/repo:acme/ingest:ref:refs/heads/main",
			src:    AdminActivity, outcome: Succeeded, operation: "projects/acme-data/locations/us-central1/operations/op-9"},
		{resource: "//run.googleapis.com/projects/acme-payments/locations/europe-west1/services/checkout", method: "/Services.ReplaceService",
			member: "serviceAccount:service-987654321098@serverless-robot-prod.iam.gserviceaccount.com", logged: "service-987654321098@serverless-robot-prod.iam.gserviceaccount.com",
			src: SystemEvent, outcome: Failed, imageRead: true,
			image: "europe-west1-docker.pkg.dev/acme-shared/images/checkout:1.4", repository: "projects/acme-shared/locations/europe-west1/repositories/images"},
	}
	if len(evs) != len(wants) {
		for _, e := range evs {
			t.Logf("%s %s %s", e.Resource, e.Method, e.Outcome)
		}
		t.Fatalf("%d events, want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		e := evs[i]
		got := want{resource: e.Resource, method: e.Method, member: e.Caller.Member, logged: e.Caller.Logged,
			delegates: strings.Join(e.Caller.Delegates, ","), src: e.Source, outcome: e.Outcome, imageRead: e.ImageReadFailure(), operation: e.Operation}
		if e.Failure != nil {
			got.image, got.repository = e.Failure.Image, e.Failure.Repository
		}
		if got != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if got := evs[0].Time; !got.Equal(mustTime(t, "2026-10-03T09:12:00.123456Z")) {
		t.Errorf("time = %v", got)
	}
	if evs[1].Failure == nil || evs[1].Failure.Code != 7 || evs[1].ImageReadFailure() {
		t.Errorf("actAs refusal = %+v, want code 7 and not an image read", evs[1].Failure)
	}
	if s := evs[0].Caller.String(); s != "serviceAccount:gha-deployer@acme-ci.iam.gserviceaccount.com (impersonated by user:carol@acme.example)" {
		t.Errorf("caller = %q", s)
	}
	if got := evs[4].ProjectID; got != "acme-data" {
		t.Errorf("project of a numbered v2 name with labels = %q, want the label's id", got)
	}
}

// TestReadFileOnePerLine reads the entries as a sink exports them.
func TestReadFileOnePerLine(t *testing.T) {
	arr, _, err := ReadFile("testdata/entries.json")
	if err != nil {
		t.Fatal(err)
	}
	lines, skips, err := ReadFile("testdata/entries.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if len(skips) != 0 || len(lines) != len(arr) {
		t.Fatalf("%d events, %d skips from NDJSON; want %d, 0", len(lines), len(skips), len(arr))
	}
	for i := range lines {
		if lines[i].Resource != arr[i].Resource || lines[i].InsertID != arr[i].InsertID {
			t.Errorf("event %d differs: %s %s", i, lines[i].Resource, arr[i].Resource)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"syntax.json", "[{\"insertId\": 1,\n", "syntax.json:"},
		{"text.json", "not json at all\n", "text.json:1"},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to name %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := ReadFile(filepath.Join(dir, "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Errorf("missing file: err = %v", err)
	}
	// An empty export is no events, not an error.
	p := filepath.Join(dir, "empty.json")
	os.WriteFile(p, []byte("[]\n"), 0o644)
	if evs, _, err := ReadFile(p); err != nil || len(evs) != 0 {
		t.Errorf("empty: %v %v", evs, err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name, msg         string
		imageRead         bool
		image, repo, acct string
	}{
		{"user refusal, repository from the registry's answer",
			`User must have permission to read the image, europe-docker.pkg.dev/p1/apps/api@sha256:abc. Ensure that … {"errors":[{"code":"DENIED","message":"Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource \"projects/p1/locations/europe/repositories/apps\" (or it may not exist)"}]}`,
			true, "europe-docker.pkg.dev/p1/apps/api@sha256:abc", "projects/p1/locations/europe/repositories/apps", ""},
		{"repository from the image when the message lacks it",
			"User must have permission to read the image, gcr.io/acme-shared/refunds:3. Ensure that the provided container image URL is correct",
			true, "gcr.io/acme-shared/refunds:3", "projects/acme-shared/locations/us/repositories/gcr.io", ""},
		{"service agent named",
			"Google Cloud Run Service Agent service-1@serverless-robot-prod.iam.gserviceaccount.com must have permission to read the image, us-docker.pkg.dev/p/r/i:1.",
			true, "us-docker.pkg.dev/p/r/i:1", "projects/p/locations/us/repositories/r", "service-1@serverless-robot-prod.iam.gserviceaccount.com"},
		{"downloadArtifacts denied without the sentence",
			`Permission 'artifactregistry.repositories.downloadArtifacts' denied on resource 'projects/p/locations/asia/repositories/x'`,
			true, "", "projects/p/locations/asia/repositories/x", ""},
		{"actAs is not an image read",
			"Permission 'iam.serviceaccounts.actAs' denied on service account x@p.iam.gserviceaccount.com (or it may not exist).", false, "", "", ""},
		{"run.services.update denied is not an image read",
			"Permission 'run.services.update' denied on resource 'namespaces/p/services/s' (or resource may not exist).", false, "", "", ""},
		{"downloadArtifacts granted is not a refusal",
			"artifactregistry.repositories.downloadArtifacts checked", false, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := classify(7, tc.msg)
			if f.ImageRead != tc.imageRead || f.Image != tc.image || f.Repository != tc.repo || f.Account != tc.acct {
				t.Errorf("got image read %v, image %q, repo %q, account %q", f.ImageRead, f.Image, f.Repository, f.Account)
			}
		})
	}
}

func TestPrincipalMatch(t *testing.T) {
	const pool = "iam.googleapis.com/projects/3/locations/global/workloadIdentityPools/github"
	subject := Principal{Member: "principal://" + pool + "/subject/repo:acme/ledger:ref:refs/heads/main"}
	for _, tc := range []struct {
		bound string
		c     Principal
		want  match
	}{
		{"user:a@x.example", Principal{Member: "user:a@x.example"}, yes},
		{"user:a@x.example", Principal{Member: "user:b@x.example"}, noMatch},
		{"serviceAccount:sa@p.iam.gserviceaccount.com", Principal{Member: "serviceAccount:sa@p.iam.gserviceaccount.com", Delegates: []string{"user:a@x.example"}}, yes},
		{"user:a@x.example", Principal{Member: "serviceAccount:sa@p.iam.gserviceaccount.com", Delegates: []string{"user:a@x.example"}}, noMatch},
		{"principalSet://" + pool + "/*", subject, yes},
		{"principalSet://" + pool + "/attribute.repository/acme/ledger", subject, maybe},
		{"principalSet://iam.googleapis.com/projects/3/locations/global/workloadIdentityPools/other/*", subject, noMatch},
		{"principalSet://" + pool + "/attribute.repository/acme/ledger", Principal{Member: "user:a@x.example"}, noMatch},
		{"user:a@x.example", Principal{Logged: "a@x.example"}, noMatch},
		{"group:devs@x.example", Principal{Member: "user:a@x.example"}, maybe},
		{"group:devs@x.example", subject, noMatch},
		{"domain:x.example", Principal{Member: "user:a@X.example"}, yes},
		{"domain:x.example", Principal{Member: "user:a@y.example"}, noMatch},
		{"domain:x.example", subject, noMatch},
		{"allAuthenticatedUsers", Principal{Member: "user:a@y.example"}, yes},
	} {
		if got := principalMatch(tc.bound, tc.c); got != tc.want {
			t.Errorf("principalMatch(%q, %q) = %v, want %v", tc.bound, tc.c.Member, got, tc.want)
		}
	}
}

func TestCollapse(t *testing.T) {
	evs, _, err := ReadFile("testdata/entries.json")
	if err != nil {
		t.Fatal(err)
	}
	dup := append(append([]Event{}, evs...), evs[0]) // read twice
	got := Collapse(dup)
	if len(got) != len(evs)-1 {
		t.Fatalf("%d events after collapse, want %d (the LRO's two entries one, the repeat dropped)", len(got), len(evs)-1)
	}
	var refunds []Event
	for _, e := range got {
		if strings.HasSuffix(e.Resource, "/services/refunds") {
			refunds = append(refunds, e)
		}
	}
	if len(refunds) != 1 || refunds[0].Outcome != Succeeded || !refunds[0].Time.Equal(mustTime(t, "2026-10-06T08:00:00Z")) {
		t.Errorf("refunds = %+v, want one success at the first entry's time", refunds)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Errorf("not sorted by time at %d", i)
		}
	}
}

func TestNormalize(t *testing.T) {
	evs := []Event{{ProjectID: "444444444444", Location: "us-central1", Name: "j", ResourceType: TypeJob, Resource: resourceName("444444444444", "us-central1", "jobs", "j")},
		{ProjectID: "999", Location: "l", Name: "s", ResourceType: TypeService, Resource: resourceName("999", "l", "services", "s")}}
	Normalize(evs, func(n string) (string, bool) {
		return map[string]string{"444444444444": "acme-data"}[n], n == "444444444444"
	})
	if evs[0].Resource != "//run.googleapis.com/projects/acme-data/locations/us-central1/jobs/j" || evs[0].ProjectID != "acme-data" {
		t.Errorf("normalized = %s", evs[0].Resource)
	}
	if evs[1].ProjectID != "999" {
		t.Errorf("unknown number changed: %s", evs[1].ProjectID)
	}
}
