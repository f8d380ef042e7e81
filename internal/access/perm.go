// Package access is the effective-permission engine: it answers "does member
// M hold permission P on resource R, and through which binding?" and "who
// holds P on R?" by walking R's ancestry and expanding roles into
// permissions. It does no I/O.
package access

import (
	"math/bits"
	"strings"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Perm is one IAM permission the audit evaluates.
type Perm uint8

// The permissions the rules need. The embedded role table keeps only these.
const (
	RunServicesCreate Perm = iota
	RunServicesUpdate
	RunJobsCreate
	RunJobsUpdate
	DownloadArtifacts
	SecretVersionsAccess
	RunWorkerPoolsCreate
	RunWorkerPoolsUpdate
	// ReadViaVirtualRepository is what a virtual repository's Artifact
	// Registry service agent needs on each upstream repository.
	ReadViaVirtualRepository
	numPerms
)

var permNames = [numPerms]string{
	RunServicesCreate:    "run.services.create",
	RunServicesUpdate:    "run.services.update",
	RunJobsCreate:        "run.jobs.create",
	RunJobsUpdate:        "run.jobs.update",
	DownloadArtifacts:    "artifactregistry.repositories.downloadArtifacts",
	SecretVersionsAccess: "secretmanager.versions.access",
	// IAM spells worker pool permissions in lower case, unlike the API's
	// workerPools collection.
	RunWorkerPoolsCreate:     "run.workerpools.create",
	RunWorkerPoolsUpdate:     "run.workerpools.update",
	ReadViaVirtualRepository: "artifactregistry.repositories.readViaVirtualRepository",
}

// String returns the permission's IAM name.
func (p Perm) String() string {
	if p < numPerms {
		return permNames[p]
	}
	return "unknown"
}

// Perms lists every audited permission.
func Perms() []Perm {
	out := make([]Perm, numPerms)
	for i := range out {
		out[i] = Perm(i)
	}
	return out
}

// ParsePerm maps an IAM permission name to an audited Perm.
func ParsePerm(name string) (Perm, bool) {
	for i, n := range permNames {
		if n == name {
			return Perm(i), true
		}
	}
	return 0, false
}

// ParseDenyPerm maps a permission in the deny-policy form
// "service.googleapis.com/resource.verb" (e.g.
// "run.googleapis.com/services.update") to an audited Perm.
func ParseDenyPerm(name string) (Perm, bool) {
	svc, rest, ok := strings.Cut(name, ".googleapis.com/")
	if !ok {
		return ParsePerm(name)
	}
	return ParsePerm(svc + "." + rest)
}

// PermSet is a set of audited permissions.
type PermSet uint64

// Set returns the set of the given permissions.
func Set(ps ...Perm) PermSet {
	var s PermSet
	for _, p := range ps {
		s |= 1 << p
	}
	return s
}

// Has reports whether p is in s.
func (s PermSet) Has(p Perm) bool { return s&(1<<p) != 0 }

// Any reports whether s and o share a permission.
func (s PermSet) Any(o PermSet) bool { return s&o != 0 }

// Len counts the permissions in s.
func (s PermSet) Len() int { return bits.OnesCount64(uint64(s)) }

// Names lists the IAM names of the permissions in s, in Perm order.
func (s PermSet) Names() []string {
	var out []string
	for p := Perm(0); p < numPerms; p++ {
		if s.Has(p) {
			out = append(out, p.String())
		}
	}
	return out
}

// FromNames builds the set of audited permissions among names; the rest are
// not evaluated and dropped.
func FromNames(names []string) PermSet {
	var s PermSet
	for _, n := range names {
		if p, ok := ParsePerm(n); ok {
			s |= Set(p)
		}
	}
	return s
}

// DeployPerms are the permissions that let a principal create or update a
// resource of the given Cloud Run kind: service, job or worker pool.
var (
	ServiceDeployPerms    = Set(RunServicesCreate, RunServicesUpdate)
	JobDeployPerms        = Set(RunJobsCreate, RunJobsUpdate)
	WorkerPoolDeployPerms = Set(RunWorkerPoolsCreate, RunWorkerPoolsUpdate)
)

// DeployPermsOf returns the deploy permissions of a Cloud Run kind.
func DeployPermsOf(k inventory.Kind) PermSet {
	switch k {
	case inventory.KindJob:
		return JobDeployPerms
	case inventory.KindWorkerPool:
		return WorkerPoolDeployPerms
	}
	return ServiceDeployPerms
}
