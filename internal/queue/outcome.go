package queue

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// storeTimeout bounds the store calls that record one job's outcome; they
// run even while Run stops.
const storeTimeout = time.Minute

// plan collects the outcomes of one job and writes them to the store:
// reports (DSNs) with the removal of the entries they are about, in one
// transaction each; plain removals; deferrals grouped by their next
// attempt and error.
type plan struct {
	r       *Runner
	now     time.Time
	removes []removal
	delays  []*delayNotice
	defers  map[deferKey][]int64
}

// removal is entries to remove, with the report about them (may be nil).
type removal struct {
	ids     []int64
	report  *report
	entry   store.QueueEntry // the message's envelope, for the report
	results []resultLog
}

type deferKey struct {
	attempts int
	lastErr  string
	created  int64
}

// resultLog is one recipient's outcome, logged and counted after the
// store has it.
type resultLog struct {
	id     int64
	rcpt   string
	result string // "delivered", "failed", "expired"
	rr     RcptResult
}

func newPlan(r *Runner) *plan {
	return &plan{r: r, now: r.cfg.Now(), defers: map[deferKey][]int64{}}
}

// wantsNotify reports whether an RFC 3461 NOTIFY value asks for kind
// (SUCCESS, FAILURE, DELAY). Absent NOTIFY means FAILURE (§4.1), and no
// DELAY: this queue sends delay notices only when asked (delay.go).
func wantsNotify(notify, kind string) bool {
	if notify == "" {
		return kind == "FAILURE"
	}
	for v := range strings.SplitSeq(notify, ",") {
		if strings.EqualFold(strings.TrimSpace(v), kind) {
			return true
		}
	}
	return false
}

// add records the outcome res of group g.
func (p *plan) add(ctx context.Context, g *group, res Result, interrupted bool) {
	rm := removal{entry: g.entries[0]}
	var statuses []rcptStatus
	var delay *delayNotice
	for i, e := range g.entries {
		rr := res.Rcpts[i]
		expired := !rr.Delivered && !rr.Permanent && p.now.Sub(e.Created) >= p.r.cfg.MaxAge
		switch {
		case rr.Delivered:
			rm.ids = append(rm.ids, e.ID)
			rm.results = append(rm.results, resultLog{e.ID, e.Rcpt, "delivered", rr})
			if wantsNotify(e.Notify, "SUCCESS") && !res.PeerDSN {
				statuses = append(statuses, p.status(e, rr, actionRelayed, false))
			}
		case rr.Permanent || expired:
			kind := "failed"
			if !rr.Permanent {
				kind = "expired"
			}
			rm.ids = append(rm.ids, e.ID)
			rm.results = append(rm.results, resultLog{e.ID, e.Rcpt, kind, rr})
			if wantsNotify(e.Notify, "FAILURE") {
				statuses = append(statuses, p.status(e, rr, actionFailed, expired))
			}
		case interrupted:
			// Shutdown cut the delivery short: not the destination's
			// fault. The lease is released when Run ends.
		default:
			key := deferKey{e.Attempts, lastError(rr), e.Created.Unix()}
			p.defers[key] = append(p.defers[key], e.ID)
			p.r.log.Info("deferred", "msg", e.MsgID, "rcpt", e.Rcpt, "attempts", e.Attempts+1, "reason", key.lastErr)
			p.r.m.result("deferred")
			if p.wantsDelayNotice(e) {
				p.addDelay(&delay, e, rr)
			}
		}
	}
	if delay != nil {
		p.delays = append(p.delays, delay)
	}
	if len(statuses) > 0 {
		rm.report = p.report(g.entries[0], statuses)
	}
	if len(rm.ids) > 0 {
		p.removes = append(p.removes, rm)
	}
}

// status is the DSN line of one recipient.
func (p *plan) status(e store.QueueEntry, rr RcptResult, action string, expired bool) rcptStatus {
	st := rcptStatus{Rcpt: e.Rcpt, ORCPT: e.ORCPT, Action: action, Status: rr.Enhanced,
		RemoteMTA: rr.Host, Code: rr.Code, Text: rr.Text, LastAttempt: p.now, Expired: expired}
	if st.Status == "" || !validStatus(st.Status) || (action == actionDelayed && st.Status[0] != '4') {
		switch {
		case action == actionRelayed:
			st.Status = "2.0.0"
		case action == actionDelayed:
			st.Status = "4.0.0"
		case expired:
			st.Status = "4.4.7" // RFC 3463: delivery time expired
		default:
			st.Status = "5.0.0"
		}
	}
	if expired && rr.Text == "" {
		st.Text = "delivery time expired"
	}
	return st
}

// validStatus checks an RFC 3463 status code: class.subject.detail.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.Contains("245", parts[0]) {
		return false
	}
	for _, n := range parts[1:] {
		if len(n) == 0 || len(n) > 3 || strings.Trim(n, "0123456789") != "" {
			return false
		}
	}
	return true
}

func (p *plan) report(e store.QueueEntry, statuses []rcptStatus) *report {
	rep := &report{Hostname: p.r.cfg.Hostname, QueueID: e.MsgID, EnvID: e.EnvID, Sender: e.Sender,
		Arrival: e.Created, Date: p.now, Rcpts: statuses, Return: returnHeaders,
		UTF8: e.SMTPUTF8 || !isASCII(e.Sender)}
	for _, s := range statuses {
		if !isASCII(s.Rcpt) || !isASCII(s.ORCPT) {
			rep.UTF8 = true
		}
	}
	if rep.failed() && e.BodyType != "BINARYMIME" {
		switch limit := p.r.cfg.ReturnDefaultMax; strings.ToUpper(e.Ret) {
		case "FULL":
			limit = p.r.cfg.ReturnFullMax
			fallthrough
		case "":
			if e.Size <= limit {
				rep.Return = returnFull
			}
		}
	}
	return rep
}

// lastError is the text kept for an entry that will be retried.
func lastError(rr RcptResult) string {
	s := &rcptStatus{RemoteMTA: rr.Host, Code: rr.Code, Status: rr.Enhanced, Text: rr.Text}
	if s.Status == "" {
		s.Status = "4.0.0"
	}
	if s.Text == "" && s.Code == 0 {
		return "temporary failure"
	}
	return truncate(clean(s.diagnosticLine()), 500)
}

// backoff is the wait after the attempts-th temporary failure (counting
// from 0): FirstRetry doubled each time, at most MaxInterval.
func (c *Config) backoff(attempts int) time.Duration {
	d := c.FirstRetry
	for range attempts {
		if d >= c.MaxInterval/2 {
			return c.MaxInterval
		}
		d *= 2
	}
	return min(d, c.MaxInterval)
}

func defaultJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// nextAttempt is when an entry that failed temporarily is tried again:
// the backoff plus up to a tenth of it at random, and no later than its
// expiry, so that the last try is made when max_age is reached.
func (p *plan) nextAttempt(k deferKey) time.Time {
	d := p.r.cfg.backoff(k.attempts)
	next := p.now.Add(d + p.r.cfg.Jitter(d/10))
	if exp := time.Unix(k.created, 0).Add(p.r.cfg.MaxAge); next.After(exp) && exp.After(p.now) {
		next = exp
	}
	return next
}

// apply writes the plan: removals (with their reports) first, then
// delay notices, then deferrals. A failed write leaves the entries leased: they come back
// when the lease ends (a delivered one may then be sent twice, never
// lost).
func (p *plan) apply(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	for _, rm := range p.removes {
		p.applyRemoval(ctx, rm)
	}
	for _, dn := range p.delays {
		p.applyDelay(ctx, dn)
	}
	for k, ids := range p.defers {
		if err := p.r.st.QueueDefer(ctx, ids, p.nextAttempt(k), k.lastErr); err != nil {
			p.r.log.Error("recording a deferral", "entries", len(ids), "err", err)
		}
	}
}
