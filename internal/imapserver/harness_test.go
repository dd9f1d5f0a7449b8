package imapserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/imapserver/memback"
)

// testEnv is a server on a loopback port with an in-memory backend.
type testEnv struct {
	t    testing.TB
	be   *memback.Backend
	srv  *imapserver.Server
	addr string
}

var testDate = time.Date(2024, 3, 1, 10, 0, 0, 0, time.FixedZone("", 3600))

// newEnv starts a server; cfg.AllowPlaintextAuth is set unless tlsCfg is
// given. User "alice" has password "secret".
func newEnv(t testing.TB, mod func(*imapserver.Config)) *testEnv {
	t.Helper()
	be := memback.New()
	be.AddUser("alice", "secret")
	cfg := imapserver.Config{Hostname: "mx.test", AllowPlaintextAuth: true}
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	srv := imapserver.New(cfg, be, log, imapserver.NewMetrics(nil))
	imapserver.SetOnPanic(srv, func(v any) { t.Errorf("session panic: %v", v) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testEnv{t: t, be: be, srv: srv, addr: ln.Addr().String()}
}

// deliver adds a message to alice's mailbox.
func (e *testEnv) deliver(box, msg string, flags ...string) uint32 {
	e.t.Helper()
	uid, err := e.be.Deliver("alice", box, []byte(msg), flags, testDate)
	if err != nil {
		e.t.Fatal(err)
	}
	return uid
}

// client is a scripted IMAP client.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// dial connects and reads the greeting.
func (e *testEnv) dial() *client {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &client{t: e.t, conn: conn, br: bufio.NewReader(conn)}
	e.t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	g := c.readLine()
	if !strings.HasPrefix(g, "* OK [CAPABILITY ") {
		e.t.Fatalf("greeting %q", g)
	}
	return c
}

// login dials and logs in as alice.
func (e *testEnv) login() *client {
	c := e.dial()
	c.mustOK("L1 LOGIN alice secret")
	return c
}

// startTLS upgrades the connection after a STARTTLS OK.
func (c *client) startTLS() {
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn = tc
	c.br = bufio.NewReader(tc)
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

var literalEnd = regexp.MustCompile(`~?\{(\d+)\}$`)

// readLine reads one response line; literals are inlined with their
// marker, so "BODY[] {5}\r\nhello)" becomes "BODY[] {5}\r\nhello)".
func (c *client) readLine() string {
	c.t.Helper()
	var sb strings.Builder
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (have %q)", err, sb.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		sb.WriteString(l)
		m := literalEnd.FindStringSubmatch(l)
		if m == nil {
			return sb.String()
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatal(err)
		}
		sb.WriteString("\r\n")
		sb.Write(buf)
	}
}

// do sends a tagged command and returns every line up to and including
// the tagged response.
func (c *client) do(cmd string) []string {
	c.t.Helper()
	tag := cmd[:strings.IndexByte(cmd, ' ')]
	c.send(cmd)
	return c.readUntil(tag + " ")
}

func (c *client) readUntil(prefix string) []string {
	c.t.Helper()
	var out []string
	for {
		l := c.readLine()
		out = append(out, l)
		if strings.HasPrefix(l, prefix) {
			return out
		}
	}
}

// expect runs cmd and requires exactly the lines want.
func (c *client) expect(cmd string, want ...string) {
	c.t.Helper()
	got := c.do(cmd)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		c.t.Errorf("%s:\n got: %q\nwant: %q", cmd, got, want)
	}
}

// mustOK runs cmd and requires a tagged OK.
func (c *client) mustOK(cmd string) []string {
	c.t.Helper()
	got := c.do(cmd)
	tag := cmd[:strings.IndexByte(cmd, ' ')]
	if !strings.HasPrefix(got[len(got)-1], tag+" OK") {
		c.t.Fatalf("%s: %q", cmd, got)
	}
	return got
}

const msg1 = "From: Alice Example <alice@example.test>\r\n" +
	"To: bob@example.test, \"Carol C.\" <carol@example.test>\r\n" +
	"Subject: Hello there\r\n" +
	"Date: Fri, 01 Mar 2024 09:00:00 +0000\r\n" +
	"Message-ID: <m1@example.test>\r\n" +
	"\r\n" +
	"Hi Bob,\r\nthis is a test.\r\n"

const msg2 = "From: bob@example.test\r\n" +
	"To: alice@example.test\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Date: Sat, 02 Mar 2024 09:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--XX\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Sch=C3=B6ne Gr=C3=BC=C3=9Fe\r\n" +
	"--XX\r\n" +
	"Content-Type: application/octet-stream; name=\"a.bin\"\r\n" +
	"Content-Disposition: attachment; filename=\"a.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAEC\r\n" +
	"--XX--\r\n"
