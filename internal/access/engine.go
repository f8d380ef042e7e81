package access

import (
	"sort"
	"strings"
	"sync"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Tri is a three-valued answer: an undecidable grant is Unknown, never Yes.
type Tri int8

// Tri values.
const (
	No Tri = iota
	Unknown
	Yes
)

func (t Tri) String() string {
	switch t {
	case Yes:
		return "yes"
	case Unknown:
		return "unknown"
	}
	return "no"
}

// and combines two conditions that must both hold.
func and(a, b Tri) Tri {
	if a < b {
		return a
	}
	return b
}

// Step is one grant path: a member bound to a role on a resource, under an
// optional condition.
type Step struct {
	// Member is the member string exactly as bound.
	Member string
	Role   string
	// Node is where the binding is, in the target's ancestry.
	Node      *inventory.Node
	Condition *inventory.Condition
	// Via says how the member matched the principal asked about: "" for the
	// principal itself, else e.g. "allUsers", "domain", "group membership".
	Via string
	// Note says why a step is undecided (condition, group, unknown role),
	// or how a decider decided it (a condition held, a membership was found).
	Note string
	// Deny is true for a deny rule (or deny policies that could not be
	// read) rather than a grant.
	Deny bool
	// Cause says what leaves an undecided step undecided.
	Cause Cause
	// Gap is the coverage gap an undecided step hangs on, for CauseGap.
	Gap *inventory.Gap
}

// Cause is what an undecided step hangs on; a step may hang on several.
type Cause uint8

// Causes of undecided steps.
const (
	CauseCondition Cause = 1 << iota
	CauseGroup
	CausePrincipalSet
	CauseRole
	CauseGap
	CauseDeny
)

// Has reports whether c includes o.
func (c Cause) Has(o Cause) bool { return c&o != 0 }

// Answer is the engine's verdict on one (member, permission, resource)
// question, with its evidence.
type Answer struct {
	Result Tri
	// Grants are the paths that grant (Result Yes).
	Grants []Step
	// Unknown are the paths that may grant but could not be decided.
	Unknown []Step
	// Denied is the deny rule that takes the permission away, if any.
	Denied *Step
	// Refused are the paths that would grant but do not: their condition is
	// false, or the principal is not a member of the bound group.
	Refused []Step
}

// maxSteps bounds the evidence kept per answer; the verdict uses all.
const maxSteps = 8

// Conditions decides IAM condition expressions for a target resource.
type Conditions interface {
	Evaluate(c *inventory.Condition, target *inventory.Node) (Tri, string)
}

// Groups decides whether member belongs, possibly transitively, to group
// (both IAM member strings, e.g. "user:a@x", "group:g@x").
type Groups interface {
	IsMember(member, group string) (Tri, string)
}

// Denials applies IAM deny policies: Yes means member is denied p on target.
type Denials interface {
	Denied(member string, p Perm, target *inventory.Node) (Tri, Step)
}

// Options configure an Engine. Nil fields decide conservatively: every
// condition and every group membership is Unknown, and nothing is denied.
type Options struct {
	Conditions Conditions
	Groups     Groups
	Denials    Denials
}

// InventoryUser is implemented by deciders that need the inventory itself,
// e.g. to name resources with project ids as IAM conditions see them. New
// calls UseInventory once, before any question is asked.
type InventoryUser interface {
	UseInventory(inv *inventory.Inventory)
}

type unknownConditions struct{}

func (unknownConditions) Evaluate(*inventory.Condition, *inventory.Node) (Tri, string) {
	return Unknown, "IAM conditions are not evaluated"
}

type unknownGroups struct{}

func (unknownGroups) IsMember(_, group string) (Tri, string) {
	return Unknown, "membership of " + group + " was not resolved"
}

// Engine answers effective-permission questions over an inventory. It is
// safe for concurrent use.
type Engine struct {
	inv   *inventory.Inventory
	opts  Options
	index map[*inventory.Node][]boundRole
	// members indexes the members of nodes with large policies (shared
	// repositories hold hundreds of readers), so that a check visits only
	// the bindings that can match instead of every member.
	members map[*inventory.Node]*memberIndex

	// UnknownRoles lists the roles bound somewhere that neither the role
	// table nor the inventory's custom roles define.
	UnknownRoles []string

	mu    sync.RWMutex
	cache map[checkKey]*Answer
}

type boundRole struct {
	b       *inventory.Binding
	perms   PermSet
	unknown bool // the role's permissions are not known
	inert   bool // a disabled or deleted custom role: grants nothing
	// note says why an unknown role is unknown, or an inert one inert; gap is the coverage gap
	// that may hide its definition.
	note string
	gap  *inventory.Gap
}

type checkKey struct {
	member string
	perm   Perm
	node   *inventory.Node
}

// New builds an engine over inv, resolving every bound role to the audited
// permissions it holds from the predefined table and the inventory's custom
// roles.
func New(inv *inventory.Inventory, roles *RoleTable, opts Options) *Engine {
	if opts.Conditions == nil {
		opts.Conditions = unknownConditions{}
	}
	if opts.Groups == nil {
		opts.Groups = unknownGroups{}
	}
	for _, d := range []any{opts.Conditions, opts.Groups, opts.Denials} {
		if u, ok := d.(InventoryUser); ok {
			u.UseInventory(inv)
		}
	}
	inv.PrepareGaps() // gaps added since Finish count too
	e := &Engine{inv: inv, opts: opts, index: map[*inventory.Node][]boundRole{}, cache: map[checkKey]*Answer{}}
	resolved := map[string]boundRole{}
	for _, n := range inv.Nodes {
		for i := range n.Bindings {
			b := &n.Bindings[i]
			br, ok := resolved[b.Role]
			if !ok {
				br = e.resolve(b.Role, roles)
				resolved[b.Role] = br
				if br.unknown {
					e.UnknownRoles = append(e.UnknownRoles, b.Role)
				}
			}
			if br.perms == 0 && !br.unknown {
				continue
			}
			br.b = b
			e.index[n] = append(e.index[n], br)
		}
	}
	e.members = map[*inventory.Node]*memberIndex{}
	for n, roles := range e.index {
		if mi := newMemberIndex(roles); mi != nil {
			e.members[n] = mi
		}
	}
	return e
}

// resolve finds the audited permissions of a role name.
func (e *Engine) resolve(role string, roles *RoleTable) boundRole {
	if strings.HasPrefix(role, "roles/") {
		ps, ok := roles.Lookup(role)
		return boundRole{perms: ps, unknown: !ok, note: "role " + role + " is not in the role table"}
	}
	key := e.customRoleKey(role)
	cr := e.inv.CustomRoles[key]
	if cr == nil {
		br := boundRole{unknown: true, note: "custom role " + role + " is not in the inventory"}
		owner, _, _ := strings.Cut(key, "/roles/")
		if g := e.inv.Unread(inventory.TypeRole, inventory.ContentResource, key, e.inv.Nodes[owner]); g != nil {
			br.gap = g
			br.note = "custom role " + role + " was not read: " + g.Reason
		}
		return br
	}
	if cr.Deleted || cr.Stage == "DISABLED" {
		// Grants nothing; kept so that reasons can say why a binding
		// that names the permission does not apply.
		why := "is deleted"
		if !cr.Deleted {
			why = "is DISABLED"
		}
		return boundRole{perms: FromNames(cr.Permissions), inert: true, note: "custom role " + role + " " + why + ": it grants nothing"}
	}
	return boundRole{perms: FromNames(cr.Permissions)}
}

// customRoleKey normalises "projects/PROJECT_ID/roles/R" to the project
// number, as the inventory keys custom roles.
func (e *Engine) customRoleKey(role string) string {
	rest, ok := strings.CutPrefix(role, "projects/")
	if !ok {
		return role
	}
	proj, tail, _ := strings.Cut(rest, "/")
	if n, ok := e.inv.ProjectIDs[proj]; ok {
		return "projects/" + n + "/" + tail
	}
	return role
}

// Check answers whether member holds p on target, through any binding on
// target or its ancestors.
func (e *Engine) Check(member string, p Perm, target *inventory.Node) Answer {
	k := checkKey{member, p, target}
	e.mu.RLock()
	a, ok := e.cache[k]
	e.mu.RUnlock()
	if ok {
		return *a
	}
	ans := e.check(member, p, target)
	if target.Kind.IsRun() || target.Kind == inventory.KindSecretVersion {
		return ans // asked once per resource: caching would only hold memory
	}
	e.mu.Lock()
	e.cache[k] = &ans
	e.mu.Unlock()
	return ans
}

func (e *Engine) check(member string, p Perm, target *inventory.Node) Answer {
	ans := e.allow(member, p, target)
	if e.opts.Denials == nil {
		return ans
	}
	// IAM evaluates deny policies before allow policies: a sure deny wins
	// over any grant; an undecided one leaves a grant undecided but cannot
	// create access where nothing grants it.
	d, step := e.opts.Denials.Denied(member, p, target)
	step.Deny = true
	if d == Unknown {
		step.Cause |= CauseDeny
	}
	switch {
	case d == Yes:
		return Answer{Result: No, Denied: &step, Refused: ans.Refused}
	case d == Unknown && ans.Result != No:
		step.Note = "a deny rule may apply: " + step.Note
		ans.Result = Unknown
		ans.Unknown = append(append(ans.Unknown, ans.Grants...), step)
		ans.Grants = nil
	}
	return ans
}

// allow evaluates the allow policies on target and its ancestors.
func (e *Engine) allow(member string, p Perm, target *inventory.Node) Answer {
	var ans Answer
	for n := target; n != nil; n = n.Parent {
		roles := e.index[n]
		if mi := e.members[n]; mi != nil {
			if cands, ok := mi.candidates(member); ok {
				for _, pos := range cands {
					br := &roles[pos.role]
					if !br.unknown && !br.perms.Has(p) {
						continue
					}
					e.visit(&ans, br, br.b.Members[pos.member], member, target, n)
				}
				continue
			}
		}
		for i := range roles {
			br := &roles[i]
			if !br.unknown && !br.perms.Has(p) {
				continue
			}
			for _, m := range br.b.Members {
				e.visit(&ans, br, m, member, target, n)
			}
		}
	}
	if ans.Result != Yes {
		// A policy the scan did not read may hold the grant.
		for _, st := range e.Unread(target) {
			if len(ans.Unknown) < maxSteps {
				ans.Unknown = append(ans.Unknown, st)
			}
			ans.Result = Unknown
		}
	}
	if ans.Result != Yes && len(ans.Unknown) > 0 {
		ans.Result = Unknown
	}
	ans.Refused = mostRelevant(ans.Refused)
	return ans
}

// visit decides one bound member m of br, on node n in target's ancestry,
// for principal, and adds the step to ans.
func (e *Engine) visit(ans *Answer, br *boundRole, m, principal string, target, n *inventory.Node) {
	match, via, note := e.matches(m, principal)
	if match == No {
		if via != "" {
			ans.Refused = append(ans.Refused, Step{Member: m, Role: br.b.Role, Node: n, Condition: br.b.Condition, Via: via, Note: note})
		}
		return
	}
	if br.inert {
		ans.Refused = append(ans.Refused, Step{Member: m, Role: br.b.Role, Node: n, Condition: br.b.Condition, Via: via, Note: JoinNote(note, br.note)})
		return
	}
	res := match
	var cause Cause
	if match == Unknown {
		cause |= causeOfVia(via)
	}
	if br.b.Condition != nil {
		c, cnote := e.opts.Conditions.Evaluate(br.b.Condition, target)
		res = and(res, c)
		note = JoinNote(note, cnote)
		if c == Unknown {
			cause |= CauseCondition
		}
	}
	var gap *inventory.Gap
	if br.unknown && res != No {
		res = Unknown
		note = JoinNote(note, br.note)
		cause |= CauseRole
		gap = br.gap
	}
	step := Step{Member: m, Role: br.b.Role, Node: n, Condition: br.b.Condition, Via: via, Note: note, Cause: cause, Gap: gap}
	switch res {
	case Yes:
		if len(ans.Grants) < maxSteps {
			ans.Grants = append(ans.Grants, step)
		}
		ans.Result = Yes
	case Unknown:
		if len(ans.Unknown) < maxSteps {
			ans.Unknown = append(ans.Unknown, step)
		}
	default:
		ans.Refused = append(ans.Refused, step)
	}
}

// mostRelevant orders bindings that would grant but do not, the
// principal's own first (a false condition, a disabled role), then broad
// members (domain, allUsers), then groups it is not in, and keeps the first
// maxSteps.
func mostRelevant(ss []Step) []Step {
	rank := func(s Step) int {
		switch s.Via {
		case "":
			return 0
		case "group membership":
			return 2
		}
		return 1
	}
	sort.SliceStable(ss, func(i, j int) bool { return rank(ss[i]) < rank(ss[j]) })
	if len(ss) > maxSteps {
		ss = ss[:maxSteps]
	}
	return ss
}

// Unread lists, as undecided steps, the nodes of target's ancestry whose IAM
// policy the scan may not have read: any of them may hold a binding.
func (e *Engine) Unread(target *inventory.Node) []Step {
	var out []Step
	for n := target; n != nil; n = n.Parent {
		if g := e.inv.PolicyUnread(n); g != nil {
			out = append(out, Step{Node: n, Cause: CauseGap, Gap: g,
				Note: "the IAM policy of " + n.Kind.String() + " " + e.inv.DisplayName(n) + " was not read: " + g.Reason})
		}
	}
	return out
}

// causeOfVia names the cause of an undecided member match.
func causeOfVia(via string) Cause {
	switch via {
	case "group membership":
		return CauseGroup
	case "":
		return 0
	}
	return CausePrincipalSet
}

// JoinNote joins two notes on a step with "; ", skipping empty ones.
func JoinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// matches decides whether the bound member string covers principal.
func (e *Engine) matches(bound, principal string) (res Tri, via, note string) {
	if strings.EqualFold(bound, principal) {
		if strings.HasPrefix(bound, "deleted:") {
			return No, "", ""
		}
		return Yes, "", ""
	}
	kind, id, _ := strings.Cut(bound, ":")
	pkind, pid, _ := strings.Cut(principal, ":")
	switch kind {
	case "allUsers":
		return Yes, "allUsers", ""
	case "allAuthenticatedUsers":
		if principal == "allUsers" {
			return No, "", ""
		}
		return Yes, "allAuthenticatedUsers", ""
	case "domain":
		// Domain grants cover the domain's user accounts; groups may hold
		// outsiders and service accounts are not domain accounts.
		if pkind == "user" && strings.EqualFold(domainOf(pid), id) {
			return Yes, "domain", ""
		}
		return No, "", ""
	case "group":
		switch pkind {
		case "user", "serviceAccount", "group":
			r, n := e.opts.Groups.IsMember(principal, bound)
			return r, "group membership", n
		}
		return No, "", ""
	case "principalSet":
		return e.principalSetMatch(bound, principal)
	}
	return No, "", ""
}

func domainOf(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return email[i+1:]
	}
	return ""
}

// Holder is a member that holds one or more of the asked permissions on a
// resource.
type Holder struct {
	// Member is the member string exactly as bound.
	Member string
	// Perms are the asked permissions the member holds for certain.
	Perms PermSet
	// Maybe are the asked permissions the member may hold (conditions).
	Maybe PermSet
	Steps []Step
}

// Holders lists the members bound, on target or its ancestors, to a role
// that holds any of perms, in binding order from the target up. Members
// whose grant is only conditional and undecided have Perms empty and Maybe
// set. Bindings whose condition is false and deleted members are left out.
func (e *Engine) Holders(perms PermSet, target *inventory.Node) []Holder {
	var out []Holder
	idx := map[string]int{}
	for n := target; n != nil; n = n.Parent {
		for _, br := range e.index[n] {
			if br.inert {
				continue
			}
			have := br.perms & perms
			res, note, cause := Yes, "", Cause(0)
			if br.unknown {
				// A role whose definition is unknown may hold any of them.
				have, res, note, cause = perms, Unknown, br.note, CauseRole
			}
			if have == 0 {
				continue
			}
			if br.b.Condition != nil {
				c, cnote := e.opts.Conditions.Evaluate(br.b.Condition, target)
				if c == No {
					continue
				}
				if c == Unknown {
					cause |= CauseCondition
				}
				res, note = and(res, c), JoinNote(note, cnote)
			}
			for _, m := range br.b.Members {
				if strings.HasPrefix(m, "deleted:") {
					continue
				}
				i, ok := idx[m]
				if !ok {
					i = len(out)
					idx[m] = i
					out = append(out, Holder{Member: m})
				}
				h := &out[i]
				if res == Yes {
					h.Perms |= have
				} else {
					h.Maybe |= have
				}
				if len(h.Steps) < maxSteps {
					h.Steps = append(h.Steps, Step{Member: m, Role: br.b.Role, Node: n, Condition: br.b.Condition, Note: note, Cause: cause, Gap: br.gap})
				}
			}
		}
	}
	kept := out[:0]
	for _, h := range out {
		h.Maybe &^= h.Perms
		if e.opts.Denials != nil {
			for _, p := range Perms() {
				if !(h.Perms | h.Maybe).Has(p) {
					continue
				}
				switch d, step := e.opts.Denials.Denied(h.Member, p, target); d {
				case Yes:
					h.Perms &^= Set(p)
					h.Maybe &^= Set(p)
				case Unknown:
					// An undecided deny makes a sure grant undecided.
					if h.Perms.Has(p) {
						h.Perms &^= Set(p)
						h.Maybe |= Set(p)
					}
					step.Deny = true
					step.Cause |= CauseDeny
					step.Note = "a deny rule may apply: " + step.Note
					if !hasStep(h.Steps, step) {
						h.Steps = append(h.Steps, step)
					}
				}
			}
		}
		if h.Perms|h.Maybe != 0 {
			kept = append(kept, h)
		}
	}
	return kept
}

func hasStep(ss []Step, s Step) bool {
	for _, o := range ss {
		if o.Member == s.Member && o.Role == s.Role && o.Node == s.Node && o.Deny == s.Deny {
			return true
		}
	}
	return false
}
