-- confirmed_failures_daily: findings that Cloud Audit Logs confirm (deploys
-- or revisions refused for image read, not resolved by a later deploy), per
-- run date and day of the last refusal, by kind, severity and project.
-- unexplained counts DEPLOY_FAILED_IMAGE_READ: refusals no finding explains.
-- Runs without audit logs have NULL log_evidence and add no rows.
CREATE OR REPLACE VIEW `${dataset}.confirmed_failures_daily`
OPTIONS (description = "runaudit: findings confirmed by failed deploys in Cloud Audit Logs, per run date and failure day.")
AS
SELECT
  f.run_date,
  DATE(f.last_failure) AS failure_date,
  f.kind,
  f.severity,
  f.organization,
  f.project_id,
  COUNT(DISTINCT f.finding_id) AS findings,
  SUM(IFNULL(f.failed_deploys, 0)) AS failed_deploys,
  COUNT(DISTINCT NULLIF(f.principal, '')) AS principals,
  COUNT(DISTINCT IF(f.kind = 'DEPLOY_FAILED_IMAGE_READ', f.finding_id, NULL)) AS unexplained,
  COUNT(DISTINCT IF(f.active_deployer, f.finding_id, NULL)) AS active_deployers
FROM `${dataset}.findings` AS f
WHERE f.log_evidence = 'CONFIRMED_BY_LOGS'
GROUP BY run_date, failure_date, kind, severity, organization, project_id;
