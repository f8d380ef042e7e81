package xlsx

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/xuri/excelize/v2"
)

// Sheet and table base names.
const (
	summarySheet     = "Summary"
	findingsSheet    = "Findings"
	remediationSheet = "Remediation"
	inventorySheet   = "Inventory"
	coverageSheet    = "Coverage"
	resolvedSheet    = "Resolved"
)

// resourceType names a resource for the reader: service, job or
// repository, from its name, else the finding's own resource type.
func resourceType(name, fallback string) string {
	switch {
	case strings.Contains(name, "/services/"):
		return "service"
	case strings.Contains(name, "/jobs/"):
		return "job"
	case strings.Contains(name, "/workerPools/"):
		return "worker pool"
	case strings.Contains(name, "/repositories/"):
		return "repository"
	}
	return fallback
}

// severityCell colours a severity.
func (w *writer) severityCell(s audit.Severity) any {
	if id, ok := w.st.severity[s]; ok {
		return excelize.Cell{StyleID: id, Value: string(s)}
	}
	return text(string(s))
}

// findingColumns lists the Findings (and Resolved) columns; the optional
// ones appear only when they carry something.
type findingColumns struct {
	baseline     bool // "New since baseline"
	confirmation bool // Policy Troubleshooter verdicts
	excepted     bool // accepted by an exceptions entry
	logs         bool // Cloud Audit Logs evidence
}

// findingColumn is one column of the Findings and Resolved sheets: its
// look and the cell it shows for a finding. To add a finding field to the
// workbook, add one entry to findingColumnList: the printed columns first,
// the Reference ones (on screen only) after them.
type findingColumn struct {
	column
	// when, if set, says whether the column is shown at all.
	when  func(fc findingColumns) bool
	value func(w *writer, f *audit.Finding, isNew bool) any
}

var findingColumnList = []findingColumn{
	{column{Header: "Severity", Max: 11}, nil, func(w *writer, f *audit.Finding, _ bool) any { return w.severityCell(f.Severity) }},
	{column{Header: "Kind", Max: 36, Wrap: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(string(f.Kind)) }},
	{column{Header: "Project", Max: 18, Wrap: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.ProjectID) }},
	{column{Header: "Resource", Max: 20, Wrap: true}, nil, func(w *writer, f *audit.Finding, _ bool) any { return w.linkCell(resourceRef(f.Resource)) }},
	{column{Header: "Principal", Max: 34, Wrap: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Principal) }},
	{column{Header: "Last deployer", Max: 10}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return yes(f.LastDeployer) }},
	{column{Header: "Image", Max: 32, Wrap: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Image) }},
	{column{Header: "Repository", Max: 30, Wrap: true}, nil, func(w *writer, f *audit.Finding, _ bool) any { return w.linkCell(repositoryRef(f.Repository)) }},
	{column{Header: "Reason", Max: 44, Wrap: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Reason) }},
	{column{Header: "New since baseline", Max: 10}, func(fc findingColumns) bool { return fc.baseline }, func(_ *writer, _ *audit.Finding, isNew bool) any { return yes(isNew) }},
	{column{Header: "Confirmation", Max: 14}, func(fc findingColumns) bool { return fc.confirmation }, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Confirmation) }},
	{column{Header: "Excepted", Max: 9}, func(fc findingColumns) bool { return fc.excepted }, func(_ *writer, f *audit.Finding, _ bool) any { return yes(f.Excepted) }},
	{column{Header: "Exception", Max: 40, Wrap: true}, func(fc findingColumns) bool { return fc.excepted }, func(_ *writer, f *audit.Finding, _ bool) any {
		return text(exceptionText(f.Exception))
	}},
	{column{Header: "Log evidence", Max: 30, Wrap: true}, func(fc findingColumns) bool { return fc.logs }, func(_ *writer, f *audit.Finding, _ bool) any { return text(logEvidence(f)) }},
	{column{Header: "Deployer activity", Max: 28, Wrap: true}, func(fc findingColumns) bool { return fc.logs }, func(_ *writer, f *audit.Finding, _ bool) any { return text(deployerActivity(f)) }},
	// On screen only: the fix prints on the Remediation sheet, grouped.
	{column{Header: "Remediation", Max: 60, Wrap: true, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Remediation) }},
	{column{Header: "Location", Max: 14, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Location) }},
	{column{Header: "Type", Max: 11, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any {
		return text(resourceType(f.Resource, f.ResourceType))
	}},
	{column{Header: "Permission", Max: 30, Wrap: true, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Permission) }},
	{column{Header: "Secret", Max: 40, Wrap: true, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Secret) }},
	{column{Header: "Project number", Max: 15, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.ProjectNumber) }},
	{column{Header: "Folders", Max: 24, Wrap: true, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any {
		return text(strings.Join(f.Folders, ", "))
	}},
	{column{Header: "Finding ID", Max: 34, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.FindingID) }},
	{column{Header: "Resource name", Max: 60, Wrap: true, Reference: true}, nil, func(_ *writer, f *audit.Finding, _ bool) any { return text(f.Resource) }},
}

// list returns the columns shown.
func (fc findingColumns) list() []findingColumn {
	var out []findingColumn
	for _, c := range findingColumnList {
		if c.when == nil || c.when(fc) {
			out = append(out, c)
		}
	}
	return out
}

func (fc findingColumns) columns() []column {
	var cols []column
	for _, c := range fc.list() {
		cols = append(cols, c.column)
	}
	return cols
}

// findingRow fills dst with f's cells in the order of columns().
func (w *writer) findingRow(cols []findingColumn, f *audit.Finding, isNew bool, dst []any) {
	for i, c := range cols {
		dst[i] = c.value(w, f, isNew)
	}
}

func hasConfirmation(fs []audit.Finding) bool {
	for i := range fs {
		if fs[i].Confirmation != "" {
			return true
		}
	}
	return false
}

func hasExcepted(fs []audit.Finding) bool {
	return slices.ContainsFunc(fs, func(f audit.Finding) bool { return f.Excepted })
}

// exceptionText names the accepting entry: where, owner, expiry, reason.
func exceptionText(e *audit.Exception) string {
	if e == nil {
		return ""
	}
	return e.Where + " (owner " + e.Owner + ", expires " + e.Expires + "): " + e.Reason
}

// hasLogEvidence reports whether audit logs were joined with any finding.
func hasLogEvidence(fs []audit.Finding) bool {
	for i := range fs {
		if fs[i].LogEvidence != "" {
			return true
		}
	}
	return false
}

// logEvidence prints a finding's log evidence with its refusals.
func logEvidence(f *audit.Finding) string {
	if f.FailedDeploys == 0 {
		return f.LogEvidence
	}
	return fmt.Sprintf("%s (%d failed, last %s)", f.LogEvidence, f.FailedDeploys, f.LastFailure.UTC().Format("2006-01-02"))
}

// deployerActivity prints whether the principal deploys the resource.
func deployerActivity(f *audit.Finding) string {
	if !f.ActiveDeployer {
		return f.DeployerActivity
	}
	return fmt.Sprintf("%s (%d deploys, last %s)", f.DeployerActivity, f.Deploys, f.LastDeploy.UTC().Format("2006-01-02"))
}

func (w *writer) findings() error {
	fs := w.r.Findings
	fc := findingColumns{baseline: w.opts.HaveBaseline, confirmation: hasConfirmation(fs), excepted: hasExcepted(fs), logs: hasLogEvidence(fs)}
	cols := fc.list()
	names, err := w.writeTable(table{
		Base: findingsSheet, TableName: "Findings", Columns: fc.columns(), Rows: len(fs),
		Row: func(i int, dst []any) {
			f := &fs[w.order[i]]
			w.findingRow(cols, f, w.opts.HaveBaseline && w.diff.isNew(f.FindingID), dst)
		},
		Empty: "No findings.",
	})
	w.findingSheets = names
	return err
}

// resolved lists the baseline's findings this run no longer reports.
func (w *writer) resolved() error {
	if !w.opts.HaveBaseline {
		return nil
	}
	base := w.opts.Baseline
	fc := findingColumns{confirmation: hasConfirmation(base), excepted: hasExcepted(base), logs: hasLogEvidence(base)}
	cols := fc.list()
	_, err := w.writeTable(table{
		Base: resolvedSheet, TableName: "Resolved", Columns: fc.columns(), Rows: len(w.diff.resolved),
		Row: func(i int, dst []any) {
			w.findingRow(cols, &base[w.diff.resolved[i]], false, dst)
		},
		Empty: "No finding of the baseline is resolved.",
	})
	return err
}

func (w *writer) remediation() error {
	gs := w.groups
	_, err := w.writeTable(table{
		Base: remediationSheet, TableName: "Remediation",
		Columns: []column{
			{Header: "Severity", Max: 11}, {Header: "Principal", Max: 34, Wrap: true},
			{Header: "Repository", Max: 32, Wrap: true},
			{Header: "Resources", Max: 10, Numeric: true}, {Header: "Findings", Max: 10, Numeric: true},
			{Header: "Last deployer of", Max: 10, Numeric: true},
			{Header: "Command", Max: 60, Wrap: true}, {Header: "Kinds", Max: 36, Wrap: true},
			{Header: "Projects", Max: 20, Wrap: true}, {Header: "Affected", Max: 30, Wrap: true, Reference: true},
		},
		Rows: len(gs),
		Row: func(i int, dst []any) {
			g := &gs[i]
			dst[0] = w.severityCell(g.Severity)
			dst[1] = text(g.Principal)
			dst[2] = w.linkCell(repositoryRef(g.Repository))
			dst[3] = g.Resources
			dst[4] = g.Findings
			dst[5] = g.LastDeployer
			dst[6] = text(g.Command)
			dst[7] = text(kindsText(g.Kinds))
			dst[8] = text(joinCapped(g.Projects, 10))
			dst[9] = text(g.examplesText())
		},
		Empty: "Nothing to remediate: no actionable findings.",
	})
	return err
}

// verdictRank lists images at risk first, then unverified ones.
func verdictRank(v audit.Verdict) int {
	switch v {
	case audit.VerdictAtRisk:
		return 0
	case audit.VerdictUnverified:
		return 1
	case audit.VerdictOK:
		return 2
	case audit.VerdictPublic:
		return 3
	}
	return 4
}

func (w *writer) inventory() error {
	inv := w.r.Inventory
	idx := make([]int32, len(inv))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		x, y := &inv[a], &inv[b]
		return cmp.Or(
			cmp.Compare(verdictRank(x.Verdict), verdictRank(y.Verdict)),
			strings.Compare(x.ProjectID, y.ProjectID),
			strings.Compare(x.Resource, y.Resource),
		)
	})
	_, err := w.writeTable(table{
		Base: inventorySheet, TableName: "Inventory",
		Columns: []column{
			{Header: "Verdict", Max: 17}, {Header: "Project", Max: 18, Wrap: true}, {Header: "Location", Max: 14},
			{Header: "Type", Max: 11}, {Header: "Resource", Max: 20, Wrap: true}, {Header: "Container", Max: 14, Wrap: true},
			{Header: "Image", Max: 34, Wrap: true}, {Header: "Image class", Max: 20, Wrap: true}, {Header: "Repository", Max: 30, Wrap: true},
			{Header: "Findings", Max: 10, Numeric: true}, {Header: "Service account", Max: 30, Wrap: true},
			{Header: "Creator", Max: 28, Wrap: true, Reference: true}, {Header: "Last modifier", Max: 28, Wrap: true, Reference: true},
			{Header: "Project number", Max: 15, Reference: true}, {Header: "Resource name", Max: 60, Wrap: true, Reference: true},
		},
		Rows: w.opts.inventoryRows(len(inv)),
		Row: func(i int, dst []any) {
			r := &inv[idx[i]]
			if id, ok := w.st.verdict[r.Verdict]; ok {
				dst[0] = excelize.Cell{StyleID: id, Value: string(r.Verdict)}
			} else {
				dst[0] = text(string(r.Verdict))
			}
			dst[1] = text(r.ProjectID)
			dst[2] = text(r.Location)
			dst[3] = text(resourceType(r.Resource, r.ResourceType))
			dst[4] = w.linkCell(resourceRef(r.Resource))
			dst[5] = text(r.Container)
			dst[6] = text(r.Image)
			dst[7] = text(r.ImageClass)
			dst[8] = w.linkCell(repositoryRef(r.Repository))
			dst[9] = r.Findings
			dst[10] = text(r.ServiceAccount)
			dst[11] = text(r.Creator)
			dst[12] = text(r.LastModifier)
			dst[13] = text(r.ProjectNumber)
			dst[14] = text(r.Resource)
		},
		Empty: "No Cloud Run service, job or worker pool was found.",
	})
	return err
}
