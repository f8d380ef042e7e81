package inventory

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
)

// parseRun reads a Cloud Run service or job in either resource shape:
//
//   - v1 (Knative): metadata{name, annotations}, and the containers at
//     spec.template.spec.containers (services) or
//     spec.template.spec.template.spec.containers (jobs);
//   - v2: creator, lastModifier, and the containers at template.containers
//     (services) or template.template.containers (jobs).
func parseRun(n *Node, d map[string]*structpb.Value, location string) (*RunResource, error) {
	loc, name := locationAndName(n.Key, map[Kind]string{KindService: "services", KindJob: "jobs"}[n.Kind])
	if location != "" {
		loc = location
	}
	rr := &RunResource{Node: n, Kind: n.Kind, Location: loc, Name: name}
	var containers []*structpb.Value
	if _, v1 := d["spec"]; v1 || d["apiVersion"] != nil || d["metadata"] != nil {
		rr.Shape = "v1"
		ann := lookup(d, "metadata", "annotations").GetStructValue().GetFields()
		for _, prefix := range []string{"serving.knative.dev/", "run.googleapis.com/"} {
			if rr.Creator == "" {
				rr.Creator = str(ann, prefix+"creator")
			}
			if rr.LastModifier == "" {
				rr.LastModifier = str(ann, prefix+"lastModifier")
			}
		}
		if n.Kind == KindService {
			containers = list(d, "spec", "template", "spec", "containers")
			rr.ServiceAccount = str(d, "spec", "template", "spec", "serviceAccountName")
		} else {
			containers = list(d, "spec", "template", "spec", "template", "spec", "containers")
			rr.ServiceAccount = str(d, "spec", "template", "spec", "template", "spec", "serviceAccountName")
		}
	} else {
		rr.Shape = "v2"
		rr.Creator = str(d, "creator")
		rr.LastModifier = str(d, "lastModifier")
		if n.Kind == KindService {
			containers = list(d, "template", "containers")
			rr.ServiceAccount = str(d, "template", "serviceAccount")
		} else {
			containers = list(d, "template", "template", "containers")
			rr.ServiceAccount = str(d, "template", "template", "serviceAccount")
		}
	}
	// A container without an image, or a resource without containers, is
	// kept: the rules report it as unverifiable instead of losing it.
	for i, c := range containers {
		f := c.GetStructValue().GetFields()
		ct := Container{Name: str(f, "name"), Image: str(f, "image")}
		if ct.Image == "" {
			ct.Missing = fmt.Sprintf("container %d names no image", i)
		}
		rr.Containers = append(rr.Containers, ct)
	}
	if len(rr.Containers) == 0 {
		rr.Containers = []Container{{Missing: "no containers in the " + rr.Shape + " resource shape"}}
	}
	return rr, nil
}
