package inventory

import "strings"

// Content types, as gaps and ListAssets name them.
const (
	ContentResource  = "RESOURCE"
	ContentIAMPolicy = "IAM_POLICY"
)

// gapScope is a gap made ready for coverage questions: its scope and asset
// as node keys, or nothing where the gap covers every resource.
type gapScope struct {
	gap *Gap
	// scope is the normalised node key the gap's scope names
	// ("organizations/N", "folders/N", "projects/NUMBER"); "" when the scope
	// is a file, an object or anything else that can hold any resource.
	scope string
	// asset is the node key of the one asset the gap hides, when known.
	asset string
}

// AssetTypeOf returns the asset type of a node kind.
func AssetTypeOf(k Kind) string {
	switch k {
	case KindOrganization:
		return TypeOrganization
	case KindFolder:
		return TypeFolder
	case KindProject:
		return TypeProject
	case KindRepository:
		return TypeRepository
	case KindSecret:
		return TypeSecret
	case KindService:
		return TypeService
	case KindJob:
		return TypeJob
	case KindWorkerPool:
		return TypeWorkerPool
	}
	return ""
}

// prepareGaps normalises every gap's scope and asset name to node keys, once
// the project ids are known.
func (inv *Inventory) prepareGaps(key func(name, assetType string) (string, bool)) {
	inv.gaps = make([]gapScope, len(inv.Gaps))
	for i := range inv.Gaps {
		g := &inv.Gaps[i]
		gs := gapScope{gap: g, scope: inv.scopeKey(g.Scope)}
		if g.Asset != "" {
			if k, ok := key(g.Asset, g.AssetType); ok {
				gs.asset = k
			} else if proj := projectInName(g.Asset); proj != "" {
				// Not a name the audit can normalise: narrow it to its
				// project at least.
				gs.scope = inv.scopeKey("projects/" + proj)
			}
		}
		inv.gaps[i] = gs
	}
}

// scopeKey normalises a gap's scope to a node key, or "" for a scope that is
// not a node of the hierarchy (a file: it can hold anything).
func (inv *Inventory) scopeKey(scope string) string {
	kind, id, ok := strings.Cut(scope, "/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	switch kind {
	case "organizations", "folders":
		return scope
	case "projects":
		if n, ok := inv.ProjectIDs[id]; ok {
			return "projects/" + n
		}
		return scope
	}
	return ""
}

// projectInName returns the project segment of a CAI name, or "".
func projectInName(name string) string {
	for _, marker := range []string{"/projects/", "/namespaces/"} {
		if _, rest, ok := strings.Cut(name, marker); ok {
			p, _, _ := strings.Cut(rest, "/")
			return p
		}
	}
	return ""
}

// PrepareGaps readies the gaps for coverage questions. Finish calls it; a
// caller that adds gaps afterwards (accuracy deciders, an interrupted run)
// calls it again before asking, as access.New does. Not safe to call
// concurrently with Unread.
func (inv *Inventory) PrepareGaps() {
	inv.prepareGaps(func(name, assetType string) (string, bool) {
		return keyOfName(inv, name, assetType)
	})
}

// Unread returns the first gap that may hide the content (ContentResource
// or ContentIAMPolicy) of an asset of assetType whose node key is key, or
// nil when the scan read everything that could hold it. Gaps added since the
// last PrepareGaps are not seen. within is the
// nearest node known to contain the asset (the asset's own node, or its
// project); nil means its place in the hierarchy is unknown, so any gap of
// the right type may hide it.
func (inv *Inventory) Unread(assetType, content, key string, within *Node) *Gap {
	for i := range inv.gaps {
		gs := &inv.gaps[i]
		g := gs.gap
		if g.AssetType != "" && g.AssetType != assetType || g.ContentType != "" && g.ContentType != content {
			continue
		}
		if gs.asset != "" {
			if gs.asset == key {
				return g
			}
			continue
		}
		if gs.scope == "" || within == nil || contains(gs.scope, within) {
			return g
		}
	}
	return nil
}

// PolicyUnread returns the gap that may hide n's IAM policy, or nil when the
// policy is known: read, or surely absent.
func (inv *Inventory) PolicyUnread(n *Node) *Gap {
	if n.HasPolicy || n.Kind == KindSecretVersion {
		return nil // policies are read whole; a secret version has none
	}
	return inv.Unread(AssetTypeOf(n.Kind), ContentIAMPolicy, n.Key, n)
}

// contains reports whether scope (a node key) is n or one of its ancestors.
// Where n's ancestry does not reach an organization, its place is not
// fully known, and it may lie inside the scope.
func contains(scope string, n *Node) bool {
	var last *Node
	for a := n; a != nil; a = a.Parent {
		if a.Key == scope {
			return true
		}
		last = a
	}
	return last == nil || last.Kind != KindOrganization
}

// keyOfName normalises a CAI asset name to a node key the way the Builder
// does, for gaps that name one asset.
func keyOfName(inv *Inventory, name, assetType string) (string, bool) {
	b := &Builder{inv: inv}
	k, err := b.keyOf(name, assetType, "", nil)
	return k, err == nil
}

// Missing returns the gaps of an input that holds nothing to audit in some
// respect: no Project asset, no Cloud Run service or job, no IAM policy at
// all. Such input is not a clean run (an export of the wrong scope, a
// filter that dropped a content type, a permission that hid everything);
// scope names what was scanned.
func Missing(inv *Inventory, scope string) []Gap {
	var out []Gap
	if inv.Counts["projects"] == 0 {
		out = append(out, Gap{Scope: scope, AssetType: TypeProject, ContentType: ContentResource,
			Reason: "the input holds no Project asset: no project is known to be part of the scan",
			Fix:    "export or list " + TypeProject + " resources too"})
	}
	if inv.RunCount() == 0 {
		out = append(out, Gap{Scope: scope, AssetType: TypeService, ContentType: ContentResource,
			Reason: "the input holds no Cloud Run service, job or worker pool: nothing to audit",
			Fix:    "check the scope, and export or list " + TypeService + ", " + TypeJob + " and " + TypeWorkerPool + " resources"})
	}
	if inv.Counts["iam_policies"] == 0 {
		out = append(out, Gap{Scope: scope, ContentType: ContentIAMPolicy,
			Reason: "the input holds no IAM policy at all: every grant is unknown",
			Fix:    "export with --content-type=iam-policy too"})
	}
	return out
}
