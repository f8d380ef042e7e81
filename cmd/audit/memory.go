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
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	used, msg := heldMemory(heap, runtime.GC, debug.SetMemoryLimit(-1), services)
	if msg != "" {
		log.Warn(msg, "heap_bytes", used, "services_and_jobs", services)
	}
}

// heldMemory decides checkMemory's warning from the heap as heap reads it.
// Right after collection the heap still holds the decoders' garbage, up to
// one and a half times the inventory (collectGCPercent), so a heap over
// the line is measured again after a collection before the run warns: the
// warning counts what the inventory holds, and the collection is paid only
// when a warning is near.
func heldMemory(heap func() uint64, collect func(), limit int64, services int) (used uint64, msg string) {
	used = heap()
	if memoryWarning(used, limit, services) == "" {
		return used, ""
	}
	collect()
	used = heap()
	return used, memoryWarning(used, limit, services)
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
