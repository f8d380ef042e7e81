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
	case strings.HasPrefix(id, "principal://iam.googleapis.com/") || strings.HasPrefix(id, "principalSet://iam.googleapis.com/"):
		return federated(id, member)
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
