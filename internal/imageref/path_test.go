package imageref

import (
	"strings"
	"testing"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"a", false},
		{"library/nginx", false},
		{"a/b/c/d", false},
		{"a.b/c_d/e__f/g-h/i---j", false},
		{"0/9", false},
		{"", true},
		{"a//b", true},
		{"/a", true},
		{"a/", true},
		{"A", true},
		{"a/B", true},
		{"-a", true},
		{"a-", true},
		{"a..b", true},
		{"a___b", true},
		{"a._b", true},
		{".", true},
		{"..", true},
		{"a:b", true},
	}
	for _, tt := range tests {
		if err := checkPath(tt.in); (err != nil) != tt.wantErr {
			t.Errorf("checkPath(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestCheckTag(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"", false},
		{"latest", false},
		{"V1.2.3-rc_1", false},
		{"_x", false},
		{strings.Repeat("a", 128), false},
		{strings.Repeat("a", 129), true},
		{".x", true},
		{"-x", true},
		{"a/b", true},
		{"a:b", true},
		{"a+b", true},
	}
	for _, tt := range tests {
		if err := checkTag(tt.in); (err != nil) != tt.wantErr {
			t.Errorf("checkTag(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestDiagnose(t *testing.T) {
	tests := []struct {
		in       string
		wantPath string // "" when diagnose has nothing to say
	}{
		{"gcr.io/Proj/img", "Proj/img"},
		{"Nginx:v1", "Nginx"},
		{"localhost/Foo:TAG", "Foo"},
		{"reg:5000/Foo", "Foo"},
		{"nginx:UPPER", ""}, // tags may be uppercase
		{"reg:5000/foo", ""},
		{"gcr.io/p/img:", ""},
	}
	for _, tt := range tests {
		err := diagnose(tt.in)
		switch {
		case tt.wantPath == "" && err != nil:
			t.Errorf("diagnose(%q) = %v, want nil", tt.in, err)
		case tt.wantPath != "" && (err == nil || !strings.Contains(err.Error(), `"`+tt.wantPath+`" must be lowercase`)):
			t.Errorf("diagnose(%q) = %v, want it to name path %q", tt.in, err, tt.wantPath)
		}
	}
}
