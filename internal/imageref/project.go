package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// projectRE is a project id: lowercase letters, digits and hyphens,
	// starting with a letter, not ending with a hyphen. The 6–30 length
	// rule is left out: older projects predate it.
	projectRE = regexp.MustCompile(`^[a-z](?:[a-z0-9-]*[a-z0-9])?$`)
	// domainRE is the domain prefix of a domain-scoped project id.
	domainRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$`)
)

// splitProject takes the project id off the front of an image path's
// segments and returns the segments after it. A domain-scoped project id
// "example.com:my-proj" is written "example.com/my-proj" in image paths;
// plain project ids never hold a '.', so a first segment with one is a
// domain and the project is the segment after it.
func splitProject(segs []string) (project string, rest []string, err error) {
	if len(segs) == 0 {
		return "", nil, fmt.Errorf("image path has no project")
	}
	if strings.Contains(segs[0], ".") {
		if !validDomain(segs[0]) {
			return "", nil, fmt.Errorf("domain %q of a domain-scoped project is not a valid domain", segs[0])
		}
		if len(segs) < 2 {
			return "", nil, fmt.Errorf("domain-scoped project %s/… has no project id", segs[0])
		}
		if !validProjectID(segs[1]) {
			return "", nil, fmt.Errorf("project id %q is not valid", segs[1])
		}
		return segs[0] + ":" + segs[1], segs[2:], nil
	}
	if !validProjectID(segs[0]) {
		return "", nil, fmt.Errorf("project id %q is not valid", segs[0])
	}
	return segs[0], segs[1:], nil
}

// projectPath is how a project id is written in an image path: the inverse
// of splitProject.
func projectPath(project string) string {
	return strings.Replace(project, ":", "/", 1)
}
