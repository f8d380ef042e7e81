package deny

import (
	"strings"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// Deny-policy principal identifiers (IAM v2), as documented for
// DenyRule.denied_principals.
const (
	allPrincipals  = "principalSet://goog/public:all"
	userPrefix     = "principal://goog/subject/"
	saPrefix       = "principal://iam.googleapis.com/projects/-/serviceAccounts/"
	groupPrefix    = "principalSet://goog/group/"
	customerPrefix = "principalSet://goog/cloudIdentityCustomerId/"
	crmSetPrefix   = "principalSet://cloudresourcemanager.googleapis.com/"
)

// principal decides whether the deny principal identifier id covers member,
// an IAM v1 member string ("user:a@x", "serviceAccount:…", "group:…",
// "domain:…", "allUsers", "principal://…", "principalSet://…").
func (e *Evaluator) principal(id, member string) (res access.Tri, via, note string) {
	id = strings.TrimSpace(id)
	kind, email, _ := strings.Cut(member, ":")
	switch {
	case strings.HasPrefix(id, "deleted:"):
		return access.No, "", "" // a deleted principal is no live one
	case id == allPrincipals:
		return access.Yes, "all principals", ""
	case strings.HasPrefix(id, userPrefix):
		return is(kind == "user" && strings.EqualFold(email, id[len(userPrefix):])), "", ""
	case strings.HasPrefix(id, saPrefix):
		sa := id[len(saPrefix):]
		if !strings.Contains(sa, "@") {
			if kind == "serviceAccount" {
				return access.Unknown, "", "the deny rule names a service account by unique id " + sa + ", which the audit cannot map to an email"
			}
			return access.No, "", ""
		}
		return is(kind == "serviceAccount" && strings.EqualFold(email, sa)), "", ""
	case strings.HasPrefix(id, groupPrefix):
		group := "group:" + id[len(groupPrefix):]
		if strings.EqualFold(member, group) {
			return access.Yes, "", ""
		}
		switch kind {
		case "user", "serviceAccount", "group":
			if e.groups == nil {
				return access.Unknown, "group membership", "membership of " + group + " was not resolved"
			}
			r, n := e.groups.IsMember(member, group)
			return r, "group membership", n
		}
		return access.No, "", ""
	case strings.HasPrefix(id, customerPrefix):
		switch kind {
		case "user", "group", "serviceAccount", "domain":
			return access.Unknown, "Cloud Identity customer", "whether " + member + " belongs to Cloud Identity customer " + id[len(customerPrefix):] + " is not known to the audit"
		}
		return access.No, "", ""
	case strings.HasPrefix(id, crmSetPrefix) && strings.HasSuffix(id, "/type/ServiceAccount"):
		return e.serviceAccountSet(id, kind, email)
	case strings.HasPrefix(id, crmSetPrefix) && strings.HasSuffix(id, "/type/ServiceAgent"):
		return e.serviceAgentSet(id, kind, email)
	case strings.HasPrefix(id, "principal://iam.googleapis.com/") || strings.HasPrefix(id, "principalSet://iam.googleapis.com/"):
		return federated(id, member)
	case strings.HasSuffix(trustDomain(id), agentDomainSuffix):
		return agentIdentity(id, member)
	}
	return access.Unknown, "", "the audit does not understand deny principal " + id
}

func is(b bool) access.Tri {
	if b {
		return access.Yes
	}
	return access.No
}

// serviceAccountSet decides "all service accounts in a project, folder or
// organization" for a service account member, through the project its
// email names.
func (e *Evaluator) serviceAccountSet(id, kind, email string) (access.Tri, string, string) {
	if kind != "serviceAccount" {
		return access.No, "", ""
	}
	scope := strings.TrimSuffix(strings.TrimPrefix(id, crmSetPrefix), "/type/ServiceAccount")
	proj := saProject(e.inv, email)
	if proj == nil {
		return access.Unknown, "service accounts of " + scope, "the project of service account " + email + " is not in the inventory"
	}
	for n := proj.Node; n != nil; n = n.Parent {
		if n.Key == scope {
			return access.Yes, "service accounts of " + scope, ""
		}
	}
	return access.No, "", ""
}

// saProject finds the project a user-managed or default service account
// lives in from its email: NAME@PROJECT_ID.iam.gserviceaccount.com,
// PROJECT_ID@appspot.gserviceaccount.com,
// PROJECT_NUMBER-compute@developer.gserviceaccount.com. Google-managed
// service agents live in Google's projects and give nil.
func saProject(inv *inventory.Inventory, email string) *inventory.Project {
	if inv == nil {
		return nil
	}
	local, domain, ok := strings.Cut(strings.ToLower(email), "@")
	if !ok {
		return nil
	}
	switch {
	case strings.HasSuffix(domain, ".iam.gserviceaccount.com"):
		return inv.Project(strings.TrimSuffix(domain, ".iam.gserviceaccount.com"))
	case domain == "appspot.gserviceaccount.com":
		return inv.Project(local)
	case domain == "developer.gserviceaccount.com" && strings.HasSuffix(local, "-compute"):
		return inv.Project(strings.TrimSuffix(local, "-compute"))
	}
	return nil
}

// federated decides workload and workforce identity principals: the same
// identifier, or a pool-wide set ("…/POOL/*") holding a principal of the
// pool. Group and attribute sets of the pool depend on attribute mappings
// the audit cannot see.
func federated(id, member string) (access.Tri, string, string) {
	if id == member {
		return access.Yes, "", ""
	}
	pool, ok := poolOf(id)
	if !ok {
		return access.Unknown, "", "the audit does not understand deny principal " + id
	}
	mpool, ok := poolOf(member)
	if !ok || mpool != pool {
		return access.No, "", ""
	}
	if strings.HasSuffix(id, "/*") {
		return access.Yes, "identity pool", ""
	}
	return access.Unknown, "identity pool", "whether " + member + " is in " + id + " depends on attribute mappings"
}

// poolOf returns "…/workloadIdentityPools/POOL" or "…/workforcePools/POOL"
// of a principal:// or principalSet:// identifier.
func poolOf(m string) (string, bool) {
	_, rest, ok := strings.Cut(m, "://")
	if !ok {
		return "", false
	}
	for _, marker := range []string{"/workloadIdentityPools/", "/workforcePools/"} {
		if i := strings.Index(rest, marker); i >= 0 {
			name, _, _ := strings.Cut(rest[i+len(marker):], "/")
			return rest[:i+len(marker)] + name, true
		}
	}
	return "", false
}

// serviceAgentSet decides "all service agents associated with a project,
// folder or organization, or its descendants" for a service account
// member: the member must be a service agent, and the resource it serves
// (named in its email) must be the scope or lie below it.
func (e *Evaluator) serviceAgentSet(id, kind, email string) (access.Tri, string, string) {
	if kind != "serviceAccount" {
		return access.No, "", ""
	}
	scope := strings.TrimSuffix(strings.TrimPrefix(id, crmSetPrefix), "/type/ServiceAgent")
	via := "service agents of " + scope
	owner, agent := agentOwner(e.inv, email)
	switch agent {
	case access.No:
		return access.No, "", ""
	case access.Unknown:
		return access.Unknown, via, "whether " + email + " is a service agent is not known to the audit"
	}
	if owner == scope {
		return access.Yes, via, ""
	}
	n := e.nodeOf(owner)
	if n == nil {
		return access.Unknown, via, "service agent " + email + " serves " + owner + ", which is not in the inventory"
	}
	for ; n != nil; n = n.Parent {
		if n.Key == scope {
			return access.Yes, via, ""
		}
	}
	return access.No, "", ""
}

// nodeOf finds an organization, folder or project node by key.
func (e *Evaluator) nodeOf(key string) *inventory.Node {
	if e.inv == nil {
		return nil
	}
	if num, ok := strings.CutPrefix(key, "projects/"); ok {
		if p := e.inv.Project(num); p != nil {
			return p.Node
		}
		return nil
	}
	return e.inv.Nodes[key]
}

// agentOwner tells whether a service account email is a Google-managed
// service agent, and which organization, folder or project it serves:
// service-PROJECT_NUMBER@…, service-folder-N@…, service-org-N@… in a
// Google-owned *.iam.gserviceaccount.com domain, and the Google APIs
// service agent PROJECT_NUMBER@cloudservices.gserviceaccount.com
// (https://cloud.google.com/iam/docs/service-agents). User-managed and
// default service accounts of scanned projects are not service agents;
// other Google-managed forms are not known.
func agentOwner(inv *inventory.Inventory, email string) (string, access.Tri) {
	local, domain, ok := strings.Cut(strings.ToLower(email), "@")
	if !ok {
		return "", access.Unknown
	}
	if saProject(inv, email) != nil {
		return "", access.No // NAME@PROJECT_ID.iam…, appspot, compute default
	}
	switch {
	case domain == "cloudservices.gserviceaccount.com" && digits(local):
		return "projects/" + local, access.Yes
	case domain == "developer.gserviceaccount.com", domain == "appspot.gserviceaccount.com":
		return "", access.No // default service accounts, not agents
	case strings.HasSuffix(domain, ".iam.gserviceaccount.com"):
		if n, ok := strings.CutPrefix(local, "service-folder-"); ok && digits(n) {
			return "folders/" + n, access.Yes
		}
		if n, ok := strings.CutPrefix(local, "service-org-"); ok && digits(n) {
			return "organizations/" + n, access.Yes
		}
		if n, ok := strings.CutPrefix(local, "service-"); ok && digits(n) {
			return "projects/" + n, access.Yes
		}
	}
	if !strings.HasSuffix(domain, ".gserviceaccount.com") {
		return "", access.No // not a Google service account domain
	}
	return "", access.Unknown
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Agent identities (principal://TRUST_DOMAIN/resources/SERVICE/PATH) live in
// trust domains such as agents.global.org-N.system.id.goog.
const agentDomainSuffix = ".id.goog"

// trustDomain returns the host of a principal:// or principalSet://
// identifier.
func trustDomain(id string) string {
	_, rest, ok := strings.Cut(id, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// agentIdentity decides the agent identity forms of the deny table: one
// agent (principal://TD/resources/…), every agent of a trust domain
// (principalSet://TD/*), and the agents of a project
// (principalSet://TD/attribute.platformContainer/aiplatform/projects/N).
// Only agent identities of the same trust domain can be covered.
func agentIdentity(id, member string) (access.Tri, string, string) {
	td := trustDomain(id)
	if !strings.HasPrefix(member, "principal://") || trustDomain(member) != td {
		return access.No, "", ""
	}
	path := strings.TrimPrefix(member, "principal://"+td+"/")
	switch set, isSet := strings.CutPrefix(id, "principalSet://"+td+"/"); {
	case !isSet:
		return is(id == member), "", ""
	case set == "*":
		return access.Yes, "agent identities of " + td, ""
	case strings.HasPrefix(set, "attribute.platformContainer/"):
		container := strings.TrimPrefix(set, "attribute.platformContainer/")
		if strings.HasPrefix(path, "resources/"+container+"/") {
			return access.Yes, "agent identities of " + container, ""
		}
		if strings.HasPrefix(path, "resources/"+strings.SplitN(container, "/", 2)[0]+"/") {
			return access.No, "", ""
		}
	}
	return access.Unknown, "agent identities", "whether " + member + " is in " + id + " depends on attributes Google assigns"
}

// isSet reports whether an IAM v1 member string names a set of principals
// rather than one that can make a request.
func isSet(member string) bool {
	switch {
	case member == "allUsers", member == "allAuthenticatedUsers":
		return true
	case strings.HasPrefix(member, "group:"), strings.HasPrefix(member, "domain:"), strings.HasPrefix(member, "principalSet:"):
		return true
	}
	return false
}

// exemptWithin decides whether any exception principal of a rule is, or may
// be, a member of the set member: Yes with the first that is, Unknown if one
// may be, with a note that says which.
func (e *Evaluator) exemptWithin(exceptions []string, set string) (access.Tri, string) {
	res, note := access.No, ""
	for _, ex := range exceptions {
		r, why := e.within(strings.TrimSpace(ex), set)
		switch {
		case r == access.Yes:
			return access.Yes, "it exempts " + ex + ", within " + set + ": it denies the others, not every member; each principal is decided on its own"
		case r == access.Unknown && res == access.No:
			res, note = access.Unknown, "it exempts "+ex+", who may be within "+set+" ("+why+"): it may not deny every member"
		}
	}
	return res, note
}

// within decides whether the principals of deny identifier id overlap the
// set member. Google groups hold Google accounts, service accounts and
// groups; domain: holds the domain's Google accounts; allUsers and
// allAuthenticatedUsers hold everyone.
func (e *Evaluator) within(id, set string) (access.Tri, string) {
	if strings.HasPrefix(id, "deleted:") {
		return access.No, ""
	}
	if set == "allUsers" || set == "allAuthenticatedUsers" {
		return access.Yes, ""
	}
	one := "" // the v1 member string of a single Google principal
	switch {
	case strings.HasPrefix(id, userPrefix):
		one = "user:" + id[len(userPrefix):]
	case strings.HasPrefix(id, saPrefix) && strings.Contains(id[len(saPrefix):], "@"):
		one = "serviceAccount:" + id[len(saPrefix):]
	case strings.HasPrefix(id, groupPrefix):
		one = "group:" + id[len(groupPrefix):]
	}
	kind, name, _ := strings.Cut(set, ":")
	switch kind {
	case "group":
		switch {
		case one == "":
		case e.groups == nil:
			return access.Unknown, "memberships are not resolved"
		default:
			r, note := e.groups.IsMember(one, set)
			if r == access.No && strings.HasPrefix(one, "group:") {
				return access.Unknown, "two groups may share members"
			}
			return r, note
		}
		if strings.HasPrefix(id, "principal://iam.googleapis.com/locations/") || strings.HasPrefix(id, "principalSet://iam.googleapis.com/") ||
			strings.HasSuffix(trustDomain(id), agentDomainSuffix) {
			return access.No, "" // federated and agent identities are not group members
		}
		return access.Unknown, "a set of principals may include members of a group"
	case "domain":
		switch {
		case strings.HasPrefix(one, "user:"):
			return is(strings.HasSuffix(strings.ToLower(one), "@"+strings.ToLower(name))), ""
		case strings.HasPrefix(one, "group:"), strings.HasPrefix(id, customerPrefix):
			return access.Unknown, "it may hold the domain's accounts"
		}
		return access.No, ""
	case "principalSet":
		if p, ok := poolOf(id); ok {
			if q, ok := poolOf(set); ok && p == q {
				return access.Unknown, "the same identity pool"
			}
		}
		return access.No, ""
	}
	return access.Unknown, "the audit cannot compare " + id + " with " + set
}
