package xlsx

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

// rowsTestTable is a table of every kind of cell the workbook writes, with
// text that XML, excelize's _xHHHH_ escapes and Excel's limits make
// awkward.
func rowsTestTable(w *writer) table {
	texts := []string{
		"plain", "", " leading space", "trailing space ", "\ttab", "a & b < c > d \" '",
		"_x0041_", "_x005F_x0041_", "_x005F_", "_x005F_xD800_", "_xD800_", "_x00zz_", "x_x1234_y_x005F_xABCD_z",
		"ünïcødé 日本語 🙂", "line\nbreak", "\x00\x1b[31m", "=1+1", "@SUM(A1)", "\u202eevil",
		strings.Repeat("wrapped words and-hyphens/slashes ", 40), strings.Repeat("x", maxCellChars+10),
		"projects/p-1/locations/europe-west1/repositories/r_1", "//run.googleapis.com/projects/p-1/locations/europe-west1/services/s-1",
	}
	return table{
		Base: "Rows", TableName: "Rows",
		Columns: []column{
			{Header: "Text", Max: 20, Wrap: true}, {Header: "Plain", Max: 12}, {Header: "Number", Max: 8, Numeric: true},
			{Header: "Styled", Max: 12}, {Header: "Link", Max: 20, Wrap: true}, {Header: "Resource", Max: 20},
			{Header: "Blank", Max: 6},
		},
		Rows: len(texts) * 3,
		Row: func(i int, dst []any) {
			s := texts[i%len(texts)]
			dst[0] = text(s)
			dst[1] = s
			dst[2] = i * 1000
			if i%2 == 0 {
				dst[3] = excelize.Cell{StyleID: w.st.severity[audit.High], Value: s}
			} else {
				dst[3] = excelize.Cell{Value: s}
			}
			dst[4] = w.linkCell(repositoryRef(s))
			if i%3 == 1 {
				dst[4] = excelize.Cell{StyleID: w.st.link, Formula: `HYPERLINK("https://example.com/"," x ")`, Value: " " + s + " "}
			}
			dst[5] = w.linkCell(resourceRef(s))
			if i%4 == 0 {
				dst[6] = excelize.Cell{StyleID: w.st.wrap}
			}
		},
	}
}

// writeRowsWorkbook writes t to a new workbook at path, through the rows
// writer when spliced, otherwise through excelize's StreamWriter.SetRow
// as the workbook did before rows.go.
func writeRowsWorkbook(t *testing.T, path string, spliced bool) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	w, err := newWriter(f, audit.Result{}, Options{}, excelize.TotalRows)
	if err != nil {
		t.Fatal(err)
	}
	tbl := rowsTestTable(w)
	if spliced {
		f.SetZipWriter(w.zipWriter)
		if _, err := w.writeTable(tbl); err != nil {
			t.Fatal(err)
		}
	} else {
		f.SetZipWriter(fastZip)
		if err := setRowTable(w, tbl); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// setRowTable writes t's rows with StreamWriter.SetRow, column widths and
// styles as writePart sets them: the reference rows.go must match.
func setRowTable(w *writer, t table) error {
	if _, err := w.f.NewSheet(t.Base); err != nil {
		return err
	}
	dst := make([]any, len(t.Columns))
	widths := w.fitWidths(t, 0, t.Rows, dst)
	sw, err := w.streamColumns(t.Base, widths)
	if err != nil {
		return err
	}
	header := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = excelize.Cell{StyleID: w.st.header, Value: c.Header}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	for i := range t.Rows {
		clear(dst)
		t.Row(i, dst)
		if err := sw.SetRow(cellName(1, i+2), dst, w.wrapRow(t.Columns, widths, dst)...); err != nil {
			return fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	return sw.Flush()
}

// TestRowsReadBackAsSetRowWrites reads the rows rows.go writes and the
// rows excelize's SetRow writes for the same table, and requires the same
// cells: value, type, formula and style, and the same row heights.
func TestRowsReadBackAsSetRowWrites(t *testing.T) {
	dir := t.TempDir()
	pathA, pathB := filepath.Join(dir, "spliced.xlsx"), filepath.Join(dir, "setrow.xlsx")
	writeRowsWorkbook(t, pathA, true)
	writeRowsWorkbook(t, pathB, false)
	a, err := excelize.OpenFile(pathA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := excelize.OpenFile(pathB)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := excelize.NewFile()
	w, err := newWriter(f, audit.Result{}, Options{}, excelize.TotalRows)
	if err != nil {
		t.Fatal(err)
	}
	tbl := rowsTestTable(w)
	f.Close()
	styleOf := func(f *excelize.File, id int) string {
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return string(j)
	}
	// The header row is written by excelize in both; the data rows are
	// what differs.
	for _, f := range []*excelize.File{a, b} {
		rs, err := f.GetRows("Rows")
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != tbl.Rows+1 || rs[1][0] != "plain" {
			t.Fatalf("%s: %d rows, want %d with \"plain\" first", f.Path, len(rs), tbl.Rows+1)
		}
	}
	for row := 2; row <= tbl.Rows+2; row++ {
		ha, err := a.GetRowHeight("Rows", row)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := b.GetRowHeight("Rows", row)
		if err != nil {
			t.Fatal(err)
		}
		if ha != hb {
			t.Errorf("row %d: height %v, SetRow's %v", row, ha, hb)
		}
		for col := 1; col <= len(tbl.Columns)+1; col++ {
			cell := cellName(col, row)
			get := func(f *excelize.File) string {
				v, err := f.GetCellValue("Rows", cell, excelize.Options{RawCellValue: true})
				if err != nil {
					t.Fatal(err)
				}
				typ, err := f.GetCellType("Rows", cell)
				if err != nil {
					t.Fatal(err)
				}
				formula, err := f.GetCellFormula("Rows", cell)
				if err != nil {
					t.Fatal(err)
				}
				style, err := f.GetCellStyle("Rows", cell)
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("value %q, type %v, formula %q, style %s", v, typ, formula, styleOf(f, style))
			}
			if ga, gb := get(a), get(b); ga != gb {
				t.Errorf("%s:\n got %s\nwant %s", cell, ga, gb)
			}
		}
	}
}

// TestSplicerFindsTheEndAcrossWrites feeds a sheet part one byte at a time
// and in one piece: the rows go just before </sheetData> either way.
func TestSplicerFindsTheEndAcrossWrites(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	w, err := newWriter(f, audit.Result{}, Options{}, excelize.TotalRows)
	if err != nil {
		t.Fatal(err)
	}
	p := &rowsPart{w: w, from: 0, to: 1, colStyle: 3, cols: []string{"A"}, widths: []float64{10},
		t: table{Columns: []column{{Header: "h"}}, Rows: 1, Row: func(_ int, dst []any) { dst[0] = "v" }}}
	part := `<worksheet><sheetData><row r="1"></row></sheetData></worksheet>`
	want := `<worksheet><sheetData><row r="1"></row><row r="2"><c r="A2" s="3" t="inlineStr"><is><t>v</t></is></c></row></sheetData></worksheet>`
	for _, chunk := range []int{1, 5, len(sheetDataEnd), len(part)} {
		var out bytes.Buffer
		s := &splicer{name: "sheet", out: &out, rows: p}
		for rest := part; rest != ""; {
			n := min(chunk, len(rest))
			if _, err := s.Write([]byte(rest[:n])); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if !s.done || out.String() != want {
			t.Errorf("in writes of %d bytes: done %v, wrote\n%s\nwant\n%s", chunk, s.done, out.String(), want)
		}
	}
	z := &splicingZip{parts: map[string]*rowsPart{"sheet": p}, open: &splicer{name: "sheet", out: &bytes.Buffer{}, rows: p}}
	if err := z.finish(); err == nil {
		t.Error("a part without </sheetData> was not an error")
	}
}

// TestCellXML pins what excelize reads back alike either way but Excel
// and LibreOffice do not: white space at either end of a text is kept
// with xml:space="preserve", on the text of an inline string and on the
// cell of a formula's cached text.
func TestCellXML(t *testing.T) {
	p := &rowsPart{colStyle: 3, t: table{Columns: []column{{Header: "B"}}}, widths: []float64{10}}
	cellXML := func(v any) ([]byte, error) {
		c, _ := p.resolve(0, v)
		return appendCell(nil, "B", 7, &c)
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{"a", `<c r="B7" s="3" t="inlineStr"><is><t>a</t></is></c>`},
		{" a", `<c r="B7" s="3" t="inlineStr"><is><t xml:space="preserve"> a</t></is></c>`},
		{"a ", `<c r="B7" s="3" t="inlineStr"><is><t xml:space="preserve">a </t></is></c>`},
		{"a\t", `<c r="B7" s="3" t="inlineStr"><is><t>a\u0009</t></is></c>`}, // cellText shows the control character
		{"<&>", `<c r="B7" s="3" t="inlineStr"><is><t>&lt;&amp;&gt;</t></is></c>`},
		{42, `<c r="B7" s="3"><v>42</v></c>`},
		{excelize.Cell{StyleID: 9, Formula: `HYPERLINK("u","t")`, Value: " t"}, `<c xml:space="preserve" r="B7" s="9" t="str"><f>HYPERLINK(&#34;u&#34;,&#34;t&#34;)</f><v> t</v></c>`},
		{excelize.Cell{StyleID: 9}, `<c r="B7" s="9"></c>`},
	} {
		got, err := cellXML(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("%#v:\n got %s, %v\nwant %s", c.v, got, err, c.want)
		}
	}
	// A tab that reaches the XML (cellText leaves none) is escaped, and
	// kept with xml:space at an end.
	if got, _ := appendCell(nil, "B", 7, &cell{kind: cellInline, style: 3, text: "a\t"}); string(got) != `<c r="B7" s="3" t="inlineStr"><is><t xml:space="preserve">a&#x9;</t></is></c>` {
		t.Errorf("a tab at the end: got %s", got)
	}
	if _, err := cellXML(1.5); err == nil {
		t.Error("a float was written: only text and int are")
	}
	for _, v := range []any{1.5, int64(2), true} {
		if got, err := cellXML(excelize.Cell{Formula: "1+1", Value: v}); err == nil {
			t.Errorf("a formula with a %T value was written: %s", v, got)
		}
	}
	if _, err := cellXML(excelize.Cell{Formula: "1+1", Value: 2}); err == nil {
		t.Error("a formula with a number was written: excelize types that cell otherwise")
	}
}

// TestAppendEscapedIsEscapeText holds the ASCII fast path to what
// encoding/xml's EscapeText writes.
func TestAppendEscapedIsEscapeText(t *testing.T) {
	for _, s := range []string{"", "plain", `HYPERLINK("https://x/?a=1&b=2","n")`, "<a href='x'>\t\n\r</a>", "\x00\x1f", "é<", "\uFFFE", "\xff", "_x0041_ & more"} {
		var want bytes.Buffer
		if err := xml.EscapeText(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := appendEscaped([]byte("prefix"), s); string(got) != "prefix"+want.String() {
			t.Errorf("appendEscaped(%q) = %q, want %q", s, got, "prefix"+want.String())
		}
	}
}

// wrapRow readies a table's row for excelize's SetRow, as the workbook
// did before rowsPart, and is the reference rowsPart.resolve is held to:
// it makes dst's text safe to write (see cellText), styles the wrapped
// columns' cells and returns the row options that make the row tall
// enough for them.
func (w *writer) wrapRow(cols []column, widths []float64, dst []any) []excelize.RowOpts {
	lines := 1
	for i, c := range cols {
		var s string
		switch v := dst[i].(type) {
		case string:
			s = cellText(v)
			dst[i] = s
			if c.Wrap {
				dst[i] = excelize.Cell{StyleID: w.st.wrap, Value: s}
			}
		case excelize.Cell:
			if str, ok := v.Value.(string); ok {
				s = cellText(str)
				v.Value = s
			}
			if c.Wrap {
				if v.StyleID == w.st.link {
					v.StyleID = w.st.linkWrap
				} else if v.StyleID == 0 {
					v.StyleID = w.st.wrap
				}
			}
			dst[i] = v
		default:
			continue
		}
		if c.Wrap {
			lines = max(lines, wrappedLines(s, widths[i]))
		}
	}
	if lines == 1 {
		return nil
	}
	return []excelize.RowOpts{{Height: rowHeight(lines)}}
}
