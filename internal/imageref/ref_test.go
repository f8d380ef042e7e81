package imageref

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

var (
	sha256A = "sha256:" + strings.Repeat("a", 64)
	sha512B = "sha512:" + strings.Repeat("b", 128)
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		// Artifact Registry: regions, multi-regions, nested images.
		{"us-central1-docker.pkg.dev/my-proj/app/checkout", Ref{Class: ArtifactRegistry, Registry: "us-central1-docker.pkg.dev", Project: "my-proj", Location: "us-central1", Repository: "app", Image: "checkout", Tag: "latest"}},
		{"asia-northeast1-docker.pkg.dev/my-proj/app/team/checkout:v1.2", Ref{Class: ArtifactRegistry, Registry: "asia-northeast1-docker.pkg.dev", Project: "my-proj", Location: "asia-northeast1", Repository: "app", Image: "team/checkout", Tag: "v1.2"}},
		{"us-docker.pkg.dev/my-proj/app/a/b/c", Ref{Class: ArtifactRegistry, Registry: "us-docker.pkg.dev", Project: "my-proj", Location: "us", Repository: "app", Image: "a/b/c", Tag: "latest"}},
		{"europe-docker.pkg.dev/my-proj/app/img@" + sha256A, Ref{Class: ArtifactRegistry, Registry: "europe-docker.pkg.dev", Project: "my-proj", Location: "europe", Repository: "app", Image: "img", Digest: sha256A}},
		{"asia-docker.pkg.dev/my-proj/app/img:v1@" + sha256A, Ref{Class: ArtifactRegistry, Registry: "asia-docker.pkg.dev", Project: "my-proj", Location: "asia", Repository: "app", Image: "img", Tag: "v1", Digest: sha256A}},
		{"us-docker.pkg.dev/my-proj/app/img@" + sha512B, Ref{Class: ArtifactRegistry, Registry: "us-docker.pkg.dev", Project: "my-proj", Location: "us", Repository: "app", Image: "img", Digest: sha512B}},
		// Domain-scoped project ids are written domain/project in paths.
		{"us-docker.pkg.dev/example.com/my-proj/app/team/checkout:v1", Ref{Class: ArtifactRegistry, Registry: "us-docker.pkg.dev", Project: "example.com:my-proj", Location: "us", Repository: "app", Image: "team/checkout", Tag: "v1"}},
		{"us-docker.pkg.dev/corp.example.co.uk/p1/app/img", Ref{Class: ArtifactRegistry, Registry: "us-docker.pkg.dev", Project: "corp.example.co.uk:p1", Location: "us", Repository: "app", Image: "img", Tag: "latest"}},
		// gcr.io-named repositories addressed through the AR host.
		{"us-docker.pkg.dev/my-proj/gcr.io/img", Ref{Class: ArtifactRegistry, Registry: "us-docker.pkg.dev", Project: "my-proj", Location: "us", Repository: "gcr.io", Image: "img", Tag: "latest"}},
		{"europe-docker.pkg.dev/my-proj/eu.gcr.io/img:1", Ref{Class: ArtifactRegistry, Registry: "europe-docker.pkg.dev", Project: "my-proj", Location: "europe", Repository: "eu.gcr.io", Image: "img", Tag: "1"}},
		// Hosts are case-insensitive; tags keep their case.
		{"US-Central1-Docker.PKG.dev/my-proj/app/img:V1", Ref{Class: ArtifactRegistry, Registry: "us-central1-docker.pkg.dev", Project: "my-proj", Location: "us-central1", Repository: "app", Image: "img", Tag: "V1"}},

		// Container Registry hosts map to the AR repository named after them.
		{"gcr.io/my-proj/img", Ref{Class: ContainerRegistry, Registry: "gcr.io", Project: "my-proj", Location: "us", Repository: "gcr.io", Image: "img", Tag: "latest"}},
		{"us.gcr.io/my-proj/team/img:v2", Ref{Class: ContainerRegistry, Registry: "us.gcr.io", Project: "my-proj", Location: "us", Repository: "us.gcr.io", Image: "team/img", Tag: "v2"}},
		{"eu.gcr.io/my-proj/img@" + sha256A, Ref{Class: ContainerRegistry, Registry: "eu.gcr.io", Project: "my-proj", Location: "europe", Repository: "eu.gcr.io", Image: "img", Digest: sha256A}},
		{"asia.gcr.io/my-proj/img:t@" + sha256A, Ref{Class: ContainerRegistry, Registry: "asia.gcr.io", Project: "my-proj", Location: "asia", Repository: "asia.gcr.io", Image: "img", Tag: "t", Digest: sha256A}},
		{"gcr.io/example.com/my-proj/img", Ref{Class: ContainerRegistry, Registry: "gcr.io", Project: "example.com:my-proj", Location: "us", Repository: "gcr.io", Image: "img", Tag: "latest"}},
		{"eu.gcr.io/google.com/cloudsdktool/sdk:slim", Ref{Class: ContainerRegistry, Registry: "eu.gcr.io", Project: "google.com:cloudsdktool", Location: "europe", Repository: "eu.gcr.io", Image: "sdk", Tag: "slim"}},
		{"GCR.IO/my-proj/img", Ref{Class: ContainerRegistry, Registry: "gcr.io", Project: "my-proj", Location: "us", Repository: "gcr.io", Image: "img", Tag: "latest"}},
		{"gcr.io:443/my-proj/img", Ref{Class: ContainerRegistry, Registry: "gcr.io:443", Project: "my-proj", Location: "us", Repository: "gcr.io", Image: "img", Tag: "latest"}},

		// Other *.gcr.io hosts are Google-run public registries.
		{"mirror.gcr.io/library/busybox", Ref{Class: Public, Registry: "mirror.gcr.io", Image: "library/busybox", Tag: "latest"}},
		{"k8s.gcr.io/pause:3.9", Ref{Class: Public, Registry: "k8s.gcr.io", Image: "pause", Tag: "3.9"}},
		{"marketplace.gcr.io/google/nginx1", Ref{Class: Public, Registry: "marketplace.gcr.io", Image: "google/nginx1", Tag: "latest"}},
		// Docker Hub shorthand.
		{"nginx", Ref{Class: Public, Registry: "index.docker.io", Image: "library/nginx", Tag: "latest"}},
		{"library/nginx:1.25", Ref{Class: Public, Registry: "index.docker.io", Image: "library/nginx", Tag: "1.25"}},
		{"docker.io/nginx", Ref{Class: Public, Registry: "index.docker.io", Image: "library/nginx", Tag: "latest"}},
		{"index.docker.io/bitnami/redis:7.2@" + sha256A, Ref{Class: Public, Registry: "index.docker.io", Image: "bitnami/redis", Tag: "7.2", Digest: sha256A}},
		{"nginx@" + sha256A, Ref{Class: Public, Registry: "index.docker.io", Image: "library/nginx", Digest: sha256A}},
		// Other public hosts.
		{"ghcr.io/owner/app:main", Ref{Class: Public, Registry: "ghcr.io", Image: "owner/app", Tag: "main"}},
		{"quay.io/prometheus/node-exporter", Ref{Class: Public, Registry: "quay.io", Image: "prometheus/node-exporter", Tag: "latest"}},
		{"registry.k8s.io/pause:3.9", Ref{Class: Public, Registry: "registry.k8s.io", Image: "pause", Tag: "3.9"}},
		// Private registries with ports.
		{"localhost:5000/foo/bar:1.0", Ref{Class: Public, Registry: "localhost:5000", Image: "foo/bar", Tag: "1.0"}},
		{"localhost/foo", Ref{Class: Public, Registry: "localhost", Image: "foo", Tag: "latest"}},
		{"LocalHost:5000/foo", Ref{Class: Public, Registry: "localhost:5000", Image: "foo", Tag: "latest"}},
		{"registry.example.com:8443/team/app:v1@" + sha256A, Ref{Class: Public, Registry: "registry.example.com:8443", Image: "team/app", Tag: "v1", Digest: sha256A}},
		{"10.0.0.1:5000/x", Ref{Class: Public, Registry: "10.0.0.1:5000", Image: "x", Tag: "latest"}},
		{"[::1]:5000/foo:v", Ref{Class: Public, Registry: "[::1]:5000", Image: "foo", Tag: "v"}},
		// Path grammar edges the spec allows.
		{"ghcr.io/a__b/c_d/e.f/g--h", Ref{Class: Public, Registry: "ghcr.io", Image: "a__b/c_d/e.f/g--h", Tag: "latest"}},
		{"nginx:_x.Y-1", Ref{Class: Public, Registry: "index.docker.io", Image: "library/nginx", Tag: "_x.Y-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			tt.want.Raw = tt.in
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string // what the message must say is wrong
	}{
		{"", "empty"},
		{" nginx", "whitespace"},
		{"nginx ", "whitespace"},
		{"gcr.io/p/im g", "whitespace"},
		{"gcr.io/p/img\n", "whitespace"},
		{"https://gcr.io/p/img", "URL scheme"},
		{"http://localhost:5000/img", "URL scheme"},
		// Digests.
		{"gcr.io/p/img@sha256:abc", "digest"},
		{"gcr.io/p/img@sha256:" + strings.Repeat("A", 64), "digest"},
		{"gcr.io/p/img@md5:" + strings.Repeat("a", 32), "digest"},
		{"gcr.io/p/img@", "digest"},
		{"gcr.io/p/img@" + sha256A + "@" + sha256A, "more than one '@'"},
		// Tags.
		{"nginx:", "tag"},
		{"nginx:-x", "tag"},
		{"nginx:.x", "tag"},
		{"nginx:" + strings.Repeat("a", 129), "tag"},
		{"nginx:a/b", "registr"}, // "nginx:a" reads as a host
		// Uppercase and malformed paths.
		{"gcr.io/My-Proj/img", "must be lowercase"},
		{"us-docker.pkg.dev/p/Repo/img:V1", "must be lowercase"},
		{"Nginx", "must be lowercase"},
		{"ghcr.io/owner//app", "empty component"},
		{"ghcr.io/owner/app/", "empty component"},
		{"ghcr.io/-app", "component"},
		{"ghcr.io/app-", "component"},
		{"ghcr.io/a...b", "component"},
		{"ghcr.io/", "repository"},
		{"/nginx", "empty component"},
		// Hosts.
		{"gcr.io:/p/img", "registry host"},
		{"gcr.io:99999999/p/img", "registry"},
		{"a..b/img", "registry host"},
		{"-a.com/img", "registry host"},
		{"a_b.com/img", "registry"},
		// Artifact Registry shape.
		{"us-docker.pkg.dev/proj/image", "PROJECT/REPOSITORY/IMAGE"},
		{"us-docker.pkg.dev/proj", "PROJECT/REPOSITORY/IMAGE"},
		{"us-docker.pkg.dev/example.com/proj/repo", "PROJECT/REPOSITORY/IMAGE"},
		{"us-docker.pkg.dev/example.com", "no project id"},
		{"us-python.pkg.dev/proj/repo/pkg", "not an Artifact Registry Docker host"},
		{"docker.pkg.dev/proj/repo/img", "not an Artifact Registry Docker host"},
		{"pkg.dev/proj/repo/img", "not an Artifact Registry Docker host"},
		{"-docker.pkg.dev/proj/repo/img", "registry host"},
		{"1us-docker.pkg.dev/proj/repo/img", "location"},
		{"us-docker.pkg.dev/1proj/repo/img", "project id"},
		{"us-docker.pkg.dev/proj_x/repo/img", "project id"},
		{"us-docker.pkg.dev/proj/repo_x/img", "repository id"},
		{"us-docker.pkg.dev/proj/1repo/img", "repository id"},
		{"us-docker.pkg.dev/proj/example.com/img", "repository id"},
		{"us-docker.pkg.dev/proj/" + strings.Repeat("r", 64) + "/img", "repository id"},
		{"us-docker.pkg.dev/ex_ample.com/proj/repo/img", "domain"},
		// Container Registry shape.
		{"gcr.io/my-proj", "no image name"},
		{"gcr.io/example.com/my-proj", "no image name"},
		{"gcr.io/example.com", "no project id"},
		{"eu.gcr.io/my_proj/img", "project id"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tt.in, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", tt.in, err)
			}
			if got != (Ref{}) {
				t.Errorf("Parse(%q) returned %+v alongside an error", tt.in, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Parse(%q) error %q does not say %q", tt.in, msg, tt.wantMsg)
			}
			if tt.in != "" && !strings.Contains(msg, strconv.Quote(tt.in)) {
				t.Errorf("Parse(%q) error %q does not name the input", tt.in, msg)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nginx", "index.docker.io/library/nginx:latest"},
		{"docker.io/library/nginx@" + sha256A, "index.docker.io/library/nginx@" + sha256A},
		{"GHCR.io/o/a:V1@" + sha256A, "ghcr.io/o/a:V1@" + sha256A},
		{"localhost:5000/foo", "localhost:5000/foo:latest"},
		{"US-docker.pkg.dev/example.com/p/app/team/img:v1", "us-docker.pkg.dev/example.com/p/app/team/img:v1"},
		{"eu.gcr.io/example.com/p/img@" + sha256A, "eu.gcr.io/example.com/p/img@" + sha256A},
		{"gcr.io/p/img", "gcr.io/p/img:latest"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := r.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) of the canonical form: %v", r.String(), err)
		}
		again.Raw = r.Raw
		if again != r {
			t.Errorf("canonical form %q parses to %+v, want %+v", r.String(), again, r)
		}
	}
	if got := (Ref{}).String(); got != "" {
		t.Errorf("zero Ref String() = %q, want \"\"", got)
	}
}
