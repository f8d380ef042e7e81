package xlsx

import (
	"fmt"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

// Colours, as RGB hex. Severity fills read as a heat scale; text on the two
// darkest is white.
var (
	severityFill = map[audit.Severity]string{
		audit.Critical: "C00000",
		audit.High:     "E26B0A",
		audit.Medium:   "FFD966",
		audit.Low:      "C6E0B4",
		audit.Info:     "D9D9D9",
	}
	verdictFill = map[audit.Verdict]string{
		audit.VerdictAtRisk:     "C00000",
		audit.VerdictUnverified: "FFD966",
		audit.VerdictOK:         "C6E0B4",
		audit.VerdictPublic:     "D9D9D9",
	}
)

const (
	// fontFamily is Excel's default font; column widths are counted in its
	// characters. LibreOffice renders it with the metric-compatible Carlito.
	fontFamily = "Calibri"
	headerFill = "1F4E78"
	linkColour = "0563C1"
	goodFill   = "C6E0B4"
	badFill    = "C00000"
)

func headerStyle(align string) *excelize.Style {
	return &excelize.Style{
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}},
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF", Family: fontFamily},
		Alignment: &excelize.Alignment{Horizontal: align, Vertical: "center", WrapText: true},
	}
}

// whiteOn reports whether text on fill should be white for contrast.
func whiteOn(fill string) bool { return fill == "C00000" || fill == "E26B0A" || fill == headerFill }

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
		dateTime: add(&excelize.Style{CustomNumFmt: &dateTime, Alignment: &excelize.Alignment{Horizontal: "left"}}),
		integer:  add(&excelize.Style{NumFmt: 3}), // #,##0
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

// pageSetup prints a sheet in landscape; fitWidth shrinks it to one page
// wide (for the narrow sheets; the Findings would become unreadable). For
// a streamed sheet it must run before NewStreamWriter, which copies the
// sheet's settings when it starts.
func pageSetup(f *excelize.File, sheet string, fitWidth bool) error {
	landscape := "landscape"
	opts := &excelize.PageLayoutOptions{Orientation: &landscape}
	if fitWidth {
		one, any := 1, 0
		opts.FitToWidth, opts.FitToHeight = &one, &any
		fit := true
		if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
			return err
		}
	}
	return f.SetPageLayout(sheet, opts)
}
