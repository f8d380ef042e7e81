package xlsx

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
)

// group is one row of the Remediation sheet: the actionable findings of one
// principal on one repository, fixed by one command.
//
// The key includes the command itself. The rules emit the same command for
// every finding of a (principal, repository) pair, so in practice a pair is
// one group; if they ever disagreed, the pair would show as two rows, each
// with the command its findings carry, rather than one row whose command
// does not fix all of them.
type group struct {
	Principal  string
	Repository string
	Command    string
	Kinds      []audit.Kind // distinct, sorted
	Severity   audit.Severity
	Findings   int
	// Resources counts distinct services and jobs (repositories, for
	// secret findings).
	Resources    int
	Projects     []string // distinct projects of the resources, sorted
	Examples     []string // up to maxExamples resource short names
	LastDeployer int      // findings where Principal last deployed the resource
}

// maxExamples bounds the resource names listed in a group's row.
const maxExamples = 5

// groupFindings groups the actionable findings by principal, repository and
// command, most severe and widest first.
func groupFindings(fs []audit.Finding) []group {
	idx := actionableIndices(fs)
	slices.SortFunc(idx, func(a, b int32) int {
		x, y := &fs[a], &fs[b]
		return cmp.Or(
			strings.Compare(x.Principal, y.Principal),
			strings.Compare(x.Repository, y.Repository),
			strings.Compare(x.Remediation, y.Remediation),
			strings.Compare(x.Resource, y.Resource),
		)
	})
	same := func(a, b int32) bool {
		x, y := &fs[a], &fs[b]
		return x.Principal == y.Principal && x.Repository == y.Repository && x.Remediation == y.Remediation
	}
	var groups []group
	for start := 0; start < len(idx); {
		end := start + 1
		for end < len(idx) && same(idx[start], idx[end]) {
			end++
		}
		groups = append(groups, newGroup(fs, idx[start:end]))
		start = end
	}
	slices.SortFunc(groups, func(a, b group) int {
		return cmp.Or(
			cmp.Compare(a.Severity.Rank(), b.Severity.Rank()),
			cmp.Compare(b.Resources, a.Resources),
			cmp.Compare(b.Findings, a.Findings),
			strings.Compare(a.Principal, b.Principal),
			strings.Compare(a.Repository, b.Repository),
			strings.Compare(a.Command, b.Command),
		)
	})
	return groups
}

// newGroup summarises a run of findings sorted by resource.
func newGroup(fs []audit.Finding, run []int32) group {
	first := &fs[run[0]]
	g := group{
		Principal:  first.Principal,
		Repository: first.Repository,
		Command:    first.Remediation,
		Severity:   first.Severity,
		Findings:   len(run),
		Resources:  distinctResources(fs, run),
	}
	for j, i := range run {
		f := &fs[i]
		if f.Severity.Rank() < g.Severity.Rank() {
			g.Severity = f.Severity
		}
		if f.LastDeployer {
			g.LastDeployer++
		}
		if !slices.Contains(g.Kinds, f.Kind) {
			g.Kinds = append(g.Kinds, f.Kind)
		}
		// Sorted by resource name means mostly sorted by project: compare
		// with the last one only, and compact after sorting.
		if n := len(g.Projects); n == 0 || g.Projects[n-1] != f.ProjectID {
			g.Projects = append(g.Projects, f.ProjectID)
		}
		if (j == 0 || f.Resource != fs[run[j-1]].Resource) && len(g.Examples) < maxExamples {
			g.Examples = append(g.Examples, resourceRef(f.Resource).Text)
		}
	}
	slices.Sort(g.Kinds)
	slices.Sort(g.Projects)
	g.Projects = slices.Compact(g.Projects)
	return g
}

// examplesText lists a group's resources, saying how many are not shown.
func (g group) examplesText() string {
	s := strings.Join(g.Examples, ", ")
	if more := g.Resources - len(g.Examples); more > 0 {
		s += fmt.Sprintf(", and %d more", more)
	}
	return s
}

func kindsText(ks []audit.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
