package inventory

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"cloud.google.com/go/asset/apiv1/assetpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxSkips caps the skipped items kept for the summary; all are counted.
const maxSkips = 1000

// Builder turns Cloud Asset Inventory assets, in any order, into an
// Inventory. It is safe for concurrent use.
type Builder struct {
	mu      sync.Mutex
	inv     *Inventory
	pending []pendingAsset // assets named by project id before the id was known
	runs    map[string]int // node key → index in inv.Runs
	orgs    map[string]bool
	dupes   map[string]bool
	seen    map[string]bool // keys of resources counted
	// strings interns role names, members and other repeated values; the
	// export's decoders share it (Strings).
	strings *Strings
	// conditions interns IAM conditions, by value.
	conditions map[Condition]*Condition
	// keep, when set, says which roles' bindings are kept (KeepRoles).
	keep func(role string) bool
}

type pendingAsset struct {
	rec   *Record
	where string
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{
		inv: &Inventory{
			Nodes:        map[string]*Node{},
			Projects:     map[string]*Project{},
			ProjectIDs:   map[string]string{},
			Repositories: map[string]*Repository{},
			Secrets:      map[string]*Secret{},
			CustomRoles:  map[string]*CustomRole{},
			Counts:       map[string]int{},
		},
		orgs:       map[string]bool{},
		dupes:      map[string]bool{},
		seen:       map[string]bool{},
		runs:       map[string]int{},
		strings:    NewStrings(),
		conditions: map[Condition]*Condition{},
	}
}

// KeepRoles makes the Builder keep only the bindings of roles for which
// keep returns true; the others are counted in Counts["bindings"] but not
// kept. The audit drops the predefined roles that grant none of the
// permissions it decides, which most bindings of an organization bind and
// no rule reads. It must be called before any asset is added.
func (b *Builder) KeepRoles(keep func(role string) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keep = keep
}

// Skip records an input item passed over.
func (b *Builder) Skip(where, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.skip(where, reason)
}

func (b *Builder) skip(where, reason string) {
	b.inv.SkippedTotal++
	if len(b.inv.Skipped) < maxSkips {
		b.inv.Skipped = append(b.inv.Skipped, Skip{Where: where, Reason: reason})
	}
}

// Gap records something the scan could not read.
func (b *Builder) Gap(g Gap) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inv.Gaps = append(b.inv.Gaps, g)
}

// Add reads one asset. where names its origin (file:line, API stream) for
// messages. Assets of types the audit does not read are counted and ignored.
// An asset that cannot be understood is recorded as skipped, with why.
func (b *Builder) Add(a *assetpb.Asset, where string) {
	b.AddRecord(FromAsset(a), where)
}

// AddRecord reads one asset, as Add does, from its Record.
func (b *Builder) AddRecord(r *Record, where string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inv.Counts["assets_read"]++
	if err := b.add(r, where, true); err != nil {
		b.skipAsset(r, where, err)
	}
}

// intern returns the one copy of s the inventory keeps.
func (b *Builder) intern(s string) string { return b.strings.Intern(s) }

// Strings returns the strings the Builder interns into, for decoders that
// intern as they decode.
func (b *Builder) Strings() *Strings { return b.strings }

// Keep returns the function KeepRoles set, or nil when every binding is
// kept, for decoders that drop bindings as they decode (counting them in
// Policy.Dropped).
func (b *Builder) Keep() func(role string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.keep
}

// bindings returns the bindings of a policy as the inventory keeps them:
// those of the roles KeepRoles keeps, with roles, members and conditions
// interned, and the members of all of them in one array, so that a policy
// costs two allocations however many bindings it holds.
func (b *Builder) bindings(bs []Binding) []Binding {
	kept, total := 0, 0
	for _, bd := range bs {
		if b.keeps(bd.Role) {
			kept++
			total += len(bd.Members)
		}
	}
	members := make([]string, 0, total)
	out := make([]Binding, 0, kept)
	for _, bd := range bs {
		if !b.keeps(bd.Role) {
			continue
		}
		start := len(members)
		for _, m := range bd.Members {
			members = append(members, b.intern(m))
		}
		out = append(out, Binding{Role: b.intern(bd.Role), Members: members[start:len(members):len(members)], Condition: b.condition(bd.Condition)})
	}
	return out
}

func (b *Builder) keeps(role string) bool { return b.keep == nil || b.keep(role) }

// condition returns the one copy of c the inventory keeps: organizations
// attach the same few conditions to many bindings. Conditions are never
// modified once read.
func (b *Builder) condition(c *Condition) *Condition {
	if c == nil {
		return nil
	}
	if v, ok := b.conditions[*c]; ok {
		return v
	}
	v := &Condition{Title: b.intern(c.Title), Description: b.intern(c.Description), Expression: b.intern(c.Expression)}
	b.conditions[*c] = v
	return v
}

// skipAsset records an asset passed over, and the gap it leaves: what it
// held is unknown to the audit.
func (b *Builder) skipAsset(a *Record, where string, err error) {
	b.skip(where, err.Error())
	g := Gap{Scope: where, AssetType: a.AssetType, Asset: a.Name,
		Reason: "the asset was passed over: " + err.Error(), Fix: "correct or re-export the asset at " + where}
	switch {
	case a.Resource != nil && a.Policy == nil:
		g.ContentType = ContentResource
	case a.Resource == nil && a.Policy != nil:
		g.ContentType = ContentIAMPolicy
	}
	b.inv.Gaps = append(b.inv.Gaps, g)
}

// errPending means the asset names its project by id and the id is not known
// yet; the asset is retried when the inventory is finished.
var errPending = fmt.Errorf("project id not known yet")

func (b *Builder) add(a *Record, where string, deferable bool) error {
	switch a.AssetType {
	case TypeOrganization, TypeFolder, TypeProject, TypeService, TypeJob, TypeWorkerPool, TypeRepository, TypeSecret, TypeRole:
	default:
		b.inv.Counts["assets_ignored"]++
		return nil
	}
	if a.Resource == nil && a.Policy == nil {
		return fmt.Errorf("%s %s: neither resource nor iam_policy", a.AssetType, a.Name)
	}
	b.ancestors(a.Ancestors)
	key, err := b.key(a)
	if err == errPending {
		if deferable {
			b.pending = append(b.pending, pendingAsset{rec: a, where: where})
			return nil
		}
		return fmt.Errorf("%s: project id is not in the inventory (no Project asset) and the asset has no ancestors", a.Name)
	}
	if err != nil {
		return err
	}
	if a.AssetType == TypeRole {
		if r := a.Resource; r != nil {
			return b.role(key, r)
		}
		return nil // custom roles carry no IAM policy of their own
	}
	n := b.node(key, kindOf(a.AssetType))
	if n.Kind != KindOrganization && n.Kind != KindFolder && n.Kind != KindProject {
		if anc := a.Ancestors; len(anc) > 0 {
			n.parentKey = anc[0]
		} else if n.parentKey == "" {
			// Without ancestors the key still names the project that
			// holds the resource, and grants on the project reach it.
			n.parentKey = "projects/" + projectOf(key)
			b.node(n.parentKey, KindProject)
		}
	}
	if r := a.Resource; r != nil {
		if err := b.resource(a, n, r, where); err != nil {
			return err
		}
	}
	if p := a.Policy; p != nil {
		if n.HasPolicy {
			// The same policy read twice (overlapping exports): the later
			// wins, and the counts describe the inventory.
			if !b.dupes[key] {
				b.dupes[key] = true
				b.inv.Counts["duplicate_policies"]++
			}
			b.inv.Counts["iam_policies"]--
			b.inv.Counts["bindings"] -= int(n.bindingsRead)
		}
		n.HasPolicy = true
		if p.Ready {
			n.Bindings = p.Bindings
			for i := range n.Bindings {
				n.Bindings[i].Condition = b.condition(n.Bindings[i].Condition)
			}
		} else {
			n.Bindings = b.bindings(p.Bindings)
		}
		n.bindingsRead = int32(len(p.Bindings) + p.Dropped)
		b.inv.Counts["iam_policies"]++
		b.inv.Counts["bindings"] += len(p.Bindings) + p.Dropped
	}
	return nil
}

func kindOf(assetType string) Kind {
	switch assetType {
	case TypeOrganization:
		return KindOrganization
	case TypeFolder:
		return KindFolder
	case TypeProject:
		return KindProject
	case TypeService:
		return KindService
	case TypeJob:
		return KindJob
	case TypeWorkerPool:
		return KindWorkerPool
	case TypeRepository:
		return KindRepository
	case TypeSecret:
		return KindSecret
	}
	return 0
}

// ancestors registers the hierarchy nodes of an ancestors list
// ("projects/N", "folders/F", …, "organizations/O"), nearest first.
func (b *Builder) ancestors(anc []string) {
	for i, a := range anc {
		var k Kind
		switch {
		case strings.HasPrefix(a, "projects/"):
			k = KindProject
		case strings.HasPrefix(a, "folders/"):
			k = KindFolder
		case strings.HasPrefix(a, "organizations/"):
			k = KindOrganization
			b.orgs[strings.TrimPrefix(a, "organizations/")] = true
		default:
			continue
		}
		n := b.node(a, k)
		if i+1 < len(anc) && n.parentKey == "" {
			n.parentKey = anc[i+1]
		}
	}
}

func (b *Builder) node(key string, k Kind) *Node {
	n := b.inv.Nodes[key]
	if n == nil {
		n = &Node{Key: key, Kind: k}
		b.inv.Nodes[key] = n
	}
	return n
}

// key computes the normalised node key of an asset from its CAI name
// ("//SERVICE/REST"), putting the project number in place of a project id.
func (b *Builder) key(a *Record) (string, error) {
	loc := ""
	if a.Resource != nil {
		loc = a.Resource.Location
	}
	return b.keyOf(a.Name, a.AssetType, loc, a.Ancestors)
}

func (b *Builder) keyOf(name, assetType, location string, anc []string) (string, error) {
	rest, ok := strings.CutPrefix(name, "//")
	if !ok {
		return "", fmt.Errorf("asset name %q does not start with //service", name)
	}
	_, rest, ok = strings.Cut(rest, "/")
	if !ok || rest == "" {
		return "", fmt.Errorf("asset name %q has no resource path", name)
	}
	// Cloud Run's v1 (Knative-style) form:
	// apis/serving.knative.dev/v1/namespaces/PROJECT/services/S, or
	// apis/run.googleapis.com/v1/namespaces/PROJECT/{jobs,workerpools}/N.
	if v1, ok := cutV1API(rest); ok {
		ns, tail, _ := strings.Cut(v1, "/")
		proj, tail2, _ := strings.Cut(tail, "/")
		if ns != "namespaces" || proj == "" || tail2 == "" {
			return "", fmt.Errorf("asset name %q: unexpected Cloud Run v1 resource path", name)
		}
		if location == "" {
			return "", fmt.Errorf("asset name %q has no location", name)
		}
		if c, n, ok := strings.Cut(tail2, "/"); ok && c == "workerpools" {
			tail2 = "workerPools/" + n // the v2 collection, as keys use
		}
		rest = "projects/" + proj + "/locations/" + location + "/" + tail2
	}
	seg, tail, _ := strings.Cut(rest, "/")
	switch seg {
	case "organizations", "folders":
		return rest, nil
	case "projects":
	default:
		return "", fmt.Errorf("asset name %q: unexpected resource path", name)
	}
	proj, tail, _ := strings.Cut(tail, "/")
	num := ""
	if len(anc) > 0 && strings.HasPrefix(anc[0], "projects/") {
		num = strings.TrimPrefix(anc[0], "projects/")
	} else if isNumber(proj) {
		num = proj
	} else if n, ok := b.inv.ProjectIDs[proj]; ok {
		num = n
	} else {
		return "", errPending
	}
	if assetType == TypeProject {
		return "projects/" + num, nil
	}
	if tail == "" {
		return "", fmt.Errorf("asset name %q has no resource below the project", name)
	}
	return "projects/" + num + "/" + tail, nil
}

// cutV1API strips the API prefix of a Cloud Run v1 resource path.
func cutV1API(rest string) (string, bool) {
	for _, p := range []string{"apis/serving.knative.dev/v1/", "apis/run.googleapis.com/v1/"} {
		if r, ok := strings.CutPrefix(rest, p); ok {
			return r, true
		}
	}
	return "", false
}

func isNumber(s string) bool {
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

func (b *Builder) resource(a *Record, n *Node, d *ResourceData, where string) error {
	num := projectOf(n.Key)
	switch n.Kind {
	case KindOrganization:
		b.orgs[strings.TrimPrefix(n.Key, "organizations/")] = true
		b.count("organizations", n.Key)
	case KindFolder:
		b.count("folders", n.Key)
	case KindProject:
		id := d.ProjectID
		if num == "" {
			num = strings.TrimPrefix(n.Key, "projects/")
		}
		if pn := d.ProjectNumber; pn != "" && pn != num {
			return fmt.Errorf("project %s: projectNumber %s differs from the asset name", a.Name, pn)
		}
		p := b.project(num)
		if !p.Scanned {
			b.inv.Counts["projects"]++
		}
		p.Scanned = true
		p.LifecycleState = d.LifecycleState
		if id != "" {
			p.ID = id
			b.inv.ProjectIDs[id] = num
		}
	case KindService, KindJob, KindWorkerPool:
		rr := parseRun(n, d)
		// Few distinct values across an organization: one copy each.
		rr.Location, rr.Creator, rr.LastModifier = b.intern(rr.Location), b.intern(rr.Creator), b.intern(rr.LastModifier)
		rr.ManagedBy, rr.ServiceAccount = b.intern(rr.ManagedBy), b.intern(rr.ServiceAccount)
		for i := range rr.Containers {
			rr.Containers[i].Name = b.intern(rr.Containers[i].Name)
		}
		rr.ProjectNumber = num
		b.project(num)
		for _, c := range rr.Containers {
			if c.Missing != "" {
				b.skip(where, a.Name+": "+c.Missing+": its verdict is UNVERIFIED")
				b.inv.Counts["containers_without_image"]++
			}
		}
		if i, ok := b.runs[n.Key]; ok {
			// The same resource read twice (overlapping exports): the later wins.
			b.inv.Counts["containers"] += len(rr.Containers) - len(b.inv.Runs[i].Containers)
			b.inv.Runs[i] = rr
			b.inv.Counts["duplicate_resources"]++
			return nil
		}
		b.runs[n.Key] = len(b.inv.Runs)
		b.inv.Runs = append(b.inv.Runs, rr)
		b.inv.Counts[CountKey(n.Kind)]++
		b.inv.Counts["containers"] += len(rr.Containers)
	case KindRepository:
		loc, id := locationAndName(n.Key, "repositories")
		b.inv.Repositories[n.Key] = &Repository{
			Node: n, ProjectNumber: num, Location: loc, Name: id,
			Format: d.Format, Mode: d.Mode, UpstreamSecret: d.UpstreamSecret, Upstreams: d.Upstreams,
		}
		b.project(num)
		b.count("repositories", n.Key)
	case KindSecret:
		_, id := locationAndName(n.Key, "secrets")
		b.inv.Secrets[n.Key] = &Secret{Node: n, ProjectNumber: num, Name: id}
		b.project(num)
		b.count("secrets", n.Key)
	}
	return nil
}

func (b *Builder) project(num string) *Project {
	p := b.inv.Projects[num]
	if p == nil {
		p = &Project{Number: num, Node: b.node("projects/"+num, KindProject)}
		b.inv.Projects[num] = p
	}
	return p
}

func (b *Builder) role(key string, d *ResourceData) error {
	cr := &CustomRole{Key: key, Stage: d.Stage, Deleted: d.Deleted, Permissions: d.Permissions}
	if !strings.Contains(key, "/roles/") {
		return fmt.Errorf("custom role %q: not a role name", key)
	}
	b.inv.CustomRoles[key] = cr
	b.count("custom_roles", key)
	return nil
}

// count counts a resource of a category once, however often it is read;
// repeats count as duplicate_resources.
func (b *Builder) count(category, key string) {
	if b.seen[key] {
		b.inv.Counts["duplicate_resources"]++
		return
	}
	b.seen[key] = true
	b.inv.Counts[category]++
}

// projectOf returns the project number in a node key, or "".
func projectOf(key string) string {
	rest, ok := strings.CutPrefix(key, "projects/")
	if !ok {
		return ""
	}
	num, _, _ := strings.Cut(rest, "/")
	return num
}

// locationAndName returns the location (if any) and the last segment after
// collection in a key.
func locationAndName(key, collection string) (loc, name string) {
	if _, rest, ok := strings.Cut(key, "/locations/"); ok {
		loc, _, _ = strings.Cut(rest, "/")
	}
	if _, rest, ok := strings.Cut(key, "/"+collection+"/"); ok {
		name, _, _ = strings.Cut(rest, "/")
	}
	return loc, name
}

// Finish resolves what could only be resolved once every asset was read
// (project ids, parents) and returns the inventory. The Builder must not be
// used afterwards.
func (b *Builder) Finish() *Inventory {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pending {
		if err := b.add(p.rec, p.where, false); err != nil {
			b.skipAsset(p.rec, p.where, err)
		}
	}
	b.pending = nil
	defer b.strings.Release() // the inventory holds what it needs
	inv := b.inv
	// Custom roles named with a project id are keyed by number, as bindings
	// are resolved that way.
	for k, cr := range inv.CustomRoles {
		if rest, ok := strings.CutPrefix(k, "projects/"); ok {
			proj, tail, _ := strings.Cut(rest, "/")
			if n, ok := inv.ProjectIDs[proj]; ok && n != proj {
				delete(inv.CustomRoles, k)
				cr.Key = "projects/" + n + "/" + tail
				inv.CustomRoles[cr.Key] = cr
			}
		}
	}
	for _, n := range inv.Nodes {
		if n.parentKey != "" {
			n.Parent = inv.Nodes[n.parentKey]
		}
	}
	for _, p := range inv.Projects {
		p.Folders = p.Folders[:0]
		for a := p.Node.Parent; a != nil; a = a.Parent {
			switch a.Kind {
			case KindFolder:
				p.Folders = append(p.Folders, strings.TrimPrefix(a.Key, "folders/"))
			case KindOrganization:
				p.Organization = strings.TrimPrefix(a.Key, "organizations/")
			}
		}
	}
	if len(b.orgs) == 1 {
		for o := range b.orgs {
			inv.Organization = o
		}
	}
	inv.PrepareGaps()
	// Deterministic order for the rules and the outputs.
	sort.Slice(inv.Runs, func(i, j int) bool { return inv.Runs[i].Node.Key < inv.Runs[j].Node.Key })
	return inv
}

func str(m map[string]*structpb.Value, path ...string) string {
	v := lookup(m, path...)
	return v.GetStringValue()
}

func boolean(m map[string]*structpb.Value, path ...string) bool {
	return lookup(m, path...).GetBoolValue()
}

func list(m map[string]*structpb.Value, path ...string) []*structpb.Value {
	return lookup(m, path...).GetListValue().GetValues()
}

func lookup(m map[string]*structpb.Value, path ...string) *structpb.Value {
	var v *structpb.Value
	for i, p := range path {
		v = m[p]
		if v == nil {
			return nil
		}
		if i < len(path)-1 {
			m = v.GetStructValue().GetFields()
		}
	}
	return v
}
