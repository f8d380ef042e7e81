-- runs: one row per audit run. A day holds at most one run: the sink replaces
-- a day's rows in every table in one transaction, so rerunning the job on the
-- same day never duplicates anything.
CREATE TABLE IF NOT EXISTS `${dataset}.runs` (
  run_id STRING NOT NULL OPTIONS (description = "Identifier of the audit run."),
  run_date DATE NOT NULL OPTIONS (description = "UTC date the run started. Partition key; a rerun on the same date replaces the date's rows."),
  version STRING OPTIONS (description = "runaudit version that produced the run."),
  organization STRING OPTIONS (description = "Numeric id of the audited organization."),
  scope STRING OPTIONS (description = "What was scanned: organizations/N, folders/N, projects/P or the export files."),
  source STRING OPTIONS (description = "Where the assets came from: live Cloud Asset Inventory or export files."),
  started_at TIMESTAMP OPTIONS (description = "When the run started."),
  finished_at TIMESTAMP OPTIONS (description = "When the run finished."),
  evaluated_at TIMESTAMP OPTIONS (description = "Time IAM conditions were evaluated at."),
  complete BOOL NOT NULL OPTIONS (description = "True when everything in scope was read; false when gaps exist. Absence from an incomplete run does not resolve a finding."),
  gaps ARRAY<STRUCT<scope STRING, asset_type STRING, reason STRING>> OPTIONS (description = "What the run could not read, and why."),
  skipped_total INT64 OPTIONS (description = "Input items passed over (malformed lines, unknown roles, ...)."),
  skipped ARRAY<STRUCT<input STRING, reason STRING>> OPTIONS (description = "The items passed over (the list may be capped; skipped_total counts all)."),
  findings INT64 OPTIONS (description = "Findings of the run, all kinds."),
  actionable_findings INT64 OPTIONS (description = "Findings of the actionable kinds (they predict a failing deploy or pull)."),
  undecided_findings INT64 OPTIONS (description = "Findings the audit could not decide (groups, conditions, principal sets, scan gaps): they may become actionable. Counted apart from INFO."),
  by_kind ARRAY<STRUCT<kind STRING, findings INT64>> OPTIONS (description = "Findings by kind."),
  by_severity ARRAY<STRUCT<severity STRING, findings INT64>> OPTIONS (description = "Findings by severity."),
  by_project ARRAY<STRUCT<project_id STRING, findings INT64>> OPTIONS (description = "Findings by project id."),
  inventory ARRAY<STRUCT<category STRING, items INT64>> OPTIONS (description = "What was read, by category (projects, services, jobs, repositories, images, ...)."),
  loaded_at TIMESTAMP OPTIONS (description = "When the sink wrote the run."),
  excepted_findings INT64 OPTIONS (description = "Findings an --exceptions entry accepts (counted in findings, never open)."),
  open_findings INT64 OPTIONS (description = "Actionable findings no exceptions entry accepts."),
  expired_exceptions INT64 OPTIONS (description = "Exceptions entries past their expiry, no longer applied: renew or remove them."),
  unmatched_exceptions INT64 OPTIONS (description = "Exceptions entries that matched no finding.")
)
PARTITION BY run_date
OPTIONS (description = "runaudit: one row per audit run (at most one per run_date).");
