package bq

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"google.golang.org/api/option"
)

// Config says where the sink writes.
type Config struct {
	// Project is the Google Cloud project that holds the dataset and runs
	// the sink's load and query jobs.
	Project string
	// Dataset is the dataset id. The sink creates it, its tables and its
	// views when they are missing.
	Dataset string
	// Location is where a missing dataset is created ("US" when empty).
	// An existing dataset keeps its location; a different non-empty
	// Location is an error rather than a silent cross-region write.
	Location string
	// Endpoint overrides the BigQuery API endpoint. An https:// endpoint
	// (a private or regional endpoint) keeps the usual credentials. A plain
	// http:// endpoint is taken to be goccy/bigquery-emulator, e.g.
	// http://127.0.0.1:9050: it is called without credentials (none are
	// sent in clear text), receives each upload in one request, gets the
	// tables' DDL without PARTITION BY and CLUSTER BY, and has views
	// dropped before they are created again, because the emulator cannot
	// do otherwise (see docs/dashboards.md).
	Endpoint string
	// ClientOptions are passed to the BigQuery client after the sink's own
	// (credentials, HTTP client, ...).
	ClientOptions []option.ClientOption
	// Logger receives what the sink cannot return as an error, such as a
	// staging table it failed to drop after a successful write. Defaults to
	// slog.Default().
	Logger *slog.Logger
}

var (
	// Project ids, optionally domain-scoped (example.com:my-project). Looser
	// than Google's 6–30 characters so emulator projects like "test" work;
	// what matters here is that no quote or backtick can reach the SQL.
	projectRE = regexp.MustCompile(`^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{0,62}$`)
	datasetRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// ParseDataset splits the --bq-dataset value PROJECT.DATASET. The project
// may be domain-scoped (example.com:project.dataset): the dataset follows
// the last dot.
func ParseDataset(s string) (project, dataset string, err error) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return "", "", fmt.Errorf("BigQuery dataset %q: want PROJECT.DATASET", s)
	}
	project, dataset = s[:i], s[i+1:]
	if err := validate(project, dataset); err != nil {
		return "", "", err
	}
	return project, dataset, nil
}

func validate(project, dataset string) error {
	if !projectRE.MatchString(project) {
		return fmt.Errorf("BigQuery project %q: not a project id", project)
	}
	if !datasetRE.MatchString(dataset) || len(dataset) > 1024 {
		return fmt.Errorf("BigQuery dataset %q: only letters, digits and underscores are allowed", dataset)
	}
	return nil
}
