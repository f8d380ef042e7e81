package audit

import (
	"sort"
	"strings"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Summarize fills a Summary's counts, completeness, gaps and skipped items
// from the inventory and the findings. Run metadata (ids, times, scope) is
// the caller's.
func Summarize(s *Summary, inv *inventory.Inventory, findings []Finding) {
	s.Organization = inv.Organization
	s.Gaps = append([]Gap{}, inv.Gaps...)
	s.Skipped = append([]Skip{}, inv.Skipped...)
	s.SkippedTotal = inv.SkippedTotal
	s.Complete = len(s.Gaps) == 0
	s.Findings = len(findings)
	s.ByKind, s.BySeverity, s.ByProject = map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range findings {
		s.ByKind[string(f.Kind)]++
		s.BySeverity[string(f.Severity)]++
		s.ByProject[f.ProjectID]++
		if f.Excepted {
			s.Excepted++
		}
	}
	s.Inventory = map[string]int{}
	for k, v := range inv.Counts {
		s.Inventory[k] = v
	}
}

// Coverage lists, per project, what the scan read, sorted by project id.
func Coverage(inv *inventory.Inventory) []ProjectCoverage {
	byNum := map[string]*ProjectCoverage{}
	for num, p := range inv.Projects {
		byNum[num] = &ProjectCoverage{ProjectID: inv.ProjectID(num), ProjectNumber: num, Folders: p.Folders}
	}
	for _, n := range inv.Nodes {
		num, ok := strings.CutPrefix(n.Key, "projects/")
		if !ok {
			continue
		}
		num, _, _ = strings.Cut(num, "/")
		c := byNum[num]
		if c == nil {
			continue
		}
		if n.HasPolicy {
			c.IAMPolicies++
		}
	}
	for _, r := range inv.Runs {
		if c := byNum[r.ProjectNumber]; c != nil {
			if r.Kind == inventory.KindJob {
				c.Jobs++
			} else {
				c.Services++
			}
		}
	}
	for _, r := range inv.Repositories {
		if c := byNum[r.ProjectNumber]; c != nil {
			c.Repositories++
		}
	}
	for _, s := range inv.Secrets {
		if c := byNum[s.ProjectNumber]; c != nil {
			c.Secrets++
		}
	}
	out := make([]ProjectCoverage, 0, len(byNum))
	for num, c := range byNum {
		p := inv.Projects[num]
		if !p.Scanned {
			c.Gaps = append(c.Gaps, "the Project asset was not read: resources outside the scan may reference this project")
		}
		for _, g := range inv.Gaps {
			if g.Scope == "projects/"+num || g.Scope == "projects/"+c.ProjectID {
				c.Gaps = append(c.Gaps, strings.TrimSpace(g.AssetType+" "+g.Reason))
			}
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProjectID < out[j].ProjectID })
	return out
}
