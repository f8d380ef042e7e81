-- latest_findings: the findings of the most recent run.
CREATE OR REPLACE VIEW `${dataset}.latest_findings`
OPTIONS (description = "runaudit: findings of the most recent run.")
AS
SELECT
  f.*,
  r.complete AS run_complete
FROM `${dataset}.findings` AS f
JOIN `${dataset}.runs` AS r USING (run_date, run_id)
WHERE f.run_date = (SELECT MAX(run_date) FROM `${dataset}.runs`);
