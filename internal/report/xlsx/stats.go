package xlsx

import (
	"cmp"
	"slices"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
)

// The workbook's numbers are computed here, free of I/O. Large inputs are
// handled with sorted index slices rather than maps keyed by strings: a
// million findings then cost a few megabytes of indices, not hundreds of
// megabytes of map buckets.

// nSev is the number of severity columns; index nSev counts severities
// outside audit.Severities.
var nSev = len(audit.Severities)

// kindRow counts one kind's findings by severity.
type kindRow struct {
	Kind       audit.Kind
	BySeverity []int // len nSev+1, the last for unknown severities
	Total      int
	New        int // since the baseline
	Resolved   int // since the baseline
}

// projectRow counts one project's findings.
type projectRow struct {
	Project    string
	Actionable int
	All        int
	Resources  int // distinct services/jobs/repositories with actionable findings
}

// principalRow counts one principal's actionable findings.
type principalRow struct {
	Principal  string
	Findings   int
	Resources  int // distinct services/jobs/repositories
	Commands   int // remediation groups, i.e. commands to run
	Severity   audit.Severity
	LastDeploy int // findings where the principal last deployed the resource
}

// stats is everything the Summary sheet shows about the findings.
type stats struct {
	Kinds      []kindRow // actionable kinds first, then by total
	BySeverity []int     // len nSev+1
	Total      int
	Actionable int
	Projects   []projectRow   // by actionable, then all findings
	Principals []principalRow // by findings
	// Baseline comparison; meaningful only when HaveBaseline.
	HaveBaseline bool
	New          int
	Resolved     int
}

// severityIndex maps a severity to its column; unknown ones share the last.
func severityIndex(s audit.Severity) int { return s.Rank() }

// order returns the indices of fs sorted as the Findings sheet lists them:
// most severe first, then kind, project, resource, principal, repository.
func order(fs []audit.Finding) []int32 {
	idx := make([]int32, len(fs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		x, y := &fs[a], &fs[b]
		return cmp.Or(
			cmp.Compare(x.Severity.Rank(), y.Severity.Rank()),
			cmp.Compare(actionRank(x.Kind), actionRank(y.Kind)),
			strings.Compare(string(x.Kind), string(y.Kind)),
			strings.Compare(x.ProjectID, y.ProjectID),
			strings.Compare(x.Resource, y.Resource),
			strings.Compare(x.Principal, y.Principal),
			strings.Compare(x.Repository, y.Repository),
			strings.Compare(x.FindingID, y.FindingID),
		)
	})
	return idx
}

func actionRank(k audit.Kind) int {
	if k.Actionable() {
		return 0
	}
	return 1
}

// baselineDiff compares finding ids. It returns the current ids sorted (for
// lookups), the baseline ids sorted, and the indices into base of findings
// that are no longer reported.
type baselineDiff struct {
	cur, base []string
	resolved  []int32
}

func diffBaseline(cur, base []audit.Finding) baselineDiff {
	var d baselineDiff
	d.cur = sortedIDs(cur)
	d.base = sortedIDs(base)
	for i := range base {
		if !contains(d.cur, base[i].FindingID) {
			d.resolved = append(d.resolved, int32(i))
		}
	}
	return d
}

// isNew reports whether a current finding is absent from the baseline.
func (d baselineDiff) isNew(id string) bool { return !contains(d.base, id) }

func sortedIDs(fs []audit.Finding) []string {
	ids := make([]string, len(fs))
	for i := range fs {
		ids[i] = fs[i].FindingID
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func contains(sorted []string, s string) bool {
	_, ok := slices.BinarySearch(sorted, s)
	return ok
}

// computeStats counts the findings for the Summary sheet. groups are the
// remediation groups (for the commands per principal); d is used only when
// haveBaseline.
func computeStats(fs []audit.Finding, groups []group, haveBaseline bool, base []audit.Finding, d baselineDiff, topN int) stats {
	s := stats{BySeverity: make([]int, nSev+1), Total: len(fs), HaveBaseline: haveBaseline}
	kinds := map[audit.Kind]*kindRow{}
	kind := func(k audit.Kind) *kindRow {
		r := kinds[k]
		if r == nil {
			r = &kindRow{Kind: k, BySeverity: make([]int, nSev+1)}
			kinds[k] = r
		}
		return r
	}
	projects := map[string]*projectRow{}
	for i := range fs {
		f := &fs[i]
		si := severityIndex(f.Severity)
		s.BySeverity[si]++
		k := kind(f.Kind)
		k.BySeverity[si]++
		k.Total++
		p := projects[f.ProjectID]
		if p == nil {
			p = &projectRow{Project: f.ProjectID}
			projects[f.ProjectID] = p
		}
		p.All++
		if f.Kind.Actionable() {
			s.Actionable++
			p.Actionable++
		}
		if haveBaseline && d.isNew(f.FindingID) {
			s.New++
			k.New++
		}
	}
	if haveBaseline {
		for _, i := range d.resolved {
			s.Resolved++
			kind(base[i].Kind).Resolved++
		}
	}
	for _, k := range kinds {
		s.Kinds = append(s.Kinds, *k)
	}
	slices.SortFunc(s.Kinds, func(a, b kindRow) int {
		return cmp.Or(
			cmp.Compare(actionRank(a.Kind), actionRank(b.Kind)),
			cmp.Compare(b.Total, a.Total),
			strings.Compare(string(a.Kind), string(b.Kind)),
		)
	})

	// Distinct resources per project and per principal, from one sort of
	// the actionable findings by (principal, resource) and one by
	// (project, resource).
	act := actionableIndices(fs)
	sortBy(fs, act, func(f *audit.Finding) string { return f.ProjectID })
	eachRun(fs, act, func(f *audit.Finding) string { return f.ProjectID }, func(run []int32) {
		projects[fs[run[0]].ProjectID].Resources = distinctResources(fs, run)
	})
	for _, p := range projects {
		s.Projects = append(s.Projects, *p)
	}
	slices.SortFunc(s.Projects, func(a, b projectRow) int {
		return cmp.Or(cmp.Compare(b.Actionable, a.Actionable), cmp.Compare(b.All, a.All), strings.Compare(a.Project, b.Project))
	})
	if len(s.Projects) > topN {
		s.Projects = s.Projects[:topN]
	}

	commands := map[string]int{}
	for _, g := range groups {
		commands[g.Principal]++
	}
	sortBy(fs, act, func(f *audit.Finding) string { return f.Principal })
	eachRun(fs, act, func(f *audit.Finding) string { return f.Principal }, func(run []int32) {
		f := &fs[run[0]]
		r := principalRow{Principal: f.Principal, Findings: len(run), Resources: distinctResources(fs, run), Commands: commands[f.Principal], Severity: f.Severity}
		for _, i := range run {
			if fs[i].Severity.Rank() < r.Severity.Rank() {
				r.Severity = fs[i].Severity
			}
			if fs[i].LastDeployer {
				r.LastDeploy++
			}
		}
		s.Principals = append(s.Principals, r)
	})
	slices.SortFunc(s.Principals, func(a, b principalRow) int {
		return cmp.Or(
			cmp.Compare(b.Findings, a.Findings),
			cmp.Compare(a.Severity.Rank(), b.Severity.Rank()),
			cmp.Compare(b.Resources, a.Resources),
			strings.Compare(a.Principal, b.Principal),
		)
	})
	if len(s.Principals) > topN {
		s.Principals = s.Principals[:topN]
	}
	return s
}

func actionableIndices(fs []audit.Finding) []int32 {
	var idx []int32
	for i := range fs {
		if fs[i].Kind.Actionable() {
			idx = append(idx, int32(i))
		}
	}
	return idx
}

// sortBy sorts idx by key, then by resource, so that runs of one key hold
// their resources together.
func sortBy(fs []audit.Finding, idx []int32, key func(*audit.Finding) string) {
	slices.SortFunc(idx, func(a, b int32) int {
		return cmp.Or(strings.Compare(key(&fs[a]), key(&fs[b])), strings.Compare(fs[a].Resource, fs[b].Resource))
	})
}

// eachRun calls fn for every maximal run of idx with the same key.
func eachRun(fs []audit.Finding, idx []int32, key func(*audit.Finding) string, fn func([]int32)) {
	for start := 0; start < len(idx); {
		k := key(&fs[idx[start]])
		end := start + 1
		for end < len(idx) && key(&fs[idx[end]]) == k {
			end++
		}
		fn(idx[start:end])
		start = end
	}
}

// distinctResources counts resources in a run sorted by resource.
func distinctResources(fs []audit.Finding, run []int32) int {
	n := 0
	for j, i := range run {
		if j == 0 || fs[i].Resource != fs[run[j-1]].Resource {
			n++
		}
	}
	return n
}
