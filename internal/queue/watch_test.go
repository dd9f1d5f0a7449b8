package queue

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestRetryFromOtherProcess: `posthorn queue retry` changes the store
// from another process, so nobody calls Kick, and the scan runs hourly
// here: only the due watch can start the retry.
func TestRetryFromOtherProcess(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	fails := 1
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return all(env, temp451)
		}
		return all(env, ok250)
	}}
	e.queue(e.sender.Address, testBody, "", "a@far.test")
	cfg := e.config("node-1")
	cfg.FirstRetry, cfg.ScanInterval, cfg.WatchInterval = time.Hour, time.Hour, 10*time.Millisecond
	e.start(cfg, d)
	// The first attempt needs no kick: Run claims when it starts.
	e.waitFor("a deferral", nil, func() bool { es := e.entries(); return len(es) == 1 && es[0].Attempts == 1 && es[0].LeaseOwner == "" })
	if n, err := e.st.QueueRetry(e.ctx, ""); err != nil || n != 1 {
		t.Fatalf("QueueRetry = %d, %v", n, err)
	}
	e.waitFor("the retried delivery, without a kick", nil, e.queueEmpty)
	if n := len(d.seen()); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

// TestNextDue checks the store method the watch relies on.
func TestNextDue(t *testing.T) {
	e := newEnv(t)
	if _, ok, err := e.st.QueueNextDue(e.ctx); ok || err != nil {
		t.Fatalf("empty queue: ok=%v err=%v", ok, err)
	}
	e.queue(e.sender.Address, testBody, "", "a@far.test", "b@far.test")
	next, ok, err := e.st.QueueNextDue(e.ctx)
	if !ok || err != nil || next.After(e.clock.Now()) {
		t.Fatalf("fresh entries: next=%v ok=%v err=%v, want due by %v", next, ok, err, e.clock.Now())
	}
	es := e.entries()
	later := e.clock.Now().Add(time.Hour).Truncate(time.Second)
	if err := e.st.QueueDefer(e.ctx, []int64{es[0].ID, es[1].ID}, later, "x"); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := e.st.QueueNextDue(e.ctx); !ok || err != nil || !next.Equal(later) {
		t.Errorf("deferred: next=%v ok=%v err=%v, want %v", next, ok, err, later)
	}
}
