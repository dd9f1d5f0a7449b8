package pop3server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// testTLS makes a server config with a fresh self-signed certificate and
// a client config that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		DNSNames:     []string{"mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "mx.test"}
	return server, client
}

// startServer serves on a fresh 127.0.0.1 port until the test ends.
func startServer(t *testing.T, cfg Config, be Backend) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, cfg, be)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// client is a line-oriented test client.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hung test fails rather than hangs
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// expect reads one line per want and compares it.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading, want %q: %v", w, err)
		}
		if got := strings.TrimSuffix(line, "\r\n"); got != w {
			c.t.Fatalf("got %q, want %q", got, w)
		}
	}
}

// expectEOF asserts that the server closed the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	if line, err := c.r.ReadString('\n'); err == nil {
		c.t.Fatalf("got %q, want the connection closed", line)
	}
}

func (c *client) startTLS(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

func TestSTLSDiscardsInjectedCommands(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	be := newFakeBackend()
	_, addr := startServer(t, Config{TLS: srvTLS}, be)
	c := dial(t, addr)
	c.expect(greeting)
	// USER before STLS and commands pipelined after it must all be
	// forgotten (RFC 2595 §4).
	c.send("USER alice\r\nSTLS\r\nUSER alice\r\nPASS secret\r\n")
	c.expect("-ERR [AUTH] plaintext authentication disallowed, use STLS first", "+OK begin TLS negotiation")
	c.startTLS(cliTLS)
	c.send("PASS secret\r\nSTLS\r\nCAPA\r\n")
	c.expect("-ERR send USER first", "-ERR command not permitted when TLS active",
		"+OK capability list follows", "TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE",
		"PIPELINING", "SASL PLAIN", "IMPLEMENTATION posthorn", ".")
	c.send("USER alice\r\nPASS secret\r\nQUIT\r\n")
	c.expect("+OK send PASS", loginReply[1], "+OK posthorn POP3 server signing off (0 messages deleted)")
	c.expectEOF()
	if len(be.logins) != 1 {
		t.Errorf("logins = %v, want one after TLS", be.logins)
	}
}

func TestImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	_, addr := startServer(t, Config{TLS: srvTLS, ImplicitTLS: true}, newFakeBackend())
	c := dial(t, addr)
	c.startTLS(cliTLS)
	c.expect(greeting)
	c.send("CAPA\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\nQUIT\r\n")
	c.expect("+OK capability list follows", "TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE",
		"PIPELINING", "SASL PLAIN", "IMPLEMENTATION posthorn", ".", loginReply[1],
		"+OK posthorn POP3 server signing off (0 messages deleted)")
	c.expectEOF()
}

func TestImplicitTLSNeedsConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Config{ImplicitTLS: true}, newFakeBackend())
	if err := s.Serve(context.Background(), ln); err == nil {
		t.Fatal("Serve without a TLS config for pop3s succeeded")
	}
}

func TestPipeliningAndDrop(t *testing.T) {
	be := newFakeBackend()
	_, addr := startServer(t, plainCfg, be)
	c := dial(t, addr)
	c.expect(greeting)
	c.send("USER alice\r\nPASS secret\r\nDELE 1\r\nDELE 2\r\nSTAT\r\n")
	c.expect(loginReply[0], loginReply[1], "+OK message 1 deleted", "+OK message 2 deleted", "+OK 1 32")
	c.conn.Close()
	<-be.closed
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.commits) != 0 || len(be.msgs["alice"]) != 3 {
		t.Errorf("dropped session committed %v", be.commits)
	}
}

func TestIdleTimeout(t *testing.T) {
	be := newFakeBackend()
	_, addr := startServer(t, Config{AllowPlaintextAuth: true, IdleTimeout: 50 * time.Millisecond}, be)
	c := dial(t, addr)
	c.expect(greeting)
	c.send("USER alice\r\nPASS secret\r\nDELE 1\r\n")
	c.expect(loginReply[0], loginReply[1], "+OK message 1 deleted", "-ERR autologout, idle for too long")
	c.expectEOF()
	<-be.closed
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.commits) != 0 {
		t.Errorf("timed-out session committed %v", be.commits)
	}
}

func TestMaxConnections(t *testing.T) {
	reg := prometheus.NewRegistry()
	be := newFakeBackend()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{MaxConnections: 1}, be, testLogger(t), NewMetrics(reg))
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	addr := ln.Addr().String()

	c1 := dial(t, addr)
	c1.expect(greeting)
	c2 := dial(t, addr)
	c2.expect("-ERR [SYS/TEMP] too many connections, try again later")
	c2.expectEOF()
	c1.send("QUIT\r\n")
	c1.expect("+OK posthorn POP3 server signing off")
	c1.expectEOF()

	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, s.m.rejected); got != 1 {
		t.Errorf("rejected = %v, want 1", got)
	}
	if got := counterValue(t, s.m.sessions); got != 1 {
		t.Errorf("sessions = %v, want 1", got)
	}
	// A second NewMetrics on the same registry shares the collectors.
	m2 := NewMetrics(reg)
	if counterValue(t, m2.rejected) != 1 {
		t.Error("second NewMetrics did not share the registered counter")
	}
}

func TestShutdownEndsIdleSessions(t *testing.T) {
	be := newFakeBackend()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, plainCfg, be)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	c := dial(t, ln.Addr().String())
	c.expect(greeting)
	c.send("USER alice\r\nPASS secret\r\nDELE 1\r\n")
	c.expect(loginReply[0], loginReply[1], "+OK message 1 deleted")

	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.expect("-ERR [SYS/TEMP] server shutting down, try again later")
	c.expectEOF()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if be.closes != 1 || len(be.commits) != 0 {
		t.Errorf("closes %d commits %v", be.closes, be.commits)
	}
	if err := s.Serve(context.Background(), ln); err == nil {
		t.Error("Serve after Shutdown succeeded")
	}
}

func TestServeContextCancel(t *testing.T) {
	be := newFakeBackend()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, plainCfg, be)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	c := dial(t, ln.Addr().String())
	c.expect(greeting)
	c.send("USER alice\r\nPASS secret\r\n")
	c.expect(loginReply[0], loginReply[1])
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	c.expectEOF()
	<-be.closed
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// counterValue reads a counter without prometheus/testutil (whose
// dependencies are not in go.sum).
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// stuckDrop is a maildrop whose Commit blocks until its context ends.
type stuckDrop struct {
	Maildrop
	started chan struct{}
	err     chan error
}

func (d *stuckDrop) Commit(ctx context.Context, deleted []int) error {
	close(d.started)
	<-ctx.Done()
	d.err <- ctx.Err()
	return ctx.Err()
}

type stuckBackend struct {
	*fakeBackend
	drop *stuckDrop
}

func (b *stuckBackend) Login(ctx context.Context, user, pass string, remote net.Addr) (Maildrop, error) {
	md, err := b.fakeBackend.Login(ctx, user, pass, remote)
	if err != nil {
		return nil, err
	}
	b.drop.Maildrop = md
	return b.drop, nil
}

// TestShutdownDeadline checks that a Shutdown whose context ends cancels
// a session stuck in the backend and closes its connection.
func TestShutdownDeadline(t *testing.T) {
	fb := newFakeBackend()
	be := &stuckBackend{fakeBackend: fb, drop: &stuckDrop{started: make(chan struct{}), err: make(chan error, 1)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, plainCfg, be)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	c := dial(t, ln.Addr().String())
	c.expect(greeting)
	c.send("USER alice\r\nPASS secret\r\nDELE 1\r\n")
	c.expect(loginReply[0], loginReply[1], "+OK message 1 deleted")
	c.send("QUIT\r\n")
	<-be.drop.started

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already past its deadline: Shutdown must not wait
	if err := s.Shutdown(ctx); err != context.Canceled {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	if err := <-be.drop.err; err == nil {
		t.Error("Commit's context was not cancelled")
	}
	<-fb.closed // Close is still called
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The client gets the failed UPDATE reply or the closed connection.
	if line, err := c.r.ReadString('\n'); err == nil && !strings.HasPrefix(line, "-ERR [SYS/TEMP]") {
		t.Errorf("after a killed UPDATE got %q", line)
	}
}

// TestQuitReleasesBeforeSignoff: the maildrop is released before +OK to
// QUIT, so a client logging in again (on this or another node) right
// after the sign-off never finds it still in use.
func TestQuitReleasesBeforeSignoff(t *testing.T) {
	for _, dele := range []bool{false, true} {
		be := newFakeBackend()
		be.closeDelay = 50 * time.Millisecond
		_, addr := startServer(t, plainCfg, be)
		c := dial(t, addr)
		c.expect(greeting)
		c.send("USER alice\r\nPASS secret\r\n")
		c.expect(loginReply...)
		if dele {
			c.send("DELE 1\r\n")
			c.expect("+OK message 1 deleted")
		}
		c.send("QUIT\r\n")
		line, err := c.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK ") {
			t.Fatalf("QUIT: %q, %v", line, err)
		}
		be.mu.Lock()
		closes, locked := be.closes, be.locked["alice"]
		be.mu.Unlock()
		if closes != 1 || locked {
			t.Errorf("dele=%v: at sign-off closes=%d locked=%v, want released", dele, closes, locked)
		}
		c.expectEOF()
	}
}
