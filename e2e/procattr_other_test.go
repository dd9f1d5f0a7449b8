//go:build !linux

package e2e

import "syscall"

// serverProcAttr: without Pdeathsig, a server outlives a test binary
// killed by -timeout; Cleanup handles every ordinary ending.
func serverProcAttr() *syscall.SysProcAttr { return nil }
