package xlsx

import (
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// column is one column of a streamed table sheet.
type column struct {
	Header string
	Width  float64
	// Wrap wraps the column's text; rows grow to the tallest wrapped cell.
	// Only for sheets of modest size: the Findings stay one line a row.
	Wrap bool
	// Numeric right-aligns the header over right-aligned numbers.
	Numeric bool
}

// table describes a sheet of rows written through the StreamWriter, split
// across sheets named Base, "Base (2)", … when it outgrows a sheet.
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
	// FitWidth prints the sheet one page wide.
	FitWidth bool
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
	if _, err := w.f.NewSheet(name); err != nil {
		return err
	}
	if err := pageSetup(w.f, name, t.FitWidth); err != nil {
		return err
	}
	sw, err := w.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, c := range t.Columns {
		if err := sw.SetColWidth(i+1, i+1, c.Width); err != nil {
			return err
		}
	}
	// Unstyled cells align to the top, like the wrapped ones.
	if err := sw.SetColStyle(1, len(t.Columns), w.st.topCell); err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	header := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		st := w.st.header
		if c.Numeric {
			st = w.st.headerR
		}
		header[i] = excelize.Cell{StyleID: st, Value: c.Header}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: 20}); err != nil {
		return err
	}
	row := 2
	for i := from; i < to; i++ {
		clear(dst)
		t.Row(i, dst)
		if err := sw.SetRow(cellName(1, row), dst, w.wrapRow(t.Columns, dst)...); err != nil {
			return fmt.Errorf("row %d: %w", row, err)
		}
		row++
	}
	if from == to {
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

// wrapRow styles the wrapped columns' cells and returns the row options
// that make the row tall enough for them. A StreamWriter cannot fit row
// heights after the fact, so the lines are estimated from the text length.
func (w *writer) wrapRow(cols []column, dst []any) []excelize.RowOpts {
	lines := 1
	for i, c := range cols {
		if !c.Wrap || dst[i] == nil {
			continue
		}
		var s string
		switch v := dst[i].(type) {
		case string:
			s = v
			dst[i] = excelize.Cell{StyleID: w.st.wrap, Value: v}
		case excelize.Cell:
			s, _ = v.Value.(string)
			if v.StyleID == w.st.link {
				v.StyleID = w.st.linkWrap
			} else if v.StyleID == 0 {
				v.StyleID = w.st.wrap
			}
			dst[i] = v
		}
		perLine := max(1, int(c.Width)-2)
		lines = max(lines, (len(s)+perLine-1)/perLine)
	}
	if lines == 1 {
		return nil
	}
	return []excelize.RowOpts{{Height: lineHeight * float64(lines)}}
}

// lineHeight is the height in points of one line of 11-point text.
const lineHeight = 15

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
