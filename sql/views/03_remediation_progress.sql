-- remediation_progress: one row per finding_id ever seen, with when it was
-- first and last seen and when it was resolved. status is OPEN when the
-- latest run has it, RESOLVED when a complete run after its last sighting
-- does not, and UNVERIFIED when only incomplete runs followed its last
-- sighting. Attributes come from the last sighting.
CREATE OR REPLACE VIEW `${dataset}.remediation_progress`
OPTIONS (description = "runaudit: first seen, last seen, resolved on and status per finding_id.")
AS
WITH latest_run AS (
  SELECT MAX(run_date) AS run_date FROM `${dataset}.runs`
),
seen AS (
  SELECT
    finding_id,
    MIN(run_date) AS first_seen,
    MAX(run_date) AS last_seen,
    COUNT(DISTINCT run_date) AS runs_seen
  FROM `${dataset}.findings`
  GROUP BY finding_id
),
opened AS (
  SELECT
    finding_id,
    MAX(run_date) AS open_since,
    COUNT(*) AS times_opened
  FROM `${dataset}.finding_changes`
  WHERE change = 'NEW'
  GROUP BY finding_id
),
last_sighting AS (
  SELECT *
  FROM (
    SELECT
      f.*,
      ROW_NUMBER() OVER (PARTITION BY f.finding_id ORDER BY f.run_date DESC, f.image) AS nth
    FROM `${dataset}.findings` AS f
  )
  WHERE nth = 1
)
SELECT
  s.finding_id,
  l.kind,
  l.severity,
  l.actionable,
  l.resource,
  l.resource_type,
  l.project_id,
  l.project_number,
  l.location,
  l.principal,
  l.image,
  l.repository,
  l.permission,
  l.secret,
  l.remediation,
  l.folders,
  l.organization,
  s.first_seen,
  s.last_seen,
  IF(s.last_seen = lr.run_date, NULL, r.next_complete_run_date) AS resolved_on,
  CASE
    WHEN s.last_seen = lr.run_date THEN 'OPEN'
    WHEN r.next_complete_run_date IS NOT NULL THEN 'RESOLVED'
    ELSE 'UNVERIFIED'
  END AS status,
  o.open_since,
  o.times_opened - 1 AS times_reopened,
  s.runs_seen,
  DATE_DIFF(
    IF(s.last_seen = lr.run_date, lr.run_date, IFNULL(r.next_complete_run_date, s.last_seen)),
    s.first_seen,
    DAY
  ) AS days_open
FROM seen AS s
CROSS JOIN latest_run AS lr
JOIN last_sighting AS l ON l.finding_id = s.finding_id
JOIN `${dataset}.run_sequence` AS r ON r.run_date = s.last_seen
LEFT JOIN opened AS o ON o.finding_id = s.finding_id;
