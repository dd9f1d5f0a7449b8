package queue

import (
	"context"
	"fmt"
	"io"
)

// job is one unit of a worker: a delivery of one group, or the deferral
// without a try of every waiting group of a dead destination.
type job struct {
	dest    *dest
	groups  []*group
	entries int
	dead    *RcptResult // not nil: the destination is dead, defer all with this reason

	// Set by the worker, read by finish.
	interrupted bool        // shutdown cancelled the delivery
	unreachable *RcptResult // no server answered for any recipient
}

// runJob delivers (or defers) the job's groups and records the outcomes.
func (r *Runner) runJob(ctx context.Context, j *job) {
	defer func() {
		if p := recover(); p != nil {
			// The entries stay leased and come back when the lease ends.
			r.log.Error("delivery panicked", "domain", j.dest.name, "panic", p)
			j.interrupted = true
		}
	}()
	p := newPlan(r)
	for _, g := range j.groups {
		var res Result
		switch {
		case j.dead != nil:
			res = sameResult(g, *j.dead)
		case g.key.domain == "":
			res = sameResult(g, RcptResult{Permanent: true, Enhanced: "5.1.3", Text: "recipient address has no domain"})
		default:
			res = r.deliver(ctx, g)
			if ctx.Err() != nil {
				j.interrupted = true
			} else if u := unreachable(res); u != nil {
				j.unreachable = u
			}
		}
		p.add(ctx, g, res, j.interrupted)
	}
	p.apply(context.WithoutCancel(ctx))
}

// deliver calls the Deliverer for one group, checking what it returns.
func (r *Runner) deliver(ctx context.Context, g *group) Result {
	first := g.entries[0]
	env := &Envelope{From: first.Sender, BodyType: first.BodyType, SMTPUTF8: first.SMTPUTF8,
		Ret: first.Ret, EnvID: first.EnvID, MsgID: first.MsgID}
	for _, e := range g.entries {
		env.Rcpts = append(env.Rcpts, Rcpt{Addr: e.Rcpt, Notify: WireNotify(e.Notify), ORCPT: e.ORCPT})
	}
	body := Body{Size: first.Size, Open: func() (io.ReadCloser, error) { return r.st.OpenBody(ctx, first.BodyID) }}
	res := r.d.Deliver(ctx, g.key.domain, env, body)
	if len(res.Rcpts) != len(env.Rcpts) {
		r.log.Error("deliverer returned a wrong number of results", "msg", first.MsgID,
			"domain", g.key.domain, "got", len(res.Rcpts), "want", len(env.Rcpts))
		return sameResult(g, RcptResult{Enhanced: "4.3.0", Text: "internal error: incomplete delivery result"})
	}
	return res
}

// sameResult gives every recipient of g the outcome rr.
func sameResult(g *group, rr RcptResult) Result {
	res := Result{Rcpts: make([]RcptResult, len(g.entries))}
	for i, e := range g.entries {
		res.Rcpts[i] = rr
		res.Rcpts[i].Rcpt = e.Rcpt
	}
	return res
}

// unreachable returns the failure when no recipient got an answer from a
// server and none failed permanently: the destination itself is down.
func unreachable(res Result) *RcptResult {
	for _, rr := range res.Rcpts {
		if rr.Delivered || rr.Permanent || rr.Code != 0 {
			return nil
		}
	}
	if len(res.Rcpts) == 0 {
		return nil
	}
	u := res.Rcpts[0]
	u.Rcpt = ""
	if u.Text == "" {
		u.Text = "no server answered"
	}
	u.Text = fmt.Sprintf("not tried, destination unreachable (%s)", u.Text)
	return &u
}
