package xlsx

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// A table's data rows are the bulk of a large workbook, and excelize's
// StreamWriter.SetRow spends most of its time per cell: it formats each
// cell reference, looks up the column's style, escapes the text into a
// new string, builds a cell struct and serialises it. The rows are the
// same few kinds of cell (inline text, a number, a HYPERLINK formula with
// its text), so the writer renders them itself:
//
//   - excelize still writes each table sheet — columns, panes, header row,
//     table part, print setup — with the header row as its only row;
//   - when excelize assembles the file, the ZIP writer it is given
//     (splicingZip) inserts the data rows, rendered by rowsPart, into that
//     sheet's part just before its closing </sheetData>.
//
// The rows are rendered while the file is written, straight into the
// deflate stream, so they are never held in memory or in excelize's
// temporary files either. TestRowsReadBackAsSetRowWrites reads a workbook
// written this way and one written through SetRow with excelize, and
// requires every cell's value, type, formula and style and every row's
// height to be equal.

// sheetDataEnd closes a worksheet's rows: the only place in a sheet part
// where it occurs, since text inside cells is escaped.
var sheetDataEnd = []byte("</sheetData>")

// rowsPart renders rows [from, to) of a table as the <row> elements of
// the sheet part that excelize wrote with the header row alone.
type rowsPart struct {
	w        *writer
	t        table
	widths   []float64
	from, to int
	// colStyle is the style of a cell that sets none: the columns' style.
	colStyle int
	// cols names the columns: "A", "B", ….
	cols []string
}

// writeTo writes the rows to out, sheet rows 2 onward.
func (p *rowsPart) writeTo(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	dst := make([]any, len(p.t.Columns))
	cells := make([]cell, len(p.t.Columns))
	var buf []byte
	row := 2
	for i := p.from; i < p.to; i++ {
		clear(dst)
		p.t.Row(i, dst)
		lines := 1
		for j, v := range dst {
			var n int
			cells[j], n = p.resolve(j, v)
			lines = max(lines, n)
		}
		var height float64
		if lines > 1 {
			height = rowHeight(lines)
		}
		var err error
		if buf, err = p.appendRow(buf[:0], row, height, cells); err != nil {
			return fmt.Errorf("row %d: %w", row, err)
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		row++
	}
	return bw.Flush()
}

// cellKind says what a resolved cell writes.
type cellKind uint8

const (
	cellNone    cellKind = iota // no cell: a nil value
	cellInline                  // text, as an inline string
	cellNumber                  // an int
	cellEmpty                   // a styled cell without value
	cellFormula                 // a formula, its text the cached value
)

// cell is one data cell as it is written: the value a table's Row gave,
// its text made safe (cellText) and its style resolved, as the wrapped
// columns want them.
type cell struct {
	kind    cellKind
	style   int
	text    string
	number  int
	formula string
}

// resolve turns the value Row gave column j into the cell written, and
// returns the lines its text takes when the column wraps (1 when it does
// not). A cell sets its style or takes the column's: the wrap style in a
// wrapping column (the wrapping link style for a link), the top-aligned
// one elsewhere. It decides as excelize's SetRow would decide for the
// values the wrapped columns are given (TestRowsReadBackAsSetRowWrites).
func (p *rowsPart) resolve(j int, v any) (cell, int) {
	wrap := p.t.Columns[j].Wrap
	c := cell{style: p.colStyle}
	var styleID int
	hasText := false
	switch x := v.(type) {
	case nil:
		return cell{}, 1
	case string:
		c.text, hasText = cellText(x), true
		if wrap {
			styleID = p.w.st.wrap
		}
		v = c.text
	case excelize.Cell:
		styleID, c.formula, v = x.StyleID, x.Formula, x.Value
		if str, ok := v.(string); ok {
			c.text = cellText(str)
			v = c.text
		}
		hasText = true
		if wrap {
			if styleID == p.w.st.link {
				styleID = p.w.st.linkWrap
			} else if styleID == 0 {
				styleID = p.w.st.wrap
			}
		}
	}
	if styleID > 0 {
		c.style = styleID
	}
	switch x := v.(type) {
	case string:
		c.kind = cellInline
	case int:
		c.kind, c.number = cellNumber, x
	case nil:
		c.kind = cellEmpty
	default:
		c.kind, c.text = cellNone, fmt.Sprintf("%T", x)
	}
	if c.formula != "" && (c.kind == cellInline || c.kind == cellEmpty) {
		c.kind = cellFormula // text (or none) is the formula's cached value
	}
	lines := 1
	if wrap && hasText {
		lines = wrappedLines(c.text, p.widths[j])
	}
	return c, lines
}

// appendRow appends sheet row number row holding cells to b, as
// StreamWriter.SetRow writes it: nil cells are left out.
func (p *rowsPart) appendRow(b []byte, row int, height float64, cells []cell) ([]byte, error) {
	if height > excelize.MaxRowHeight {
		return b, excelize.ErrMaxRowHeight
	}
	b = append(b, `<row r="`...)
	b = strconv.AppendInt(b, int64(row), 10)
	b = append(b, '"')
	if height > 0 {
		b = append(b, ` ht="`...)
		b = strconv.AppendFloat(b, height, 'f', -1, 64)
		b = append(b, `" customHeight="1"`...)
	}
	b = append(b, '>')
	for i := range cells {
		var err error
		if b, err = appendCell(b, p.cols[i], row, &cells[i]); err != nil {
			return b, fmt.Errorf("column %s: %w", p.cols[i], err)
		}
	}
	return append(b, `</row>`...), nil
}

// appendCell appends one cell: text as an inline string, an int as a
// number, a styled cell without value empty, and a formula with its text
// as the formula's cached value.
func appendCell(b []byte, col string, row int, c *cell) ([]byte, error) {
	switch c.kind {
	case cellNone:
		if c.text != "" { // a value of a type not written
			return b, fmt.Errorf("cell value of type %s: only text and int are written", c.text)
		}
		return b, nil
	case cellEmpty:
		// An excelize.Cell without value or formula: SetRow writes the
		// styled, empty cell.
		return append(appendCellStart(b, "", col, row, c.style, ""), `</c>`...), nil
	case cellNumber:
		if c.formula != "" {
			return b, errors.New("a formula with a number for its value: only text is written")
		}
		b = appendCellStart(b, "", col, row, c.style, "")
		b = append(b, `<v>`...)
		b = strconv.AppendInt(b, int64(c.number), 10)
		return append(b, `</v></c>`...), nil
	case cellFormula:
		// SetRow writes a formula's text as the cached value of a "str"
		// cell; leading or trailing space is kept by the cell's xml:space.
		space := ""
		if edgeSpace(c.text) {
			space = ` xml:space="preserve"`
		}
		b = appendCellStart(b, space, col, row, c.style, "str")
		b = append(b, `<f>`...)
		b = appendEscaped(b, c.formula)
		b = append(b, `</f>`...)
		if c.text != "" {
			b = append(b, `<v>`...)
			b = appendEscaped(b, bstrMarshal(c.text))
			b = append(b, `</v>`...)
		}
		return append(b, `</c>`...), nil
	}
	if utf16Len(c.text) > excelize.TotalCellChars {
		return b, errors.New("text longer than a cell holds: cut it first (cellText)")
	}
	b = appendCellStart(b, "", col, row, c.style, "inlineStr")
	b = append(b, `<is><t`...)
	if edgeSpace(c.text) {
		b = append(b, ` xml:space="preserve"`...)
	}
	b = append(b, '>')
	b = appendEscaped(b, bstrMarshal(c.text))
	return append(b, `</t></is></c>`...), nil
}

// appendCellStart appends a cell's start tag.
func appendCellStart(b []byte, space, col string, row, style int, typ string) []byte {
	b = append(b, `<c`...)
	b = append(b, space...)
	b = append(b, ` r="`...)
	b = append(b, col...)
	b = strconv.AppendInt(b, int64(row), 10)
	b = append(b, '"')
	if style != 0 {
		b = append(b, ` s="`...)
		b = strconv.AppendInt(b, int64(style), 10)
		b = append(b, '"')
	}
	if typ != "" {
		b = append(b, ` t="`...)
		b = append(b, typ...)
		b = append(b, '"')
	}
	return append(b, '>')
}

// edgeSpace reports whether s starts or ends with white space, which XML
// readers drop unless the element says xml:space="preserve".
func edgeSpace(s string) bool {
	if s == "" {
		return false
	}
	isSpace := func(c byte) bool { return c == '\t' || c == '\n' || c == '\r' || c == ' ' }
	return isSpace(s[0]) || isSpace(s[len(s)-1])
}

// appendEscaped appends s as XML character data, escaped as encoding/xml's
// EscapeText escapes it (excelize's way). Printable ASCII, nearly all of
// the text, is escaped here; text with anything else goes through
// EscapeText, which also replaces characters XML cannot hold.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= utf8.RuneSelf {
			buf := bytes.NewBuffer(b)
			_ = xml.EscapeText(buf, []byte(s)) // a bytes.Buffer does not fail
			return buf.Bytes()
		}
	}
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// bstrPattern matches what a reader of the file takes for an escaped
// character (_xHHHH_, as ECMA-376's ST_Xstring has it).
var bstrPattern = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)

// bstrMarshal escapes, in text written to a cell, every _xHHHH_ that a
// reader would otherwise decode into a character, as excelize does when it
// writes a cell (bstrMarshal in excelize's lib.go, which this follows
// case by case, including dropping an _xHHHH_ that names no character):
// the underscore becomes _x005F_. Text without "_x", nearly all of it, is
// returned as it is.
func bstrMarshal(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var out strings.Builder
	cursor := 0
	for _, m := range bstrPattern.FindAllStringIndex(s, -1) {
		out.WriteString(s[cursor:m[0]])
		cursor = m[1]
		sub := s[m[0]:m[1]]
		if sub == "_x005F_" {
			// An escaped underscore that itself starts an escape
			// stays distinct from one that does not.
			if next := s[m[1]:min(len(s), m[1]+6)]; len(next) == 6 && next[0] == 'x' && next[5] == '_' && isHex4(next[1:5]) && namesRune(next[1:5]) {
				out.WriteString(sub + "x005F" + sub)
				continue
			}
			out.WriteString(sub + "x005F_")
			continue
		}
		if namesRune(sub[2:6]) {
			out.WriteString("_x005F" + sub)
		}
	}
	out.WriteString(s[cursor:])
	return out.String()
}

// isHex4 reports whether s is four hexadecimal digits.
func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := range len(s) {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return true
}

// namesRune reports whether the four hexadecimal digits hex name a
// character Go can unquote (not a surrogate half).
func namesRune(hex string) bool {
	_, err := strconv.Unquote(`"\u` + hex + `"`)
	return err == nil
}

// splicingZip is the ZIP writer given to excelize: it writes every part
// as fastZip does and inserts the rows of each table sheet (parts, by
// part name) into that sheet's part.
type splicingZip struct {
	excelize.ZipWriter
	parts map[string]*rowsPart
	open  *splicer // the part being written, if it takes rows
}

func (z *splicingZip) Create(name string) (io.Writer, error) {
	if err := z.finish(); err != nil {
		return nil, err
	}
	w, err := z.ZipWriter.Create(name)
	if err != nil {
		return nil, err
	}
	p, ok := z.parts[name]
	if !ok {
		return w, nil
	}
	z.open = &splicer{name: name, out: w, rows: p}
	return z.open, nil
}

func (z *splicingZip) Close() error {
	if err := z.finish(); err != nil {
		z.ZipWriter.Close()
		return err
	}
	return z.ZipWriter.Close()
}

// finish ends the part being spliced, if any.
func (z *splicingZip) finish() error {
	if z.open == nil {
		return nil
	}
	s := z.open
	z.open = nil
	if !s.done {
		return fmt.Errorf("part %s: excelize wrote no %s to insert the rows before", s.name, sheetDataEnd)
	}
	return nil
}

// splicer passes a sheet part through and writes the rows before its
// </sheetData>, which may arrive split across writes.
type splicer struct {
	name string
	out  io.Writer
	rows *rowsPart
	done bool
	held []byte // the end of what was written, which may start </sheetData>
}

func (s *splicer) Write(p []byte) (int, error) {
	if s.done {
		return s.out.Write(p)
	}
	data := p
	if len(s.held) > 0 {
		data = append(s.held, p...)
		s.held = nil
	}
	if i := bytes.Index(data, sheetDataEnd); i >= 0 {
		s.done = true
		if _, err := s.out.Write(data[:i]); err != nil {
			return 0, err
		}
		if err := s.rows.writeTo(s.out); err != nil {
			return 0, fmt.Errorf("sheet part %s: %w", s.name, err)
		}
		if _, err := s.out.Write(data[i:]); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	keep := min(len(data), len(sheetDataEnd)-1)
	if _, err := s.out.Write(data[:len(data)-keep]); err != nil {
		return 0, err
	}
	s.held = append([]byte(nil), data[len(data)-keep:]...)
	return len(p), nil
}
