package xlsx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/xuri/excelize/v2"
)

// assetTypeRow says whether one asset type was read everywhere.
type assetTypeRow struct {
	AssetType string
	Gaps      int // gaps naming it, plus gaps naming no asset type
}

// assetTypeCoverage lists the asset types the scan reads, and any that only
// gaps name, with the gaps that affect each. A gap without an asset type
// (a whole scope unreadable) affects every asset type.
func assetTypeCoverage(types []string, gaps []audit.Gap) []assetTypeRow {
	all := slices.Clone(types)
	general := 0
	for _, g := range gaps {
		if g.AssetType == "" {
			general++
		} else if !slices.Contains(all, g.AssetType) {
			all = append(all, g.AssetType)
		}
	}
	rows := make([]assetTypeRow, len(all))
	for i, t := range all {
		rows[i] = assetTypeRow{AssetType: t, Gaps: general}
		for _, g := range gaps {
			if g.AssetType == t {
				rows[i].Gaps++
			}
		}
	}
	return rows
}

// complete reports whether the run read everything: a run with gaps is
// never shown as complete, whatever its Complete flag says.
func complete(s audit.Summary) bool { return s.Complete && len(s.Gaps) == 0 }

// contentName names a gap's content type for a reader.
func contentName(ct string) string {
	switch ct {
	case "RESOURCE":
		return "resources"
	case "IAM_POLICY":
		return "IAM policies"
	case "":
		return "resources and IAM policies"
	}
	return ct
}

func (w *writer) coverage() error {
	if _, err := w.f.NewSheet(coverageSheet); err != nil {
		return err
	}
	sum := w.r.Summary
	gaps := report.MergeGaps(sum.Gaps)
	// The Projects table's header repeats on every printed page.
	// Rows: title, status, then each section a blank row, its title and
	// its header; the asset types; the gaps (or one line saying none).
	projectsHeader := 2 + 3 + len(assetTypeCoverage(w.opts.AssetTypes, sum.Gaps)) + 3 + max(1, len(gaps)) + 3
	if err := w.printSetup(coverageSheet, fmt.Sprintf("$%d:$%d", projectsHeader, projectsHeader), 0); err != nil {
		return err
	}
	widths := []float64{50, 34, 26, 11, 11, 14, 11, 13, 14, 60}
	sw, err := w.streamColumns(coverageSheet, widths)
	if err != nil {
		return err
	}
	row := 1
	// put writes a row, its text made safe (cellText) and wrapped where a
	// column is too narrow for it, the row as tall as its tallest cell.
	// spans gives, per value, the columns it covers when merged.
	putSpans := func(spans []int, values ...any) error {
		lines := 1
		col := 0
		for i, v := range values {
			span := 1
			if i < len(spans) {
				span = spans[i]
			}
			width := 0.0
			for k := col; k < col+span && k < len(widths); k++ {
				width += widths[k]
			}
			if str, ok := v.(string); ok {
				str = cellText(str)
				values[i] = str
				if textWidth(str)+1 > width {
					values[i] = excelize.Cell{StyleID: w.st.wrap, Value: str}
					lines = max(lines, wrappedLines(str, width))
				}
			}
			col += span
		}
		// Merged values sit at the first column of their span.
		cells := make([]any, 0, col)
		for i, v := range values {
			cells = append(cells, v)
			span := 1
			if i < len(spans) {
				span = spans[i]
			}
			for range span - 1 {
				cells = append(cells, nil)
			}
		}
		var opts []excelize.RowOpts
		if lines > 1 {
			opts = append(opts, excelize.RowOpts{Height: rowHeight(lines)})
		}
		if err := sw.SetRow(cellName(1, row), cells, opts...); err != nil {
			return err
		}
		col = 1
		for i := range values {
			span := 1
			if i < len(spans) {
				span = spans[i]
			}
			if span > 1 {
				if err := sw.MergeCell(cellName(col, row), cellName(col+span-1, row)); err != nil {
					return err
				}
			}
			col += span
		}
		row++
		return nil
	}
	put := func(values ...any) error { return putSpans(nil, values...) }
	// header writes a header row, right-aligned over the counts.
	counts := []string{"Gaps", "Services", "Jobs", "Worker pools", "Repositories", "Secrets", "IAM policies"}
	header := func(names ...string) error {
		cells := make([]any, len(names))
		for i, n := range names {
			st := w.st.header
			if slices.Contains(counts, n) {
				st = w.st.headerR
			}
			cells[i] = excelize.Cell{StyleID: st, Value: n}
		}
		return put(cells...)
	}
	section := func(title string) error {
		row++ // a blank row before each section
		return put(excelize.Cell{StyleID: w.st.section, Value: title})
	}

	status := excelize.Cell{StyleID: w.st.good, Value: "Complete: every project and asset type in scope was read."}
	if !complete(sum) {
		status = excelize.Cell{StyleID: w.st.bad, Value: "INCOMPLETE: " + plural(len(sum.Gaps), "gap") + "; findings may be missing where something was not read."}
	}
	steps := []func() error{
		func() error { return put(excelize.Cell{StyleID: w.st.title, Value: "Coverage"}) },
		func() error {
			// The status line spans the sheet, so its fill covers the text.
			if err := sw.MergeCell("A2", "J2"); err != nil {
				return err
			}
			return put(status)
		},
		func() error { return section("Asset types") },
		func() error { return header("Asset type", "Status", "Gaps") },
	}
	for _, at := range assetTypeCoverage(w.opts.AssetTypes, sum.Gaps) {
		steps = append(steps, func() error {
			st := excelize.Cell{StyleID: w.st.good, Value: "read"}
			if at.Gaps > 0 {
				st = excelize.Cell{StyleID: w.st.bad, Value: "INCOMPLETE"}
			}
			return put(text(at.AssetType), st, at.Gaps)
		})
	}
	// Each gap: what was not read, why and what it leaves undecided, and
	// the fix; the explanation spans the count columns.
	gapSpans := []int{1, 1, 7, 1}
	steps = append(steps,
		func() error { return section("What was not read") },
		func() error {
			if err := putSpans(gapSpans, excelize.Cell{StyleID: w.st.header, Value: "Scope"}, excelize.Cell{StyleID: w.st.header, Value: "Asset type (content)"},
				excelize.Cell{StyleID: w.st.header, Value: "Not read, and what that leaves undecided"}, excelize.Cell{StyleID: w.st.header, Value: "Fix"}); err != nil {
				return err
			}
			return nil
		},
	)
	if len(gaps) == 0 {
		steps = append(steps, func() error { return put("Nothing: every scope was read completely.") })
	}
	for _, g := range gaps {
		steps = append(steps, func() error {
			d := report.DescribeGap(g)
			what := g.AssetType
			if what == "" {
				what = "every asset type"
			}
			if c := contentName(g.ContentType); c != "" {
				what += " (" + c + ")"
			}
			return putSpans(gapSpans, text(g.Scope), text(what), text(d.What+". Undecided: "+d.Undecided+"."), text(d.Fix))
		})
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}

	if err := section("Projects"); err != nil {
		return err
	}
	first := row
	if err := header("Project", "Project number", "Folders", "Services", "Jobs", "Worker pools", "Repositories", "Secrets", "IAM policies", "Status", "Not read"); err != nil {
		return err
	}
	if first+len(w.r.Coverage) > excelize.TotalRows {
		return fmt.Errorf("%d projects do not fit on one sheet", len(w.r.Coverage))
	}
	cov := slices.Clone(w.r.Coverage)
	slices.SortFunc(cov, func(a, b audit.ProjectCoverage) int { return strings.Compare(a.ProjectID, b.ProjectID) })
	for _, p := range cov {
		st := excelize.Cell{StyleID: w.st.good, Value: "complete"}
		if len(p.Gaps) > 0 {
			st = excelize.Cell{StyleID: w.st.bad, Value: "INCOMPLETE"}
		}
		if err := put(text(p.ProjectID), text(p.ProjectNumber), text(strings.Join(p.Folders, ", ")),
			p.Services, p.Jobs, p.WorkerPools, p.Repositories, p.Secrets, p.IAMPolicies, st, text(strings.Join(p.Gaps, "; "))); err != nil {
			return err
		}
	}
	if len(cov) == 0 {
		if err := put("No project was read."); err != nil {
			return err
		}
	}
	if err := sw.AddTable(&excelize.Table{
		Range:     "A" + fmt.Sprint(first) + ":" + cellName(10, row-1),
		Name:      "Coverage",
		StyleName: "TableStyleLight9",
	}); err != nil {
		return err
	}
	return sw.Flush()
}
