package conditions

import (
	"strings"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Attributes are the resource attributes IAM conditions see for a request
// on a resource. An empty field is not known to the audit.
type Attributes struct {
	Name    string
	Type    string
	Service string
}

// Resource returns the resource attributes of n that the audit knows.
//
//   - Artifact Registry repositories: resource.name
//     "projects/PROJECT_ID/locations/L/repositories/R", resource.type
//     "artifactregistry.googleapis.com/Repository", resource.service
//     "artifactregistry.googleapis.com". The name needs the project id; when
//     the inventory does not know it, the name is unknown.
//   - Secret Manager secrets: only resource.service
//     "secretmanager.googleapis.com".
//   - Secret versions, where secretmanager.versions.access is checked:
//     resource.name "projects/PROJECT_NUMBER/secrets/S/versions/V" (unknown
//     for the alias "latest"), resource.type
//     "secretmanager.googleapis.com/SecretVersion", resource.service.
//   - Cloud Run services and jobs, projects, folders, organizations:
//     nothing. Cloud Run is not among the services IAM documents resource
//     attributes for, so the audit does not guess them.
func Resource(inv *inventory.Inventory, n *inventory.Node) Attributes {
	if n == nil {
		return Attributes{}
	}
	switch n.Kind {
	case inventory.KindRepository:
		a := Attributes{Type: inventory.TypeRepository, Service: "artifactregistry.googleapis.com"}
		if id := projectID(inv, n.Key); id != "" {
			rest := n.Key[strings.Index(n.Key[len("projects/"):], "/")+len("projects/"):]
			a.Name = "projects/" + id + rest
		}
		return a
	case inventory.KindSecret:
		return Attributes{Service: "secretmanager.googleapis.com"}
	case inventory.KindSecretVersion:
		// The version a remote repository reads is known from its
		// configuration, named with the project number as IAM sees it;
		// the alias "latest" names no version.
		a := Attributes{Type: "secretmanager.googleapis.com/SecretVersion", Service: "secretmanager.googleapis.com"}
		if !strings.HasSuffix(n.Key, "/versions/latest") {
			a.Name = n.Key
		}
		return a
	}
	return Attributes{}
}

// projectID returns the id of the project in a node key
// ("projects/NUMBER/…"), or "" when the inventory does not know it.
func projectID(inv *inventory.Inventory, key string) string {
	if inv == nil {
		return ""
	}
	rest, ok := strings.CutPrefix(key, "projects/")
	if !ok {
		return ""
	}
	num, _, _ := strings.Cut(rest, "/")
	if p := inv.Projects[num]; p != nil {
		return p.ID
	}
	return ""
}
