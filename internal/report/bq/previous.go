package bq

import (
	"context"
	"fmt"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/runaudit/runaudit/internal/audit"
)

// Previous reads the run before s (the latest run of an earlier run_date,
// since a date holds one run) and its findings, for comparing with s. It
// returns an empty run id when the dataset holds no earlier run. The
// findings carry the fields a change notice needs: id, kind, severity,
// resource, project, principal, repository, remediation and whether they
// were excepted.
func (s *Sink) Previous(ctx context.Context, cur audit.Summary) (runID string, findings []audit.Finding, err error) {
	date := RunDate(cur)
	q := s.client.Query("SELECT run_id FROM " + ref(s.project, s.dataset, tableRuns) +
		" WHERE run_date < CAST(@date AS DATE) ORDER BY run_date DESC, started_at DESC LIMIT 1")
	q.Parameters = []bigquery.QueryParameter{{Name: "date", Value: date}}
	q.Location = s.location
	q.Labels = jobLabels
	it, err := q.Read(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("finding the run before %s: %w", date, err)
	}
	var row struct {
		RunID string `bigquery:"run_id"`
	}
	switch err := it.Next(&row); err {
	case nil:
	case iterator.Done:
		return "", nil, nil
	default:
		return "", nil, fmt.Errorf("finding the run before %s: %w", date, err)
	}
	q = s.client.Query("SELECT finding_id, kind, severity, resource, project_id, principal, repository, remediation, excepted FROM " +
		ref(s.project, s.dataset, tableFindings) + " WHERE run_id = @run_id")
	q.Parameters = []bigquery.QueryParameter{{Name: "run_id", Value: row.RunID}}
	q.Location = s.location
	q.Labels = jobLabels
	it, err = q.Read(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("reading the findings of run %s: %w", row.RunID, err)
	}
	for {
		var r struct {
			FindingID   string              `bigquery:"finding_id"`
			Kind        string              `bigquery:"kind"`
			Severity    string              `bigquery:"severity"`
			Resource    bigquery.NullString `bigquery:"resource"`
			ProjectID   bigquery.NullString `bigquery:"project_id"`
			Principal   bigquery.NullString `bigquery:"principal"`
			Repository  bigquery.NullString `bigquery:"repository"`
			Remediation bigquery.NullString `bigquery:"remediation"`
			Excepted    bigquery.NullBool   `bigquery:"excepted"`
		}
		err := it.Next(&r)
		if err == iterator.Done {
			return row.RunID, findings, nil
		}
		if err != nil {
			return "", nil, fmt.Errorf("reading the findings of run %s: %w", row.RunID, err)
		}
		findings = append(findings, audit.Finding{
			FindingID: r.FindingID, Kind: audit.Kind(r.Kind), Severity: audit.Severity(r.Severity),
			Resource: r.Resource.StringVal, ProjectID: r.ProjectID.StringVal, Principal: r.Principal.StringVal,
			Repository: r.Repository.StringVal, Remediation: r.Remediation.StringVal, Excepted: r.Excepted.Bool,
		})
	}
}
