// Package report writes a run's local outputs: findings.jsonl,
// findings.csv, summary.json, and the human summary on a terminal. The
// workbook and the BigQuery sink live in subpackages.
package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
)

// File names inside the output directory.
const (
	FindingsJSONL = "findings.jsonl"
	FindingsCSV   = "findings.csv"
	SummaryJSON   = "summary.json"
	InventoryJSON = "inventory.jsonl"
)

// WriteLocal writes findings.jsonl, findings.csv, inventory.jsonl and
// summary.json into dir, creating it, and returns the paths written.
func WriteLocal(dir string, r audit.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var paths []string
	write := func(name string, fn func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		if err := writeFile(p, fn); err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	}
	if err := write(FindingsJSONL, func(w io.Writer) error { return WriteJSONL(w, r.Findings) }); err != nil {
		return nil, err
	}
	if err := write(FindingsCSV, func(w io.Writer) error { return WriteCSV(w, r.Findings) }); err != nil {
		return nil, err
	}
	if err := write(InventoryJSON, func(w io.Writer) error { return WriteJSONL(w, r.Inventory) }); err != nil {
		return nil, err
	}
	if err := write(SummaryJSON, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r.Summary)
	}); err != nil {
		return nil, err
	}
	return paths, nil
}

// writeFile writes through a temporary file and renames it, so that a
// reader never sees half a file.
func writeFile(path string, fn func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteJSONL writes one JSON object per line.
func WriteJSONL[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			return err
		}
	}
	return nil
}

// CSVHeader is the column order of findings.csv: the JSON keys of Finding.
var CSVHeader = []string{
	"finding_id", "kind", "severity", "resource", "resource_type", "project_id", "project_number",
	"location", "principal", "image", "repository", "last_deployer", "permission", "secret",
	"reason", "remediation", "folders", "organization", "confirmation",
	"excepted", "exception",
}

// WriteCSV writes findings as CSV, every text cell guarded against formula
// injection.
func WriteCSV(w io.Writer, findings []audit.Finding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, f := range findings {
		rec := []string{
			f.FindingID, string(f.Kind), string(f.Severity), f.Resource, f.ResourceType, f.ProjectID,
			f.ProjectNumber, f.Location, f.Principal, f.Image, f.Repository, strconv.FormatBool(f.LastDeployer),
			f.Permission, f.Secret, f.Reason, f.Remediation, strings.Join(f.Folders, ";"), f.Organization, f.Confirmation,
			strconv.FormatBool(f.Excepted), exceptionCell(f.Exception),
		}
		for i := range rec {
			rec[i] = SafeCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// exceptionCell names an exception in one cell: where, owner, expiry and
// reason.
func exceptionCell(e *audit.Exception) string {
	if e == nil {
		return ""
	}
	return fmt.Sprintf("%s (owner %s, expires %s): %s", e.Where, e.Owner, e.Expires, e.Reason)
}

// SafeCell defuses a spreadsheet formula: text starting with = + - @ or a
// tab or carriage return is prefixed with a quote, as OWASP advises, so
// that text from the cloud is shown and never run.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// ReadFindings reads a findings.jsonl file, e.g. an earlier run's baseline.
func ReadFindings(path string) ([]audit.Finding, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []audit.Finding
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var fd audit.Finding
		if err := json.Unmarshal(sc.Bytes(), &fd); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if fd.FindingID == "" {
			return nil, fmt.Errorf("%s:%d: finding has no finding_id", path, line)
		}
		out = append(out, fd)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// WriteText prints the human summary: what was read, what was found, and
// what is missing.
func WriteText(w io.Writer, r audit.Result) {
	s := r.Summary
	inv := s.Inventory
	org := s.Organization
	if org == "" {
		org = "(unknown)"
	}
	fmt.Fprintf(w, "runaudit %s — organization %s, source %s\n", s.Version, org, s.Source)
	fmt.Fprintf(w, "read: %d projects, %d services, %d jobs, %d containers, %d repositories, %d secrets, %d custom roles, %d IAM policies (%d bindings)\n",
		inv["projects"], inv["services"], inv["jobs"], inv["containers"], inv["repositories"], inv["secrets"], inv["custom_roles"], inv["iam_policies"], inv["bindings"])
	actionable := 0
	for _, f := range r.Findings {
		if f.Kind.Actionable() {
			actionable++
		}
	}
	fmt.Fprintf(w, "findings: %d (%d actionable)\n", s.Findings, actionable)
	writeExceptions(w, r)
	for _, sev := range audit.Severities {
		if n := s.BySeverity[string(sev)]; n > 0 {
			fmt.Fprintf(w, "  %-9s %d\n", sev, n)
		}
	}
	kinds := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-36s %d\n", k, s.ByKind[k])
	}
	if s.SkippedTotal > 0 {
		fmt.Fprintf(w, "skipped: %d input item(s)", s.SkippedTotal)
		if len(s.Skipped) > 0 {
			fmt.Fprintf(w, ", first: %s: %s", s.Skipped[0].Where, s.Skipped[0].Reason)
		}
		fmt.Fprintln(w)
	}
	if s.Complete {
		fmt.Fprintln(w, "scan: complete")
		return
	}
	fmt.Fprintf(w, "scan: INCOMPLETE — %d gap(s); results do not cover what is missing:\n", len(s.Gaps))
	for i, g := range s.Gaps {
		if i == 10 {
			fmt.Fprintf(w, "  … and %d more in summary.json\n", len(s.Gaps)-10)
			break
		}
		fmt.Fprintf(w, "  %s %s: %s\n", g.Scope, g.AssetType, g.Reason)
	}
}

// writeExceptions prints the findings an exceptions file accepted, apart
// from the open ones, and the entries that need attention.
func writeExceptions(w io.Writer, r audit.Result) {
	rep := r.Summary.Exceptions
	if rep == nil && r.Summary.Excepted == 0 {
		return
	}
	open := 0
	for i := range r.Findings {
		if r.Findings[i].Open() {
			open++
		}
	}
	fmt.Fprintf(w, "excepted: %d finding(s) accepted by exceptions; %d actionable still open\n", r.Summary.Excepted, open)
	if rep == nil {
		return
	}
	for _, e := range rep.Expired {
		fmt.Fprintf(w, "  expired exception %s (owner %s, expired %s): no longer applied; renew or remove it\n", e.Where, e.Owner, e.Expires)
	}
	for _, e := range rep.Unmatched {
		fmt.Fprintf(w, "  exception %s (owner %s) matches no finding; remove it if the risk is gone\n", e.Where, e.Owner)
	}
}
