package audit

import (
	"time"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Verdict is the audit's conclusion for one container image of a Cloud Run
// service or job.
type Verdict string

// Verdicts for inventory rows.
const (
	// VerdictOK: every check that applies to the image passed.
	VerdictOK Verdict = "OK"
	// VerdictAtRisk: at least one actionable finding names the image.
	VerdictAtRisk Verdict = "AT_RISK"
	// VerdictUnverified: the image could not be checked (outside the scan,
	// unparseable, repository missing, access undecidable).
	VerdictUnverified Verdict = "UNVERIFIED"
	// VerdictPublic: the image is on a registry without Google Cloud IAM,
	// or outside the scan in a repository the registry serves to anonymous
	// clients.
	VerdictPublic Verdict = "PUBLIC_REGISTRY"
	// VerdictNotRunning: the resource's project is pending deletion.
	VerdictNotRunning Verdict = "NOT_RUNNING"
)

// InventoryRow is one container image of one Cloud Run service or job, with
// the audit's verdict. Its JSON form feeds the inventory table and sheet.
type InventoryRow struct {
	Resource       string   `json:"resource"`
	ResourceType   string   `json:"resource_type"`
	ProjectID      string   `json:"project_id"`
	ProjectNumber  string   `json:"project_number"`
	Location       string   `json:"location"`
	Container      string   `json:"container"`
	Image          string   `json:"image"`
	ImageClass     string   `json:"image_class"`
	Repository     string   `json:"repository"`
	ServiceAccount string   `json:"service_account"`
	Creator        string   `json:"creator"`
	LastModifier   string   `json:"last_modifier"`
	Verdict        Verdict  `json:"verdict"`
	Findings       int      `json:"findings"`
	Folders        []string `json:"folders"`
	Organization   string   `json:"organization"`
	// Note says why an image is UNVERIFIED when no finding names it (the
	// scan did not read a policy that may add deployers), or why an image
	// outside the scan is PUBLIC_REGISTRY (what the registry answered an
	// anonymous client).
	Note string `json:"note,omitempty"`
}

// Gap is something the scan could not read: the run is incomplete where a
// gap exists, and says so. Scope is what was being read (an organization,
// folder or project name, or a file), AssetType the missing asset or content
// type if known, Reason what went wrong.
type Gap = inventory.Gap

// Skip is one input item passed over, with where it was and why.
type Skip = inventory.Skip

// Summary is the run's summary.json: what was scanned, what was found, and
// what is missing.
type Summary struct {
	RunID        string    `json:"run_id"`
	Version      string    `json:"version"`
	Organization string    `json:"organization"`
	Scope        string    `json:"scope"`
	Source       string    `json:"source"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at"`
	// EvaluatedAt is the time IAM conditions were evaluated at.
	EvaluatedAt time.Time `json:"evaluated_at"`
	// Status is "complete", "incomplete" (gaps), "interrupted" (a signal
	// stopped the run; what was known is written, with gaps) or "failed"
	// (Error says why; do not trust other outputs).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Complete is false whenever Gaps is non-empty.
	Complete bool  `json:"complete"`
	Gaps     []Gap `json:"gaps"`
	// Skipped lists input lines and assets passed over (malformed, unknown
	// role, …); SkippedTotal counts them all even when the list is capped.
	Skipped      []Skip `json:"skipped"`
	SkippedTotal int    `json:"skipped_total"`

	Findings int `json:"findings"`
	// Actionable counts findings that predict a failing deploy or pull;
	// Undecided those the audit could not decide, which may become
	// actionable once what they hang on is known. Counted apart, never
	// folded into INFO.
	Actionable int `json:"actionable"`
	Undecided  int `json:"undecided"`
	// UndecidedOn names what holds the most undecided findings (a group,
	// a gap, a condition, …), most first, with how to settle it.
	UndecidedOn []Hang         `json:"undecided_on,omitempty"`
	ByKind      map[string]int `json:"by_kind"`
	BySeverity  map[string]int `json:"by_severity"`
	ByProject   map[string]int `json:"by_project"`
	// Inventory counts what was read, by category (projects, services, jobs,
	// repositories, secrets, custom_roles, iam_policies, images, …).
	Inventory map[string]int `json:"inventory"`

	// Excepted counts the findings an exceptions entry accepts; they are
	// in Findings and the maps too, but never open.
	Excepted int `json:"excepted"`
	// Exceptions reports on the --exceptions file, when one was given.
	Exceptions *ExceptionsReport `json:"exceptions,omitempty"`
}

// ExceptionsReport says how an exceptions file applied: entries past their
// expiry (no longer applied: renew or remove them) and entries that matched
// no finding.
type ExceptionsReport struct {
	File      string      `json:"file"`
	Entries   int         `json:"entries"`
	Expired   []Exception `json:"expired"`
	Unmatched []Exception `json:"unmatched"`
}

// Hang is one thing undecided findings hang on.
type Hang struct {
	// On is the group, principal set, "gap:…", "condition:…", "role:…" or
	// "deny:…" as depends_on names it.
	On       string `json:"on"`
	Findings int    `json:"findings"`
	// Fix says how to settle it.
	Fix string `json:"fix"`
}

// ProjectCoverage says what the scan read of one project, for the coverage
// sheet and the inventory counts.
type ProjectCoverage struct {
	ProjectID     string   `json:"project_id"`
	ProjectNumber string   `json:"project_number"`
	Folders       []string `json:"folders"`
	Services      int      `json:"services"`
	Jobs          int      `json:"jobs"`
	WorkerPools   int      `json:"worker_pools"`
	Repositories  int      `json:"repositories"`
	Secrets       int      `json:"secrets"`
	IAMPolicies   int      `json:"iam_policies"`
	// Gaps lists what could not be read for this project (asset types,
	// reasons); empty when the project was read completely.
	Gaps []string `json:"gaps,omitempty"`
}

// Deployer is one principal that deployed one Cloud Run resource, as
// Cloud Audit Logs show it (docs/auditlogs.md): the deploys.jsonl rows.
type Deployer struct {
	Resource     string `json:"resource"`
	ResourceType string `json:"resource_type"`
	ProjectID    string `json:"project_id"`
	Location     string `json:"location"`
	// Principal is the caller as an IAM member ("" when the log names
	// none the audit can map; Logged then says what it named).
	Principal string `json:"principal"`
	Logged    string `json:"logged,omitempty"`
	// Via lists who acted through Principal (impersonation), as logged.
	Via []string `json:"via,omitempty"`
	// Deploys counts accepted deploys (PENDING long-running ones too);
	// ImageReadFailures the deploys refused for image read.
	Deploys           int       `json:"deploys"`
	LastDeploy        time.Time `json:"last_deploy,omitzero"`
	ImageReadFailures int       `json:"image_read_failures"`
	LastFailure       time.Time `json:"last_failure,omitzero"`
}

// Result is everything a run produces, as the sinks receive it.
type Result struct {
	Summary   Summary
	Findings  []Finding
	Inventory []InventoryRow
	Coverage  []ProjectCoverage
	// Deployers is who deployed what, when audit logs were read.
	Deployers []Deployer
}
