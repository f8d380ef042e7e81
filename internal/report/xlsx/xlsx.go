// Package xlsx writes an audit run as the compliance workbook, report.xlsx:
// the file a security reviewer opens first.
//
// Sheets, in order:
//
//   - Summary: organization, scope, run time and completeness with its gaps,
//     findings by kind and severity with a chart, new and resolved findings
//     since a baseline, and the top projects and principals.
//   - Findings: one row per finding, most severe first, as an Excel table
//     with filters, a frozen header, severity colours and Cloud Console links.
//     Past Excel's row limit it continues on "Findings (2)", "Findings (3)", ….
//   - Remediation: the actionable findings grouped by principal and
//     repository, with the one gcloud command that fixes each group.
//   - Inventory: every container image of every Cloud Run service and job,
//     with its repository and verdict.
//   - Coverage: the asset types and projects read, and what was not.
//   - Resolved: findings of the baseline that this run no longer reports
//     (only when a baseline is given).
//
// Large sheets are written with excelize's StreamWriter, header row only;
// their data rows are rendered by this package while the file is written
// (rows.go), straight into the deflate stream, so memory grows with the
// number of findings only by a few index slices; docs/workbook.md gives
// the measured figures.
//
// Text from the cloud is written as typed string cells and is never parsed
// as a formula. The only formulas are the HYPERLINK formulas of Console
// links, built from names restricted to the characters Google Cloud allows.
// Links are formulas rather than cell hyperlinks because Excel holds at most
// 66,530 hyperlinks per worksheet; a HYPERLINK formula has no such limit.
package xlsx

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/report"
	"github.com/xuri/excelize/v2"
)

// Options tunes the workbook beyond what the run's Result holds.
type Options struct {
	// Baseline holds the findings of an earlier run (its findings.jsonl).
	// It is used only when HaveBaseline is true, so that an empty baseline
	// (every finding new) differs from none (no comparison made).
	Baseline     []audit.Finding
	HaveBaseline bool
	// BaselineName describes the baseline on the Summary sheet, e.g. its
	// path.
	BaselineName string
	// AssetTypes lists the asset types the scan reads, for the Coverage
	// sheet. A gap naming an asset type marks it as not completely read.
	AssetTypes []string
	// TopN bounds the Summary's lists of top projects and principals;
	// zero means 10.
	TopN int
	// InventoryRows bounds the Inventory sheet, which repeats
	// inventory.jsonl: the worst verdicts are kept first, and the Summary
	// says how many rows were left out. Zero means DefaultInventoryRows; a
	// negative value keeps every row.
	InventoryRows int
}

// DefaultInventoryRows is the Inventory sheet's default bound: beyond it a
// very large organization's workbook would spend most of its time and size
// on OK images that inventory.jsonl and BigQuery already hold.
const DefaultInventoryRows = 50000

// inventoryRows is the number of Inventory rows written for n images.
func (o Options) inventoryRows(n int) int {
	switch {
	case o.InventoryRows < 0:
		return n
	case o.InventoryRows == 0:
		return min(n, DefaultInventoryRows)
	}
	return min(n, o.InventoryRows)
}

// Write writes r as an XLSX workbook to path. The file is written under a
// temporary name in the same directory and renamed into place, so a failed
// run never leaves a truncated workbook where the last good one was.
func Write(path string, r audit.Result, opts Options) error {
	return write(path, r, opts, excelize.TotalRows)
}

// write is Write with the rows per sheet (header included) as a parameter,
// so that tests can exercise the split without a million rows.
func write(path string, r audit.Result, opts Options, maxRows int) (err error) {
	if maxRows < 2 {
		return fmt.Errorf("writing %s: at most %d rows per sheet leaves no room for data", path, maxRows)
	}
	if opts.TopN <= 0 {
		opts.TopN = 10
	}
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing %s: %w", path, cerr)
		}
	}()
	w, err := newWriter(f, r, opts, maxRows)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f.SetZipWriter(w.zipWriter)
	if err := w.build(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	// CreateTemp makes the file private; the workbook is an ordinary output.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// fastZip is the workbook's ZIP writer: deflate at flate.BestSpeed rather
// than the default level. The sheets are repetitive XML that the fastest
// level still shrinks about tenfold (the default level sixteenfold), and
// the default level took nearly a third of the workbook's CPU; the file is
// about half as large again (docs/workbook.md).
func fastZip(w io.Writer) excelize.ZipWriter {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, newFastFlate)
	return zw
}

// fastFlates keeps the workbook's deflate writers for reuse, as
// archive/zip does for its own: each holds about a megabyte of tables,
// and a workbook has a few dozen parts.
var fastFlates sync.Pool

// newFastFlate is fastZip's compressor: a pooled flate.BestSpeed writer.
func newFastFlate(out io.Writer) (io.WriteCloser, error) {
	if fw, ok := fastFlates.Get().(*flate.Writer); ok {
		fw.Reset(out)
		return &pooledFlate{fw}, nil
	}
	fw, err := flate.NewWriter(out, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	return &pooledFlate{fw}, nil
}

// pooledFlate returns its writer to fastFlates when closed.
type pooledFlate struct{ fw *flate.Writer }

func (p *pooledFlate) Write(b []byte) (int, error) {
	if p.fw == nil {
		return 0, errors.New("write to a closed deflate writer")
	}
	return p.fw.Write(b)
}

func (p *pooledFlate) Close() error {
	if p.fw == nil {
		return nil
	}
	err := p.fw.Close()
	fastFlates.Put(p.fw)
	p.fw = nil
	return err
}

// zipWriter is the workbook's ZIP writer: fastZip, writing the table
// sheets' rows into their parts (see rows.go).
func (w *writer) zipWriter(out io.Writer) excelize.ZipWriter {
	return &splicingZip{ZipWriter: fastZip(out), parts: w.parts}
}

// writer holds the state of one workbook being built.
type writer struct {
	f       *excelize.File
	st      *styles
	r       audit.Result
	opts    Options
	maxRows int

	order  []int32 // findings in sheet order
	groups []group
	diff   baselineDiff
	stats  stats

	findingSheets []string // names of the Findings sheets written

	// parts holds the data rows of the table sheets, by sheet part, for
	// splicingZip to write into the file.
	parts map[string]*rowsPart
}

func newWriter(f *excelize.File, r audit.Result, opts Options, maxRows int) (*writer, error) {
	st, err := newStyles(f)
	if err != nil {
		return nil, err
	}
	w := &writer{f: f, st: st, r: r, opts: opts, maxRows: maxRows, parts: map[string]*rowsPart{}}
	w.order = order(r.Findings)
	w.groups = groupFindings(r.Findings)
	if opts.HaveBaseline {
		w.diff = diffBaseline(r.Findings, opts.Baseline)
	}
	w.stats = computeStats(r.Findings, w.groups, opts.HaveBaseline, opts.Baseline, w.diff, opts.TopN)
	return w, nil
}

// build writes every sheet. The Summary sheet is the file's first sheet
// from the start but is filled in last, when the other sheets' names are
// known.
func (w *writer) build() error {
	if err := w.f.SetSheetName("Sheet1", summarySheet); err != nil {
		return err
	}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"findings", w.findings},
		{"remediation", w.remediation},
		{"inventory", w.inventory},
		{"coverage", w.coverage},
		{"resolved findings", w.resolved},
		{"summary", w.summary},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s sheet: %w", s.what, err)
		}
	}
	// Summary is already the active sheet: it is the new file's first.
	// SetActiveSheet(0) would re-read every streamed sheet to unselect it,
	// a quarter of a large run's time.
	return w.f.SetDocProps(&excelize.DocProperties{
		Title:       "Cloud Run image access audit",
		Subject:     "Organization " + report.Inert(w.r.Summary.Organization),
		Creator:     "runaudit " + report.Inert(w.r.Summary.Version),
		Description: "Run " + report.Inert(w.r.Summary.RunID),
	})
}
