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
	s.Status = "complete"
	if !s.Complete {
		s.Status = "incomplete"
	}
	s.Findings = len(findings)
	s.Actionable, s.Undecided = 0, 0
	s.ByKind, s.BySeverity, s.ByProject = map[string]int{}, map[string]int{}, map[string]int{}
	hangs := map[string]int{}
	for _, f := range findings {
		s.ByKind[string(f.Kind)]++
		s.BySeverity[string(f.Severity)]++
		s.ByProject[f.ProjectID]++
		if f.Excepted {
			s.Excepted++
		}
		switch {
		case f.Kind.Actionable():
			s.Actionable++
		case f.Kind.Undecided():
			s.Undecided++
			for _, d := range f.DependsOn {
				hangs[d]++
			}
		}
	}
	s.UndecidedOn = topHangs(hangs, inv.Gaps, maxHangs)
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
			switch r.Kind {
			case inventory.KindJob:
				c.Jobs++
			case inventory.KindWorkerPool:
				c.WorkerPools++
			default:
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

// maxHangs bounds the causes of undecided findings the summary names.
const maxHangs = 5

// topHangs names the causes that hold the most undecided findings, with
// how to settle each.
func topHangs(hangs map[string]int, gaps []Gap, n int) []Hang {
	out := make([]Hang, 0, len(hangs))
	for on, c := range hangs {
		out = append(out, Hang{On: on, Findings: c, Fix: settle(on, gaps)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Findings != out[j].Findings {
			return out[i].Findings > out[j].Findings
		}
		return out[i].On < out[j].On
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// settle says in one line how to decide what on names.
func settle(on string, gaps []Gap) string {
	kind, _, _ := strings.Cut(on, ":")
	switch kind {
	case "group":
		return "pass --groups FILE or resolve groups with Cloud Identity (--resolve-groups)"
	case "gap":
		for _, g := range gaps {
			if gapRef(&g) == on && g.Fix != "" {
				return g.Fix
			}
		}
		return "close the scan gap and run again"
	case "condition":
		return "a condition over tags or request attributes is not decided offline: --confirm asks Policy Troubleshooter"
	case "role":
		return "refresh the role table from the IAM API (go run ./internal/access/rolegen -from-api)"
	case "deny":
		return "pass --deny-policies FILE or --read-deny-policies"
	case "principalSet", "principal":
		return "membership hangs on the identity provider: --confirm asks Policy Troubleshooter"
	}
	return "--confirm asks Policy Troubleshooter"
}
