package audit

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/imageref"
	"github.com/runaudit/runaudit/internal/inventory"
)

// evaluateProbed runs the rules over base plus assets, with gaps and the
// answers of a registry probe.
func evaluateProbed(t *testing.T, gaps []inventory.Gap, probes map[string]PublicProbe, assets ...string) ([]Finding, []InventoryRow, *inventory.Inventory) {
	t.Helper()
	inv := buildCase(t, gaps, assets...)
	eng := access.New(inv, access.Predefined(), access.Options{})
	fs, rows, err := Evaluate(context.Background(), inv, eng, Options{Concurrency: 2, PublicProbes: probes})
	if err != nil {
		t.Fatal(err)
	}
	return fs, rows, inv
}

const (
	helloImg  = "us-docker.pkg.dev/cloudrun/container/hello"
	helloRepo = "projects/cloudrun/locations/us/repositories/container"
)

// An image outside the scan is PUBLIC_REGISTRY, with no finding, only when
// the registry served it to an anonymous client; a refusal, a missing
// manifest or an undecided probe keep the informational finding, and its
// reason says what the registry answered.
func TestPublicImagesOutsideTheScan(t *testing.T) {
	served := PublicProbe{Public: true, Detail: "an anonymous request for the manifest of " + helloImg + " was answered (HTTP 200): the repository is public"}
	refused := PublicProbe{Detail: "an anonymous request for the manifest of " + helloImg + " was refused (HTTP 403): the repository is not public"}
	unknown := PublicProbe{Detail: "the anonymous request for the manifest of " + helloImg + " timed out after 5s: whether it is public is unknown"}
	outside := []string{"IMAGE_OUTSIDE_SCANNED_ORGANIZATION INFO  container"}
	tests := []struct {
		name    string
		image   string
		gaps    []inventory.Gap
		probes  map[string]PublicProbe
		want    []string
		verdict Verdict
		// in is what the finding's reason (or, with no finding, the
		// inventory note) must say; out what it must not.
		in, out string
	}{
		{"not probed", helloImg, nil, nil, outside, VerdictUnverified, "cannot be verified.", "Anonymous registry probe"},
		{"served anonymously", helloImg, nil, map[string]PublicProbe{helloRepo: served}, nil, VerdictPublic, "(HTTP 200): the repository is public, so anyone can read it", ""},
		{"refused", helloImg, nil, map[string]PublicProbe{helloRepo: refused}, outside, VerdictUnverified, "Anonymous registry probe: " + refused.Detail + ".", ""},
		{"undecided probe is never public", helloImg, nil, map[string]PublicProbe{helloRepo: unknown}, outside, VerdictUnverified, "timed out after 5s", ""},
		{"another repository's answer does not apply", helloImg, nil,
			map[string]PublicProbe{"projects/cloudrun/locations/us/repositories/other": served}, outside, VerdictUnverified, "cannot be verified.", "Anonymous registry probe"},
		{"public even where the project's asset was not read",
			helloImg, []inventory.Gap{{Scope: "organizations/1", AssetType: inventory.TypeProject, ContentType: inventory.ContentResource, Reason: "PERMISSION_DENIED"}},
			map[string]PublicProbe{helloRepo: served}, nil, VerdictPublic, "is outside the scan, but an anonymous request", ""},
		{"unread project, refused: still undecided, and says what the registry said",
			helloImg, []inventory.Gap{{Scope: "organizations/1", AssetType: inventory.TypeProject, ContentType: inventory.ContentResource, Reason: "PERMISSION_DENIED"}},
			map[string]PublicProbe{helloRepo: refused}, []string{"RESOURCE_NOT_READ INFO  container"}, VerdictUnverified, "(HTTP 403)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, rows, _ := evaluateProbed(t, tc.gaps, tc.probes, serviceAsset("app", "web", "", tc.image), policy("app", "roles/run.developer", devUser))
			if got := brief(fs); !equal(got, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
			if len(rows) != 1 || rows[0].Verdict != tc.verdict {
				t.Fatalf("inventory rows %+v, want one with verdict %s", rows, tc.verdict)
			}
			text := rows[0].Note
			if len(fs) > 0 {
				text = fs[0].Reason
			}
			if !strings.Contains(text, tc.in) || (tc.out != "" && strings.Contains(text, tc.out)) {
				t.Errorf("reason or note %q: want it to contain %q and not %q", text, tc.in, tc.out)
			}
			if tc.verdict == VerdictPublic && rows[0].Findings != 0 {
				t.Errorf("public image counts %d findings", rows[0].Findings)
			}
		})
	}
}

// A probe's answer never overrides IAM inside the scan: an image in a
// scanned project is judged by its repository's policy even if the
// registry would serve it anonymously.
func TestPublicProbeIgnoredInsideTheScan(t *testing.T) {
	probes := map[string]PublicProbe{
		"projects/reg/locations/europe-west1/repositories/shared": {Public: true, Detail: "answered (HTTP 200)"},
	}
	fs, rows, _ := evaluateProbed(t, nil, probes, serviceAsset("app", "web", "", sharedImg), policy("app", "roles/run.developer", devUser), policy(shared, "roles/artifactregistry.reader", runAgent))
	want := []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM user:dev@x.example shared"}
	if got := brief(fs); !equal(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
	if len(rows) != 1 || rows[0].Verdict != VerdictAtRisk || rows[0].Note != "" {
		t.Errorf("rows %+v, want one AT_RISK without a note", rows)
	}
}

// OutsideScan lists exactly the images the rules cannot check through IAM
// for want of their project, once each.
func TestOutsideScan(t *testing.T) {
	_, _, inv := evaluateProbed(t, nil, nil,
		serviceAsset("app", "web", "", helloImg, localImg, "docker.io/library/nginx:1.27", "gcr.io/vendor/agent:2"),
		jobAsset("app", "batch", helloImg, "europe-west1-docker.pkg.dev/app/Local/Bad Ref", "us-docker.pkg.dev/vendor/tools/cli:1"),
		serviceAsset("app", "api", "", "europe-west1-docker.pkg.dev/reg/gone/x:1"),
	)
	var got []string
	for _, r := range OutsideScan(inv) {
		got = append(got, r.Raw)
	}
	slices.Sort(got)
	want := []string{"gcr.io/vendor/agent:2", helloImg, "us-docker.pkg.dev/vendor/tools/cli:1"}
	if !slices.Equal(got, want) {
		t.Errorf("OutsideScan = %q, want %q", got, want)
	}
}

// OutsideScan's shortcut (an image whose first path segment is a scanned
// project is in the scan) gives what parsing every image gives, on the
// images where the two could part: a Docker Hub image under a scanned
// project's name, a project number, a project id in capitals, a host with
// a port, a domain-scoped project, images without a path or repository.
func TestOutsideScanShortcutMatchesParsing(t *testing.T) {
	images := []string{
		"gcr.io/app/x:1", "gcr.io/vendor/x:1", "gcr.io/vendor/x:1", "app/tool:1", "docker.io/app/tool:1",
		"gcr.io/APP/x", "gcr.io/100/x", "gcr.io/400/x", "gcr.io/app", "gcr.io/app:1", "gcr.io:443/app/x", "gcr.io:443/vendor/x",
		"us-docker.pkg.dev/example.com/proj/r/i:1", "us-docker.pkg.dev/app/r/i:1", "us-docker.pkg.dev/other/r",
		"europe-west1-docker.pkg.dev/reg/shared/img@sha256:" + strings.Repeat("a", 64), "localhost:5000/app/x", "nginx",
		"eu.gcr.io/reg/team/img", "eu.gcr.io/vendor/team/img", "europe-west1-docker.pkg.dev/app/Local/Bad Ref",
	}
	orphan := strings.Replace(serviceAsset("app", "orphan", "", "gcr.io/app/y"), "projects/100", "projects/400", -1)
	inv := buildCase(t, nil, serviceAsset("app", "web", "", images[:10]...), jobAsset("reg", "batch", images[10:]...), orphan)
	if p := inv.Projects["400"]; p == nil || p.Scanned {
		t.Fatalf("project 400 = %+v: the case wants a project known but not scanned", p)
	}
	// Without the shortcut every image is parsed.
	got, want := OutsideScan(inv), outsideScan(inv, func(*inventory.Inventory, string) bool { return false })
	if !slices.EqualFunc(got, want, func(a, b imageref.Ref) bool { return a == b }) {
		t.Errorf("OutsideScan = %+v\nparsing every image gives %+v", got, want)
	}
	if len(want) < 3 {
		t.Errorf("only %d images outside the scan: the case proves little", len(want))
	}
}
