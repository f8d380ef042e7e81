-- daily_inventory: Cloud Run images per run date by verdict, resource type,
-- folder and project: the migration's progress (AT_RISK going to zero).
CREATE OR REPLACE VIEW `${dataset}.daily_inventory`
OPTIONS (description = "runaudit: Cloud Run images per run date by verdict, type, folder and project.")
AS
SELECT
  i.run_date,
  i.verdict,
  i.resource_type,
  i.organization,
  IFNULL(i.folders[SAFE_OFFSET(0)], '') AS folder,
  i.project_id,
  r.complete AS run_complete,
  COUNT(*) AS images,
  COUNT(DISTINCT i.resource) AS resources
FROM `${dataset}.inventory` AS i
JOIN `${dataset}.runs` AS r USING (run_date, run_id)
GROUP BY run_date, verdict, resource_type, organization, folder, project_id, run_complete;
