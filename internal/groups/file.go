package groups

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runaudit/runaudit/internal/access"
)

// File is a table of groups and their direct members, read from a file.
// It is authoritative for the groups it lists: a principal not found in a
// listed group (or the listed groups nested in it) is not a member. Groups
// it does not list are Unknown. File is safe for concurrent use.
type File struct {
	name    string
	members map[string][]string // "group:g@x" → canonical members
}

// ReadFile reads a groups file: JSON when the name ends in .json or the
// content starts with '{', CSV otherwise. See docs/accuracy.md.
//
// JSON: an object whose keys are groups ("group:g@x" or "g@x") and whose
// values are arrays of IAM member strings ("user:…", "serviceAccount:…",
// "group:…").
//
// CSV: rows "group,member", an optional header row "group,member", and
// lines starting with '#' as comments.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading groups file: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") || bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return ParseJSON(path, b)
	}
	return ParseCSV(path, bytes.NewReader(b))
}

// ParseJSON reads the JSON form of a groups file; name is used in errors
// and reasons.
func ParseJSON(name string, b []byte) (*File, error) {
	f := &File{name: name, members: map[string][]string{}}
	// Syntax first, on the whole file, so a syntax error has its absolute
	// offset; the token walk below then only meets shape errors.
	var raw json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, jsonError(name, b, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	line := func() int { return 1 + bytes.Count(b[:dec.InputOffset()], []byte("\n")) }
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line(), fmt.Sprintf(format, args...))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(name, b, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail("want an object of group → members")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(name, b, err)
		}
		key, _ := tok.(string)
		g, _, _ := canonical(key, true)
		if g == "" || !strings.HasPrefix(g, "group:") {
			return nil, fail("%q is not a group email", key)
		}
		var ms []string
		if err := dec.Decode(&ms); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, fail("members of %s must be an array of strings", key)
			}
			return nil, jsonError(name, b, err)
		}
		for _, m := range ms {
			if err := f.add(g, m); err != nil {
				return nil, fail("%v", err)
			}
		}
		if _, ok := f.members[g]; !ok {
			f.members[g] = nil // a listed group without members
		}
	}
	return f, nil
}

// jsonError places a syntax error on the line of the offending byte.
func jsonError(name string, b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(max(se.Offset-1, 0), int64(len(b)))
		return fmt.Errorf("%s:%d: %v", name, 1+bytes.Count(b[:off], []byte("\n")), err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ParseCSV reads the CSV form of a groups file.
func ParseCSV(name string, r io.Reader) (*File, error) {
	f := &File{name: name, members: map[string][]string{}}
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if first && strings.EqualFold(rec[0], "group") && strings.EqualFold(rec[1], "member") {
			continue
		}
		g, _, _ := canonical(rec[0], true)
		if g == "" || !strings.HasPrefix(g, "group:") {
			return nil, fmt.Errorf("%s:%d: %q is not a group email", name, line, rec[0])
		}
		if err := f.add(g, rec[1]); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
	}
	return f, nil
}

func (f *File) add(group, member string) error {
	m, _, _ := canonical(member, false)
	if m == "" {
		return fmt.Errorf("member %q of %s is not a user:, serviceAccount: or group: member with an email", member, group)
	}
	f.members[group] = append(f.members[group], m)
	return nil
}

// Groups counts the groups the file lists.
func (f *File) Groups() int { return len(f.members) }

// IsMember implements access.Groups.
func (f *File) IsMember(member, group string) (access.Tri, string) {
	m, _, _ := canonical(member, false)
	g, _, _ := canonical(group, true)
	if m == "" || g == "" {
		return access.Unknown, fmt.Sprintf("%s cannot be looked up in groups file %s", member, f.name)
	}
	if _, ok := f.members[g]; !ok {
		return access.Unknown, fmt.Sprintf("%s is not in groups file %s", group, f.name)
	}
	// Breadth first over the nested groups the file lists, remembering the
	// path for the reason.
	via := map[string]string{g: ""}
	queue := []string{g}
	var unlisted []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, x := range f.members[cur] {
			if x == m {
				return access.Yes, fmt.Sprintf("%s is a member of %s%s (groups file %s)", member, group, path(via, cur), f.name)
			}
			if !strings.HasPrefix(x, "group:") {
				continue
			}
			if _, seen := via[x]; seen {
				continue
			}
			via[x] = cur
			if _, ok := f.members[x]; ok {
				queue = append(queue, x)
			} else {
				unlisted = append(unlisted, x)
			}
		}
	}
	if len(unlisted) > 0 {
		sort.Strings(unlisted)
		return access.Unknown, fmt.Sprintf("%s is not a listed member of %s, but nested %s not in groups file %s", member, group, strings.Join(unlisted, ", ")+pluralIs(len(unlisted)), f.name)
	}
	return access.No, fmt.Sprintf("%s is not a member of %s (groups file %s)", member, group, f.name)
}

func pluralIs(n int) string {
	if n == 1 {
		return " is"
	}
	return " are"
}

// path renders the nested groups between the asked group and cur.
func path(via map[string]string, cur string) string {
	var chain []string
	for g := cur; via[g] != ""; g = via[g] {
		chain = append(chain, g)
	}
	if len(chain) == 0 {
		return ""
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return " through " + strings.Join(chain, " → ")
}
