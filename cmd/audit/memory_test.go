package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestMemoryWarning(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		used  uint64
		limit int64
		warn  bool
	}{
		{"no limit set", 900 * mib, math.MaxInt64, false},
		{"well under the limit", 100 * mib, 1024 * mib, false},
		{"past half the limit", 600 * mib, 1024 * mib, true},
		{"past the limit", 2048 * mib, 1024 * mib, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := memoryWarning(tc.used, tc.limit, 1000)
			if (msg != "") != tc.warn {
				t.Fatalf("warning %q, want one: %v", msg, tc.warn)
			}
			if tc.warn && !strings.Contains(msg, "GOMEMLIMIT") {
				t.Errorf("the warning does not say what to change: %q", msg)
			}
		})
	}
}

// TestHeldMemory checks that a heap over the line is measured again after
// a collection before the run warns, and that a heap under it costs no
// collection.
func TestHeldMemory(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name          string
		before, after uint64 // the heap before and after a collection
		collects      bool
		warn          bool
	}{
		{"under the line: no collection", 100 * mib, 100 * mib, false, false},
		{"over the line with garbage only", 700 * mib, 200 * mib, true, false},
		{"over the line with the inventory", 700 * mib, 600 * mib, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			collected := false
			heap := func() uint64 {
				if collected {
					return tc.after
				}
				return tc.before
			}
			used, msg := heldMemory(heap, func() { collected = true }, 1024*mib, 1000)
			if collected != tc.collects {
				t.Errorf("collected: %v, want %v", collected, tc.collects)
			}
			if (msg != "") != tc.warn {
				t.Errorf("warning %q, want one: %v", msg, tc.warn)
			}
			if want := heap(); used != want {
				t.Errorf("reported %d MiB, want the heap as last read, %d MiB", used>>20, want>>20)
			}
			if tc.warn && !strings.Contains(msg, fmt.Sprint(tc.after>>20)+" MiB") {
				t.Errorf("the warning does not give the heap after the collection: %q", msg)
			}
		})
	}
}

// TestCheckMemoryRuntime runs checkMemory against the runtime's own heap
// and memory limit: 64 MiB held warns under a limit it is most of, the same
// 64 MiB dropped as garbage does not. Not parallel: it sets the process's
// memory limit.
func TestCheckMemoryRuntime(t *testing.T) {
	const mib = 1 << 20
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	heapNow := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	warned := func() string {
		var buf bytes.Buffer
		checkMemory(slog.New(slog.NewTextHandler(&buf, nil)), 1000)
		return buf.String()
	}

	runtime.GC()
	held := make([]byte, 64*mib)
	for i := range held {
		held[i] = 1
	}
	debug.SetMemoryLimit(int64(heapNow()) + 32*mib) // held is most of it
	if out := warned(); !strings.Contains(out, "GOMEMLIMIT") {
		t.Errorf("64 MiB held under a limit of %d MiB: no warning (%q)", debug.SetMemoryLimit(-1)>>20, out)
	}
	runtime.KeepAlive(held)

	debug.SetMemoryLimit(math.MaxInt64)
	runtime.GC()
	garbage := make([]byte, 64*mib)
	for i := range garbage {
		garbage[i] = 1
	}
	garbage = nil
	_ = garbage
	debug.SetMemoryLimit(int64(heapNow()) + 32*mib)
	if out := warned(); out != "" {
		t.Errorf("64 MiB of garbage warned: %q", out)
	}
}
