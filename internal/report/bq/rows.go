package bq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/runaudit/runaudit/internal/audit"
)

// The dataset's tables, in the order the sink stages and commits them.
const (
	tableRuns      = "runs"
	tableFindings  = "findings"
	tableInventory = "inventory"
	tableCoverage  = "coverage"
)

var tableOrder = []string{tableRuns, tableFindings, tableInventory, tableCoverage}

// batch is one run encoded for loading: newline-delimited JSON per table,
// with the number of rows in each.
type batch struct {
	runID   string
	runDate string // YYYY-MM-DD, UTC
	data    map[string][]byte
	rows    map[string]int

	encoders map[string]*json.Encoder
	buffers  map[string]*bytes.Buffer
}

// Row types mirror sql/tables/*.sql column for column; the JSON keys are the
// column names (a test checks them against the tables the DDL creates).

type runRow struct {
	RunID              string          `json:"run_id"`
	RunDate            string          `json:"run_date"`
	Version            string          `json:"version"`
	Organization       string          `json:"organization"`
	Scope              string          `json:"scope"`
	Source             string          `json:"source"`
	StartedAt          *string         `json:"started_at"`
	FinishedAt         *string         `json:"finished_at"`
	EvaluatedAt        *string         `json:"evaluated_at"`
	Complete           bool            `json:"complete"`
	Gaps               []gapRow        `json:"gaps"`
	SkippedTotal       int             `json:"skipped_total"`
	Skipped            []skipRow       `json:"skipped"`
	Findings           int             `json:"findings"`
	ActionableFindings int             `json:"actionable_findings"`
	UndecidedFindings  int             `json:"undecided_findings"`
	ByKind             []kindCount     `json:"by_kind"`
	BySeverity         []severityCount `json:"by_severity"`
	ByProject          []projectCount  `json:"by_project"`
	Inventory          []categoryCount `json:"inventory"`
	LoadedAt           *string         `json:"loaded_at"`
	ExceptedFindings   int             `json:"excepted_findings"`
	OpenFindings       int             `json:"open_findings"`
	ExpiredExceptions  int             `json:"expired_exceptions"`
	UnmatchedExcepts   int             `json:"unmatched_exceptions"`
}

type gapRow struct {
	Scope     string `json:"scope"`
	AssetType string `json:"asset_type"`
	Reason    string `json:"reason"`
}

type skipRow struct {
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

type kindCount struct {
	Kind     string `json:"kind"`
	Findings int    `json:"findings"`
}

type severityCount struct {
	Severity string `json:"severity"`
	Findings int    `json:"findings"`
}

type projectCount struct {
	ProjectID string `json:"project_id"`
	Findings  int    `json:"findings"`
}

type categoryCount struct {
	Category string `json:"category"`
	Items    int    `json:"items"`
}

type findingRow struct {
	RunID         string   `json:"run_id"`
	RunDate       string   `json:"run_date"`
	FindingID     string   `json:"finding_id"`
	Kind          string   `json:"kind"`
	Severity      string   `json:"severity"`
	Actionable    bool     `json:"actionable"`
	Resource      string   `json:"resource"`
	ResourceType  string   `json:"resource_type"`
	ProjectID     string   `json:"project_id"`
	ProjectNumber string   `json:"project_number"`
	Location      string   `json:"location"`
	Principal     string   `json:"principal"`
	Image         string   `json:"image"`
	Repository    string   `json:"repository"`
	LastDeployer  bool     `json:"last_deployer"`
	Permission    string   `json:"permission"`
	Secret        string   `json:"secret"`
	Reason        string   `json:"reason"`
	Remediation   string   `json:"remediation"`
	Folders       []string `json:"folders"`
	Organization  string   `json:"organization"`
	Confirmation  string   `json:"confirmation"`
	// Log evidence: NULL when the logs were not read; the columns are
	// NULLABLE, so a table created before them takes them by ALTER TABLE.
	LogEvidence      *string `json:"log_evidence"`
	FailedDeploys    *int    `json:"failed_deploys"`
	FirstFailure     *string `json:"first_failure"`
	LastFailure      *string `json:"last_failure"`
	FailedBy         *string `json:"failed_by"`
	ActiveDeployer   *bool   `json:"active_deployer"`
	Deploys          *int    `json:"deploys"`
	LastDeploy       *string `json:"last_deploy"`
	DeployerActivity *string `json:"deployer_activity"`
	Excepted         bool    `json:"excepted"`
	ExceptWhere      string  `json:"exception_where"`
	ExceptReason     string  `json:"exception_reason"`
	ExceptOwner      string  `json:"exception_owner"`
	ExceptExpires    string  `json:"exception_expires"`
}

type inventoryRow struct {
	RunID          string   `json:"run_id"`
	RunDate        string   `json:"run_date"`
	Resource       string   `json:"resource"`
	ResourceType   string   `json:"resource_type"`
	ProjectID      string   `json:"project_id"`
	ProjectNumber  string   `json:"project_number"`
	Location       string   `json:"location"`
	Container      string   `json:"container"`
	Image          string   `json:"image"`
	ImageClass     string   `json:"image_class"`
	Repository     string   `json:"repository"`
	ServiceAccount string   `json:"service_account"`
	Creator        string   `json:"creator"`
	LastModifier   string   `json:"last_modifier"`
	Verdict        string   `json:"verdict"`
	Findings       int      `json:"findings"`
	Folders        []string `json:"folders"`
	Organization   string   `json:"organization"`
}

type coverageRow struct {
	RunID         string   `json:"run_id"`
	RunDate       string   `json:"run_date"`
	ProjectID     string   `json:"project_id"`
	ProjectNumber string   `json:"project_number"`
	Folders       []string `json:"folders"`
	Services      int      `json:"services"`
	Jobs          int      `json:"jobs"`
	Repositories  int      `json:"repositories"`
	Secrets       int      `json:"secrets"`
	IAMPolicies   int      `json:"iam_policies"`
	Complete      bool     `json:"complete"`
	Gaps          []string `json:"gaps"`
	// Added after the first release: NULLABLE and last, so that a table
	// created before it takes it by ALTER TABLE.
	WorkerPools int `json:"worker_pools"`
}

// RunDate is the day a run belongs to: the UTC date it started. A day holds
// one run; writing another run of the same day replaces it.
func RunDate(s audit.Summary) string {
	return s.StartedAt.UTC().Format(time.DateOnly)
}

// encode turns a result into one NDJSON payload per table. It is pure: the
// load time is passed in.
func encode(res audit.Result, loadedAt time.Time) (*batch, error) {
	s := res.Summary
	if s.RunID == "" {
		return nil, errors.New("run has no run_id")
	}
	if s.StartedAt.IsZero() {
		return nil, fmt.Errorf("run %s has no started_at: its run_date is unknown", s.RunID)
	}
	b := &batch{runID: s.RunID, runDate: RunDate(s), data: map[string][]byte{}, rows: map[string]int{},
		encoders: map[string]*json.Encoder{}, buffers: map[string]*bytes.Buffer{}}

	actionable, excepted, open := 0, 0, 0
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Kind.Actionable() {
			actionable++
		}
		if f.Excepted {
			excepted++
		}
		if f.Open() {
			open++
		}
	}
	run := runRow{
		RunID:        s.RunID,
		RunDate:      b.runDate,
		Version:      s.Version,
		Organization: s.Organization,
		Scope:        s.Scope,
		Source:       s.Source,
		StartedAt:    timestamp(s.StartedAt),
		FinishedAt:   timestamp(s.FinishedAt),
		EvaluatedAt:  timestamp(s.EvaluatedAt),
		// A run with gaps is never presented as complete, whatever it says.
		Complete:           s.Complete && len(s.Gaps) == 0,
		Gaps:               []gapRow{},
		SkippedTotal:       s.SkippedTotal,
		Skipped:            []skipRow{},
		Findings:           len(res.Findings),
		ActionableFindings: actionable,
		UndecidedFindings:  s.Undecided,
		ByKind:             []kindCount{},
		BySeverity:         []severityCount{},
		ByProject:          []projectCount{},
		Inventory:          []categoryCount{},
		LoadedAt:           timestamp(loadedAt),
		ExceptedFindings:   excepted,
		OpenFindings:       open,
	}
	if x := s.Exceptions; x != nil {
		run.ExpiredExceptions, run.UnmatchedExcepts = len(x.Expired), len(x.Unmatched)
	}
	for _, g := range s.Gaps {
		run.Gaps = append(run.Gaps, gapRow{Scope: g.Scope, AssetType: g.AssetType, Reason: g.Reason})
	}
	for _, k := range s.Skipped {
		run.Skipped = append(run.Skipped, skipRow{Input: k.Where, Reason: k.Reason})
	}
	for _, k := range sortedKeys(s.ByKind) {
		run.ByKind = append(run.ByKind, kindCount{k, s.ByKind[k]})
	}
	for _, k := range sortedKeys(s.BySeverity) {
		run.BySeverity = append(run.BySeverity, severityCount{k, s.BySeverity[k]})
	}
	for _, k := range sortedKeys(s.ByProject) {
		run.ByProject = append(run.ByProject, projectCount{k, s.ByProject[k]})
	}
	for _, k := range sortedKeys(s.Inventory) {
		run.Inventory = append(run.Inventory, categoryCount{k, s.Inventory[k]})
	}
	if err := b.add(tableRuns, run); err != nil {
		return nil, err
	}

	for i, f := range res.Findings {
		if f.FindingID == "" || f.Kind == "" || f.Severity == "" {
			return nil, fmt.Errorf("finding %d (%s %s): finding_id, kind and severity are required", i, f.Kind, f.Resource)
		}
		err := b.add(tableFindings, findingRow{
			RunID:         s.RunID,
			RunDate:       b.runDate,
			FindingID:     f.FindingID,
			Kind:          string(f.Kind),
			Severity:      string(f.Severity),
			Actionable:    f.Kind.Actionable(),
			Resource:      f.Resource,
			ResourceType:  f.ResourceType,
			ProjectID:     f.ProjectID,
			ProjectNumber: f.ProjectNumber,
			Location:      f.Location,
			Principal:     f.Principal,
			Image:         f.Image,
			Repository:    f.Repository,
			LastDeployer:  f.LastDeployer,
			Permission:    f.Permission,
			Secret:        f.Secret,
			Reason:        f.Reason,
			Remediation:   f.Remediation,
			Folders:       nonNil(f.Folders),
			Organization:  f.Organization,
			Confirmation:  f.Confirmation,
			Excepted:      f.Excepted,
			LogEvidence:   nullString(f.LogEvidence), FailedDeploys: nullCount(f.FailedDeploys, f.LogEvidence),
			FirstFailure: nullTime(f.FirstFailure), LastFailure: nullTime(f.LastFailure), FailedBy: nullString(f.FailedBy),
			ActiveDeployer: decided(f.ActiveDeployer, f.DeployerActivity), Deploys: nullCount(f.Deploys, f.DeployerActivity),
			LastDeploy: nullTime(f.LastDeploy), DeployerActivity: nullString(f.DeployerActivity),
		}.withException(f.Exception))
		if err != nil {
			return nil, err
		}
	}

	for i, r := range res.Inventory {
		if r.Resource == "" || r.Verdict == "" {
			return nil, fmt.Errorf("inventory row %d (%s): resource and verdict are required", i, r.Image)
		}
		err := b.add(tableInventory, inventoryRow{
			RunID:          s.RunID,
			RunDate:        b.runDate,
			Resource:       r.Resource,
			ResourceType:   r.ResourceType,
			ProjectID:      r.ProjectID,
			ProjectNumber:  r.ProjectNumber,
			Location:       r.Location,
			Container:      r.Container,
			Image:          r.Image,
			ImageClass:     r.ImageClass,
			Repository:     r.Repository,
			ServiceAccount: r.ServiceAccount,
			Creator:        r.Creator,
			LastModifier:   r.LastModifier,
			Verdict:        string(r.Verdict),
			Findings:       r.Findings,
			Folders:        nonNil(r.Folders),
			Organization:   r.Organization,
		})
		if err != nil {
			return nil, err
		}
	}

	for i, c := range res.Coverage {
		if c.ProjectID == "" {
			return nil, fmt.Errorf("coverage row %d (project number %s): project_id is required", i, c.ProjectNumber)
		}
		err := b.add(tableCoverage, coverageRow{
			RunID:         s.RunID,
			RunDate:       b.runDate,
			ProjectID:     c.ProjectID,
			ProjectNumber: c.ProjectNumber,
			Folders:       nonNil(c.Folders),
			Services:      c.Services,
			Jobs:          c.Jobs,
			Repositories:  c.Repositories,
			Secrets:       c.Secrets,
			IAMPolicies:   c.IAMPolicies,
			Complete:      len(c.Gaps) == 0,
			Gaps:          nonNil(c.Gaps),
			WorkerPools:   c.WorkerPools,
		})
		if err != nil {
			return nil, err
		}
	}
	return b.finish(), nil
}

// withException fills the exception columns.
func (r findingRow) withException(e *audit.Exception) findingRow {
	if e != nil {
		r.ExceptWhere, r.ExceptReason, r.ExceptOwner, r.ExceptExpires = e.Where, e.Reason, e.Owner, e.Expires
	}
	return r
}

func (b *batch) add(table string, row any) error {
	enc, ok := b.encoders[table]
	if !ok {
		buf := new(bytes.Buffer)
		enc = json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		b.encoders[table], b.buffers[table] = enc, buf
	}
	// Encode writes one line per row: newline-delimited JSON.
	if err := enc.Encode(row); err != nil {
		return fmt.Errorf("encoding %s row %d of run %s: %w", table, b.rows[table], b.runID, err)
	}
	b.rows[table]++
	return nil
}

// finish moves the encoded rows into data.
func (b *batch) finish() *batch {
	for t, buf := range b.buffers {
		b.data[t] = buf.Bytes()
	}
	b.encoders, b.buffers = nil, nil
	return b
}

// timestamp formats t the way BigQuery loads TIMESTAMP values from JSON; the
// zero time is NULL.
func timestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02 15:04:05.000000") + " UTC"
	return &s
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nonNil keeps empty lists as [] rather than null, which a REPEATED column
// would reject.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nullString writes a STRING cell, NULL when empty.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullCount writes an INT64 cell where its field applies (set is not
// empty), NULL elsewhere.
func nullCount(n int, set string) *int {
	if set == "" {
		return nil
	}
	return &n
}

// nullTime writes a TIMESTAMP cell, NULL for an unset time.
func nullTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// decided writes a BOOL that is NULL where it was not decided.
func decided(b bool, activity string) *bool {
	if activity == "" || activity == "UNDECIDED" {
		return nil
	}
	return &b
}
