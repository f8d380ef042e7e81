// Command sheetcopies writes one copy of a workbook per sheet, holding
// only that sheet at its natural size (no fit to the page width, 100%
// scale, no print area), so that rendering the copy to PDF shows the
// sheet as it looks on screen; see scripts/render-workbook.sh.
//
//	go run ./scripts/sheetcopies report.xlsx OUT_DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sheetcopies WORKBOOK OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "sheetcopies:", err)
		os.Exit(1)
	}
}

func run(path, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	names := f.GetSheetList()
	f.Close()
	for i, name := range names {
		if err := onlySheet(path, name, filepath.Join(dir, fmt.Sprintf("%d-%s.xlsx", i+1, strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(name)))); err != nil {
			return err
		}
	}
	return nil
}

// onlySheet writes to out a copy of the workbook at path holding only
// sheet, unscaled.
func onlySheet(path, sheet, out string) error {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	for _, other := range f.GetSheetList() {
		if other != sheet {
			if err := f.DeleteSheet(other); err != nil {
				return fmt.Errorf("%s: %w", other, err)
			}
		}
	}
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm.Print_Area" {
			f.DeleteDefinedName(&excelize.DefinedName{Name: dn.Name, Scope: dn.Scope})
		}
	}
	fit := false
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	scale := uint(100)
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{AdjustTo: &scale}); err != nil {
		return err
	}
	if err := f.SaveAs(out); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
