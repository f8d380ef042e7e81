-- inventory: one row per container image of each Cloud Run service or job,
-- with its repository and the audit's verdict.
CREATE TABLE IF NOT EXISTS `${dataset}.inventory` (
  run_id STRING NOT NULL OPTIONS (description = "Run that read the resource."),
  run_date DATE NOT NULL OPTIONS (description = "UTC date of the run. Partition key."),
  resource STRING NOT NULL OPTIONS (description = "Full CAI name of the Cloud Run service or job."),
  resource_type STRING OPTIONS (description = "run.googleapis.com/Service, run.googleapis.com/Job or run.googleapis.com/WorkerPool."),
  project_id STRING OPTIONS (description = "Project id of the service or job."),
  project_number STRING OPTIONS (description = "Project number of the service or job."),
  location STRING OPTIONS (description = "Region of the service or job."),
  container STRING OPTIONS (description = "Container name within the service or job."),
  image STRING OPTIONS (description = "Container image reference."),
  image_class STRING OPTIONS (description = "Kind of registry the image is on (Artifact Registry, gcr.io, public, ...)."),
  repository STRING OPTIONS (description = "projects/PROJECT_ID/locations/L/repositories/R, empty when not Artifact Registry."),
  service_account STRING OPTIONS (description = "Runtime service account."),
  creator STRING OPTIONS (description = "Principal that created the resource."),
  last_modifier STRING OPTIONS (description = "Principal that last modified the resource."),
  verdict STRING NOT NULL OPTIONS (description = "OK, AT_RISK, UNVERIFIED or PUBLIC_REGISTRY."),
  findings INT64 OPTIONS (description = "Findings that name this image."),
  folders ARRAY<STRING> OPTIONS (description = "Numeric ids of the folders above the project, nearest first."),
  organization STRING OPTIONS (description = "Numeric id of the organization.")
)
PARTITION BY run_date
CLUSTER BY verdict, project_id, repository
OPTIONS (description = "runaudit: one row per Cloud Run service, job or worker pool container image of a run, with its verdict.");
