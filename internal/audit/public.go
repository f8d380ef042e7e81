package audit

import (
	"strings"

	"github.com/runaudit/runaudit/internal/imageref"
	"github.com/runaudit/runaudit/internal/inventory"
)

// PublicProbe is what an anonymous request to the registry found for one
// repository outside the scan (see internal/imageprobe). The rules do no
// I/O: the caller probes before Evaluate and passes the answers in
// Options.PublicProbes.
type PublicProbe struct {
	// Public: the registry served a manifest of the repository to a client
	// without credentials, so every principal can read it. False for a
	// refusal, a missing manifest and an undecided probe alike: only a
	// served manifest makes an image public.
	Public bool
	// Detail says what the probe found, in words, for the reason or the
	// inventory note.
	Detail string
}

// OutsideScan returns the Artifact Registry and Container Registry images
// of inv's Cloud Run resources whose project the scan did not cover: the
// images the rules cannot check through IAM, and the ones worth asking the
// registry about. Each image appears once, in inventory order.
func OutsideScan(inv *inventory.Inventory) []imageref.Ref {
	return outsideScan(inv, namesScannedProject)
}

// outsideScan is OutsideScan with the images inScan says are in the scan
// passed over unparsed.
func outsideScan(inv *inventory.Inventory, inScan func(*inventory.Inventory, string) bool) []imageref.Ref {
	var out []imageref.Ref
	seen := map[string]bool{}
	for _, r := range inv.Runs {
		for _, c := range r.Containers {
			if c.Image == "" || inScan(inv, c.Image) || seen[c.Image] {
				continue
			}
			seen[c.Image] = true // each image is parsed once
			ref, err := imageref.Parse(c.Image)
			if err != nil || ref.Class == imageref.Public {
				continue
			}
			if p := inv.Project(ref.Project); p != nil && p.Scanned {
				continue
			}
			out = append(out, ref)
		}
	}
	return out
}

// namesScannedProject reports whether the first path segment of image (the
// one after the registry host) is a project the scan covered. Such an
// image is not outside the scan whatever it turns out to be: an Artifact
// Registry or Container Registry image there is in that project (a
// domain-scoped project's first segment is its domain, which names no
// project), and any other is public or unparseable, which OutsideScan
// passes over too. Most images are in the scan, and this spares parsing
// each of them, and remembering it, only to find so.
func namesScannedProject(inv *inventory.Inventory, image string) bool {
	_, path, ok := strings.Cut(image, "/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(path, "/")
	p := inv.Project(first)
	return p != nil && p.Scanned
}

// publicImage returns the inventory note for an image outside the scan that
// the registry serves anonymously, or false when it does not or was not
// asked.
func (ev *evaluator) publicImage(ref imageref.Ref) (string, bool) {
	pr, ok := ev.public[ref.RepositoryName()]
	if !ok || !pr.Public {
		return "", false
	}
	return "project " + ref.Project + " is outside the scan, but " + pr.Detail + ", so anyone can read it, every deployer and the Cloud Run service agent included", true
}

// probeWords ends the reason of a finding on an image outside the scan with
// what the registry said to an anonymous client, if it was asked.
func (ev *evaluator) probeWords(ref imageref.Ref) string {
	pr, ok := ev.public[ref.RepositoryName()]
	if !ok {
		return ""
	}
	return " Anonymous registry probe: " + pr.Detail + "."
}
