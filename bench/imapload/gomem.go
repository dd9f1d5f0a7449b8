package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxMetrics bounds the read of a /metrics page.
const maxMetrics = 4 << 20

// goMemory asks a posthorn admin endpoint (RFC 6750 bearer token) for a
// garbage collection (the heap profile with gc=1 runs one) and then reads
// go_memstats_heap_inuse_bytes + go_memstats_stack_inuse_bytes from
// /metrics: the Go memory in use, without what the runtime keeps free.
// VmRSS alone misleads here: an argon2id login takes 19 MiB for a moment,
// and that freed heap is reused by the sessions without raising VmRSS.
func goMemory(ctx context.Context, base, token string) (int64, error) {
	get := func(path string, auth bool) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return nil, err
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: %s", path, resp.Status)
		}
		return resp.Body, nil
	}
	body, err := get("/debug/pprof/heap?gc=1", true)
	if err != nil {
		return 0, fmt.Errorf("go memory: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(body, maxMetrics))
	body.Close()
	if body, err = get("/metrics", false); err != nil {
		return 0, fmt.Errorf("go memory: %w", err)
	}
	defer body.Close()
	return parseGoMemory(io.LimitReader(body, maxMetrics))
}

// parseGoMemory sums heap and stack in use from a Prometheus text page.
func parseGoMemory(r io.Reader) (int64, error) {
	var total float64
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != "go_memstats_heap_inuse_bytes" && name != "go_memstats_stack_inuse_bytes") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return 0, fmt.Errorf("go memory: %s: %w", name, err)
		}
		total += v
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("go memory: %w", err)
	}
	if found != 2 {
		return 0, fmt.Errorf("go memory: want heap and stack in use, found %d of them", found)
	}
	return int64(total), nil
}
