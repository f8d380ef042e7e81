package access

import (
	"strconv"
	"strings"

	"github.com/runaudit/runaudit/internal/inventory"
)

// principalSetMatch decides whether a bound principal set of an allow
// policy holds principal, for every form IAM's principal identifiers page
// lists for allow policies
// (https://cloud.google.com/iam/docs/principal-identifiers): membership is
// decided where the principal's own name decides it, and undecided only
// where it hangs on something the audit cannot see (an identity
// provider's groups or attributes, a directory).
func (e *Engine) principalSetMatch(bound, principal string) (Tri, string, string) {
	rest, ok := strings.CutPrefix(bound, "principalSet://")
	if !ok {
		return Unknown, "principal set", "the audit does not understand principal set " + bound
	}
	switch {
	case strings.HasPrefix(rest, "cloudresourcemanager.googleapis.com/"):
		return e.serviceAccountsOf(strings.TrimPrefix(rest, "cloudresourcemanager.googleapis.com/"), bound, principal)
	case strings.HasPrefix(rest, "goog/cloudIdentityCustomerId/"):
		// The accounts of a Google Workspace or Cloud Identity customer:
		// users and groups may be, workload identities are not.
		switch kindOf(principal) {
		case "user", "group", "serviceAccount":
			return Unknown, "Cloud Identity customer", "whether " + principal + " belongs to Cloud Identity customer " + strings.TrimPrefix(rest, "goog/cloudIdentityCustomerId/") + " is not known to the audit"
		}
		return No, "", ""
	case strings.HasPrefix(rest, "goog/public:all"):
		return Yes, "public", ""
	}
	return poolSetMatch(bound, principal)
}

// serviceAccountsOf decides "every service account of a project, folder or
// organization" (RESOURCE_TYPE/NUMBER/type/ServiceAccount). A service
// account belongs to the project in its email; users, groups and workload
// identities are never accounts of a project.
func (e *Engine) serviceAccountsOf(scope, bound, principal string) (Tri, string, string) {
	parts := strings.Split(scope, "/")
	if len(parts) != 4 || parts[2] != "type" || parts[3] != "ServiceAccount" {
		return Unknown, "principal set", "the audit does not understand principal set " + bound
	}
	scopeKey := parts[0] + "/" + parts[1]
	via := "service accounts of " + scopeKey
	switch kindOf(principal) {
	case "serviceAccount":
	case "principalSet":
		if inner, ok := strings.CutPrefix(principal, "principalSet://cloudresourcemanager.googleapis.com/"); ok {
			// A narrower set of the same kind is inside the bound one.
			if ip := strings.Split(inner, "/"); len(ip) == 4 && ip[2] == "type" && ip[3] == "ServiceAccount" {
				if n := e.inv.Nodes[ip[0]+"/"+ip[1]]; n != nil && e.within(n, scopeKey) {
					return Yes, via, ""
				}
			}
		}
		return No, "", ""
	default:
		return No, "", ""
	}
	email := strings.ToLower(strings.TrimPrefix(principal, "serviceAccount:"))
	proj, managed := serviceAccountProject(email)
	if managed {
		return Unknown, via, "service agent " + email + " is managed by Google; whether IAM counts it among the service accounts of " + scopeKey + " is not documented"
	}
	if proj == "" {
		return Unknown, via, "the project of service account " + email + " cannot be told from its email"
	}
	p := e.inv.Project(proj)
	if p == nil || p.Node == nil {
		return Unknown, via, "the project " + proj + " of service account " + email + " is not in the inventory"
	}
	if e.within(p.Node, scopeKey) {
		return Yes, via, ""
	}
	if !placed(p.Node) {
		return Unknown, via, "where project " + proj + " of service account " + email + " sits in the hierarchy is not known"
	}
	return No, "", ""
}

// within reports whether scope (a node key) is n or an ancestor of n.
func (e *Engine) within(n *inventory.Node, scope string) bool {
	for a := n; a != nil; a = a.Parent {
		if a.Key == scope {
			return true
		}
	}
	return false
}

// placed reports whether n's ancestry reaches an organization, so that
// "not within" is sure.
func placed(n *inventory.Node) bool {
	for a := n; a != nil; a = a.Parent {
		if a.Kind == inventory.KindOrganization {
			return true
		}
	}
	return false
}

// serviceAccountProject returns the project (id or number) a service
// account's email names, and whether the account is a Google-managed
// service agent rather than an account of a customer project.
func serviceAccountProject(email string) (project string, managed bool) {
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return "", false
	}
	switch {
	case isNumber(strings.TrimPrefix(local, "service-")) && strings.HasPrefix(local, "service-") && strings.HasSuffix(domain, ".iam.gserviceaccount.com") && !strings.Contains(strings.TrimSuffix(domain, ".iam.gserviceaccount.com"), "."):
		// service-NUMBER@gcp-sa-….iam.gserviceaccount.com and the like.
		return "", true
	case domain == "cloudservices.gserviceaccount.com", domain == "cloudbuild.gserviceaccount.com":
		return "", true
	case strings.HasSuffix(domain, ".iam.gserviceaccount.com"):
		// SA@PROJECT_ID.iam.gserviceaccount.com; domain-scoped projects
		// put the domain first: SA@PROJECT.DOMAIN.iam.gserviceaccount.com.
		p := strings.TrimSuffix(domain, ".iam.gserviceaccount.com")
		if i := strings.IndexByte(p, '.'); i >= 0 {
			p = p[i+1:] + ":" + p[:i]
		}
		return p, false
	case domain == "developer.gserviceaccount.com":
		// NUMBER-compute@developer.gserviceaccount.com.
		num, _, _ := strings.Cut(local, "-")
		return num, false
	case domain == "appspot.gserviceaccount.com":
		return local, false
	}
	return "", false
}

func kindOf(member string) string {
	if i := strings.Index(member, ":"); i >= 0 {
		return member[:i]
	}
	return member
}

// poolSetMatch decides whether a workload or workforce identity principal
// or set is inside a bound pool set. "…/POOL/*" holds every identity of
// the pool; group, attribute and namespace sets hang on what the identity
// provider asserts, which the audit cannot see.
func poolSetMatch(bound, principal string) (Tri, string, string) {
	pool, ok := poolOf(bound)
	if !ok {
		return Unknown, "principal set", "whether " + principal + " is in " + bound + " is not evaluated"
	}
	ppool, ok := poolOf(principal)
	if !ok || ppool != pool {
		return No, "", ""
	}
	via := "workload identity pool"
	if strings.Contains(pool, "/workforcePools/") {
		via = "workforce identity pool"
	}
	if strings.HasSuffix(bound, pool+"/*") {
		return Yes, via, ""
	}
	return Unknown, via, "whether " + principal + " is in " + bound + " depends on what the identity provider asserts (groups, attributes)"
}

// poolOf returns ".../workloadIdentityPools/POOL" (or a workforce pool) of a
// principal:// or principalSet:// member.
func poolOf(m string) (string, bool) {
	for _, marker := range []string{"/workloadIdentityPools/", "/workforcePools/"} {
		if i := strings.Index(m, marker); i >= 0 {
			rest := m[i+len(marker):]
			name, _, _ := strings.Cut(rest, "/")
			start := strings.Index(m, "://")
			if start < 0 {
				return "", false
			}
			return m[start+3:i+len(marker)] + name, true
		}
	}
	return "", false
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
