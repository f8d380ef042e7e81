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
	logs         bool // Cloud Audit Logs evidence
}

func (fc findingColumns) columns() []column {
	cols := []column{
		{Header: "Severity", Width: 11}, {Header: "Kind", Width: 38}, {Header: "Project", Width: 22},
		{Header: "Location", Width: 13}, {Header: "Type", Width: 10}, {Header: "Service / job", Width: 24},
		{Header: "Principal", Width: 50}, {Header: "Last deployer", Width: 9}, {Header: "Image", Width: 60},
		{Header: "Repository", Width: 64}, {Header: "Permission", Width: 46}, {Header: "Reason", Width: 70},
		{Header: "Remediation", Width: 70},
	}
	if fc.baseline {
		cols = append(cols, column{Header: "New since baseline", Width: 10})
	}
	if fc.confirmation {
		cols = append(cols, column{Header: "Confirmation", Width: 14})
	}
	if fc.logs {
		cols = append(cols, column{Header: "Log evidence", Width: 30}, column{Header: "Deployer activity", Width: 28})
	}
	return append(cols,
		column{Header: "Secret", Width: 44}, column{Header: "Project number", Width: 15},
		column{Header: "Folders", Width: 18}, column{Header: "Finding ID", Width: 34},
		column{Header: "Resource name", Width: 70},
	)
}

// findingRow fills dst with f's cells in the order of columns().
func (w *writer) findingRow(fc findingColumns, f *audit.Finding, isNew bool, dst []any) {
	c := 0
	put := func(v any) { dst[c] = v; c++ }
	put(w.severityCell(f.Severity))
	put(text(string(f.Kind)))
	put(text(f.ProjectID))
	put(text(f.Location))
	put(text(resourceType(f.Resource, f.ResourceType)))
	put(w.linkCell(resourceRef(f.Resource)))
	put(text(f.Principal))
	put(yes(f.LastDeployer))
	put(text(f.Image))
	put(w.linkCell(repositoryRef(f.Repository)))
	put(text(f.Permission))
	put(text(f.Reason))
	put(text(f.Remediation))
	if fc.baseline {
		put(yes(isNew))
	}
	if fc.confirmation {
		put(text(f.Confirmation))
	}
	if fc.logs {
		put(text(logEvidence(f)))
		put(text(deployerActivity(f)))
	}
	put(text(f.Secret))
	put(text(f.ProjectNumber))
	put(text(strings.Join(f.Folders, ", ")))
	put(text(f.FindingID))
	put(text(f.Resource))
}

func hasConfirmation(fs []audit.Finding) bool {
	for i := range fs {
		if fs[i].Confirmation != "" {
			return true
		}
	}
	return false
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
	fc := findingColumns{baseline: w.opts.HaveBaseline, confirmation: hasConfirmation(fs), logs: hasLogEvidence(fs)}
	names, err := w.writeTable(table{
		Base: findingsSheet, TableName: "Findings", Columns: fc.columns(), Rows: len(fs),
		Row: func(i int, dst []any) {
			f := &fs[w.order[i]]
			w.findingRow(fc, f, w.opts.HaveBaseline && w.diff.isNew(f.FindingID), dst)
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
	fc := findingColumns{confirmation: hasConfirmation(base), logs: hasLogEvidence(base)}
	_, err := w.writeTable(table{
		Base: resolvedSheet, TableName: "Resolved", Columns: fc.columns(), Rows: len(w.diff.resolved),
		Row: func(i int, dst []any) {
			w.findingRow(fc, &base[w.diff.resolved[i]], false, dst)
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
			{Header: "Severity", Width: 11}, {Header: "Principal", Width: 40, Wrap: true},
			{Header: "Repository", Width: 40, Wrap: true},
			{Header: "Services / jobs", Width: 10, Numeric: true}, {Header: "Findings", Width: 10, Numeric: true},
			{Header: "Last deployer of", Width: 10, Numeric: true},
			{Header: "Command", Width: 80, Wrap: true}, {Header: "Kinds", Width: 36, Wrap: true},
			{Header: "Projects", Width: 30, Wrap: true}, {Header: "Affected", Width: 40, Wrap: true},
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
			{Header: "Verdict", Width: 17}, {Header: "Project", Width: 22}, {Header: "Location", Width: 13},
			{Header: "Type", Width: 9}, {Header: "Service / job", Width: 24}, {Header: "Container", Width: 16},
			{Header: "Image", Width: 60}, {Header: "Image class", Width: 18}, {Header: "Repository", Width: 64},
			{Header: "Findings", Width: 9, Numeric: true}, {Header: "Service account", Width: 44},
			{Header: "Creator", Width: 44}, {Header: "Last modifier", Width: 44},
			{Header: "Project number", Width: 15}, {Header: "Resource name", Width: 70},
		},
		Rows: len(inv),
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
		Empty: "No Cloud Run service or job was found.",
	})
	return err
}
