package inventory

import "fmt"

// runCollections names each Cloud Run kind's collection in resource names.
var runCollections = map[Kind]string{KindService: "services", KindJob: "jobs", KindWorkerPool: "workerPools"}

// parseRun turns the Cloud Run data of a service, job or worker pool into a
// RunResource. A container without an image, or a resource without
// containers, is kept: the rules report it as unverifiable instead of
// losing it.
func parseRun(n *Node, d *ResourceData) *RunResource {
	loc, name := locationAndName(n.Key, runCollections[n.Kind])
	if d.Location != "" {
		loc = d.Location
	}
	rr := &RunResource{Node: n, Kind: n.Kind, Location: loc, Name: name}
	run := d.Run
	if run == nil {
		run = &RunData{Shape: "v2"}
	}
	rr.Shape, rr.ServiceAccount, rr.Creator, rr.LastModifier = run.Shape, run.ServiceAccount, run.Creator, run.LastModifier
	rr.ManagedBy = run.ManagedBy
	for i, c := range run.Containers {
		if c.Image == "" {
			c.Missing = fmt.Sprintf("container %d names no image", i)
		}
		rr.Containers = append(rr.Containers, c)
	}
	if len(rr.Containers) == 0 {
		rr.Containers = []Container{{Missing: "no containers in the " + rr.Shape + " resource shape"}}
	}
	return rr
}
