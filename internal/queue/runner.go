package queue

import (
	"context"
	"log/slog"
	"time"
)

// Runner delivers the relay queue: it claims due entries, groups them by
// message and destination domain, hands each group to the Deliverer
// within the concurrency limits, and records every outcome. Make one with
// New; Run until its context ends.
type Runner struct {
	cfg Config
	st  Store
	d   Deliverer
	res Resolver
	log *slog.Logger
	m   *Metrics

	kick chan struct{} // capacity 1: "there may be new due work"
	rm   *remover      // group commit of delivered entries

	// The scheduler's state, owned by Run's goroutine.
	sched scheduler
}

// New makes a Runner. log and m may be nil.
func New(cfg Config, st Store, d Deliverer, res Resolver, log *slog.Logger, m *Metrics) (*Runner, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: c, st: st, d: d, res: res, log: log.With("component", "queue"), m: m,
		kick: make(chan struct{}, 1), rm: &remover{st: st}}
	r.sched.init()
	return r, nil
}

// Kick tells the runner that new entries may be due (the server calls it
// after committing a message with remote recipients). It never blocks.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then lets deliveries in flight finish for
// up to DrainGrace, cancels the rest and releases every lease it holds,
// so that a restart (or another node) picks the entries up at once. It
// returns an error only when it cannot start.
func (r *Runner) Run(ctx context.Context) error {
	// Leases this node held before a crash: nobody is delivering them.
	if n, err := r.st.QueueRelease(ctx, r.cfg.Owner, r.cfg.Now()); err != nil {
		return err
	} else if n > 0 {
		r.log.Info("released leases from an earlier run", "entries", n, "owner", r.cfg.Owner)
	}
	bg := context.WithoutCancel(ctx)
	deliverCtx, cancelDeliveries := context.WithCancel(bg)
	defer cancelDeliveries()
	done := make(chan *job, r.cfg.Workers)
	scan := time.NewTicker(r.cfg.ScanInterval)
	defer scan.Stop()
	renew := time.NewTicker(r.cfg.Lease / 3)
	defer renew.Stop()
	watch, stopWatch := r.watchTicks()
	defer stopWatch()

	r.updateLen(ctx)
	needClaim := true
	for ctx.Err() == nil {
		if needClaim {
			needClaim = r.claim(ctx)
		}
		r.dispatch(deliverCtx, done)
		if needClaim { // more due work waits: only take what is ready
			select {
			case j := <-done:
				r.finish(j)
			case <-r.kick:
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-r.kick:
			needClaim = true
		case <-scan.C:
			needClaim = true
			r.updateLen(ctx)
		case <-watch:
			needClaim = r.dueNow(ctx)
		case <-renew.C:
			r.renew(ctx)
		case j := <-done:
			needClaim = r.finish(j)
		}
	}
	r.drain(bg, done, cancelDeliveries)
	return nil
}

// claim takes due entries into memory, up to MaxActive held. It reports
// whether more may be due right away.
func (r *Runner) claim(ctx context.Context) bool {
	limit := min(r.cfg.ClaimBatch, r.cfg.MaxActive-r.sched.active)
	if limit <= 0 {
		return false // finish asks again when room frees up
	}
	es, err := r.st.ClaimDue(ctx, r.cfg.Owner, r.cfg.Now(), r.cfg.Lease, limit)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("claiming due entries", "err", err)
		}
		return false
	}
	for _, e := range es {
		r.sched.add(e)
	}
	r.sched.more = len(es) == limit
	r.m.setActive(r.sched.active)
	return r.sched.more && r.sched.active < r.cfg.MaxActive
}

// renew extends this node's leases: entries waiting in memory or in
// flight must not be retaken by another runner.
func (r *Runner) renew(ctx context.Context) {
	if r.sched.active == 0 {
		return
	}
	if _, err := r.st.QueueRenew(ctx, r.cfg.Owner, r.cfg.Now().Add(r.cfg.Lease)); err != nil && ctx.Err() == nil {
		r.log.Error("renewing leases", "err", err)
	}
}

func (r *Runner) updateLen(ctx context.Context) {
	if r.m == nil {
		return
	}
	n, msgs, err := r.st.QueueLen(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("counting the queue", "err", err)
		}
		return
	}
	r.m.setLen(n, msgs)
}

// drain ends Run: waiting groups are dropped (their leases released
// below), deliveries in flight get DrainGrace to finish.
func (r *Runner) drain(bg context.Context, done chan *job, cancelDeliveries context.CancelFunc) {
	r.sched.dropWaiting()
	grace := time.NewTimer(r.cfg.DrainGrace)
	defer grace.Stop()
	if r.sched.running > 0 {
		r.log.Info("stopping: waiting for deliveries in flight", "deliveries", r.sched.running, "grace", r.cfg.DrainGrace)
	}
	for r.sched.running > 0 {
		select {
		case j := <-done:
			r.finish(j)
		case <-grace.C:
			cancelDeliveries()
		}
	}
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if n, err := r.st.QueueRelease(ctx, r.cfg.Owner, r.cfg.Now()); err != nil {
		r.log.Error("releasing leases", "err", err)
	} else if n > 0 {
		r.log.Info("released leases", "entries", n)
	}
	r.m.setActive(0)
}
