package bq

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the emulator exit when the test binary dies without
// running its cleanups (a panic, a test timeout, a kill).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
