package imageref

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitProject(t *testing.T) {
	tests := []struct {
		in      string
		project string
		rest    []string
		wantErr bool
	}{
		{"my-proj/img", "my-proj", []string{"img"}, false},
		{"my-proj", "my-proj", []string{}, false},
		{"p/a/b", "p", []string{"a", "b"}, false},
		{"example.com/my-proj/app/img", "example.com:my-proj", []string{"app", "img"}, false},
		{"corp.example.co.uk/p1", "corp.example.co.uk:p1", []string{}, false},
		{"a1/x", "a1", []string{"x"}, false},
		{"", "", nil, true},
		{"1proj/img", "", nil, true},
		{"proj-/img", "", nil, true},
		{"pro_j/img", "", nil, true},
		{"example.com", "", nil, true},
		{"example.com/1p/img", "", nil, true},
		{"ex_ample.com/p/img", "", nil, true},
		{"example..com/p/img", "", nil, true},
		{"-example.com/p/img", "", nil, true},
	}
	for _, tt := range tests {
		var segs []string
		if tt.in != "" {
			segs = strings.Split(tt.in, "/")
		}
		project, rest, err := splitProject(segs)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitProject(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if project != tt.project || !slices.Equal(rest, tt.rest) {
			t.Errorf("splitProject(%q) = %q, %q; want %q, %q", tt.in, project, rest, tt.project, tt.rest)
		}
	}
}

func TestProjectPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"my-proj", "my-proj"},
		{"example.com:my-proj", "example.com/my-proj"},
	}
	for _, tt := range tests {
		if got := projectPath(tt.in); got != tt.want {
			t.Errorf("projectPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		project, rest, err := splitProject(strings.Split(projectPath(tt.in), "/"))
		if err != nil || project != tt.in || len(rest) != 0 {
			t.Errorf("splitProject(projectPath(%q)) = %q, %q, %v; want a round trip", tt.in, project, rest, err)
		}
	}
}
