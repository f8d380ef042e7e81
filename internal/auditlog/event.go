// Package auditlog reads Cloud Run's Cloud Audit Logs, live with the
// Logging API or from a `gcloud logging read --format=json` file, turns
// each create, replace or update of a service, job or worker pool into a
// deploy event (who, what, when, whether it failed and why), and joins
// those events with the audit's findings: failed image-read deploys
// confirm a finding or become one, successful ones say who really deploys.
// See docs/auditlogs.md.
package auditlog

import (
	"strings"
	"time"
)

// Resource types of the findings contract, and the monitored resource
// types Cloud Run logs under.
const (
	TypeService    = "run.googleapis.com/Service"
	TypeJob        = "run.googleapis.com/Job"
	TypeWorkerPool = "run.googleapis.com/WorkerPool"

	monitoredService    = "cloud_run_revision"
	monitoredJob        = "cloud_run_job"
	monitoredWorkerPool = "cloud_run_worker_pool"
)

// AssetType names the log entries a coverage gap leaves unread.
const AssetType = "logging.googleapis.com/LogEntry"

// DownloadArtifacts is the permission an image-read refusal is about.
const DownloadArtifacts = "artifactregistry.repositories.downloadArtifacts"

// Source says which audit log an event came from.
type Source string

// Sources.
const (
	// AdminActivity: the deploy call itself (always on, kept 400 days).
	AdminActivity Source = "activity"
	// SystemEvent: Cloud Run reconciling the resource after the call, where
	// the service agent's failure to pull an image shows.
	SystemEvent Source = "system_event"
)

// Outcome is how a deploy ended.
type Outcome string

// Outcomes.
const (
	Succeeded Outcome = "SUCCEEDED"
	Failed    Outcome = "FAILED"
	// Pending: a long-running call was accepted and its last entry is not
	// in the window. The principal deployed; whether it worked is unknown.
	Pending Outcome = "PENDING"
)

// Principal is the caller of a deploy, mapped to the IAM member string a
// finding names.
type Principal struct {
	// Member is "user:…", "serviceAccount:…" or a "principal://…" subject;
	// empty when the log does not say who it was in a form IAM binds.
	Member string
	// Logged is the caller exactly as the entry has it (principalEmail or
	// principalSubject).
	Logged string
	// Delegates are the principals that acted through Member when it is an
	// impersonated service account, original caller first, as IAM members
	// where they map (serviceAccountDelegationInfo).
	Delegates []string
	// Unmapped says why Member is empty, or why it is only the subject of
	// a principal set the log cannot relate to a binding.
	Unmapped string
}

// String prints the caller with its delegation chain.
func (p Principal) String() string {
	s := p.Member
	if s == "" {
		s = "unknown caller " + quoteOr(p.Logged, "(not logged)")
	}
	if len(p.Delegates) > 0 {
		s += " (impersonated by " + strings.Join(p.Delegates, " → ") + ")"
	}
	return s
}

func quoteOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return `"` + s + `"`
}

// Failure is why a deploy failed.
type Failure struct {
	Code    int32
	Message string
	// ImageRead is true only for a refusal to read a container image (the
	// "must have permission to read the image" or downloadArtifacts-denied
	// message); other refusals with the same code, such as
	// iam.serviceAccounts.actAs, are not.
	ImageRead bool
	// Image and Repository are parsed from the message (the request of a
	// v1 call need not carry the containers); Repository is
	// projects/P/locations/L/repositories/R.
	Image      string
	Repository string
	// Account is the account the message says lacks access ("Google Cloud
	// Run Service Agent service-…@…"), when it names one.
	Account string
}

// Event is one deploy of a Cloud Run service, job or worker pool. The two
// entries a long-running v2 call logs (first and last, one operation id)
// make one event.
type Event struct {
	// Resource is the findings' name of the resource:
	// //run.googleapis.com/projects/PROJECT_ID/locations/L/services/S
	// (or jobs/J, workerPools/W). ProjectID may still be a number when
	// the entry named the project only by number; Normalize resolves it.
	Resource     string
	ResourceType string
	ProjectID    string
	Location     string
	Name         string

	Time      time.Time
	Method    string
	Source    Source
	Caller    Principal
	Outcome   Outcome
	Failure   *Failure
	Operation string
	// InsertID and LogName locate the entry for a reader.
	InsertID string
	LogName  string
}

// ImageReadFailure reports whether e is a deploy refused for image read.
func (e *Event) ImageReadFailure() bool {
	return e.Outcome == Failed && e.Failure != nil && e.Failure.ImageRead
}

// resourceName builds the findings' name of a Cloud Run resource.
func resourceName(project, location, collection, name string) string {
	return "//run.googleapis.com/projects/" + project + "/locations/" + location + "/" + collection + "/" + name
}

func collectionOf(resourceType string) string {
	switch resourceType {
	case TypeJob:
		return "jobs"
	case TypeWorkerPool:
		return "workerPools"
	}
	return "services"
}

// Normalize rewrites every event's project to its id with id, which maps a
// project number (or id) to the project id; an event whose number has no
// id is left as it is and will match no finding.
func Normalize(events []Event, id func(numberOrID string) (string, bool)) {
	for i := range events {
		e := &events[i]
		if e.ProjectID == "" || !isNumber(e.ProjectID) {
			continue
		}
		if pid, ok := id(e.ProjectID); ok && pid != "" {
			e.ProjectID = pid
			e.Resource = resourceName(pid, e.Location, collectionOf(e.ResourceType), e.Name)
		}
	}
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
