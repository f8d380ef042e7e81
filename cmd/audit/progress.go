package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/term"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/status"

	"github.com/runaudit/runaudit/internal/report"
	"github.com/runaudit/runaudit/internal/scan"
)

// progress shows collection progress on an interactive terminal: one line
// per finished ListAssets stream and a status line redrawn in place. Off a
// terminal (the scheduled job) it shows nothing; the structured logs say
// what was read.
type progress struct {
	scr   *screen
	on    bool
	start time.Time
}

func newProgress(w io.Writer, cfg *Config) *progress {
	on := false
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		on = !cfg.Quiet && cfg.LogFormat != "json"
	}
	return &progress{scr: screenFor(w), on: on, start: time.Now()}
}

// status redraws the status line.
func (p *progress) status(format string, args ...any) {
	p.scr.setStatus(fmt.Sprintf(format, args...))
}

// line prints a line that stays, above the status line.
func (p *progress) line(format string, args ...any) {
	p.scr.Write([]byte(fmt.Sprintf(format, args...) + "\n"))
}

// done ends the status line: it stays on screen as the last word on
// the collection.
func (p *progress) done() {
	if p.on {
		p.scr.endStatus()
	}
}

// streamLog is the logger for the live collection's per-stream records.
// With progress on, the stream lines already say how each stream ended,
// and the summary says each gap in words, so only errors are logged.
func (p *progress) streamLog(log *slog.Logger) *slog.Logger {
	if !p.on {
		return log
	}
	return slog.New(minLevel{log.Handler(), slog.LevelError})
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}

// screen is one terminal (or any writer) shared by the text log handler
// and the progress display. Whatever is written to it goes above the
// status line: the line is cleared, the text printed, the status redrawn,
// so that a log line never breaks into it.
type screen struct {
	w io.Writer

	mu     sync.Mutex
	status string // the status line on screen, "" when none
}

// screens holds the screen of each writer, so that the logger and the
// progress display of one run share it.
var screens sync.Map // io.Writer → *screen

func screenFor(w io.Writer) *screen {
	if s, ok := w.(*screen); ok {
		return s
	}
	s, _ := screens.LoadOrStore(w, &screen{w: w})
	return s.(*screen)
}

// clearStatus is the terminal sequence that returns to the start of the
// line and erases it.
const clearStatus = "\r\033[K"

// Write prints b (whole lines) above the status line.
func (s *screen) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == "" {
		return s.w.Write(b)
	}
	if _, err := io.WriteString(s.w, clearStatus); err != nil {
		return 0, err
	}
	n, err := s.w.Write(b)
	if err != nil {
		return n, err
	}
	_, err = io.WriteString(s.w, s.status)
	return n, err
}

// setStatus replaces the status line.
func (s *screen) setStatus(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, clearStatus+line)
	s.status = line
}

// endStatus leaves the status line where it is and moves below it.
func (s *screen) endStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != "" {
		io.WriteString(s.w, "\n")
		s.status = ""
	}
}

// file reports an export file read.
func (p *progress) file(name string, lines int) {
	if !p.on {
		return
	}
	secs := time.Since(p.start).Seconds()
	p.status("reading exports: %d lines (%.0f lines/s), last %s", lines, float64(lines)/max(secs, 0.001), report.Inert(filepath.Base(name)))
}

// watchLive redraws live progress twice a second until stop is called.
func (p *progress) watchLive(live *scan.Live, pacer *scan.Pacer) (stop func()) {
	if !p.on {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	reported := map[string]bool{}
	tick := func() {
		var pages, assets, done int
		streams := live.Progress()
		for _, s := range streams {
			pages += s.Pages
			assets += s.Assets
			if !s.Done {
				continue
			}
			done++
			key := s.Parent + " " + s.AssetType + " " + s.ContentType
			if reported[key] {
				continue
			}
			reported[key] = true
			result := fmt.Sprintf("%.1fs", s.Elapsed.Seconds())
			if s.Err != nil {
				// The code only: the summary says the gap in words.
				result = "not read: " + statusWord(s.Err) + " (a gap, see the summary)"
			}
			p.line("  %-48s %-10s %5d pages %9d assets  %s", s.AssetType, s.ContentType, s.Pages, s.Assets, result)
		}
		secs := max(time.Since(p.start).Seconds(), 0.001)
		failed := 0
		for _, n := range pacer.Failed() {
			failed += n
		}
		p.status("collecting %s: %d of %d streams done, %d pages, %d assets, %d calls (%.1f/s), %d failed calls",
			live.Scope, done, len(streams), pages, assets, pacer.Calls(), float64(pacer.Calls())/secs, failed)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				tick()
			case <-quit:
				tick()
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
		p.done()
	}
}

// statusWord names an error by its gRPC status code as the API spells it
// (PERMISSION_DENIED), or says the deadline passed.
func statusWord(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "DEADLINE_EXCEEDED"
	}
	if st, ok := status.FromError(err); ok {
		return rpccode.Code(st.Code()).String()
	}
	return "failed"
}
