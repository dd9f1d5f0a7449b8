//go:build !linux

package main

import "syscall"

// bindNoPort does nothing outside Linux (no IP_BIND_ADDRESS_NO_PORT).
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
