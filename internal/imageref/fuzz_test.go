package imageref

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that every reference it
// accepts is self-consistent and survives a round trip through String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"nginx", "library/nginx:1.25", "docker.io/nginx@" + sha256A,
		"us-central1-docker.pkg.dev/my-proj/app/team/checkout:v1@" + sha256A,
		"us-docker.pkg.dev/example.com/my-proj/app/img",
		"us-docker.pkg.dev/p/gcr.io/img",
		"gcr.io/my-proj/img", "eu.gcr.io/example.com/p/img:t",
		"mirror.gcr.io/library/busybox", "localhost:5000/foo/bar:1.0",
		"[::1]:5000/foo", "US-Docker.PKG.dev/p/r/i", "us-python.pkg.dev/p/r/i",
		"gcr.io/p/img@sha256:abc", "https://gcr.io/p/i", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if r.Raw != s {
			t.Fatalf("Parse(%q).Raw = %q", s, r.Raw)
		}
		if r.Tag == "" && r.Digest == "" {
			t.Fatalf("Parse(%q) has neither tag nor digest: %+v", s, r)
		}
		if r.Registry != strings.ToLower(r.Registry) || r.Image == "" {
			t.Fatalf("Parse(%q) = %+v: registry not lowercase or no image", s, r)
		}
		switch r.Class {
		case ArtifactRegistry, ContainerRegistry:
			if r.Project == "" || r.Location == "" || r.Repository == "" || r.RepositoryName() == "" {
				t.Fatalf("Parse(%q) = %+v: Google-served image without a repository", s, r)
			}
		case Public:
			if r.Project != "" || r.Location != "" || r.Repository != "" || r.RepositoryName() != "" {
				t.Fatalf("Parse(%q) = %+v: public image with a repository", s, r)
			}
		default:
			t.Fatalf("Parse(%q) class %q", s, r.Class)
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but its canonical form %q fails: %v", s, r.String(), err)
		}
		again.Raw = r.Raw
		if again != r {
			t.Fatalf("canonical form %q of %q parses to %+v, want %+v", r.String(), s, again, r)
		}
	})
}
