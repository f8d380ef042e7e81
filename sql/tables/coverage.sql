-- coverage: one row per project a run read, with what it read and what it
-- could not read.
CREATE TABLE IF NOT EXISTS `${dataset}.coverage` (
  run_id STRING NOT NULL OPTIONS (description = "Run that read the project."),
  run_date DATE NOT NULL OPTIONS (description = "UTC date of the run. Partition key."),
  project_id STRING NOT NULL OPTIONS (description = "Project id."),
  project_number STRING OPTIONS (description = "Project number."),
  folders ARRAY<STRING> OPTIONS (description = "Numeric ids of the folders above the project, nearest first."),
  services INT64 OPTIONS (description = "Cloud Run services read."),
  jobs INT64 OPTIONS (description = "Cloud Run jobs read."),
  repositories INT64 OPTIONS (description = "Artifact Registry repositories read."),
  secrets INT64 OPTIONS (description = "Secret Manager secrets read."),
  iam_policies INT64 OPTIONS (description = "IAM policies read."),
  complete BOOL NOT NULL OPTIONS (description = "True when the project was read completely."),
  gaps ARRAY<STRING> OPTIONS (description = "What could not be read for this project."),
  worker_pools INT64 OPTIONS (description = "Cloud Run worker pools read.")
)
PARTITION BY run_date
CLUSTER BY project_id
OPTIONS (description = "runaudit: one row per project of a run, with what was read.");
