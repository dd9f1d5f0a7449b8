package loadgen

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Run sends cfg.Messages messages with cfg.Concurrency workers and
// reports what happened. Failed messages are in the Result, not the
// error: the error is a bad Config, or the context's end (the Result then
// covers what was done until then).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	runID := rand.Text()[:12] // unique Message-IDs across runs
	tmpl := newTemplate(&c, runID, time.Now())
	var issued atomic.Int64
	claim := func() (int, bool) {
		if ctx.Err() != nil {
			return 0, false
		}
		n := issued.Add(1)
		return int(n), n <= int64(c.Messages)
	}
	c.Logger.Info("bench starting", "target", c.Target, "messages", c.Messages,
		"size", tmpl.size(), "concurrency", c.Concurrency, "run", runID)
	workers := make([]*worker, c.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &worker{cfg: &c, msg: tmpl.forWorker(), claim: claim}
		workers[i] = w
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	res := merge(&c, workers)
	res.Elapsed = time.Since(start)
	res.Size = tmpl.size()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadgen: interrupted after %d messages: %w", res.Sent, context.Cause(ctx))
	}
	return res, nil
}

// merge adds up the workers' tallies.
func merge(c *Config, workers []*worker) *Result {
	res := &Result{
		Target: c.Target, Messages: c.Messages, Concurrency: c.Concurrency,
		TLS: c.TLS, Pipelining: c.Pipelining, Reuse: c.Reuse,
		Failed: make(map[int]int),
	}
	var lat []time.Duration
	for _, w := range workers {
		r := &w.rec
		res.OK += r.ok
		for code, n := range r.failed {
			res.Failed[code] += n
		}
		if res.FirstError == "" && r.firstErr != nil {
			res.FirstError = r.firstErr.Error()
		}
		res.Connections += r.conns
		res.Pipelined += r.piped
		lat = append(lat, r.latencies...)
	}
	res.Sent = res.OK + res.FailedTotal()
	res.Latency = Summarize(lat)
	return res
}
