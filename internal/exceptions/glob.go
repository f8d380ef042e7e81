package exceptions

import (
	"errors"
	"regexp"
	"strings"
)

// A pattern is an exact value or a glob: `*` matches any run of characters,
// `/` included (resource names are paths, and a pattern such as
// `//run.googleapis.com/projects/legacy-*` should reach every service
// below), `?` one character, `[abc]`, `[a-z]` and `[!a-z]` one character of
// a class, and `\` quotes the next character.
type pattern struct {
	text string
	re   *regexp.Regexp // nil for an exact value
}

func (p pattern) match(s string) bool {
	if p.re == nil {
		return p.text == s
	}
	return p.re.MatchString(s)
}

// compile turns a pattern into a matcher. It refuses an empty pattern, an
// unclosed class and a trailing backslash.
func compile(text string) (pattern, error) {
	if text == "" {
		return pattern{}, errors.New("empty pattern")
	}
	if !strings.ContainsAny(text, `*?[\`) {
		return pattern{text: text}, nil
	}
	var b strings.Builder
	b.WriteString(`\A`)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '*':
			b.WriteString(`(?s:.*)`)
		case '?':
			b.WriteString(`(?s:.)`)
		case '\\':
			if i+1 == len(text) {
				return pattern{}, errors.New("pattern ends in a lone backslash")
			}
			i++
			b.WriteString(regexp.QuoteMeta(text[i : i+1]))
		case '[':
			end := strings.IndexByte(text[i+1:], ']')
			// A `]` right after `[` or `[!` is part of the class.
			start := i + 1
			if start < len(text) && text[start] == '!' {
				start++
			}
			if start < len(text) && text[start] == ']' {
				end = strings.IndexByte(text[start+1:], ']')
				if end >= 0 {
					end += start + 1 - (i + 1)
				}
			}
			if end < 0 {
				return pattern{}, errors.New("unclosed [ in pattern")
			}
			class := text[i+1 : i+1+end]
			i += end + 1
			neg := strings.HasPrefix(class, "!")
			class = strings.TrimPrefix(class, "!")
			if class == "" {
				return pattern{}, errors.New("empty [] class in pattern")
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for j := 0; j < len(class); j++ {
				switch class[j] {
				case '\\', '[', ']', '^':
					b.WriteByte('\\')
				}
				b.WriteByte(class[j])
			}
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(text[i : i+1]))
		}
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return pattern{}, err
	}
	return pattern{text: text, re: re}, nil
}
