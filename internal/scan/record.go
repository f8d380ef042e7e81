package scan

import (
	"encoding/json"
	"errors"

	"github.com/runaudit/runaudit/internal/inventory"
)

// The export line, typed: only what the audit reads. The export writes the
// asset's own keys in snake_case and the API's camelCase may also appear
// (both are accepted, as protojson accepts them); resource.data keeps the
// resource API's camelCase. Unknown fields are skipped, as protojson's
// DiscardUnknown does.
type exportAsset struct {
	Name       string          `json:"name"`
	AssetType  string          `json:"asset_type"`
	AssetType2 string          `json:"assetType"`
	Ancestors  []string        `json:"ancestors"`
	Resource   *exportResource `json:"resource"`
	IAMPolicy  *exportPolicy   `json:"iam_policy"`
	IAMPolicy2 *exportPolicy   `json:"iamPolicy"`
}

type exportResource struct {
	Location string      `json:"location"`
	Data     *exportData `json:"data"`
}

// exportData is the union of the resource data fields the audit reads,
// over every asset type it reads.
type exportData struct {
	// Projects.
	ProjectID      string          `json:"projectId"`
	ProjectNumber  json.RawMessage `json:"projectNumber"` // a string; older exports may hold a number
	LifecycleState string          `json:"lifecycleState"`

	// Cloud Run, v2.
	Creator      string            `json:"creator"`
	LastModifier string            `json:"lastModifier"`
	Labels       map[string]string `json:"labels"`
	Template     *v2Template       `json:"template"`
	// Cloud Run, v1 (Knative).
	APIVersion *string     `json:"apiVersion"`
	Metadata   *v1Metadata `json:"metadata"`
	Spec       *v1Spec     `json:"spec"`

	// Repositories.
	Format                 string `json:"format"`
	Mode                   string `json:"mode"`
	RemoteRepositoryConfig *struct {
		UpstreamCredentials *struct {
			UsernamePasswordCredentials *struct {
				PasswordSecretVersion string `json:"passwordSecretVersion"`
			} `json:"usernamePasswordCredentials"`
		} `json:"upstreamCredentials"`
	} `json:"remoteRepositoryConfig"`
	VirtualRepositoryConfig *struct {
		UpstreamPolicies []struct {
			Repository string `json:"repository"`
		} `json:"upstreamPolicies"`
	} `json:"virtualRepositoryConfig"`

	// Custom roles.
	Stage               string   `json:"stage"`
	Deleted             bool     `json:"deleted"`
	IncludedPermissions []string `json:"includedPermissions"`
}

type v2Template struct {
	Containers     []exportContainer `json:"containers"`
	ServiceAccount string            `json:"serviceAccount"`
	// Jobs nest the task template: template.template.
	Template *v2Template `json:"template"`
}

type exportContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

type v1Metadata struct {
	Annotations map[string]string `json:"annotations"`
	Labels      map[string]string `json:"labels"`
}

type v1Spec struct {
	Template *v1PodTemplate `json:"template"`
}

type v1PodTemplate struct {
	Spec *v1PodSpec `json:"spec"`
}

type v1PodSpec struct {
	Containers         []exportContainer `json:"containers"`
	ServiceAccountName string            `json:"serviceAccountName"`
	// Jobs nest the task template: spec.template.spec.template.spec.
	Template *v1PodTemplate `json:"template"`
}

// exportPolicy decodes bindings straight into the inventory's type: its
// fields Role, Members and Condition (Title, Description, Expression)
// match the export's keys as encoding/json matches them, without regard to
// case, as tags "role", "members", "condition", … would.
type exportPolicy struct {
	Bindings []inventory.Binding `json:"bindings"`
}

// DecodeRecord decodes one export line (snake_case or camelCase) into the
// Record the Builder reads, with encoding/json into typed structs: the
// export reader's fast path. It gives the same inventory as DecodeAsset
// followed by inventory.FromAsset; a test holds the two to that on every
// fixture.
func DecodeRecord(line []byte) (*inventory.Record, error) {
	var a exportAsset
	if err := json.Unmarshal(line, &a); err != nil {
		return nil, err
	}
	r := &inventory.Record{Name: a.Name, AssetType: a.AssetType, Ancestors: a.Ancestors}
	if r.AssetType == "" {
		r.AssetType = a.AssetType2
	}
	if r.Name == "" || r.AssetType == "" {
		return nil, errors.New("asset has no name or asset_type")
	}
	if a.Resource != nil {
		r.Resource = resourceData(r.AssetType, a.Resource)
	}
	p := a.IAMPolicy
	if p == nil {
		p = a.IAMPolicy2
	}
	if p != nil {
		for i, b := range p.Bindings {
			if c := b.Condition; c != nil && c.Expression == "" && c.Title == "" {
				p.Bindings[i].Condition = nil // an empty condition is none
			}
		}
		r.Policy = &inventory.Policy{Bindings: p.Bindings}
	}
	return r, nil
}

func resourceData(assetType string, res *exportResource) *inventory.ResourceData {
	rd := &inventory.ResourceData{Location: res.Location}
	d := res.Data
	if d == nil {
		d = &exportData{}
	}
	switch assetType {
	case inventory.TypeProject:
		rd.ProjectID, rd.LifecycleState = d.ProjectID, d.LifecycleState
		rd.ProjectNumber = jsonString(d.ProjectNumber)
	case inventory.TypeService, inventory.TypeJob, inventory.TypeWorkerPool:
		rd.Run = runData(assetType == inventory.TypeJob, d)
	case inventory.TypeRepository:
		rd.Format, rd.Mode = d.Format, d.Mode
		if c := d.RemoteRepositoryConfig; c != nil && c.UpstreamCredentials != nil && c.UpstreamCredentials.UsernamePasswordCredentials != nil {
			rd.UpstreamSecret = c.UpstreamCredentials.UsernamePasswordCredentials.PasswordSecretVersion
		}
		if c := d.VirtualRepositoryConfig; c != nil {
			for _, u := range c.UpstreamPolicies {
				rd.Upstreams = append(rd.Upstreams, u.Repository)
			}
		}
	case inventory.TypeRole:
		rd.Stage, rd.Deleted, rd.Permissions = d.Stage, d.Deleted, d.IncludedPermissions
	}
	return rd
}

// jsonString reads a JSON string value, or "" for anything else, as
// structpb's GetStringValue does.
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// runData reads either Cloud Run shape, as inventory.FromAsset does; job
// is true for jobs, whose task template nests one level deeper than the
// template of services and worker pools.
func runData(job bool, d *exportData) *inventory.RunData {
	rd := &inventory.RunData{}
	var cs []exportContainer
	if d.Spec != nil || d.APIVersion != nil || d.Metadata != nil {
		rd.Shape = "v1"
		if d.Metadata != nil {
			rd.ManagedBy = d.Metadata.Labels[inventory.LabelManagedBy]
			ann := d.Metadata.Annotations
			for _, prefix := range []string{"serving.knative.dev/", "run.googleapis.com/"} {
				if rd.Creator == "" {
					rd.Creator = ann[prefix+"creator"]
				}
				if rd.LastModifier == "" {
					rd.LastModifier = ann[prefix+"lastModifier"]
				}
			}
		}
		var pod *v1PodSpec
		if d.Spec != nil && d.Spec.Template != nil {
			pod = d.Spec.Template.Spec
		}
		if job {
			pod = nil
			if d.Spec != nil && d.Spec.Template != nil && d.Spec.Template.Spec != nil && d.Spec.Template.Spec.Template != nil {
				pod = d.Spec.Template.Spec.Template.Spec
			}
		}
		if pod != nil {
			cs, rd.ServiceAccount = pod.Containers, pod.ServiceAccountName
		}
	} else {
		rd.Shape = "v2"
		rd.Creator, rd.LastModifier = d.Creator, d.LastModifier
		rd.ManagedBy = d.Labels[inventory.LabelManagedBy]
		t := d.Template
		if job && t != nil {
			t = t.Template
		}
		if t != nil {
			cs, rd.ServiceAccount = t.Containers, t.ServiceAccount
		}
	}
	for _, c := range cs {
		rd.Containers = append(rd.Containers, inventory.Container{Name: c.Name, Image: c.Image})
	}
	return rd
}
