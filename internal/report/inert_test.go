package report

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestInert(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"plain member", "user:alice@example.com", "user:alice@example.com"},
		{"command with quotes and backslash", `gcloud x --member="user:a@b" \`, `gcloud x --member="user:a@b" \`},
		{"non-ASCII letters stay", "user:jürgen@bücher.example 名前", "user:jürgen@bücher.example 名前"},
		{"emoji stays", "svc-🚀", "svc-🚀"},
		{"U+FFFD in the text stays", "a\uFFFDb", "a\uFFFDb"},
		{"right-to-left override", "user:\u202eelpmaxe.x@live", `user:\u202eelpmaxe.x@live`},
		{"bidi isolates and pop", "a\u2066b\u2069c\u202c", `a\u2066b\u2069c\u202c`},
		{"marks", "a\u200eb\u200fc\u061c", `a\u200eb\u200fc\u061c`},
		{"zero width and BOM", "ad\u200bmin\u200d\ufeff", `ad\u200bmin\u200d\ufeff`},
		{"soft hyphen", "ad\u00admin", `ad\u00admin`},
		{"terminal escape", "svc\x1b[2J\x1b]0;owned\x07", `svc\u001b[2J\u001b]0;owned\u0007`},
		{"newline, CR and tab", "a\nb\r\nc\td", `a\u000ab\u000d\u000ac\u0009d`},
		{"NUL and DEL", "a\x00b\x7f", `a\u0000b\u007f`},
		{"C1 control", "a\u0085b\u009bc", `a\u0085b\u009bc`},
		{"line and paragraph separators", "a\u2028b\u2029", `a\u2028b\u2029`},
		{"XML non-characters", "a\ufffeb\uffff", `a\ufffeb\uffff`},
		{"private use", "a\ue000", `a\ue000`},
		{"tag characters (above U+FFFF)", "a\U000E0041\U000E007F", `a\U000e0041\U000e007f`},
		{"unassigned", "a\U0010FFFD", `a\U0010fffd`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"lone surrogate bytes", "a\xed\xa0\x80", `a\xed\xa0\x80`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Inert(tc.in); got != tc.want {
				t.Errorf("Inert(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Text needing no escape comes back as the same string, unallocated.
func TestInertKeepsCleanText(t *testing.T) {
	s := strings.Repeat("serviceAccount:deployer@acme-ci.iam.gserviceaccount.com ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Inert(s) }); n != 0 {
		t.Errorf("Inert allocated %.0f times on clean text", n)
	}
}

// FuzzInert checks what every caller relies on: the result is valid UTF-8
// made only of graphic characters and spaces (nothing a terminal, CSV
// reader or XML parser treats specially but the text itself), clean text
// is unchanged, and escaping twice changes nothing more.
func FuzzInert(f *testing.F) {
	for _, s := range []string{"", "user:alice@example.com", "user:\u202eelpmaxe.x@live", "a\x1b[31mb", "\xff\xfe", "a\U000E0041", "\u2028\ufffe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Inert(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Inert(%q) = %q is not UTF-8", s, got)
		}
		for _, r := range got {
			if r != ' ' && (!unicode.IsGraphic(r) || unicode.Is(unicode.Co, r) || r == 0xFFFE || r == 0xFFFF) {
				t.Fatalf("Inert(%q) = %q keeps %U", s, got, r)
			}
		}
		if firstHostile(s) < 0 && got != s {
			t.Fatalf("Inert(%q) = %q changed clean text", s, got)
		}
		if again := Inert(got); again != got {
			t.Fatalf("Inert(Inert(%q)) = %q, want %q", s, again, got)
		}
	})
}
