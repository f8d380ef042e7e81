// Package imageref classifies the container image references that Cloud Run
// services and jobs run, and maps each one to the Artifact Registry
// repository that serves it.
//
// Since 2025-01-15 Cloud Run checks that a deploying principal can download
// every image it deploys from that image's repository, so the audit has to
// know, for each image, which repository (if any) Google Cloud IAM guards:
//
//   - LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE is Artifact Registry.
//   - gcr.io, us.gcr.io, eu.gcr.io and asia.gcr.io /PROJECT/IMAGE are served
//     by the Artifact Registry repositories of the same name in PROJECT.
//   - Everything else (Docker Hub, ghcr.io, mirror.gcr.io, private hosts…)
//     is public as far as Google Cloud IAM is concerned.
//
// Parsing uses go-containerregistry's pkg/name and adds the checks Cloud Run
// applies that it leaves out (path grammar, host grammar, project ids).
package imageref
