package deny

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"cloud.google.com/go/iam/apiv2/iampb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/runaudit/runaudit/internal/inventory"
)

// Static is a Source of deny policies read once, e.g. from a file. It is
// authoritative: a node without policies in it has none. Static is safe for
// concurrent use once the engine has given it the inventory.
type Static struct {
	name     string
	policies []*iampb.Policy
	byNode   map[string][]*iampb.Policy // node key (project numbers) → policies
}

// ReadFile reads deny policies in the IAM v2 JSON form (as
// `gcloud iam policies get … --kind=denypolicies --format=json` prints
// them, camelCase or snake_case): one policy object, an array of them, a
// ListPolicies response ({"policies": […]}), or any sequence of these such
// as one policy per line. Policy names carry the attachment point.
func ReadFile(path string) (*Static, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading deny policies: %w", err)
	}
	return Parse(path, b)
}

// Parse reads deny policies from b; name is used in errors and reasons.
func Parse(name string, b []byte) (*Static, error) {
	s := &Static{name: name}
	// Syntax first, on each top-level value, so errors have absolute lines.
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		line := 1 + bytes.Count(b[:start], []byte("\n")) + leadingNewlines(b[start:])
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s: %v (in the value starting on line %d)", name, err, line)
			}
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := s.value(raw); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	s.UseInventory(nil)
	return s, nil
}

func leadingNewlines(b []byte) int {
	n := 0
	for _, c := range b {
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r':
		default:
			return n
		}
	}
	return n
}

// value reads one top-level JSON value: a policy, an array of policies, or
// {"policies": […]}.
func (s *Static) value(raw json.RawMessage) error {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return err
		}
		for i, it := range items {
			if err := s.policy(it); err != nil {
				return fmt.Errorf("policy %d of the array: %w", i+1, err)
			}
		}
		return nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(t, &probe); err != nil {
		return fmt.Errorf("want a deny policy object or an array of them: %w", err)
	}
	if list, ok := probe["policies"]; ok && probe["name"] == nil {
		return s.value(list)
	}
	return s.policy(t)
}

var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

func (s *Static) policy(raw json.RawMessage) error {
	p := &iampb.Policy{}
	if err := unmarshal.Unmarshal(raw, p); err != nil {
		return err
	}
	if err := Validate(p); err != nil {
		return err
	}
	if p.GetDeleteTime() != nil {
		return nil // deleted policies deny nothing
	}
	if len(p.GetRules()) == 0 {
		// ListPolicies and `gcloud iam policies list` return metadata only:
		// read as rules, such a file would deny nothing.
		return fmt.Errorf("deny policy %s carries no rules: `gcloud iam policies list` and ListPolicies return policy metadata without rules; export each policy with %s", p.GetName(), getCommand(p.GetName()))
	}
	s.policies = append(s.policies, p)
	return nil
}

// Validate checks what the evaluator relies on: a name with an attachment
// point, deny rules, and permissions in the v2 form.
func Validate(p *iampb.Policy) error {
	if _, err := AttachmentKey(p.GetName()); err != nil {
		return err
	}
	for i, r := range p.GetRules() {
		dr := r.GetDenyRule()
		if dr == nil {
			return fmt.Errorf("deny policy %s: rule %d is not a deny rule", p.GetName(), i+1)
		}
		for _, perm := range append(append([]string{}, dr.GetDeniedPermissions()...), dr.GetExceptionPermissions()...) {
			if !strings.Contains(perm, "/") {
				return fmt.Errorf("deny policy %s: rule %d: permission %q is not in the SERVICE.googleapis.com/RESOURCE.VERB form", p.GetName(), i+1, perm)
			}
		}
	}
	return nil
}

// Len counts the policies read.
func (s *Static) Len() int { return len(s.policies) }

// UseInventory places each policy on its node, with project ids turned
// into numbers as node keys hold them.
func (s *Static) UseInventory(inv *inventory.Inventory) {
	s.byNode = map[string][]*iampb.Policy{}
	for _, p := range s.policies {
		key, _ := AttachmentKey(p.GetName()) // validated when read
		if id, ok := strings.CutPrefix(key, "projects/"); ok && inv != nil {
			if proj := inv.Project(id); proj != nil {
				key = "projects/" + proj.Number
			}
		}
		s.byNode[key] = append(s.byNode[key], p)
	}
}

// Policies implements Source.
func (s *Static) Policies(n *inventory.Node) ([]*iampb.Policy, error) {
	return s.byNode[n.Key], nil
}

// getCommand is the gcloud command that prints one deny policy with its
// rules.
func getCommand(name string) string {
	key, _ := AttachmentKey(name) // validated before
	return fmt.Sprintf("`gcloud iam policies get %s --attachment-point=cloudresourcemanager.googleapis.com/%s --kind=denypolicies --format=json`", PolicyID(name), key)
}
