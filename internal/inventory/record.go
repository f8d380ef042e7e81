package inventory

import (
	"cloud.google.com/go/asset/apiv1/assetpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Record is one Cloud Asset Inventory asset reduced to what the audit
// reads. The Builder takes records from either decoder: FromAsset turns a
// ListAssets assetpb.Asset into one, and the export reader decodes export
// lines straight into one (scan.DecodeRecord), without protojson and
// structpb, which dominate the cost of reading a large export.
type Record struct {
	Name      string
	AssetType string
	Ancestors []string
	// Resource is the resource content; nil when the asset carries none.
	Resource *ResourceData
	// Policy is the IAM policy content; nil when the asset carries none.
	Policy *Policy
}

// ResourceData holds the fields of resource.data (and resource.location)
// that the audit reads, for every asset type it reads.
type ResourceData struct {
	Location string

	// Projects.
	ProjectID, ProjectNumber, LifecycleState string

	// Cloud Run services and jobs: Run is set when the data holds a Cloud
	// Run resource shape.
	Run *RunData

	// Artifact Registry repositories.
	Format, Mode, UpstreamSecret string
	// Upstreams are a virtual repository's upstream repositories
	// (virtualRepositoryConfig.upstreamPolicies[].repository).
	Upstreams []string

	// Custom roles.
	Stage       string
	Deleted     bool
	Permissions []string
}

// RunData is a Cloud Run service, job or worker pool as its resource data
// gives it.
type RunData struct {
	// Shape is "v1" (Knative) or "v2".
	Shape string
	// Containers as listed at the shape's path for the asset's kind;
	// ServiceAccount likewise.
	Containers     []Container
	ServiceAccount string
	Creator        string
	LastModifier   string
	// ManagedBy is the goog-managed-by label (v2 labels, v1
	// metadata.labels).
	ManagedBy string
}

// Policy is an IAM allow policy.
type Policy struct {
	Bindings []Binding
	// Dropped counts bindings the decoder read and did not keep, because
	// the Builder's KeepRoles would not keep their role.
	Dropped int
	// Ready says the decoder has already done the Builder's part: only
	// bindings the Builder's Keep keeps, roles and members interned in its
	// Strings, the members of all the bindings in one array. The Builder
	// then keeps Bindings as they are (conditions aside).
	Ready bool
}

// FromAsset reduces an assetpb.Asset (the ListAssets form) to a Record.
func FromAsset(a *assetpb.Asset) *Record {
	r := &Record{Name: a.GetName(), AssetType: a.GetAssetType(), Ancestors: a.GetAncestors()}
	if res := a.GetResource(); res != nil {
		r.Resource = resourceFromStruct(r.AssetType, res.GetData().GetFields(), res.GetLocation())
	}
	if p := a.GetIamPolicy(); p != nil {
		r.Policy = &Policy{Bindings: make([]Binding, 0, len(p.GetBindings()))}
		for _, bd := range p.GetBindings() {
			nb := Binding{Role: bd.GetRole(), Members: bd.GetMembers()}
			if c := bd.GetCondition(); c != nil && (c.GetExpression() != "" || c.GetTitle() != "") {
				nb.Condition = &Condition{Title: c.GetTitle(), Description: c.GetDescription(), Expression: c.GetExpression()}
			}
			r.Policy.Bindings = append(r.Policy.Bindings, nb)
		}
	}
	return r
}

// resourceFromStruct reads the audited fields of a resource's data.
func resourceFromStruct(assetType string, d map[string]*structpb.Value, location string) *ResourceData {
	rd := &ResourceData{Location: location}
	switch assetType {
	case TypeProject:
		rd.ProjectID, rd.ProjectNumber, rd.LifecycleState = str(d, "projectId"), str(d, "projectNumber"), str(d, "lifecycleState")
	case TypeService, TypeJob, TypeWorkerPool:
		rd.Run = runFromStruct(kindOf(assetType), d)
	case TypeRepository:
		rd.Format, rd.Mode = str(d, "format"), str(d, "mode")
		rd.UpstreamSecret = str(d, "remoteRepositoryConfig", "upstreamCredentials", "usernamePasswordCredentials", "passwordSecretVersion")
		for _, u := range list(d, "virtualRepositoryConfig", "upstreamPolicies") {
			rd.Upstreams = append(rd.Upstreams, str(u.GetStructValue().GetFields(), "repository"))
		}
	case TypeRole:
		rd.Stage, rd.Deleted = str(d, "stage"), boolean(d, "deleted")
		for _, v := range list(d, "includedPermissions") {
			rd.Permissions = append(rd.Permissions, v.GetStringValue())
		}
	}
	return rd
}

// runFromStruct reads a Cloud Run service, job or worker pool in either
// resource shape:
//
//   - v1 (Knative): metadata{name, annotations, labels}, and the containers
//     at spec.template.spec.containers (services, worker pools) or
//     spec.template.spec.template.spec.containers (jobs);
//   - v2: creator, lastModifier, labels, and the containers at
//     template.containers (services, worker pools) or
//     template.template.containers (jobs).
func runFromStruct(k Kind, d map[string]*structpb.Value) *RunData {
	rd := &RunData{}
	var containers []*structpb.Value
	if _, v1 := d["spec"]; v1 || d["apiVersion"] != nil || d["metadata"] != nil {
		rd.Shape = "v1"
		ann := lookup(d, "metadata", "annotations").GetStructValue().GetFields()
		rd.Creator, rd.LastModifier = annotations(func(key string) string { return str(ann, key) })
		rd.ManagedBy = str(d, "metadata", "labels", LabelManagedBy)
		if k != KindJob {
			containers = list(d, "spec", "template", "spec", "containers")
			rd.ServiceAccount = str(d, "spec", "template", "spec", "serviceAccountName")
		} else {
			containers = list(d, "spec", "template", "spec", "template", "spec", "containers")
			rd.ServiceAccount = str(d, "spec", "template", "spec", "template", "spec", "serviceAccountName")
		}
	} else {
		rd.Shape = "v2"
		rd.Creator = str(d, "creator")
		rd.LastModifier = str(d, "lastModifier")
		rd.ManagedBy = str(d, "labels", LabelManagedBy)
		if k != KindJob {
			containers = list(d, "template", "containers")
			rd.ServiceAccount = str(d, "template", "serviceAccount")
		} else {
			containers = list(d, "template", "template", "containers")
			rd.ServiceAccount = str(d, "template", "template", "serviceAccount")
		}
	}
	for _, c := range containers {
		f := c.GetStructValue().GetFields()
		rd.Containers = append(rd.Containers, Container{Name: str(f, "name"), Image: str(f, "image")})
	}
	return rd
}

// LabelManagedBy is the label Google services put on resources they
// create and manage.
const LabelManagedBy = "goog-managed-by"

// annotations reads the creator and last modifier of a v1 resource from
// its annotations, Knative's first, then Cloud Run's.
func annotations(get func(string) string) (creator, lastModifier string) {
	for _, prefix := range []string{"serving.knative.dev/", "run.googleapis.com/"} {
		if creator == "" {
			creator = get(prefix + "creator")
		}
		if lastModifier == "" {
			lastModifier = get(prefix + "lastModifier")
		}
	}
	return creator, lastModifier
}
