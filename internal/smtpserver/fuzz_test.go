package smtpserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// memConn is a net.Conn that reads a fixed input and records the output.
type memConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *memConn) Close() error                       { return nil }
func (c *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }
func (c *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

// checkReplies fails unless out is a sequence of well-formed replies.
func checkReplies(t *testing.T, out string) {
	if !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("output does not end in CRLF: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	cont := ""
	for _, l := range lines {
		if len(l) < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' || l[2] < '0' || l[2] > '9' {
			t.Fatalf("bad reply line %q", l)
		}
		if len(l) > 3 && l[3] != ' ' && l[3] != '-' {
			t.Fatalf("bad separator in %q", l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("bare CR or LF in %q", l)
		}
		if cont != "" && l[:3] != cont {
			t.Fatalf("multi-line reply changes code at %q", l)
		}
		cont = ""
		if len(l) > 3 && l[3] == '-' {
			cont = l[:3]
		}
	}
	if cont != "" {
		t.Fatalf("unfinished multi-line reply in %q", out)
	}
}

func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
		"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nBDAT 3 LAST\r\nabcRSET\r\n",
		"EHLO x\r\nAUTH PLAIN AHVAbXgudGVzdABzZWNyZXQ=\r\nAUTH LOGIN\r\ndQ==\r\n*\r\n",
		"GET / HTTP/1.0\r\n", "EHLO x\r\nSTARTTLS\r\nVRFY x\r\nEXPN y\r\nHELP\r\nNOOP\r\n",
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\na\n.\nb\r.\r\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := testConfig()
		cfg.Auth = fakeAuth{}
		cfg.AllowInsecureAuth = true
		srv := New(cfg, &fakeBackend{}, log, nil)
		conn := &memConn{r: bytes.NewReader(in)}
		srv.serveConn(context.Background(), conn)
		checkReplies(t, conn.out.String())
	})
}

func BenchmarkTransaction(b *testing.B) {
	addr, _ := startServer(b, Config{Hostname: "mx.test"}, &discardBackend{})
	c := dialGreeted(b, addr)
	c.expect("EHLO client.test", "250")
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 170) + ".\r\n"
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		c.send("MAIL FROM:<s@client.test>\r\nRCPT TO:<u@mx.test>\r\nDATA\r\n")
		c.expect("", "250")
		c.expect("", "250")
		c.expect("", "354")
		c.send(body)
		c.expect("", "250")
	}
}

// discardBackend accepts everything and keeps nothing, so the benchmark
// measures the session.
type discardBackend struct{}

type discardTx struct{}

func (discardBackend) Begin(context.Context, *ConnInfo, string, MailOptions) (Transaction, error) {
	return discardTx{}, nil
}
func (discardTx) ID() string                                              { return "B1" }
func (discardTx) AddRecipient(context.Context, string, RcptOptions) error { return nil }
func (discardTx) Write(p []byte) (int, error)                             { return len(p), nil }
func (discardTx) Commit(context.Context) error                            { return nil }
func (discardTx) Abort()                                                  {}
