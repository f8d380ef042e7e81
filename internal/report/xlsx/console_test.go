package xlsx

import "testing"

func TestResourceRef(t *testing.T) {
	for _, tc := range []struct {
		name string
		want ref
	}{
		{"//run.googleapis.com/projects/acme-prod/locations/europe-west1/services/web",
			ref{"web", "https://console.cloud.google.com/run/detail/europe-west1/web/revisions?project=acme-prod"}},
		{"//run.googleapis.com/projects/acme-prod/locations/us-central1/jobs/nightly",
			ref{"nightly", "https://console.cloud.google.com/run/jobs/details/us-central1/nightly/executions?project=acme-prod"}},
		// Worker pools: their short name, unlinked.
		{"//run.googleapis.com/projects/acme-prod/locations/us-central1/workerPools/consumer", ref{Text: "consumer"}},
		// Secret findings name the repository.
		{"//artifactregistry.googleapis.com/projects/shared/locations/europe/repositories/hub-mirror",
			ref{"hub-mirror", "https://console.cloud.google.com/artifacts/docker/shared/europe/hub-mirror?project=shared"}},
		// Legacy domain-scoped project ids keep their colon and dot.
		{"//run.googleapis.com/projects/example.com:legacy/locations/us-east1/services/s",
			ref{"s", "https://console.cloud.google.com/run/detail/us-east1/s/revisions?project=example.com:legacy"}},
		// Not linked: other collections, wrong shapes, unsafe characters.
		{"//run.googleapis.com/projects/p/locations/l/revisions/r", ref{Text: "//run.googleapis.com/projects/p/locations/l/revisions/r"}},
		{"//run.googleapis.com/projects/p/services/s", ref{Text: "//run.googleapis.com/projects/p/services/s"}},
		{"//run.googleapis.com/projects/p/locations/l/services/s/extra", ref{Text: "//run.googleapis.com/projects/p/locations/l/services/s/extra"}},
		{`//run.googleapis.com/projects/p/locations/l/services/a"b`, ref{Text: `//run.googleapis.com/projects/p/locations/l/services/a"b`}},
		{"//run.googleapis.com/projects/p/locations/l/services/a?x=1", ref{Text: "//run.googleapis.com/projects/p/locations/l/services/a?x=1"}},
		{"//run.googleapis.com/projects//locations/l/services/s", ref{Text: "//run.googleapis.com/projects//locations/l/services/s"}},
		{"//storage.googleapis.com/bucket", ref{Text: "//storage.googleapis.com/bucket"}},
		{"", ref{}},
	} {
		if got := resourceRef(tc.name); got != tc.want {
			t.Errorf("resourceRef(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestRepositoryRef(t *testing.T) {
	for _, tc := range []struct {
		name string
		want ref
	}{
		{"projects/shared/locations/us/repositories/gcr.io",
			ref{"projects/shared/locations/us/repositories/gcr.io", "https://console.cloud.google.com/artifacts/docker/shared/us/gcr.io?project=shared"}},
		{"projects/shared/locations/us/secrets/x", ref{Text: "projects/shared/locations/us/secrets/x"}},
		{"projects/shared/locations/us/repositories/a b", ref{Text: "projects/shared/locations/us/repositories/a b"}},
		{"", ref{}},
	} {
		if got := repositoryRef(tc.name); got != tc.want {
			t.Errorf("repositoryRef(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestHyperlinkFormula(t *testing.T) {
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		r    ref
		want string
	}{
		{ref{"web", "https://x/y"}, `HYPERLINK("https://x/y","web")`},
		{ref{`a"b`, "https://x/y"}, `HYPERLINK("https://x/y","a""b")`},
		{ref{Text: "web"}, ""},
		{ref{"web", "https://x/" + string(long)}, ""}, // over Excel's 255-character argument limit
	} {
		if got := hyperlinkFormula(tc.r); got != tc.want {
			t.Errorf("hyperlinkFormula(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
