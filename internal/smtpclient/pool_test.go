package smtpclient

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestPoolReuse(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		f := &fakeServer{}
		if pipelining {
			f.ext = []string{"PIPELINING"}
		}
		srv := newFakeServer(t, f)
		cl := testClient(t, nil)
		for i := 0; i < 3; i++ {
			res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
			checkResult(t, res, want{delivered: true})
		}
		if srv.count() != 1 {
			t.Fatalf("pipelining=%v: %d sessions, want 1", pipelining, srv.count())
		}
		if n := cl.pool.idleCount(); n != 1 {
			t.Errorf("idle connections %d, want 1", n)
		}
		cl.Close()
		s := srv.session(0)
		if len(s.msgs) != 3 || count(s.cmds, "RSET") != 2 || s.cmds[len(s.cmds)-1] != "QUIT" {
			t.Errorf("pipelining=%v: messages %d, commands %q; want 3 messages, 2 RSET, QUIT last", pipelining, len(s.msgs), s.cmds)
		}
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestPoolIdleTimeout(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{})
	cl := testClient(t, func(c *Config) { c.IdleTimeout = 20 * time.Millisecond })
	res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{delivered: true})
	// Wait (without a timing assert) until the idle connection says QUIT.
	for cmds := srv.session(0).cmds; cmds[len(cmds)-1] != "QUIT"; cmds = srv.session(0).cmds {
		time.Sleep(5 * time.Millisecond)
	}
	if n := cl.pool.idleCount(); n != 0 {
		t.Errorf("idle connections %d after expiry, want 0", n)
	}
}

func TestPoolMaxMessages(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{})
	cl := testClient(t, func(c *Config) { c.MaxMessagesPerConn = 2 })
	for i := 0; i < 3; i++ {
		checkResult(t, cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg)), want{delivered: true})
	}
	if srv.count() != 2 || srv.session(0).cmds[len(srv.session(0).cmds)-1] != "QUIT" {
		t.Errorf("sessions %d, first ends with %q; want 2 and QUIT", srv.count(), srv.session(0).cmds)
	}
}

func TestPoolStaleConnection(t *testing.T) {
	// The server hangs up after each message: the pooled connection is
	// dead when reused, and the client dials again instead of failing.
	for _, pipelining := range []bool{false, true} {
		f := &fakeServer{closeIdle: true}
		if pipelining {
			f.ext = []string{"PIPELINING"}
		}
		srv := newFakeServer(t, f)
		cl := testClient(t, nil)
		for i := 0; i < 2; i++ {
			checkResult(t, cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg)), want{delivered: true})
		}
		if srv.count() != 2 {
			t.Errorf("pipelining=%v: sessions %d, want 2", pipelining, srv.count())
		}
	}
}

func TestPoolConcurrent(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{ext: []string{"PIPELINING"}})
	cl := testClient(t, nil)
	var wg sync.WaitGroup
	results := make([]Result, 8)
	for i := range results {
		wg.Go(func() {
			results[i] = cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test", "b@mx.test"), bodyOf(plainMsg))
		})
	}
	wg.Wait()
	msgs := 0
	for _, r := range results {
		checkResult(t, r, want{delivered: true}, want{delivered: true})
	}
	for i := 0; i < srv.count(); i++ {
		msgs += len(srv.session(i).msgs)
	}
	if msgs != len(results) {
		t.Errorf("server got %d messages, want %d", msgs, len(results))
	}
	if n := cl.pool.idleCount(); n > 4 {
		t.Errorf("idle connections %d over MaxIdlePerHost", n)
	}
}
