package deny

import (
	"strings"

	"github.com/runaudit/runaudit/internal/access"
)

// v2Name returns an audited permission in the deny-policy form
// "SERVICE.googleapis.com/RESOURCE.VERB" ("run.services.update" →
// "run.googleapis.com/services.update").
func v2Name(p access.Perm) string {
	svc, rest, _ := strings.Cut(p.String(), ".")
	return svc + ".googleapis.com/" + rest
}

// permissionMatches reports whether a deny-policy permission pattern covers
// p. Patterns are "SERVICE_FQDN/RESOURCE.VERB" where RESOURCE and VERB may
// be "*" ("run.googleapis.com/services.*", "run.googleapis.com/*.*").
func permissionMatches(pattern string, p access.Perm) bool {
	psvc, prest, ok := strings.Cut(strings.TrimSpace(pattern), "/")
	if !ok {
		return false
	}
	svc, rest, _ := strings.Cut(v2Name(p), "/")
	if psvc != svc && psvc != "*" {
		return false
	}
	pres, pverb, ok := cutLast(prest, ".")
	if !ok {
		return false
	}
	res, verb, _ := cutLast(rest, ".")
	return (pres == "*" || pres == res) && (pverb == "*" || pverb == verb)
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func anyPermission(patterns []string, p access.Perm) bool {
	for _, pat := range patterns {
		if permissionMatches(pat, p) {
			return true
		}
	}
	return false
}
