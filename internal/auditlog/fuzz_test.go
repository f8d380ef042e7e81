package auditlog

import (
	"strings"
	"testing"
)

// FuzzClassify: any message classifies without panic; a message without
// the image-read sentence or a downloadArtifacts denial is never an image
// read, and what is parsed out of it comes from the message.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"User must have permission to read the image, europe-docker.pkg.dev/p/r/i:1. Ensure …",
		`Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/p/locations/l/repositories/r"`,
		"Permission 'iam.serviceaccounts.actAs' denied on service account a@p.iam.gserviceaccount.com",
		"x@y must have permission to read the image, ",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		fl := classify(7, msg)
		lower := strings.ToLower(msg)
		if fl.ImageRead && !strings.Contains(lower, "must have permission to read the image") &&
			!(strings.Contains(lower, "artifactregistry.repositories.downloadartifacts") && strings.Contains(lower, "denied")) {
			t.Errorf("image read without its message: %q", msg)
		}
		if !fl.ImageRead && (fl.Image != "" || fl.Repository != "") {
			t.Errorf("not an image read, yet image %q repository %q", fl.Image, fl.Repository)
		}
		if fl.Image != "" && !strings.Contains(msg, fl.Image) {
			t.Errorf("image %q not in the message", fl.Image)
		}
		if fl.Repository != "" && !strings.HasPrefix(fl.Repository, "projects/") {
			t.Errorf("repository %q", fl.Repository)
		}
	})
}

// FuzzParseEntries: any bytes give events, skips or an error, never a
// panic, and every event names a Cloud Run resource.
func FuzzParseEntries(f *testing.F) {
	f.Add([]byte(`[{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"google.cloud.run.v1.Services.ReplaceService","resourceName":"namespaces/p/services/s"},"resource":{"type":"cloud_run_revision","labels":{"location":"l"}}}]`))
	f.Add([]byte("{}\n{\"protoPayload\":1}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _, err := parseEntries("fuzz.json", b)
		if err != nil {
			return
		}
		for _, e := range evs {
			if !strings.HasPrefix(e.Resource, "//run.googleapis.com/projects/") || e.ResourceType == "" {
				t.Errorf("event without a resource: %+v", e)
			}
		}
	})
}
