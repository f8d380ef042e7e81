package scan

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/runaudit/runaudit/internal/inventory"
)

// The export line, typed: only what the audit reads. The export writes the
// asset's own keys in snake_case and the API's camelCase may also appear
// (both are accepted, as protojson accepts them); resource.data keeps the
// resource API's camelCase. Names match exactly, as protojson's do (not
// without regard to case, as encoding/json's would). Unknown fields are
// skipped, as protojson's DiscardUnknown does.
type exportAsset struct {
	Name string `json:"name"`
	// Both spellings of a key are one protobuf field: protojson refuses a
	// line that gives both, even if one is null, and so does DecodeRecord.
	AssetType  present[string]        `json:"asset_type"`
	AssetType2 present[string]        `json:"assetType"`
	Ancestors  stringList             `json:"ancestors"`
	Resource   *exportResource        `json:"resource"`
	IAMPolicy  present[*exportPolicy] `json:"iam_policy"`
	IAMPolicy2 present[*exportPolicy] `json:"iamPolicy"`
}

type exportResource struct {
	Location string      `json:"location"`
	Data     *exportData `json:"data"`
}

// exportData is the union of the resource data fields the audit reads,
// over every asset type it reads. resource.data is a google.protobuf.Struct:
// any key may hold any JSON value, so each field is loose, read as
// structpb's getters read it (a value of another type reads as zero).
type exportData struct {
	// Projects.
	ProjectID      loose[string] `json:"projectId"`
	ProjectNumber  loose[string] `json:"projectNumber"` // a string; older exports may hold a number, which reads as ""
	LifecycleState loose[string] `json:"lifecycleState"`

	// Cloud Run, v2.
	Creator      loose[string]      `json:"creator"`
	LastModifier loose[string]      `json:"lastModifier"`
	Labels       loose[stringMap]   `json:"labels"`
	Template     loose[*v2Template] `json:"template"`
	// Cloud Run, v1 (Knative): any of the three keys, even null, makes
	// the v1 shape, as inventory.FromAsset decides.
	APIVersion loose[string]      `json:"apiVersion"`
	Metadata   loose[*v1Metadata] `json:"metadata"`
	Spec       loose[*v1Spec]     `json:"spec"`

	// Repositories.
	Format                  loose[string]                   `json:"format"`
	Mode                    loose[string]                   `json:"mode"`
	RemoteRepositoryConfig  loose[*remoteRepositoryConfig]  `json:"remoteRepositoryConfig"`
	VirtualRepositoryConfig loose[*virtualRepositoryConfig] `json:"virtualRepositoryConfig"`

	// Custom roles.
	Stage               loose[string]          `json:"stage"`
	Deleted             loose[bool]            `json:"deleted"`
	IncludedPermissions loose[[]loose[string]] `json:"includedPermissions"`
}

type stringMap map[string]loose[string]

type remoteRepositoryConfig struct {
	UpstreamCredentials loose[*struct {
		UsernamePasswordCredentials loose[*struct {
			PasswordSecretVersion loose[string] `json:"passwordSecretVersion"`
		}] `json:"usernamePasswordCredentials"`
	}] `json:"upstreamCredentials"`
}

type virtualRepositoryConfig struct {
	UpstreamPolicies loose[[]loose[struct {
		Repository loose[string] `json:"repository"`
	}]] `json:"upstreamPolicies"`
}

type v2Template struct {
	Containers     loose[[]loose[exportContainer]] `json:"containers"`
	ServiceAccount loose[string]                   `json:"serviceAccount"`
	// Jobs nest the task template: template.template.
	Template loose[*v2Template] `json:"template"`
}

type exportContainer struct {
	Name  loose[string] `json:"name"`
	Image loose[string] `json:"image"`
}

type v1Metadata struct {
	Annotations loose[stringMap] `json:"annotations"`
	Labels      loose[stringMap] `json:"labels"`
}

type v1Spec struct {
	Template loose[*v1PodTemplate] `json:"template"`
}

type v1PodTemplate struct {
	Spec loose[*v1PodSpec] `json:"spec"`
}

type v1PodSpec struct {
	Containers         loose[[]loose[exportContainer]] `json:"containers"`
	ServiceAccountName loose[string]                   `json:"serviceAccountName"`
	// Jobs nest the task template: spec.template.spec.template.spec.
	Template loose[*v1PodTemplate] `json:"template"`
}

// exportPolicy decodes bindings straight into the inventory's type
// (exportBindings).
type exportPolicy struct {
	Bindings exportBindings `json:"bindings"`
}

// stringList is a repeated string field: null as a whole is an empty
// list, but a null element is refused, as protojson refuses it (encoding
// the list as []string would read it as "").
type stringList []string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (l *stringList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*l = nil
	if ok, err := openArray(dec, "the value", "an array of strings"); !ok {
		return err
	}
	var buf [8]string // an asset has a handful of ancestors: one allocation
	list := buf[:0]
	for dec.PeekKind() != ']' {
		if dec.PeekKind() != '"' {
			return wrongKind(dec, "an element", "a string")
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		list = append(list, tok.String())
	}
	if len(list) > 0 {
		*l = slices.Clone(list)
	}
	_, err := dec.ReadToken()
	return err
}

// kindWord names a JSON kind in words, for messages.
func kindWord(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "not JSON"
}

// wrongKind reads the value dec is at and says that what stands there,
// what, is not what belongs there; a syntax error in the value is
// returned instead, since it says more.
func wrongKind(dec *jsontext.Decoder, what, want string) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return fmt.Errorf("%s is %s, want %s", what, kindWord(v.Kind()), want)
}

// openArray reads the start of a repeated field's array and reports
// whether elements follow: null reads as an empty field (false, nil), as
// protojson reads it, and any other kind is refused (wrongKind).
func openArray(dec *jsontext.Decoder, what, want string) (bool, error) {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return false, err
	case '[':
		_, err := dec.ReadToken()
		return err == nil, err
	}
	return false, wrongKind(dec, what, want)
}

// present is a field whose presence counts, even when null.
type present[T any] struct {
	V   T
	Set bool
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (p *present[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	p.Set = true
	return json.UnmarshalDecode(dec, &p.V)
}

// loose is a value inside a google.protobuf.Struct, read as structpb's
// getters read it: a JSON value of the kind T decodes from is decoded
// (strictly, errors included), any other (null, a number where a string
// belongs, …) is skipped and reads as T's zero value. Set records the key's
// presence.
type loose[T any] struct {
	V   T
	Set bool
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (l *loose[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	l.Set = true
	if k := dec.PeekKind(); k != kindOf[T]() && !(k == 'f' && kindOf[T]() == 't') {
		return dec.SkipValue()
	}
	return json.UnmarshalDecode(dec, &l.V)
}

// kindOf returns the JSON kind T decodes from: '"', 't' (either boolean),
// '[' or '{'.
func kindOf[T any]() jsontext.Kind {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return '"'
	case reflect.Bool:
		return 't'
	case reflect.Slice:
		return '['
	default: // structs and maps
		return '{'
	}
}

// DecodeRecord decodes one export line (snake_case or camelCase) into the
// Record the Builder reads, into typed structs: the export reader's fast
// path. It gives the same inventory as DecodeAsset followed by
// inventory.FromAsset; tests hold the two to that on every fixture and on
// fuzzed lines.
//
// It decodes with the encoding/json v2 semantics (github.com/go-json-experiment/json,
// the code Go 1.26 ships as encoding/json/v2 behind GOEXPERIMENT=jsonv2):
// one pass instead of encoding/json's validation pass and decoding pass,
// about twice as fast, and, like protojson and unlike encoding/json, it
// rejects invalid UTF-8 and duplicate names and matches names exactly.
//
// Where the two decoders differ, on lines no export holds: DecodeRecord
// refuses duplicate names anywhere in a line, protojson only in the fields
// it decodes; DecodeRecord skips the fields the audit does not read
// unchecked, so a malformed update_time, say, does not make it refuse a
// line; and it reads no number from resource.data, so it accepts a number
// there beyond float64's range, or nesting deeper than protojson's
// recursion limit, which protojson refuses. FuzzDecodersAgree and
// TestSpecDecoderContract hold it to exactly these.
func DecodeRecord(line []byte) (*inventory.Record, error) {
	return decodeRecord(line)
}

// decodeRecord is DecodeRecord with decoding options: ReadExport's
// (bindingsReader).
func decodeRecord(line []byte, opts ...json.Options) (*inventory.Record, error) {
	var a exportAsset
	if err := json.Unmarshal(line, &a, opts...); err != nil {
		return nil, decodeError(err)
	}
	if a.AssetType.Set && a.AssetType2.Set {
		return nil, errors.New(`duplicate field "assetType" (also given as "asset_type")`)
	}
	if a.IAMPolicy.Set && a.IAMPolicy2.Set {
		return nil, errors.New(`duplicate field "iamPolicy" (also given as "iam_policy")`)
	}
	r := &inventory.Record{Name: a.Name, AssetType: a.AssetType.V, Ancestors: []string(a.Ancestors)}
	if r.AssetType == "" {
		r.AssetType = a.AssetType2.V
	}
	if r.Name == "" || r.AssetType == "" {
		return nil, errors.New("asset has no name or asset_type")
	}
	if a.Resource != nil {
		r.Resource = resourceData(r.AssetType, a.Resource)
	}
	p := a.IAMPolicy.V
	if p == nil {
		p = a.IAMPolicy2.V
	}
	if p != nil {
		r.Policy = &inventory.Policy{Bindings: p.Bindings.List, Dropped: p.Bindings.Dropped, Ready: p.Bindings.Ready}
	}
	return r, nil
}

// decodeError words a decoding error for the reader of the skipped list:
// where in the line, and what was wrong, without the decoder's Go types.
func decodeError(err error) error {
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return err // a syntax error: jsontext says where
	}
	where := "at " + string(se.JSONPointer)
	if se.JSONPointer == "" {
		where = "at the top level"
	}
	if se.Err != nil {
		var inner *json.SemanticError
		if !errors.As(se.Err, &inner) {
			return fmt.Errorf("%s: %w", where, se.Err)
		}
	}
	want := "another type"
	if se.GoType != nil {
		t := se.GoType
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "a boolean"
		case reflect.Slice:
			want = "an array"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
	}
	if se.JSONKind == 0 {
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %s where %s belongs", where, kindWord(se.JSONKind), want)
}

func resourceData(assetType string, res *exportResource) *inventory.ResourceData {
	rd := &inventory.ResourceData{Location: res.Location}
	d := res.Data
	if d == nil {
		d = &exportData{}
	}
	switch assetType {
	case inventory.TypeProject:
		rd.ProjectID, rd.LifecycleState = d.ProjectID.V, d.LifecycleState.V
		rd.ProjectNumber = d.ProjectNumber.V
	case inventory.TypeService, inventory.TypeJob, inventory.TypeWorkerPool:
		rd.Run = runData(assetType == inventory.TypeJob, d)
	case inventory.TypeRepository:
		rd.Format, rd.Mode = d.Format.V, d.Mode.V
		if c := d.RemoteRepositoryConfig.V; c != nil {
			if u := c.UpstreamCredentials.V; u != nil {
				if p := u.UsernamePasswordCredentials.V; p != nil {
					rd.UpstreamSecret = p.PasswordSecretVersion.V
				}
			}
		}
		if c := d.VirtualRepositoryConfig.V; c != nil {
			for _, u := range c.UpstreamPolicies.V {
				rd.Upstreams = append(rd.Upstreams, u.V.Repository.V)
			}
		}
	case inventory.TypeRole:
		rd.Stage, rd.Deleted = d.Stage.V, d.Deleted.V
		for _, p := range d.IncludedPermissions.V {
			rd.Permissions = append(rd.Permissions, p.V)
		}
	}
	return rd
}

// runData reads either Cloud Run shape, as inventory.FromAsset does; job
// is true for jobs, whose task template nests one level deeper than the
// template of services and worker pools.
func runData(job bool, d *exportData) *inventory.RunData {
	rd := &inventory.RunData{}
	var cs []loose[exportContainer]
	if d.Spec.Set || d.APIVersion.Set || d.Metadata.Set {
		rd.Shape = "v1"
		if m := d.Metadata.V; m != nil {
			rd.ManagedBy = m.Labels.V[inventory.LabelManagedBy].V
			ann := m.Annotations.V
			for _, prefix := range []string{"serving.knative.dev/", "run.googleapis.com/"} {
				if rd.Creator == "" {
					rd.Creator = ann[prefix+"creator"].V
				}
				if rd.LastModifier == "" {
					rd.LastModifier = ann[prefix+"lastModifier"].V
				}
			}
		}
		var pod *v1PodSpec
		if s := d.Spec.V; s != nil && s.Template.V != nil {
			pod = s.Template.V.Spec.V
		}
		if job && pod != nil {
			pod = nil
			if t := d.Spec.V.Template.V.Spec.V.Template.V; t != nil {
				pod = t.Spec.V
			}
		}
		if pod != nil {
			cs, rd.ServiceAccount = pod.Containers.V, pod.ServiceAccountName.V
		}
	} else {
		rd.Shape = "v2"
		rd.Creator, rd.LastModifier = d.Creator.V, d.LastModifier.V
		rd.ManagedBy = d.Labels.V[inventory.LabelManagedBy].V
		t := d.Template.V
		if job && t != nil {
			t = t.Template.V
		}
		if t != nil {
			cs, rd.ServiceAccount = t.Containers.V, t.ServiceAccount.V
		}
	}
	for _, c := range cs {
		rd.Containers = append(rd.Containers, inventory.Container{Name: c.V.Name.V, Image: c.V.Image.V})
	}
	return rd
}
