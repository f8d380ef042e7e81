// Package synthorg generates synthetic Google Cloud organizations as Cloud
// Asset Inventory export NDJSON, for scale runs, benchmarks and end-to-end
// tests. An organization is clean except for findings planted at a chosen
// share, listed as Expected; the same Config (seed included) writes the
// same bytes.
package synthorg

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
)

// Config shapes a synthetic organization.
type Config struct {
	Seed uint64
	// Org is the numeric organization id.
	Org string
	// Projects and Folders count the hierarchy; half the folders (rounded
	// up) sit under the organization, the rest one level below them.
	Projects, Folders int
	// Services, Jobs and WorkerPools are Cloud Run resources per project.
	Services, Jobs, WorkerPools int
	// Repos are standard Docker repositories per project.
	Repos int
	// SharedRepos are repositories in the registry project that other
	// projects pull from; 0 picks one per 500 projects, which keeps every
	// shared repository's policy under IAM's 1,500-principal limit.
	SharedRepos int
	// ProjectBindings and ResourceBindings are role bindings in each
	// project's and each service's or job's IAM policy.
	ProjectBindings, ResourceBindings int
	// CrossProject is the share of services and jobs that also run an
	// image from a shared repository in the registry project.
	CrossProject float64
	// RemoteRepos is the share of projects with a remote repository whose
	// upstream password is in Secret Manager.
	RemoteRepos float64
	// Inherited adds grants that decide verdicts from above the projects:
	// a platform deployer bound at the organization, whose registry read
	// is granted on every top-level folder, so that it lacks read only in
	// projects directly under the organization (planted findings). A scan
	// that missed the organization's or a folder's policy would misjudge
	// them.
	Inherited bool
	// VirtualRepos is the share of projects with a virtual repository
	// whose upstreams are the project's first repository and its shared
	// repository, and through which its first Cloud Run resource pulls.
	VirtualRepos float64
	// Functions is the share of services that Cloud Functions manages
	// (label goog-managed-by: cloudfunctions): deployed by the Cloud
	// Functions service agent, whatever the planted deployers.
	Functions float64
	// Findings is the share of each kind of case that is planted broken:
	// services and jobs given a deployer who cannot read their images,
	// (project, shared repository) pairs whose Cloud Run service agent is
	// not granted, remote repositories whose agent cannot read the secret,
	// virtual repositories whose agent cannot read the shared upstream,
	// projects whose Cloud Functions agent lost its role.
	Findings float64
}

// Expected is one finding the organization was built to produce.
type Expected struct {
	Kind       string `json:"kind"`
	Resource   string `json:"resource"`
	Principal  string `json:"principal"`
	Repository string `json:"repository"`
}

// Stats counts what was written.
type Stats struct {
	Assets       int            `json:"assets"`
	Projects     int            `json:"projects"`
	Folders      int            `json:"folders"`
	Services     int            `json:"services"`
	Jobs         int            `json:"jobs"`
	WorkerPools  int            `json:"worker_pools"`
	Functions    int            `json:"functions"`
	Repositories int            `json:"repositories"`
	Secrets      int            `json:"secrets"`
	IAMPolicies  int            `json:"iam_policies"`
	Bindings     int            `json:"bindings"`
	CrossProject int            `json:"cross_project_resources"`
	Expected     map[string]int `json:"expected_findings"`
}

// Export shapes, as gcloud asset export writes them.
type asset struct {
	Name      string    `json:"name"`
	AssetType string    `json:"asset_type"`
	Resource  *resource `json:"resource,omitempty"`
	IAMPolicy *policy   `json:"iam_policy,omitempty"`
	Ancestors []string  `json:"ancestors"`
}

type resource struct {
	Version       string `json:"version"`
	DiscoveryName string `json:"discovery_name"`
	Parent        string `json:"parent"`
	Data          any    `json:"data"`
	Location      string `json:"location,omitempty"`
}

type policy struct {
	Version  int       `json:"version"`
	Etag     string    `json:"etag"`
	Bindings []binding `json:"bindings"`
}

type binding struct {
	Role      string     `json:"role"`
	Members   []string   `json:"members"`
	Condition *condition `json:"condition,omitempty"`
}

type condition struct {
	Title      string `json:"title"`
	Expression string `json:"expression"`
}

type obj = map[string]any

// fillerRoles hold none of the permissions the audit evaluates (a test
// checks this against the role table), so bindings of them make policies
// realistically large without changing any verdict.
var fillerRoles = []string{
	"roles/logging.viewer", "roles/monitoring.viewer", "roles/bigquery.dataViewer", "roles/bigquery.jobUser",
	"roles/pubsub.subscriber", "roles/pubsub.publisher", "roles/storage.objectViewer", "roles/storage.objectCreator",
	"roles/cloudsql.client", "roles/cloudsql.viewer", "roles/cloudtrace.agent", "roles/logging.logWriter",
	"roles/monitoring.metricWriter", "roles/errorreporting.writer", "roles/datastore.user", "roles/cloudbuild.builds.viewer",
	"roles/compute.viewer", "roles/browser", "roles/secretmanager.viewer", "roles/cloudkms.cryptoKeyEncrypterDecrypter",
	"roles/bigquery.metadataViewer", "roles/bigquery.user", "roles/cloudbuild.builds.approver", "roles/cloudkms.cryptoKeyDecrypter",
	"roles/iam.serviceAccountUser",
}

// resourceRoles are the filler roles of service and job policies.
var resourceRoles = []string{"roles/run.invoker", "roles/run.viewer"}

const (
	typeOrg     = "cloudresourcemanager.googleapis.com/Organization"
	typeFolder  = "cloudresourcemanager.googleapis.com/Folder"
	typeProject = "cloudresourcemanager.googleapis.com/Project"
	typeService = "run.googleapis.com/Service"
	typeJob     = "run.googleapis.com/Job"
	typePool    = "run.googleapis.com/WorkerPool"
	typeRepo    = "artifactregistry.googleapis.com/Repository"
	typeSecret  = "secretmanager.googleapis.com/Secret"
	typeRole    = "iam.googleapis.com/Role"

	region   = "us-central1"
	registry = "gen-registry" // the project holding the shared repositories
	domain   = "gen.example"
	// platform deploys everywhere when Config.Inherited is set.
	platform = "serviceAccount:platform@gen-admin.iam.gserviceaccount.com"
)

// generator writes one organization.
type generator struct {
	cfg       Config
	rng       *rand.Rand
	res, iam  *json.Encoder
	stats     Stats
	expected  []Expected
	registryN string
	// sharedMembers lists, per shared repository, who is granted reader.
	sharedMembers [][]string
	err           error
}

// Generate writes the organization's resource assets to res and its IAM
// policies to iam (NDJSON in the export's snake_case), and returns the
// findings it planted, sorted, with counts.
func Generate(cfg Config, res, iam io.Writer) ([]Expected, Stats, error) {
	if cfg.SharedRepos <= 0 {
		cfg.SharedRepos = max(1, (cfg.Projects+499)/500)
	}
	if cfg.Repos < 1 {
		return nil, Stats{}, fmt.Errorf("every project needs at least one repository")
	}
	rw, iw := bufio.NewWriterSize(res, 1<<20), bufio.NewWriterSize(iam, 1<<20)
	g := &generator{
		cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		res: json.NewEncoder(rw), iam: json.NewEncoder(iw),
		registryN: projectNumber(-1), sharedMembers: make([][]string, cfg.SharedRepos),
		stats: Stats{Expected: map[string]int{}},
	}
	g.res.SetEscapeHTML(false)
	g.iam.SetEscapeHTML(false)
	g.org()
	folders := g.folders()
	registryAnc := append([]string{"projects/" + g.registryN}, folders[0]...)
	g.project(-1, registryAnc)
	for i := range cfg.Projects {
		// Every tenth project sits directly under the organization.
		anc := []string{"organizations/" + cfg.Org}
		if len(folders) > 0 && i%10 != 9 {
			anc = folders[i%len(folders)]
		}
		g.projectContents(i, append([]string{"projects/" + projectNumber(i)}, anc...), registryAnc)
	}
	g.sharedRepos(registryAnc)
	if g.err == nil {
		g.err = rw.Flush()
	}
	if g.err == nil {
		g.err = iw.Flush()
	}
	sort.Slice(g.expected, func(i, j int) bool {
		a, b := g.expected[i], g.expected[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		return a.Repository < b.Repository
	})
	return g.expected, g.stats, g.err
}

func projectNumber(i int) string { return fmt.Sprintf("%d", 200000000000+int64(i)) }

func projectID(i int) string {
	if i < 0 {
		return registry
	}
	return fmt.Sprintf("gen-p%06d", i)
}

func (g *generator) write(enc *json.Encoder, a asset) {
	if g.err != nil {
		return
	}
	g.stats.Assets++
	if a.IAMPolicy != nil {
		g.stats.IAMPolicies++
		g.stats.Bindings += len(a.IAMPolicy.Bindings)
	}
	g.err = enc.Encode(a)
}

func (g *generator) resource(name, assetType, parent string, anc []string, location string, data any) {
	disc := assetType[len(assetType)-len(lastSegment(assetType)):]
	g.write(g.res, asset{Name: name, AssetType: assetType, Ancestors: anc,
		Resource: &resource{Version: "v1", DiscoveryName: disc, Parent: parent, Data: data, Location: location}})
}

func (g *generator) policy(name, assetType string, anc []string, bs []binding) {
	if len(bs) == 0 {
		return
	}
	g.write(g.iam, asset{Name: name, AssetType: assetType, Ancestors: anc,
		IAMPolicy: &policy{Version: 3, Etag: "BwYAAAAAAAA=", Bindings: bs}})
}

func lastSegment(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}

// fillers returns n bindings of roles that grant nothing audited; past the
// list, a role repeats under a distinct condition, as real policies do.
func (g *generator) fillers(n int, roles []string, who string) []binding {
	out := make([]binding, 0, n)
	for k := range n {
		b := binding{Role: roles[k%len(roles)]}
		members := 1 + g.rng.IntN(3)
		for m := range members {
			switch (k + m) % 4 {
			case 0:
				b.Members = append(b.Members, fmt.Sprintf("group:team-%d@%s", g.rng.IntN(200), domain))
			case 1:
				b.Members = append(b.Members, fmt.Sprintf("user:dev-%d@%s", g.rng.IntN(5000), domain))
			case 2:
				b.Members = append(b.Members, fmt.Sprintf("serviceAccount:%s-%d@%s.iam.gserviceaccount.com", lastSegment(b.Role), m, who))
			default:
				b.Members = append(b.Members, "domain:"+domain)
			}
		}
		if k >= len(roles) {
			b.Condition = &condition{Title: fmt.Sprintf("grant %d", k/len(roles)), Expression: fmt.Sprintf(`request.time < timestamp("%d-01-01T00:00:00Z")`, 2030+k/len(roles))}
		}
		out = append(out, b)
	}
	return out
}

func (g *generator) org() {
	name := "//cloudresourcemanager.googleapis.com/organizations/" + g.cfg.Org
	anc := []string{"organizations/" + g.cfg.Org}
	g.resource(name, typeOrg, "", anc, "", obj{"name": "organizations/" + g.cfg.Org, "displayName": domain, "lifecycleState": "ACTIVE"})
	bs := g.fillers(4, fillerRoles, "gen-admin")
	if g.cfg.Inherited {
		bs = append(bs, binding{Role: "roles/run.developer", Members: []string{platform}})
	}
	g.policy(name, typeOrg, anc, bs)
	// An organization custom role that deploys: planted deployers use it
	// half the time, so custom-role resolution is exercised.
	role := "organizations/" + g.cfg.Org + "/roles/genDeployer"
	g.resource("//iam.googleapis.com/"+role, typeRole, name, anc, "", obj{
		"name": role, "title": "Generated deployer", "stage": "GA",
		"includedPermissions": []string{"run.services.get", "run.services.update", "run.jobs.get", "run.jobs.update", "run.workerpools.get", "run.workerpools.update"},
	})
}

// folders writes the folders and returns the ancestry (folder first, the
// organization last) of each.
func (g *generator) folders() [][]string {
	org := "organizations/" + g.cfg.Org
	top := (g.cfg.Folders + 1) / 2
	var out [][]string
	for i := range g.cfg.Folders {
		id := fmt.Sprintf("%d", 300000000000+int64(i))
		anc := []string{"folders/" + id, org}
		parent := org
		if i >= top {
			parent = out[i%top][0]
			anc = []string{"folders/" + id, parent, org}
		}
		name := "//cloudresourcemanager.googleapis.com/folders/" + id
		g.resource(name, typeFolder, "//cloudresourcemanager.googleapis.com/"+parent, anc, "", obj{
			"name": "folders/" + id, "displayName": fmt.Sprintf("folder-%d", i), "parent": parent, "lifecycleState": "ACTIVE",
		})
		bs := g.fillers(2, fillerRoles, "gen-admin")
		if g.cfg.Inherited && i < top {
			bs = append(bs, binding{Role: "roles/artifactregistry.reader", Members: []string{platform}})
		}
		g.policy(name, typeFolder, anc, bs)
		g.stats.Folders++
		out = append(out, anc)
	}
	if len(out) == 0 {
		out = append(out, []string{org})
	}
	return out
}

// project writes the Project asset.
func (g *generator) project(i int, anc []string) {
	num, id := projectNumber(i), projectID(i)
	parent := "//cloudresourcemanager.googleapis.com/" + anc[1]
	kind, pid, _ := cut(anc[1])
	g.resource("//cloudresourcemanager.googleapis.com/projects/"+num, typeProject, parent, anc, "", obj{
		"projectNumber": num, "projectId": id, "name": id, "lifecycleState": "ACTIVE",
		"parent": obj{"type": kind[:len(kind)-1], "id": pid},
	})
	g.stats.Projects++
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// runUse is one Cloud Run resource being generated.
type runUse struct {
	kind      string // "services", "jobs" or "workerPools"
	name      string
	repos     []string // repository display names its images come from
	shared    int      // shared repository index, or -1
	functions bool     // a service Cloud Functions manages
}

// runTypes are the asset types of the Cloud Run collections.
var runTypes = map[string]string{"services": typeService, "jobs": typeJob, "workerPools": typePool}

func (g *generator) projectContents(i int, anc, registryAnc []string) {
	g.project(i, anc)
	num, id := projectNumber(i), projectID(i)
	projName := "//cloudresourcemanager.googleapis.com/projects/" + num
	deployer := "serviceAccount:deploy@" + id + ".iam.gserviceaccount.com"
	agent := "serviceAccount:service-" + num + "@serverless-robot-prod.iam.gserviceaccount.com"

	arAgent := "serviceAccount:service-" + num + "@gcp-sa-artifactregistry.iam.gserviceaccount.com"
	gcfAgent := "serviceAccount:service-" + num + "@gcf-admin-robot.iam.gserviceaccount.com"

	// The project's policy: its deployer deploys and reads its images.
	bs := []binding{
		{Role: "roles/run.developer", Members: []string{deployer}},
		{Role: "roles/artifactregistry.reader", Members: []string{deployer}},
		// Google grants each project's Cloud Run service agent its role.
		{Role: "roles/run.serviceAgent", Members: []string{agent}},
	}
	// Extra draws only when the features are on, so that organizations
	// without them stay byte for byte what they were.
	virtual := g.cfg.VirtualRepos > 0 && g.rng.Float64() < g.cfg.VirtualRepos
	functionsPlanted := false // the Cloud Functions agent lost its role
	if g.cfg.Functions > 0 {
		// Google grants these agents their roles; Cloud Functions' holds
		// run.services.update on every service of the project, which must
		// not make it their deployer.
		functionsPlanted = g.rng.Float64() < g.cfg.Findings
		if !functionsPlanted {
			bs = append(bs, binding{Role: "roles/cloudfunctions.serviceAgent", Members: []string{gcfAgent}})
		}
	}
	if virtual {
		bs = append(bs, binding{Role: "roles/artifactregistry.serviceAgent", Members: []string{arAgent}})
	}
	bs = append(bs, g.fillers(max(0, g.cfg.ProjectBindings-len(bs)), fillerRoles, id)...)
	g.policy(projName, typeProject, anc, bs)

	for r := range g.cfg.Repos {
		repo := fmt.Sprintf("projects/%s/locations/%s/repositories/app%d", id, region, r)
		g.resource("//artifactregistry.googleapis.com/"+repo, typeRepo, projName, anc, region, obj{
			"name": repo, "format": "DOCKER", "mode": "STANDARD_REPOSITORY",
		})
		g.stats.Repositories++
	}

	shared := i % g.cfg.SharedRepos
	if virtual {
		g.virtualRepo(id, num, projName, anc, arAgent, shared)
	}
	agentPlanted := false // decided once this project is known to pull from shared
	agentDecided := false
	for k := range g.cfg.Services + g.cfg.Jobs + g.cfg.WorkerPools {
		u := runUse{kind: "services", name: fmt.Sprintf("svc-%d", k), shared: -1}
		switch {
		case k >= g.cfg.Services+g.cfg.Jobs:
			u.kind, u.name = "workerPools", fmt.Sprintf("pool-%d", k-g.cfg.Services-g.cfg.Jobs)
		case k >= g.cfg.Services:
			u.kind, u.name = "jobs", fmt.Sprintf("job-%d", k-g.cfg.Services)
		case g.cfg.Functions > 0:
			u.functions = g.rng.Float64() < g.cfg.Functions
		}
		r := g.rng.IntN(g.cfg.Repos)
		own := fmt.Sprintf("projects/%s/locations/%s/repositories/app%d", id, region, r)
		images := []string{fmt.Sprintf("%s-docker.pkg.dev/%s/app%d/%s:v%d", region, id, r, u.name, 1+g.rng.IntN(40))}
		if virtual && k == 0 && !u.functions {
			// Through the virtual repository instead.
			own = fmt.Sprintf("projects/%s/locations/%s/repositories/all", id, region)
			images[0] = fmt.Sprintf("%s-docker.pkg.dev/%s/all/%s:v1", region, id, u.name)
		}
		u.repos = []string{own}
		// A function's image is built into its own project: Cloud
		// Functions takes no repository of another project.
		if !u.functions && g.rng.Float64() < g.cfg.CrossProject {
			u.shared = shared
			images = append(images, fmt.Sprintf("%s-docker.pkg.dev/%s/shared%d/base@sha256:%064x", region, registry, shared, shared))
			u.repos = append(u.repos, sharedRepo(shared))
			g.stats.CrossProject++
			if !agentDecided {
				agentDecided = true
				agentPlanted = g.rng.Float64() < g.cfg.Findings
				members := []string{deployer}
				if !agentPlanted {
					members = append(members, agent)
				}
				g.sharedMembers[shared] = append(g.sharedMembers[shared], members...)
			}
		}
		if g.rng.IntN(10) == 0 {
			images = append(images, "docker.io/library/nginx:1.27") // public: no IAM, no finding
		}
		resName := "//run.googleapis.com/projects/" + id + "/locations/" + region + "/" + u.kind + "/" + u.name
		g.runResource(u, resName, projName, anc, id, num, deployer, images, (i+k)%2 == 0)
		if u.functions && functionsPlanted {
			// Its one deployer, Cloud Functions' agent, reads nothing.
			g.expect("DEPLOYER_CANNOT_READ_IMAGE", resName, gcfAgent, own)
		}
		if g.cfg.Inherited && !u.functions {
			// The platform deployer reads through a folder: not in
			// projects outside every folder.
			if !underFolder(anc) {
				g.expect("DEPLOYER_CANNOT_READ_IMAGE", resName, platform, own)
			}
			if u.shared >= 0 && !underFolder(registryAnc) {
				g.expect("DEPLOYER_CANNOT_READ_IMAGE", resName, platform, sharedRepo(shared))
			}
		}

		// The resource's own policy, and perhaps a planted deployer who
		// holds no reader role anywhere.
		rbs := g.fillers(g.cfg.ResourceBindings, resourceRoles, id)
		if len(rbs) > 0 {
			rbs[0].Members = append(rbs[0].Members, "allUsers")
		}
		if g.rng.Float64() < g.cfg.Findings {
			ci := fmt.Sprintf("serviceAccount:ci-%s@%s.iam.gserviceaccount.com", u.name, id)
			role := "roles/run.developer"
			if g.rng.IntN(2) == 0 {
				role = "organizations/" + g.cfg.Org + "/roles/genDeployer"
			}
			rbs = append(rbs, binding{Role: role, Members: []string{ci}})
			for _, repo := range u.repos {
				if !u.functions { // its deploys go through Cloud Functions
					g.expect("DEPLOYER_CANNOT_READ_IMAGE", resName, ci, repo)
				}
			}
		}
		g.policy(resName, runTypes[u.kind], anc, rbs)
		if u.shared >= 0 && agentPlanted {
			g.expect("SERVICE_AGENT_CANNOT_READ_IMAGE", resName, agent, sharedRepo(shared))
		}
	}

	if g.rng.Float64() < g.cfg.RemoteRepos {
		g.remoteRepo(id, num, projName, anc)
	}
}

// underFolder reports whether an ancestry passes through a folder.
func underFolder(anc []string) bool {
	for _, a := range anc {
		if len(a) > len("folders/") && a[:len("folders/")] == "folders/" {
			return true
		}
	}
	return false
}

func sharedRepo(k int) string {
	return fmt.Sprintf("projects/%s/locations/%s/repositories/shared%d", registry, region, k)
}

func (g *generator) expect(kind, resource, principal, repo string) {
	g.expected = append(g.expected, Expected{Kind: kind, Resource: resource, Principal: principal, Repository: repo})
	g.stats.Expected[kind]++
}

// runResource writes a service or job in the v1 (Knative) or v2 shape.
func (g *generator) runResource(u runUse, name, projName string, anc []string, id, num, deployer string, images []string, v1 bool) {
	email := deployer[len("serviceAccount:"):]
	sa := fmt.Sprintf("%s@%s.iam.gserviceaccount.com", u.name, id)
	creator := fmt.Sprintf("owner-%d@%s", g.rng.IntN(500), domain)
	containers := make([]any, len(images))
	for c, img := range images {
		containers[c] = obj{"name": fmt.Sprintf("c%d", c), "image": img}
	}
	assetType, disc := runTypes[u.kind], lastSegment(runTypes[u.kind])
	var labels obj
	if u.functions {
		labels = obj{"goog-managed-by": "cloudfunctions", "goog-cloudfunctions-runtime": "go122"}
		creator = "service-" + num + "@gcf-admin-robot.iam.gserviceaccount.com"
		email = creator
	}
	var data obj
	if v1 {
		podSpec := obj{"serviceAccountName": sa, "containers": containers}
		spec := obj{"template": obj{"spec": podSpec}}
		if u.kind == "jobs" {
			spec = obj{"template": obj{"spec": obj{"template": obj{"spec": podSpec}}}}
		}
		api := "serving.knative.dev/v1"
		if u.kind != "services" {
			api = "run.googleapis.com/v1"
		}
		meta := obj{"name": u.name, "namespace": num, "annotations": obj{
			"serving.knative.dev/creator": creator, "serving.knative.dev/lastModifier": email,
		}}
		if labels != nil {
			meta["labels"] = labels
		}
		data = obj{"apiVersion": api, "kind": disc, "metadata": meta, "spec": spec}
	} else {
		tmpl := obj{"serviceAccount": sa, "containers": containers}
		if u.kind == "jobs" {
			tmpl = obj{"taskCount": 1, "template": tmpl}
		}
		data = obj{"name": fmt.Sprintf("projects/%s/locations/%s/%s/%s", id, region, u.kind, u.name),
			"creator": creator, "lastModifier": email, "template": tmpl}
		if labels != nil {
			data["labels"] = labels
		}
	}
	g.resource(name, assetType, projName, anc, region, data)
	switch u.kind {
	case "jobs":
		g.stats.Jobs++
	case "workerPools":
		g.stats.WorkerPools++
	default:
		g.stats.Services++
	}
	if u.functions {
		g.stats.Functions++
	}
}

// remoteRepo writes a remote repository whose upstream password is in a
// secret of the same project (named by number, as exports do), and the
// secret's policy granting — unless planted — the Artifact Registry
// service agent.
func (g *generator) remoteRepo(id, num, projName string, anc []string) {
	repo := fmt.Sprintf("projects/%s/locations/us/repositories/hub-mirror", id)
	repoName := "//artifactregistry.googleapis.com/" + repo
	g.resource(repoName, typeRepo, projName, anc, "us", obj{
		"name": repo, "format": "DOCKER", "mode": "REMOTE_REPOSITORY",
		"remoteRepositoryConfig": obj{
			"dockerRepository": obj{"publicRepository": "DOCKER_HUB"},
			"upstreamCredentials": obj{"usernamePasswordCredentials": obj{
				"username": "gen", "passwordSecretVersion": "projects/" + id + "/secrets/hub-token/versions/1",
			}},
		},
	})
	g.stats.Repositories++
	secret := "projects/" + num + "/secrets/hub-token"
	secretName := "//secretmanager.googleapis.com/" + secret
	g.resource(secretName, typeSecret, projName, anc, "", obj{"name": secret, "replication": obj{"automatic": obj{}}})
	g.stats.Secrets++
	agent := "serviceAccount:service-" + num + "@gcp-sa-artifactregistry.iam.gserviceaccount.com"
	bs := []binding{{Role: "roles/secretmanager.viewer", Members: []string{"serviceAccount:deploy@" + id + ".iam.gserviceaccount.com"}}}
	if g.rng.Float64() < g.cfg.Findings {
		g.expect("REMOTE_REPO_SECRET_INACCESSIBLE", repoName, agent, repo)
	} else {
		bs = append(bs, binding{Role: "roles/secretmanager.secretAccessor", Members: []string{agent}})
	}
	g.policy(secretName, typeSecret, anc, bs)
}

// virtualRepo writes a virtual repository whose upstreams are the
// project's first repository (its Artifact Registry agent reads it through
// the role Google grants on the project) and its shared repository (read
// through a grant on it, unless planted).
func (g *generator) virtualRepo(id, num, projName string, anc []string, arAgent string, shared int) {
	repo := fmt.Sprintf("projects/%s/locations/%s/repositories/all", id, region)
	repoName := "//artifactregistry.googleapis.com/" + repo
	g.resource(repoName, typeRepo, projName, anc, region, obj{
		"name": repo, "format": "DOCKER", "mode": "VIRTUAL_REPOSITORY",
		"virtualRepositoryConfig": obj{"upstreamPolicies": []any{
			obj{"id": "own", "repository": fmt.Sprintf("projects/%s/locations/%s/repositories/app0", id, region), "priority": 100},
			// By number, as the API accepts either.
			obj{"id": "shared", "repository": fmt.Sprintf("projects/%s/locations/%s/repositories/shared%d", g.registryN, region, shared), "priority": 50},
		}},
	})
	g.stats.Repositories++
	if g.rng.Float64() < g.cfg.Findings {
		g.expect("VIRTUAL_REPO_UPSTREAM_INACCESSIBLE", repoName, arAgent, sharedRepo(shared))
		return
	}
	g.sharedMembers[shared] = append(g.sharedMembers[shared], arAgent)
}

// sharedRepos writes the registry project's shared repositories with their
// reader grants, once every consumer is known.
func (g *generator) sharedRepos(anc []string) {
	projName := "//cloudresourcemanager.googleapis.com/projects/" + g.registryN
	g.policy(projName, typeProject, anc, g.fillers(max(0, g.cfg.ProjectBindings), fillerRoles, registry))
	for k := range g.cfg.SharedRepos {
		repo := sharedRepo(k)
		name := "//artifactregistry.googleapis.com/" + repo
		g.resource(name, typeRepo, projName, anc, region, obj{"name": repo, "format": "DOCKER", "mode": "STANDARD_REPOSITORY"})
		g.stats.Repositories++
		if m := g.sharedMembers[k]; len(m) > 0 {
			g.policy(name, typeRepo, anc, []binding{{Role: "roles/artifactregistry.reader", Members: m}})
		}
	}
}
