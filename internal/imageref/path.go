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
	// accepts "a//b", "/a", "a-" and "..".
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// tagRE is the tag grammar of the spec; go-containerregistry accepts a
	// leading '.' or '-'.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// checkPath checks every component of a repository path.
func checkPath(path string) error {
	for c := range strings.SplitSeq(path, "/") {
		if c == "" {
			return fmt.Errorf("repository path %q has an empty component", path)
		}
		if !componentRE.MatchString(c) {
			return fmt.Errorf("repository path component %q must be lowercase letters and digits separated by '.', '_', '__' or '-'", c)
		}
	}
	return nil
}

// checkTag checks a tag; "" means no tag was written.
func checkTag(tag string) error {
	if tag != "" && !tagRE.MatchString(tag) {
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
