package access

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// minIndexedMembers is the number of bound members from which a node's
// policy is indexed by member: below it, reading every member is as cheap.
const minIndexedMembers = 64

// memberIndex lists, for one node's policy, where each member is bound, so
// that a check visits only the members that can match its principal. It
// gives the same steps, in the same order, as reading every member: a
// member matches a principal only when the two are equal but for case
// (matches' first test) or when its kind is one matches decides by rule
// (allUsers, domains, groups, principal sets), and the index keeps those
// apart, visited for every principal.
type memberIndex struct {
	// exact maps a member, ASCII lower-cased, to its positions.
	exact map[string][]memberPos
	// always lists the positions of members visited for every principal:
	// the kinds matches decides by rule, and members that are not ASCII,
	// which strings.EqualFold may fold onto ASCII ones.
	always []memberPos
}

// memberPos is a member's position in a node's bound roles: the index of
// the boundRole and of the member in its binding.
type memberPos struct {
	role, member int32
}

// newMemberIndex indexes the members of roles, or returns nil when there
// are too few for an index to pay.
func newMemberIndex(roles []boundRole) *memberIndex {
	total := 0
	for _, br := range roles {
		total += len(br.b.Members)
	}
	if total < minIndexedMembers {
		return nil
	}
	mi := &memberIndex{exact: make(map[string][]memberPos, total)}
	for i, br := range roles {
		for j, m := range br.b.Members {
			pos := memberPos{int32(i), int32(j)}
			if byRule(m) || !isASCII(m) {
				mi.always = append(mi.always, pos)
				continue
			}
			k := asciiLower(m)
			mi.exact[k] = append(mi.exact[k], pos)
		}
	}
	return mi
}

// candidates returns, in binding order, the positions of the members that
// may match principal; false when principal is not ASCII and every member
// must be read.
func (mi *memberIndex) candidates(principal string) ([]memberPos, bool) {
	if !isASCII(principal) {
		return nil, false
	}
	exact := mi.exact[asciiLower(principal)]
	switch {
	case len(exact) == 0:
		return mi.always, true
	case len(mi.always) == 0:
		return exact, true
	}
	out := make([]memberPos, 0, len(exact)+len(mi.always))
	out = append(append(out, exact...), mi.always...)
	slices.SortFunc(out, func(a, b memberPos) int {
		if a.role != b.role {
			return int(a.role - b.role)
		}
		return int(a.member - b.member)
	})
	return out, true
}

// byRule reports whether matches decides bound by its kind rather than by
// equality with the principal.
func byRule(bound string) bool {
	kind, _, _ := strings.Cut(bound, ":")
	switch kind {
	case "allUsers", "allAuthenticatedUsers", "domain", "group", "principalSet":
		return true
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiLower lower-cases the ASCII letters of s; for ASCII strings,
// asciiLower(a) == asciiLower(b) exactly when strings.EqualFold(a, b).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
