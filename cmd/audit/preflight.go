package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/oauth2/google"

	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/scan"
)

// preflight checks, before the first API call and in well under a second,
// what can fail only after a long collection otherwise: that the output
// directory is writable (and clears the earlier run's outputs from it), and
// that Application Default Credentials exist for every API the run will
// call without an emulator. Flag forms (the BigQuery dataset, the gs://
// URIs) were checked with the flags.
func preflight(ctx context.Context, cfg *Config, getenv func(string) string) error {
	if err := checkOutDir(cfg.Output.Dir); err != nil {
		return err
	}
	needs := credentialUsers(cfg, func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return os.Getenv(k) // the client libraries read the process's own
	})
	if len(needs) == 0 {
		return nil
	}
	if err := findCredentials(ctx); err != nil {
		return fmt.Errorf("%s need Application Default Credentials: %v; run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a key file", strings.Join(needs, ", "), err)
	}
	return nil
}

// checkOutDir makes sure the output directory can be written, then removes
// the outputs of an earlier run from it.
func checkOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".audit-write-check-*")
	if err != nil {
		return fmt.Errorf("--out %s is not writable: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	if err := report.Clear(dir); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	return nil
}

// credentialUsers names the APIs the run calls with real credentials.
func credentialUsers(cfg *Config, getenv func(string) string) []string {
	var out []string
	add := func(what, emulatorEnv string) {
		if getenv(emulatorEnv) == "" {
			out = append(out, what)
		}
	}
	if cfg.Collect.scope != "" && cfg.Collect.EmulatorHost == "" {
		add("Cloud Asset Inventory ("+cfg.Collect.scope+")", scan.EmulatorHostEnv)
	}
	for _, e := range cfg.Collect.Exports {
		if scan.IsGCS(e) {
			add("Cloud Storage ("+e+")", "STORAGE_EMULATOR_HOST")
			break
		}
	}
	if cfg.Output.ReportURI != "" {
		add("Cloud Storage (--report-uri)", "STORAGE_EMULATOR_HOST")
	}
	if cfg.Output.BQDataset != "" && cfg.Output.BQEndpoint == "" {
		out = append(out, "BigQuery (--bq-dataset)")
	}
	if cfg.Accuracy.ResolveGroups && !cfg.Accuracy.groupsByDefault {
		add("Cloud Identity (--resolve-groups)", cloudIdentityHostEnv)
	}
	if cfg.Accuracy.ReadDeny {
		add("IAM (--read-deny-policies)", iamHostEnv)
	}
	if cfg.Accuracy.Confirm {
		add("Policy Troubleshooter (--confirm)", troubleshooterEnv)
	}
	return out
}

// errNoCredentials means no source of Application Default Credentials is
// present.
var errNoCredentials = errors.New("none found")

// findCredentials looks for Application Default Credentials without calling
// any API. A key file (GOOGLE_APPLICATION_CREDENTIALS, or gcloud's
// application-default file) is parsed by the Google auth library; on Cloud
// Run or Compute Engine the metadata server provides them, which is told
// from the environment rather than probed over the network.
func findCredentials(ctx context.Context) error {
	if p := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); p != "" {
		_, err := google.FindDefaultCredentials(ctx)
		return err
	}
	if p := wellKnownADC(); p != "" {
		if _, err := os.Stat(p); err == nil {
			_, err := google.FindDefaultCredentials(ctx)
			return err
		}
	}
	if os.Getenv("K_SERVICE") != "" || os.Getenv("CLOUD_RUN_JOB") != "" || os.Getenv("GCE_METADATA_HOST") != "" {
		return nil
	}
	if b, err := os.ReadFile("/sys/class/dmi/id/product_name"); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "Google") {
		return nil
	}
	return errNoCredentials
}

// wellKnownADC is where `gcloud auth application-default login` writes.
func wellKnownADC() string {
	if d := os.Getenv("CLOUDSDK_CONFIG"); d != "" {
		return filepath.Join(d, "application_default_credentials.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
}
