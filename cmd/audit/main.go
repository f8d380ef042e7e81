// Command audit finds, across a Google Cloud organization, every principal
// that can deploy a Cloud Run service, job or worker pool but cannot read
// its container image in Artifact Registry, and the registry-side grants
// that Cloud Run and Artifact Registry themselves need.
//
// Exit codes:
//
//	0  the audit ran over everything it was given (findings or not)
//	1  the audit failed (nothing trustworthy was written)
//	2  usage: bad flags or environment
//	3  the audit ran but the scan has gaps (unreadable input, malformed
//	   lines, denied or failed API streams); the outputs say what is missing
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/runaudit/runaudit/internal/report"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPartial = 3
)

// Interrupted runs exit 128 + the signal's number, as shells report them:
// 130 for SIGINT, 143 for SIGTERM (Cloud Run's when an execution is
// cancelled or times out).
const (
	exitSIGINT  = 128 + 2
	exitSIGTERM = 128 + 15
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		// The first signal stops collection; what is known is written.
		cancel(interruption{s})
		// A second one stops at once.
		s = <-sigs
		os.Exit(interruption{s}.exitCode())
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(code)
}

// interruption is the cause of a run's context when a signal stopped it.
type interruption struct{ sig os.Signal }

func (i interruption) Error() string {
	if i.sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

func (i interruption) exitCode() int {
	if i.sig == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

// interrupted returns the signal that stopped the run, if one did.
func interrupted(ctx context.Context) (interruption, bool) {
	var i interruption
	ok := errors.As(context.Cause(ctx), &i)
	return i, ok
}

// run is the whole command, testable in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		if errors.Is(err, errHelp) {
			return exitOK
		}
		if errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, "audit:", err)
			return exitUsage
		}
		fmt.Fprintln(stderr, "audit:", err)
		return exitFailed
	}
	if cfg.Version {
		fmt.Fprintln(stdout, "audit", version())
		return exitOK
	}
	log := newLogger(cfg.LogFormat, stderr)
	if err := preflight(ctx, cfg, getenv); err != nil {
		fmt.Fprintln(stderr, "audit:", err)
		return exitUsage
	}
	res, err := runAudit(ctx, cfg, log, stdout, stderr)
	code := exitOK
	switch {
	case errors.Is(err, errUsage):
		log.Error("audit failed", "err", err)
		code = exitUsage
	case err != nil:
		log.Error("audit failed", "err", err)
		code = exitFailed
	case !res.Summary.Complete:
		code = exitPartial
	}
	sig, stopped := interrupted(ctx)
	if stopped {
		code = sig.exitCode()
		fmt.Fprintf(stderr, "audit: interrupted by %s; what was read is written, marked incomplete\n", sig)
	}
	if err != nil {
		// A failed run's summary says so, and why, in place of an
		// earlier run's outputs (removed when the run began).
		res.Summary.Status, res.Summary.Error, res.Summary.Complete = "failed", err.Error(), false
		if stopped {
			res.Summary.Status = "interrupted"
		}
		if werr := report.WriteSummary(cfg.Output.Dir, res.Summary); werr != nil {
			log.Error("writing the summary of the failed run", "err", werr)
		}
	}
	logFinished(log, res, code)
	return code
}
