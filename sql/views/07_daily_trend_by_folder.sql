-- daily_trend_by_folder: findings per run date under each folder, counting
-- a finding once under every folder above its project (so a folder's figure
-- includes its subfolders). Projects directly under the organization appear
-- only in daily_trend.
CREATE OR REPLACE VIEW `${dataset}.daily_trend_by_folder`
OPTIONS (description = "runaudit: findings per run date under each folder, subfolders included.")
AS
SELECT
  f.run_date,
  folder,
  f.kind,
  f.severity,
  f.actionable,
  f.organization,
  r.complete AS run_complete,
  COUNT(DISTINCT f.finding_id) AS findings,
  COUNT(DISTINCT f.project_id) AS projects,
  COUNT(DISTINCT NULLIF(f.principal, '')) AS principals,
  COUNT(DISTINCT f.resource) AS resources
FROM `${dataset}.findings` AS f
CROSS JOIN UNNEST(f.folders) AS folder
JOIN `${dataset}.runs` AS r USING (run_date, run_id)
GROUP BY run_date, folder, kind, severity, actionable, organization, run_complete;
