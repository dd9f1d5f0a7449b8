//go:build linux

package e2e

import "syscall"

// serverProcAttr makes the kernel kill the server if the test binary dies
// (a -timeout panic skips every Cleanup), so no server is left running.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
