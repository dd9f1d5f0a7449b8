package queue

import (
	"context"
	"time"
)

// The due watch: besides Kick (this process committed remote recipients)
// and the scan, the runner asks the store every Config.WatchInterval when
// its earliest entry is due, one indexed read. So work that another
// process made due (`posthorn queue retry` while the server runs, another
// node releasing its leases) and retries whose time came start within
// that interval, not at the next scan.

// dueWatcher is the optional store method of the due watch (both stores
// should have it; without it the runner relies on Kick and the scan).
type dueWatcher interface {
	QueueNextDue(ctx context.Context) (next time.Time, ok bool, err error)
}

// watchTicks returns the due watch's ticks and its stop function; the
// channel is nil (never ready) when the store cannot tell.
func (r *Runner) watchTicks() (<-chan time.Time, func()) {
	if _, ok := r.st.(dueWatcher); !ok || r.cfg.WatchInterval <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(r.cfg.WatchInterval)
	return t.C, t.Stop
}

// dueNow reports whether an entry is due that a claim could take now.
func (r *Runner) dueNow(ctx context.Context) bool {
	w, ok := r.st.(dueWatcher)
	if !ok || r.sched.active >= r.cfg.MaxActive {
		return false
	}
	next, any, err := w.QueueNextDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("asking the store for due work", "err", err)
		}
		return false
	}
	return any && !next.After(r.cfg.Now())
}
