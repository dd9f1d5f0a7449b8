package queue

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDelayNotice defers one recipient three times, an hour apart, with
// delay_warning at 90 minutes, then delivers it: a sender that asked for
// DELAY gets exactly one "delayed" report, at the first deferral past
// the warning time; anyone else gets none.
func TestDelayNotice(t *testing.T) {
	for _, tc := range []struct {
		name, from, notify string
		want               int // delay reports
	}{
		{"DELAY", "sender@local.test", "DELAY", 1},
		{"FAILURE,DELAY", "sender@local.test", "FAILURE,DELAY", 1},
		{"lower case", "sender@local.test", "delay,failure", 1},
		{"absent NOTIFY", "sender@local.test", "", 0},
		{"FAILURE only", "sender@local.test", "FAILURE", 0},
		{"NEVER", "sender@local.test", "NEVER", 0},
		{"null sender", "", "DELAY", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var mu sync.Mutex
			fails := 3
			d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result {
				mu.Lock()
				defer mu.Unlock()
				if fails > 0 {
					fails--
					return all(env, temp451)
				}
				return all(env, ok250)
			}}
			id := e.queue(tc.from, testBody, tc.notify, "slow@far.test")
			cfg := e.config("node-1")
			cfg.FirstRetry, cfg.MaxInterval, cfg.DelayWarning = time.Hour, time.Hour, 90*time.Minute
			r := e.start(cfg, d)
			for attempt := 1; attempt <= 3; attempt++ {
				e.waitFor("a deferral", r, func() bool {
					es := e.entries()
					return len(es) == 1 && es[0].Attempts == attempt && es[0].LeaseOwner == ""
				})
				// Before the warning time (attempts 1 and 2, at 1 and 61
				// minutes) nothing; from the third (121 minutes) one.
				want := 0
				if attempt == 3 {
					want = tc.want
				}
				if n := len(e.inbox(e.sender)); n != want {
					t.Fatalf("after deferral %d: %d reports, want %d", attempt, n, want)
				}
				e.clock.Add(time.Hour)
			}
			e.waitFor("delivery", r, e.queueEmpty)
			msgs := e.inbox(e.sender)
			if len(msgs) != tc.want {
				t.Fatalf("%d reports after delivery, want %d", len(msgs), tc.want)
			}
			// The next hop always gets the sender's own NOTIFY (smtpclient sends it upper-cased).
			for i, c := range d.seen() {
				if got := c.env.Rcpts[0].Notify; !strings.EqualFold(got, tc.notify) {
					t.Errorf("delivery %d: NOTIFY %q, want %q", i+1, got, tc.notify)
				}
			}
			if tc.want == 0 {
				return
			}
			dsn := parseDSN(t, msgs[0])
			dsn.wantParts(t, "text/plain", "message/delivery-status", "text/rfc822-headers")
			if dsn.subject != "Delayed Mail (still being retried)" {
				t.Errorf("subject %q", dsn.subject)
			}
			for _, want := range []string{"Action: delayed", "Status: 4.3.0", "Final-Recipient: rfc822; slow@far.test",
				"X-Posthorn-Queue-ID: " + id, "Diagnostic-Code: smtp; 451 4.3.0 try again later", "Will-Retry-Until: "} {
				if !strings.Contains(dsn.status, want) {
					t.Errorf("delivery-status lacks %q:\n%s", want, dsn.status)
				}
			}
			if !strings.HasPrefix(string(msgs[0]), "Return-Path: <>\r\n") {
				t.Errorf("a delay notice must come from the null sender:\n%.200s", msgs[0])
			}
		})
	}
}

// TestDelayNoticeNotTwice: a notice already recorded in the stored
// NOTIFY (the mark) is not sent again, and the mark never goes on the
// wire.
func TestDelayNoticeNotTwice(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, temp451) }}
	e.queue(e.sender.Address, testBody, "FAILURE,"+delaySentMark, "slow@far.test")
	cfg := e.config("node-1")
	cfg.DelayWarning = time.Minute
	e.clock.Add(time.Hour)
	r := e.start(cfg, d)
	e.waitFor("a deferral", r, func() bool { es := e.entries(); return len(es) == 1 && es[0].Attempts == 1 })
	if n := len(e.inbox(e.sender)); n != 0 {
		t.Errorf("%d reports, want none: the notice was sent before", n)
	}
	if got := d.seen()[0].env.Rcpts[0].Notify; got != "FAILURE,DELAY" {
		t.Errorf("NOTIFY on the wire %q, want FAILURE,DELAY", got)
	}
}

func TestWireNotify(t *testing.T) {
	for _, tc := range []struct {
		stored, wire string
		sent         bool
	}{
		{"", "", false},
		{"NEVER", "NEVER", false},
		{"DELAY", "DELAY", false},
		{delaySentMark, "DELAY", true},
		{"SUCCESS," + delaySentMark, "SUCCESS,DELAY", true},
		{"failure,x-delay-sent", "failure,DELAY", true},
	} {
		if got := WireNotify(tc.stored); got != tc.wire {
			t.Errorf("WireNotify(%q) = %q, want %q", tc.stored, got, tc.wire)
		}
		if got := DelayNoticeSent(tc.stored); got != tc.sent {
			t.Errorf("DelayNoticeSent(%q) = %v, want %v", tc.stored, got, tc.sent)
		}
		if tc.sent && wantsNotify(tc.stored, "DELAY") {
			t.Errorf("wantsNotify(%q, DELAY) after the notice", tc.stored)
		}
	}
}
