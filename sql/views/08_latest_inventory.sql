-- latest_inventory: the Cloud Run images of the most recent run with their
-- verdicts.
CREATE OR REPLACE VIEW `${dataset}.latest_inventory`
OPTIONS (description = "runaudit: Cloud Run service, job and worker pool images of the most recent run, with verdicts.")
AS
SELECT
  i.*,
  r.complete AS run_complete
FROM `${dataset}.inventory` AS i
JOIN `${dataset}.runs` AS r USING (run_date, run_id)
WHERE i.run_date = (SELECT MAX(run_date) FROM `${dataset}.runs`);
