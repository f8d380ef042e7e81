package auditlog

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

// Log evidence on a finding.
const (
	// Confirmed: deploys by the finding's principal were refused for image
	// read and not followed by a successful one.
	Confirmed = "CONFIRMED_BY_LOGS"
	// Resolved: refusals were followed by a successful deploy of the same
	// resource by the same principal.
	Resolved = "RESOLVED_IN_LOGS"
	// NotInLogs: the logs were read and hold no such refusal in the window;
	// the finding predicts the next deploy, not a past one.
	NotInLogs = "NOT_IN_LOGS"
	// Undecided: the logs of the resource's project could not be read.
	Undecided = "UNDECIDED"
)

// Deployer activity on a finding.
const (
	Active  = "ACTIVE"
	Dormant = "DORMANT"
)

// Evidence is what the logs hold, for Join.
type Evidence struct {
	// Events are the collapsed deploy events, projects as ids.
	Events []Event
	// Read holds the project ids whose logs were read; AllRead says a log
	// view covering every project was.
	Read    map[string]bool
	AllRead bool
	// Since and Until bound the window read.
	Since, Until time.Time
	// Project describes a project by id for the findings Join creates; nil
	// or !ok leaves those fields empty.
	Project func(id string) (number string, folders []string, organization string, ok bool)
}

func (ev *Evidence) readable(project string) bool { return ev.AllRead || ev.Read[project] }

// Stats sums up a join.
type Stats struct {
	Confirmed, Resolved, Created, Active, Dormant, Undecided int
}

// match is how sure a log caller is the principal a finding names.
type match int

const (
	noMatch match = iota
	maybe         // same workload identity pool, attribute mapping not in the log
	yes
)

// principalMatch compares the member a finding names with a logged caller.
// A principal:// subject is in principalSet://…/POOL/* for certain; in an
// attribute or group set of the same pool only perhaps, since the log
// does not carry the attributes. A user or service account is in a
// domain: member by its email's domain, in a group: only perhaps (the
// log does not carry memberships), and in allUsers and
// allAuthenticatedUsers always.
func principalMatch(bound string, c Principal) match {
	if c.Member == "" {
		return noMatch
	}
	if c.Member == bound || bound == "allUsers" || bound == "allAuthenticatedUsers" {
		return yes
	}
	email := ""
	if _, e, ok := strings.Cut(c.Member, ":"); ok && !strings.HasPrefix(c.Member, "principal://") {
		email = e
	}
	if d, ok := strings.CutPrefix(bound, "domain:"); ok {
		if email != "" && strings.EqualFold(email[strings.LastIndex(email, "@")+1:], d) {
			return yes
		}
		return noMatch
	}
	if strings.HasPrefix(bound, "group:") {
		if email != "" {
			return maybe
		}
		return noMatch
	}
	set, ok := strings.CutPrefix(bound, "principalSet://")
	if !ok || !strings.HasPrefix(c.Member, "principal://") {
		return noMatch
	}
	if pool, ok := strings.CutSuffix(set, "/*"); ok {
		if strings.HasPrefix(c.Member, "principal://"+pool+"/subject/") {
			return yes
		}
		return noMatch
	}
	for _, marker := range []string{"/attribute.", "/group/"} {
		if i := strings.Index(set, marker); i > 0 && strings.HasPrefix(c.Member, "principal://"+set[:i]+"/subject/") {
			return maybe
		}
	}
	return noMatch
}

// sameImage reports whether a refusal is about the finding's image: by
// repository where both name one, else by image, else (the message named
// neither) by resource and principal alone.
func sameImage(f *audit.Finding, fl *Failure) bool {
	switch {
	case fl.Repository != "" && f.Repository != "":
		return fl.Repository == f.Repository
	case fl.Image != "" && f.Image != "":
		return fl.Image == f.Image
	}
	return true
}

// Join attaches the logs' evidence to findings and returns them with a
// finding of kind DEPLOY_FAILED_IMAGE_READ for every unresolved image-read
// refusal no finding explains. It changes only the log fields, severity
// (raised one step for an actionable finding whose principal is an active
// deployer or whose refusal is confirmed) and reason. Pure.
func Join(findings []audit.Finding, ev Evidence) ([]audit.Finding, Stats) {
	var st Stats
	byRes := map[string][]int{}
	for i := range ev.Events {
		byRes[ev.Events[i].Resource] = append(byRes[ev.Events[i].Resource], i)
	}
	resolved := resolvedFailures(ev.Events)
	used := map[int]bool{}
	possibly := map[int][]string{} // refusal → principals of findings it may belong to
	out := append([]audit.Finding{}, findings...)
	for i := range out {
		f := &out[i]
		if f.Principal == "" || f.Kind == audit.RemoteRepoSecretInaccessible || !strings.HasPrefix(f.Resource, "//run.googleapis.com/") {
			continue
		}
		agent := f.Kind == audit.ServiceAgentCannotReadImage
		if !ev.readable(f.ProjectID) {
			f.LogEvidence = Undecided
			if !agent {
				f.DeployerActivity = Undecided
			}
			f.Reason += fmt.Sprintf(" Audit logs: not read for project %s, so whether deploys already failed is undecided.", f.ProjectID)
			st.Undecided++
			continue
		}
		var failures, unresolved []int
		var deploys []int
		possible := 0
		for _, j := range byRes[f.Resource] {
			e := &ev.Events[j]
			if e.ImageReadFailure() {
				if agent != (e.Source == SystemEvent) || !sameImage(f, e.Failure) {
					continue
				}
				m := principalMatch(f.Principal, e.Caller)
				if agent && e.Caller.Member == "" {
					m = yes // the service agent of this project, unnamed in the message
				}
				switch m {
				case yes:
					failures = append(failures, j)
					used[j] = true
					if !resolved[j] {
						unresolved = append(unresolved, j)
					}
				case maybe:
					possible++
					possibly[j] = append(possibly[j], f.Principal)
				}
				continue
			}
			if agent || e.Outcome == Failed {
				continue
			}
			switch principalMatch(f.Principal, e.Caller) {
			case yes:
				deploys = append(deploys, j)
			case maybe:
				possible++
			}
		}
		raise := false
		switch {
		case len(unresolved) > 0:
			f.LogEvidence = Confirmed
			setFailures(f, ev.Events, unresolved)
			what := plural(len(unresolved), "deploy") + " by this principal " + wasWere(len(unresolved)) + " refused for image read"
			if agent {
				what = plural(len(unresolved), "revision") + " failed to become ready because the service agent could not pull the image"
			}
			f.Reason += fmt.Sprintf(" Audit logs: %s %s (last by %s): confirmed by logs.", what, span(f.FirstFailure, f.LastFailure), f.FailedBy)
			st.Confirmed++
			raise = true
		case len(failures) > 0:
			f.LogEvidence = Resolved
			setFailures(f, ev.Events, failures)
			f.Reason += fmt.Sprintf(" Audit logs: %s by this principal %s refused for image read (last at %s), each followed by a successful deploy of this resource by it: resolved in the logs, though the audit finds no read access now.",
				plural(len(failures), "deploy"), wasWere(len(failures)), stamp(f.LastFailure))
			st.Resolved++
		default:
			f.LogEvidence = NotInLogs
			f.Reason += fmt.Sprintf(" Audit logs: no deploy by this principal refused for image read between %s and %s.", stamp(ev.Since), stamp(ev.Until))
		}
		if !agent {
			noun := noun(f.ResourceType)
			switch {
			case len(deploys) > 0:
				f.ActiveDeployer, f.DeployerActivity, f.Deploys = true, Active, len(deploys)
				f.LastDeploy = ev.Events[deploys[len(deploys)-1]].Time
				f.Reason += fmt.Sprintf(" It deployed this %s %s in the window, last at %s: an active deployer.", noun, times(len(deploys)), stamp(f.LastDeploy))
				st.Active++
				raise = true
			case possible > 0:
				f.DeployerActivity = Undecided
				f.Reason += " The logs show deploys or refusals by callers that may be in " + f.Principal + " (group membership and workload identity attributes are not in the log): whether it deploys is undecided."
				st.Undecided++
			default:
				f.DeployerActivity = Dormant
				f.Reason += fmt.Sprintf(" It can deploy this %s but did not in the window: dormant.", noun)
				st.Dormant++
			}
		}
		if raise && f.Kind.Actionable() {
			if s := raiseOne(f.Severity); s != f.Severity {
				f.Reason += fmt.Sprintf(" Severity raised from %s to %s.", f.Severity, s)
				f.Severity = s
			}
		}
	}
	created := newFindings(ev, used, resolved, possibly)
	st.Created = len(created)
	st.Confirmed += len(created)
	return append(out, created...), st
}

// resolvedFailures marks each image-read refusal followed by a successful
// deploy of the same resource by the same caller.
func resolvedFailures(events []Event) map[int]bool {
	lastOK := map[string]time.Time{}
	for _, e := range events {
		if e.Outcome == Succeeded && e.Caller.Member != "" {
			k := e.Resource + "\x00" + e.Caller.Member
			if e.Time.After(lastOK[k]) {
				lastOK[k] = e.Time
			}
		}
	}
	out := map[int]bool{}
	for i, e := range events {
		if !e.ImageReadFailure() || e.Caller.Member == "" {
			continue
		}
		if t, ok := lastOK[e.Resource+"\x00"+e.Caller.Member]; ok && t.After(e.Time) {
			out[i] = true
		}
	}
	return out
}

func setFailures(f *audit.Finding, events []Event, idx []int) {
	f.FailedDeploys = len(idx)
	f.FirstFailure = events[idx[0]].Time
	last := &events[idx[len(idx)-1]]
	f.LastFailure = last.Time
	f.FailedBy = last.Caller.String()
}

// newFindings makes a finding of every group (resource, caller, repository)
// of unresolved image-read refusals that no finding took.
func newFindings(ev Evidence, used, resolved map[int]bool, possibly map[int][]string) []audit.Finding {
	type key struct{ resource, caller, repository, image string }
	groups := map[key][]int{}
	var keys []key
	for i := range ev.Events {
		e := &ev.Events[i]
		if !e.ImageReadFailure() || used[i] || resolved[i] || !ev.readable(e.ProjectID) {
			continue
		}
		caller := e.Caller.Member
		if caller == "" {
			caller = e.Caller.Logged
		}
		k := key{e.Resource, caller, e.Failure.Repository, e.Failure.Image}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.resource != b.resource {
			return a.resource < b.resource
		}
		if a.caller != b.caller {
			return a.caller < b.caller
		}
		return a.repository+a.image < b.repository+b.image
	})
	var out []audit.Finding
	for _, k := range keys {
		idx := groups[k]
		e := &ev.Events[idx[len(idx)-1]]
		f := audit.Finding{
			Kind: audit.DeployFailedImageRead, Severity: audit.High,
			Resource: e.Resource, ResourceType: e.ResourceType, ProjectID: e.ProjectID, Location: e.Location,
			Principal: e.Caller.Member, Image: e.Failure.Image, Repository: e.Failure.Repository,
			Permission: DownloadArtifacts, LogEvidence: Confirmed, Folders: []string{},
		}
		if ev.Project != nil {
			if num, folders, org, ok := ev.Project(e.ProjectID); ok {
				f.ProjectNumber, f.Organization = num, org
				f.Folders = append([]string{}, folders...)
			}
		}
		if f.Principal == "" && e.Source == SystemEvent && f.ProjectNumber != "" {
			f.Principal = audit.RunAgent(f.ProjectNumber)
		}
		setFailures(&f, ev.Events, idx)
		n, what := len(idx), "its image"
		if f.Image != "" {
			what = f.Image
		}
		lead := fmt.Sprintf("%s of this %s by %s %s refused because Cloud Run could not read %s", plural(n, "deploy"), noun(f.ResourceType), f.FailedBy, wasWere(n), what)
		if e.Source == SystemEvent {
			lead = fmt.Sprintf("%s of this %s failed to become ready because the Cloud Run service agent %s could not read %s", plural(n, "revision"), noun(f.ResourceType), f.Principal, what)
		}
		msg, _, _ := strings.Cut(e.Failure.Message, "\n")
		f.Reason = fmt.Sprintf("Audit logs: %s (%s) %s, and no later deploy by the same principal succeeded. No finding of the audit explains it: the policy changed since, or the audit missed a path (a deny policy, a condition, a group, a grant outside the scan). Message: %q",
			lead, DownloadArtifacts, span(f.FirstFailure, f.LastFailure), strings.TrimSpace(msg))
		if e.Caller.Unmapped != "" {
			f.Reason += " Caller: " + e.Caller.Unmapped + "."
		}
		if ps := possiblyFor(possibly, idx); len(ps) > 0 {
			f.Reason += " A finding for " + strings.Join(ps, ", ") + " may explain it, if the caller is a member (not in the log)."
		}
		if f.Principal != "" && f.Repository != "" {
			if p := strings.Split(f.Repository, "/"); len(p) == 6 {
				f.Remediation = fmt.Sprintf("gcloud artifacts repositories add-iam-policy-binding %s --project=%s --location=%s --member=%s --role=roles/artifactregistry.reader", p[5], p[1], p[3], f.Principal)
			}
		}
		f.FindingID = audit.ID(f.Kind, f.Resource, f.Principal, f.Repository)
		out = append(out, f)
	}
	return out
}

// possiblyFor lists, once each, the principals whose findings may explain
// any of the refusals idx.
func possiblyFor(possibly map[int][]string, idx []int) []string {
	var out []string
	seen := map[string]bool{}
	for _, i := range idx {
		for _, p := range possibly[i] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// noun names a resource type in a sentence.
func noun(resourceType string) string {
	switch resourceType {
	case TypeJob:
		return "job"
	case TypeWorkerPool:
		return "worker pool"
	}
	return "service"
}

func raiseOne(s audit.Severity) audit.Severity {
	if r := s.Rank(); r > 0 && r < len(audit.Severities) {
		return audit.Severities[r-1]
	}
	return s
}

// span prints when something happened: at one time, or between two.
func span(first, last time.Time) string {
	if first.Equal(last) {
		return "at " + stamp(first)
	}
	return "between " + stamp(first) + " and " + stamp(last)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
