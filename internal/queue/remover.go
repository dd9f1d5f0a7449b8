package queue

import (
	"context"
	"sync"
)

// remover is the group commit of delivered entries: the jobs that finish
// while one removal transaction runs have their entries removed together
// in the next one. Under load a relayed message then costs a share of
// one store transaction (and its fsync) instead of a transaction of its
// own, the way intake commits accepted messages. Entries with a report
// (QueueFail) keep their own transaction.
type remover struct {
	st Store

	mu      sync.Mutex
	waiting []removeReq
	running bool // a goroutine is writing; it takes what waits next
}

type removeReq struct {
	ids  []int64
	done chan error // buffered: the writer never blocks on it
}

// maxRemoveBatch bounds the ids of one transaction (the store's limit).
const maxRemoveBatch = 10000

// remove removes ids (entries delivered, no report to make) and returns
// when the transaction that holds them has committed, or ctx ended (the
// removal may still commit then; if it does not, the entries come back
// when their lease ends: delivered again at worst, never lost).
func (rm *remover) remove(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > maxRemoveBatch {
		return rm.st.QueueDelivered(ctx, ids)
	}
	req := removeReq{ids: ids, done: make(chan error, 1)}
	rm.mu.Lock()
	rm.waiting = append(rm.waiting, req)
	if !rm.running {
		rm.running = true
		go rm.loop(context.WithoutCancel(ctx))
	}
	rm.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop writes batches until nothing waits.
func (rm *remover) loop(ctx context.Context) {
	for {
		rm.mu.Lock()
		if len(rm.waiting) == 0 {
			rm.running = false
			rm.mu.Unlock()
			return
		}
		var ids []int64
		k := 0
		for ; k < len(rm.waiting) && len(ids)+len(rm.waiting[k].ids) <= maxRemoveBatch; k++ {
			ids = append(ids, rm.waiting[k].ids...)
		}
		batch := rm.waiting[:k:k]
		rm.waiting = rm.waiting[k:]
		rm.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := rm.st.QueueDelivered(wctx, ids)
		cancel()
		for _, req := range batch {
			req.done <- err
		}
	}
}
