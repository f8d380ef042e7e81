package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/runaudit/runaudit/internal/scan"
)

// progress shows collection progress on an interactive terminal: one line
// per finished ListAssets stream and a status line redrawn in place. Off a
// terminal (the scheduled job) it shows nothing; the structured logs say
// what was read.
type progress struct {
	w     io.Writer
	on    bool
	start time.Time

	mu    sync.Mutex
	drawn bool // a status line is on screen
}

func newProgress(w io.Writer, cfg *Config) *progress {
	on := false
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		on = !cfg.Quiet && cfg.LogFormat != "json"
	}
	return &progress{w: w, on: on, start: time.Now()}
}

// status redraws the status line.
func (p *progress) status(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
	p.drawn = true
}

// line prints a line that stays, above the status line.
func (p *progress) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K"+format+"\n", args...)
	p.drawn = false
}

// done ends the status line.
func (p *progress) done() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// file reports an export file read.
func (p *progress) file(name string, lines int) {
	if !p.on {
		return
	}
	secs := time.Since(p.start).Seconds()
	p.status("reading exports: %d lines (%.0f lines/s), last %s", lines, float64(lines)/max(secs, 0.001), filepath.Base(name))
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
				result = "FAILED (a gap): " + s.Err.Error()
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
