//go:build unix

package queue

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
)

// BenchmarkQueueOverhead measures the queue's cost per relayed message
// (commit with a remote recipient, Kick, claim, a delivery that succeeds
// at once, removal) with an empty queue and with 10,000 entries of a dead
// destination deferred for later: the second must not be slower (issue
// 4: the claim and every per-message statement use indexes, never a scan
// of the queue; store/sqlite's migration 0004 indexes queue(body_id) for
// the foreign-key check when a body is deleted). Run the cases side by side, several rounds:
//
//	go test -c -o /tmp/queue.test ./internal/queue && cd internal/queue &&
//	for i in 1 2 3 4 5; do /tmp/queue.test -test.run '^$' -test.bench QueueOverhead -test.benchtime 1000x; done
func BenchmarkQueueOverhead(b *testing.B) {
	for _, deferred := range []int{0, 10000} {
		b.Run(fmt.Sprintf("deferred=%d", deferred), func(b *testing.B) {
			benchOverhead(b, deferred)
		})
	}
}

func benchOverhead(b *testing.B, deferred int) {
	e := newEnv(b)
	ctx := context.Background()
	fillDeferred(b, e, deferred)
	d := &countDeliverer{}
	cfg := Config{Owner: "bench", Hostname: "mx.local.test", NewSpool: e.in.NewSpool,
		ScanInterval: time.Hour, Jitter: func(time.Duration) time.Duration { return 0 }}
	m := NewMetrics(nil)
	r, err := New(cfg, e.st, d, storeResolver{e.st}, nil, m)
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(rctx) }()
	defer func() { cancel(); <-done }()

	// Every live entry is gone when the earliest due time is the dead
	// entries' (a day ahead): one indexed read, whatever the queue holds.
	liveGone := func() bool {
		next, ok, err := e.st.QueueNextDue(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return !ok || next.After(time.Now().Add(time.Hour))
	}
	// Warm up untimed, so that both variants start from a store that
	// has relayed (and checkpointed the fill's writes) already.
	relayN(b, e, r, d, 200, liveGone)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	relayN(b, e, r, d, b.N, liveGone)
	b.StopTimer()
	// CPU per message hardly depends on what else the shared machine
	// does; the wall time per message swings with its load.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	if deferred > 0 {
		if n, _, err := e.st.QueueLen(ctx); err != nil || n != int64(deferred) {
			b.Fatalf("queue holds %d entries (%v), want the %d deferred ones untouched", n, err, deferred)
		}
	}
}

// relayN submits n messages to rcpt@live.test from 8 goroutines (like
// SMTP sessions) and returns when the queue delivered all of them.
func relayN(b *testing.B, e *env, r *Runner, d *countDeliverer, n int, liveGone func() bool) {
	const senders = 8
	ctx := context.Background()
	want := d.calls() + n
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	errs := make(chan error, senders)
	for range senders {
		go func() {
			for range next {
				sp := e.in.NewSpool()
				sp.Write([]byte(testBody))
				msg := &intake.Message{ID: intake.NewID(), From: e.sender.Address, BodyType: "7BIT", Body: sp,
					Remote: []intake.RemoteRecipient{{Address: "rcpt@live.test"}}}
				err := e.in.Submit(ctx, msg)
				sp.Close()
				if err != nil {
					errs <- err
					return
				}
				r.Kick()
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	for d.calls() < want || !liveGone() {
		time.Sleep(time.Millisecond)
	}
}

// fillDeferred queues n entries for dead.test (100 messages of n/100
// recipients) and defers them by a day.
func fillDeferred(b *testing.B, e *env, n int) {
	if n == 0 {
		return
	}
	per := max(1, n/100)
	for i := 0; i < n; i += per {
		var rcpts []string
		for j := range per {
			rcpts = append(rcpts, fmt.Sprintf("r%d-%d@dead.test", i, j))
		}
		e.queue(e.sender.Address, testBody, "", rcpts...)
	}
	var ids []int64
	for _, q := range e.entries() {
		ids = append(ids, q.ID)
	}
	if err := e.st.QueueDefer(e.ctx, ids, time.Now().Add(24*time.Hour), "451 dead.test does not answer"); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countDeliverer accepts everything at once, counting deliveries.
type countDeliverer struct{ n atomic.Int64 }

func (d *countDeliverer) Deliver(_ context.Context, _ string, env *Envelope, _ Body) Result {
	d.n.Add(1)
	return all(env, ok250)
}

func (d *countDeliverer) calls() int { return int(d.n.Load()) }
