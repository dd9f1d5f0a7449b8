package e2e

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clusterLoad is a bounded load of concurrent senders over a set of
// nodes, recording for every message which recipients the 250 after DATA
// covered, and every reply code, so that the fault tests can check that
// each acknowledged message is stored exactly once and that no sender
// ever saw a 5xx for a fault of ours.
type clusterLoad struct {
	tag      string
	local    []string // local recipients of every message
	remote   string   // a relayed recipient of every third message ("" none)
	accepted atomic.Int64

	mu     sync.Mutex
	acked  map[string][]string // tag -> recipients covered by a 250
	codes  map[int]int         // reply code -> count (4xx, 5xx, 250...)
	errors int                 // I/O failures (a node killed, restarting)
	last5  string              // the last 5xx, for the report
}

// loadTagRE finds the load tags in stored messages.
var loadTagRE = regexp.MustCompile(`load-[0-9a-z-]+-s[0-9]+-m[0-9]+`)

// run sends from `senders` goroutines, each up to perSender messages
// spread round robin over addrs(), until stop is closed or ctx ends.
func (l *clusterLoad) run(ctx context.Context, senders, perSender int, addrs func() []string, stop <-chan struct{}) {
	l.acked, l.codes = map[string][]string{}, map[int]int{}
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				as := addrs()
				addr := as[(s+i)%len(as)]
				tag := fmt.Sprintf("%s-s%d-m%d", l.tag, s, i)
				to := append([]string(nil), l.local...)
				if l.remote != "" && i%3 == 0 {
					to = append(to, l.remote)
				}
				msg := []byte("From: <load@elsewhere.test>\r\nSubject: " + tag + "\r\n\r\nbody " + tag + "\r\n")
				sctx, cancel := context.WithTimeout(ctx, 2*ioTimeout)
				ok, res := sendCounting(sctx, addr, "load@elsewhere.test", to, msg)
				cancel()
				l.record(tag, ok, res)
				if res.Err != nil || res.Reply.Code/100 == 4 {
					sleepCtx(ctx, 50*time.Millisecond) // a node down: do not spin
				}
			}
		}()
	}
	wg.Wait()
}

func (l *clusterLoad) record(tag string, rcpts []string, res SendResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if res.Err != nil {
		l.errors++
		return
	}
	l.codes[res.Reply.Code]++
	if res.Reply.Code/100 == 5 {
		l.last5 = res.String()
	}
	if res.Accepted() {
		l.acked[tag] = rcpts
		l.accepted.Add(1)
	}
}

// codeCount returns how many replies of class c (4, 5) ended a
// transaction.
func (l *clusterLoad) codeCount(c int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for code, k := range l.codes {
		if code/100 == c {
			n += k
		}
	}
	return n
}

// summary is the load's outcome, for logs and failures.
func (l *clusterLoad) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d acknowledged, replies %v, %d I/O failures", len(l.acked), l.codes, l.errors)
}

// sendCounting is SendMail that also returns the recipients the server
// accepted: the 250 after DATA covers only those.
func sendCounting(ctx context.Context, addr, from string, to []string, msg []byte) ([]string, SendResult) {
	c, g, err := DialSMTP(ctx, addr)
	if err != nil {
		return nil, SendResult{Stage: "CONNECT", Err: err}
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.Conn().SetDeadline(dl)
	}
	if g.Code != 220 {
		return nil, SendResult{Stage: "CONNECT", Reply: g}
	}
	step := func(stage, line string) SendResult {
		r, err := c.Cmd(line)
		return SendResult{Stage: stage, Reply: r, Err: err}
	}
	for _, s := range [][2]string{{"EHLO", "EHLO load.example.org"}, {"MAIL", "MAIL FROM:<" + from + ">"}} {
		if r := step(s[0], s[1]); r.Err != nil || r.Reply.Code != 250 {
			return nil, r
		}
	}
	var ok []string
	var last SendResult
	for _, rcpt := range to {
		r := step("RCPT", "RCPT TO:<"+rcpt+">")
		if r.Err != nil {
			return nil, r
		}
		if r.Reply.Code == 250 {
			ok = append(ok, rcpt)
		} else {
			last = r
		}
	}
	if len(ok) == 0 {
		return nil, last
	}
	if r := step("DATA", "DATA"); r.Err != nil || r.Reply.Code != 354 {
		return nil, r
	}
	if err := c.Write(string(dotStuff(msg))); err != nil {
		return nil, SendResult{Stage: "DATA-END", Err: err}
	}
	r, err := c.ReadReply()
	if err != nil {
		return nil, SendResult{Stage: "DATA-END", Err: err}
	}
	_, _ = c.Cmd("QUIT")
	return ok, SendResult{Stage: "DATA-END", Reply: r}
}

// checkDelivered reads each local recipient's maildrop through pop3Addr
// and checks: every message acknowledged for that recipient is there
// exactly once; one not acknowledged at most once (its commit may have
// happened with the 250 lost on the way).
func (l *clusterLoad) checkDelivered(t *testing.T, pop3Addr, pass string) {
	t.Helper()
	for _, user := range l.local {
		seen := map[string]int{}
		for _, m := range mustFetch(t, pop3Addr, user, pass, false) {
			if tag := loadTagRE.Find(m.Data); tag != nil && strings.HasPrefix(string(tag), l.tag) {
				seen[string(tag)]++
			}
		}
		missing, dups := 0, 0
		for tag, rcpts := range l.acked {
			if !contains(rcpts, user) {
				continue
			}
			switch seen[tag] {
			case 1:
			case 0:
				missing++
				if missing <= 5 {
					t.Errorf("%s: acknowledged message %s is missing", user, tag)
				}
			default:
				dups++
				t.Errorf("%s: acknowledged message %s stored %d times", user, tag, seen[tag])
			}
		}
		for tag, n := range seen {
			if n > 1 && !contains(l.acked[tag], user) {
				t.Errorf("%s: unacknowledged message %s stored %d times", user, tag, n)
			}
		}
		t.Logf("%s: %d stored, %d missing, %d duplicated (%s)", user, len(seen), missing, dups, l.summary())
	}
}

// checkRelayed checks that every acknowledged message with the remote
// recipient reached the peer at least once, and at most twice (the
// second only when a node died, or lost the database, between the peer's
// 250 and recording it).
func (l *clusterLoad) checkRelayed(t *testing.T, p *fakePeer) {
	t.Helper()
	got := map[string]int{}
	for _, m := range p.Accepted() {
		if tag := loadTagRE.Find(m); tag != nil && bytes.HasPrefix(tag, []byte(l.tag)) {
			got[string(tag)]++
		}
	}
	dups := 0
	for tag, rcpts := range l.acked {
		if !contains(rcpts, l.remote) {
			continue
		}
		switch n := got[tag]; {
		case n == 0:
			t.Errorf("acknowledged message %s was never relayed", tag)
		case n > 2:
			t.Errorf("message %s relayed %d times", tag, n)
		case n == 2:
			dups++
		}
	}
	t.Logf("relay: %d messages at the peer, %d relayed twice (the delivery not recorded after the peer's 250)", len(got), dups)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
