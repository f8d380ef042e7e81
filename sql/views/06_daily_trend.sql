-- daily_trend: findings per run date by kind, severity, folder and project.
-- folder is the project's nearest folder ('' when the project sits directly
-- under the organization); daily_trend_by_folder rolls up every ancestor.
-- findings counts distinct finding ids, so it can be summed across rows;
-- principals and resources cannot (one principal can span projects).
CREATE OR REPLACE VIEW `${dataset}.daily_trend`
OPTIONS (description = "runaudit: findings per run date by kind, severity, folder and project.")
AS
SELECT
  f.run_date,
  f.kind,
  f.severity,
  f.actionable,
  f.organization,
  IFNULL(f.folders[SAFE_OFFSET(0)], '') AS folder,
  f.project_id,
  r.complete AS run_complete,
  COUNT(DISTINCT f.finding_id) AS findings,
  COUNT(DISTINCT NULLIF(f.principal, '')) AS principals,
  COUNT(DISTINCT f.resource) AS resources
FROM `${dataset}.findings` AS f
JOIN `${dataset}.runs` AS r USING (run_date, run_id)
GROUP BY run_date, kind, severity, actionable, organization, folder, project_id, run_complete;
