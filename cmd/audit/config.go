package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config is everything a run is told, from flags or, for the scheduled job,
// from the environment variable named beside each flag.
//
// Each area of the job keeps its own flags in its own file: collect.go
// (where the inventory comes from), outputs.go (where results go),
// accuracy.go (how grants are decided), probe.go (registry probes).
type Config struct {
	Collect   CollectConfig
	Output    OutputConfig
	Accuracy  AccuracyConfig
	Probe     ProbeConfig
	AuditLogs AuditLogConfig

	// QuotaProject, if set, is billed for every API call's quota.
	QuotaProject string

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

// rfc3339Want is what a bad time is told, instead of Go's layout string.
const rfc3339Want = "want RFC 3339, e.g. 2026-01-31T00:00:00Z"

func (f timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return errors.New(rfc3339Want)
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
	defineQuotaProject(fs, c)
	c.Probe.define(fs, def)
	c.AuditLogs.define(fs, def)
	fs.IntVar(&c.Concurrency, "concurrency", 0, "resources evaluated at once (0: one per CPU)")
	def("concurrency", "AUDIT_CONCURRENCY")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "logs on stderr: text, json, or auto (text on a terminal, JSON otherwise)")
	def("log-format", "AUDIT_LOG_FORMAT")
	fs.BoolVar(&c.Quiet, "quiet", false, "no human summary on stdout: only the logs on stderr")
	def("quiet", "AUDIT_QUIET")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
}

// errUsage marks a configuration the user must correct.
var errUsage = errors.New("usage")

// errHelp means the usage was asked for and printed.
var errHelp = errors.New("help requested")

// usageError is one line saying what is wrong with the command line or
// the environment, and where to read more.
type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg + " (see audit --help)" }
func (e usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// checkedValue wraps a flag's value so that a bad value is reported in
// words, naming the flag or variable and what it takes, rather than with
// the flag package's or strconv's messages.
type checkedValue struct {
	flag.Value
	bad error // the last Set error, said in words
}

func (v *checkedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		v.bad = errors.New(wantFor(v.Value, err))
		return v.bad
	}
	return nil
}

// IsBoolFlag keeps --flag (without =true) working for booleans.
func (v *checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// boolWords lists what strconv.ParseBool accepts.
const boolWords = "true or false (also 1, 0, t, f, TRUE, FALSE, True, False)"

// wantFor says what a value of v's kind must look like.
func wantFor(v flag.Value, err error) string {
	if _, ok := v.(timeFlag); ok {
		return err.Error()
	}
	g, ok := v.(flag.Getter)
	if !ok {
		return err.Error()
	}
	switch g.Get().(type) {
	case bool:
		return "want " + boolWords
	case int, int64, uint, uint64:
		return "want a whole number"
	case float64:
		return "want a number"
	case time.Duration:
		return "want a duration such as 90s, 30m or 2h"
	}
	return err.Error()
}

// parseConfig reads flags, then fills every flag not given on the command
// line from its environment variable. --help prints the usage to help.
func parseConfig(args []string, getenv func(string) string, help io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, in one line
	fs.Usage = func() {}     // the usage is printed for --help only
	defineFlags(fs, c)
	fs.VisitAll(func(f *flag.Flag) { f.Value = &checkedValue{Value: f.Value} })
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(help, fs)
			return nil, errHelp
		}
		return nil, flagError(fs, err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q: every input is given with a flag, e.g. --export %s", fs.Arg(0), fs.Arg(0))
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
		cv := f.Value.(*checkedValue)
		if _, ok := cv.Value.(listFlag); ok {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					f.Value.Set(part)
				}
			}
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = usagef("%s=%q (for --%s): %v", env, v, f.Name, e)
		}
	})
	if err != nil {
		return nil, err
	}
	if c.Version {
		return c, nil
	}
	for _, check := range []func() error{c.Collect.check, c.Output.check, c.Accuracy.check, c.Probe.check, c.AuditLogs.check} {
		if err := check(); err != nil {
			return nil, usageError{err.Error()}
		}
	}
	c.Accuracy.defaults(&c.Collect, set["resolve-groups"] || getenv(envNames["resolve-groups"]) != "")
	c.AuditLogs.defaults(&c.Collect, set["audit-logs"] || getenv(envNames["audit-logs"]) != "")
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return nil, usagef("--log-format must be text, json or auto, not %q", c.LogFormat)
	}
	if err := checkQuotaProject(c.QuotaProject); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.Concurrency < 0 {
		return nil, usagef("--concurrency must not be negative")
	}
	return c, nil
}

// flagError says a flag package error in one line, with the flag spelt as
// the help spells it.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		if near := nearestFlag(fs, name); near != "" {
			return usagef("unknown flag --%s; did you mean --%s?", name, near)
		}
		return usagef("unknown flag --%s", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		name = strings.TrimLeft(name, "-")
		if f := fs.Lookup(name); f != nil {
			return usagef("--%s needs a value: --%s %s", name, name, placeholder(f))
		}
		return usagef("--%s needs a value", name)
	}
	// "invalid value "x" for flag -name: …" and "invalid boolean value "x"
	// for -name: …": the value's own error is already in words.
	var bad error
	var name, value string
	fs.VisitAll(func(f *flag.Flag) {
		if cv := f.Value.(*checkedValue); cv.bad != nil && bad == nil {
			bad, name = cv.bad, f.Name
		}
	})
	if bad != nil {
		if _, rest, ok := strings.Cut(msg, "value "); ok {
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				value, _ = strconv.Unquote(q)
			}
		}
		if cv := fs.Lookup(name).Value.(*checkedValue); cv.IsBoolFlag() {
			return usagef("--%s=%s: %v", name, value, bad)
		}
		return usagef("--%s %s: %v", name, value, bad)
	}
	return usageError{msg}
}

// nearestFlag returns the defined flag closest to a misspelt name, or ""
// when none is close.
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 3 // at most two edits away
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
