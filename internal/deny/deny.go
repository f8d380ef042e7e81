// Package deny applies IAM deny policies for the access engine. Deny
// policies attach to organizations, folders and projects; a deny rule takes
// a permission away from its denied principals (less its exception
// principals) on every resource below the attachment point, before any
// allow policy is looked at. Policies come from a Source: a file (offline)
// or the IAM v2 API (live). A rule whose principal, group membership or
// condition cannot be decided, or policies that could not be read, make the
// answer Unknown, never "not denied".
package deny

import (
	"fmt"
	"net/url"
	"strings"

	"cloud.google.com/go/iam/apiv2/iampb"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// TypeDenyPolicy is the asset type a coverage gap names for deny policies
// that were not read.
const TypeDenyPolicy = "iam.googleapis.com/DenyPolicy"

// Source yields the deny policies attached to one organization, folder or
// project node.
type Source interface {
	Policies(n *inventory.Node) ([]*iampb.Policy, error)
}

// Evaluator decides whether a member is denied a permission on a resource.
// It implements access.Denials and access.InventoryUser and is safe for
// concurrent use once the engine has given it the inventory.
type Evaluator struct {
	src    Source
	groups access.Groups
	conds  access.Conditions
	inv    *inventory.Inventory
}

// New returns an Evaluator over src. groups decides membership of groups
// named in deny rules and conds evaluates denial conditions; nil deciders
// leave those Unknown.
func New(src Source, groups access.Groups, conds access.Conditions) *Evaluator {
	return &Evaluator{src: src, groups: groups, conds: conds}
}

// UseInventory gives the evaluator and its source the inventory (project
// ids and numbers, service account projects).
func (e *Evaluator) UseInventory(inv *inventory.Inventory) {
	e.inv = inv
	if u, ok := e.src.(access.InventoryUser); ok {
		u.UseInventory(inv)
	}
}

// Gaps returns the coverage gaps of the source: the nodes whose deny
// policies were asked about but not read. Answers that a deny rule there
// could change are Unknown. A file source has none: it is authoritative.
func (e *Evaluator) Gaps() []inventory.Gap {
	if g, ok := e.src.(interface{ Gaps() []inventory.Gap }); ok {
		return g.Gaps()
	}
	return nil
}

// Denied implements access.Denials: Yes when a deny rule attached to target
// or one of its ancestors takes p away from member.
func (e *Evaluator) Denied(member string, p access.Perm, target *inventory.Node) (access.Tri, access.Step) {
	var undecided *access.Step
	for _, n := range target.Ancestry() {
		switch n.Kind {
		case inventory.KindOrganization, inventory.KindFolder, inventory.KindProject:
		default:
			continue
		}
		pols, err := e.src.Policies(n)
		if err != nil {
			if undecided == nil {
				undecided = &access.Step{Role: "deny policies", Node: n, Note: fmt.Sprintf("the deny policies attached to %s could not be read: %v (a coverage gap)", n.Key, err)}
			}
			continue
		}
		for _, pol := range pols {
			for i, rule := range pol.GetRules() {
				dr := rule.GetDenyRule()
				if dr == nil {
					continue
				}
				res, step := e.rule(dr, member, p, target)
				if res == access.No {
					continue
				}
				step.Role = fmt.Sprintf("deny rule %d of deny policy %q", i+1, PolicyID(pol.GetName()))
				step.Node = n
				if res == access.Yes {
					return access.Yes, step
				}
				if undecided == nil {
					undecided = &step
				}
			}
		}
	}
	if undecided != nil {
		return access.Unknown, *undecided
	}
	return access.No, access.Step{}
}

// rule decides one deny rule.
func (e *Evaluator) rule(dr *iampb.DenyRule, member string, p access.Perm, target *inventory.Node) (access.Tri, access.Step) {
	if !anyPermission(dr.GetDeniedPermissions(), p) || anyPermission(dr.GetExceptionPermissions(), p) {
		return access.No, access.Step{}
	}
	res, step := e.anyPrincipal(dr.GetDeniedPrincipals(), member)
	if res == access.No {
		return access.No, access.Step{}
	}
	if ex, exStep := e.anyPrincipal(dr.GetExceptionPrincipals(), member); ex == access.Yes {
		return access.No, access.Step{}
	} else if ex == access.Unknown {
		res = access.Unknown
		step.Note = access.JoinNote(step.Note, "whether it is excepted through "+exStep.Member+" is undecided: "+exStep.Note)
	}
	// A deny rule is checked for the principal that makes the request, never
	// for a group or other set: when the rule exempts someone who is (or may
	// be) in the set, it denies the set's other members but not all of them,
	// so the answer for the set as a whole is undecided.
	if isSet(member) {
		if ov, note := e.exemptWithin(dr.GetExceptionPrincipals(), member); ov != access.No {
			res = access.Unknown
			step.Note = access.JoinNote(step.Note, note)
		}
	}
	if c := dr.GetDenialCondition(); c != nil && strings.TrimSpace(c.GetExpression()) != "" {
		cond := &inventory.Condition{Title: c.GetTitle(), Description: c.GetDescription(), Expression: c.GetExpression()}
		step.Condition = cond
		v, note := access.Unknown, "denial conditions are not evaluated"
		if e.conds != nil {
			v, note = e.conds.Evaluate(cond, target)
		}
		switch v {
		case access.No:
			return access.No, access.Step{}
		case access.Unknown:
			res = access.Unknown
		}
		step.Note = access.JoinNote(step.Note, note)
	}
	return res, step
}

// anyPrincipal decides whether any of ids covers member: Yes if one does,
// Unknown if one may, with the step that says which.
func (e *Evaluator) anyPrincipal(ids []string, member string) (access.Tri, access.Step) {
	res, step := access.No, access.Step{}
	for _, id := range ids {
		r, via, note := e.principal(id, member)
		switch {
		case r == access.Yes:
			return access.Yes, access.Step{Member: id, Via: via, Note: note}
		case r == access.Unknown && res == access.No:
			res, step = access.Unknown, access.Step{Member: id, Via: via, Note: note}
		}
	}
	return res, step
}

// PolicyID returns the last segment of a deny policy name
// ("policies/ATTACHMENT/denypolicies/ID").
func PolicyID(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// AttachmentKey returns the node key ("organizations/1", "folders/2",
// "projects/ID-or-NUMBER") of a deny policy's attachment point.
func AttachmentKey(policyName string) (string, error) {
	rest, ok := strings.CutPrefix(policyName, "policies/")
	if !ok {
		return "", fmt.Errorf("deny policy name %q does not start with policies/", policyName)
	}
	att, _, ok := strings.Cut(rest, "/")
	if !ok {
		return "", fmt.Errorf("deny policy name %q has no /denypolicies/ID", policyName)
	}
	full, err := url.PathUnescape(att)
	if err != nil {
		return "", fmt.Errorf("deny policy name %q: attachment point: %w", policyName, err)
	}
	key, ok := strings.CutPrefix(full, "cloudresourcemanager.googleapis.com/")
	if !ok {
		return "", fmt.Errorf("deny policy name %q: attachment point %q is not an organization, folder or project", policyName, full)
	}
	kind, id, _ := strings.Cut(key, "/")
	switch kind {
	case "organizations", "folders", "projects":
	default:
		return "", fmt.Errorf("deny policy name %q: attachment point %q is not an organization, folder or project", policyName, full)
	}
	if id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("deny policy name %q: attachment point %q is not an organization, folder or project", policyName, full)
	}
	return key, nil
}

// attachmentName is the URL-encoded full resource name of a node, as the
// IAM v2 API names attachment points.
func attachmentName(n *inventory.Node) string {
	return url.PathEscape("cloudresourcemanager.googleapis.com/" + n.Key)
}
