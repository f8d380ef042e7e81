package imageref

import "testing"

// BenchmarkParse parses the reference shapes an organization's Cloud Run
// resources hold, one each per iteration; every container's image is
// parsed once per run.
func BenchmarkParse(b *testing.B) {
	refs := []string{
		"us-central1-docker.pkg.dev/acme-p/app/svc:v25",
		"us-central1-docker.pkg.dev/acme-registry/shared/base@" + sha256A,
		"europe-west1-docker.pkg.dev/acme-p/app/team/checkout:v1@" + sha256A,
		"gcr.io/acme-p/img:latest",
		"docker.io/library/nginx:1.27",
	}
	for b.Loop() {
		for _, s := range refs {
			if _, err := Parse(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
