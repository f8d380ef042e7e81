// Package inventory is the plain-data model of what a scan read: the
// resource hierarchy, Cloud Run services and jobs with their images,
// Artifact Registry repositories, secrets, custom roles and every IAM
// policy, with project ids and numbers normalised. It does no I/O; a
// Builder turns Cloud Asset Inventory assets into an Inventory.
package inventory

import "strings"

// Kind is the type of a node in the resource hierarchy.
type Kind uint8

// Node kinds.
const (
	KindOrganization Kind = iota + 1
	KindFolder
	KindProject
	KindRepository
	KindSecret
	KindService
	KindJob
	// KindSecretVersion is a version of a secret: it has no IAM policy of
	// its own (access is the secret's), but IAM conditions see its name.
	KindSecretVersion
	// KindWorkerPool is a Cloud Run worker pool, deployed like services
	// and jobs.
	KindWorkerPool
)

var kindNames = map[Kind]string{
	KindOrganization: "organization", KindFolder: "folder", KindProject: "project",
	KindRepository: "repository", KindSecret: "secret", KindService: "service", KindJob: "job",
	KindSecretVersion: "secret version", KindWorkerPool: "worker pool",
}

// String names the kind in lower case, as the reasons print it.
func (k Kind) String() string { return kindNames[k] }

// Asset types the audit reads.
const (
	TypeOrganization = "cloudresourcemanager.googleapis.com/Organization"
	TypeFolder       = "cloudresourcemanager.googleapis.com/Folder"
	TypeProject      = "cloudresourcemanager.googleapis.com/Project"
	TypeService      = "run.googleapis.com/Service"
	TypeJob          = "run.googleapis.com/Job"
	TypeWorkerPool   = "run.googleapis.com/WorkerPool"
	TypeRepository   = "artifactregistry.googleapis.com/Repository"
	TypeSecret       = "secretmanager.googleapis.com/Secret"
	TypeRole         = "iam.googleapis.com/Role"
)

// AssetTypes lists every asset type the audit reads.
var AssetTypes = []string{
	TypeOrganization, TypeFolder, TypeProject, TypeService, TypeJob,
	TypeWorkerPool, TypeRepository, TypeSecret, TypeRole,
}

// IsRun reports whether k is a kind of Cloud Run resource that deploys
// container images: service, job or worker pool.
func (k Kind) IsRun() bool {
	return k == KindService || k == KindJob || k == KindWorkerPool
}

// Condition is an IAM condition on a binding.
// The json tags are the policy's keys, which the export decoder
// (scan.DecodeRecord) reads into these types directly.
type Condition struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Expression  string `json:"expression"`
}

// Binding is one role binding of an IAM allow policy.
type Binding struct {
	Role      string     `json:"role"`
	Members   []string   `json:"members"`
	Condition *Condition `json:"condition"`
}

// Node is a resource that can carry an IAM policy: organization, folder,
// project, or a leaf resource. Key is the normalised name, with project
// numbers: "organizations/1", "folders/2", "projects/3",
// "projects/3/locations/L/repositories/R", "projects/3/secrets/S",
// "projects/3/locations/L/services/S", "projects/3/locations/L/jobs/J",
// "projects/3/locations/L/workerPools/W".
type Node struct {
	Key      string
	Kind     Kind
	Parent   *Node
	Bindings []Binding
	// HasPolicy is true when an IAM policy asset was read for the node.
	HasPolicy bool

	parentKey string
	// bindingsRead counts the bindings of the policy read, kept or not
	// (Builder.KeepRoles).
	bindingsRead int32
}

// Ancestry returns the node and its ancestors, nearest first.
func (n *Node) Ancestry() []*Node {
	var out []*Node
	for ; n != nil; n = n.Parent {
		out = append(out, n)
	}
	return out
}

// Project is a Google Cloud project.
type Project struct {
	Number string
	ID     string
	Node   *Node
	// Folders lists the numeric ids of the folders above the project,
	// nearest first.
	Folders []string
	// Organization is the numeric id of the project's organization.
	Organization string
	// Scanned is true when the Project asset itself was read: the project is
	// part of the scan, so its resources are known.
	Scanned bool
	// LifecycleState is the project's state: ACTIVE, or DELETE_REQUESTED
	// for a project pending deletion, whose resources do not run.
	LifecycleState string
}

// Container is one container of a Cloud Run service or job.
type Container struct {
	Name  string
	Image string
	// Missing says why Image is empty: the resource named no image for
	// the container, or no container at all.
	Missing string
}

// RunResource is a Cloud Run service, job or worker pool.
type RunResource struct {
	Node          *Node
	Kind          Kind // Service, Job or WorkerPool
	ProjectNumber string
	Location      string
	Name          string // the short name
	// Shape is "v1" (Knative) or "v2".
	Shape          string
	Containers     []Container
	ServiceAccount string
	Creator        string
	LastModifier   string
	// ManagedBy is the resource's goog-managed-by label: "cloudfunctions"
	// for a service that Cloud Functions created and deploys.
	ManagedBy string
}

// ManagedByCloudFunctions is the goog-managed-by label of Cloud Run
// services that Cloud Functions (Cloud Run functions deployed with the
// Cloud Functions API) created and deploys.
const ManagedByCloudFunctions = "cloudfunctions"

// Repository is an Artifact Registry repository.
type Repository struct {
	Node          *Node
	ProjectNumber string
	Location      string
	Name          string // the repository id
	Format        string
	Mode          string
	// UpstreamSecret is the remote repository's upstream-credential secret
	// version, as written in the repository's configuration.
	UpstreamSecret string
	// Upstreams are a virtual repository's upstream repositories
	// (projects/P/locations/L/repositories/R, P an id or number), in the
	// order of its configuration.
	Upstreams []string
}

// ModeVirtual is the mode of a virtual repository.
const ModeVirtual = "VIRTUAL_REPOSITORY"

// Secret is a Secret Manager secret.
type Secret struct {
	Node          *Node
	ProjectNumber string
	Name          string
}

// CustomRole is an organization- or project-level custom role.
type CustomRole struct {
	// Key is "organizations/N/roles/R" or "projects/NUMBER/roles/R".
	Key         string
	Permissions []string
	Stage       string
	Deleted     bool
}

// Inventory is everything a scan read.
type Inventory struct {
	// Organization is the numeric id of the scanned organization, if known.
	Organization string
	Nodes        map[string]*Node
	Projects     map[string]*Project // by number
	ProjectIDs   map[string]string   // project id → number
	Runs         []*RunResource
	Repositories map[string]*Repository // by node key
	Secrets      map[string]*Secret     // by node key
	CustomRoles  map[string]*CustomRole // by key
	Gaps         []Gap
	Skipped      []Skip
	// SkippedTotal counts every skipped item, also beyond the cap on Skipped.
	SkippedTotal int
	// Counts counts what was read, by category.
	Counts map[string]int

	gaps []gapScope // Gaps, prepared for coverage questions
}

// Gap is something the scan could not read, and so what it leaves
// unknown: assets of AssetType (every type when empty) with ContentType
// (RESOURCE or IAM_POLICY; both when empty) within Scope, or just the one
// Asset when it is set. Answers that could depend on what a gap hides are
// undecided.
type Gap struct {
	// Scope is what was being read: organizations/N, folders/N,
	// projects/P, or an export file or object. A file scope can hold
	// anything, so it covers every resource.
	Scope       string `json:"scope"`
	AssetType   string `json:"asset_type,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// Asset, when set, is the CAI name of the one asset the gap hides (a
	// malformed line that still names it, a node above a live scope).
	Asset  string `json:"asset,omitempty"`
	Reason string `json:"reason"`
	// Fix says in one line how to close the gap, when the audit knows.
	Fix string `json:"fix,omitempty"`
}

// Skip is one input item passed over, with where it was and why.
type Skip struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
}

// CountKey is the key of Inventory.Counts that counts resources of a
// Cloud Run kind: "services", "jobs", "worker_pools".
func CountKey(k Kind) string {
	switch k {
	case KindService:
		return "services"
	case KindJob:
		return "jobs"
	case KindWorkerPool:
		return "worker_pools"
	}
	return k.String() + "s"
}

// RunCount counts the Cloud Run services, jobs and worker pools read.
func (inv *Inventory) RunCount() int {
	return inv.Counts["services"] + inv.Counts["jobs"] + inv.Counts["worker_pools"]
}

// Project returns the project with the given id or number.
func (inv *Inventory) Project(idOrNumber string) *Project {
	if p := inv.Projects[idOrNumber]; p != nil {
		return p
	}
	if n, ok := inv.ProjectIDs[idOrNumber]; ok {
		return inv.Projects[n]
	}
	return nil
}

// ProjectID returns the id of the project with the given number, or the
// number itself when the id is not known.
func (inv *Inventory) ProjectID(number string) string {
	if p := inv.Projects[number]; p != nil && p.ID != "" {
		return p.ID
	}
	return number
}

// DisplayName prints a node's key with the project id in place of the
// project number, as users know it: "projects/acme-payments/…".
func (inv *Inventory) DisplayName(n *Node) string {
	rest, ok := strings.CutPrefix(n.Key, "projects/")
	if !ok {
		return n.Key
	}
	num, tail, _ := strings.Cut(rest, "/")
	name := "projects/" + inv.ProjectID(num)
	if tail != "" {
		name += "/" + tail
	}
	return name
}

// RepositoryKey is the node key of a repository.
func RepositoryKey(projectNumber, location, repo string) string {
	return "projects/" + projectNumber + "/locations/" + location + "/repositories/" + repo
}

// SecretKey is the node key of a secret.
func SecretKey(projectNumber, secret string) string {
	return "projects/" + projectNumber + "/secrets/" + secret
}
