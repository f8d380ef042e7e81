package xlsx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
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

func (w *writer) coverage() error {
	if _, err := w.f.NewSheet(coverageSheet); err != nil {
		return err
	}
	if err := pageSetup(w.f, coverageSheet, true); err != nil {
		return err
	}
	sw, err := w.f.NewStreamWriter(coverageSheet)
	if err != nil {
		return err
	}
	for i, width := range []float64{44, 16, 30, 11, 11, 13, 11, 12, 13, 70} {
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}
	sum := w.r.Summary
	row := 1
	put := func(values ...any) error {
		err := sw.SetRow(cellName(1, row), values)
		row++
		return err
	}
	// header writes a header row, right-aligned over the counts.
	counts := []string{"Gaps", "Services", "Jobs", "Repositories", "Secrets", "IAM policies"}
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
	steps = append(steps,
		func() error { return section("What was not read") },
		// The asset type runs on into the empty column C.
		func() error { return header("Scope", "Asset type", "", "Reason") },
	)
	if len(sum.Gaps) == 0 {
		steps = append(steps, func() error { return put("Nothing: every scope was read completely.") })
	}
	for _, g := range sum.Gaps {
		steps = append(steps, func() error { return put(text(g.Scope), text(g.AssetType), nil, text(g.Reason)) })
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
	if err := header("Project", "Project number", "Folders", "Services", "Jobs", "Repositories", "Secrets", "IAM policies", "Status", "Not read"); err != nil {
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
			p.Services, p.Jobs, p.Repositories, p.Secrets, p.IAMPolicies, st, text(strings.Join(p.Gaps, "; "))); err != nil {
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
