// Command genexample writes the example organization's audit result and a
// baseline (an earlier run's findings.jsonl) for the workbook's tests and
// its LibreOffice rendering. The organization is made up but shaped like a
// real one: a shared image project, a legacy gcr.io project, CI deploying
// through a service account and workload identity federation, a remote
// repository with an upstream secret, an image outside the organization,
// and one project the scan could not read completely.
//
//	go run ./testdata/genexample   (from internal/report/xlsx)
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

const (
	org     = "123456789012"
	prod    = "200000000001"
	plat    = "200000000002"
	sandbox = "200000000003"
)

type project struct{ id, number, folder string }

var projects = map[string]project{
	"acme-prod-web":      {"acme-prod-web", "310000000001", prod},
	"acme-prod-batch":    {"acme-prod-batch", "310000000002", prod},
	"acme-shared-images": {"acme-shared-images", "310000000003", plat},
	"acme-data-pipeline": {"acme-data-pipeline", "310000000004", prod},
	"acme-dev-sandbox":   {"acme-dev-sandbox", "310000000005", sandbox},
	"acme-legacy-gcr":    {"acme-legacy-gcr", "310000000006", plat},
	"acme-ci":            {"acme-ci", "310000000007", plat},
}

const (
	ciSA    = "serviceAccount:cloudbuild-deployer@acme-ci.iam.gserviceaccount.com"
	ghWIF   = "principalSet://iam.googleapis.com/projects/310000000007/locations/global/workloadIdentityPools/github/attribute.repository/acme/web"
	oncall  = "group:platform-oncall@example.com"
	alice   = "user:alice@example.com"
	carol   = "user:carol@example.com"
	bob     = "user:bob@example.com"
	dlPerm  = "artifactregistry.repositories.downloadArtifacts"
	secPerm = "secretmanager.versions.access"
)

func runAgent(p string) string {
	return "serviceAccount:service-" + projects[p].number + "@serverless-robot-prod.iam.gserviceaccount.com"
}

func arAgent(p string) string {
	return "serviceAccount:service-" + projects[p].number + "@gcp-sa-artifactregistry.iam.gserviceaccount.com"
}

func service(p, loc, name string) string {
	return "//run.googleapis.com/projects/" + p + "/locations/" + loc + "/services/" + name
}

func job(p, loc, name string) string {
	return "//run.googleapis.com/projects/" + p + "/locations/" + loc + "/jobs/" + name
}

func repo(p, loc, name string) string {
	return "projects/" + p + "/locations/" + loc + "/repositories/" + name
}

func readerCmd(repository, member string) string {
	parts := strings.Split(repository, "/")
	return fmt.Sprintf("gcloud artifacts repositories add-iam-policy-binding %s --project=%s --location=%s --member=%s --role=roles/artifactregistry.reader",
		parts[5], parts[1], parts[3], member)
}

func finding(kind audit.Kind, sev audit.Severity, resource, principal, image, repository string, last bool, reason string) audit.Finding {
	parts := strings.Split(strings.TrimPrefix(resource, "//run.googleapis.com/"), "/")
	p := projects[parts[1]]
	rt := "run.googleapis.com/Service"
	if parts[4] == "jobs" {
		rt = "run.googleapis.com/Job"
	}
	f := audit.Finding{
		FindingID: audit.ID(kind, resource, principal, repository), Kind: kind, Severity: sev,
		Resource: resource, ResourceType: rt, ProjectID: p.id, ProjectNumber: p.number, Location: parts[3],
		Principal: principal, Image: image, Repository: repository, LastDeployer: last,
		Reason: reason, Folders: []string{p.folder}, Organization: org,
	}
	if kind.Actionable() {
		f.Permission = dlPerm
		f.Remediation = readerCmd(repository, principal)
	}
	return f
}

var (
	webFrontend   = service("acme-prod-web", "europe-west1", "web-frontend")
	checkoutAPI   = service("acme-prod-web", "europe-west1", "checkout-api")
	staticAssets  = service("acme-prod-web", "europe-west1", "static-assets")
	grafana       = service("acme-prod-web", "europe-west1", "grafana")
	nightlyExport = job("acme-prod-batch", "us-central1", "nightly-export")
	invoiceRecon  = job("acme-prod-batch", "us-central1", "invoice-reconcile")
	ingestGateway = service("acme-data-pipeline", "europe-west1", "ingest-gateway")
	dbtRun        = job("acme-data-pipeline", "europe-west1", "dbt-run")
	experiment    = service("acme-dev-sandbox", "us-east1", "experiment-alice")
	oldDemo       = service("acme-dev-sandbox", "us-east1", "old-demo")
	brokenImage   = service("acme-dev-sandbox", "us-east1", "broken-image")

	appsRepo    = repo("acme-shared-images", "europe-west1", "apps")
	batchRepo   = repo("acme-shared-images", "us-central1", "batch")
	proxyRepo   = repo("acme-shared-images", "europe-west1", "dockerhub-proxy")
	gcrRepo     = repo("acme-legacy-gcr", "us", "gcr.io")
	invoiceRepo = repo("acme-prod-batch", "us-central1", "jobs")
	scratchRepo = repo("acme-dev-sandbox", "us-east1", "scratch")
	partnerRepo = repo("partner-analytics-prod", "europe-west1", "dbt")
	deletedRepo = repo("acme-dev-sandbox", "us-east1", "demo-2022")

	webImage      = "europe-west1-docker.pkg.dev/acme-shared-images/apps/web-frontend@sha256:4f1c2a9d8e7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
	checkoutImage = "europe-west1-docker.pkg.dev/acme-shared-images/apps/checkout-api:v2.14.3"
	staticImage   = "gcr.io/acme-legacy-gcr/static-assets:2023-11"
	exportImage   = "us-central1-docker.pkg.dev/acme-shared-images/batch/nightly-export:1.8.0"
	invoiceImage  = "us-central1-docker.pkg.dev/acme-prod-batch/jobs/invoice-reconcile:3.2"
	ingestImage   = "europe-west1-docker.pkg.dev/acme-shared-images/apps/ingest-gateway:0.9.1"
	otelImage     = "europe-west1-docker.pkg.dev/acme-shared-images/dockerhub-proxy/otel/opentelemetry-collector-contrib:0.108.0"
	dbtImage      = "europe-west1-docker.pkg.dev/partner-analytics-prod/dbt/dbt-runner:1.7"
	expImage      = "us-east1-docker.pkg.dev/acme-dev-sandbox/scratch/exp:latest"
	demoImage     = "us-east1-docker.pkg.dev/acme-dev-sandbox/demo-2022/demo:1"
	badImage      = "europe-west1-docker.pkg.dev/acme-shared-images/apps/Web Frontend:latest"
)

func findings() []audit.Finding {
	D, S := audit.DeployerCannotReadImage, audit.ServiceAgentCannotReadImage
	fs := []audit.Finding{
		finding(D, audit.Critical, webFrontend, ciSA, webImage, appsRepo, true,
			"holds run.services.update through roles/run.developer on project acme-prod-web; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.High, checkoutAPI, ciSA, checkoutImage, appsRepo, false,
			"holds run.services.update through roles/run.developer on project acme-prod-web; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.High, ingestGateway, ciSA, ingestImage, appsRepo, false,
			"holds run.services.update through roles/run.developer on folder 200000000001; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.Critical, checkoutAPI, ghWIF, checkoutImage, appsRepo, true,
			"holds run.services.update through custom role projects/acme-prod-web/roles/ciDeployer on project acme-prod-web; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.High, webFrontend, ghWIF, webImage, appsRepo, false,
			"holds run.services.update through custom role projects/acme-prod-web/roles/ciDeployer on project acme-prod-web; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.Medium, webFrontend, oncall, webImage, appsRepo, false,
			"holds run.services.update through roles/run.admin on folder 200000000001; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.Medium, checkoutAPI, oncall, checkoutImage, appsRepo, false,
			"holds run.services.update through roles/run.admin on folder 200000000001; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.Medium, ingestGateway, oncall, ingestImage, appsRepo, false,
			"holds run.services.update through roles/run.admin on folder 200000000001; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(D, audit.Medium, nightlyExport, oncall, exportImage, batchRepo, false,
			"holds run.jobs.update through roles/run.admin on folder 200000000001; no binding grants artifactregistry.repositories.downloadArtifacts on repository batch (project acme-shared-images)"),
		finding(D, audit.Critical, nightlyExport, alice, exportImage, batchRepo, true,
			"holds run.jobs.update through roles/run.developer on project acme-prod-batch; no binding grants artifactregistry.repositories.downloadArtifacts on repository batch (project acme-shared-images)"),
		finding(D, audit.High, staticAssets, ciSA, staticImage, gcrRepo, false,
			"holds run.services.update through roles/run.developer on project acme-prod-web; no binding grants artifactregistry.repositories.downloadArtifacts on repository gcr.io (project acme-legacy-gcr), which serves gcr.io/acme-legacy-gcr"),
		finding(S, audit.Critical, staticAssets, runAgent("acme-prod-web"), staticImage, gcrRepo, false,
			"the Cloud Run service agent of project acme-prod-web (310000000001) pulls the image on every new revision; no binding grants artifactregistry.repositories.downloadArtifacts on repository gcr.io (project acme-legacy-gcr)"),
		finding(S, audit.Critical, nightlyExport, runAgent("acme-prod-batch"), exportImage, batchRepo, false,
			"the Cloud Run service agent of project acme-prod-batch (310000000002) pulls the image on every execution; no binding grants artifactregistry.repositories.downloadArtifacts on repository batch (project acme-shared-images)"),
		finding(audit.ImageOutsideOrganization, audit.Info, dbtRun, "", dbtImage, partnerRepo, false,
			"repository dbt lies in project partner-analytics-prod, outside organization 123456789012: access cannot be verified"),
		finding(audit.ImageRepositoryNotFound, audit.Low, oldDemo, "", demoImage, deletedRepo, false,
			"project acme-dev-sandbox holds no repository demo-2022 in us-east1: the next deploy or cold start will fail to pull"),
		finding(audit.ImageUnparseable, audit.Low, brokenImage, "", badImage, "", false,
			`image "europe-west1-docker.pkg.dev/acme-shared-images/apps/Web Frontend:latest": repository can only contain the characters "abcdefghijklmnopqrstuvwxyz0123456789_-./"`),
		finding(audit.ConditionNotEvaluable, audit.Info, invoiceRecon, bob, invoiceImage, invoiceRepo, false,
			`roles/artifactregistry.reader on project acme-prod-batch is bound with condition "resource.matchTag('123456789012/env', 'prod')", which depends on tags the scan does not read`),
	}

	// The remote repository's Artifact Registry service agent cannot read
	// its Docker Hub credentials.
	sec := audit.Finding{
		Kind: audit.RemoteRepoSecretInaccessible, Severity: audit.High,
		Resource:     "//artifactregistry.googleapis.com/" + proxyRepo,
		ResourceType: "artifactregistry.googleapis.com/Repository",
		ProjectID:    "acme-shared-images", ProjectNumber: "310000000003", Location: "europe-west1",
		Principal: arAgent("acme-shared-images"), Repository: proxyRepo, Permission: secPerm,
		Secret:      "projects/acme-shared-images/secrets/dockerhub-token/versions/3",
		Reason:      "remote repository dockerhub-proxy reads its upstream password from secret dockerhub-token; the Artifact Registry service agent of project acme-shared-images holds no secretmanager.versions.access on it",
		Remediation: "gcloud secrets add-iam-policy-binding dockerhub-token --project=acme-shared-images --member=" + arAgent("acme-shared-images") + " --role=roles/secretmanager.secretAccessor",
		Folders:     []string{plat}, Organization: org,
	}
	sec.FindingID = audit.ID(sec.Kind, sec.Resource, sec.Principal, sec.Repository)
	return append(fs, sec)
}

type image struct {
	resource, container, image, class, repo, sa, creator, modifier string
	verdict                                                        audit.Verdict
}

func inventory(fs []audit.Finding) []audit.InventoryRow {
	ar, gcr, pub, bad := "ARTIFACT_REGISTRY", "GCR_ON_ARTIFACT_REGISTRY", "PUBLIC_REGISTRY", "UNPARSEABLE"
	webSA := "web-runtime@acme-prod-web.iam.gserviceaccount.com"
	imgs := []image{
		{webFrontend, "web", webImage, ar, appsRepo, webSA, ciSA, ciSA, audit.VerdictAtRisk},
		{checkoutAPI, "api", checkoutImage, ar, appsRepo, webSA, ciSA, ghWIF, audit.VerdictAtRisk},
		{staticAssets, "nginx", staticImage, gcr, gcrRepo, webSA, carol, carol, audit.VerdictAtRisk},
		{grafana, "grafana", "docker.io/grafana/grafana:11.2.0", pub, "", webSA, oncall, oncall, audit.VerdictPublic},
		{nightlyExport, "export", exportImage, ar, batchRepo, "batch-runner@acme-prod-batch.iam.gserviceaccount.com", alice, alice, audit.VerdictAtRisk},
		{invoiceRecon, "reconcile", invoiceImage, ar, invoiceRepo, "batch-runner@acme-prod-batch.iam.gserviceaccount.com", ciSA, ciSA, audit.VerdictOK},
		{ingestGateway, "gateway", ingestImage, ar, appsRepo, "pipeline@acme-data-pipeline.iam.gserviceaccount.com", ciSA, ciSA, audit.VerdictAtRisk},
		{ingestGateway, "otel-collector", otelImage, ar, proxyRepo, "pipeline@acme-data-pipeline.iam.gserviceaccount.com", ciSA, ciSA, audit.VerdictAtRisk},
		{dbtRun, "dbt", dbtImage, ar, partnerRepo, "pipeline@acme-data-pipeline.iam.gserviceaccount.com", ciSA, ciSA, audit.VerdictUnverified},
		{experiment, "app", expImage, ar, scratchRepo, "", alice, alice, audit.VerdictOK},
		{oldDemo, "demo", demoImage, ar, deletedRepo, "", carol, carol, audit.VerdictUnverified},
		{brokenImage, "app", badImage, bad, "", "", alice, alice, audit.VerdictUnverified},
	}
	rows := make([]audit.InventoryRow, len(imgs))
	for i, m := range imgs {
		parts := strings.Split(strings.TrimPrefix(m.resource, "//run.googleapis.com/"), "/")
		p := projects[parts[1]]
		rt := "run.googleapis.com/Service"
		if parts[4] == "jobs" {
			rt = "run.googleapis.com/Job"
		}
		n := 0
		for _, f := range fs {
			if f.Resource == m.resource && f.Image == m.image {
				n++
			}
		}
		rows[i] = audit.InventoryRow{
			Resource: m.resource, ResourceType: rt, ProjectID: p.id, ProjectNumber: p.number,
			Location: parts[3], Container: m.container, Image: m.image, ImageClass: m.class,
			Repository: m.repo, ServiceAccount: m.sa, Creator: m.creator, LastModifier: m.modifier,
			Verdict: m.verdict, Findings: n, Folders: []string{p.folder}, Organization: org,
		}
	}
	return rows
}

func result() audit.Result {
	fs := findings()
	gaps := []audit.Gap{{
		Scope: "projects/acme-data-pipeline", AssetType: "secretmanager.googleapis.com/Secret",
		Reason: "rpc error: code = PermissionDenied desc = The caller does not have permission (cloudasset.assets.listSecretManagerSecrets)",
	}}
	start := time.Date(2026, 9, 14, 2, 0, 3, 0, time.UTC)
	byKind, bySev, byProject := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range fs {
		byKind[string(f.Kind)]++
		bySev[string(f.Severity)]++
		byProject[f.ProjectID]++
	}
	cov := []audit.ProjectCoverage{
		{ProjectID: "acme-prod-web", ProjectNumber: "310000000001", Folders: []string{prod}, Services: 4, IAMPolicies: 5},
		{ProjectID: "acme-prod-batch", ProjectNumber: "310000000002", Folders: []string{prod}, Jobs: 2, Repositories: 1, IAMPolicies: 3},
		{ProjectID: "acme-shared-images", ProjectNumber: "310000000003", Folders: []string{plat}, Repositories: 3, Secrets: 1, IAMPolicies: 6},
		{ProjectID: "acme-data-pipeline", ProjectNumber: "310000000004", Folders: []string{prod}, Services: 1, Jobs: 1, IAMPolicies: 3,
			Gaps: []string{"secretmanager.googleapis.com/Secret: permission denied"}},
		{ProjectID: "acme-dev-sandbox", ProjectNumber: "310000000005", Folders: []string{sandbox}, Services: 3, Repositories: 1, IAMPolicies: 4},
		{ProjectID: "acme-legacy-gcr", ProjectNumber: "310000000006", Folders: []string{plat}, Repositories: 1, IAMPolicies: 2},
		{ProjectID: "acme-ci", ProjectNumber: "310000000007", Folders: []string{plat}, IAMPolicies: 2},
	}
	return audit.Result{
		Summary: audit.Summary{
			RunID: "20260914T020003Z-7f3a", Version: "v0.3.0", Organization: "organizations/" + org + " (example.com)",
			Scope: "organizations/" + org, Source: "live Cloud Asset Inventory",
			StartedAt: start, FinishedAt: start.Add(4*time.Minute + 37*time.Second), EvaluatedAt: start.Add(4 * time.Minute),
			Complete: false, Gaps: gaps,
			Skipped: []audit.Skip{
				{Where: "iam.googleapis.com/Role organizations/123456789012/roles/legacyDeployer", Reason: "custom role in state DELETED"},
				{Where: "run.googleapis.com/Service acme-dev-sandbox/us-east1/hello", Reason: "no containers in spec.template"},
			},
			SkippedTotal: 2,
			Findings:     len(fs), ByKind: byKind, BySeverity: bySev, ByProject: byProject,
			Inventory: map[string]int{"projects": 7, "folders": 3, "services": 8, "jobs": 3, "repositories": 6, "secrets": 1, "custom_roles": 2, "iam_policies": 25, "images": 12},
		},
		Findings:  fs,
		Inventory: inventory(fs),
		Coverage:  cov,
	}
}

// baseline is last week's run: it lacked the alice and workload identity
// findings (new since), and had two that are fixed now (resolved).
func baseline(cur []audit.Finding) []audit.Finding {
	var out []audit.Finding
	for _, f := range cur {
		if f.Principal == alice || f.Principal == ghWIF {
			continue
		}
		out = append(out, f)
	}
	old := []audit.Finding{
		finding(audit.DeployerCannotReadImage, audit.High, checkoutAPI, carol, checkoutImage, appsRepo, false,
			"holds run.services.update through roles/run.developer on project acme-prod-web; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
		finding(audit.ServiceAgentCannotReadImage, audit.Critical, ingestGateway, runAgent("acme-data-pipeline"), ingestImage, appsRepo, false,
			"the Cloud Run service agent of project acme-data-pipeline (310000000004) pulls the image on every new revision; no binding grants artifactregistry.repositories.downloadArtifacts on repository apps (project acme-shared-images)"),
	}
	return append(out, old...)
}

func main() {
	r := result()
	dir := "testdata"
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example-result.json"), append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	var jsonl []byte
	for _, f := range baseline(r.Findings) {
		line, err := json.Marshal(f)
		if err != nil {
			log.Fatal(err)
		}
		jsonl = append(append(jsonl, line...), '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "baseline.jsonl"), jsonl, 0o644); err != nil {
		log.Fatal(err)
	}
}
