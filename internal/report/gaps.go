package report

import (
	"regexp"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
)

// GapText is a gap said in words for a person: what was not read, what
// that leaves undecided, and how to close it. Every field is inert (see
// Inert): reasons carry text from the cloud.
type GapText struct {
	// What names what was not read and why, e.g. "organizations/1:
	// folders (resources and IAM policies) not read: PERMISSION_DENIED: …".
	What string
	// Undecided says which answers the missing assets could change.
	Undecided string
	// Fix says how to close the gap; empty when nothing is known.
	Fix string
}

// assetWords says, per asset type, what its resources and its IAM policies
// decide: the nouns a gap names and what a gap in each content leaves
// undecided.
var assetWords = map[string]struct{ noun, resources, policies string }{
	inventory.TypeOrganization: {"the organization",
		"the organization above the scan, so grants inherited from it",
		"grants made on the organization, which every folder, project and resource inherits"},
	inventory.TypeFolder: {"folders",
		"the folder hierarchy, so which folder grants reach which projects",
		"grants made on folders, which their projects and resources inherit"},
	inventory.TypeProject: {"projects",
		"which projects exist and their ids and numbers, so their services, jobs, repositories and service agents",
		"grants made on projects, which their resources inherit"},
	inventory.TypeService: {"Cloud Run services",
		"which services exist and the images they run: deployers of missing services are not checked",
		"grants made on single services, so who can deploy them"},
	inventory.TypeJob: {"Cloud Run jobs",
		"which jobs exist and the images they run: deployers of missing jobs are not checked",
		"grants made on single jobs, so who can deploy them"},
	inventory.TypeWorkerPool: {"Cloud Run worker pools",
		"which worker pools exist and the images they run: deployers of missing worker pools are not checked",
		"grants made on single worker pools, so who can deploy them"},
	inventory.TypeRepository: {"Artifact Registry repositories",
		"which repositories exist, their mode and upstreams: images in missing ones cannot be checked",
		"grants made on repositories, so who can read the images in them"},
	inventory.TypeSecret: {"Secret Manager secrets",
		"which secrets exist, so whether remote repositories' upstream passwords are there",
		"grants made on secrets, so whether Artifact Registry can read upstream passwords"},
	inventory.TypeRole: {"custom roles",
		"the permissions of custom roles: every grant through one is undecided",
		"IAM policies of custom roles (they have none)"},
}

// contentWords names a content type for a person.
var contentWords = map[string]string{"RESOURCE": "resources", "IAM_POLICY": "IAM policies", "": "resources and IAM policies"}

// DescribeGap says g in words.
func DescribeGap(g audit.Gap) GapText {
	words, known := assetWords[g.AssetType]
	noun := words.noun
	switch {
	case g.Asset != "":
		noun = "the asset " + g.Asset
	case g.AssetType == "":
		noun = "everything in it"
	case !known:
		noun = g.AssetType
	}
	content := contentWords[g.ContentType]
	if content == "" {
		content = g.ContentType
	}
	what := g.Scope + ": " + noun
	if g.AssetType != "" || g.ContentType != "" {
		what += " (" + content + ")"
	}
	what += " not read"
	if r := plainReason(g.Reason); r != "" {
		what += ": " + r
	}

	var undecided []string
	switch {
	case g.AssetType == "" || !known:
		undecided = append(undecided, "anything it holds: services, jobs, repositories, secrets, roles and the grants on them")
	default:
		if g.ContentType != "IAM_POLICY" {
			undecided = append(undecided, words.resources)
		}
		if g.ContentType != "RESOURCE" {
			undecided = append(undecided, words.policies)
		}
	}
	fix := g.Fix
	if fix == "" {
		fix = defaultFix(g)
	}
	return GapText{
		What:      Inert(what),
		Undecided: Inert(strings.Join(undecided, "; ")),
		Fix:       Inert(fix),
	}
}

// rpcError matches the text gRPC's Go client gives a status error.
var rpcError = regexp.MustCompile(`rpc error: code = (\w+) desc = `)

// plainReason drops Go's gRPC error wrapping, keeping the code and the
// service's message.
func plainReason(r string) string {
	return strings.TrimSpace(rpcError.ReplaceAllString(r, "$1: "))
}

// defaultFix suggests a fix from the error a gap names, for gaps that do
// not carry their own.
func defaultFix(g audit.Gap) string {
	r := g.Reason
	switch {
	case strings.Contains(r, "PERMISSION_DENIED") || strings.Contains(r, "PermissionDenied"):
		return "grant the identity running the audit roles/cloudasset.viewer on " + g.Scope + " (docs/deploy.md), then rerun"
	case strings.Contains(r, "RESOURCE_EXHAUSTED") || strings.Contains(r, "ResourceExhausted"):
		return "the Cloud Asset Inventory quota ran out: rerun later, or lower --list-assets-qpm"
	case strings.Contains(r, "--timeout") || strings.Contains(r, "DEADLINE_EXCEEDED") || strings.Contains(r, "DeadlineExceeded"):
		return "the collection ran out of time: raise --timeout, then rerun"
	case strings.Contains(r, "UNAVAILABLE") || strings.Contains(r, "Unavailable"):
		return "Cloud Asset Inventory was unavailable: rerun"
	case g.AssetType == "" && !strings.HasPrefix(g.Scope, "organizations/") && !strings.HasPrefix(g.Scope, "folders/") && !strings.HasPrefix(g.Scope, "projects/"):
		return "check that " + g.Scope + " is a complete Cloud Asset Inventory export, then rerun"
	}
	return ""
}

// sameGapButContent reports whether a and b differ only in content type,
// so that a person reads them as one gap.
func sameGapButContent(a, b audit.Gap) bool {
	return a.Scope == b.Scope && a.AssetType == b.AssetType && a.Asset == b.Asset && a.Reason == b.Reason && a.Fix == b.Fix &&
		a.ContentType != "" && b.ContentType != "" && a.ContentType != b.ContentType
}

// MergeGaps returns gaps with each pair that differs only in content type
// (both the resources and the IAM policies of one asset type, for the
// same reason) made one gap of both contents, in the order first seen.
func MergeGaps(gaps []audit.Gap) []audit.Gap {
	out := make([]audit.Gap, 0, len(gaps))
	merged := make([]bool, len(gaps))
	for i, g := range gaps {
		if merged[i] {
			continue
		}
		for j := i + 1; j < len(gaps); j++ {
			if !merged[j] && sameGapButContent(g, gaps[j]) {
				merged[j] = true
				g.ContentType = ""
				break
			}
		}
		out = append(out, g)
	}
	return out
}
