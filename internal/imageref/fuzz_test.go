package imageref

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
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

// FuzzDigestAsNewDigest holds Parse's digest checks to the library: a
// reference with one '@' that name.NewDigest rejects is rejected by Parse
// with NewDigest's error (Parse checks the digest and parses the rest
// itself, asking NewDigest only when a check fails). Where NewDigest
// accepts, Parse goes on as for any reference.
func FuzzDigestAsNewDigest(f *testing.F) {
	d := "@" + sha256A
	for _, s := range []string{
		"nginx" + d, "docker.io/library/nginx:1.27" + d,
		"us-central1-docker.pkg.dev/p/app/img:v1" + d,
		"gcr.io/p/img@sha256:abc", "gcr.io/p/img@sha256:" + strings.Repeat("A", 64),
		"gcr.io/p/img@md5:" + strings.Repeat("a", 32), "gcr.io/p/img@",
		"gcr.io/p/img@sha512:" + strings.Repeat("a", 128), "gcr.io/p/img@sha384:" + strings.Repeat("b", 96),
		"gcr.io/p/img@sha256+b64u:" + strings.Repeat("c", 43), "localhost:5000/a" + d,
		"Gcr.IO/p/img" + d, "gcr.io/p/img:t" + d + "x",
		// Docker Hub's implied "library/" takes a name of 248-255
		// characters past the repository limit only in NewDigest's second
		// parse.
		strings.Repeat("a", 248) + d, "docker.io/" + strings.Repeat("a", 250) + ":v1" + d,
		strings.Repeat("a", 247) + d, strings.Repeat("a", 256) + d,
		// The rest does not parse as a tag: NewDigest's message, not the
		// tag parse's.
		"gcr.io/p/IMG" + d, "Nginx" + d, "gcr.io/p/img:" + d, "gcr.io/p/img:bad+tag" + d,
		"gcr.io/p/img:" + strings.Repeat("a", 129) + d, "x.io:99999999/p/img" + d,
		"0aa\xc6\x03\xe8\xc70A0000000@sha256:" + strings.Repeat("0", 64),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || strings.ContainsFunc(s, unicode.IsSpace) || strings.Contains(s, "://") {
			return // refused before any digest is looked at
		}
		norm := lowerHost(s)
		if strings.Count(norm, "@") != 1 {
			return
		}
		_, libErr := name.NewDigest(norm)
		_, err := Parse(s)
		if libErr != nil {
			want := invalidWrap(s, libErr).Error()
			if err == nil || err.Error() != want {
				t.Fatalf("Parse(%q) = %v, want NewDigest's error %q", s, err, want)
			}
		}
	})
}
