package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

// hostRE is the registry host grammar of the distribution reference spec
// (DNS labels or a bracketed IPv6 address, optional numeric port).
// go-containerregistry only checks that the host survives url.Parse, which
// lets "gcr.io:" and "a..b" through.
var hostRE = regexp.MustCompile(`^(?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])(?:\.(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))*|\[[a-f0-9:]+\])(?::[0-9]{1,5})?$`)

// lowerHost lowercases the registry host of s, if s has one, because hosts
// are case-insensitive while paths are not. The first path segment is a
// host when it holds a '.' or ':' or is localhost: the rule Docker and
// go-containerregistry apply.
func lowerHost(s string) string {
	host, rest, ok := strings.Cut(s, "/")
	if !ok {
		return s
	}
	if !strings.ContainsAny(host, ".:") && !strings.EqualFold(host, "localhost") {
		return s
	}
	if lower := strings.ToLower(host); lower != host {
		return lower + "/" + rest
	}
	return s // already lower case, as nearly every host is: no copy
}

// splitHost checks a registry host[:port] and returns the host name alone,
// which is what classifies the image.
func splitHost(registry string) (string, error) {
	if !validHost(registry) {
		return "", fmt.Errorf("registry host %q is not a valid host[:port]", registry)
	}
	if strings.HasPrefix(registry, "[") {
		end := strings.IndexByte(registry, ']')
		return registry[:end+1], nil
	}
	hostname, _, _ := strings.Cut(registry, ":")
	return hostname, nil
}
