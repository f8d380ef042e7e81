package main

import (
	"bytes"
	"context"
	"flag"
	"regexp"
	"strings"
	"testing"
)

// audit --help goes to stdout, exits 0, and lists every flag in its group
// with a placeholder, default and environment variable, then the exit
// codes and the examples.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, noEnv, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	if stderr.Len() > 0 {
		t.Errorf("--help wrote to stderr:\n%s", stderr.String())
	}
	help := stdout.String()

	// Groups, in order.
	last := -1
	for _, g := range []string{"\nSource: ", "\nScope: ", "\nOutputs:", "\nAccuracy: ", "\nTuning:", "\nExit codes:", "\nExamples:"} {
		i := strings.Index(help, g)
		if i < 0 || i < last {
			t.Errorf("help lacks %q after the previous group", g)
		}
		last = i
	}
	// Every flag, in the group the table puts it in, with its value
	// placeholder, its default and its environment variable.
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	defineFlags(fs, &Config{})
	fs.VisitAll(func(f *flag.Flag) {
		f.Value = &checkedValue{Value: f.Value}
		head := "\n  --" + f.Name
		if p := placeholder(f); p != "" {
			head += " " + p
		}
		i := strings.Index(help, head+"\n")
		if i < 0 {
			t.Errorf("help lacks %q on a line of its own", head)
			return
		}
		entry := help[i+len(head)+1:]
		entry = entry[:strings.Index(entry, "\n  --")+1]
		entry = strings.Join(strings.Fields(entry), " ")
		if env := envNames[f.Name]; env != "" && !strings.Contains(entry, "env "+env) {
			t.Errorf("--%s: help does not name %s: %q", f.Name, env, entry)
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" && !strings.Contains(entry, "default "+d) {
			t.Errorf("--%s: help does not give the default %s: %q", f.Name, d, entry)
		}
	})
	for _, f := range []string{"export", "org", "out", "at", "list-assets-qpm", "concurrency", "timeout"} {
		if placeholder(fs.Lookup(f)) == "" {
			t.Errorf("--%s has no value placeholder", f)
		}
	}
	if p := placeholder(fs.Lookup("quiet")); p != "" {
		t.Errorf("--quiet is a boolean but shows placeholder %q", p)
	}
	for _, want := range []string{
		"  0  the audit ran", "  1  the audit failed", "  2  usage", "  3  the audit ran, but the scan has gaps",
		"audit --export examples/acme", "audit --org 123456789012 --resolve-groups", "AUDIT_BQ_DATASET=", "AUDIT_REPORT_URI=gs://",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	// No line is wider than a terminal.
	for _, line := range strings.Split(help, "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("help line of %d characters: %q", n, line)
		}
	}
}

// A flag no group lists is still shown, under "Other flags".
func TestHelpShowsUngroupedFlags(t *testing.T) {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	defineFlags(fs, &Config{})
	fs.String("brand-new", "", "a flag added without a help group")
	fs.VisitAll(func(f *flag.Flag) { f.Value = &checkedValue{Value: f.Value} })
	var buf bytes.Buffer
	writeUsage(&buf, fs)
	other := buf.String()[strings.Index(buf.String(), "Other flags:"):]
	if !regexp.MustCompile(`(?m)^  --brand-new VALUE$`).MatchString(other) {
		t.Errorf("ungrouped flag not under Other flags:\n%s", other)
	}
}

func TestNearestFlag(t *testing.T) {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	defineFlags(fs, &Config{})
	for in, want := range map[string]string{"exprot": "export", "orgg": "org", "bq-datset": "bq-dataset", "zzzzzz": "", "quite": "quiet"} {
		if got := nearestFlag(fs, in); got != want {
			t.Errorf("nearestFlag(%q) = %q, want %q", in, got, want)
		}
	}
}
