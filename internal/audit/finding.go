// Package audit holds the rules that turn an inventory and the access engine's
// answers into findings, and the types that carry a run's results to the sinks.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kind names what a finding is about. The first three are the actionable
// kinds of the findings contract; the rest are informational.
type Kind string

// Finding kinds.
const (
	// DeployerCannotReadImage: a principal that can create or update a Cloud
	// Run service or job cannot read one of its images.
	DeployerCannotReadImage Kind = "DEPLOYER_CANNOT_READ_IMAGE"
	// ServiceAgentCannotReadImage: the Cloud Run service agent of the
	// resource's project cannot read an image in another project.
	ServiceAgentCannotReadImage Kind = "SERVICE_AGENT_CANNOT_READ_IMAGE"
	// RemoteRepoSecretInaccessible: a remote repository's Artifact Registry
	// service agent cannot access its upstream-credential secret.
	RemoteRepoSecretInaccessible Kind = "REMOTE_REPO_SECRET_INACCESSIBLE"

	// ImageOutsideOrganization: the image's repository lies in a project the
	// scan did not cover, so access to it cannot be verified.
	ImageOutsideOrganization Kind = "IMAGE_OUTSIDE_SCANNED_ORGANIZATION"
	// ImageRepositoryNotFound: the image names a repository in a scanned
	// project that the inventory does not hold (deleted, or never created).
	ImageRepositoryNotFound Kind = "IMAGE_REPOSITORY_NOT_FOUND"
	// ImageUnparseable: the container image reference is not valid.
	ImageUnparseable Kind = "IMAGE_UNPARSEABLE"
	// ConditionNotEvaluable: access depends on an IAM condition the audit
	// cannot decide; it is not counted as a grant.
	ConditionNotEvaluable Kind = "CONDITION_NOT_EVALUABLE"
	// SecretOutsideOrganization: a remote repository's upstream secret lies
	// outside the scanned projects.
	SecretOutsideOrganization Kind = "SECRET_OUTSIDE_SCANNED_ORGANIZATION"
	// MembershipNotResolvable: access depends on a group whose membership the
	// audit could not resolve; it is not counted as a grant.
	MembershipNotResolvable Kind = "GROUP_MEMBERSHIP_UNKNOWN"
	// PolicyNotRead: access depends on an IAM policy the scan did not read
	// (a refused or failed stream, a deadline, a malformed line).
	PolicyNotRead Kind = "IAM_POLICY_NOT_READ"
	// ResourceNotRead: a repository, secret or project the check needs is
	// not in the inventory, and the scan of its kind was incomplete there:
	// absence is not evidence.
	ResourceNotRead Kind = "RESOURCE_NOT_READ"
	// RoleNotKnown: access depends on a role whose definition is neither in
	// the role table nor in the inventory.
	RoleNotKnown Kind = "ROLE_DEFINITION_UNKNOWN"
	// GCRRepositoryMissing: a gcr.io image whose project has no Artifact
	// Registry gcr.io repository. Container Registry was shut down on
	// 2025-03-18; nothing else serves the image, so the next deploy fails.
	GCRRepositoryMissing Kind = "GCR_REPOSITORY_MISSING"
	// ProjectPendingDeletion: the resource's project is pending deletion
	// (DELETE_REQUESTED): it does not run, and no deploy is predicted.
	ProjectPendingDeletion Kind = "PROJECT_PENDING_DELETION"
	// PrincipalSetNotExpandable: access depends on a principal set whose
	// members the audit cannot know (attribute mappings, …).
	PrincipalSetNotExpandable Kind = "PRINCIPAL_SET_NOT_EXPANDABLE"
	// DeployFailedImageRead: Cloud Audit Logs show deploys refused because
	// the principal could not read the image, and the audit finds no
	// reason for it (the policy changed since, or the audit missed a
	// path). See docs/auditlogs.md.
	DeployFailedImageRead Kind = "DEPLOY_FAILED_IMAGE_READ"
)

// Actionable reports whether k is a kind that predicts a failing deploy or
// pull.
func (k Kind) Actionable() bool {
	switch k {
	case DeployerCannotReadImage, ServiceAgentCannotReadImage, RemoteRepoSecretInaccessible, GCRRepositoryMissing,
		VirtualRepoUpstreamInaccessible:
		return true
	}
	return false
}

// Undecided reports whether k is a kind for a pair the audit could not
// decide: it may become actionable once what it hangs on is known.
func (k Kind) Undecided() bool {
	switch k {
	case ConditionNotEvaluable, MembershipNotResolvable, DenyNotEvaluable, PolicyNotRead, ResourceNotRead,
		RoleNotKnown, PrincipalSetNotExpandable:
		return true
	}
	return false
}

// Severity ranks findings.
type Severity string

// Severities, most severe first.
const (
	Critical Severity = "CRITICAL"
	High     Severity = "HIGH"
	Medium   Severity = "MEDIUM"
	Low      Severity = "LOW"
	Info     Severity = "INFO"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// Rank orders severities: 0 is the most severe.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities)
}

// Finding is one result of the audit. Its JSON form is the findings.jsonl
// contract of DESIGN.md; other tools read it, so fields are only ever added.
type Finding struct {
	// FindingID is stable across runs: a hash of kind, resource, principal
	// and repository.
	FindingID string   `json:"finding_id"`
	Kind      Kind     `json:"kind"`
	Severity  Severity `json:"severity"`
	// Resource is the full CAI-style name of the Cloud Run service or job,
	// or of the repository for secret findings, with the project id.
	Resource      string `json:"resource"`
	ResourceType  string `json:"resource_type"`
	ProjectID     string `json:"project_id"`
	ProjectNumber string `json:"project_number"`
	Location      string `json:"location"`
	// Principal is the IAM member string exactly as bound (empty for
	// findings about no principal, e.g. an unparseable image).
	Principal string `json:"principal"`
	Image     string `json:"image"`
	// Repository is projects/PROJECT_ID/locations/L/repositories/R.
	Repository string `json:"repository"`
	// LastDeployer is true when Principal last modified the resource.
	LastDeployer bool `json:"last_deployer"`
	// Permission is the permission the principal lacks.
	Permission string `json:"permission"`
	// Secret is the upstream-credential secret version, for secret findings.
	Secret string `json:"secret,omitempty"`
	// Reason explains the finding with its grant path, in words.
	Reason string `json:"reason"`
	// Remediation is a least-privilege gcloud command.
	Remediation string `json:"remediation"`
	// Folders lists the numeric ids of the folders above the project,
	// nearest first; Organization is the organization's numeric id.
	Folders      []string `json:"folders"`
	Organization string   `json:"organization"`
	// Confirmation is the Policy Troubleshooter verdict when --confirm ran:
	// CONFIRMED, CONTRADICTED, UNKNOWN_CONDITIONAL or UNKNOWN; empty
	// otherwise.
	Confirmation string `json:"confirmation,omitempty"`
	// DependsOn lists, for an undecided finding, what would settle it: the
	// groups, conditions, principal sets, roles, deny policies and scan
	// gaps it hangs on, each as "group:…", "condition:…", "gap:…", ….
	DependsOn []string `json:"depends_on,omitempty"`
	// WouldBe and WouldBeSeverity are the actionable kind and severity an
	// undecided finding becomes if what it hangs on goes against it.
	WouldBe         Kind     `json:"would_be,omitempty"`
	WouldBeSeverity Severity `json:"would_be_severity,omitempty"`

	// container distinguishes per-container findings in the id.
	container string

	// Excepted is true when an entry of the --exceptions file accepts the
	// finding; Exception is that entry. An excepted finding is still
	// written, and counted apart from the open ones.
	Excepted  bool       `json:"excepted,omitempty"`
	Exception *Exception `json:"exception,omitempty"`

	// What Cloud Audit Logs say, when they were read (docs/auditlogs.md).
	// LogEvidence is CONFIRMED_BY_LOGS, RESOLVED_IN_LOGS, NOT_IN_LOGS or
	// UNDECIDED (the logs could not be read); FailedDeploys counts the
	// image-read refusals it rests on, FailedBy names the last caller.
	LogEvidence   string    `json:"log_evidence,omitempty"`
	FailedDeploys int       `json:"failed_deploys,omitempty"`
	FirstFailure  time.Time `json:"first_failure,omitzero"`
	LastFailure   time.Time `json:"last_failure,omitzero"`
	FailedBy      string    `json:"failed_by,omitempty"`
	// ActiveDeployer is true when Principal deployed the resource in the
	// window (Deploys times, last at LastDeploy); DeployerActivity is
	// ACTIVE, DORMANT (could deploy, did not) or UNDECIDED.
	ActiveDeployer   bool      `json:"active_deployer,omitempty"`
	Deploys          int       `json:"deploys,omitempty"`
	LastDeploy       time.Time `json:"last_deploy,omitzero"`
	DeployerActivity string    `json:"deployer_activity,omitempty"`
}

// Exception is an accepted-risk entry of an exceptions file, as findings
// and summaries cite it.
type Exception struct {
	// Where is FILE:LINE of the entry.
	Where   string `json:"where"`
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires"`
}

// Undecided reports whether f is not actionable but could become so: the
// audit could not decide access. Every sink asks here.
func (f *Finding) Undecided() bool {
	return f.Kind.Undecided()
}

// Open reports whether f is actionable and not excepted.
func (f *Finding) Open() bool {
	return f.Kind.Actionable() && !f.Excepted
}

// ID computes the stable finding id from its identifying fields. extra
// distinguishes findings that share the four (two unparseable containers of
// one job); it is hashed only when given, so the ids of findings without it
// stay as they were.
func ID(kind Kind, resource, principal, repository string, extra ...string) string {
	h := sha256.New()
	for _, s := range append([]string{string(kind), resource, principal, repository}, extra...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
