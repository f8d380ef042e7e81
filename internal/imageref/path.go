package imageref

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

var (
	// componentRE is one path component of the distribution reference
	// spec. go-containerregistry checks only the character set, so it
	// accepts "a//b", "/a", "a-" and "..". validComponent decides it
	// without the regexp engine (TestMatchersAgreeWithTheGrammar).
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// tagRE is the tag grammar of the spec; go-containerregistry accepts a
	// leading '.' or '-'. validTag decides it without the regexp engine.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// validComponent reports whether c matches componentRE: runs of lowercase
// letters and digits separated by '.', '_', '__' or dashes. Every image of
// every service is checked, and the regexp's backtracking took a tenth of
// the audit's evaluation.
func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isLowerAlnum(c[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(c) {
			return true
		}
		switch c[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// validTag reports whether tag matches tagRE.
func validTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 128 || tag[0] == '.' || tag[0] == '-' {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// checkPath checks every component of a repository path.
func checkPath(path string) error {
	for c := range strings.SplitSeq(path, "/") {
		if c == "" {
			return fmt.Errorf("repository path %q has an empty component", path)
		}
		if !validComponent(c) {
			return fmt.Errorf("repository path component %q must be lowercase letters and digits separated by '.', '_', '__' or '-'", c)
		}
	}
	return nil
}

// checkTag checks a tag; "" means no tag was written.
func checkTag(tag string) error {
	if tag != "" && !validTag(tag) {
		return fmt.Errorf("tag %q must be 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'", tag)
	}
	return nil
}

// diagnose explains the commonest reason go-containerregistry rejects a
// reference (an uppercase repository path), which its message leaves
// implicit. It returns nil when it has nothing clearer to say. base is the
// reference without its digest, host already lowercased.
func diagnose(base string) error {
	path := base
	if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '/') {
		path = path[:i] // drop the tag, which may hold uppercase
	}
	if host, rest, ok := strings.Cut(path, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		path = rest
	}
	if strings.ContainsFunc(path, unicode.IsUpper) {
		return fmt.Errorf("repository path %q must be lowercase", path)
	}
	return nil
}
