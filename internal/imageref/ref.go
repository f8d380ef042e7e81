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
	if hasDigest {
		if strings.Contains(digest, "@") {
			return Ref{}, invalidf(s, "more than one '@'")
		}
		// name.NewDigest checks the digest with go-digest, then parses the
		// rest twice more; once it parses as a tag (below) NewDigest
		// accepts exactly the digests go-digest does
		// (FuzzDigestCheckMatchesNewDigest), so only its check is made,
		// and NewDigest is asked only for its message.
		if godigest.Digest(digest).Validate() != nil {
			_, err := name.NewDigest(norm)
			if err == nil {
				err = fmt.Errorf("invalid digest %q", digest)
			}
			return Ref{}, invalidWrap(s, err)
		}
	}
	t, err := name.NewTag(base, name.WithDefaultTag(""))
	if err != nil {
		if d := diagnose(base); d != nil {
			return Ref{}, invalidWrap(s, d)
		}
		return Ref{}, invalidWrap(s, err)
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
