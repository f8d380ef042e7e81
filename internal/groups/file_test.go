package groups

import (
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/access"
)

func TestFileIsMember(t *testing.T) {
	for _, path := range []string{"testdata/groups.json", "testdata/groups.csv"} {
		f, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			member, group string
			want          access.Tri
			note          string
		}{
			{"user:alice@acme.example", "group:devs@acme.example", access.Yes, "is a member of group:devs@acme.example (groups file " + path + ")"},
			{"user:bob@acme.example", "group:devs@acme.example", access.Yes, "through group:leads@acme.example"},
			{"user:BOB@acme.example", "group:leads@acme.example", access.Yes, "member"},
			{"serviceAccount:deployer@acme-ci.iam.gserviceaccount.com", "group:devs@acme.example", access.Yes, "through group:leads@acme.example → group:ci@acme.example"},
			{"group:ci@acme.example", "group:devs@acme.example", access.Yes, "member"},
			// A cycle (devs → leads → ci → devs) ends the search.
			{"user:alice@acme.example", "group:ci@acme.example", access.Yes, "through group:devs@acme.example"},
			// Not found, but a nested group is not listed: undecided.
			{"user:mallory@acme.example", "group:devs@acme.example", access.Unknown, "nested group:partners@other.example is not in groups file"},
			// Not found and every nested group listed: not a member.
			{"user:mallory@acme.example", "group:leads@acme.example", access.Unknown, "partners"},
			{"user:alice@acme.example", "group:unlisted@acme.example", access.Unknown, "group:unlisted@acme.example is not in groups file"},
			{"user:alice", "group:devs@acme.example", access.Unknown, "cannot be looked up"},
			// A user is not a service account of the same email.
			{"serviceAccount:alice@acme.example", "group:devs@acme.example", access.Unknown, "partners"},
		}
		for _, tc := range tests {
			got, note := f.IsMember(tc.member, tc.group)
			if got != tc.want || !strings.Contains(note, tc.note) {
				t.Errorf("%s: IsMember(%s, %s) = %v, %q; want %v with %q", path, tc.member, tc.group, got, note, tc.want, tc.note)
			}
		}
	}
}

func TestFileNotAMember(t *testing.T) {
	f, err := ParseJSON("inline.json", []byte(`{"group:a@x.example": ["user:u@x.example", "group:b@x.example"], "group:b@x.example": ["user:v@x.example"], "group:c@x.example": []}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		member, group string
		want          access.Tri
	}{
		{"user:v@x.example", "group:a@x.example", access.Yes},
		{"user:w@x.example", "group:a@x.example", access.No},
		{"user:u@x.example", "group:b@x.example", access.No},
		{"user:u@x.example", "group:c@x.example", access.No},
		{"group:b@x.example", "group:a@x.example", access.Yes},
		{"group:a@x.example", "group:b@x.example", access.No},
	} {
		if got, note := f.IsMember(tc.member, tc.group); got != tc.want {
			t.Errorf("IsMember(%s, %s) = %v (%s), want %v", tc.member, tc.group, got, note, tc.want)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"testdata/bad-member.json", `testdata/bad-member.json:5: member "alice@acme.example" of group:devs@acme.example is not a user:, serviceAccount: or group: member`},
		{"testdata/bad-syntax.json", "testdata/bad-syntax.json:4:"},
		{"testdata/bad-member.csv", `testdata/bad-member.csv:3: member "domain:acme.example"`},
		{"testdata/bad-fields.csv", "testdata/bad-fields.csv: record on line 2: wrong number of fields"},
		{"testdata/absent.json", "reading groups file"},
	} {
		_, err := ReadFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadFile(%s) error = %v, want it to contain %q", tc.path, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{`[]`, "want an object"},
		{`{"user:a@x.example": []}`, "is not a group email"},
		{`{"group:a@x.example": "user:b@x.example"}`, "must be an array of strings"},
		{`{"group:a@x.example": []} {}`, "inline.json:1: invalid character '{' after top-level value"},
	} {
		_, err := ParseJSON("inline.json", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJSON(%s) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

type fixed struct {
	res  access.Tri
	note string
}

func (f fixed) IsMember(string, string) (access.Tri, string) { return f.res, f.note }

func TestChain(t *testing.T) {
	for _, tc := range []struct {
		chain Chain
		want  access.Tri
		note  string
	}{
		{Chain{fixed{access.Unknown, "a"}, fixed{access.Yes, "b"}}, access.Yes, "b"},
		{Chain{fixed{access.No, "a"}, fixed{access.Yes, "b"}}, access.No, "a"},
		{Chain{fixed{access.Unknown, "a"}, fixed{access.Unknown, "b"}}, access.Unknown, "a; b"},
		{Chain{}, access.Unknown, "was not resolved"},
	} {
		if got, note := tc.chain.IsMember("user:u@x", "group:g@x"); got != tc.want || note != tc.note && !strings.Contains(note, tc.note) {
			t.Errorf("%v: %v %q, want %v %q", tc.chain, got, note, tc.want, tc.note)
		}
	}
}
