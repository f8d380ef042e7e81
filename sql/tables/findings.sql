-- findings: one row per finding of a run, every field of the findings.jsonl
-- contract plus run_id, run_date and actionable. Clustered for the dashboard
-- views: filters and groups by kind, severity and project; joins on finding_id.
CREATE TABLE IF NOT EXISTS `${dataset}.findings` (
  run_id STRING NOT NULL OPTIONS (description = "Run that produced the finding."),
  run_date DATE NOT NULL OPTIONS (description = "UTC date of the run. Partition key."),
  finding_id STRING NOT NULL OPTIONS (description = "Stable across runs: hash of kind, resource, principal and repository."),
  kind STRING NOT NULL OPTIONS (description = "An actionable kind (DEPLOYER_CANNOT_READ_IMAGE, SERVICE_AGENT_CANNOT_READ_IMAGE, REMOTE_REPO_SECRET_INACCESSIBLE, GCR_REPOSITORY_MISSING, VIRTUAL_REPO_UPSTREAM_INACCESSIBLE) or an informational one."),
  severity STRING NOT NULL OPTIONS (description = "CRITICAL, HIGH, MEDIUM, LOW or INFO."),
  actionable BOOL NOT NULL OPTIONS (description = "True for the kinds that predict a failing deploy or pull."),
  resource STRING OPTIONS (description = "Full CAI name of the Cloud Run service or job, or of the repository for secret findings."),
  resource_type STRING OPTIONS (description = "Asset type of resource."),
  project_id STRING OPTIONS (description = "Project id of resource."),
  project_number STRING OPTIONS (description = "Project number of resource."),
  location STRING OPTIONS (description = "Location of resource."),
  principal STRING OPTIONS (description = "IAM member exactly as bound (empty when the finding names no principal)."),
  image STRING OPTIONS (description = "Container image reference."),
  repository STRING OPTIONS (description = "projects/PROJECT_ID/locations/L/repositories/R."),
  last_deployer BOOL OPTIONS (description = "True when principal last modified the resource."),
  permission STRING OPTIONS (description = "Permission the principal lacks."),
  secret STRING OPTIONS (description = "Upstream-credential secret version, for secret findings."),
  reason STRING OPTIONS (description = "Why: the grant path, in words."),
  remediation STRING OPTIONS (description = "Least-privilege gcloud command that fixes the finding."),
  folders ARRAY<STRING> OPTIONS (description = "Numeric ids of the folders above the project, nearest first."),
  organization STRING OPTIONS (description = "Numeric id of the organization."),
  confirmation STRING OPTIONS (description = "Policy Troubleshooter verdict when --confirm ran: CONFIRMED, CONTRADICTED, UNKNOWN_CONDITIONAL or UNKNOWN."),
  log_evidence STRING OPTIONS (description = "Cloud Audit Logs: CONFIRMED_BY_LOGS, RESOLVED_IN_LOGS, NOT_IN_LOGS or UNDECIDED; NULL when logs were not read."),
  failed_deploys INT64 OPTIONS (description = "Image-read refusals of the principal's deploys the evidence rests on."),
  first_failure TIMESTAMP OPTIONS (description = "First of those refusals."),
  last_failure TIMESTAMP OPTIONS (description = "Last of those refusals."),
  failed_by STRING OPTIONS (description = "Caller of the last refusal, with whoever impersonated it."),
  active_deployer BOOL OPTIONS (description = "True when the principal deployed the resource in the audit-log window."),
  deploys INT64 OPTIONS (description = "Successful deploys of the resource by the principal in the window."),
  last_deploy TIMESTAMP OPTIONS (description = "Last of those deploys."),
  deployer_activity STRING OPTIONS (description = "ACTIVE, DORMANT (can deploy, did not) or UNDECIDED."),
  excepted BOOL OPTIONS (description = "True when an --exceptions entry accepts the finding: written, but not open."),
  exception_where STRING OPTIONS (description = "The accepting exceptions entry, as FILE:LINE."),
  exception_reason STRING OPTIONS (description = "Why the risk is accepted, from the exceptions entry."),
  exception_owner STRING OPTIONS (description = "Who owns the accepted risk, from the exceptions entry."),
  exception_expires STRING OPTIONS (description = "When the exceptions entry stops applying, as written in the file.")
)
PARTITION BY run_date
CLUSTER BY kind, severity, project_id, finding_id
OPTIONS (description = "runaudit: one row per finding of a run.");
