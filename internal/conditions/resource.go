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
//     "secretmanager.googleapis.com". secretmanager.versions.access is
//     checked on the secret version
//     ("projects/PROJECT_NUMBER/secrets/S/versions/V", type
//     "secretmanager.googleapis.com/SecretVersion"), and the version a
//     request names is not part of the question the engine asks.
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
