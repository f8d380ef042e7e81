// Command audit finds, across a Google Cloud organization, every principal
// that can deploy a Cloud Run service or job but cannot read its container
// image in Artifact Registry, and the registry-side grants that Cloud Run
// and Artifact Registry themselves need.
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
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPartial = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
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
	res, err := runAudit(ctx, cfg, log, stdout, stderr)
	code := exitOK
	if err != nil {
		log.Error("audit failed", "err", err)
		code = exitFailed
	} else if !res.Summary.Complete {
		code = exitPartial
	}
	logFinished(log, res, code)
	return code
}
