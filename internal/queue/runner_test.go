package queue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const testBody = "Received: from a by b\r\nFrom: sender@local.test\r\nSubject: hello\r\n\r\nHello there.\r\n"

func TestDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, ok250) }}
	id := e.queue(e.sender.Address, testBody, "", "a@far.test", "b@FAR.test", "c@other.test")
	r := e.start(e.config("node-1"), d)
	e.waitFor("an empty queue", r, e.queueEmpty)

	calls := d.seen()
	if len(calls) != 2 {
		t.Fatalf("%d deliveries, want 2 (one per domain): %+v", len(calls), calls)
	}
	slices.SortFunc(calls, func(a, b call) int { return strings.Compare(a.domain, b.domain) })
	far := calls[0]
	if far.domain != "far.test" || len(far.env.Rcpts) != 2 || far.env.From != e.sender.Address ||
		far.env.MsgID != id || far.env.BodyType != "8BITMIME" || far.body != testBody ||
		far.env.Rcpts[0].ORCPT != "rfc822;a@far.test" {
		t.Errorf("far.test delivery: %+v", far)
	}
	if calls[1].domain != "other.test" || len(calls[1].env.Rcpts) != 1 {
		t.Errorf("other.test delivery: %+v", calls[1])
	}
	if got := e.inbox(e.sender); len(got) != 0 {
		t.Errorf("sender got %d messages, want no report", len(got))
	}
	if n, _, _ := e.st.BodyCount(e.ctx); n != 0 {
		t.Errorf("%d bodies left after delivery, want 0", n)
	}
}

func TestRetryBackoff(t *testing.T) {
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
	e.queue(e.sender.Address, testBody, "", "a@far.test")
	cfg := e.config("node-1")
	cfg.FirstRetry, cfg.MaxInterval = 5*time.Minute, 8*time.Minute
	r := e.start(cfg, d)
	// Each failure: attempts+1 and a backoff of 5m, 8m (10m capped), 8m.
	for i, wait := range []time.Duration{5 * time.Minute, 8 * time.Minute, 8 * time.Minute} {
		e.waitFor(fmt.Sprintf("failure %d recorded", i+1), r, func() bool {
			es := e.entries()
			return len(es) == 1 && es[0].Attempts == i+1 && es[0].LeaseOwner == ""
		})
		got := e.entries()[0]
		if want := e.clock.Now().Add(wait); !got.NextAttempt.Equal(want.Truncate(time.Second)) {
			t.Errorf("after failure %d: next attempt %v, want %v", i+1, got.NextAttempt, want)
		}
		if !strings.Contains(got.LastError, "451 4.3.0 try again later") {
			t.Errorf("last error %q", got.LastError)
		}
		if n := len(d.seen()); n != i+1 {
			t.Fatalf("%d deliveries before the retry is due, want %d", n, i+1)
		}
		e.clock.Add(wait)
	}
	e.waitFor("delivery", r, e.queueEmpty)
	if n := len(d.seen()); n != 4 {
		t.Errorf("%d deliveries, want 4", n)
	}
}

func TestBackoffTable(t *testing.T) {
	c := Config{FirstRetry: 5 * time.Minute, MaxInterval: time.Hour}
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{0, 5 * time.Minute}, {1, 10 * time.Minute}, {2, 20 * time.Minute}, {3, 40 * time.Minute},
		{4, time.Hour}, {5, time.Hour}, {1000, time.Hour}} {
		if got := c.backoff(tc.attempts); got != tc.want {
			t.Errorf("backoff(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
	// The default jitter adds up to a tenth.
	for range 100 {
		if j := defaultJitter(time.Minute); j < 0 || j >= time.Minute {
			t.Fatalf("jitter %v out of [0, 1m)", j)
		}
	}
}

func TestBounceOnPermanentFailure(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result {
		res := all(env, perm550)
		res.Rcpts[1] = ok250
		res.Rcpts[1].Rcpt = env.Rcpts[1].Addr
		return res
	}}
	id := e.queue(e.sender.Address, testBody, "", "gone@far.test", "here@far.test")
	r := e.start(e.config("node-1"), d)
	e.waitFor("an empty queue", r, e.queueEmpty)
	msgs := e.inbox(e.sender)
	if len(msgs) != 1 {
		t.Fatalf("sender has %d messages, want 1 bounce", len(msgs))
	}
	b := string(msgs[0])
	if !strings.HasPrefix(b, "Return-Path: <>\r\nDelivered-To: sender@local.test\r\n") {
		t.Errorf("bounce prefix: %.80q", b)
	}
	dsn := parseDSN(t, msgs[0])
	dsn.wantParts(t, "text/plain", "message/delivery-status", "message/rfc822")
	for _, want := range []string{"Reporting-MTA: dns; mx.local.test", "X-Posthorn-Queue-ID: " + id,
		"Final-Recipient: rfc822; gone@far.test", "Original-Recipient: rfc822; gone@far.test",
		"Action: failed", "Status: 5.1.1", "Remote-MTA: dns; mx.far.test",
		"Diagnostic-Code: smtp; 550 5.1.1 User unknown"} {
		if !strings.Contains(dsn.status, want+"\r\n") {
			t.Errorf("delivery-status lacks %q:\n%s", want, dsn.status)
		}
	}
	if strings.Contains(dsn.status, "here@far.test") {
		t.Errorf("the delivered recipient is in the bounce:\n%s", dsn.status)
	}
	if !strings.Contains(dsn.human, "mx.far.test said: 550 5.1.1 User unknown") {
		t.Errorf("human part lacks the remote reply:\n%s", dsn.human)
	}
	if dsn.original != testBody {
		t.Errorf("returned message %q, want the original", dsn.original)
	}
}

func TestExpiryBounces(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, temp451) }}
	e.queue(e.sender.Address, testBody, "", "slow@far.test")
	cfg := e.config("node-1")
	cfg.MaxAge = time.Hour
	e.clock.Add(time.Hour) // queued over an hour ago
	r := e.start(cfg, d)
	e.waitFor("the bounce", r, func() bool { return len(e.inbox(e.sender)) == 1 })
	if !e.queueEmpty() {
		t.Error("expired entry still queued")
	}
	dsn := parseDSN(t, e.inbox(e.sender)[0])
	for _, want := range []string{"Action: failed", "Status: 4.3.0", "Diagnostic-Code: smtp; 451 4.3.0 try again later"} {
		if !strings.Contains(dsn.status, want+"\r\n") {
			t.Errorf("delivery-status lacks %q:\n%s", want, dsn.status)
		}
	}
	if !strings.Contains(dsn.human, "gave up") {
		t.Errorf("human part does not say it gave up:\n%s", dsn.human)
	}
}

func TestLastTryAtExpiry(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, temp451) }}
	e.queue(e.sender.Address, testBody, "", "slow@far.test")
	cfg := e.config("node-1")
	cfg.MaxAge, cfg.FirstRetry, cfg.MaxInterval = 10*time.Minute, 5*time.Minute, time.Hour
	e.clock.Add(7 * time.Minute)
	r := e.start(cfg, d)
	e.waitFor("a deferral", r, func() bool { es := e.entries(); return len(es) == 1 && es[0].Attempts == 1 })
	es := e.entries()
	if exp := es[0].Created.Add(10 * time.Minute); !es[0].NextAttempt.Equal(exp) {
		t.Errorf("next attempt %v, want the expiry %v", es[0].NextAttempt, exp)
	}
}

func TestNoReports(t *testing.T) {
	for _, tc := range []struct {
		name, from, notify string
		rr                 RcptResult
		peerDSN            bool
	}{
		{"null sender", "", "", perm550, false},
		{"NOTIFY=NEVER", "sender@local.test", "NEVER", perm550, false},
		{"NOTIFY=DELAY only", "sender@local.test", "DELAY", perm550, false},
		{"success without SUCCESS", "sender@local.test", "FAILURE", ok250, false},
		{"SUCCESS and the peer takes DSN", "sender@local.test", "SUCCESS", ok250, true},
		{"unknown local sender", "nobody@local.test", "", perm550, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result {
				res := all(env, tc.rr)
				res.PeerDSN = tc.peerDSN
				return res
			}}
			e.queue(tc.from, testBody, tc.notify, "x@far.test")
			r := e.start(e.config("node-1"), d)
			e.waitFor("an empty queue", r, e.queueEmpty)
			if n := len(e.inbox(e.sender)); n != 0 {
				t.Errorf("%d reports, want none", n)
			}
			if n, _, _ := e.st.BodyCount(e.ctx); n != 0 {
				t.Errorf("%d bodies stored, want none (no report queued anywhere)", n)
			}
		})
	}
}

func TestSuccessDSN(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, ok250) }}
	e.queue(e.sender.Address, testBody, "SUCCESS,FAILURE", "x@far.test")
	r := e.start(e.config("node-1"), d)
	e.waitFor("the success report", r, func() bool { return len(e.inbox(e.sender)) == 1 })
	dsn := parseDSN(t, e.inbox(e.sender)[0])
	dsn.wantParts(t, "text/plain", "message/delivery-status", "text/rfc822-headers")
	for _, want := range []string{"Action: relayed", "Status: 2.0.0", "Final-Recipient: rfc822; x@far.test"} {
		if !strings.Contains(dsn.status, want+"\r\n") {
			t.Errorf("delivery-status lacks %q:\n%s", want, dsn.status)
		}
	}
	if dsn.subject != "Successful Mail Delivery Report" {
		t.Errorf("subject %q", dsn.subject)
	}
	if want := testBody[:strings.Index(testBody, "\r\n\r\n")+2]; dsn.original != want {
		t.Errorf("returned headers %q, want %q", dsn.original, want)
	}
}

// TestRemoteSenderReport: a sender that is not local gets its report
// through the queue, from the null sender.
func TestRemoteSenderReport(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	d := &fakeDeliverer{fn: func(_ context.Context, domain string, env *Envelope) Result {
		mu.Lock()
		defer mu.Unlock()
		if domain == "far.test" {
			return all(env, perm550)
		}
		return all(env, ok250)
	}}
	e.queue("someone@elsewhere.test", testBody, "", "x@far.test")
	r := e.start(e.config("node-1"), d)
	e.waitFor("the report's delivery", r, func() bool { return len(d.seen()) == 2 && e.queueEmpty() })
	c := d.seen()[1]
	if c.domain != "elsewhere.test" || c.env.From != "" || c.env.Rcpts[0].Addr != "someone@elsewhere.test" {
		t.Errorf("report delivery %+v", c)
	}
	parseDSN(t, []byte(c.body)).wantParts(t, "text/plain", "message/delivery-status", "message/rfc822")
}

func TestPerDestinationLimit(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var mu sync.Mutex
	running, peak := 0, 0
	d := &fakeDeliverer{fn: func(ctx context.Context, domain string, env *Envelope) Result {
		if domain != "slow.test" {
			return all(env, ok250)
		}
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
		}
		mu.Lock()
		running--
		mu.Unlock()
		return all(env, ok250)
	}}
	for i := range 6 {
		e.queue(e.sender.Address, testBody, "", fmt.Sprintf("u%d@slow.test", i))
	}
	cfg := e.config("node-1")
	cfg.PerDestination, cfg.Workers = 2, 4
	r := e.start(cfg, d)
	e.waitFor("two slow deliveries", r, func() bool { mu.Lock(); defer mu.Unlock(); return running == 2 })
	// Four slow messages wait for a slot; a fast destination still goes.
	fast := e.queue(e.sender.Address, testBody, "", "v@fast.test")
	e.waitFor("the fast delivery", r, func() bool {
		for _, en := range e.entries() {
			if en.MsgID == fast {
				return false
			}
		}
		return true
	})
	close(release)
	e.waitFor("an empty queue", r, e.queueEmpty)
	if peak != 2 {
		t.Errorf("peak of %d concurrent deliveries to slow.test, want 2", peak)
	}
}

func TestTwoRunnersDeliverOnce(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	got := map[string]int{}
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result {
		mu.Lock()
		for _, r := range env.Rcpts {
			got[env.MsgID+" "+r.Addr]++
		}
		mu.Unlock()
		return all(env, ok250)
	}}
	want := 0
	for i := range 40 {
		e.queue(e.sender.Address, testBody, "", fmt.Sprintf("a@d%d.test", i%7), fmt.Sprintf("b@d%d.test", i%5))
		want += 2
	}
	for _, owner := range []string{"node-1", "node-2"} {
		cfg := e.config(owner)
		cfg.ClaimBatch = 3 // many small claims: they interleave
		e.start(cfg, d)
	}
	e.waitFor("an empty queue", nil, e.queueEmpty)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != want {
		t.Errorf("%d recipients delivered, want %d", len(got), want)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
}

func TestLeases(t *testing.T) {
	e := newEnv(t)
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, ok250) }}
	other := e.queue(e.sender.Address, testBody, "", "a@far.test")
	mine := e.queue(e.sender.Address, testBody, "", "b@far.test")
	// A runner of another node died holding one entry; this node's runner
	// died holding the other (kill -9: leases are left behind).
	es, err := e.st.ClaimDue(e.ctx, "dead-node", e.clock.Now(), 10*time.Minute, 1)
	if err != nil || len(es) != 1 || es[0].MsgID != other {
		t.Fatalf("claim = %+v, %v", es, err)
	}
	if es, err := e.st.ClaimDue(e.ctx, "node-1", e.clock.Now(), 10*time.Minute, 1); err != nil || len(es) != 1 {
		t.Fatalf("claim = %+v, %v", es, err)
	}
	r := e.start(e.config("node-1"), d)
	// Released at start: this node's entry goes without waiting.
	e.waitFor("this node's old entry", r, func() bool { return len(d.seen()) == 1 && len(e.entries()) == 1 })
	if c := d.seen()[0]; c.env.MsgID != mine {
		t.Errorf("delivered %s first, want %s", c.env.MsgID, mine)
	}
	if n := len(e.entries()); n != 1 {
		t.Fatalf("%d entries left, want the other node's", n)
	}
	// The other node's lease runs out: it is retaken.
	e.clock.Add(11 * time.Minute)
	e.waitFor("the retaken entry", r, e.queueEmpty)
	if c := d.seen(); len(c) != 2 || c[1].env.MsgID != other {
		t.Errorf("deliveries %+v", c)
	}
}

func TestDeadDestination(t *testing.T) {
	e := newEnv(t)
	refused := RcptResult{Enhanced: "4.4.1", Text: "connection refused", Host: ""}
	d := &fakeDeliverer{fn: func(_ context.Context, _ string, env *Envelope) Result { return all(env, refused) }}
	for i := range 6 {
		e.queue(e.sender.Address, testBody, "", fmt.Sprintf("u%d@dead.test", i))
	}
	cfg := e.config("node-1")
	cfg.PerDestination = 1
	r := e.start(cfg, d)
	e.waitFor("every entry deferred", r, func() bool {
		for _, en := range e.entries() {
			if en.Attempts != 1 || en.LeaseOwner != "" {
				return false
			}
		}
		return true
	})
	if n := len(d.seen()); n != deadAfter {
		t.Errorf("%d connections to a dead destination, want %d", n, deadAfter)
	}
	notTried := 0
	for _, en := range e.entries() {
		if strings.Contains(en.LastError, "not tried, destination unreachable (connection refused)") {
			notTried++
		} else if en.LastError != "connection refused" {
			t.Errorf("last error %q", en.LastError)
		}
	}
	if notTried != 6-deadAfter {
		t.Errorf("%d entries deferred without a try, want %d", notTried, 6-deadAfter)
	}
}

func TestShutdownReleases(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	d := &fakeDeliverer{fn: func(ctx context.Context, _ string, env *Envelope) Result {
		started <- struct{}{}
		<-ctx.Done() // a delivery that only ends when cancelled
		return all(env, RcptResult{Enhanced: "4.4.2", Text: "delivery interrupted"})
	}}
	e.queue(e.sender.Address, testBody, "", "a@far.test")
	cfg := e.config("node-1")
	cfg.DrainGrace = 10 * time.Millisecond
	r, err := New(cfg, e.st, d, storeResolver{e.st}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	es := e.entries()
	if len(es) != 1 || es[0].Attempts != 0 || es[0].LeaseOwner != "" || es[0].NextAttempt.After(e.clock.Now()) {
		t.Errorf("after shutdown: %+v; want the entry due, unleased, not counted as an attempt", es)
	}
}

func TestConfigRequired(t *testing.T) {
	if _, err := New(Config{Hostname: "h"}, nil, nil, nil, nil, nil); err == nil {
		t.Error("New without Owner and NewSpool succeeded")
	}
}
