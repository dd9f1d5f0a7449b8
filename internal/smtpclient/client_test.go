package smtpclient

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/mailerr"
)

func testClient(t *testing.T, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Hostname:         "client.test",
		ConnectTimeout:   5 * time.Second,
		GreetingTimeout:  5 * time.Second,
		CommandTimeout:   5 * time.Second,
		MailTimeout:      5 * time.Second,
		RcptTimeout:      5 * time.Second,
		DataInitTimeout:  5 * time.Second,
		DataBlockTimeout: 5 * time.Second,
		DataTermTimeout:  5 * time.Second,
		Logger:           slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	cl := New(cfg)
	t.Cleanup(func() { cl.Close() })
	return cl
}

func bodyOf(s string) Body {
	return Body{Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }, Size: int64(len(s))}
}

func envOf(rcpts ...string) *Envelope {
	e := &Envelope{From: "sender@client.test"}
	for _, r := range rcpts {
		e.Rcpts = append(e.Rcpts, Rcpt{Addr: r})
	}
	return e
}

const plainMsg = "From: a@client.test\r\nSubject: hi\r\n\r\nHello\r\n.leading dot\r\n"

// want describes the expected outcome of one recipient.
type want struct {
	delivered, permanent bool
	code                 int
	enhanced             string
}

func checkResult(t *testing.T, res Result, wants ...want) {
	t.Helper()
	if len(res.Rcpts) != len(wants) {
		t.Fatalf("got %d results, want %d", len(res.Rcpts), len(wants))
	}
	for i, w := range wants {
		r := res.Rcpts[i]
		if r.Delivered() != w.delivered || !w.delivered && r.Permanent() != w.permanent {
			t.Errorf("rcpt %d (%s): delivered=%v permanent=%v err=%v; want delivered=%v permanent=%v",
				i, r.Rcpt, r.Delivered(), r.Permanent(), r.Err, w.delivered, w.permanent)
		}
		if w.code != 0 && r.Code != w.code {
			t.Errorf("rcpt %d: code %d, want %d (%v)", i, r.Code, w.code, r.Err)
		}
		if w.enhanced != "" && r.Enhanced != w.enhanced {
			t.Errorf("rcpt %d: enhanced %q, want %q (%v)", i, r.Enhanced, w.enhanced, r.Err)
		}
		if !r.Delivered() && ReplyOf(r.Err) == nil {
			t.Errorf("rcpt %d: error %v carries no ReplyError", i, r.Err)
		}
		if !r.Delivered() && mailerr.As(r.Err) == nil {
			t.Errorf("rcpt %d: error %v is not a mailerr.Error", i, r.Err)
		}
	}
}

func TestDeliverReplies(t *testing.T) {
	rcptBy := func(m map[string]string) func(string) string {
		return func(a string) string { return or(m[a], "250 2.1.5 ok") }
	}
	tests := []struct {
		name  string
		srv   *fakeServer
		rcpts []string
		wants []want
	}{
		{"all accepted", &fakeServer{ext: []string{"PIPELINING"}}, []string{"a@mx.test", "b@mx.test"},
			[]want{{delivered: true, code: 250, enhanced: "2.0.0"}, {delivered: true, code: 250}}},
		{"one refused", &fakeServer{ext: []string{"PIPELINING"}, rcptReply: rcptBy(map[string]string{"bad@mx.test": "550 5.1.1 no such user"})},
			[]string{"a@mx.test", "bad@mx.test", "c@mx.test"},
			[]want{{delivered: true}, {permanent: true, code: 550, enhanced: "5.1.1"}, {delivered: true}}},
		{"one deferred, no pipelining", &fakeServer{rcptReply: rcptBy(map[string]string{"full@mx.test": "452 4.2.2 mailbox full"})},
			[]string{"full@mx.test", "a@mx.test"},
			[]want{{code: 452, enhanced: "4.2.2"}, {delivered: true}}},
		{"all refused", &fakeServer{ext: []string{"PIPELINING"}, rcptReply: func(string) string { return "550 5.7.1 relay denied" }},
			[]string{"a@mx.test", "b@mx.test"},
			[]want{{permanent: true, code: 550, enhanced: "5.7.1"}, {permanent: true, code: 550}}},
		{"mail refused", &fakeServer{mailReply: "553 5.1.8 bad sender"}, []string{"a@mx.test", "b@mx.test"},
			[]want{{permanent: true, code: 553, enhanced: "5.1.8"}, {permanent: true, code: 553}}},
		{"mail refused pipelined", &fakeServer{ext: []string{"PIPELINING"}, mailReply: "451 4.3.0 try later"}, []string{"a@mx.test"},
			[]want{{code: 451, enhanced: "4.3.0"}}},
		{"data refused", &fakeServer{dataReply: "554 5.6.0 no thanks"}, []string{"a@mx.test"},
			[]want{{permanent: true, code: 554, enhanced: "5.6.0"}}},
		{"final reply temporary", &fakeServer{endReply: "451 4.7.1 greylisted"}, []string{"a@mx.test", "b@mx.test"},
			[]want{{code: 451, enhanced: "4.7.1"}, {code: 451}}},
		{"final reply permanent without enhanced code", &fakeServer{endReply: "554 spam"}, []string{"a@mx.test"},
			[]want{{permanent: true, code: 554, enhanced: "5.0.0"}}},
		{"drop in data", &fakeServer{ext: []string{"PIPELINING"}, dropInData: true, rcptReply: rcptBy(map[string]string{"bad@mx.test": "550 5.1.1 no"})},
			[]string{"a@mx.test", "bad@mx.test"},
			[]want{{enhanced: "4.4.2"}, {permanent: true, code: 550}}},
		{"greeting refused", &fakeServer{greeting: "554 5.7.1 go away"}, []string{"a@mx.test"},
			[]want{{permanent: true, code: 554}}},
		{"helo fallback", &fakeServer{refuseEHLO: true}, []string{"a@mx.test"}, []want{{delivered: true}}},
		{"strict pipelining", &fakeServer{ext: []string{"PIPELINING"}, strictPipe: true}, []string{"a@mx.test", "b@mx.test", "c@mx.test"},
			[]want{{delivered: true}, {delivered: true}, {delivered: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, tc.srv)
			cl := testClient(t, nil)
			res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf(tc.rcpts...), bodyOf(plainMsg))
			checkResult(t, res, tc.wants...)
			for _, r := range res.Rcpts {
				if r.Code != 0 && r.Host != "mx.test" {
					t.Errorf("rcpt %s: host %q, want mx.test", r.Rcpt, r.Host)
				}
			}
			if res.Rcpts[0].Delivered() {
				s := srv.session(0)
				if len(s.msgs) != 1 || string(s.msgs[0]) != plainMsg {
					t.Errorf("server got %q, want %q", s.msgs, plainMsg)
				}
			}
		})
	}
}

func TestDeliverNextHop(t *testing.T) {
	busy := newFakeServer(t, &fakeServer{greeting: "421 4.3.2 busy"})
	ok := newFakeServer(t, &fakeServer{})
	cl := testClient(t, nil)
	dead := Hop{Host: "dead.test", Addrs: busy.hop().Addrs, Port: 1} // nothing listens on port 1
	second := ok.hop()
	second.Host = "mx2.test"
	res := cl.Deliver(context.Background(), []Hop{dead, busy.hop(), second}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{delivered: true, code: 250})
	if res.Rcpts[0].Host != "mx2.test" {
		t.Errorf("host %q, want mx2.test", res.Rcpts[0].Host)
	}
	if busy.count() != 1 || ok.count() != 1 {
		t.Errorf("sessions busy=%d ok=%d, want 1 and 1", busy.count(), ok.count())
	}

	// Every hop failing leaves the recipient temporary with the last failure.
	res = cl.Deliver(context.Background(), []Hop{dead, busy.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{code: 421, enhanced: "4.3.2"})

	res = cl.Deliver(context.Background(), nil, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{enhanced: "4.4.4"})
}

func TestDeliverRetryLater(t *testing.T) {
	// A peer that defers first and accepts on the next attempt.
	srv := &fakeServer{}
	calls := 0
	srv.rcptReply = func(string) string {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		calls++
		if calls == 1 {
			return "450 4.2.0 try again"
		}
		return "250 2.1.5 ok"
	}
	newFakeServer(t, srv)
	cl := testClient(t, nil)
	res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{code: 450, enhanced: "4.2.0"})
	res = cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{delivered: true})
}

func TestDeliverTimeouts(t *testing.T) {
	for _, stall := range []string{"GREETING", "MAIL", "END"} {
		t.Run(stall, func(t *testing.T) {
			srv := newFakeServer(t, &fakeServer{stallAt: stall})
			cl := testClient(t, func(c *Config) {
				c.GreetingTimeout, c.MailTimeout, c.DataTermTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
			})
			res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
			checkResult(t, res, want{enhanced: "4.4.2"})
			if !strings.Contains(res.Rcpts[0].Text, "timeout") {
				t.Errorf("text %q does not say timeout", res.Rcpts[0].Text)
			}
		})
	}
}

func TestDeliverContextCancel(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{stallAt: "MAIL"})
	cl := testClient(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.count() == 0 || len(srv.session(0).cmds) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	res := cl.Deliver(ctx, []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{enhanced: "4.4.2"})
}

func TestDeliverParameters(t *testing.T) {
	env := &Envelope{From: "s@client.test", Ret: "hdrs", EnvID: "id+1 x",
		Rcpts: []Rcpt{{Addr: "a@mx.test", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;a+b=c@orig.test"}, {Addr: "b@mx.test"}}}
	tests := []struct {
		name      string
		ext       []string
		env       *Envelope
		mail      string
		rcpt      string
		peerDSN   bool
		delivered bool
	}{
		{"dsn offered", []string{"DSN", "SIZE 1000000"}, env,
			"MAIL FROM:<s@client.test> SIZE=" + strconv.Itoa(len(plainMsg)) + " RET=HDRS ENVID=id+2B1+20x",
			"RCPT TO:<a@mx.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb+3Dc@orig.test", true, true},
		{"dsn not offered", []string{"SIZE"}, env,
			"MAIL FROM:<s@client.test> SIZE=" + strconv.Itoa(len(plainMsg)), "RCPT TO:<a@mx.test>", false, true},
		{"8bitmime", []string{"8BITMIME"}, &Envelope{From: "", BodyType: Body8BitMIME, Rcpts: []Rcpt{{Addr: "a@mx.test"}}},
			"MAIL FROM:<> BODY=8BITMIME", "RCPT TO:<a@mx.test>", false, true},
		{"smtputf8", []string{"SMTPUTF8", "8BITMIME"}, &Envelope{From: "jörg@client.test", BodyType: Body8BitMIME, Rcpts: []Rcpt{{Addr: "ü@mx.test"}}},
			"MAIL FROM:<jörg@client.test> BODY=8BITMIME SMTPUTF8", "RCPT TO:<ü@mx.test>", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, &fakeServer{ext: tc.ext})
			cl := testClient(t, nil)
			res := cl.Deliver(context.Background(), []Hop{srv.hop()}, tc.env, bodyOf(plainMsg))
			if res.Rcpts[0].Delivered() != tc.delivered || res.PeerDSN != tc.peerDSN {
				t.Errorf("delivered=%v peerDSN=%v (%v), want %v %v", res.Rcpts[0].Delivered(), res.PeerDSN, res.Rcpts[0].Err, tc.delivered, tc.peerDSN)
			}
			cmds := srv.session(0).cmds
			if !contains(cmds, tc.mail) || !contains(cmds, tc.rcpt) {
				t.Errorf("commands %q lack %q or %q", cmds, tc.mail, tc.rcpt)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDeliverLocalRefusals(t *testing.T) {
	tests := []struct {
		name     string
		ext      []string
		env      *Envelope
		enhanced string
	}{
		{"smtputf8 not offered", []string{"8BITMIME"}, &Envelope{From: "s@client.test", Rcpts: []Rcpt{{Addr: "ü@mx.test"}}}, "5.6.7"},
		{"smtputf8 flag not offered", nil, &Envelope{From: "s@client.test", SMTPUTF8: true, Rcpts: []Rcpt{{Addr: "a@mx.test"}}}, "5.6.7"},
		{"too big", []string{"SIZE 10"}, envOf("a@mx.test"), "5.3.4"},
		{"bad recipient", nil, envOf("a@mx.test>\r\nRSET"), "5.1.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, &fakeServer{ext: tc.ext})
			cl := testClient(t, nil)
			res := cl.Deliver(context.Background(), []Hop{srv.hop()}, tc.env, bodyOf(plainMsg))
			checkResult(t, res, want{permanent: true, enhanced: tc.enhanced})
			for _, c := range srv.session(0).cmds {
				if strings.HasPrefix(c, "MAIL") || strings.HasPrefix(c, "RCPT") {
					t.Errorf("server got %q after a local refusal", c)
				}
			}
			if !strings.Contains(res.Rcpts[0].Err.Error(), res.Rcpts[0].Text) || res.Rcpts[0].Text == "" {
				t.Errorf("unclear reason: %v", res.Rcpts[0].Err)
			}
		})
	}
}

func TestDeliverBodyOpenFails(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{})
	cl := testClient(t, nil)
	body := Body{Open: func() (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF }, Size: 10}
	res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), body)
	checkResult(t, res, want{enhanced: "4.3.0"})
}

func TestDeliverManyRecipientsSplit(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{ext: []string{"PIPELINING"}})
	cl := testClient(t, func(c *Config) { c.MaxRcptsPerTxn = 2 })
	rcpts := []string{"a@mx.test", "b@mx.test", "c@mx.test", "d@mx.test", "e@mx.test"}
	res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf(rcpts...), bodyOf(plainMsg))
	var wants []want
	for range rcpts {
		wants = append(wants, want{delivered: true})
	}
	checkResult(t, res, wants...)
	s := srv.session(0)
	if srv.count() != 1 || len(s.msgs) != 3 {
		t.Errorf("sessions %d, messages %d; want 1 and 3", srv.count(), len(s.msgs))
	}
}

func TestFromConfig(t *testing.T) {
	c := config.Default()
	c.Hostname = "mx.posthorn.test"
	fc := FromConfig(c)
	got := fc.withDefaults()
	if got.Hostname != "mx.posthorn.test" || got.DataTermTimeout != c.SMTP.DataTermTimeout.D() || got.DataInitTimeout != c.SMTP.DataInitTimeout.D() || got.IdleTimeout != 30*time.Second {
		t.Errorf("config %+v", got)
	}
	// One idle connection kept per delivery the queue may run to a host.
	c.Queue.PerDestination = 7
	fc = FromConfig(c)
	if got := fc.withDefaults().MaxIdlePerHost; got != 7 {
		t.Errorf("MaxIdlePerHost %d, want per_destination 7", got)
	}
}
