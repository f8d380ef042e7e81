package xlsx

import (
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runaudit/runaudit/internal/report"
	"github.com/xuri/excelize/v2"
)

// column is one column of a streamed table sheet. To add a column, add it
// to the sheet's column list and fill it in the sheet's row function at
// the same position; widths and row heights follow from the content.
type column struct {
	Header string
	// Max caps the width, in characters of the default font; the width
	// itself is fitted to the header's longest word and the content.
	Max float64
	// Wrap wraps long text within Max instead of letting it run under the
	// next column; rows grow to the tallest wrapped cell. Give it to every
	// column whose text can be longer than Max.
	Wrap bool
	// Numeric right-aligns the header over right-aligned numbers.
	Numeric bool
	// Reference marks an identifier column kept for filtering and lookups
	// (finding id, full resource name): shown on screen, left off the
	// printout. Reference columns come last.
	Reference bool
}

// Column fitting bounds, in characters of the default font.
const (
	minColWidth = 6
	maxColWidth = 60 // when a column sets no Max
	// filterButton is the room the header's filter arrow takes.
	filterButton = 3
	// fitSample bounds the rows measured to fit the widths: a million
	// findings are measured by their first rows.
	fitSample = 5000
)

// table describes a sheet of rows written through the StreamWriter, split
// across sheets named Base, "Base (2)", … when it outgrows a sheet. Every
// part prints with its header row on each page.
type table struct {
	Base string // sheet name of the first part
	// TableName is the Excel table name of the first part; later parts get
	// "_2", "_3", ….
	TableName string
	Columns   []column
	Rows      int
	// Row fills dst (len(Columns), reused between calls) for row i.
	Row func(i int, dst []any)
	// Empty is shown in the first data row when Rows is zero, so the
	// reader sees that the sheet is empty on purpose.
	Empty string
}

// sheetName names part k (0-based) of a split sheet.
func sheetName(base string, k int) string {
	if k == 0 {
		return base
	}
	return fmt.Sprintf("%s (%d)", base, k+1)
}

// writeTable writes t and returns the names of the sheets it used.
func (w *writer) writeTable(t table) ([]string, error) {
	perSheet := w.maxRows - 1 // the header takes a row
	parts := max(1, (t.Rows+perSheet-1)/perSheet)
	names := make([]string, 0, parts)
	dst := make([]any, len(t.Columns))
	for k := range parts {
		name := sheetName(t.Base, k)
		from, to := k*perSheet, min(t.Rows, (k+1)*perSheet)
		if err := w.writePart(name, tableName(t.TableName, k), t, from, to, dst); err != nil {
			return names, fmt.Errorf("sheet %q: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

func tableName(base string, k int) string {
	if k == 0 {
		return base
	}
	return fmt.Sprintf("%s_%d", base, k+1)
}

func (w *writer) writePart(name, tname string, t table, from, to int, dst []any) error {
	part, err := w.newSheet(name)
	if err != nil {
		return err
	}
	widths := w.fitWidths(t, from, to, dst)
	// The printout is one rectangle: the columns before the first
	// Reference one.
	printCols := 0
	for i, c := range t.Columns {
		if !c.Reference {
			if printCols != i {
				return fmt.Errorf("column %q is printed but comes after the on-screen-only column %q", c.Header, t.Columns[printCols].Header)
			}
			printCols = i + 1
		}
	}
	if err := w.printSetup(name, "$1:$1", printCols); err != nil {
		return err
	}
	sw, err := w.streamColumns(name, widths)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	header := make([]any, len(t.Columns))
	headerLines := 1
	for i, c := range t.Columns {
		st := w.st.header
		if c.Numeric {
			st = w.st.headerR
		}
		header[i] = excelize.Cell{StyleID: st, Value: c.Header}
		headerLines = max(headerLines, wrappedLines(c.Header, widths[i]-filterButton))
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: rowHeight(headerLines) + 5}); err != nil {
		return err
	}
	// The data rows are written with the file (see rows.go).
	row := 2 + to - from
	if from < to {
		cols := make([]string, len(t.Columns))
		for i := range cols {
			if cols[i], err = excelize.ColumnNumberToName(i + 1); err != nil {
				return err
			}
		}
		w.parts[part] = &rowsPart{w: w, t: t, widths: widths, from: from, to: to, colStyle: w.st.topCell, cols: cols}
	} else {
		if err := sw.SetRow("A2", []any{t.Empty}); err != nil {
			return err
		}
		row++
	}
	last := cellName(len(t.Columns), row-1)
	if err := sw.AddTable(&excelize.Table{
		Range:     "A1:" + last,
		Name:      tname,
		StyleName: "TableStyleLight9",
	}); err != nil {
		return err
	}
	return sw.Flush()
}

// newSheet adds a sheet and returns the name of its part in the file:
// the key excelize keeps it under in File.Sheet.
func (w *writer) newSheet(name string) (string, error) {
	before := map[any]bool{}
	w.f.Sheet.Range(func(k, _ any) bool {
		before[k] = true
		return true
	})
	if _, err := w.f.NewSheet(name); err != nil {
		return "", err
	}
	var parts []string
	w.f.Sheet.Range(func(k, _ any) bool {
		if p, ok := k.(string); ok && !before[k] {
			parts = append(parts, p)
		}
		return true
	})
	if len(parts) != 1 {
		return "", fmt.Errorf("cannot tell which part excelize made for the sheet: %q", parts)
	}
	return parts[0], nil
}

// fitWidths sizes each column to its content: wide enough for the
// header's longest word beside the filter button (a header wraps between
// words, never inside one) and for the longest cell of the first
// fitSample rows, within the column's Max.
func (w *writer) fitWidths(t table, from, to int, dst []any) []float64 {
	need := make([]float64, len(t.Columns))
	for i, c := range t.Columns {
		for _, word := range strings.Fields(c.Header) {
			need[i] = max(need[i], textWidth(word)+filterButton+1)
		}
	}
	for i := from; i < min(to, from+fitSample); i++ {
		clear(dst)
		t.Row(i, dst)
		for j, v := range dst {
			need[j] = max(need[j], textWidth(cellString(v))+2)
		}
	}
	if from == to && len(need) > 0 {
		need[0] = max(need[0], min(textWidth(t.Empty)+2, maxColWidth))
	}
	out := make([]float64, len(t.Columns))
	for i, c := range t.Columns {
		limit := c.Max
		if limit == 0 {
			limit = maxColWidth
		}
		// The header's words always fit, even past Max.
		out[i] = math.Ceil(max(minColWidth, min(need[i], max(limit, headerWordWidth(c.Header)))))
	}
	return out
}

// headerWordWidth is the width the longest word of a header needs.
func headerWordWidth(h string) float64 {
	n := 0.0
	for _, word := range strings.Fields(h) {
		n = max(n, textWidth(word)+filterButton+1)
	}
	return n
}

// cellString is the text a cell value shows.
func cellString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case excelize.Cell:
		return cellString(v.Value)
	case int:
		return strconv.Itoa(v)
	}
	return fmt.Sprint(v)
}

// textWidth estimates the width of s in characters of the default font:
// East Asian wide characters take two.
func textWidth(s string) float64 {
	n := 0.0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115F || (r >= 0x2E80 && r <= 0xA4CF) || (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFF00 && r <= 0xFF60) || r >= 0x1F300) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// wrappedLines counts the lines s takes wrapped into a column width
// characters wide. Like Excel and LibreOffice it breaks between words and
// after a slash or hyphen inside one (paths, member names), and inside a
// piece too long for a line; it may break at fewer places than they do,
// so it errs on tall, never on clipped. A column's width is counted in
// digits; a line is taken to hold one character fewer than the width
// (paths and names in lower case are about as wide as digits).
func wrappedLines(s string, width float64) int {
	perLine := max(1, width-1)
	// No character is wider than its UTF-8 bytes (textWidth) and words are
	// counted one space apart, so text of at most perLine bytes is one
	// line: most cells, measured without splitting them into words.
	if float64(len(s)) <= perLine {
		return 1
	}
	return wrapCount(s, perLine)
}

// wrapCount is wrappedLines without its short-text shortcut.
func wrapCount(s string, perLine float64) int {
	lines, cur := 1, 0.0
	first := true
	for word := range strings.FieldsSeq(s) {
		sep := 1.0 // the space before a word
		if first {
			sep, first = 0, false
		}
		for piece := range pieces(word) {
			wl := textWidth(piece)
			switch {
			case cur == 0:
			case cur+sep+wl <= perLine:
				cur += sep
			default:
				lines++
				cur = 0
			}
			sep = 0 // pieces of one word join without a space
			for wl > perLine {
				if cur > 0 {
					lines++
					cur = 0
				}
				wl -= perLine
				lines++
			}
			cur += wl
		}
	}
	return lines
}

// pieces yields a word split after each slash and hyphen, where a line
// may break, without allocating: every wrapped cell of every row is
// measured.
func pieces(word string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for word != "" {
			i := strings.IndexAny(word, "/-")
			if i < 0 || i == len(word)-1 {
				yield(word)
				return
			}
			if !yield(word[:i+1]) {
				return
			}
			word = word[i+1:]
		}
	}
}

// lineHeight is the height in points of one line of 11-point text.
const lineHeight = 15

// maxRowHeight is Excel's limit on a row's height, in points.
const maxRowHeight = 409

// rowHeight is the height of lines of 11-point text, within Excel's limit.
func rowHeight(lines int) float64 { return min(maxRowHeight, lineHeight*float64(lines)) }

// maxCellChars is Excel's limit on the characters of one cell, counted in
// UTF-16 code units.
const maxCellChars = 32767

// cellText makes cloud text safe for a cell: inert (control, format and
// other characters XML or the reader would act on shown as escapes, see
// report.Inert) and, past Excel's limit, cut with a note saying so.
func cellText(s string) string {
	s = report.Inert(s)
	if len(s) <= maxCellChars/3 || utf16Len(s) <= maxCellChars {
		return s
	}
	total := utf8.RuneCountInString(s)
	note := fmt.Sprintf(" … [cut: %d of %d characters shown; findings.jsonl has the full text]", 0, total)
	budget := maxCellChars - utf16Len(note) - 10 // room for the shown count's digits
	n, shown := 0, 0
	for i, r := range s {
		u := 1
		if r > 0xFFFF {
			u = 2
		}
		if n+u > budget {
			return s[:i] + fmt.Sprintf(" … [cut: %d of %d characters shown; findings.jsonl has the full text]", shown, total)
		}
		n += u
		shown++
	}
	return s
}

// utf16Len counts s's UTF-16 code units, as Excel counts characters.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// cellName is excelize.CoordinatesToCellName for coordinates known valid.
func cellName(col, row int) string {
	name, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		panic(err) // a bug: callers pass columns and rows within Excel's limits
	}
	return name
}

// text returns a cell value for text from the cloud. Strings are written
// as typed string cells, never as formulas, whatever they start with; an
// empty string writes no cell at all.
func text(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// linkCell shows r's text and, where r has a Console address, links it
// with a HYPERLINK formula whose cached value is the text.
func (w *writer) linkCell(r ref) any {
	if r.Text == "" {
		return nil
	}
	if f := hyperlinkFormula(r); f != "" {
		return excelize.Cell{StyleID: w.st.link, Formula: f, Value: r.Text}
	}
	return r.Text
}

// yes marks true booleans; false ones stay blank so the column filters on
// one value.
func yes(b bool) any {
	if b {
		return "yes"
	}
	return nil
}

// joinCapped joins ss with ", ", listing at most n and saying how many more.
func joinCapped(ss []string, n int) string {
	if len(ss) <= n {
		return strings.Join(ss, ", ")
	}
	return strings.Join(ss[:n], ", ") + fmt.Sprintf(", and %d more", len(ss)-n)
}

// streamColumns opens a stream writer on sheet with its columns this wide,
// unstyled cells aligned to the top like the wrapped ones beside them.
func (w *writer) streamColumns(sheet string, widths []float64) (*excelize.StreamWriter, error) {
	sw, err := w.f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	for i, width := range widths {
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return nil, err
		}
	}
	if err := sw.SetColStyle(1, len(widths), w.st.topCell); err != nil {
		return nil, err
	}
	return sw, nil
}
