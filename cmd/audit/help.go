package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// helpGroups orders the flags in audit --help. A flag no group lists is
// shown under "Other flags", so a new flag is never hidden.
var helpGroups = []struct {
	title string
	flags []string
}{
	{"Source: a Cloud Asset Inventory export (or a live scope, below)", []string{"export"}},
	{"Scope: collect live from Cloud Asset Inventory (one of these, or --export)", []string{"org", "folder", "project", "collect", "export-staging"}},
	{"Outputs", []string{"out", "baseline", "report-uri", "bq-dataset", "bq-location", "bq-endpoint", "workbook-inventory-rows", "quiet", "log-format"}},
	{"Accuracy: how grants are decided (docs/accuracy.md)", []string{"at", "groups", "resolve-groups", "deny-policies", "read-deny-policies", "deny-policies-projects", "confirm", "probe-public-images", "audit-logs", "audit-log-file", "audit-log-view", "audit-log-days"}},
	{"Tuning", []string{"concurrency", "list-assets-qpm", "streams", "timeout", "quota-project", "groups-qps", "deny-policies-rate", "confirm-rate", "probe-timeout", "probe-budget", "audit-log-rate", "asset-emulator-host", "logging-emulator-host"}},
}

// placeholders names the value a flag takes; flags not listed get one from
// their type.
var placeholders = map[string]string{
	"export": "PATH", "org": "ID", "folder": "ID", "project": "ID",
	"out": "DIR", "baseline": "FILE", "report-uri": "gs://BUCKET/PREFIX/", "bq-dataset": "PROJECT.DATASET",
	"bq-location": "LOCATION", "bq-endpoint": "URL", "log-format": "text|json|auto",
	"at": "TIME", "groups": "FILE", "deny-policies": "FILE", "asset-emulator-host": "HOST:PORT",
	"collect": "list|export", "audit-log-file": "FILE", "audit-log-view": "NAME", "audit-log-days": "N", "logging-emulator-host": "HOST:PORT", "export-staging": "gs://BUCKET/PREFIX", "quota-project": "PROJECT",
	"list-assets-qpm": "N", "streams": "N", "concurrency": "N",
	"groups-qps": "RATE", "deny-policies-rate": "RATE", "confirm-rate": "RATE",
}

// placeholder returns the value placeholder of f, "" for a boolean.
func placeholder(f *flag.Flag) string {
	if p, ok := placeholders[f.Name]; ok {
		return p
	}
	v := f.Value
	if cv, ok := v.(*checkedValue); ok {
		v = cv.Value
	}
	if b, ok := v.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	if g, ok := v.(flag.Getter); ok {
		switch g.Get().(type) {
		case int, int64, uint, uint64, float64:
			return "N"
		case time.Duration:
			return "DURATION"
		}
	}
	return "VALUE"
}

const usageHead = `Usage: audit (--export PATH ... | --org ID | --folder ID | --project ID) [flags]

Finds, across a Google Cloud organization, every principal that can deploy a
Cloud Run service, job or worker pool but cannot read its container image in
Artifact Registry, and the registry-side grants Cloud Run and Artifact
Registry need.
Writes findings.jsonl, findings.csv, inventory.jsonl, summary.json and
report.xlsx to --out; prints a summary on stdout and logs on stderr.

Every flag can also be set by the environment variable shown beside it, for
a scheduled job; a flag on the command line wins.
`

const usageTail = `Exit codes:
  0  the audit ran over everything it was given (findings or not)
  1  the audit failed; do not trust partial outputs
  2  usage: a bad flag or environment variable
  3  the audit ran, but the scan has gaps; the summary and summary.json say
     what was not read and what that leaves undecided

Examples:
  # The shipped example organization; no credentials needed.
  audit --export examples/acme

  # A live organization, with group memberships from Cloud Identity.
  audit --org 123456789012 --resolve-groups --out ./audit-out

  # The nightly job: BigQuery and Cloud Storage, configured from the
  # environment, logs only.
  AUDIT_ORG=123456789012 AUDIT_BQ_DATASET=acme-audit.runaudit \
    AUDIT_REPORT_URI=gs://acme-audit-reports/runaudit/ AUDIT_QUIET=true audit

More: README.md; docs/accuracy.md, docs/workbook.md, docs/deploy.md.
`

// writeUsage prints audit --help: the flags by group, each with its
// placeholder, meaning, default and environment variable; the exit codes;
// and examples.
func writeUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, usageHead)
	listed := map[string]bool{}
	section := func(title string, names []string) {
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, name := range names {
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			listed[name] = true
			writeFlag(w, f)
		}
	}
	for _, g := range helpGroups {
		section(g.title, g.flags)
	}
	var other []string
	fs.VisitAll(func(f *flag.Flag) {
		if !listed[f.Name] && f.Name != "version" {
			other = append(other, f.Name)
		}
	})
	section("Other flags", append(other, "version"))
	fmt.Fprintln(w)
	fmt.Fprint(w, usageTail)
}

// writeFlag prints one flag: "--name PLACEHOLDER", then its meaning
// wrapped, then its default and environment variable.
func writeFlag(w io.Writer, f *flag.Flag) {
	head := "  --" + f.Name
	if p := placeholder(f); p != "" {
		head += " " + p
	}
	fmt.Fprintln(w, head)
	var notes []string
	if d := f.DefValue; d != "" && d != "false" && d != "0" {
		notes = append(notes, "default "+d)
	}
	if env := envNames[f.Name]; env != "" {
		e := "env " + env
		if _, ok := f.Value.(*checkedValue).Value.(listFlag); ok {
			e += ", comma-separated"
		}
		notes = append(notes, e)
	}
	text := f.Usage
	if len(notes) > 0 {
		text += " [" + strings.Join(notes, "; ") + "]"
	}
	for _, line := range wrap(text, 72) {
		fmt.Fprintln(w, "      "+line)
	}
}

// wrap breaks s into lines of at most width bytes at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
