-- finding_changes: the day each finding appeared (NEW) and the day it went
-- away (RESOLVED), for every run. A finding is NEW on a run when it was never
-- seen before or was resolved since its last sighting; it is RESOLVED on the
-- first complete run after a sighting that does not contain it. Attributes
-- come from the sighting (observed_on): for RESOLVED rows, the last one.
CREATE OR REPLACE VIEW `${dataset}.finding_changes`
OPTIONS (description = "runaudit: NEW and RESOLVED events per finding and run.")
AS
WITH sightings AS (
  -- One row per finding and run: a finding id can cover several images.
  SELECT *
  FROM (
    SELECT
      f.*,
      ROW_NUMBER() OVER (PARTITION BY f.run_date, f.finding_id ORDER BY f.image) AS nth
    FROM `${dataset}.findings` AS f
  )
  WHERE nth = 1
),
streaks AS (
  SELECT
    s.*,
    s.run_date AS observed_on,
    LAG(s.run_date) OVER (PARTITION BY s.finding_id ORDER BY s.run_date) AS previous_seen,
    LEAD(s.run_date) OVER (PARTITION BY s.finding_id ORDER BY s.run_date) AS next_seen
  FROM sightings AS s
),
events AS (
  -- Each sighting can start a streak (NEW on its own run) and end one
  -- (RESOLVED on the next complete run without it).
  SELECT
    IF(change = 'NEW', s.run_date, cur.next_complete_run_date) AS change_date,
    change,
    s.*
  FROM streaks AS s
  JOIN `${dataset}.run_sequence` AS cur ON cur.run_date = s.run_date
  LEFT JOIN `${dataset}.run_sequence` AS prev ON prev.run_date = s.previous_seen
  CROSS JOIN UNNEST(['NEW', 'RESOLVED']) AS change
  WHERE
    (change = 'NEW' AND (s.previous_seen IS NULL OR prev.next_complete_run_date < s.run_date))
    OR (change = 'RESOLVED' AND cur.next_complete_run_date IS NOT NULL
      AND (s.next_seen IS NULL OR s.next_seen > cur.next_complete_run_date))
)
SELECT
  e.change_date AS run_date,
  e.change,
  e.finding_id,
  e.kind,
  e.severity,
  e.actionable,
  e.resource,
  e.resource_type,
  e.project_id,
  e.project_number,
  e.location,
  e.principal,
  e.image,
  e.repository,
  e.last_deployer,
  e.permission,
  e.secret,
  e.reason,
  e.remediation,
  e.folders,
  e.organization,
  e.observed_on
FROM events AS e;
