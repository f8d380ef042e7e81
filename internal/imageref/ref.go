package imageref

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
	godigest "github.com/opencontainers/go-digest"
)

// defaultTag is the tag an image reference with neither tag nor digest
// means.
const defaultTag = "latest"

// Ref is a parsed image reference.
type Ref struct {
	Raw        string // as written
	Class      Class
	Registry   string // host[:port], lowercase, e.g. "us-docker.pkg.dev", "gcr.io", "index.docker.io"
	Project    string // project id for AR/GCR (domain-scoped ids as "example.com:proj")
	Location   string // AR location: "us-central1", "us", "europe", "asia"…
	Repository string // AR repository id: "app", or "gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io"
	Image      string // path inside the repository, e.g. "team/checkout"; for Public the whole path, e.g. "library/nginx"
	Tag        string // "" when a digest is given without tag; "latest" when neither
	Digest     string // "sha256:…" or ""
}

// Parse parses and classifies an image reference as Cloud Run stores it.
// Every error wraps ErrInvalid and names the input.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, invalidf(s, "empty")
	}
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return Ref{}, invalidf(s, "whitespace at byte %d", i)
	}
	if strings.Contains(s, "://") {
		return Ref{}, invalidf(s, "must not contain a URL scheme")
	}
	norm := lowerHost(s)

	// go-containerregistry drops the tag of "repo:tag@digest", so the
	// digest is split off here and the rest parsed as a tag.
	base, digest, hasDigest := strings.Cut(norm, "@")
	if hasDigest && strings.Contains(digest, "@") {
		return Ref{}, invalidf(s, "more than one '@'")
	}
	// A digest reference is name.NewDigest's to judge, but NewDigest
	// checks the digest and then parses the rest as a tag and its
	// repository again, beside the tag parse below. Its checks are made
	// here, the tag parse shared, and NewDigest is asked for its verdict
	// only when one fails: Parse rejects what NewDigest rejects, with its
	// message (FuzzDigestAsNewDigest).
	if hasDigest && godigest.Digest(digest).Validate() != nil {
		return Ref{}, invalidWrap(s, newDigestError(norm))
	}
	t, err := name.NewTag(base, name.WithDefaultTag(""))
	if err != nil {
		if hasDigest {
			if _, err := name.NewDigest(norm); err != nil {
				return Ref{}, invalidWrap(s, err)
			}
		}
		if d := diagnose(base); d != nil {
			return Ref{}, invalidWrap(s, d)
		}
		return Ref{}, invalidWrap(s, err)
	}
	if hasDigest {
		// NewDigest's second parse: Docker Hub's implied "library/" can
		// take a repository past the length limit.
		if _, err := name.NewRepository(t.Repository.Name()); err != nil {
			return Ref{}, invalidWrap(s, err)
		}
	}

	r := Ref{
		Raw:      s,
		Registry: t.RegistryStr(),
		Tag:      t.TagStr(),
		Digest:   digest,
	}
	if r.Tag == "" && !hasDigest {
		r.Tag = defaultTag
	}
	path := t.RepositoryStr()
	if err := checkTag(t.TagStr()); err != nil {
		return Ref{}, invalidWrap(s, err)
	}
	if err := checkPath(path); err != nil {
		return Ref{}, invalidWrap(s, err)
	}
	hostname, err := splitHost(r.Registry)
	if err != nil {
		return Ref{}, invalidWrap(s, err)
	}
	if r.Class, r.Location, err = classify(hostname); err != nil {
		return Ref{}, invalidWrap(s, err)
	}

	if r.Class == Public {
		r.Image = path
		return r, nil
	}
	project, rest, err := splitProject(strings.Split(path, "/"))
	if err != nil {
		return Ref{}, invalidWrap(s, err)
	}
	r.Project = project
	if r.Class == ContainerRegistry {
		// Each gcr.io host is served by the repository named after it.
		r.Repository = hostname
	} else {
		if len(rest) < 2 {
			return Ref{}, invalidf(s, "Artifact Registry image needs PROJECT/REPOSITORY/IMAGE, got %q", path)
		}
		r.Repository, rest = rest[0], rest[1:]
		if err := checkRepositoryID(r.Repository); err != nil {
			return Ref{}, invalidWrap(s, err)
		}
	}
	if len(rest) == 0 {
		return Ref{}, invalidf(s, "no image name after project %s", project)
	}
	r.Image = strings.Join(rest, "/")
	return r, nil
}

// newDigestError is name.NewDigest's error for norm, whose digest
// go-digest has refused, as NewDigest does before anything else.
func newDigestError(norm string) error {
	if _, err := name.NewDigest(norm); err != nil {
		return err
	}
	return fmt.Errorf("invalid digest in %q", norm) // NewDigest checks the digest first: not reached
}

// String returns the canonical form of the reference: lowercase host,
// Docker Hub's implicit host and "library/" namespace written out, the
// default tag written out, tag and digest both kept. Parsing it yields the
// same Ref apart from Raw.
func (r Ref) String() string {
	if r.Registry == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(r.Registry)
	b.WriteByte('/')
	switch r.Class {
	case ArtifactRegistry:
		b.WriteString(projectPath(r.Project) + "/" + r.Repository + "/")
	case ContainerRegistry:
		b.WriteString(projectPath(r.Project) + "/")
	}
	b.WriteString(r.Image)
	if r.Tag != "" {
		b.WriteString(":" + r.Tag)
	}
	if r.Digest != "" {
		b.WriteString("@" + r.Digest)
	}
	return b.String()
}
