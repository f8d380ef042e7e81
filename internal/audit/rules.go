package audit

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/imageref"
	"github.com/runaudit/runaudit/internal/inventory"
)

// Resource types as findings name them.
const (
	ResourceTypeService    = inventory.TypeService
	ResourceTypeJob        = inventory.TypeJob
	ResourceTypeWorkerPool = inventory.TypeWorkerPool
	ResourceTypeRepository = inventory.TypeRepository
)

// ResourceTypeOf is the resource_type of findings about a Cloud Run
// resource of kind k.
func ResourceTypeOf(k inventory.Kind) string {
	switch k {
	case inventory.KindJob:
		return ResourceTypeJob
	case inventory.KindWorkerPool:
		return ResourceTypeWorkerPool
	}
	return ResourceTypeService
}

// SecretNotFound: a remote repository's upstream secret is in a scanned
// project but not in the inventory.
const SecretNotFound Kind = "REMOTE_REPO_SECRET_NOT_FOUND"

// DenyNotEvaluable: access depends on an IAM deny rule the audit cannot
// decide (its condition, a group in it, or deny policies that could not be
// read); it is not counted as a grant.
const DenyNotEvaluable Kind = "DENY_POLICY_NOT_EVALUABLE"

// Options configure Evaluate.
type Options struct {
	// Concurrency bounds the resources evaluated at once; 0 means GOMAXPROCS.
	Concurrency int
	// PublicProbes holds what anonymous requests to the registry found for
	// repositories outside the scan, by repository name
	// ("projects/P/locations/L/repositories/R"); nil when not probed.
	PublicProbes map[string]PublicProbe
}

// Evaluate runs every rule over the inventory and returns the findings, in a
// deterministic order, and one inventory row per container image.
func Evaluate(ctx context.Context, inv *inventory.Inventory, eng *access.Engine, opts Options) ([]Finding, []InventoryRow, error) {
	n := opts.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	ev := &evaluator{inv: inv, eng: eng, public: opts.PublicProbes}
	ev.virtual = ev.virtualRepositories()
	// Each resource has one inventory row per container: the rows are
	// written in place into one array, rather than gathered per resource
	// and copied, which held every row twice at the end of evaluation.
	offsets := make([]int, len(inv.Runs)+1)
	for i, r := range inv.Runs {
		offsets[i+1] = offsets[i] + len(r.Containers)
	}
	rows := make([]InventoryRow, offsets[len(inv.Runs)])
	perRun := make([][]Finding, len(inv.Runs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	// Chunks keep goroutine overhead low for very many small resources.
	const chunk = 64
	for start := 0; start < len(inv.Runs); start += chunk {
		end := min(start+chunk, len(inv.Runs))
		g.Go(func() error {
			for i := start; i < end; i++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				dst := rows[offsets[i]:offsets[i]:offsets[i+1]]
				res := ev.run(inv.Runs[i], dst)
				if len(res.rows) != cap(dst) {
					return fmt.Errorf("%s: %d inventory rows for %d containers", inv.Runs[i].Node.Key, len(res.rows), cap(dst))
				}
				perRun[i] = res.findings
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, fmt.Errorf("evaluating rules: %w", err)
	}
	nf := 0
	for _, fs := range perRun {
		nf += len(fs)
	}
	var findings []Finding
	if nf > 0 {
		findings = make([]Finding, 0, nf)
	}
	for _, fs := range perRun {
		findings = append(findings, fs...)
	}
	if len(rows) == 0 {
		rows = nil
	}
	findings = append(findings, ev.repositories()...)
	findings = append(findings, ev.virtualFindings()...)
	return findings, rows, nil
}

type evaluator struct {
	inv    *inventory.Inventory
	eng    *access.Engine
	public map[string]PublicProbe
	// virtual holds the virtual-repository rule's results by repository
	// key; read-only once the resources are evaluated.
	virtual map[string]*virtualResult
}

type runResult struct {
	findings []Finding
	rows     []InventoryRow
}

// imageUse is one repository that a resource's images come from.
type imageUse struct {
	repo   *inventory.Repository
	images []string
}

// deployer is a principal that can create or update the resource.
type deployer struct {
	member string
	sure   bool // false: only through an undecided condition or membership
	steps  []access.Step
	// functions: the Cloud Functions service agent, deploying a service
	// that Cloud Functions manages.
	functions bool
}

// RunAgent is the Cloud Run service agent of a project: it pulls the
// images of the project's services, jobs and worker pools.
func RunAgent(projectNumber string) string {
	return "serviceAccount:service-" + projectNumber + "@serverless-robot-prod.iam.gserviceaccount.com"
}

// FunctionsAgent is the Cloud Functions service agent of a project: it
// makes the Cloud Run calls that deploy a function's service.
func FunctionsAgent(projectNumber string) string {
	return "serviceAccount:service-" + projectNumber + "@gcf-admin-robot.iam.gserviceaccount.com"
}

// ArtifactRegistryAgent is the Artifact Registry service agent of a
// project: it reads upstream secrets for remote repositories and upstream
// repositories for virtual ones.
func ArtifactRegistryAgent(projectNumber string) string {
	return "serviceAccount:service-" + projectNumber + "@gcp-sa-artifactregistry.iam.gserviceaccount.com"
}

// serviceAgentEmail matches the Google-managed service agents of a
// project: service-NUMBER@gcp-sa-SERVICE.iam.gserviceaccount.com and the
// older service-NUMBER@gcf-admin-robot… and …@serverless-robot-prod…
// forms, and the Google APIs Service Agent NUMBER@cloudservices…, which
// holds roles/editor on every project.
var serviceAgentEmail = regexp.MustCompile(`^(service-[0-9]+@(gcp-sa-[a-z0-9-]+|gcf-admin-robot|serverless-robot-prod)\.iam\.gserviceaccount\.com|[0-9]+@cloudservices\.gserviceaccount\.com)$`)

// ServiceAgent reports whether member is a Google-managed service agent.
// Agents act only on behalf of their own service: the role Google grants
// one may hold Cloud Run's deploy permissions (roles/editor of the Google
// APIs Service Agent, roles/cloudfunctions.serviceAgent), but no agent
// deploys a resource of its own accord, so none is an ordinary deployer.
// The one that deploys Cloud Run services, Cloud Functions', is checked
// for the services Cloud Functions manages.
func ServiceAgent(member string) bool {
	email, ok := strings.CutPrefix(member, "serviceAccount:")
	return ok && serviceAgentEmail.MatchString(strings.ToLower(email))
}

// managedByFunctions reports whether r is a service that Cloud Functions
// created and deploys (a Cloud Run function deployed with the Cloud
// Functions API): its goog-managed-by label says cloudfunctions.
func managedByFunctions(r *inventory.RunResource) bool {
	return r.Kind == inventory.KindService && r.ManagedBy == inventory.ManagedByCloudFunctions
}

// run evaluates one resource. Its inventory rows, one per container, are
// appended to rows, which has room for exactly them.
func (ev *evaluator) run(r *inventory.RunResource, rows []InventoryRow) runResult {
	res := runResult{rows: rows}
	base := ev.base(r)
	if p := ev.inv.Projects[r.ProjectNumber]; p != nil && p.LifecycleState == "DELETE_REQUESTED" {
		return ev.pendingDeletion(base, r, rows)
	}
	verdicts := map[string]Verdict{} // image → verdict
	public := map[string]string{}    // image outside the scan → why it is public
	var uses []*imageUse
	byRepo := map[string]*imageUse{}
	refs := make([]imageref.Ref, len(r.Containers))
	errs := make([]error, len(r.Containers))
	for i, c := range r.Containers {
		ref, err := imageref.Parse(c.Image)
		refs[i], errs[i] = ref, err
		switch {
		case c.Image == "":
			f := base
			f.Kind, f.Severity, f.container = ImageUnparseable, Info, c.Name
			f.Reason = fmt.Sprintf("container %q has no image in the inventory (%s); its registry access cannot be checked.", c.Name, c.Missing)
			res.add(f)
			verdicts[c.Image] = VerdictUnverified
			continue
		case err != nil:
			f := base
			f.Kind, f.Severity, f.Image, f.container = ImageUnparseable, Info, c.Image, c.Name
			f.Reason = fmt.Sprintf("container %q has an image reference the audit cannot parse (%v); its registry access cannot be checked.", c.Name, err)
			res.add(f)
			verdicts[c.Image] = VerdictUnverified
			continue
		case ref.Class == imageref.Public:
			verdicts[c.Image] = VerdictPublic
			continue
		}
		p := ev.inv.Project(ref.Project)
		if p == nil || !p.Scanned {
			if note, ok := ev.publicImage(ref); ok {
				verdicts[c.Image], public[c.Image] = VerdictPublic, note
				continue
			}
			f := base
			f.Image, f.Repository, f.container = c.Image, ref.RepositoryName(), c.Image
			if g := ev.projectUnread(ref.Project, p); g != nil {
				f.Kind, f.Severity = ResourceNotRead, Info
				f.Reason = fmt.Sprintf("image %s is served by repository %s in project %s, whose Project asset the scan did not read (%s); whether the deployers and the Cloud Run service agent can read it cannot be verified.", c.Image, ref.RepositoryName(), ref.Project, gapWords(g))
				f.DependsOn = []string{gapRef(g)}
				f.WouldBe, f.WouldBeSeverity = ImageOutsideOrganization, Info
			} else {
				f.Kind, f.Severity = ImageOutsideOrganization, Info
				f.Reason = fmt.Sprintf("image %s is served by repository %s in project %s, which the scan did not cover; whether the deployers and the Cloud Run service agent can read it cannot be verified.", c.Image, ref.RepositoryName(), ref.Project)
			}
			f.Reason += ev.probeWords(ref)
			res.add(f)
			verdicts[c.Image] = VerdictUnverified
			continue
		}
		key := inventory.RepositoryKey(p.Number, ref.Location, ref.Repository)
		repo := ev.inv.Repositories[key]
		if repo == nil && ref.Class == imageref.ContainerRegistry && ev.inv.Unread(inventory.TypeRepository, inventory.ContentResource, key, p.Node) == nil {
			f := base
			f.Image, f.Repository, f.container = c.Image, ev.inv.DisplayName(&inventory.Node{Key: key}), c.Image
			f.Kind, f.Severity = GCRRepositoryMissing, High
			f.Reason = fmt.Sprintf("image %s is a gcr.io image, but project %s has no Artifact Registry repository %s: Container Registry was shut down on 2025-03-18, and only a gcr.io repository in Artifact Registry serves gcr.io images now, so the next deploy of this image fails whoever deploys it.", c.Image, p.ID, f.Repository)
			f.Remediation = fmt.Sprintf("gcloud artifacts repositories create %s --project=%s --location=%s --repository-format=docker  # then copy the images: https://cloud.google.com/artifact-registry/docs/transition/auto-migrate-gcr-ar", shellQuote(ref.Repository), shellQuote(p.ID), shellQuote(ref.Location))
			res.add(f)
			verdicts[c.Image] = VerdictAtRisk
			continue
		}
		if repo == nil {
			f := base
			f.Image, f.Repository, f.container = c.Image, ev.inv.DisplayName(&inventory.Node{Key: key}), c.Image
			if g := ev.inv.Unread(inventory.TypeRepository, inventory.ContentResource, key, p.Node); g != nil {
				// Absence is not evidence: the list was not read whole.
				f.Kind, f.Severity = ResourceNotRead, Info
				f.Reason = fmt.Sprintf("image %s names repository %s, which is not in the inventory of project %s, but the scan of repositories there was incomplete (%s); whether it exists and who can read it cannot be verified.", c.Image, f.Repository, p.ID, gapWords(g))
				f.DependsOn = []string{gapRef(g)}
				f.WouldBe, f.WouldBeSeverity = ImageRepositoryNotFound, Info
			} else {
				f.Kind, f.Severity = ImageRepositoryNotFound, Info
				f.Reason = fmt.Sprintf("image %s names repository %s, which is not in the inventory of its project %s: the repository does not exist, so a new deploy of this image fails whoever deploys it.", c.Image, f.Repository, p.ID)
			}
			res.add(f)
			verdicts[c.Image] = VerdictUnverified
			continue
		}
		u := byRepo[key]
		if u == nil {
			u = &imageUse{repo: repo}
			byRepo[key] = u
			uses = append(uses, u)
		}
		if !contains(u.images, c.Image) {
			u.images = append(u.images, c.Image)
		}
		verdicts[c.Image] = VerdictOK
	}

	deployers := ev.deployers(r)
	// A policy the scan did not read may add deployers: no image of r is
	// OK then, only at risk or unverified. Cloud Functions' service agent
	// deploys its services whatever their policies say.
	var unread []access.Step
	if !managedByFunctions(r) {
		unread = ev.eng.Unread(r.Node)
	}
	note := ""
	if len(unread) > 0 {
		note = "who can deploy this " + r.Kind.String() + " is not fully known: " + unread[0].Note
	}
	for _, u := range uses {
		worst := VerdictOK
		if len(unread) > 0 {
			worst = VerdictUnverified
		}
		if v := ev.virtual[u.repo.Node.Key]; v != nil {
			// Pulls through a virtual repository fail where its service
			// agent cannot read an upstream (findings of their own, on the
			// repository).
			worst = worse(worst, v.verdict)
		}
		for _, d := range deployers {
			if f, ok := ev.deployerCheck(base, r, d, u); ok {
				res.add(f)
				worst = worse(worst, verdictOf(f))
			}
		}
		if f, ok := ev.agentCheck(base, r, u); ok {
			res.add(f)
			worst = worse(worst, verdictOf(f))
		}
		for _, img := range u.images {
			verdicts[img] = worse(verdicts[img], worst)
		}
	}

	counts := map[string]int{}
	for _, f := range res.findings {
		for img := range strings.SplitSeq(f.Image, ", ") {
			counts[img]++
		}
	}
	for i, c := range r.Containers {
		row := InventoryRow{
			Resource: base.Resource, ResourceType: base.ResourceType, ProjectID: base.ProjectID,
			ProjectNumber: base.ProjectNumber, Location: base.Location, Container: c.Name, Image: c.Image,
			ServiceAccount: r.ServiceAccount, Creator: r.Creator, LastModifier: r.LastModifier,
			Verdict: verdicts[c.Image], Findings: counts[c.Image], Folders: base.Folders, Organization: base.Organization,
		}
		if row.Verdict == VerdictUnverified && note != "" && errs[i] == nil && refs[i].Class != imageref.Public {
			row.Note = note
		}
		if why := public[c.Image]; why != "" {
			row.Note = why
		}
		if managedByFunctions(r) {
			// Every row of the service says so, beside any other note.
			managed := "managed by Cloud Functions: deployed by its service agent " + strings.TrimPrefix(FunctionsAgent(r.ProjectNumber), "serviceAccount:")
			if row.Note == "" {
				row.Note = managed
			} else {
				row.Note += "; " + managed
			}
		}
		if errs[i] == nil {
			row.ImageClass = string(refs[i].Class)
			row.Repository = refs[i].RepositoryName()
		} else {
			row.ImageClass = "UNPARSEABLE"
		}
		res.rows = append(res.rows, row)
	}
	return res
}

// pendingDeletion reports a resource whose project is pending deletion:
// it does not run and cannot be deployed, so no deploy is predicted to
// fail; its images are NOT_RUNNING.
func (ev *evaluator) pendingDeletion(base Finding, r *inventory.RunResource, rows []InventoryRow) runResult {
	res := runResult{rows: rows}
	f := base
	f.Kind, f.Severity = ProjectPendingDeletion, Info
	f.Reason = fmt.Sprintf("project %s is pending deletion (DELETE_REQUESTED): this %s does not run and cannot be deployed, so its image access is not checked; restoring the project (gcloud projects undelete %s) brings it back as it was.", base.ProjectID, r.Kind, shellQuote(base.ProjectID))
	res.add(f)
	for _, c := range r.Containers {
		row := InventoryRow{
			Resource: base.Resource, ResourceType: base.ResourceType, ProjectID: base.ProjectID,
			ProjectNumber: base.ProjectNumber, Location: base.Location, Container: c.Name, Image: c.Image,
			ServiceAccount: r.ServiceAccount, Creator: r.Creator, LastModifier: r.LastModifier,
			Verdict: VerdictNotRunning, Findings: 1, Folders: base.Folders, Organization: base.Organization,
			Note: "the project is pending deletion",
		}
		if ref, err := imageref.Parse(c.Image); err == nil {
			row.ImageClass, row.Repository = string(ref.Class), ref.RepositoryName()
		} else {
			row.ImageClass = "UNPARSEABLE"
		}
		res.rows = append(res.rows, row)
	}
	return res
}

func (res *runResult) add(f Finding) {
	f.FindingID = f.id()
	res.findings = append(res.findings, f)
}

// id is the finding's stable id; per-container findings hash their
// container or image too, so that two of one resource differ.
func (f Finding) id() string {
	if f.container != "" {
		return ID(f.Kind, f.Resource, f.Principal, f.Repository, f.container)
	}
	return ID(f.Kind, f.Resource, f.Principal, f.Repository)
}

// projectUnread returns the gap that may hide the Project asset of an
// image's project (named by id or number; p is what the inventory knows of
// it, if anything), or nil.
func (ev *evaluator) projectUnread(project string, p *inventory.Project) *inventory.Gap {
	if p != nil {
		return ev.inv.Unread(inventory.TypeProject, inventory.ContentResource, p.Node.Key, p.Node)
	}
	if n := ev.inv.Nodes["projects/"+project]; n != nil {
		return ev.inv.Unread(inventory.TypeProject, inventory.ContentResource, n.Key, n)
	}
	// Nothing places the project: any gap in Project assets may hide it.
	return ev.inv.Unread(inventory.TypeProject, inventory.ContentResource, "projects/"+project, nil)
}

// gapWords describes a gap in a reason.
func gapWords(g *inventory.Gap) string {
	what := g.AssetType
	if what == "" {
		what = "assets"
	}
	if g.ContentType != "" {
		what += " " + g.ContentType
	}
	where := g.Scope
	if g.Asset != "" {
		where = g.Asset
	}
	return what + " of " + where + ": " + g.Reason
}

// gapRef names a gap in depends_on.
func gapRef(g *inventory.Gap) string {
	parts := []string{g.Scope}
	if g.Asset != "" {
		parts = []string{g.Asset}
	}
	if g.AssetType != "" {
		parts = append(parts, g.AssetType)
	}
	if g.ContentType != "" {
		parts = append(parts, g.ContentType)
	}
	return "gap:" + strings.Join(parts, " ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func verdictOf(f Finding) Verdict {
	if f.Kind.Actionable() {
		return VerdictAtRisk
	}
	return VerdictUnverified
}

// worse returns the more serious verdict.
func worse(a, b Verdict) Verdict {
	rank := map[Verdict]int{VerdictNotRunning: 0, VerdictPublic: 0, VerdictOK: 1, VerdictUnverified: 2, VerdictAtRisk: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// base fills the fields every finding about r shares.
func (ev *evaluator) base(r *inventory.RunResource) Finding {
	f := Finding{
		Resource:      "//run.googleapis.com/" + ev.inv.DisplayName(r.Node),
		ResourceType:  ResourceTypeOf(r.Kind),
		ProjectID:     ev.inv.ProjectID(r.ProjectNumber),
		ProjectNumber: r.ProjectNumber,
		Location:      r.Location,
	}
	if p := ev.inv.Projects[r.ProjectNumber]; p != nil {
		f.Folders, f.Organization = p.Folders, p.Organization
	}
	return f
}

// deployers lists who can create or update r: every member bound to a role
// with a deploy permission on r or above, and the last modifier when the
// engine finds it can deploy through a group or other indirect grant.
func (ev *evaluator) deployers(r *inventory.RunResource) []deployer {
	if managedByFunctions(r) {
		// Cloud Functions builds the image and makes the Cloud Run
		// create and update calls itself, through its service agent: that
		// agent is the deployer Cloud Run checks, whoever asked Cloud
		// Functions to deploy.
		return []deployer{{member: FunctionsAgent(r.ProjectNumber), sure: true, functions: true}}
	}
	perms := access.DeployPermsOf(r.Kind)
	var out []deployer
	seen := map[string]bool{}
	for _, h := range ev.eng.Holders(perms, r.Node) {
		if ServiceAgent(h.Member) {
			// Its role lets it deploy only on its own service's behalf
			// (managed services are handled above): not a deployer.
			continue
		}
		d := deployer{member: h.Member, sure: h.Perms != 0, steps: h.Steps}
		out = append(out, d)
		seen[strings.ToLower(h.Member)] = true
	}
	if r.LastModifier == "" {
		return out
	}
	lm := memberOf(r.LastModifier)
	if seen[strings.ToLower(lm)] || ServiceAgent(lm) {
		return out
	}
	best := access.Answer{}
	for _, p := range perms.Names() {
		pp, _ := access.ParsePerm(p)
		if a := ev.eng.Check(lm, pp, r.Node); a.Result > best.Result {
			best = a
		}
	}
	switch best.Result {
	case access.Yes:
		out = append(out, deployer{member: lm, sure: true, steps: best.Grants})
	case access.Unknown:
		out = append(out, deployer{member: lm, sure: false, steps: best.Unknown})
	}
	return out
}

// memberOf turns the email in a creator or lastModifier field into an IAM
// member string.
func memberOf(email string) string {
	switch {
	case strings.Contains(email, ":"):
		return email // already a member string (principal://…)
	case strings.HasSuffix(strings.ToLower(email), ".gserviceaccount.com"):
		return "serviceAccount:" + email
	}
	return "user:" + email
}

func isLastModifier(r *inventory.RunResource, member string) bool {
	return r.LastModifier != "" && strings.EqualFold(memberOf(r.LastModifier), member)
}

// deployerCheck asks whether deployer d can read u's repository.
func (ev *evaluator) deployerCheck(base Finding, r *inventory.RunResource, d deployer, u *imageUse) (Finding, bool) {
	ans := ev.eng.Check(d.member, access.DownloadArtifacts, u.repo.Node)
	if ans.Result == access.Yes {
		return Finding{}, false
	}
	f := base
	f.Principal = d.member
	f.Image = strings.Join(u.images, ", ")
	f.Repository = ev.inv.DisplayName(u.repo.Node)
	f.Permission = access.DownloadArtifacts.String()
	f.LastDeployer = isLastModifier(r, d.member)
	f.Remediation = ev.readerCommand(u.repo, d.member)
	verb := "create or update this " + r.Kind.String()
	var b strings.Builder
	if d.functions {
		fmt.Fprintf(&b, "Cloud Functions manages this service (label %s=%s) and deploys it through its service agent %s, whoever asks for the deploy", inventory.LabelManagedBy, r.ManagedBy, d.member)
	} else {
		fmt.Fprintf(&b, "%s can %s through %s", d.member, verb, ev.steps(d.steps))
	}
	switch {
	case ans.Result == access.No && d.sure:
		f.Kind = DeployerCannotReadImage
		f.Severity = Medium
		if f.LastDeployer || d.functions {
			f.Severity = High // it deploys this resource: every deploy fails
		}
		fmt.Fprintf(&b, ", but holds no %s on repository %s", f.Permission, f.Repository)
		ev.denialOrNone(&b, ans, u.repo.Node)
		fmt.Fprintf(&b, ". Cloud Run checks the deployer's access to every image since 2025-01-15, so its next deploy of %s fails with 403.", f.Image)
	default:
		f.Kind, f.Severity = undecidedKind(ans, d), Info
		f.DependsOn = ev.dependsOn(ans, d)
		f.WouldBe, f.WouldBeSeverity = DeployerCannotReadImage, Medium
		if f.LastDeployer || d.functions {
			f.WouldBeSeverity = High
		}
		fmt.Fprintf(&b, "; whether it holds %s on repository %s cannot be decided", f.Permission, f.Repository)
		if ans.Result == access.Unknown {
			fmt.Fprintf(&b, ": it would through %s%s", ev.steps(ans.Unknown), ev.notApplying(ans))
		} else {
			ev.denialOrNone(&b, ans, u.repo.Node)
			b.WriteString(", and its deploy permission itself is undecided")
		}
		b.WriteString(". Undecided grants are not counted as access.")
	}
	f.Reason = b.String()
	return f, true
}

// undecidedKind names the kind of an undecided answer by what would settle
// it, most decisive first: a deny rule, a scan gap, a group, a principal
// set, a role definition, a condition.
func undecidedKind(ans access.Answer, d deployer) Kind {
	var c access.Cause
	for _, s := range ans.Unknown {
		c |= s.Cause
		if s.Deny {
			c |= access.CauseDeny
		}
	}
	if !d.sure {
		for _, s := range d.steps {
			c |= s.Cause
		}
	}
	switch {
	case c.Has(access.CauseDeny):
		return DenyNotEvaluable
	case c.Has(access.CauseGap):
		return PolicyNotRead
	case c.Has(access.CauseGroup):
		return MembershipNotResolvable
	case c.Has(access.CausePrincipalSet):
		return PrincipalSetNotExpandable
	case c.Has(access.CauseRole):
		return RoleNotKnown
	}
	return ConditionNotEvaluable
}

// dependsOn lists what an undecided answer hangs on, for depends_on.
func (ev *evaluator) dependsOn(ans access.Answer, d deployer) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	steps := ans.Unknown
	if !d.sure {
		steps = append(append([]access.Step{}, steps...), d.steps...)
	}
	for _, s := range steps {
		if s.Gap != nil {
			add(gapRef(s.Gap))
		}
		if s.Cause.Has(access.CauseDeny) || s.Deny {
			add("deny:" + ev.short(s.Node))
		}
		if s.Cause.Has(access.CauseGroup) || s.Cause.Has(access.CausePrincipalSet) {
			add(s.Member)
		}
		if s.Cause.Has(access.CauseRole) && s.Gap == nil {
			add("role:" + s.Role)
		}
		if s.Cause.Has(access.CauseCondition) && s.Condition != nil {
			t := s.Condition.Title
			if t == "" {
				t = s.Condition.Expression
			}
			add("condition:" + t)
		}
	}
	return out
}

// denialOrNone says why access is missing: a deny rule, or no grant on any
// level of the ancestry.
func (ev *evaluator) denialOrNone(b *strings.Builder, ans access.Answer, target *inventory.Node) {
	if ans.Denied != nil {
		fmt.Fprintf(b, ": it is denied by %s", ev.step(*ans.Denied))
		return
	}
	var levels []string
	for _, n := range target.Ancestry() {
		levels = append(levels, n.Kind.String()+" "+ev.short(n))
	}
	fmt.Fprintf(b, " (no binding on %s grants it%s", strings.Join(levels, ", "), ev.notApplying(ans))
	if len(ans.Unknown) > 0 {
		fmt.Fprintf(b, "; undecided: %s", ev.steps(ans.Unknown))
	}
	b.WriteString(")")
}

// notApplying lists the bindings that would grant but do not: a false
// condition, a group the principal is not in.
func (ev *evaluator) notApplying(ans access.Answer) string {
	if len(ans.Refused) == 0 {
		return ""
	}
	return "; not applying: " + ev.steps(ans.Refused)
}

// agentCheck asks whether the Cloud Run service agent of r's project can
// read u's repository. In its own project roles/run.serviceAgent, which
// Google grants on the project, usually covers it; that grant is checked
// like any other, since it can be removed.
func (ev *evaluator) agentCheck(base Finding, r *inventory.RunResource, u *imageUse) (Finding, bool) {
	agent := RunAgent(r.ProjectNumber)
	ans := ev.eng.Check(agent, access.DownloadArtifacts, u.repo.Node)
	if ans.Result == access.Yes {
		return Finding{}, false
	}
	f := base
	f.Principal = agent
	f.Image = strings.Join(u.images, ", ")
	f.Repository = ev.inv.DisplayName(u.repo.Node)
	f.Permission = access.DownloadArtifacts.String()
	f.Remediation = ev.readerCommand(u.repo, agent)
	var b strings.Builder
	where := "in project " + ev.inv.ProjectID(u.repo.ProjectNumber)
	if u.repo.ProjectNumber == r.ProjectNumber {
		where = "in its own project (where roles/run.serviceAgent normally grants it; it was removed or denied)"
	}
	fmt.Fprintf(&b, "the Cloud Run service agent of project %s pulls %s from repository %s %s", base.ProjectID, f.Image, f.Repository, where)
	ev.decideAgent(&f, &b, ans, u.repo.Node, agentRefusal{
		kind: ServiceAgentCannotReadImage, severity: Critical, lacks: ", but holds no %s there", where: "there",
		consequence: ": new revisions and executions cannot pull the image.",
	})
	return f, true
}

// agentRefusal words what a Google agent's missing permission means.
type agentRefusal struct {
	kind     Kind
	severity Severity
	// lacks says the permission (%s) is missing; where names the resource
	// in the undecided sentence; consequence ends the reason.
	lacks, where, consequence string
}

// decideAgent completes a finding about a Google agent's access that is
// not granted: the refusal's kind and severity with why it is refused, or,
// undecided, what it hangs on and what it would be.
func (ev *evaluator) decideAgent(f *Finding, b *strings.Builder, ans access.Answer, target *inventory.Node, r agentRefusal) {
	if ans.Result == access.No {
		f.Kind, f.Severity = r.kind, r.severity
		fmt.Fprintf(b, r.lacks, f.Permission)
		ev.denialOrNone(b, ans, target)
		b.WriteString(r.consequence)
	} else {
		f.Kind, f.Severity = undecidedKind(ans, deployer{sure: true}), Info
		f.DependsOn = ev.dependsOn(ans, deployer{sure: true})
		f.WouldBe, f.WouldBeSeverity = r.kind, r.severity
		fmt.Fprintf(b, "; whether it holds %s %s cannot be decided: it would through %s%s. Undecided grants are not counted as access.", f.Permission, r.where, ev.steps(ans.Unknown), ev.notApplying(ans))
	}
	f.Reason = b.String()
}

// repositories runs the remote-repository secret rule.
func (ev *evaluator) repositories() []Finding {
	keys := make([]string, 0, len(ev.inv.Repositories))
	for k, r := range ev.inv.Repositories {
		if r.UpstreamSecret != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Finding
	for _, k := range keys {
		if f, ok := ev.secretCheck(ev.inv.Repositories[k]); ok {
			f.FindingID = f.id()
			out = append(out, f)
		}
	}
	return out
}

func (ev *evaluator) secretCheck(repo *inventory.Repository) (Finding, bool) {
	f := ev.repositoryFinding(repo)
	f.Principal = ArtifactRegistryAgent(repo.ProjectNumber)
	f.Permission = access.SecretVersionsAccess.String()
	f.Secret = repo.UpstreamSecret
	proj, secret, ok := parseSecretVersion(repo.UpstreamSecret)
	if !ok {
		f.Kind, f.Severity = SecretNotFound, Low
		f.Reason = fmt.Sprintf("remote repository %s names upstream secret %q, which is not a secret version name (projects/P/secrets/S/versions/V).", f.Repository, repo.UpstreamSecret)
		return f, true
	}
	p := ev.inv.Project(proj)
	if p == nil || !p.Scanned {
		f.Kind, f.Severity = SecretOutsideOrganization, Info
		f.Reason = fmt.Sprintf("remote repository %s reads its upstream password from %s, in project %s, which the scan did not cover; whether the Artifact Registry service agent can access it cannot be verified.", f.Repository, repo.UpstreamSecret, proj)
		return f, true
	}
	f.Secret = "projects/" + p.ID + "/secrets/" + secret + strings.TrimPrefix(repo.UpstreamSecret, "projects/"+proj+"/secrets/"+secret)
	skey := inventory.SecretKey(p.Number, secret)
	s := ev.inv.Secrets[skey]
	if s == nil {
		if g := ev.inv.Unread(inventory.TypeSecret, inventory.ContentResource, skey, p.Node); g != nil {
			// Absence is not evidence: the list was not read whole.
			f.Kind, f.Severity = ResourceNotRead, Info
			f.DependsOn = []string{gapRef(g)}
			f.WouldBe, f.WouldBeSeverity = SecretNotFound, Low
			f.Reason = fmt.Sprintf("remote repository %s reads its upstream password from %s, which is not in the inventory of project %s, but the scan of secrets there was incomplete (%s); whether the secret exists and the Artifact Registry service agent can access it cannot be verified.", f.Repository, f.Secret, p.ID, gapWords(g))
			return f, true
		}
		f.Kind, f.Severity = SecretNotFound, Low
		f.Reason = fmt.Sprintf("remote repository %s reads its upstream password from %s, but project %s holds no secret %q in the inventory: pulls through the repository that need the upstream credential fail.", f.Repository, f.Secret, p.ID, secret)
		return f, true
	}
	f.Remediation = fmt.Sprintf("gcloud secrets add-iam-policy-binding %s --project=%s --member=%s --role=roles/secretmanager.secretAccessor", shellQuote(secret), shellQuote(p.ID), shellQuote(f.Principal))
	// Access is checked on the version the repository reads, so that a
	// condition on resource.name sees it.
	target := s.Node
	if _, v, ok := strings.Cut(repo.UpstreamSecret, "/versions/"); ok && v != "" {
		target = &inventory.Node{Key: skey + "/versions/" + v, Kind: inventory.KindSecretVersion, Parent: s.Node}
	}
	ans := ev.eng.Check(f.Principal, access.SecretVersionsAccess, target)
	var b strings.Builder
	fmt.Fprintf(&b, "remote repository %s reads its upstream password from %s through the Artifact Registry service agent of project %s", f.Repository, f.Secret, f.ProjectID)
	if ans.Result == access.Yes {
		return Finding{}, false
	}
	ev.decideAgent(&f, &b, ans, s.Node, agentRefusal{
		kind: RemoteRepoSecretInaccessible, severity: High, lacks: ", which holds no %s on the secret", where: "on the secret",
		consequence: ": pulls of uncached upstream images fail.",
	})
	return f, true
}

// parseSecretVersion splits "projects/P/secrets/S/versions/V".
func parseSecretVersion(s string) (project, secret string, ok bool) {
	parts := strings.Split(s, "/")
	if len(parts) < 4 || parts[0] != "projects" || parts[2] != "secrets" || parts[1] == "" || parts[3] == "" {
		return "", "", false
	}
	if len(parts) != 4 && (len(parts) != 6 || parts[4] != "versions" || parts[5] == "") {
		return "", "", false
	}
	return parts[1], parts[3], true
}

// readerCommand is the least-privilege fix: the reader role on the one
// repository.
func (ev *evaluator) readerCommand(repo *inventory.Repository, member string) string {
	return fmt.Sprintf("gcloud artifacts repositories add-iam-policy-binding %s --project=%s --location=%s --member=%s --role=roles/artifactregistry.reader",
		shellQuote(repo.Name), shellQuote(ev.inv.ProjectID(repo.ProjectNumber)), shellQuote(repo.Location), shellQuote(member))
}

// steps describes grant paths in words.
func (ev *evaluator) steps(ss []access.Step) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		parts = append(parts, ev.step(s))
	}
	if len(parts) == 0 {
		return "an unrecorded path"
	}
	return strings.Join(parts, "; ")
}

func (ev *evaluator) step(s access.Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s %s", s.Role, s.Node.Kind, ev.short(s.Node))
	switch {
	case s.Deny && s.Member != "" && s.Via != "":
		fmt.Fprintf(&b, " denying %s (%s)", s.Member, s.Via)
	case s.Deny && s.Member != "":
		fmt.Fprintf(&b, " denying %s", s.Member)
	case s.Via != "":
		fmt.Fprintf(&b, " bound to %s (%s)", s.Member, s.Via)
	}
	if s.Condition != nil {
		t := s.Condition.Title
		if t == "" {
			t = s.Condition.Expression
		}
		fmt.Fprintf(&b, " under condition %q", t)
	}
	if s.Note != "" {
		fmt.Fprintf(&b, " [%s]", s.Note)
	}
	return b.String()
}

// short names a node for reasons: project ids, not numbers.
func (ev *evaluator) short(n *inventory.Node) string {
	switch n.Kind {
	case inventory.KindProject:
		return ev.inv.ProjectID(strings.TrimPrefix(n.Key, "projects/"))
	case inventory.KindOrganization, inventory.KindFolder:
		_, id, _ := strings.Cut(n.Key, "/")
		return id
	}
	return ev.inv.DisplayName(n)
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond the
// characters that IAM names and member strings normally use.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%_+=:,./-", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
