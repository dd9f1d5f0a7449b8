package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// maxStatus bounds the read of /proc/PID/status (a few KiB in practice).
const maxStatus = 64 << 10

// procMemory reads a process's resident set (VmRSS), its peak (VmHWM),
// both in KiB, and its thread count from /proc/PID/status (proc(5)).
func procMemory(pid int) (rssKiB, hwmKiB, threads int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("server memory: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStatus))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("server memory: %w", err)
	}
	return parseStatus(b)
}

// parseStatus picks VmRSS, VmHWM and Threads out of a status file.
func parseStatus(b []byte) (rssKiB, hwmKiB, threads int64, err error) {
	want := map[string]*int64{"VmRSS": &rssKiB, "VmHWM": &hwmKiB, "Threads": &threads}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		p := want[key]
		if !ok || p == nil {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			return 0, 0, 0, fmt.Errorf("status: empty %s", key)
		}
		if *p, err = strconv.ParseInt(f[0], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("status: %s: %w", key, err)
		}
		found++
	}
	if found != len(want) {
		return 0, 0, 0, fmt.Errorf("status: want VmRSS, VmHWM and Threads, found %d of them", found)
	}
	return rssKiB, hwmKiB, threads, nil
}
