package xlsx

import (
	"fmt"
	"math"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/xuri/excelize/v2"
)

// Colours, as RGB hex. Severity fills follow ColorBrewer's YlOrRd scale,
// which stays ordered for readers with any colour-vision deficiency: each
// step is clearly darker than the next (CRITICAL darkest), so the order
// reads in grey too; INFO, which ranks nothing, is a pale blue apart from
// the scale. Verdicts reuse the same ideas: at risk dark red, unverified
// orange, OK blue rather than green (red and green are what deuteranopes
// and protanopes confuse). TestPalette checks every pair stays apart
// under simulated protanopia, deuteranopia and tritanopia, and that text
// on each fill is legible.
var (
	severityFill = map[audit.Severity]string{
		audit.Critical: "800026",
		audit.High:     "E31A1C",
		audit.Medium:   "FD8D3C",
		audit.Low:      "FED976",
		audit.Info:     "DEEBF7",
	}
	verdictFill = map[audit.Verdict]string{
		audit.VerdictAtRisk:     "B2182B",
		audit.VerdictUnverified: "FDB863",
		audit.VerdictOK:         "92C5DE",
		audit.VerdictPublic:     "E0E0E0",
	}
)

const (
	// fontFamily is Excel's default font; column widths are counted in its
	// characters. LibreOffice renders it with the metric-compatible Carlito.
	fontFamily = "Calibri"
	headerFill = "1F4E78"
	linkColour = "0563C1"
	goodFill   = "92C5DE"
	badFill    = "B2182B"
)

func headerStyle(align string) *excelize.Style {
	return &excelize.Style{
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}},
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF", Family: fontFamily},
		Alignment: &excelize.Alignment{Horizontal: align, Vertical: "center", WrapText: true},
	}
}

// whiteOn reports whether text on fill should be white: where white
// contrasts more than black does.
func whiteOn(fill string) bool {
	l := luminance(fill)
	return (1.05)/(l+0.05) > (l+0.05)/0.05
}

// luminance is the WCAG relative luminance of an RGB hex colour.
func luminance(hex string) float64 {
	r, g, b := linearRGB(hex)
	return 0.2126*r + 0.7152*g + 0.0722*b
}

// linearRGB decodes an RGB hex colour into linear-light components.
func linearRGB(hex string) (r, g, b float64) {
	var c [3]float64
	for i := range c {
		var v int
		fmt.Sscanf(hex[2*i:2*i+2], "%02x", &v)
		x := float64(v) / 255
		if x <= 0.04045 {
			c[i] = x / 12.92
		} else {
			c[i] = math.Pow((x+0.055)/1.055, 2.4)
		}
	}
	return c[0], c[1], c[2]
}

// styles holds the workbook's style ids.
type styles struct {
	title, section, label, header, headerR, bold int
	link, wrap, linkWrap, dateTime, integer      int
	topCell, good, bad                           int
	severity                                     map[audit.Severity]int
	verdict                                      map[audit.Verdict]int
}

func newStyles(f *excelize.File) (*styles, error) {
	var err error
	add := func(s *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(s)
		return id
	}
	fill := func(colour string) *excelize.Style {
		font := &excelize.Font{Bold: true, Family: fontFamily}
		if whiteOn(colour) {
			font.Color = "FFFFFF"
		}
		return &excelize.Style{
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{colour}},
			Font:      font,
			Alignment: &excelize.Alignment{Vertical: "top"},
		}
	}
	dateTime := "yyyy-mm-dd hh:mm:ss"
	linkFont := &excelize.Font{Color: linkColour, Underline: "single", Family: fontFamily}
	top := &excelize.Alignment{WrapText: true, Vertical: "top"}
	s := &styles{
		title:    add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16, Color: headerFill, Family: fontFamily}}),
		section:  add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 12, Color: headerFill, Family: fontFamily}, Border: []excelize.Border{{Type: "bottom", Color: headerFill, Style: 2}}}),
		label:    add(&excelize.Style{Font: &excelize.Font{Bold: true, Family: fontFamily}, Alignment: &excelize.Alignment{Vertical: "top"}}),
		header:   add(headerStyle("left")),
		headerR:  add(headerStyle("right")),
		bold:     add(&excelize.Style{Font: &excelize.Font{Bold: true, Family: fontFamily}}),
		link:     add(&excelize.Style{Font: linkFont}),
		wrap:     add(&excelize.Style{Alignment: top}),
		linkWrap: add(&excelize.Style{Font: linkFont, Alignment: top}),
		dateTime: add(&excelize.Style{CustomNumFmt: &dateTime, Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "top"}}),
		integer:  add(&excelize.Style{NumFmt: 3, Alignment: &excelize.Alignment{Vertical: "top"}}), // #,##0
		topCell:  add(&excelize.Style{Font: &excelize.Font{Family: fontFamily}, Alignment: &excelize.Alignment{Vertical: "top"}}),
		good:     add(fill(goodFill)),
		bad:      add(fill(badFill)),
		severity: map[audit.Severity]int{},
		verdict:  map[audit.Verdict]int{},
	}
	for sev, c := range severityFill {
		s.severity[sev] = add(fill(c))
	}
	for v, c := range verdictFill {
		s.verdict[v] = add(fill(c))
	}
	if err != nil {
		return nil, fmt.Errorf("creating styles: %w", err)
	}
	return s, nil
}

// printSetup makes a sheet print well: landscape, one page wide (as many
// pages long as it takes), narrow margins, titleRows (e.g. "$1:$1", the
// header row) repeated at the top of every page, and a footer naming the
// sheet, the run and the page. Columns after printCols (counted from 1;
// 0 prints all) are left off the printout. For a streamed sheet it must
// run before NewStreamWriter, which copies the sheet's settings when it
// starts.
func (w *writer) printSetup(sheet, titleRows string, printCols int) error {
	landscape := "landscape"
	one, any := 1, 0
	if err := w.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &one, FitToHeight: &any}); err != nil {
		return err
	}
	fit := true
	if err := w.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	side, top, hf := 0.4, 0.6, 0.3
	if err := w.f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{Left: &side, Right: &side, Top: &top, Bottom: &top, Header: &hf, Footer: &hf}); err != nil {
		return err
	}
	// &A is the sheet name, &P the page, &N the pages; & itself is &&.
	run := strings.ReplaceAll(report.Inert(orUnknown(w.r.Summary.RunID)), "&", "&&")
	if err := w.f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{
		OddFooter: "&L&8&A&C&8Run " + run + "&R&8Page &P of &N",
	}); err != nil {
		return err
	}
	quoted := "'" + strings.ReplaceAll(sheet, "'", "''") + "'"
	if titleRows != "" {
		if err := w.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: quoted + "!" + titleRows, Scope: sheet}); err != nil {
			return err
		}
	}
	if printCols > 0 {
		last, err := excelize.ColumnNumberToName(printCols)
		if err != nil {
			return err
		}
		if err := w.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Area", RefersTo: quoted + "!$A:$" + last, Scope: sheet}); err != nil {
			return err
		}
	}
	return nil
}
