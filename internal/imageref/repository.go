package imageref

import (
	"fmt"
	"regexp"
)

// repositoryIDRE is an Artifact Registry repository id.
var repositoryIDRE = regexp.MustCompile(`^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// checkRepositoryID checks an Artifact Registry repository id. The
// repositories that serve gcr.io hosts are named after those hosts, dots
// and all, and can be addressed through LOCATION-docker.pkg.dev too.
func checkRepositoryID(id string) error {
	if _, ok := gcrLocations[id]; ok {
		return nil
	}
	if !validRepositoryID(id) {
		return fmt.Errorf("repository id %q is not valid (lowercase letters, digits and hyphens, starting with a letter, at most 63)", id)
	}
	return nil
}

// RepositoryName is the Artifact Registry resource name of the repository
// that serves the image, "projects/PROJECT/locations/L/repositories/R", or
// "" for a Public image.
func (r Ref) RepositoryName() string {
	if r.Class != ArtifactRegistry && r.Class != ContainerRegistry {
		return ""
	}
	return "projects/" + r.Project + "/locations/" + r.Location + "/repositories/" + r.Repository
}
