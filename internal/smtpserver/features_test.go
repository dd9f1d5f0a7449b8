package smtpserver

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// TestPipelining sends a whole session in one write; every reply must
// come back in order.
func TestPipelining(t *testing.T) {
	be := &fakeBackend{}
	addr, _ := startServer(t, testConfig(), be)
	c := dialGreeted(t, addr)
	c.toPhase("ehlo")
	c.send("MAIL FROM:<s@client.test>\r\nRCPT TO:<a@mx.test>\r\nRCPT TO:<bad@@mx.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n")
	for _, want := range []string{"250 2.1.0", "250 2.1.5", "501 5.1.3", "250 2.1.5", "354 "} {
		if r := c.reply(); !strings.HasPrefix(r, want) {
			t.Fatalf("reply %q, want %q", r, want)
		}
	}
	c.send("hello\r\n.\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<a@mx.test>\r\nBDAT 4 LAST\r\nbye\nNOOP\r\nQUIT\r\n")
	for _, want := range []string{"250 2.0.0 Ok: queued as Q1", "250 2.1.0", "250 2.1.5", "250 2.0.0 Ok: queued as Q2", "250 2.0.0", "221 2.0.0", "EOF"} {
		if r := c.reply(); !strings.HasPrefix(r, want) {
			t.Fatalf("reply %q, want %q", r, want)
		}
	}
	if got := be.body(t, 1); got != "bye\r\n" {
		t.Fatalf("BDAT body %q", got)
	}
	if n := len(be.committed[0].rcpts); n != 2 {
		t.Fatalf("%d recipients", n)
	}
}

func TestStartTLSInjection(t *testing.T) {
	be := &fakeBackend{}
	cfg := testConfig()
	cfg.TLS = testTLSConfig(t)
	addr, _ := startServer(t, cfg, be)
	c := dialGreeted(t, addr)
	if r := c.cmd("EHLO client.test"); !strings.Contains(r, "250-STARTTLS") {
		t.Fatalf("no STARTTLS in %q", r)
	}
	c.send("STARTTLS\r\nMAIL FROM:<evil@client.test>\r\n")
	if r := c.reply(); r != "220 2.0.0 Ready to start TLS" {
		t.Fatalf("reply %q", r)
	}
	c.startTLS()
	// The injected MAIL must not have run, and the session starts over.
	c.expect("MAIL FROM:<s@client.test>", "503 Send HELO")
	r := c.cmd("EHLO client.test")
	if strings.Contains(r, "STARTTLS") {
		t.Fatalf("STARTTLS offered under TLS: %q", r)
	}
	c.expect("STARTTLS", "503 5.5.1")
	c.expect("RCPT TO:<u@mx.test>", "503 5.5.1")
	c.expect("MAIL FROM:<s@client.test>", "250")
	c.expect("RCPT TO:<u@mx.test>", "250")
	c.expect("DATA", "354")
	c.send("x\r\n.\r\n")
	c.expect("", "")
	for _, f := range be.begun {
		if f == "evil@client.test" {
			t.Fatal("injected MAIL was executed")
		}
	}
	rcv := be.committed[0].data.String()
	if !strings.Contains(rcv, "with ESMTPS (TLS1.3 TLS_") {
		t.Fatalf("Received: %q", rcv)
	}
}

func TestImplicitTLS(t *testing.T) {
	cfg := testConfig()
	cfg.TLS = testTLSConfig(t)
	cfg.ImplicitTLS = true
	addr, _ := startServer(t, cfg, &fakeBackend{})
	c := dial(t, addr)
	c.startTLS()
	if r := c.reply(); r != "220 mx.test ESMTP posthorn" {
		t.Fatalf("banner %q", r)
	}
	c.expect("EHLO client.test", "250-mx.test")
}

func TestSizeLimit(t *testing.T) {
	be := &fakeBackend{}
	addr, _ := startServer(t, testConfig(), be) // 1000 octets
	c := dialGreeted(t, addr)
	c.toPhase("rcpt")
	c.expect("DATA", "354")
	c.send(strings.Repeat("0123456789abcdef\r\n", 100) + ".\r\n")
	c.expect("", "552 5.3.4")
	if committed, aborted := be.counts(); committed != 0 || aborted != 1 {
		t.Fatalf("committed %d aborted %d", committed, aborted)
	}
	// In step: the data was read to its end.
	c.expect("NOOP", "250 2.0.0")
	// BDAT over the limit across chunks.
	c.expect("MAIL FROM:<s@client.test>", "250")
	c.expect("RCPT TO:<u@mx.test>", "250")
	c.expect("BDAT 600\r\n"+strings.Repeat("x", 598), "250 2.0.0 600 octets")
	c.expect("BDAT 600 LAST\r\n"+strings.Repeat("y", 598), "552 5.3.4")
	c.expect("NOOP", "250 2.0.0")
	if committed, _ := be.counts(); committed != 0 {
		t.Fatal("too big message committed")
	}
}

func TestSmuggling(t *testing.T) {
	for _, sep := range []string{"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r"} {
		t.Run(strings.NewReplacer("\r", "CR", "\n", "LF").Replace(sep), func(t *testing.T) {
			be := &fakeBackend{}
			addr, _ := startServer(t, testConfig(), be)
			c := dialGreeted(t, addr)
			c.toPhase("rcpt")
			c.expect("DATA", "354")
			c.send("a" + sep + "MAIL FROM:<evil@x.test>\r\nRCPT TO:<v@mx.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
			c.expect("", "250 2.0.0 Ok: queued as Q1")
			c.expect("NOOP", "250 2.0.0")
			if committed, _ := be.counts(); committed != 1 {
				t.Fatalf("%d messages", committed)
			}
			if b := be.body(t, 0); !strings.Contains(b, "MAIL FROM:<evil@x.test>\r\n") || strings.ContainsAny(strings.ReplaceAll(b, "\r\n", ""), "\r\n") {
				t.Fatalf("body %q", b)
			}
		})
	}
}

func TestBDAT(t *testing.T) {
	be := &fakeBackend{}
	addr, _ := startServer(t, testConfig(), be)
	c := dialGreeted(t, addr)
	c.toPhase("rcpt")
	c.bdat("line1\r", "", "250 2.0.0 6 octets received")
	c.bdat("", "", "250 2.0.0 0 octets")
	c.bdat("\nline2\r", "", "250 2.0.0 7 octets")
	c.expect("DATA", "503 5.5.1") // no mixing
	c.bdat(".x\n", " LAST", "250 2.0.0 Ok: queued as Q1")
	if got := be.body(t, 0); got != "line1\r\nline2\r\n.x\r\n" {
		t.Fatalf("body %q", got)
	}
	// No valid recipients: the chunk is read and refused.
	c.expect("MAIL FROM:<s@client.test>", "250")
	c.bdat("ab", " LAST", "554 5.5.1")
	c.expect("NOOP", "250")
}

func TestErrorLimit(t *testing.T) {
	addr, _ := startServer(t, testConfig(), &fakeBackend{})
	c := dialGreeted(t, addr)
	c.toPhase("ehlo")
	for i := 0; i < 9; i++ {
		c.expect("BOGUS", "500 5.5.2")
	}
	c.send("BOGUS\r\n")
	c.expect("", "500 5.5.2")
	c.expect("", "421 4.7.0")
	c.expect("", "EOF")
}

func TestMaxConnections(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 1
	addr, _ := startServer(t, cfg, &fakeBackend{})
	c1 := dialGreeted(t, addr)
	c2 := dial(t, addr)
	if r := c2.reply(); !strings.HasPrefix(r, "421 4.7.0") {
		t.Fatalf("second connection: %q", r)
	}
	if r := c2.reply(); r != "EOF" {
		t.Fatalf("not closed: %q", r)
	}
	c1.expect("QUIT", "221")
}

func TestTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.Timeouts.Command = 50 * time.Millisecond
	addr, _ := startServer(t, cfg, &fakeBackend{})
	c := dialGreeted(t, addr)
	c.expect("EHLO client.test", "250")
	c.expect("", "421 4.4.2")
	c.expect("", "EOF")
}

func TestShutdown(t *testing.T) {
	be := &fakeBackend{}
	addr, srv := startServer(t, testConfig(), be)
	idle := dialGreeted(t, addr)
	idle.toPhase("ehlo")
	busy := dialGreeted(t, addr)
	busy.toPhase("rcpt")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	idle.expect("", "421 4.3.2")
	idle.expect("", "EOF")
	// The session in a transaction may finish it, then gets 421.
	busy.expect("DATA", "354")
	busy.send("last words\r\n.\r\n")
	busy.expect("", "250 2.0.0")
	busy.expect("NOOP", "421 4.3.2")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if committed, _ := be.counts(); committed != 1 {
		t.Fatal("message lost in shutdown")
	}
}

type fakeAuth struct{}

func (fakeAuth) Authenticate(ctx context.Context, c *ConnInfo, user, pass string) error {
	switch {
	case user == "u@mx.test" && pass == "secret":
		return nil
	case user == "temp":
		return mailerr.Temporary(mailerr.Unavailable, "", nil)
	}
	return mailerr.Permanent(mailerr.AuthFailed, "", nil)
}

func TestAuth(t *testing.T) {
	plain := func(u, p string) string { return base64.StdEncoding.EncodeToString([]byte("\x00" + u + "\x00" + p)) }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name     string
		insecure bool
		steps    []step
	}{
		{"needs tls", false, []step{{"AUTH PLAIN " + plain("u@mx.test", "secret"), "538 5.7.11"}}},
		{"plain ok", true, []step{{"MAIL FROM:<u@mx.test>", "530 5.7.0"}, {"AUTH PLAIN " + plain("u@mx.test", "secret"), "235 2.7.0"},
			{"AUTH PLAIN " + plain("u@mx.test", "secret"), "503 5.5.1"}, {"MAIL FROM:<u@mx.test>", "250"}}},
		{"plain bad", true, []step{{"AUTH PLAIN " + plain("u@mx.test", "wrong"), "535 5.7.8"}}},
		{"plain temp", true, []step{{"AUTH PLAIN " + plain("temp", "x"), "454 4.7.0"}}},
		{"plain challenge", true, []step{{"AUTH PLAIN", "334 "}, {plain("u@mx.test", "secret"), "235 2.7.0"}}},
		{"plain cancel", true, []step{{"AUTH PLAIN", "334 "}, {"*", "501 "}}},
		{"bad base64", true, []step{{"AUTH PLAIN !!!", "501 5.5.2"}}},
		{"login", true, []step{{"AUTH LOGIN", "334 VXNlcm5hbWU6"}, {b64("u@mx.test"), "334 UGFzc3dvcmQ6"}, {b64("secret"), "235 2.7.0"}}},
		{"unknown mech", true, []step{{"AUTH CRAM-MD5", "504 5.5.4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Auth = fakeAuth{}
			cfg.RequireAuth = true
			cfg.AllowInsecureAuth = tt.insecure
			addr, _ := startServer(t, cfg, &fakeBackend{})
			c := dialGreeted(t, addr)
			r := c.cmd("EHLO client.test")
			if strings.Contains(r, "AUTH PLAIN LOGIN") != tt.insecure {
				t.Fatalf("EHLO %q", r)
			}
			for _, s := range tt.steps {
				c.expect(s.send, s.want)
			}
		})
	}
}

func TestAuthAfterStartTLS(t *testing.T) {
	cfg := testConfig()
	cfg.TLS = testTLSConfig(t)
	cfg.Auth = fakeAuth{}
	be := &fakeBackend{}
	addr, _ := startServer(t, cfg, be)
	c := dialGreeted(t, addr)
	c.expect("EHLO client.test", "250-mx.test")
	c.expect("STARTTLS", "220 2.0.0")
	c.startTLS()
	if r := c.cmd("EHLO client.test"); !strings.Contains(r, "250-AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO under TLS: %q", r)
	}
	c.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00u@mx.test\x00secret")), "235 2.7.0")
	c.toPhaseAfterEhlo()
	if rcv := be.committed[0].data.String(); !strings.Contains(rcv, "with ESMTPSA (") {
		t.Fatalf("Received: %q", rcv)
	}
	_ = tls.VersionTLS13
}

// toPhaseAfterEhlo sends one message on an already greeted session.
func (c *client) toPhaseAfterEhlo() {
	c.t.Helper()
	c.expect("MAIL FROM:<u@mx.test>", "250")
	c.expect("RCPT TO:<v@mx.test>", "250")
	c.expect("DATA", "354")
	c.send("hi\r\n.\r\n")
	c.expect("", "250 2.0.0")
}

func TestPanicRecovered(t *testing.T) {
	be := &fakeBackend{panicFrom: "boom@client.test"}
	addr, _ := startServer(t, testConfig(), be)
	c := dialGreeted(t, addr)
	c.toPhase("ehlo")
	c.expect("MAIL FROM:<boom@client.test>", "421 4.3.0")
	c.expect("", "EOF")
	// The server still works.
	c2 := dialGreeted(t, addr)
	c2.expect("EHLO client.test", "250")
}

// bdat sends one chunk exactly and checks the reply.
func (c *client) bdat(chunk, last, want string) {
	c.t.Helper()
	c.send("BDAT " + strconv.Itoa(len(chunk)) + last + "\r\n" + chunk)
	if r := c.reply(); !strings.HasPrefix(r, want) {
		c.t.Fatalf("BDAT %q: reply %q, want %q", chunk, r, want)
	}
}
