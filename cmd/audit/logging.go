package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/report"
)

// labelsKey is the field Cloud Logging moves from a JSON log line into the
// entry's labels, where they are indexed (labels.run_id="…").
const labelsKey = "logging.googleapis.com/labels"

// maxLoggedGaps bounds the gaps named in the final log line.
const maxLoggedGaps = 10

// newLogger logs text on a terminal and JSON otherwise. The JSON is the
// structured form Cloud Logging parses from a container's stdout or stderr:
// "severity" (DEBUG, INFO, WARNING, ERROR), "message" and "time", every
// other attribute in the entry's jsonPayload. On Cloud Run (CLOUD_RUN_JOB
// is set) the run id also becomes an entry label.
func newLogger(format string, w io.Writer) *slog.Logger {
	return newLoggerEnv(format, w, os.Getenv)
}

// newLoggerEnv is newLogger reading the environment through getenv.
func newLoggerEnv(format string, w io.Writer, getenv func(string) string) *slog.Logger {
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		// A person at a terminal reads the summary; logs only add
		// warnings. They go through the screen, so that a log line never
		// breaks into the progress line.
		return slog.New(slog.NewTextHandler(screenFor(w), &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: textAttr}))
	}
	base := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: cloudAttr})
	return slog.New(&cloudHandler{base: base, inner: base, labelled: getenv("CLOUD_RUN_JOB") != ""})
}

// cloudAttr renames slog's built-in keys to the ones Cloud Logging reads.
// Text values are made inert (report.Inert): JSON escapes control
// characters below U+0020 but would pass C1 controls and bidi overrides
// from the cloud on to a terminal or the Logs Explorer.
func cloudAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.LevelKey:
			lvl, _ := a.Value.Any().(slog.Level)
			return slog.String("severity", severity(lvl))
		case slog.MessageKey:
			a.Key = "message"
		}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); report.Inert(s) != s {
			a.Value = slog.StringValue(report.Inert(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(report.Inert(err.Error()))
		}
	}
	return a
}

// textAttr makes a text log line read as key=value pairs throughout: a map
// becomes key.k=v for each entry, in key order, and a list key.1=…,
// key.2=…, where fmt would print map[…] and […]. (The text handler quotes
// any value holding a control, format or other unprintable character with
// strconv.Quote, which escapes it: cloud text in a log line is inert.)
func textAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	v := a.Value.Any()
	if _, ok := v.(error); ok {
		return a
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		keys := rv.MapKeys()
		attrs := make([]slog.Attr, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, textAttr(nil, slog.Any(fmt.Sprint(k.Interface()), rv.MapIndex(k).Interface())))
		}
		slices.SortFunc(attrs, func(x, y slog.Attr) int { return strings.Compare(x.Key, y.Key) })
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return a // bytes print as text
		}
		attrs := make([]slog.Attr, 0, rv.Len())
		for i := range rv.Len() {
			attrs = append(attrs, textAttr(nil, slog.Any(strconv.Itoa(i+1), rv.Index(i).Interface())))
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}
	}
	if st, ok := v.(fmt.Stringer); ok {
		return slog.String(a.Key, st.String())
	}
	return a
}

// severity maps a slog level to a Cloud Logging LogSeverity; levels between
// slog's named ones round down (INFO+2 is INFO).
func severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	default:
		return "ERROR"
	}
}

// cloudHandler is a JSON handler that, when labelled, adds the run id given
// through Logger.With("run_id", …) to the entry's labels as well. The labels
// must sit at the top level of the line, before any group a later With
// opened, so the wrapped handler is rebuilt from base at each With.
type cloudHandler struct {
	base     slog.Handler // the JSON handler with nothing attached
	inner    slog.Handler // base with labels and every With applied
	labelled bool
	labels   []slog.Attr
	ops      []withOp
	grouped  bool // a group is open: later attributes are not top-level
}

// withOp is one With or WithGroup call, replayed onto base.
type withOp struct {
	group string
	attrs []slog.Attr
}

func (h *cloudHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *cloudHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

func (h *cloudHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := h.clone()
	c.ops = append(c.ops, withOp{attrs: attrs})
	if c.labelled && !c.grouped {
		for _, a := range attrs {
			if a.Key == "run_id" {
				c.labels = append(c.labels, slog.String("run_id", a.Value.String()))
			}
		}
	}
	c.rebuild()
	return c
}

func (h *cloudHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := h.clone()
	c.ops = append(c.ops, withOp{group: name})
	c.grouped = true
	c.rebuild()
	return c
}

func (h *cloudHandler) clone() *cloudHandler {
	c := *h
	c.labels = append([]slog.Attr(nil), h.labels...)
	c.ops = append([]withOp(nil), h.ops...)
	return &c
}

func (h *cloudHandler) rebuild() {
	in := h.base
	if len(h.labels) > 0 {
		in = in.WithAttrs([]slog.Attr{{Key: labelsKey, Value: slog.GroupValue(h.labels...)}})
	}
	for _, op := range h.ops {
		if op.group != "" {
			in = in.WithGroup(op.group)
		} else {
			in = in.WithAttrs(op.attrs)
		}
	}
	h.inner = in
}

// logFinished writes the run's last log line: its outcome and counts, so
// that one entry in Cloud Logging says how the scheduled run went. A
// complete run logs INFO, a run with gaps WARNING (its exit code 3 fails
// the execution), a failed run ERROR.
func logFinished(log *slog.Logger, res audit.Result, code int) {
	s := res.Summary
	status, level := "complete", slog.LevelInfo
	switch code {
	case exitPartial:
		status, level = "incomplete", slog.LevelWarn
	case exitFailed, exitUsage:
		status, level = "failed", slog.LevelError
	case exitSIGINT, exitSIGTERM:
		status, level = "interrupted", slog.LevelWarn
	}
	actionable := 0
	for _, f := range res.Findings {
		if f.Kind.Actionable() {
			actionable++
		}
	}
	if s.RunID != "" {
		// Through With, so that on Cloud Run the run id is a label here too.
		log = log.With("run_id", s.RunID)
	}
	attrs := []slog.Attr{
		slog.String("status", status),
		slog.Int("exit_code", code),
	}
	attrs = append(attrs,
		slog.Int("findings", s.Findings),
		slog.Int("actionable", actionable),
		slog.Int("undecided", s.Undecided),
		slog.Any("by_severity", nonNil(s.BySeverity)),
		slog.Int("gaps", len(s.Gaps)),
		slog.Int("skipped", s.SkippedTotal),
		slog.Int("services", s.Inventory["services"]),
		slog.Int("jobs", s.Inventory["jobs"]),
		slog.Int("worker_pools", s.Inventory["worker_pools"]),
		slog.Int("projects", s.Inventory["projects"]),
	)
	if len(s.Gaps) > 0 {
		// The first few, so the entry alone says what is missing;
		// summary.json has them all. JSON logs carry each gap whole;
		// text logs name each by scope, asset type and content type, the
		// human summary having said it in words.
		gaps := make([]loggedGap, 0, maxLoggedGaps)
		for _, g := range s.Gaps[:min(len(s.Gaps), maxLoggedGaps)] {
			gaps = append(gaps, loggedGap(g))
		}
		attrs = append(attrs, slog.Any("gap_list", gaps))
	}
	if !s.StartedAt.IsZero() {
		// Until now, not s.FinishedAt (the end of evaluation): the
		// whole run, outputs included.
		attrs = append(attrs, slog.Float64("seconds", time.Since(s.StartedAt).Round(time.Millisecond).Seconds()))
	}
	log.LogAttrs(context.Background(), level, "audit finished: "+status, attrs...)
}

// loggedGap is a gap in the final log line: an object with the gap's
// fields in JSON, "SCOPE ASSET_TYPE CONTENT_TYPE" in text.
type loggedGap inventory.Gap

// MarshalJSON writes the gap's fields inert: reasons carry the service's
// own text.
func (g loggedGap) MarshalJSON() ([]byte, error) {
	for _, f := range []*string{&g.Scope, &g.AssetType, &g.ContentType, &g.Asset, &g.Reason, &g.Fix} {
		*f = report.Inert(*f)
	}
	return json.Marshal(inventory.Gap(g))
}

func (g loggedGap) String() string {
	parts := []string{g.Scope, cmp.Or(g.AssetType, "every asset type"), cmp.Or(g.ContentType, "RESOURCE+IAM_POLICY")}
	if g.Asset != "" {
		parts = append(parts, g.Asset)
	}
	return strings.Join(parts, " ")
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}
