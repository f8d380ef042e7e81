-- run_sequence: every run with its neighbours. The next *complete* run after
-- a date is what decides that a finding missing from it is resolved: a run
-- that could not read everything proves nothing by a finding's absence.
CREATE OR REPLACE VIEW `${dataset}.run_sequence`
OPTIONS (description = "runaudit: each run with the previous run and the next complete run.")
AS
SELECT
  run_date,
  run_id,
  complete,
  LAG(run_date) OVER (ORDER BY run_date) AS previous_run_date,
  MIN(IF(complete, run_date, NULL)) OVER (
    ORDER BY run_date ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
  ) AS next_complete_run_date,
  run_date = MAX(run_date) OVER () AS latest
FROM `${dataset}.runs`;
