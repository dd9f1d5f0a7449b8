package queue

import (
	"context"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// maxGroupRcpts bounds the recipients of one delivery: RFC 5321
// §4.5.3.1.8 makes servers take at least 100 per transaction.
const maxGroupRcpts = 100

// deadAfter is how many deliveries in a row to a destination may fail
// without any server answering before the destination counts as dead;
// maxDeadFor bounds how long it stays dead.
const (
	deadAfter  = 2
	maxDeadFor = 5 * time.Minute
)

// group is the entries of one message for one destination domain: one
// delivery.
type group struct {
	key     groupKey
	entries []store.QueueEntry
}

type groupKey struct{ msgID, domain string }

// dest is a destination domain: its groups waiting for a slot, its
// deliveries in flight and whether it answers at all.
type dest struct {
	name      string
	waiting   []*group
	running   int
	inOrder   bool // in scheduler.order
	failures  int  // deliveries in a row that reached no server
	deadUntil time.Time
	deadWhy   RcptResult // the failure that made it dead
}

// scheduler holds the active queue: entries claimed and not finished,
// per destination, served round-robin so that one slow or dead
// destination cannot hold every worker.
type scheduler struct {
	dests   map[string]*dest
	open    map[groupKey]*group // waiting groups that may take more entries
	order   []*dest             // destinations with waiting groups
	next    int                 // round-robin position in order
	active  int                 // entries held (waiting and in flight)
	running int                 // jobs in flight
	more    bool                // the last claim was full: more may be due
}

func (s *scheduler) init() {
	s.dests = map[string]*dest{}
	s.open = map[groupKey]*group{}
}

// domainOf returns the lower-cased domain of addr, "" when it has none.
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
}

// add puts a claimed entry into its message's waiting group.
func (s *scheduler) add(e store.QueueEntry) {
	key := groupKey{e.MsgID, domainOf(e.Rcpt)}
	s.active++
	if g := s.open[key]; g != nil {
		g.entries = append(g.entries, e)
		if len(g.entries) >= maxGroupRcpts {
			delete(s.open, key)
		}
		return
	}
	d := s.dests[key.domain]
	if d == nil {
		d = &dest{name: key.domain}
		s.dests[key.domain] = d
	}
	g := &group{key: key, entries: []store.QueueEntry{e}}
	d.waiting = append(d.waiting, g)
	s.open[key] = g
	if !d.inOrder {
		d.inOrder = true
		s.order = append(s.order, d)
	}
}

// take removes the next job of d: one group, or for a dead destination
// every waiting group (they are deferred together without a try).
func (s *scheduler) take(d *dest, now time.Time) *job {
	j := &job{dest: d}
	if now.Before(d.deadUntil) {
		j.groups, d.waiting = d.waiting, nil
		why := d.deadWhy
		j.dead = &why
	} else {
		j.groups, d.waiting = d.waiting[:1:1], d.waiting[1:]
	}
	for _, g := range j.groups {
		delete(s.open, g.key)
		j.entries += len(g.entries)
	}
	d.running++
	s.running++
	return j
}

// dispatch starts jobs while workers are free, one per destination per
// round, each destination below its limit.
func (r *Runner) dispatch(ctx context.Context, done chan<- *job) {
	s := &r.sched
	now := r.cfg.Now()
	for s.running < r.cfg.Workers && len(s.order) > 0 {
		started := false
		for i := 0; i < len(s.order) && s.running < r.cfg.Workers; {
			if s.next >= len(s.order) {
				s.next = 0
			}
			d := s.order[s.next]
			if len(d.waiting) == 0 { // drop it from the round
				d.inOrder = false
				s.order = append(s.order[:s.next], s.order[s.next+1:]...)
				continue
			}
			i++
			s.next++
			if d.running >= r.cfg.PerDestination {
				continue
			}
			j := s.take(d, now)
			started = true
			go func() {
				r.runJob(ctx, j)
				done <- j
			}()
		}
		if !started {
			return
		}
	}
}

// finish accounts for a finished job and learns whether its destination
// answers. It reports whether a claim should follow now.
func (r *Runner) finish(j *job) bool {
	s := &r.sched
	d := j.dest
	d.running--
	s.running--
	s.active -= j.entries
	switch {
	case j.dead != nil, j.interrupted:
	case j.unreachable != nil:
		d.failures++
		if d.failures >= deadAfter && !r.cfg.Now().Before(d.deadUntil) {
			d.deadUntil = r.cfg.Now().Add(min(r.cfg.FirstRetry, maxDeadFor))
			d.deadWhy = *j.unreachable
			d.failures = deadAfter - 1 // when it is alive again, one more failure is enough
			r.log.Warn("destination unreachable: deferring its mail without trying",
				"domain", d.name, "until", d.deadUntil, "reason", d.deadWhy.Text)
		}
	default:
		d.failures = 0
	}
	if d.running == 0 && len(d.waiting) == 0 && !r.cfg.Now().Before(d.deadUntil) && d.failures == 0 {
		delete(s.dests, d.name)
	}
	r.m.setActive(s.active)
	return s.more && s.active < r.cfg.MaxActive
}

// dropWaiting forgets every group not started (at shutdown; their leases
// are released).
func (s *scheduler) dropWaiting() {
	for _, d := range s.dests {
		for _, g := range d.waiting {
			s.active -= len(g.entries)
		}
		d.waiting = nil
		d.inOrder = false
	}
	s.order = nil
	clear(s.open)
}
