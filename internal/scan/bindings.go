package scan

import (
	"bytes"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/runaudit/runaudit/internal/inventory"
)

// exportBindings is an IAM policy's bindings as the export reader keeps
// them. Most of a large export is IAM policies, and most of their bindings
// bind predefined roles that grant nothing the audit decides; the reader
// (ReadExport) skips those bindings' members without copying them, and
// interns the rest as it reads them, so that a policy's bindings are
// decoded into what the inventory keeps: roles and members interned, the
// members of every binding in one array.
type exportBindings struct {
	List []inventory.Binding
	// Dropped counts the bindings read and not kept (their role is not
	// kept).
	Dropped int
	// Ready is set when List is as the Builder keeps it
	// (inventory.Policy.Ready).
	Ready bool
}

// UnmarshalJSONFrom decodes every binding, keeping each and interning
// nothing: DecodeRecord's way. ReadExport decodes with its own options
// (bindingsReader).
func (bs *exportBindings) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return bs.read(dec, nil, nil)
}

// bindingsReader returns the decoding options under which bindings of
// roles that keep refuses are counted and skipped, and the strings of the
// others interned in strs.
func bindingsReader(keep func(string) bool, strs *inventory.Strings) json.Options {
	return json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, bs *exportBindings) error {
		return bs.read(dec, keep, strs)
	}))
}

// read decodes a JSON array of bindings, as protojson decodes a
// google.iam.v1.Binding list: unknown names skipped, null as absent,
// anything else of the wrong type refused. A nil keep keeps every binding;
// a nil strs interns nothing.
func (bs *exportBindings) read(dec *jsontext.Decoder, keep func(string) bool, strs *inventory.Strings) error {
	// unquote returns the text of a JSON string token, in scratch when it
	// holds escapes.
	unquote := func(raw jsontext.Value, scratch *[]byte) ([]byte, error) {
		b := raw[1 : len(raw)-1]
		if bytes.IndexByte(b, '\\') < 0 {
			return b, nil
		}
		var err error
		*scratch, err = jsontext.AppendUnquote((*scratch)[:0], raw)
		return *scratch, err
	}
	str := func(raw jsontext.Value, scratch *[]byte) (string, error) {
		b, err := unquote(raw, scratch)
		if err != nil {
			return "", err
		}
		if strs != nil {
			return strs.InternBytes(b), nil
		}
		return string(b), nil
	}
	*bs = exportBindings{}
	if ok, err := openArray(dec, "the value", "an array of bindings"); !ok {
		return err
	}
	var (
		members []string
		ends    []int // the end of each kept binding's members in members
		scratch []byte
	)
	for dec.PeekKind() != ']' {
		if dec.PeekKind() != '{' {
			return wrongKind(dec, "a binding", "an object")
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var (
			b       inventory.Binding
			hasRole bool
			start   = len(members)
			skip    bool // the role is known and not kept
		)
		for dec.PeekKind() != '}' {
			rawName, err := dec.ReadValue()
			if err != nil {
				return err
			}
			name, err := unquote(rawName, &scratch)
			if err != nil {
				return err
			}
			switch string(name) {
			case "role":
				v, err := dec.ReadValue()
				if err != nil {
					return err
				}
				switch v.Kind() {
				case 'n':
				case '"':
					if b.Role, err = str(v, &scratch); err != nil {
						return err
					}
				default:
					return fmt.Errorf("a role is %s, want a string", kindWord(v.Kind()))
				}
				hasRole = true
				skip = keep != nil && !keep(b.Role)
			case "members":
				if ok, err := openArray(dec, "members", "an array of strings"); !ok {
					if err != nil {
						return err
					}
					continue // null: no members
				}
				for dec.PeekKind() != ']' {
					v, err := dec.ReadValue()
					if err != nil {
						return err
					}
					if v.Kind() != '"' {
						return fmt.Errorf("a member is %s, want a string", kindWord(v.Kind()))
					}
					if skip {
						continue // validated, not kept
					}
					m, err := str(v, &scratch)
					if err != nil {
						return err
					}
					members = append(members, m)
				}
				if _, err := dec.ReadToken(); err != nil {
					return err
				}
			case "condition":
				var c *inventory.Condition
				if err := json.UnmarshalDecode(dec, &c); err != nil {
					return err
				}
				if c != nil && (c.Expression != "" || c.Title != "") { // an empty condition is none
					b.Condition = c
				}
			default:
				if err := dec.SkipValue(); err != nil {
					return err
				}
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		if !hasRole {
			skip = keep != nil && !keep("")
		}
		if skip {
			members = members[:start] // read before the role was
			bs.Dropped++
			continue
		}
		bs.List = append(bs.List, b)
		ends = append(ends, len(members))
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	bs.Ready = keep != nil && strs != nil
	if bs.Ready && bs.List == nil {
		bs.List = []inventory.Binding{} // as the Builder keeps a policy with none (no allocation)
	}
	if len(ends) > 0 && members == nil {
		members = []string{}
	}
	start := 0
	for i, end := range ends {
		bs.List[i].Members = members[start:end:end]
		start = end
	}
	return nil
}
