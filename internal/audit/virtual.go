package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// Kinds of the virtual-repository rule.
const (
	// VirtualRepoUpstreamInaccessible: the Artifact Registry service agent
	// of a virtual repository's project lacks
	// artifactregistry.repositories.readViaVirtualRepository on one of its
	// upstream repositories, so images served from that upstream cannot be
	// pulled through the virtual repository.
	VirtualRepoUpstreamInaccessible Kind = "VIRTUAL_REPO_UPSTREAM_INACCESSIBLE"
	// VirtualRepoUpstreamNotFound: a virtual repository names an upstream
	// that is not a repository name, or that its (scanned) project does
	// not hold.
	VirtualRepoUpstreamNotFound Kind = "VIRTUAL_REPO_UPSTREAM_NOT_FOUND"
	// UpstreamOutsideOrganization: a virtual repository's upstream lies in
	// a project the scan did not cover.
	UpstreamOutsideOrganization Kind = "UPSTREAM_OUTSIDE_SCANNED_ORGANIZATION"
)

// virtualResult is what the virtual-repository rule found for one virtual
// repository: its findings, and the worst verdict they give the images
// pulled through it.
type virtualResult struct {
	findings []Finding
	verdict  Verdict
}

// virtualRepositories runs the virtual-repository rule over every virtual
// repository of the inventory, keyed by repository key. It runs before the
// resources are evaluated, so that their images' verdicts can include it.
func (ev *evaluator) virtualRepositories() map[string]*virtualResult {
	out := map[string]*virtualResult{}
	for k, repo := range ev.inv.Repositories {
		if repo.Mode != inventory.ModeVirtual {
			continue
		}
		res := &virtualResult{verdict: VerdictOK}
		// An upstream named twice (by project id and by number) is one
		// upstream: one finding, so finding ids stay unique.
		seen := map[string]bool{}
		for _, up := range repo.Upstreams {
			if f, ok := ev.upstreamCheck(repo, up); ok {
				f.FindingID = f.id()
				if seen[f.FindingID] {
					continue
				}
				seen[f.FindingID] = true
				res.findings = append(res.findings, f)
				res.verdict = worse(res.verdict, verdictOf(f))
			}
		}
		out[k] = res
	}
	return out
}

// virtualFindings lists the virtual-repository findings in key order.
func (ev *evaluator) virtualFindings() []Finding {
	keys := make([]string, 0, len(ev.virtual))
	for k := range ev.virtual {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Finding
	for _, k := range keys {
		out = append(out, ev.virtual[k].findings...)
	}
	return out
}

// upstreamCheck asks whether the Artifact Registry service agent of a
// virtual repository's project can read the upstream repository up
// (projects/P/locations/L/repositories/R, P an id or number) through the
// virtual repository.
func (ev *evaluator) upstreamCheck(repo *inventory.Repository, up string) (Finding, bool) {
	f := ev.repositoryFinding(repo)
	f.Principal = ArtifactRegistryAgent(repo.ProjectNumber)
	f.Permission = access.ReadViaVirtualRepository.String()
	f.Repository = up
	proj, loc, name, ok := parseRepositoryName(up)
	if !ok {
		f.Kind, f.Severity = VirtualRepoUpstreamNotFound, Low
		f.Reason = fmt.Sprintf("virtual repository %s names upstream %q, which is not a repository name (projects/P/locations/L/repositories/R): pulls that need it fail.", ev.inv.DisplayName(repo.Node), up)
		return f, true
	}
	p := ev.inv.Project(proj)
	if p == nil || !p.Scanned {
		if g := ev.projectUnread(proj, p); g != nil {
			f.Kind, f.Severity = ResourceNotRead, Info
			f.DependsOn = []string{gapRef(g)}
			f.WouldBe, f.WouldBeSeverity = UpstreamOutsideOrganization, Info
			f.Reason = fmt.Sprintf("virtual repository %s serves upstream %s, in project %s, whose Project asset the scan did not read (%s); whether the Artifact Registry service agent of project %s can read it cannot be verified.", ev.inv.DisplayName(repo.Node), up, proj, gapWords(g), f.ProjectID)
			return f, true
		}
		f.Kind, f.Severity = UpstreamOutsideOrganization, Info
		f.Reason = fmt.Sprintf("virtual repository %s serves upstream %s, in project %s, which the scan did not cover; whether the Artifact Registry service agent of project %s can read it cannot be verified.", ev.inv.DisplayName(repo.Node), up, proj, f.ProjectID)
		return f, true
	}
	key := inventory.RepositoryKey(p.Number, loc, name)
	upstream := ev.inv.Repositories[key]
	f.Repository = ev.inv.DisplayName(&inventory.Node{Key: key})
	if upstream == nil {
		if g := ev.inv.Unread(inventory.TypeRepository, inventory.ContentResource, key, p.Node); g != nil {
			// Absence is not evidence: the list was not read whole.
			f.Kind, f.Severity = ResourceNotRead, Info
			f.DependsOn = []string{gapRef(g)}
			f.WouldBe, f.WouldBeSeverity = VirtualRepoUpstreamNotFound, Low
			f.Reason = fmt.Sprintf("virtual repository %s serves upstream %s, which is not in the inventory of project %s, but the scan of repositories there was incomplete (%s); whether it exists and the Artifact Registry service agent can read it cannot be verified.", ev.inv.DisplayName(repo.Node), f.Repository, p.ID, gapWords(g))
			return f, true
		}
		f.Kind, f.Severity = VirtualRepoUpstreamNotFound, Low
		f.Reason = fmt.Sprintf("virtual repository %s serves upstream %s, which project %s does not hold: pulls of images that only it would serve fail.", ev.inv.DisplayName(repo.Node), f.Repository, p.ID)
		return f, true
	}
	ans := ev.eng.Check(f.Principal, access.ReadViaVirtualRepository, upstream.Node)
	if ans.Result == access.Yes {
		return Finding{}, false
	}
	f.Remediation = ev.readerCommand(upstream, f.Principal)
	var b strings.Builder
	fmt.Fprintf(&b, "virtual repository %s serves images from upstream %s through the Artifact Registry service agent of project %s", ev.inv.DisplayName(repo.Node), f.Repository, f.ProjectID)
	ev.decideAgent(&f, &b, ans, upstream.Node, agentRefusal{
		kind: VirtualRepoUpstreamInaccessible, severity: High, lacks: ", which holds no %s on the upstream", where: "on the upstream",
		consequence: ": pulls through the virtual repository of images that this upstream serves fail, whoever deploys them.",
	})
	return f, true
}

// repositoryFinding fills the fields every finding about a repository
// shares.
func (ev *evaluator) repositoryFinding(repo *inventory.Repository) Finding {
	f := Finding{
		Resource:      "//artifactregistry.googleapis.com/" + ev.inv.DisplayName(repo.Node),
		ResourceType:  ResourceTypeRepository,
		ProjectID:     ev.inv.ProjectID(repo.ProjectNumber),
		ProjectNumber: repo.ProjectNumber,
		Location:      repo.Location,
		Repository:    ev.inv.DisplayName(repo.Node),
	}
	if p := ev.inv.Projects[repo.ProjectNumber]; p != nil {
		f.Folders, f.Organization = p.Folders, p.Organization
	}
	return f
}

// parseRepositoryName splits "projects/P/locations/L/repositories/R".
func parseRepositoryName(s string) (project, location, repository string, ok bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "repositories" ||
		parts[1] == "" || parts[3] == "" || parts[5] == "" {
		return "", "", "", false
	}
	return parts[1], parts[3], parts[5], true
}
