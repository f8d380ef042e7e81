package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
)

// memoryHeadroom is the share of GOMEMLIMIT the inventory may use once
// collected before the run warns: evaluation and the outputs need about as
// much again (docs/scale.md).
const memoryHeadroom = 0.5

// checkMemory warns, right after collection, when the inventory already
// uses more than memoryHeadroom of the Go memory limit, so that a job sized
// too small for its organization says so before it is killed, with what to
// set instead.
func checkMemory(log *slog.Logger, services int) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if msg := memoryWarning(ms.HeapAlloc, debug.SetMemoryLimit(-1), services); msg != "" {
		log.Warn(msg, "heap_bytes", ms.HeapAlloc, "services_and_jobs", services)
	}
}

// memoryWarning is checkMemory's decision, pure: the message for a heap of
// used bytes under limit (math.MaxInt64: none set), or "".
func memoryWarning(used uint64, limit int64, services int) string {
	if limit <= 0 || limit == math.MaxInt64 || float64(used) < memoryHeadroom*float64(limit) {
		return ""
	}
	need := 2 * used // the inventory again, for evaluation and outputs
	return fmt.Sprintf("the inventory of %d services and jobs uses %d MiB of GOMEMLIMIT %d MiB: the run may run out of memory; give the job about %d MiB (GOMEMLIMIT and the container's memory, see docs/deploy.md)",
		services, used>>20, limit>>20, (need*5/4)>>20)
}
