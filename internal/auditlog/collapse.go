package auditlog

import (
	"sort"
)

// Collapse makes one event of the entries of one deploy: entries repeated
// (same insert id, as overlapping files or views return them) count once,
// and the first and last entries of a long-running call (one operation id)
// are one deploy, at the first entry's time with the last entry's outcome.
// The result is sorted by time.
func Collapse(events []Event) []Event {
	seen := map[string]bool{}
	byOp := map[string]int{}
	var out []Event
	for _, e := range events {
		if e.InsertID != "" {
			k := e.LogName + "\x00" + e.InsertID
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		if e.Operation == "" {
			out = append(out, e)
			continue
		}
		k := string(e.Source) + "\x00" + e.Resource + "\x00" + e.Operation
		i, ok := byOp[k]
		if !ok {
			byOp[k] = len(out)
			out = append(out, e)
			continue
		}
		out[i] = merge(out[i], e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// merge joins two entries of one operation.
func merge(a, b Event) Event {
	first, last := a, b
	if b.Time.Before(a.Time) {
		first, last = b, a
	}
	m := first
	switch {
	case a.Outcome == Failed:
		m.Outcome, m.Failure = Failed, a.Failure
	case b.Outcome == Failed:
		m.Outcome, m.Failure = Failed, b.Failure
	case last.Outcome == Succeeded || first.Outcome == Succeeded:
		m.Outcome, m.Failure = Succeeded, nil
	}
	if m.Caller.Member == "" && last.Caller.Member != "" {
		m.Caller = last.Caller
	}
	return m
}
