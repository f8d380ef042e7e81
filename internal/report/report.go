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

// WriteLocal writes findings.jsonl, findings.csv, inventory.jsonl,
// summary.json and, when audit logs were read, deployers.jsonl into dir,
// creating it, and returns the paths written.
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
	if r.Deployers != nil {
		if err := write(DeployersJSON, func(w io.Writer) error { return WriteJSONL(w, r.Deployers) }); err != nil {
			return nil, err
		}
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
	"log_evidence", "failed_deploys", "first_failure", "last_failure", "failed_by",
	"active_deployer", "deploys", "last_deploy", "deployer_activity",
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
			f.LogEvidence, count(f.FailedDeploys), stamp(f.FirstFailure), stamp(f.LastFailure), f.FailedBy,
			boolIf(f.ActiveDeployer, f.DeployerActivity != "" && f.DeployerActivity != "UNDECIDED"), count(f.Deploys), stamp(f.LastDeploy), f.DeployerActivity,
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
	if line := AuditLogLine(r.Findings); line != "" {
		fmt.Fprintln(w, "audit logs: "+line)
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

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
