package queue

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// gateStore records QueueDelivered calls; the first one waits for gate,
// so that the removals made meanwhile must share the next transaction.
type gateStore struct {
	Store // nil: only QueueDelivered is called
	gate  chan struct{}
	err   error

	mu    sync.Mutex
	calls [][]int64
}

func (g *gateStore) QueueDelivered(_ context.Context, ids []int64) error {
	g.mu.Lock()
	first := len(g.calls) == 0
	g.calls = append(g.calls, slices.Clone(ids))
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	return g.err
}

func TestRemoverGroupsRemovals(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"store fails", errors.New("disk on fire")}} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gateStore{gate: make(chan struct{}), err: tc.err}
			rm := &remover{st: g}
			ctx := t.Context()
			errs := make(chan error, 11)
			go func() { errs <- rm.remove(ctx, []int64{1}) }()
			// Wait until the first transaction runs, then queue ten more.
			for {
				g.mu.Lock()
				n := len(g.calls)
				g.mu.Unlock()
				if n == 1 {
					break
				}
				runtime.Gosched()
			}
			for i := range 10 {
				go func() { errs <- rm.remove(ctx, []int64{int64(10 + 2*i), int64(11 + 2*i)}) }()
			}
			for {
				rm.mu.Lock()
				n := len(rm.waiting)
				rm.mu.Unlock()
				if n == 10 {
					break
				}
				runtime.Gosched()
			}
			close(g.gate)
			for range 11 {
				if err := <-errs; !errors.Is(err, tc.err) {
					t.Errorf("remove: %v, want %v", err, tc.err)
				}
			}
			if len(g.calls) != 2 || len(g.calls[1]) != 20 {
				t.Fatalf("transactions %v, want [1] then the 20 ids together", g.calls)
			}
			got := slices.Sorted(slices.Values(g.calls[1]))
			for i, id := range got {
				if id != int64(10+i) {
					t.Fatalf("second batch %v, want 10..29", got)
				}
			}
		})
	}
}
