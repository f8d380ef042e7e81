package bq

import (
	"strings"
	"testing"
)

func TestStatementsGolden(t *testing.T) {
	staging := map[string]string{}
	columns := map[string][]string{}
	for _, tbl := range tableOrder {
		staging[tbl] = "_runaudit_staging_20260302_tok_" + tbl
		columns[tbl] = []string{"run_id", "run_date", tbl + "_col"}
	}
	golden(t, "commit.sql", []byte(commitSQL("proj", "ds", "2026-03-02", staging, columns)))
	golden(t, "verify.sql", []byte(verifySQL("proj", "ds", staging)))
}

func TestRunKey(t *testing.T) {
	a, b := runKey("run 2026-03-02T04:30:00Z"), runKey("run_2026-03-02T04_30_00Z")
	if a == b {
		t.Errorf("run ids that differ only in unsafe characters share the key %s", a)
	}
	if strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		t.Errorf("runKey = %q: not usable in a job id", a)
	}
	if runKey("x") != runKey("x") {
		t.Error("runKey is not deterministic")
	}
	if long := runKey(strings.Repeat("r", 500)); len(long) > 80 {
		t.Errorf("runKey of a long id has %d characters", len(long))
	}
}
