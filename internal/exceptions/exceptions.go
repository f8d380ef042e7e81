// Package exceptions reads an exceptions file (accepted risks, each with a
// reason, an owner and an expiry) and marks the findings it accepts.
//
// The file is YAML:
//
//	exceptions:
//	  - kind: DEPLOYER_CANNOT_READ_IMAGE        # matchers: any of these, all must match
//	    project: legacy-*                       # project id or number
//	    folder: "1234567890"                    # any folder above the project
//	    resource: //run.googleapis.com/projects/legacy-*/locations/*/services/*
//	    principal: serviceAccount:old-ci@*.iam.gserviceaccount.com
//	    repository: projects/shared-images/locations/*/repositories/*
//	    reason: the legacy CI is retired in Q1; its deploys are frozen
//	    owner: platform-team@example.com
//	    expires: 2027-03-31                     # YYYY-MM-DD (through that UTC day) or RFC 3339
//
// Each matcher is an exact value or a glob (see pattern). An entry needs at
// least one matcher, and reason, owner and expires. Errors name the file and
// line.
package exceptions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runaudit/runaudit/internal/audit"
)

// File is a parsed exceptions file.
type File struct {
	Path    string
	Entries []Entry
}

// Entry is one accepted risk.
type Entry struct {
	// Line is where the entry starts in the file.
	Line int
	// Matchers by finding field; a nil one matches anything.
	Kind, Project, Folder, Resource, Principal, Repository *pattern
	Reason, Owner                                          string
	// Expires is the first instant the entry no longer applies;
	// ExpiresText is the value as written.
	Expires     time.Time
	ExpiresText string
}

// Where names the entry as FILE:LINE.
func (e *Entry) Where(path string) string { return fmt.Sprintf("%s:%d", path, e.Line) }

// matcherKeys and textKeys are the fields an entry may have.
var (
	matcherKeys = []string{"kind", "project", "folder", "resource", "principal", "repository"}
	textKeys    = []string{"reason", "owner", "expires"}
)

// Load reads and checks an exceptions file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading exceptions: %w", err)
	}
	return Parse(path, b)
}

// Parse checks an exceptions file's content; path is used in errors only.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty exceptions file: want a top-level `exceptions:` list", path)
		}
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n.Line, fmt.Sprintf(format, args...))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, bad(root, "want a mapping with an `exceptions:` list")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "exceptions" {
			return nil, bad(k, "unknown field %q (want `exceptions`)", k.Value)
		}
		list = v
	}
	if list == nil {
		return nil, bad(root, "no `exceptions:` list")
	}
	if list.Kind != yaml.SequenceNode {
		if list.Tag == "!!null" {
			return f, nil
		}
		return nil, bad(list, "`exceptions` must be a list of entries")
	}
	for _, n := range list.Content {
		e, err := parseEntry(n, bad)
		if err != nil {
			return nil, err
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

func parseEntry(n *yaml.Node, bad func(*yaml.Node, string, ...any) error) (Entry, error) {
	e := Entry{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return e, bad(n, "an exception entry must be a mapping of fields")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			return e, bad(k, "field %q given twice", key)
		}
		seen[key] = true
		if !contains(matcherKeys, key) && !contains(textKeys, key) {
			return e, bad(k, "unknown field %q (want one of %s)", key, strings.Join(append(append([]string{}, matcherKeys...), textKeys...), ", "))
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return e, bad(v, "field %q must be a single value", key)
		}
		val := strings.TrimSpace(v.Value)
		if val == "" {
			return e, bad(v, "field %q is empty", key)
		}
		switch key {
		case "reason":
			e.Reason = val
		case "owner":
			e.Owner = val
		case "expires":
			t, err := parseExpiry(val)
			if err != nil {
				return e, bad(v, "expires %q: %v", val, err)
			}
			e.Expires, e.ExpiresText = t, val
		default:
			if key == "folder" {
				val = strings.TrimPrefix(val, "folders/")
			}
			p, err := compile(val)
			if err != nil {
				return e, bad(v, "%s %q: %v", key, val, err)
			}
			switch key {
			case "kind":
				e.Kind = &p
			case "project":
				e.Project = &p
			case "folder":
				e.Folder = &p
			case "resource":
				e.Resource = &p
			case "principal":
				e.Principal = &p
			case "repository":
				e.Repository = &p
			}
		}
	}
	for _, k := range textKeys {
		if !seen[k] {
			return e, bad(n, "entry lacks %q (every exception needs reason, owner and expires)", k)
		}
	}
	matchers := 0
	for _, k := range matcherKeys {
		if seen[k] {
			matchers++
		}
	}
	if matchers == 0 {
		return e, bad(n, "entry has no matcher: give at least one of %s", strings.Join(matcherKeys, ", "))
	}
	return e, nil
}

// parseExpiry reads YYYY-MM-DD, meaning through that UTC day, or an RFC
// 3339 time.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a date YYYY-MM-DD or an RFC 3339 time")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Matches reports whether the entry's matchers all accept f.
func (e *Entry) Matches(f *audit.Finding) bool {
	one := func(p *pattern, vals ...string) bool {
		if p == nil {
			return true
		}
		for _, v := range vals {
			if p.match(v) {
				return true
			}
		}
		return false
	}
	return one(e.Kind, string(f.Kind)) &&
		one(e.Project, f.ProjectID, f.ProjectNumber) &&
		(e.Folder == nil || one(e.Folder, f.Folders...)) &&
		one(e.Resource, f.Resource) &&
		one(e.Principal, f.Principal) &&
		one(e.Repository, f.Repository)
}

// Apply marks every finding that a live entry matches as excepted, citing
// the first such entry, and
// reports the entries expired at now and those that matched nothing. An
// expired entry does not apply.
func (f *File) Apply(findings []audit.Finding, now time.Time) *audit.ExceptionsReport {
	rep := &audit.ExceptionsReport{File: f.Path, Entries: len(f.Entries), Expired: []audit.Exception{}, Unmatched: []audit.Exception{}}
	used := make([]bool, len(f.Entries))
	for i := range findings {
		fd := &findings[i]
		for j := range f.Entries {
			e := &f.Entries[j]
			if !now.Before(e.Expires) || !e.Matches(fd) {
				continue
			}
			// Every entry that matches counts as used, even when an
			// earlier one is the one cited: it does match something.
			used[j] = true
			if !fd.Excepted {
				ex := f.cite(e)
				fd.Excepted, fd.Exception = true, &ex
			}
		}
	}
	for j := range f.Entries {
		e := &f.Entries[j]
		switch {
		case !now.Before(e.Expires):
			rep.Expired = append(rep.Expired, f.cite(e))
		case !used[j]:
			rep.Unmatched = append(rep.Unmatched, f.cite(e))
		}
	}
	return rep
}

func (f *File) cite(e *Entry) audit.Exception {
	return audit.Exception{Where: e.Where(f.Path), Reason: e.Reason, Owner: e.Owner, Expires: e.ExpiresText}
}
