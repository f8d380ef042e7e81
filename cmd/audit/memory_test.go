package main

import (
	"math"
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
