package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

// Class says where an image is served from.
type Class string

// Image classes.
const (
	// ArtifactRegistry: LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE.
	ArtifactRegistry Class = "ARTIFACT_REGISTRY"
	// ContainerRegistry: the gcr.io family, served by the Artifact Registry
	// repositories named gcr.io, us.gcr.io, eu.gcr.io and asia.gcr.io.
	ContainerRegistry Class = "GCR"
	// Public: Docker Hub, ghcr.io, quay.io, mirror.gcr.io and any other
	// host; no Google Cloud IAM guards the image.
	Public Class = "PUBLIC"
)

// gcrLocations maps each Container Registry host to the location of the
// Artifact Registry repository (named like the host) that serves it. Other
// *.gcr.io hosts (mirror.gcr.io, k8s.gcr.io, marketplace.gcr.io…) are
// Google-run public registries and deliberately absent.
var gcrLocations = map[string]string{
	"gcr.io":      "us",
	"us.gcr.io":   "us",
	"eu.gcr.io":   "europe",
	"asia.gcr.io": "asia",
}

// locationRE is an Artifact Registry location: a region (us-central1) or
// a multi-region (us, europe, asia).
var locationRE = regexp.MustCompile(`^[a-z](?:[a-z0-9-]*[a-z0-9])?$`)

const (
	pkgDevSuffix = ".pkg.dev"
	dockerSuffix = "-docker" + pkgDevSuffix
)

// classify says which class a (lowercase, port-free) host name belongs to
// and, for Artifact Registry and Container Registry, the repository
// location. A *.pkg.dev host that is not LOCATION-docker.pkg.dev holds no
// container images (python, npm, maven… repositories), so it is an error
// rather than a public image that would skip the IAM check.
func classify(hostname string) (Class, string, error) {
	if loc, ok := gcrLocations[hostname]; ok {
		return ContainerRegistry, loc, nil
	}
	if hostname == "pkg.dev" || strings.HasSuffix(hostname, pkgDevSuffix) {
		loc, ok := strings.CutSuffix(hostname, dockerSuffix)
		if !ok {
			return "", "", fmt.Errorf("host %s is not an Artifact Registry Docker host (LOCATION-docker.pkg.dev)", hostname)
		}
		if !validProjectID(loc) {
			return "", "", fmt.Errorf("host %s does not start with a valid Artifact Registry location", hostname)
		}
		return ArtifactRegistry, loc, nil
	}
	return Public, "", nil
}
