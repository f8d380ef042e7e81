package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Inert returns s with every character that could change how the text
// around it is shown replaced by a visible escape, so that text from the
// cloud (names, labels, members, images, error messages) is displayed as
// what it is, never rendered:
//
//   - control characters, C0 and C1 (U+0000–U+001F, U+007F–U+009F), tab and
//     newline included: a name cannot start a terminal escape sequence, a
//     new line or a new CSV row;
//   - format characters (Unicode category Cf): bidirectional overrides and
//     isolates (U+202A–U+202E, U+2066–U+2069), marks (U+200E, U+200F,
//     U+061C), zero-width characters, tag characters, the byte-order mark;
//   - line and paragraph separators (U+2028, U+2029), private-use and
//     unassigned code points, and the non-characters XML forbids (U+FFFE,
//     U+FFFF);
//   - bytes that are not UTF-8.
//
// A rune is written as \uXXXX (\UXXXXXXXX above U+FFFF), a stray byte as
// \xXX. Everything else, backslashes included, is kept, so ordinary names
// and commands read and copy unchanged. s is returned as is when nothing
// needs escaping. The CSV, the workbook and the terminal output all show
// cloud text through Inert; findings.jsonl keeps it exact.
func Inert(s string) string {
	i := firstHostile(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case hostile(r):
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstHostile returns the index of the first byte Inert must escape, or
// -1. Printable ASCII, the common case, is checked without decoding.
func firstHostile(s string) int {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || hostile(r) {
			return i
		}
		i += size
	}
	return -1
}

// hostile reports whether r is shown escaped. Graphic characters and the
// space are kept; so is U+FFFD itself, when it was in the text.
func hostile(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	switch {
	case r == ' ':
		return false
	case r == 0xFFFE || r == 0xFFFF:
		return true
	case unicode.Is(unicode.Co, r): // private use: no agreed glyph
		return true
	}
	return !unicode.IsGraphic(r)
}
