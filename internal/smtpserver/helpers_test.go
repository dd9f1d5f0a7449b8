package smtpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBackend is an in-memory Backend that records what it gets.
type fakeBackend struct {
	mu        sync.Mutex
	n         int
	begun     []string // from addresses
	committed []*fakeTx
	aborted   []*fakeTx
	beginErr  error
	rcptErr   map[string]error
	commitErr error
	writeErr  error
	panicFrom string
}

type fakeTx struct {
	be    *fakeBackend
	id    string
	from  string
	opts  MailOptions
	rcpts []string
	ropts []RcptOptions
	data  bytes.Buffer
	done  bool
}

func (b *fakeBackend) Begin(ctx context.Context, c *ConnInfo, from string, opts MailOptions) (Transaction, error) {
	if from == b.panicFrom && from != "" {
		panic("test panic")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.begun = append(b.begun, from)
	if b.beginErr != nil {
		return nil, b.beginErr
	}
	b.n++
	return &fakeTx{be: b, id: fmt.Sprintf("Q%d", b.n), from: from, opts: opts}, nil
}

func (t *fakeTx) ID() string { return t.id }

func (t *fakeTx) AddRecipient(ctx context.Context, to string, opts RcptOptions) error {
	if err := t.be.rcptErr[to]; err != nil {
		return err
	}
	t.rcpts = append(t.rcpts, to)
	t.ropts = append(t.ropts, opts)
	return nil
}

func (t *fakeTx) Write(p []byte) (int, error) {
	if t.be.writeErr != nil {
		return 0, t.be.writeErr
	}
	return t.data.Write(p)
}

func (t *fakeTx) Commit(ctx context.Context) error {
	t.be.mu.Lock()
	defer t.be.mu.Unlock()
	if t.be.commitErr != nil {
		return t.be.commitErr
	}
	t.done = true
	t.be.committed = append(t.be.committed, t)
	return nil
}

func (t *fakeTx) Abort() {
	t.be.mu.Lock()
	defer t.be.mu.Unlock()
	if !t.done {
		t.done = true
		t.be.aborted = append(t.be.aborted, t)
	}
}

func (b *fakeBackend) counts() (committed, aborted int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.committed), len(b.aborted)
}

// body returns the stored message i without its Received: header.
func (b *fakeBackend) body(t *testing.T, i int) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i >= len(b.committed) {
		t.Fatalf("only %d messages committed", len(b.committed))
	}
	s := b.committed[i].data.String()
	_, rest, ok := strings.Cut(s, "\r\n\tid ")
	if !ok || !strings.HasPrefix(s, "Received: ") {
		t.Fatalf("no Received header in %q", s)
	}
	_, body, _ := strings.Cut(rest, "\r\n")
	return body
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testConfig is a config for tests.
func testConfig() Config {
	return Config{Hostname: "mx.test", MaxMessageSize: 1000, MaxRecipients: 3}
}

// startServer serves cfg on a loopback port until the test ends.
func startServer(t testing.TB, cfg Config, be Backend) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(cfg, be, testLogger(t), NewMetrics(nil))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String(), srv
}

// client is a test SMTP client that reads whole replies.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// dialGreeted dials and checks the banner.
func dialGreeted(t testing.TB, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	if r := c.reply(); r != "220 mx.test ESMTP posthorn" {
		t.Fatalf("banner %q", r)
	}
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one reply; the lines of a multi-line reply are joined with
// "\n". It fails the test on a malformed reply; "EOF" when closed.
func (c *client) reply() string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			if len(lines) == 0 && l == "" {
				return "EOF"
			}
			c.t.Fatalf("read reply: %v (got %q)", err, lines)
		}
		if !strings.HasSuffix(l, "\r\n") || len(l) < 5 || (l[3] != ' ' && l[3] != '-' && l[3] != '\r') {
			c.t.Fatalf("malformed reply line %q", l)
		}
		lines = append(lines, strings.TrimSuffix(l, "\r\n"))
		if l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// cmd sends a command line and returns its reply.
func (c *client) cmd(line string) string {
	c.t.Helper()
	if line == "" { // just read the next reply
		return c.reply()
	}
	c.send(line + "\r\n")
	return c.reply()
}

// expect sends line and checks the reply starts with want.
func (c *client) expect(line, want string) {
	c.t.Helper()
	if r := c.cmd(line); !strings.HasPrefix(r, want) {
		c.t.Fatalf("%q: reply %q, want %q", line, r, want)
	}
}

// toPhase brings the session to a phase: "helo", "ehlo", "mail" (after
// EHLO and MAIL) or "rcpt" (one recipient accepted).
func (c *client) toPhase(phase string) {
	c.t.Helper()
	switch phase {
	case "helo":
		c.expect("HELO client.test", "250 ")
		return
	case "greeted":
		return
	}
	c.expect("EHLO client.test", "250-mx.test")
	if phase == "ehlo" {
		return
	}
	c.expect("MAIL FROM:<sender@client.test>", "250 2.1.0")
	if phase == "mail" {
		return
	}
	c.expect("RCPT TO:<user@mx.test>", "250 2.1.5")
}

// testTLSConfig makes a self-signed certificate for the server and a
// client config trusting nothing (the tests skip verification).
func testTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		DNSNames: []string{"mx.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// startTLS upgrades the client after a 220 to STARTTLS.
func (c *client) startTLS() {
	c.t.Helper()
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.test"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
	c.br = bufio.NewReader(tc)
}
