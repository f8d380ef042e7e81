package xlsx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

// worksheetOrder is the sequence of CT_Worksheet's children in the Office
// Open XML schema (ECMA-376 Part 1, 18.3.1.99). Excel rejects a sheet
// whose elements are out of this order and offers to repair the file.
var worksheetOrder = []string{
	"sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr", "sheetProtection",
	"protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate", "customSheetViews", "mergeCells",
	"phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup",
	"headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
	"legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst",
}

// checkStrict reads a workbook's parts as a strict consumer (Excel) does
// and reports every departure: XML that does not parse (invalid
// characters included), worksheet elements out of schema order, <col>
// ranges not ascending or overlapping, rows or cells out of order or
// repeated, a row taller than 409 points, a cell longer than 32,767
// characters, overlapping merged ranges.
func checkStrict(t *testing.T, path string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	sheets := 0
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".xml") && !strings.HasSuffix(zf.Name, ".rels") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(b); err != nil {
			t.Errorf("%s: %v", zf.Name, err)
			continue
		}
		switch {
		case strings.HasPrefix(zf.Name, "xl/worksheets/sheet"):
			sheets++
			for _, e := range checkWorksheet(b) {
				t.Errorf("%s: %s", zf.Name, e)
			}
		case zf.Name == "xl/sharedStrings.xml":
			for _, e := range checkSharedStrings(b) {
				t.Errorf("%s: %s", zf.Name, e)
			}
		}
	}
	if sheets == 0 {
		t.Errorf("%s: no worksheet parts", path)
	}
}

// wellFormed decodes every token; encoding/xml rejects characters XML 1.0
// does not allow.
func wellFormed(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("not UTF-8")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func checkWorksheet(b []byte) []string {
	var errs []string
	d := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	last := -1
	lastCol := 0
	lastRow := 0
	lastCell := 0
	var merges [][4]int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return append(errs, err.Error())
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			name := el.Name.Local
			switch {
			case depth == 2:
				i := slices.Index(worksheetOrder, name)
				if i < 0 {
					errs = append(errs, "unknown worksheet element <"+name+">")
				} else if i <= last && name != "conditionalFormatting" {
					errs = append(errs, fmt.Sprintf("<%s> after <%s>: out of schema order", name, worksheetOrder[last]))
				}
				last = max(last, i)
			case name == "col":
				lo, _ := strconv.Atoi(attr("min"))
				hi, _ := strconv.Atoi(attr("max"))
				if lo <= lastCol || hi < lo {
					errs = append(errs, fmt.Sprintf("<col min=%d max=%d> after a col ending at %d: not ascending", lo, hi, lastCol))
				}
				lastCol = max(lastCol, hi)
			case name == "row":
				r, _ := strconv.Atoi(attr("r"))
				if r <= lastRow {
					errs = append(errs, fmt.Sprintf("row %d after row %d", r, lastRow))
				}
				lastRow, lastCell = r, 0
				if ht := attr("ht"); ht != "" {
					if h, _ := strconv.ParseFloat(ht, 64); h > 409 || math.IsNaN(h) {
						errs = append(errs, fmt.Sprintf("row %d is %s points high, over Excel's 409", r, ht))
					}
				}
			case name == "c":
				col, row, err := excelize.CellNameToCoordinates(attr("r"))
				if err != nil || row != lastRow || col <= lastCell {
					errs = append(errs, fmt.Sprintf("cell %s out of order in row %d", attr("r"), lastRow))
				}
				lastCell = col
			case name == "t" || name == "v":
				var s string
				if err := d.DecodeElement(&s, &el); err != nil {
					return append(errs, err.Error())
				}
				depth--
				if n := utf16Len(s); n > maxCellChars {
					errs = append(errs, fmt.Sprintf("cell in row %d holds %d characters, over Excel's %d", lastRow, n, maxCellChars))
				}
			case name == "mergeCell":
				var m [4]int
				from, to, _ := strings.Cut(attr("ref"), ":")
				m[0], m[1], _ = excelize.CellNameToCoordinates(from)
				m[2], m[3], _ = excelize.CellNameToCoordinates(to)
				for _, o := range merges {
					if m[0] <= o[2] && o[0] <= m[2] && m[1] <= o[3] && o[1] <= m[3] {
						errs = append(errs, "merged range "+attr("ref")+" overlaps another")
					}
				}
				merges = append(merges, m)
			}
		case xml.EndElement:
			depth--
		}
	}
	return errs
}

func checkSharedStrings(b []byte) []string {
	var sst struct {
		SI []struct {
			T string `xml:"t"`
			R []struct {
				T string `xml:"t"`
			} `xml:"r"`
		} `xml:"si"`
	}
	if err := xml.Unmarshal(b, &sst); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	for i, si := range sst.SI {
		s := si.T
		for _, r := range si.R {
			s += r.T
		}
		if n := utf16Len(s); n > maxCellChars {
			errs = append(errs, fmt.Sprintf("string %d has %d characters, over Excel's %d", i, n, maxCellChars))
		}
	}
	return errs
}

// The example workbook, with and without a baseline, passes the strict
// reader.
func TestWorkbookIsStrictXML(t *testing.T) {
	r := loadExample(t)
	for name, opts := range map[string]Options{"baseline": exampleOptions(t), "no baseline": {AssetTypes: assetTypes}} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.xlsx")
			if err := Write(path, r, opts); err != nil {
				t.Fatal(err)
			}
			checkStrict(t, path)
		})
	}
}

// The strict reader catches what Excel rejects: a sheet with <col>
// elements out of order, as the Summary's map-ordered widths once wrote.
func TestStrictReaderCatchesColumnOrder(t *testing.T) {
	bad := []byte(`<worksheet><sheetPr/><cols><col min="3" max="3" width="14"/><col min="1" max="1" width="46"/></cols><sheetData/></worksheet>`)
	if errs := checkWorksheet(bad); len(errs) == 0 || !strings.Contains(errs[0], "not ascending") {
		t.Errorf("errors = %q, want the columns out of order", errs)
	}
	late := []byte(`<worksheet><sheetData/><cols><col min="1" max="1"/></cols></worksheet>`)
	if errs := checkWorksheet(late); len(errs) == 0 || !strings.Contains(errs[0], "out of schema order") {
		t.Errorf("errors = %q, want <cols> after <sheetData> reported", errs)
	}
	tall := []byte(`<worksheet><sheetData><row r="1" ht="410"><c r="A1"/></row><row r="1"/></sheetData></worksheet>`)
	if errs := checkWorksheet(tall); len(errs) != 2 {
		t.Errorf("errors = %q, want the tall row and the repeated row", errs)
	}
	if err := wellFormed([]byte("<a>\x01</a>")); err == nil {
		t.Error("a control character in XML passed")
	}
}

// Every sheet prints landscape, one page wide, its header repeated, with a
// footer naming the sheet, the run and the page.
func TestPrintSetup(t *testing.T) {
	r := loadExample(t)
	f := writeOpen(t, r, exampleOptions(t), excelize.TotalRows)
	names := f.GetDefinedName()
	for _, sheet := range f.GetSheetList() {
		t.Run(sheet, func(t *testing.T) {
			pl, err := f.GetPageLayout(sheet)
			if err != nil {
				t.Fatal(err)
			}
			if pl.Orientation == nil || *pl.Orientation != "landscape" || pl.FitToWidth == nil || *pl.FitToWidth != 1 || pl.FitToHeight == nil || *pl.FitToHeight != 0 {
				t.Errorf("page layout = %+v, want landscape, 1 page wide, any pages high", pl)
			}
			props, err := f.GetSheetProps(sheet)
			if err != nil || props.FitToPage == nil || !*props.FitToPage {
				t.Errorf("sheet props = %+v, %v; want fit to page", props, err)
			}
			hf, err := f.GetHeaderFooter(sheet)
			if err != nil || hf == nil || !strings.Contains(hf.OddFooter, "&A") || !strings.Contains(hf.OddFooter, "Run "+r.Summary.RunID) || !strings.Contains(hf.OddFooter, "Page &P of &N") {
				t.Errorf("footer = %+v, %v; want sheet name, run id and page", hf, err)
			}
			var titles, area string
			for _, dn := range names {
				if dn.Scope == sheet && dn.Name == "_xlnm.Print_Titles" {
					titles = dn.RefersTo
				}
				if dn.Scope == sheet && dn.Name == "_xlnm.Print_Area" {
					area = dn.RefersTo
				}
			}
			rs := rows(t, f, sheet)
			switch sheet {
			case "Summary":
				if titles != "'Summary'!$1:$2" {
					t.Errorf("print titles = %q, want the title rows", titles)
				}
			case "Coverage":
				n := slices.IndexFunc(rs, func(r []string) bool { return len(r) > 1 && r[0] == "Project" && r[1] == "Project number" }) + 1
				if want := fmt.Sprintf("'Coverage'!$%d:$%d", n, n); titles != want {
					t.Errorf("print titles = %q, want the Projects header %q", titles, want)
				}
			default:
				if titles != "'"+sheet+"'!$1:$1" {
					t.Errorf("print titles = %q, want the header row", titles)
				}
			}
			if sheet == "Findings" {
				last, _ := excelize.ColumnNumberToName(slices.Index(rs[0], "Confirmation") + 1)
				if i := slices.Index(rs[0], "New since baseline"); i >= 0 {
					last, _ = excelize.ColumnNumberToName(i + 1)
				}
				if want := "'Findings'!$A:$" + last; area != want {
					t.Errorf("print area = %q, want %q (severity to the last printed column)", area, want)
				}
			}
		})
	}
}

// A printed column after an on-screen-only one would make the print area
// two rectangles: the writer refuses.
func TestReferenceColumnsComeLast(t *testing.T) {
	w := &writer{f: excelize.NewFile()}
	defer w.f.Close()
	st, err := newStyles(w.f)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	err = w.writePart("X", "X", table{Columns: []column{{Header: "a"}, {Header: "id", Reference: true}, {Header: "b"}}, Row: func(int, []any) {}}, 0, 0, make([]any, 3))
	if err == nil || !strings.Contains(err.Error(), `"b" is printed but comes after`) {
		t.Errorf("err = %v", err)
	}
	for _, fc := range []findingColumns{{}, {baseline: true, confirmation: true}} {
		seen := false
		for _, c := range fc.columns() {
			if c.Reference {
				seen = true
			} else if seen {
				t.Errorf("finding column %q is printed but follows a Reference column", c.Header)
			}
		}
	}
}

// Text from the cloud cannot make the workbook fail or Excel refuse it:
// any length (Excel's 32,767 characters per cell), characters XML forbids,
// bidi overrides and terminal escapes, invalid UTF-8, text tall enough to
// pass Excel's row height limit. It is shown inert and, where cut, says so.
func TestHostileText(t *testing.T) {
	huge := strings.Repeat("user:a@b.example ", 3000)                   // 51,000 characters, wraps to far more than 409 points
	solid := strings.Repeat("x", 40000)                                 // one word past the cell limit
	astral := strings.Repeat("\U0001F600", 20000)                       // 40,000 UTF-16 units
	nasty := "user:\u202eelpmaxe.x@live\x00\x01\x1b[2J\ufffe\xff\u2028" // forbidden in XML, or misleading
	fs := []audit.Finding{
		{FindingID: "a", Kind: audit.DeployerCannotReadImage, Severity: audit.High, Principal: nasty, Image: nasty, Reason: huge,
			Resource: "//run.googleapis.com/projects/p/locations/l/services/" + nasty, Repository: nasty, Remediation: solid, ProjectID: nasty},
		{FindingID: "b", Kind: audit.Kind(nasty), Severity: audit.Severity(nasty), Principal: astral, Folders: []string{nasty, solid}},
	}
	inv := []audit.InventoryRow{{Resource: nasty, Image: huge, Creator: nasty, Verdict: audit.VerdictAtRisk}}
	sum := audit.Summary{RunID: "r&1", Organization: nasty, Scope: huge, Source: solid, Version: nasty,
		Gaps:    []audit.Gap{{Scope: nasty, AssetType: nasty, Reason: huge, Fix: nasty}},
		Skipped: []audit.Skip{{Where: solid, Reason: nasty}}, SkippedTotal: 1,
		ByKind: map[string]int{nasty: 1}}
	res := audit.Result{Summary: sum, Findings: fs, Inventory: inv,
		Coverage: []audit.ProjectCoverage{{ProjectID: nasty, Folders: []string{huge}, Gaps: []string{nasty}}}}
	path := filepath.Join(t.TempDir(), "report.xlsx")
	opts := Options{AssetTypes: assetTypes, HaveBaseline: true, Baseline: fs[:1], BaselineName: nasty}
	if err := Write(path, res, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkStrict(t, path)

	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs := rows(t, f, "Findings")
	row := map[string]string{}
	for i, h := range rs[0] {
		if i < len(rs[1]) {
			row[h] = rs[1][i]
		}
	}
	const shown = `user:\u202eelpmaxe.x@live\u0000\u0001\u001b[2J\ufffe\xff\u2028`
	if row["Principal"] != shown {
		t.Errorf("principal shown as %q, want %q", row["Principal"], shown)
	}
	if r := row["Remediation"]; utf16Len(r) > maxCellChars || !strings.Contains(r, "[cut: ") || !strings.Contains(r, "of 40000 characters shown; findings.jsonl has the full text]") {
		t.Errorf("cut cell: %d characters ending %q", utf16Len(r), r[max(0, len(r)-80):])
	}
	astralCell := columnOf(t, rs, "Principal")[1]
	if n := utf16Len(astralCell); n > maxCellChars || !strings.Contains(astralCell, "of 20000 characters shown") {
		t.Errorf("astral principal cut to %d UTF-16 units: %q", n, astralCell[len(astralCell)-60:])
	}
	for _, sheet := range f.GetSheetList() {
		for _, r := range rows(t, f, sheet) {
			for _, v := range r {
				if strings.ContainsAny(v, "\u202e\x00\x1b\u2028") {
					t.Errorf("%s holds raw hostile text: %q", sheet, v[:min(len(v), 60)])
				}
			}
		}
	}
	if h, _ := f.GetRowHeight("Findings", 2); h > maxRowHeight || h < 100 {
		t.Errorf("the huge reason's row is %v points high, want tall but at most %d", h, maxRowHeight)
	}
	if os.Getenv("RUNAUDIT_KEEP_HOSTILE") != "" {
		os.WriteFile(os.Getenv("RUNAUDIT_KEEP_HOSTILE"), mustRead(t, path), 0o644)
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCellText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		cut  bool
	}{
		{"short", "user:a@b", false},
		{"at the limit", strings.Repeat("a", maxCellChars), false},
		{"one over", strings.Repeat("a", maxCellChars+1), true},
		{"astral at the limit", strings.Repeat("\U0001F600", maxCellChars/2), false},
		{"astral over", strings.Repeat("\U0001F600", maxCellChars/2+1), true},
		{"escapes push it over", strings.Repeat("\x00", 6000), true}, // 6,000 × 6 characters
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cellText(tc.in)
			if n := utf16Len(got); n > maxCellChars {
				t.Errorf("%d UTF-16 units, over %d", n, maxCellChars)
			}
			if cut := strings.Contains(got, " … [cut: "); cut != tc.cut {
				t.Errorf("cut = %v, want %v", cut, tc.cut)
			}
			if !utf8.ValidString(got) {
				t.Error("not UTF-8")
			}
		})
	}
}

func TestWrappedLines(t *testing.T) {
	for _, tc := range []struct {
		s     string
		width float64
		want  int
	}{
		{"", 10, 1},
		{"short", 10, 1},
		{"two words", 6, 2},
		// A path breaks after its slashes: three lines in a column that
		// holds 33 characters a line, not the two its length suggests.
		{"projects/acme-payments/locations/europe-west1/repositories/app", 30, 3},
		{"etl@acme-data.iam.gserviceaccount.com", 30, 2},
		{strings.Repeat("x", 100), 10, 12},      // 9 a line
		{"a " + strings.Repeat("x", 30), 10, 5}, // "a", then 9, 9, 9, 3
	} {
		if got := wrappedLines(tc.s, tc.width); got != tc.want {
			t.Errorf("wrappedLines(%q, %v) = %d, want %d", tc.s, tc.width, got, tc.want)
		}
	}
}

// TestWrappedLinesShortcut holds wrappedLines' shortcut for text no longer
// in bytes than a line to the full count, on text of every width class
// (ASCII, two-byte, wide CJK, four-byte emoji), white space of several
// kinds and runs, and break characters, at lengths either side of a line.
func TestWrappedLinesShortcut(t *testing.T) {
	alphabet := []string{"a", "Z", "0", " ", "  ", "\t", "\n", "/", "-", "é", "ß", "漢", "가", "ｱ", "😀", "\u00a0", "\u3000"}
	rng := rand.New(rand.NewPCG(13, 13))
	for range 20000 {
		width := float64(2 + rng.IntN(40))
		var b strings.Builder
		for n := rng.IntN(int(width) + 8); b.Len() < n; {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := wrappedLines(s, width), wrapCount(s, max(1, width-1)); got != want {
			t.Fatalf("wrappedLines(%q, %v) = %d, the full count %d", s, width, got, want)
		}
	}
}
