package xlsx

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/xuri/excelize/v2"
)

// summary fills the Summary sheet, top to bottom: the run, findings by kind
// and severity (with the chart beside them), the top projects and
// principals, the gaps, the inventory counts and a guide to the sheets.
func (w *writer) summary() error {
	s := &summaryWriter{w: w, sheet: summarySheet, row: 1}
	sum := w.r.Summary
	st := w.stats

	// In column order: Excel wants the <col> elements ascending.
	for i, width := range summaryWidths {
		col := string(rune('A' + i))
		s.try(w.f.SetColWidth(s.sheet, col, col, width))
	}
	s.try(w.printSetup(s.sheet, "$1:$2", 0))
	s.cell("A", excelize.Cell{StyleID: w.st.title, Value: "Cloud Run image access audit"})
	s.row++
	s.long("A", "J", fmt.Sprintf("%s, run %s", orUnknown(sum.Organization), orUnknown(sum.RunID)))
	s.row += 2

	s.section("Run")
	s.pair("Organization", sum.Organization)
	s.pair("Scope", sum.Scope)
	s.pair("Source", sum.Source)
	s.pair("Run ID", sum.RunID)
	s.pair("Version", sum.Version)
	s.time("Started (UTC)", sum.StartedAt)
	s.time("Finished (UTC)", sum.FinishedAt)
	if !sum.StartedAt.IsZero() && !sum.FinishedAt.IsZero() {
		s.pair("Duration", sum.FinishedAt.Sub(sum.StartedAt).Round(time.Second).String())
	}
	s.time("IAM conditions evaluated at (UTC)", sum.EvaluatedAt)
	s.label("Completeness")
	if complete(sum) {
		s.cell("B", excelize.Cell{StyleID: w.st.good, Value: "COMPLETE"})
	} else {
		s.cell("B", excelize.Cell{StyleID: w.st.bad, Value: "INCOMPLETE (" + plural(len(sum.Gaps), "gap") + ")"})
	}
	s.row++
	s.label("Input items skipped")
	s.cell("B", sum.SkippedTotal)
	s.row++
	s.label("Baseline")
	switch {
	case !st.HaveBaseline:
		s.cell("B", "none given: no new or resolved counts")
	default:
		s.cell("B", text(orUnknown(w.opts.BaselineName)))
	}
	s.row++

	s.row++
	s.section("Findings")
	s.label("All findings")
	s.cell("B", st.Total)
	s.row++
	s.label("Actionable (predict a failing deploy or pull)")
	s.cell("B", excelize.Cell{StyleID: w.st.bold, Value: st.Actionable})
	s.row++
	s.label("Undecided (may become actionable)")
	s.cell("B", excelize.Cell{StyleID: w.st.bold, Value: sum.Undecided})
	s.row++
	for _, h := range sum.UndecidedOn {
		s.label("  hang on " + h.On)
		s.cell("B", h.Findings)
		s.cell("C", text(h.Fix))
		s.row++
	}
	if rep := w.r.Summary.Exceptions; rep != nil || w.r.Summary.Excepted > 0 {
		open := 0
		for i := range w.r.Findings {
			if w.r.Findings[i].Open() {
				open++
			}
		}
		s.label("Open (actionable, not excepted)")
		s.cell("B", open)
		s.row++
		s.label("Excepted (accepted by the exceptions file)")
		s.cell("B", w.r.Summary.Excepted)
		s.row++
		if rep != nil {
			s.label("Expired exceptions (renew or remove)")
			s.cell("B", len(rep.Expired))
			s.row++
			s.label("Exceptions matching nothing")
			s.cell("B", len(rep.Unmatched))
			s.row++
		}
	}
	s.label("Fix commands (Remediation sheet)")
	s.cell("B", len(w.groups))
	s.row++
	if line := report.AuditLogLine(w.r.Findings); line != "" {
		s.label("Cloud Audit Logs")
		s.cell("B", line)
		s.row++
	}
	if st.HaveBaseline {
		s.label("New since baseline")
		s.cell("B", st.New)
		s.row++
		s.label("Resolved since baseline")
		s.cell("B", st.Resolved)
		s.row++
	}
	s.row = max(s.row+1, chartBottom+2)
	s.kindTable()
	s.row++

	s.section(fmt.Sprintf("Top %d projects", w.opts.TopN))
	s.header("Project", ">Actionable", ">All findings", ">Resources at risk")
	for _, p := range st.Projects {
		s.values(text(p.Project), p.Actionable, p.All, p.Resources)
	}
	if len(st.Projects) == 0 {
		s.values("None.")
	}
	s.row++

	s.section(fmt.Sprintf("Top %d principals (actionable findings)", w.opts.TopN))
	// The member first, wrapped within its column: it is often longer
	// than any column, and must neither be cut nor run under the counts.
	s.header("Principal", "Highest severity", ">Findings", ">Resources", ">Fix commands", ">Last deployer of")
	for _, p := range st.Principals {
		s.long("A", "A", p.Principal)
		s.values(nil, w.severityCell(p.Severity), p.Findings, p.Resources, p.Commands, p.LastDeploy)
	}
	if len(st.Principals) == 0 {
		s.values("None.")
	}
	s.row++

	s.section("What was not read")
	if gaps := report.MergeGaps(sum.Gaps); len(gaps) == 0 {
		s.values("Nothing: every scope was read completely.")
	} else {
		s.header("Not read", "Undecided", "", "", "", "Fix")
		s.try(s.w.f.MergeCell(s.sheet, fmt.Sprintf("B%d", s.row-1), fmt.Sprintf("E%d", s.row-1)))
		s.try(s.w.f.MergeCell(s.sheet, fmt.Sprintf("F%d", s.row-1), fmt.Sprintf("J%d", s.row-1)))
		for i, g := range gaps {
			if i == maxSummaryGaps {
				s.values(fmt.Sprintf("… and %d more on the Coverage sheet", len(gaps)-i))
				break
			}
			d := report.DescribeGap(g)
			s.long("A", "A", d.What)
			s.long("B", "E", d.Undecided)
			s.long("F", "J", d.Fix)
			s.row++
		}
	}
	if sum.SkippedTotal > 0 {
		s.row++
		s.section(fmt.Sprintf("Input items skipped (%d)", sum.SkippedTotal))
		s.header("Reason", "Where")
		for i, k := range sum.Skipped {
			if i == maxSummaryGaps {
				break
			}
			s.long("A", "A", k.Reason)
			s.long("B", "J", k.Where)
			s.row++
		}
		if shown := min(len(sum.Skipped), maxSummaryGaps); sum.SkippedTotal > shown {
			s.values(fmt.Sprintf("… and %d more", sum.SkippedTotal-shown))
		}
	}
	s.row++

	if len(sum.Inventory) > 0 {
		s.section("Read")
		for _, k := range slices.Sorted(maps.Keys(sum.Inventory)) {
			s.label(strings.ReplaceAll(k, "_", " "))
			s.cell("B", sum.Inventory[k])
			s.row++
		}
		s.row++
	}

	s.section("Sheets")
	for _, p := range w.sheetGuide() {
		s.label(p[0])
		s.long("B", "J", p[1])
		s.row++
	}
	for r, lines := range s.lines {
		s.try(w.f.SetRowHeight(s.sheet, r, max(s.heights[r], rowHeight(lines))))
	}
	return s.err
}

// summaryWidths are the Summary's column widths, A to J: labels and names
// in A, values and counts beside them.
var summaryWidths = []float64{46, 22, 14, 14, 14, 14, 14, 14, 14, 14}

// long writes text that may be long into columns from to to (merged when
// more than one) of the current row, wrapped, and makes the row tall
// enough for it: it never runs on under its neighbours.
func (s *summaryWriter) long(from, to, text string) {
	if s.err != nil || text == "" {
		return
	}
	ref := fmt.Sprintf("%s%d", from, s.row)
	if from != to {
		s.try(s.w.f.MergeCell(s.sheet, ref, fmt.Sprintf("%s%d", to, s.row)))
	}
	text = cellText(text)
	s.try(s.w.f.SetCellStr(s.sheet, ref, text))
	s.try(s.w.f.SetCellStyle(s.sheet, ref, ref, s.w.st.wrap))
	width := 0.0
	for c := from[0]; c <= to[0]; c++ {
		width += summaryWidths[c-'A']
	}
	if s.lines == nil {
		s.lines = map[int]int{}
	}
	s.lines[s.row] = max(s.lines[s.row], wrappedLines(text, width))
}

// The chart's place: from chartAnchor down to about row chartBottom
// (default rows are 20 pixels high); the kind table starts below it.
const (
	chartAnchor = "F4"
	chartHeight = 400
	chartBottom = 4 + chartHeight/20
)

// maxSummaryGaps bounds the gaps and skipped items listed on the Summary;
// the Coverage sheet lists every gap.
const maxSummaryGaps = 20

func (w *writer) sheetGuide() [][2]string {
	g := [][2]string{}
	for i, n := range w.findingSheets {
		d := "one row per finding, most severe first; filter with the header arrows"
		if len(w.findingSheets) > 1 {
			d = fmt.Sprintf("findings, part %d of %d (Excel holds %d rows per sheet)", i+1, len(w.findingSheets), w.maxRows)
		}
		g = append(g, [2]string{n, d})
	}
	g = append(g,
		[2]string{remediationSheet, "one gcloud command per principal and repository, fixing every finding of the row"},
		[2]string{inventorySheet, w.inventoryNote()},
		[2]string{coverageSheet, "asset types and projects read, and what was not"},
	)
	if w.opts.HaveBaseline {
		g = append(g, [2]string{resolvedSheet, "findings of the baseline that this run no longer reports"})
	}
	return g
}

// kindTable writes the kind × severity counts and the chart drawn from them.
func (s *summaryWriter) kindTable() {
	w, st := s.w, s.w.stats
	s.section("Findings by kind and severity")
	head := []string{"Kind", "Actionable"}
	for _, sev := range audit.Severities {
		head = append(head, ">"+string(sev))
	}
	head = append(head, ">Total")
	if st.HaveBaseline {
		head = append(head, ">New", ">Resolved")
	}
	s.header(head...)
	first := s.row
	for _, k := range st.Kinds {
		row := []any{text(string(k.Kind)), yes(k.Kind.Actionable())}
		for i := range audit.Severities {
			row = append(row, k.BySeverity[i])
		}
		row = append(row, excelize.Cell{StyleID: w.st.bold, Value: k.Total})
		if st.HaveBaseline {
			row = append(row, k.New, k.Resolved)
		}
		s.values(row...)
	}
	last := s.row - 1
	total := []any{excelize.Cell{StyleID: w.st.bold, Value: "Total"}, nil}
	for i := range audit.Severities {
		total = append(total, excelize.Cell{StyleID: w.st.bold, Value: st.BySeverity[i]})
	}
	total = append(total, excelize.Cell{StyleID: w.st.bold, Value: st.Total})
	if st.HaveBaseline {
		total = append(total, excelize.Cell{StyleID: w.st.bold, Value: st.New}, excelize.Cell{StyleID: w.st.bold, Value: st.Resolved})
	}
	s.values(total...)
	if unknown := st.BySeverity[nSev]; unknown > 0 {
		s.values(fmt.Sprintf("%d findings have a severity outside %v.", unknown, audit.Severities))
	}
	if len(st.Kinds) == 0 {
		return
	}

	// A stacked bar per kind, one series per severity, coloured like the
	// severity cells. It sits to the right of the run block, above the
	// table it is drawn from.
	var series []excelize.ChartSeries
	for i, sev := range audit.Severities {
		col := string(rune('C' + i))
		series = append(series, excelize.ChartSeries{
			Name:       fmt.Sprintf("%s!$%s$%d", summarySheet, col, first-1),
			Categories: fmt.Sprintf("%s!$A$%d:$A$%d", summarySheet, first, last),
			Values:     fmt.Sprintf("%s!$%s$%d:$%s$%d", summarySheet, col, first, col, last),
			Fill:       excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{severityFill[sev]}},
		})
	}
	s.try(w.f.AddChart(summarySheet, chartAnchor, &excelize.Chart{
		Type:      excelize.BarStacked,
		Series:    series,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Findings by kind and severity"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 600, Height: chartHeight},
		YAxis:     excelize.ChartAxis{MajorGridLines: true, Font: excelize.Font{Color: "404040"}},
		XAxis:     excelize.ChartAxis{ReverseOrder: true, Font: excelize.Font{Color: "404040"}},
		Format:    excelize.GraphicOptions{OffsetX: 10},
	}))
}

// summaryWriter writes the Summary sheet row by row in normal (not
// streaming) mode: the sheet is small, and charts need normal mode. The
// first error sticks and later calls do nothing.
type summaryWriter struct {
	w     *writer
	sheet string
	row   int
	err   error
	// lines holds the wrapped lines of the tallest long text of a row,
	// heights the heights headers set; rows are sized when the sheet is
	// done.
	lines   map[int]int
	heights map[int]float64
}

func (s *summaryWriter) try(err error) {
	if s.err == nil && err != nil {
		s.err = err
	}
}

// cell sets a value in column col of the current row. A Cell value carries
// its style.
func (s *summaryWriter) cell(col string, v any) {
	if s.err != nil || v == nil {
		return
	}
	ref := fmt.Sprintf("%s%d", col, s.row)
	if c, ok := v.(excelize.Cell); ok {
		if str, ok := c.Value.(string); ok {
			s.try(s.w.f.SetCellStr(s.sheet, ref, cellText(str)))
		} else {
			s.try(s.w.f.SetCellValue(s.sheet, ref, c.Value))
		}
		s.try(s.w.f.SetCellStyle(s.sheet, ref, ref, c.StyleID))
		return
	}
	if str, ok := v.(string); ok {
		// SetCellStr writes a typed string, never a formula.
		s.try(s.w.f.SetCellStr(s.sheet, ref, cellText(str)))
		s.try(s.w.f.SetCellStyle(s.sheet, ref, ref, s.w.st.topCell))
		return
	}
	// Counts: at the top of their row, like the text beside them.
	s.try(s.w.f.SetCellValue(s.sheet, ref, v))
	s.try(s.w.f.SetCellStyle(s.sheet, ref, ref, s.w.st.topCell))
}

// values writes vs from column A on the current row and moves down.
func (s *summaryWriter) values(vs ...any) {
	for i, v := range vs {
		s.cell(string(rune('A'+i)), v)
	}
	s.row++
}

// header writes a header row; labels wider than their column wrap onto a
// second line. Labels starting with ">" head numbers and are right-aligned
// like them.
func (s *summaryWriter) header(names ...string) {
	cells := make([]any, len(names))
	lines := 1
	for i, n := range names {
		st := s.w.st.header
		if r, ok := strings.CutPrefix(n, ">"); ok {
			n, st = r, s.w.st.headerR
		}
		cells[i] = excelize.Cell{StyleID: st, Value: n}
		if n != "" {
			lines = max(lines, wrappedLines(n, summaryWidths[i]))
		}
	}
	if s.heights == nil {
		s.heights = map[int]float64{}
	}
	s.heights[s.row] = rowHeight(lines) + 5
	if s.lines == nil {
		s.lines = map[int]int{}
	}
	s.lines[s.row] = max(s.lines[s.row], 1)
	s.values(cells...)
}

func (s *summaryWriter) section(title string) {
	s.cell("A", excelize.Cell{StyleID: s.w.st.section, Value: title})
	s.row++
}

func (s *summaryWriter) label(l string) {
	s.cell("A", excelize.Cell{StyleID: s.w.st.label, Value: l})
}

func (s *summaryWriter) pair(label, value string) {
	s.label(label)
	// B to E: the chart sits from F on.
	s.long("B", "E", orUnknown(value))
	s.row++
}

func (s *summaryWriter) time(label string, t time.Time) {
	s.label(label)
	if t.IsZero() {
		s.cell("B", "unknown")
	} else {
		s.cell("B", excelize.Cell{StyleID: s.w.st.dateTime, Value: t.UTC()})
	}
	s.row++
}

// plural says "1 gap", "2 gaps".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// inventoryNote describes the Inventory sheet, saying when rows were left
// out and where they all are.
func (w *writer) inventoryNote() string {
	n := len(w.r.Inventory)
	if kept := w.opts.inventoryRows(n); kept < n {
		return fmt.Sprintf("the %d images with the worst verdicts of %d; the other %d, whose verdicts are no worse than the last row's, are in inventory.jsonl", kept, n, n-kept)
	}
	return "every container image of every Cloud Run service and job, with its verdict"
}
