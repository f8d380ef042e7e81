package imageref

import "strings"

// The matchers below decide exactly what the grammar's regexps (projectRE,
// locationRE, domainRE, hostRE) do, without the regexp engine: every image
// of every service is parsed, and their backtracking was over a third of
// the parse (TestMatchersAgreeWithTheGrammar and its fuzz target hold the
// two equal).

// validLabel reports whether s is a DNS-style label: lowercase letters,
// digits and hyphens, starting and ending with a letter or digit (with a
// letter, when letterFirst).
func validLabel(s string, letterFirst bool) bool {
	if s == "" || s[len(s)-1] == '-' {
		return false
	}
	if letterFirst && !('a' <= s[0] && s[0] <= 'z') || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// validProjectID reports whether s matches projectRE (and locationRE,
// the same grammar).
func validProjectID(s string) bool { return validLabel(s, true) }

// validDomain reports whether s matches domainRE: two or more labels.
func validDomain(s string) bool {
	n := 0
	for label := range strings.SplitSeq(s, ".") {
		if !validLabel(label, false) {
			return false
		}
		n++
	}
	return n >= 2
}

// validHost reports whether s matches hostRE: DNS labels or a bracketed
// IPv6 address, then an optional port of one to five digits.
func validHost(s string) bool {
	var port string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 {
			return false
		}
		for i := 1; i < end; i++ {
			if c := s[i]; !('a' <= c && c <= 'f' || '0' <= c && c <= '9' || c == ':') {
				return false
			}
		}
		rest := s[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		port = rest[1:]
	} else {
		name, p, hasPort := strings.Cut(s, ":")
		for label := range strings.SplitSeq(name, ".") {
			if !validLabel(label, false) {
				return false
			}
		}
		if !hasPort {
			return true
		}
		port = p
	}
	if port == "" || len(port) > 5 {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

// validRepositoryID reports whether s matches repositoryIDRE: a label of
// at most 63 characters, starting with a letter.
func validRepositoryID(s string) bool { return len(s) <= 63 && validLabel(s, true) }
