package auditlog

import (
	"sort"

	"github.com/runaudit/runaudit/internal/audit"
)

// Deployers says, per resource, who deployed it in the window, how often
// and when last, and whose deploys were refused for image read. Callers
// the log does not name in a mappable form are listed by what it logged.
// System Event entries have no caller and are left out. Pure.
func Deployers(events []Event) []audit.Deployer {
	type key struct{ resource, member, logged string }
	by := map[key]*audit.Deployer{}
	via := map[key]map[string]bool{}
	var keys []key
	for _, e := range events {
		if e.Source != AdminActivity {
			continue
		}
		imageRead := e.ImageReadFailure()
		if e.Outcome == Failed && !imageRead {
			continue
		}
		k := key{e.Resource, e.Caller.Member, ""}
		if k.member == "" {
			k.logged = e.Caller.Logged
		}
		d := by[k]
		if d == nil {
			d = &audit.Deployer{Resource: e.Resource, ResourceType: e.ResourceType, ProjectID: e.ProjectID, Location: e.Location,
				Principal: k.member, Logged: k.logged}
			by[k], via[k] = d, map[string]bool{}
			keys = append(keys, k)
		}
		for _, v := range e.Caller.Delegates {
			via[k][v] = true
		}
		if imageRead {
			d.ImageReadFailures++
			if e.Time.After(d.LastFailure) {
				d.LastFailure = e.Time
			}
			continue
		}
		d.Deploys++
		if e.Time.After(d.LastDeploy) {
			d.LastDeploy = e.Time
		}
	}
	out := make([]audit.Deployer, 0, len(keys))
	for _, k := range keys {
		d := by[k]
		for v := range via[k] {
			d.Via = append(d.Via, v)
		}
		sort.Strings(d.Via)
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Deploys != b.Deploys {
			return a.Deploys > b.Deploys
		}
		return a.Principal+a.Logged < b.Principal+b.Logged
	})
	return out
}
