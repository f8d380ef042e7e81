package xlsx

import (
	"strings"
)

// ref is what the workbook shows for a resource or repository: a short
// display text and, when the name parses, a Cloud Console address.
type ref struct {
	Text string
	URL  string
}

// resourceRef links a finding's or inventory row's resource, the full
// CAI-style name of a Cloud Run service, job or worker pool, or of a repository for
// secret findings. Names that do not parse are shown as they are, unlinked.
func resourceRef(name string) ref {
	rest, ok := strings.CutPrefix(name, "//run.googleapis.com/")
	if ok {
		p, ok := splitPath(rest, "projects", "locations", "")
		if !ok {
			return ref{Text: name}
		}
		switch p[2] {
		case "services":
			return ref{Text: p[3], URL: "https://console.cloud.google.com/run/detail/" + p[1] + "/" + p[3] + "/revisions?project=" + p[0]}
		case "jobs":
			return ref{Text: p[3], URL: "https://console.cloud.google.com/run/jobs/details/" + p[1] + "/" + p[3] + "/executions?project=" + p[0]}
		case "workerPools":
			return ref{Text: p[3]} // no console address is documented for worker pools: the name alone
		}
		return ref{Text: name}
	}
	if rest, ok := strings.CutPrefix(name, "//artifactregistry.googleapis.com/"); ok {
		r := repositoryRef(rest)
		if r.URL == "" {
			return ref{Text: name}
		}
		return ref{Text: lastSegment(rest), URL: r.URL}
	}
	return ref{Text: name}
}

// repositoryRef links projects/PROJECT_ID/locations/L/repositories/R. The
// text stays the full name: it is the repository's identity in the findings
// contract, and what a reviewer filters and searches on.
func repositoryRef(name string) ref {
	p, ok := splitPath(name, "projects", "locations", "repositories")
	if !ok {
		return ref{Text: name}
	}
	return ref{Text: name, URL: "https://console.cloud.google.com/artifacts/docker/" + p[0] + "/" + p[1] + "/" + p[3] + "?project=" + p[0]}
}

// splitPath parses "projects/P/locations/L/KIND/N" into P, L, KIND, N.
// kind may be empty to accept any collection. Every part must be a safe
// name (see safeName): the parts end up in URLs and in formula literals.
func splitPath(s, projects, locations, kind string) ([4]string, bool) {
	var out [4]string
	parts := strings.Split(s, "/")
	if len(parts) != 6 || parts[0] != projects || parts[2] != locations || (kind != "" && parts[4] != kind) {
		return out, false
	}
	out = [4]string{parts[1], parts[3], parts[4], parts[5]}
	for _, v := range out {
		if !safeName(v) {
			return out, false
		}
	}
	return out, true
}

func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// safeName accepts the characters Google Cloud allows in project ids
// (including legacy "domain.com:project" ids), locations, service, job and
// repository names. Anything else is not linked, so no URL or formula is
// ever built from unexpected text.
func safeName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// maxLinkArg is Excel's limit on a string argument of HYPERLINK.
const maxLinkArg = 255

// hyperlinkFormula returns HYPERLINK("url","text") for a ref with a URL,
// or "" when the ref cannot be linked. Quotes are doubled, the only escape
// an Excel string literal has; the URL's parts are safe names already.
func hyperlinkFormula(r ref) string {
	if r.URL == "" || len(r.URL) > maxLinkArg || len(r.Text) > maxLinkArg {
		return ""
	}
	return `HYPERLINK("` + strings.ReplaceAll(r.URL, `"`, `""`) + `","` + strings.ReplaceAll(r.Text, `"`, `""`) + `")`
}
