package loadgen

import (
	"context"
	"time"
)

// recorder is one worker's tally; workers merge theirs at the end, so no
// locks are taken per message.
type recorder struct {
	ok        int
	failed    map[int]int // by reply code; 0 = no reply
	latencies []time.Duration
	firstErr  error
	conns     int // connections set up (greeting through AUTH)
	piped     int // of those, how many used pipelining
}

func (r *recorder) success(d time.Duration) {
	r.ok++
	r.latencies = append(r.latencies, d)
}

func (r *recorder) failure(err error) {
	if r.failed == nil {
		r.failed = make(map[int]int)
	}
	r.failed[codeOf(err)]++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// worker sends messages, one connection at a time, until claim says
// there are none left.
type worker struct {
	cfg   *Config
	msg   *message
	claim func() (seq int, ok bool)
	rec   recorder
}

func (w *worker) run(ctx context.Context) {
	seq, ok := w.claim()
	for ok {
		c, err := dial(ctx, w.cfg)
		if err != nil {
			w.cfg.Logger.Debug("connection failed", "seq", seq, "err", err)
			w.rec.failure(err)
			seq, ok = w.claim()
			continue
		}
		w.rec.conns++
		env := newEnvelope(w.cfg, w.msg.t.size(), c.has("SIZE"))
		if w.cfg.Pipelining && c.has("PIPELINING") {
			w.rec.piped++
			seq, ok = w.pipelined(ctx, c, env, seq)
		} else {
			seq, ok = w.lockstep(ctx, c, env, seq)
		}
	}
}

// lockstep sends message seq and, with reuse, more after RSET, waiting
// for every reply. It closes c and returns the next message to send.
func (w *worker) lockstep(ctx context.Context, c *client, env *envelope, seq int) (int, bool) {
	for n := 0; ; n++ {
		if n > 0 {
			if _, err := c.command(ctx, "RSET", "RSET", 250); err != nil {
				w.rec.failure(err)
				c.close()
				return w.claim()
			}
		}
		w.msg.setSeq(seq)
		d, err := lockstep(ctx, c, env, w.msg)
		if err != nil {
			w.rec.failure(err)
			if fatal(err) {
				c.close()
				return w.claim()
			}
		} else {
			w.rec.success(d)
		}
		if !w.cfg.Reuse {
			c.quit(ctx)
			return w.claim()
		}
		var ok bool
		if seq, ok = w.claim(); !ok {
			c.quit(ctx)
			return 0, false
		}
	}
}

// pipelined sends message seq and, with reuse, more: MAIL, RCPTs and
// DATA in one write, and after the final dot the next group (or QUIT) in
// the same write (RFC 2920 §3.1). It closes c and returns the next message
// to send. A message whose group was written but never answered because
// the connection broke is returned for a fresh connection: it was not
// attempted, so this is not a retry.
func (w *worker) pipelined(ctx context.Context, c *client, env *envelope, seq int) (int, bool) {
	c.bw.Write(env.group)
	start := time.Now()
	if err := c.flush(ctx); err != nil {
		w.rec.failure(err)
		c.close()
		return w.claim()
	}
	for {
		if err := readGroup(ctx, c, env); err != nil {
			w.rec.failure(err)
			if fatal(err) {
				c.close()
				return w.claim()
			}
			if !w.cfg.Reuse {
				c.quit(ctx)
				return w.claim()
			}
			var ok bool
			if seq, ok = w.claim(); !ok {
				c.quit(ctx)
				return 0, false
			}
			// The transaction failed before its data: reset it and go on
			// with the next message on the same connection.
			if start, err = restart(ctx, c, env); err != nil {
				w.rec.failure(err)
				c.close()
				return w.claim()
			}
			continue
		}
		next, more, sent, err := w.sendData(ctx, c, env, seq)
		if err != nil {
			w.rec.failure(err)
		} else {
			w.rec.success(time.Since(start))
		}
		if (err != nil && fatal(err)) || !more {
			if err == nil {
				c.expect(ctx, "QUIT", 221)
			}
			c.close()
			if more {
				return next, true
			}
			return w.claim()
		}
		seq, start = next, sent
	}
}

// sendData sends message seq after a 354, the final dot, and behind it in
// the same write the next message's group when reuse claims one, else
// QUIT. It returns the next message, when its group went out, and the
// error (if any) that ended message seq.
func (w *worker) sendData(ctx context.Context, c *client, env *envelope, seq int) (next int, more bool, sent time.Time, err error) {
	w.msg.setSeq(seq)
	if err := w.msg.writeTo(c.bw); err != nil {
		return 0, false, time.Time{}, c.netErr(ctx, "write", err)
	}
	c.bw.WriteString(".\r\n")
	if w.cfg.Reuse {
		next, more = w.claim()
	}
	if more {
		c.bw.Write(env.group)
	} else {
		c.bw.WriteString("QUIT\r\n")
	}
	err = c.flush(ctx)
	sent = time.Now()
	if err == nil {
		_, err = c.expect(ctx, "end of data", 250)
	}
	return next, more, sent, err
}

// restart sends RSET, then the next group.
func restart(ctx context.Context, c *client, env *envelope) (time.Time, error) {
	if _, err := c.command(ctx, "RSET", "RSET", 250); err != nil {
		return time.Time{}, err
	}
	c.bw.Write(env.group)
	start := time.Now()
	return start, c.flush(ctx)
}
