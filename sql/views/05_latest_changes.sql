-- latest_changes: findings NEW and RESOLVED on the most recent run, compared
-- with the runs before it.
CREATE OR REPLACE VIEW `${dataset}.latest_changes`
OPTIONS (description = "runaudit: findings new and resolved since the previous run.")
AS
SELECT
  c.*,
  r.previous_run_date,
  r.complete AS run_complete
FROM `${dataset}.finding_changes` AS c
JOIN `${dataset}.run_sequence` AS r ON r.run_date = c.run_date
WHERE r.latest;
