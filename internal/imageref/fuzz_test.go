package imageref

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	godigest "github.com/opencontainers/go-digest"
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

// FuzzDigestCheckMatchesNewDigest holds Parse's digest shortcut to the
// library: for a reference with one '@' whose part before it parses as a
// tag, name.NewDigest accepts the whole reference exactly when go-digest
// accepts the digest, and Parse agrees with both.
func FuzzDigestCheckMatchesNewDigest(f *testing.F) {
	for _, s := range []string{
		"nginx@" + sha256A, "docker.io/library/nginx:1.27@" + sha256A,
		"us-central1-docker.pkg.dev/p/app/img:v1@" + sha256A,
		"gcr.io/p/img@sha256:abc", "gcr.io/p/img@sha256:" + strings.Repeat("A", 64),
		"gcr.io/p/img@md5:" + strings.Repeat("a", 32), "gcr.io/p/img@",
		"gcr.io/p/img@sha512:" + strings.Repeat("a", 128), "gcr.io/p/img@sha384:" + strings.Repeat("b", 96),
		"gcr.io/p/img@sha256+b64u:" + strings.Repeat("c", 43), "localhost:5000/a@sha256:" + strings.Repeat("0", 64),
		"Gcr.IO/p/img@" + sha256A, "gcr.io/p/img:t@" + sha256A + "x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm := lowerHost(s)
		base, dig, ok := strings.Cut(norm, "@")
		if !ok || strings.Contains(dig, "@") {
			return
		}
		if _, err := name.NewTag(base, name.WithDefaultTag("")); err != nil {
			return
		}
		_, libErr := name.NewDigest(norm)
		checkErr := godigest.Digest(dig).Validate()
		if (libErr == nil) != (checkErr == nil) {
			t.Fatalf("%q: name.NewDigest error %v, go-digest's check %v", norm, libErr, checkErr)
		}
		if _, err := Parse(s); libErr != nil && err == nil {
			t.Fatalf("Parse(%q) accepts a reference name.NewDigest rejects: %v", s, libErr)
		}
	})
}
