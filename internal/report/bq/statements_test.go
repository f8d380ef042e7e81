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
	if x, y := runKey("x"), runKey("x"); x != y {
		t.Errorf("runKey is not deterministic: %s, %s", x, y)
	}
	if long := runKey(strings.Repeat("r", 500)); len(long) > 80 {
		t.Errorf("runKey of a long id has %d characters", len(long))
	}
}

func TestEmulatorDDL(t *testing.T) {
	in := "CREATE TABLE IF NOT EXISTS `p.d.t` (\n  a STRING\n)\nPARTITION BY run_date\nCLUSTER BY a, b\nOPTIONS (description = \"x\");\n"
	want := "CREATE TABLE IF NOT EXISTS `p.d.t` (\n  a STRING\n)\nOPTIONS (description = \"x\");\n"
	if got := emulatorDDL(in); got != want {
		t.Errorf("emulatorDDL:\n%s\nwant\n%s", got, want)
	}
	// A view's PARTITION BY inside a window is not a clause of its own line.
	view := "SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t\n"
	if got := emulatorDDL(view); got != view {
		t.Errorf("emulatorDDL changed a view:\n%s", got)
	}
}
