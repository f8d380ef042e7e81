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
	// DeployFailedImageRead: Cloud Audit Logs show deploys refused because
	// the principal could not read the image, and the audit finds no
	// reason for it (the policy changed since, or the audit missed a
	// path). See docs/auditlogs.md.
	DeployFailedImageRead Kind = "DEPLOY_FAILED_IMAGE_READ"
)

// Actionable reports whether k is one of the three kinds that predict a
// failing deploy or pull.
func (k Kind) Actionable() bool {
	switch k {
	case DeployerCannotReadImage, ServiceAgentCannotReadImage, RemoteRepoSecretInaccessible:
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
	// CONFIRMED, CONTRADICTED or UNKNOWN; empty otherwise.
	Confirmation string `json:"confirmation,omitempty"`

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

// ID computes the stable finding id from its identifying fields.
func ID(kind Kind, resource, principal, repository string) string {
	h := sha256.New()
	for _, s := range []string{string(kind), resource, principal, repository} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
