// Package notify publishes, after each run, one Pub/Sub message saying what
// changed since the previous run: counts (open, new, resolved, undecided,
// excepted) and the new and resolved findings, capped, with their totals.
// Attributes let subscribers filter without parsing the body:
// organization, complete, has_new, run_id.
//
// "New" and "resolved" count findings that are open (actionable, not
// excepted) or undecided. A finding is resolved only when a complete run no
// longer reports it in a project it read without gaps, the same rule the
// SCC sink deactivates by; an incomplete run resolves nothing.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"cloud.google.com/go/pubsub/v2"

	"github.com/runaudit/runaudit/internal/audit"
)

// DefaultMax caps the new and resolved lists of one message.
const DefaultMax = 50

// Counts are the run's numbers.
type Counts struct {
	Open      int `json:"open"`
	New       int `json:"new"`
	Resolved  int `json:"resolved"`
	Undecided int `json:"undecided"`
	Excepted  int `json:"excepted"`
}

// Item is one finding in a message.
type Item struct {
	FindingID   string `json:"finding_id"`
	Kind        string `json:"kind"`
	Severity    string `json:"severity"`
	Resource    string `json:"resource"`
	ProjectID   string `json:"project_id"`
	Principal   string `json:"principal,omitempty"`
	Repository  string `json:"repository,omitempty"`
	Remediation string `json:"remediation,omitempty"`
}

// Message is the JSON body.
type Message struct {
	RunID        string `json:"run_id"`
	Organization string `json:"organization"`
	Scope        string `json:"scope"`
	Complete     bool   `json:"complete"`
	StartedAt    string `json:"started_at"`
	// Previous says what the run was compared with: "bigquery:RUN_ID",
	// "baseline:FILE", or "none" (then every finding is new).
	Previous string `json:"previous"`
	Counts   Counts `json:"counts"`
	// New and Resolved are capped; the totals are in Counts.
	New      []Item `json:"new"`
	Resolved []Item `json:"resolved"`
	// Workbook links to the run's workbook when it was uploaded.
	Workbook string `json:"workbook,omitempty"`
}

// Previous is the run compared against.
type Previous struct {
	// Name says where it came from (see Message.Previous); empty: none.
	Name     string
	Findings []audit.Finding
}

// counted reports whether a finding takes part in new/resolved.
func counted(f *audit.Finding) bool { return !f.Excepted && (f.Kind.Actionable() || f.Undecided()) }

// Build compares res with prev and makes the message; max caps the lists
// (0: DefaultMax).
func Build(res audit.Result, prev Previous, max int, workbook string) Message {
	if max <= 0 {
		max = DefaultMax
	}
	s := res.Summary
	m := Message{
		RunID: s.RunID, Organization: s.Organization, Scope: s.Scope, Complete: s.Complete,
		StartedAt: s.StartedAt.UTC().Format("2006-01-02T15:04:05Z"), Previous: prev.Name, Workbook: workbook,
		New: []Item{}, Resolved: []Item{},
	}
	if m.Previous == "" {
		m.Previous = "none"
	}
	before := map[string]bool{}
	for i := range prev.Findings {
		if counted(&prev.Findings[i]) {
			before[prev.Findings[i].FindingID] = true
		}
	}
	now := map[string]bool{}
	var newItems []Item
	for i := range res.Findings {
		f := &res.Findings[i]
		switch {
		case f.Excepted:
			m.Counts.Excepted++
		case f.Kind.Actionable():
			m.Counts.Open++
		case f.Undecided():
			m.Counts.Undecided++
		}
		if !counted(f) || now[f.FindingID] {
			continue
		}
		now[f.FindingID] = true
		if !before[f.FindingID] {
			newItems = append(newItems, item(f))
		}
	}
	var resolved []Item
	if s.Complete {
		read := map[string]bool{}
		for _, c := range res.Coverage {
			if len(c.Gaps) == 0 {
				read[c.ProjectID] = true
			}
		}
		done := map[string]bool{}
		for i := range prev.Findings {
			f := &prev.Findings[i]
			if counted(f) && !now[f.FindingID] && !done[f.FindingID] && read[f.ProjectID] {
				done[f.FindingID] = true
				resolved = append(resolved, item(f))
			}
		}
	}
	m.Counts.New, m.Counts.Resolved = len(newItems), len(resolved)
	m.New, m.Resolved = capped(newItems, max), capped(resolved, max)
	return m
}

func item(f *audit.Finding) Item {
	return Item{FindingID: f.FindingID, Kind: string(f.Kind), Severity: string(f.Severity), Resource: f.Resource,
		ProjectID: f.ProjectID, Principal: f.Principal, Repository: f.Repository, Remediation: f.Remediation}
}

// capped keeps the most severe first, then by id, up to max.
func capped(items []Item, max int) []Item {
	sort.Slice(items, func(i, j int) bool {
		ri, rj := audit.Severity(items[i].Severity).Rank(), audit.Severity(items[j].Severity).Rank()
		if ri != rj {
			return ri < rj
		}
		return items[i].FindingID < items[j].FindingID
	})
	if len(items) > max {
		items = items[:max]
	}
	if items == nil {
		items = []Item{}
	}
	return items
}

// Attributes are the message's Pub/Sub attributes, for subscription
// filters such as `attributes.has_new = "true"`.
func (m Message) Attributes() map[string]string {
	return map[string]string{
		"organization": m.Organization,
		"complete":     strconv.FormatBool(m.Complete),
		"has_new":      strconv.FormatBool(m.Counts.New > 0),
		"run_id":       m.RunID,
	}
}

var topicPattern = regexp.MustCompile(`^projects/([a-z][a-z0-9.:-]*[a-z0-9])/topics/([A-Za-z][A-Za-z0-9._~%+-]{2,254})$`)

// ParseTopic checks projects/PROJECT/topics/TOPIC and returns the project.
func ParseTopic(topic string) (project string, err error) {
	m := topicPattern.FindStringSubmatch(topic)
	if m == nil {
		return "", fmt.Errorf("%q: want projects/PROJECT_ID/topics/TOPIC_ID", topic)
	}
	return m[1], nil
}

// Publish sends m to topic and waits for Pub/Sub to accept it; it returns
// the message id.
func Publish(ctx context.Context, client *pubsub.Client, topic string, m Message) (string, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	p := client.Publisher(topic)
	defer p.Stop()
	id, err := p.Publish(ctx, &pubsub.Message{Data: data, Attributes: m.Attributes()}).Get(ctx)
	if err != nil {
		return "", fmt.Errorf("publishing to %s: %w", topic, err)
	}
	return id, nil
}
