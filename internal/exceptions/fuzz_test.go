package exceptions

import (
	"strings"
	"testing"
)

// FuzzPattern: compiling never panics; a pattern without metacharacters
// matches exactly itself; `*` alone matches anything.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"acme-*", "a?b", "[a-z]x", "[!]]", `\*`, "//run.googleapis.com/projects/*", "[", `\`} {
		f.Add(s, "acme-data")
	}
	f.Fuzz(func(t *testing.T, pat, in string) {
		p, err := compile(pat)
		if err != nil {
			return
		}
		if !strings.ContainsAny(pat, `*?[\`) && p.match(in) != (pat == in) {
			t.Errorf("literal %q matches %q = %v", pat, in, p.match(in))
		}
		if pat == "*" && !p.match(in) {
			t.Errorf("* does not match %q", in)
		}
	})
}
