package main

import (
	"flag"
	"fmt"

	"google.golang.org/api/option"
	"google.golang.org/api/option/internaloption"

	"github.com/runaudit/runaudit/internal/scan"
)

// The Google APIs the run calls, as named to googleOptions.
const (
	apiAsset          = "cloudasset"
	apiStorage        = "storage"
	apiBigQuery       = "bigquery"
	apiCloudIdentity  = "cloudidentity"
	apiIAM            = "iam"
	apiTroubleshooter = "policytroubleshooter"
	apiSCC            = "securitycenter"
	apiPubSub         = "pubsub"
	apiLogging        = "logging"
)

// defineQuotaProject adds --quota-project. Without it the client libraries
// choose the quota project as Application Default Credentials say:
// GOOGLE_CLOUD_QUOTA_PROJECT, else the credentials file's quota_project_id
// (`gcloud auth application-default set-quota-project`), else the service
// account's own project (docs/quotas.md).
func defineQuotaProject(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.QuotaProject, "quota-project", "", "project billed for the quota of every API call (sent as x-goog-user-project); default: Application Default Credentials' quota project")
	def("quota-project", "AUDIT_QUOTA_PROJECT")
}

func checkQuotaProject(p string) error {
	if p == "" {
		return nil
	}
	if _, err := scan.Scope("project", p); err != nil {
		return fmt.Errorf("--quota-project: %w", err)
	}
	return nil
}

// testClientOptions, when a test sets it, come last on every Google API
// client of the run. The emulator-host variables dial without credentials,
// and a client sends its quota project only with credentials, so a test
// that checks the quota project reaching a fake dials it this way instead.
var testClientOptions func(api string) []option.ClientOption

// googleOptions returns the options for the run's client of api: base (how
// to reach it), then the quota project, so that every call of the run
// bills the same project's quota.
func (c *Config) googleOptions(api string, base ...option.ClientOption) []option.ClientOption {
	opts := append([]option.ClientOption(nil), base...)
	if c.QuotaProject != "" {
		opts = append(opts, option.WithQuotaProject(c.QuotaProject))
		if api == apiStorage {
			// storage.NewClient builds its HTTP client from these options
			// (which sends the header) and then hands it to the JSON API
			// service with WithHTTPClient, which the option check refuses
			// next to a quota project; the check is skipped as the client
			// already skips it against an emulator.
			opts = append(opts, internaloption.SkipDialSettingsValidation())
		}
	}
	if testClientOptions != nil {
		opts = append(opts, testClientOptions(api)...)
	}
	return opts
}
