package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Config is everything a run is told, from flags or, for the scheduled job,
// from the environment variable named beside each flag.
//
// Each area of the job keeps its own flags in its own file: collect.go
// (where the inventory comes from), outputs.go (where results go),
// accuracy.go (how grants are decided).
type Config struct {
	Collect   CollectConfig
	Output    OutputConfig
	Accuracy  AccuracyConfig
	AuditLogs AuditLogConfig

	Concurrency int
	LogFormat   string
	Quiet       bool
	Version     bool
}

// listFlag is a repeatable flag; from the environment it takes a
// comma-separated list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	*l.v = append(*l.v, s)
	return nil
}

// timeFlag parses RFC 3339 times.
type timeFlag struct{ t *time.Time }

func (f timeFlag) String() string {
	if f.t == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-01-02T15:04:05Z: %w", err)
	}
	*f.t = t
	return nil
}

// envNames maps each flag to its environment variable.
var envNames = map[string]string{}

// def records the environment variable of a flag.
func def(name, env string) { envNames[name] = env }

func defineFlags(fs *flag.FlagSet, c *Config) {
	c.Collect.define(fs, def)
	c.Output.define(fs, def)
	c.Accuracy.define(fs, def)
	c.AuditLogs.define(fs, def)
	fs.IntVar(&c.Concurrency, "concurrency", 0, "resources evaluated at once (0: one per CPU)")
	def("concurrency", "AUDIT_CONCURRENCY")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "logs on stderr: text, json, or auto (text on a terminal, JSON otherwise)")
	def("log-format", "AUDIT_LOG_FORMAT")
	fs.BoolVar(&c.Quiet, "quiet", false, "no human summary on stderr")
	def("quiet", "AUDIT_QUIET")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
}

// errUsage marks a configuration the user must correct.
var errUsage = errors.New("usage")

// errHelp means the usage was asked for and printed.
var errHelp = errors.New("help requested")

// parseConfig reads flags, then fills every flag not given on the command
// line from its environment variable.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defineFlags(fs, c)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: audit (--export PATH | --org ID | --folder ID | --project ID) [flags]\n\nFinds Cloud Run deployers and service agents that cannot read their container images.\n\nFlags (each also read from the environment variable shown):\n")
		fs.VisitAll(func(f *flag.Flag) {
			if env := envNames[f.Name]; env != "" {
				fmt.Fprintf(stderr, "  --%s (env %s)\n    \t%s", f.Name, env, f.Usage)
			} else {
				fmt.Fprintf(stderr, "  --%s\n    \t%s", f.Name, f.Usage)
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(stderr, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := envNames[f.Name]
		v := getenv(env)
		if set[f.Name] || v == "" || err != nil {
			return
		}
		if _, ok := f.Value.(listFlag); ok {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					f.Value.Set(part)
				}
			}
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%w: %s=%q: %v", errUsage, env, v, e)
		}
	})
	if err != nil {
		return nil, err
	}
	if c.Version {
		return c, nil
	}
	for _, check := range []func() error{c.Collect.check, c.Output.check, c.Accuracy.check, c.AuditLogs.check} {
		if err := check(); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return nil, fmt.Errorf("%w: --log-format must be text, json or auto, not %q", errUsage, c.LogFormat)
	}
	if c.Concurrency < 0 {
		return nil, fmt.Errorf("%w: --concurrency must not be negative", errUsage)
	}
	return c, nil
}
