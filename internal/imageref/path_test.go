package imageref

import (
	"regexp"
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

// matcherCases are strings at the edges of the component and tag grammars.
var matcherCases = []string{
	"", "a", "A", "0", "_", "__", "___", ".", "-", "--", "a.", ".a", "a-", "-a", "a_", "_a",
	"a.b", "a..b", "a._b", "a_b", "a__b", "a___b", "a-b", "a--b", "a---b", "a-_b", "a_-b", "a-.b",
	"a.b_c__d-e---f", "abc123", "ABC", "aBc", "a b", "a/b", "a:b", "a@b", "é", "aé", "a\x00",
	"latest", "v1.2.3", "V1", "_x", ".x", "-x", "x-", "x.", strings.Repeat("a", 128), strings.Repeat("a", 129),
	"_" + strings.Repeat("a", 127), "a\n", "\na",
	// Labels, domains and hosts.
	"us-central1", "1us", "us-", "-us", "u-s", "u--s", "example.com", "example..com", ".example.com", "example.com.",
	"ex-.com", "a.b.c", "a.-b", "gcr.io:", "gcr.io:1", "gcr.io:12345", "gcr.io:123456", "gcr.io:x", "gcr.io::1",
	"localhost:5000", "[::1]", "[::1]:5000", "[]", "[::1", "[::g]", "[::1]x", "[::1]:", "[ab]]", "a:1:2",
	strings.Repeat("a", 63), strings.Repeat("a", 64), "a" + strings.Repeat("-", 61) + "a", "a" + strings.Repeat("-", 62) + "a",
}

// agreeWithTheGrammar checks every hand-written matcher against its
// grammar's regexp on s.
func agreeWithTheGrammar(t *testing.T, s string) {
	t.Helper()
	for _, m := range []struct {
		name string
		got  bool
		re   *regexp.Regexp
	}{
		{"validComponent", validComponent(s), componentRE},
		{"validTag", validTag(s), tagRE},
		{"validProjectID", validProjectID(s), projectRE},
		{"validProjectID (location)", validProjectID(s), locationRE},
		{"validDomain", validDomain(s), domainRE},
		{"validHost", validHost(s), hostRE},
		{"validRepositoryID", validRepositoryID(s), repositoryIDRE},
	} {
		if want := m.re.MatchString(s); m.got != want {
			t.Errorf("%s(%q) = %v, %s says %v", m.name, s, m.got, m.re, want)
		}
	}
}

// The hand-written matchers decide exactly what the grammar's regexps do.
func TestMatchersAgreeWithTheGrammar(t *testing.T) {
	for _, s := range matcherCases {
		agreeWithTheGrammar(t, s)
	}
}

func FuzzMatchersAgreeWithTheGrammar(f *testing.F) {
	for _, s := range matcherCases {
		f.Add(s)
	}
	f.Fuzz(agreeWithTheGrammar)
}
