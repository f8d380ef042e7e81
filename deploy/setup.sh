#!/usr/bin/env bash
# Sets up the nightly runaudit job on Google Cloud, least privilege
# throughout. docs/deploy.md walks through it step by step and says why each
# role is needed; deploy/deploy_test.go runs this script against a recording
# gcloud and checks every grant it makes.
#
#   PROJECT_ID=acme-audit ORG_ID=123456789012 REGION=europe-west1 bash deploy/setup.sh
#
# Run it from the repository root as someone who may enable services, create
# service accounts, repositories, datasets and buckets in PROJECT_ID, and
# grant roles on the organization (Organization Administrator or Security
# Admin there). It is idempotent: a second run changes nothing that is
# already in place, and updates the schedule.
#
# Required:
#   PROJECT_ID            project that hosts the job, its image repository,
#                         dataset, bucket and service accounts
#   ORG_ID                numeric id of the organization to audit
# Optional (default):
#   REGION                Cloud Run, Artifact Registry and Scheduler region (europe-west1)
#   REPOSITORY            Artifact Registry Docker repository (runaudit)
#   JOB                   Cloud Run job name (runaudit)
#   DATASET               BigQuery dataset id (runaudit)
#   BQ_LOCATION           the dataset's location (EU)
#   BUCKET                bucket for the workbooks (PROJECT_ID-runaudit-reports)
#   REPORT_PREFIX         object prefix in the bucket (reports)
#   SCHEDULE, TIME_ZONE   when the job runs ("0 3 * * *", Etc/UTC)
#   ENABLE_DENY_POLICIES  true: let the job read IAM deny policies (false)
#   ENABLE_CONFIRM        true: let the job ask Policy Troubleshooter (false)
#   ENABLE_SCC            true: write findings to a Security Command Center
#                         source, created once, named SCC_SOURCE_NAME (false)
#   SCC_SOURCE_NAME       display name of that source (runaudit)
#   NOTIFY_TOPIC          Pub/Sub topic id in PROJECT_ID for change notices,
#                         created if missing (empty: no notices)
#   SKIP_BUILD            true: do not run the first build (false)
set -euo pipefail

: "${PROJECT_ID:?set PROJECT_ID to the project that hosts the job}"
: "${ORG_ID:?set ORG_ID to the numeric id of the organization to audit}"
[[ "$ORG_ID" =~ ^[0-9]+$ ]] || {
	echo "ORG_ID must be the numeric organization id, not '$ORG_ID'" >&2
	exit 2
}
REGION="${REGION:-europe-west1}"
REPOSITORY="${REPOSITORY:-runaudit}"
JOB="${JOB:-runaudit}"
DATASET="${DATASET:-runaudit}"
BQ_LOCATION="${BQ_LOCATION:-EU}"
BUCKET="${BUCKET:-${PROJECT_ID}-runaudit-reports}"
REPORT_PREFIX="${REPORT_PREFIX:-reports}"
SCHEDULE="${SCHEDULE:-0 3 * * *}"
TIME_ZONE="${TIME_ZONE:-Etc/UTC}"
ENABLE_DENY_POLICIES="${ENABLE_DENY_POLICIES:-false}"
ENABLE_CONFIRM="${ENABLE_CONFIRM:-false}"
SKIP_BUILD="${SKIP_BUILD:-false}"
ENABLE_SCC="${ENABLE_SCC:-false}"
SCC_SOURCE_NAME="${SCC_SOURCE_NAME:-runaudit}"
NOTIFY_TOPIC="${NOTIFY_TOPIC:-}"

# The three identities. Each does one thing.
RUNTIME_SA="runaudit-job@${PROJECT_ID}.iam.gserviceaccount.com"         # runs the audit
DEPLOYER_SA="runaudit-deployer@${PROJECT_ID}.iam.gserviceaccount.com"   # Cloud Build: builds and deploys
SCHEDULER_SA="runaudit-scheduler@${PROJECT_ID}.iam.gserviceaccount.com" # Cloud Scheduler: starts the job

# run prints a command, then runs it.
run() {
	printf '+'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

# grant SCOPE MEMBER ROLE REASON: the one way this script grants a role, so
# that every grant names the narrowest resource it applies to and says why.
# SCOPE: organization | project | repository | dataset | bucket | job |
# topic | serviceaccount:EMAIL.
grant() {
	local scope="$1" member="$2" role="$3" reason="$4"
	echo "# grant $role to $member on $scope: $reason"
	case "$scope" in
	organization)
		run gcloud organizations add-iam-policy-binding "$ORG_ID" \
			--member="$member" --role="$role" --condition=None --quiet >/dev/null
		;;
	project)
		run gcloud projects add-iam-policy-binding "$PROJECT_ID" \
			--member="$member" --role="$role" --condition=None --quiet >/dev/null
		;;
	repository)
		run gcloud artifacts repositories add-iam-policy-binding "$REPOSITORY" \
			--project="$PROJECT_ID" --location="$REGION" \
			--member="$member" --role="$role" --quiet >/dev/null
		;;
	dataset)
		# BigQuery's DCL: dataset-level IAM without rewriting the access list.
		run bq --project_id="$PROJECT_ID" query --nouse_legacy_sql --location="$BQ_LOCATION" \
			"GRANT \`$role\` ON SCHEMA \`$PROJECT_ID.$DATASET\` TO \"$member\"" >/dev/null
		;;
	bucket)
		run gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" \
			--member="$member" --role="$role" --quiet >/dev/null
		;;
	job)
		run gcloud run jobs add-iam-policy-binding "$JOB" \
			--project="$PROJECT_ID" --region="$REGION" \
			--member="$member" --role="$role" --quiet >/dev/null
		;;
	topic)
		run gcloud pubsub topics add-iam-policy-binding "$NOTIFY_TOPIC" --project="$PROJECT_ID" \
			--member="$member" --role="$role" --quiet >/dev/null
		;;
	serviceaccount:*)
		run gcloud iam service-accounts add-iam-policy-binding "${scope#serviceaccount:}" \
			--project="$PROJECT_ID" --member="$member" --role="$role" --quiet >/dev/null
		;;
	*)
		echo "grant: unknown scope $scope" >&2
		exit 1
		;;
	esac
}

# exists CMD...: whether a describe command finds its resource.
exists() { "$@" >/dev/null 2>&1; }

echo "== 1. Services"
apis=(run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com
	cloudscheduler.googleapis.com cloudasset.googleapis.com bigquery.googleapis.com
	storage.googleapis.com iam.googleapis.com cloudresourcemanager.googleapis.com
	logging.googleapis.com cloudidentity.googleapis.com)
if [[ "$ENABLE_CONFIRM" == true ]]; then apis+=(policytroubleshooter.googleapis.com); fi
if [[ "$ENABLE_SCC" == true ]]; then apis+=(securitycenter.googleapis.com); fi
if [[ -n "$NOTIFY_TOPIC" ]]; then apis+=(pubsub.googleapis.com); fi
run gcloud services enable "${apis[@]}" --project="$PROJECT_ID"

echo "== 2. Service accounts"
for sa in "$RUNTIME_SA:runaudit nightly job" "$DEPLOYER_SA:runaudit build and deploy" "$SCHEDULER_SA:runaudit nightly trigger"; do
	email="${sa%%:*}" title="${sa#*:}"
	if ! exists gcloud iam service-accounts describe "$email" --project="$PROJECT_ID"; then
		run gcloud iam service-accounts create "${email%%@*}" --project="$PROJECT_ID" --display-name="$title"
	fi
done

echo "== 3. Repository, dataset, bucket"
if ! exists gcloud artifacts repositories describe "$REPOSITORY" --project="$PROJECT_ID" --location="$REGION"; then
	run gcloud artifacts repositories create "$REPOSITORY" --project="$PROJECT_ID" --location="$REGION" \
		--repository-format=docker --description="runaudit job images"
fi
if ! exists bq --project_id="$PROJECT_ID" show "$PROJECT_ID:$DATASET"; then
	run bq --project_id="$PROJECT_ID" mk --dataset --location="$BQ_LOCATION" \
		--description="runaudit: Cloud Run image-access audit runs and findings" "$PROJECT_ID:$DATASET"
fi
if ! exists gcloud storage buckets describe "gs://$BUCKET"; then
	run gcloud storage buckets create "gs://$BUCKET" --project="$PROJECT_ID" --location="$REGION" \
		--uniform-bucket-level-access --public-access-prevention
fi

# The Security Command Center source, created once: gcloud can describe
# sources but not create them, so the create is the API's
# organizations.sources.create (needs Security Center Sources Admin).
SCC_SOURCE=""
if [[ "$ENABLE_SCC" == true ]]; then
	SCC_SOURCE="$(gcloud scc sources describe "$ORG_ID" --source-display-name="$SCC_SOURCE_NAME" --format='value(name)' 2>/dev/null || true)"
	if [[ -z "$SCC_SOURCE" ]]; then
		echo "+ POST https://securitycenter.googleapis.com/v2/organizations/$ORG_ID/sources (displayName $SCC_SOURCE_NAME)"
		SCC_SOURCE="$(curl -fsS -X POST "https://securitycenter.googleapis.com/v2/organizations/$ORG_ID/sources" \
			-H "Authorization: Bearer $(gcloud auth print-access-token)" \
			-H "x-goog-user-project: $PROJECT_ID" -H "Content-Type: application/json" \
			-d "{\"displayName\": \"$SCC_SOURCE_NAME\", \"description\": \"runaudit: Cloud Run deployers and service agents that cannot read their images\"}" |
			sed -n 's|.*"name": *"\(organizations/[0-9]*/sources/[0-9]*\)".*|\1|p')"
	fi
	SCC_SOURCE="${SCC_SOURCE%%/locations/*}"
	[[ "$SCC_SOURCE" =~ ^organizations/[0-9]+/sources/[0-9]+$ ]] || {
		echo "could not find or create the Security Command Center source '$SCC_SOURCE_NAME' (got '$SCC_SOURCE')" >&2
		exit 1
	}
	echo "# Security Command Center source: $SCC_SOURCE"
fi
NOTIFY_TOPIC_NAME=""
if [[ -n "$NOTIFY_TOPIC" ]]; then
	if ! exists gcloud pubsub topics describe "$NOTIFY_TOPIC" --project="$PROJECT_ID"; then
		run gcloud pubsub topics create "$NOTIFY_TOPIC" --project="$PROJECT_ID"
	fi
	NOTIFY_TOPIC_NAME="projects/$PROJECT_ID/topics/$NOTIFY_TOPIC"
fi

echo "== 4. The job's service account: read the organization, write results"
runtime="serviceAccount:$RUNTIME_SA"
grant organization "$runtime" roles/cloudasset.viewer \
	"list Cloud Run services and jobs, repositories, secrets, projects, folders and IAM policies organization-wide through Cloud Asset Inventory"
grant organization "$runtime" roles/iam.roleViewer \
	"read custom roles' permissions, organization and project level, to expand them"
grant organization "$runtime" roles/logging.viewer \
	"read Cloud Run's Admin Activity and System Event audit logs in every project (who deploys, whose deploys failed); not Data Access logs"
grant dataset "$runtime" roles/bigquery.dataEditor \
	"create the runaudit tables and views and write each run's rows, in this dataset only"
grant project "$runtime" roles/bigquery.jobUser \
	"run the load and query jobs that write the dataset (jobs are project resources)"
grant bucket "$runtime" roles/storage.objectCreator \
	"upload each run's workbook and outputs under a new run folder; no read, overwrite or delete"
if [[ "$ENABLE_DENY_POLICIES" == true ]]; then
	grant organization "$runtime" roles/iam.denyReviewer \
		"read IAM deny policies on the organization, folders and projects, which can take a grant away"
fi
if [[ "$ENABLE_CONFIRM" == true ]]; then
	# Policy Troubleshooter explains access only to a caller who may read
	# the IAM policies involved: these getIamPolicy permissions and no more
	# (roles/iam.securityReviewer would add ~2,500 others). Without the deny
	# policy reads it answers deny state UNKNOWN_INFO, so they are here too,
	# whether or not ENABLE_DENY_POLICIES grants roles/iam.denyReviewer.
	perms=resourcemanager.organizations.getIamPolicy,resourcemanager.folders.getIamPolicy,resourcemanager.projects.getIamPolicy,run.services.getIamPolicy,run.jobs.getIamPolicy,artifactregistry.repositories.getIamPolicy,secretmanager.secrets.getIamPolicy,iam.roles.get,iam.denypolicies.get,iam.denypolicies.list
	if exists gcloud iam roles describe runauditTroubleshooter --organization="$ORG_ID"; then
		run gcloud iam roles update runauditTroubleshooter --organization="$ORG_ID" --permissions="$perms" --quiet >/dev/null
	else
		run gcloud iam roles create runauditTroubleshooter --organization="$ORG_ID" \
			--title="runaudit Policy Troubleshooter reader" --stage=GA --permissions="$perms" >/dev/null
	fi
	grant organization "$runtime" "organizations/$ORG_ID/roles/runauditTroubleshooter" \
		"read the IAM policies Policy Troubleshooter needs to confirm a finding"
fi

if [[ "$ENABLE_SCC" == true ]]; then
	# Only what the sink calls: ListFindings, CreateFinding/UpdateFinding,
	# SetFindingState. roles/securitycenter.findingsEditor would add muting
	# (which the team owns) and ~20 other permissions. Granted on the
	# organization: gcloud has no per-source IAM binding.
	perms=securitycenter.findings.list,securitycenter.findings.update,securitycenter.findings.setState
	if exists gcloud iam roles describe runauditSccWriter --organization="$ORG_ID"; then
		run gcloud iam roles update runauditSccWriter --organization="$ORG_ID" --permissions="$perms" --quiet >/dev/null
	else
		run gcloud iam roles create runauditSccWriter --organization="$ORG_ID" \
			--title="runaudit SCC findings writer" --stage=GA --permissions="$perms" >/dev/null
	fi
	grant organization "$runtime" "organizations/$ORG_ID/roles/runauditSccWriter" \
		"list, create, update and set the state of findings in the runaudit Security Command Center source; never mute"
fi
if [[ -n "$NOTIFY_TOPIC" ]]; then
	grant topic "$runtime" roles/pubsub.publisher \
		"publish one change notice per run to this topic only (pubsub.topics.publish)"
fi

echo "== 5. The deployer (Cloud Build's service account)"
deployer="serviceAccount:$DEPLOYER_SA"
grant project "$deployer" roles/run.developer \
	"create the job on the first build and update it on later ones"
grant "serviceaccount:$RUNTIME_SA" "$deployer" roles/iam.serviceAccountUser \
	"deploy the job to run as the job's service account (actAs), on that account only"
grant repository "$deployer" roles/artifactregistry.writer \
	"push the image, and read it back: Cloud Run checks downloadArtifacts for the deployer on every deploy"
grant project "$deployer" roles/logging.logWriter \
	"write the build's logs (a build with its own service account logs to Cloud Logging only)"

echo "== 6. The first build: test, build, push, deploy the job"
if [[ "$SKIP_BUILD" != true ]]; then
	run gcloud builds submit . --project="$PROJECT_ID" --config=cloudbuild.yaml \
		--service-account="projects/$PROJECT_ID/serviceAccounts/$DEPLOYER_SA" \
		--substitutions="_REGION=$REGION,_REPOSITORY=$REPOSITORY,_JOB=$JOB,_ORG=$ORG_ID,_DATASET=$DATASET,_BUCKET=$BUCKET,_REPORT_PREFIX=$REPORT_PREFIX,_SCC_SOURCE=$SCC_SOURCE,_NOTIFY_TOPIC=$NOTIFY_TOPIC_NAME"
fi

echo "== 7. The nightly schedule"
scheduler="serviceAccount:$SCHEDULER_SA"
grant job "$scheduler" roles/run.invoker \
	"start executions of this job (run.jobs.run), nothing else"
uri="https://run.googleapis.com/v2/projects/$PROJECT_ID/locations/$REGION/jobs/$JOB:run"
verb=create
if exists gcloud scheduler jobs describe "$JOB-nightly" --project="$PROJECT_ID" --location="$REGION"; then
	verb=update
fi
run gcloud scheduler jobs "$verb" http "$JOB-nightly" --project="$PROJECT_ID" --location="$REGION" \
	--schedule="$SCHEDULE" --time-zone="$TIME_ZONE" --uri="$uri" --http-method=POST \
	--oauth-service-account-email="$SCHEDULER_SA" \
	--oauth-token-scope=https://www.googleapis.com/auth/cloud-platform \
	--description="runaudit nightly audit of organization $ORG_ID"

echo "Done. Start a run now with:"
echo "  gcloud run jobs execute $JOB --project=$PROJECT_ID --region=$REGION --wait"
