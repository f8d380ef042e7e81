// Package report writes a run's local outputs: findings.jsonl,
// findings.csv, summary.json, and the human summary on a terminal. The
// workbook and the BigQuery sink live in subpackages.
package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

// File names inside the output directory.
const (
	FindingsJSONL = "findings.jsonl"
	FindingsCSV   = "findings.csv"
	SummaryJSON   = "summary.json"
	InventoryJSON = "inventory.jsonl"
	// DeployersJSON is written only when audit logs were read.
	DeployersJSON = "deployers.jsonl"
)

// Outputs lists every file a run writes into its output directory, the
// workbook included.
var Outputs = []string{FindingsJSONL, FindingsCSV, InventoryJSON, SummaryJSON, Workbook}

// Workbook is the workbook's file name in the output directory.
const Workbook = "report.xlsx"

// Clear removes an earlier run's outputs from dir, so that a reader never
// sees one run's files beside another's; other files are left alone.
func Clear(dir string) error {
	for _, name := range Outputs {
		for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".tmp")} {
			if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
				continue // absent, or not a file of the audit's: the write will say
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing the earlier run's %s: %w", p, err)
			}
		}
	}
	return nil
}

// WriteSummary writes summary.json alone, for a run that failed before its
// other outputs.
func WriteSummary(dir string, s audit.Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return writeFile(filepath.Join(dir, SummaryJSON), func(w io.Writer) error { return encodeSummary(w, s) })
}

func encodeSummary(w io.Writer, s audit.Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteLocal writes findings.jsonl, findings.csv, inventory.jsonl,
// summary.json and, when audit logs were read, deployers.jsonl into dir,
// creating it, and returns the paths written. A
// file that cannot be written does not keep the others from being
// written: every failure is returned, joined.
func WriteLocal(dir string, r audit.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var paths []string
	var errs []error
	write := func(name string, fn func(io.Writer) error) {
		p := filepath.Join(dir, name)
		if err := writeFile(p, fn); err != nil {
			errs = append(errs, err)
			return
		}
		paths = append(paths, p)
	}
	write(FindingsJSONL, func(w io.Writer) error { return WriteJSONL(w, r.Findings) })
	write(FindingsCSV, func(w io.Writer) error { return WriteCSV(w, r.Findings) })
	write(InventoryJSON, func(w io.Writer) error { return WriteJSONL(w, r.Inventory) })
	if r.Deployers != nil {
		write(DeployersJSON, func(w io.Writer) error { return WriteJSONL(w, r.Deployers) })
	}
	write(SummaryJSON, func(w io.Writer) error { return encodeSummary(w, r.Summary) })
	return paths, errors.Join(errs...)
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
	"log_evidence", "failed_deploys", "first_failure", "last_failure", "failed_by",
	"active_deployer", "deploys", "last_deploy", "deployer_activity",
}

// WriteCSV writes findings as CSV, every text cell inert (control and
// format characters shown escaped, see Inert) and guarded against formula
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
			f.LogEvidence, count(f.FailedDeploys), stamp(f.FirstFailure), stamp(f.LastFailure), f.FailedBy,
			boolIf(f.ActiveDeployer, f.DeployerActivity != "" && f.DeployerActivity != "UNDECIDED"), count(f.Deploys), stamp(f.LastDeploy), f.DeployerActivity,
		}
		for i := range rec {
			rec[i] = SafeCell(Inert(rec[i]))
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
// what is missing, each gap once, in words. Text from the cloud is shown
// inert (see Inert).
func WriteText(w io.Writer, r audit.Result) {
	s := r.Summary
	inv := s.Inventory
	org := s.Organization
	if org == "" {
		org = "(unknown)"
	}
	fmt.Fprintf(w, "runaudit %s: organization %s, %s\n", Inert(s.Version), Inert(org), Inert(sourceText(s.Source)))
	fmt.Fprintf(w, "read: %s, %s, %s, %s (%s), %s, %s, %s, %s (%s)\n",
		plural(inv["projects"], "project"), plural(inv["services"], "service"), plural(inv["jobs"], "job"),
		plural(inv["worker_pools"], "worker pool"), plural(inv["containers"], "container"),
		plural(inv["repositories"], "repository"), plural(inv["secrets"], "secret"), plural(inv["custom_roles"], "custom role"),
		plural(inv["iam_policies"], "IAM policy"), plural(inv["bindings"], "binding"))
	fmt.Fprintf(w, "findings: %d (%d actionable, %d undecided)\n", s.Findings, s.Actionable, s.Undecided)
	for _, h := range s.UndecidedOn {
		fmt.Fprintf(w, "  %d undecided hang on %s: %s\n", h.Findings, Inert(h.On), h.Fix)
	}
	writeExceptions(w, r)
	var sevs []string
	for _, sev := range audit.Severities {
		if n := s.BySeverity[string(sev)]; n > 0 {
			sevs = append(sevs, fmt.Sprintf("%s %d", sev, n))
		}
	}
	if len(sevs) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(sevs, " · "))
	}
	kinds := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		kinds = append(kinds, k)
	}
	// Actionable kinds first, then by name.
	sort.Slice(kinds, func(i, j int) bool {
		ai, aj := audit.Kind(kinds[i]).Actionable(), audit.Kind(kinds[j]).Actionable()
		if ai != aj {
			return ai
		}
		return kinds[i] < kinds[j]
	})
	for i, k := range kinds {
		label := ""
		if i == 0 || audit.Kind(k).Actionable() != audit.Kind(kinds[i-1]).Actionable() {
			label = "informational"
			if audit.Kind(k).Actionable() {
				label = "actionable"
			}
		}
		fmt.Fprintf(w, "  %-13s %5d  %s\n", label, s.ByKind[k], Inert(k))
	}
	if line := AuditLogLine(r.Findings); line != "" {
		fmt.Fprintln(w, "audit logs: "+line)
	}
	if s.SkippedTotal > 0 {
		fmt.Fprintf(w, "skipped: %d input item(s), listed in summary.json", s.SkippedTotal)
		if len(s.Skipped) > 0 {
			fmt.Fprintf(w, "; first: %s: %s", Inert(s.Skipped[0].Where), Inert(s.Skipped[0].Reason))
		}
		fmt.Fprintln(w)
	}
	if s.Complete && len(s.Gaps) == 0 {
		fmt.Fprintln(w, "scan: complete, every scope and asset type was read")
		return
	}
	gaps := MergeGaps(s.Gaps)
	fmt.Fprintf(w, "scan: INCOMPLETE, %d gap(s); what a gap hides is undecided and the results do not cover it:\n", len(gaps))
	for i, g := range gaps {
		if i == maxTextGaps {
			fmt.Fprintf(w, "  … and %d more in summary.json\n", len(gaps)-i)
			break
		}
		d := DescribeGap(g)
		fmt.Fprintf(w, "  %d. %s\n", i+1, d.What)
		fmt.Fprintf(w, "     undecided: %s\n", d.Undecided)
		if d.Fix != "" {
			fmt.Fprintf(w, "     fix: %s\n", d.Fix)
		}
	}
}

// maxTextGaps bounds the gaps the human summary lists.
const maxTextGaps = 10

// sourceText says where the inventory came from: "export PATH" or "live
// SCOPE".
func sourceText(src string) string {
	if kind, what, ok := strings.Cut(src, ":"); ok && (kind == "export" || kind == "live") {
		return kind + " " + what
	}
	return src
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

// count prints a count, empty for none, as the JSON omits it.
func count(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// stamp prints a time in RFC 3339, empty when unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// boolIf prints b where it was decided, empty otherwise.
func boolIf(b, decided bool) string {
	if !decided {
		return ""
	}
	return strconv.FormatBool(b)
}

// AuditLogLine sums up what Cloud Audit Logs added ("N findings confirmed
// by failed deploys, M active deployers", and how many are undecided), or
// "" when no logs were joined.
func AuditLogLine(fs []audit.Finding) string {
	var joined bool
	var confirmed, active, undecided int
	for i := range fs {
		f := &fs[i]
		if f.LogEvidence == "" {
			continue
		}
		joined = true
		switch f.LogEvidence {
		case "CONFIRMED_BY_LOGS":
			confirmed++
		case "UNDECIDED":
			undecided++
		}
		if f.ActiveDeployer {
			active++
		}
	}
	if !joined {
		return ""
	}
	line := fmt.Sprintf("%s confirmed by failed deploys, %s", plural(confirmed, "finding"), plural(active, "active deployer"))
	if undecided > 0 {
		line += fmt.Sprintf("; %d undecided (logs not read)", undecided)
	}
	return line
}

// plural counts n of noun in English: "1 job", "2 jobs", "3 repositories".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if stem, ok := strings.CutSuffix(noun, "y"); ok && stem != "" && !strings.ContainsAny(stem[len(stem)-1:], "aeiou") {
		return fmt.Sprintf("%d %sies", n, stem)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
