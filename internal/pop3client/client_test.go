package pop3client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/loadgen/loadgentest"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/pop3client/pop3test"
)

var testMsgs = []pop3test.Message{
	{UID: "uid-1", Data: []byte("Subject: one\r\n\r\nhello\r\n")},
	{UID: "uid-2", Data: []byte("Subject: two\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n")},
	{UID: "uid-3", Data: []byte("Subject: three\r\n\r\nno final line break")},
}

func dial(t *testing.T, s *pop3test.Server, o Options) *Client {
	t.Helper()
	c, err := Dial(t.Context(), s.Addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLoginMethods(t *testing.T) {
	tests := []struct {
		name    string
		o       pop3test.Options
		pass    string
		wantCmd string
		reason  mailerr.Reason
	}{
		{name: "USER", o: pop3test.Options{}, pass: "secret", wantCmd: "PASS secret"},
		{name: "old server without CAPA", o: pop3test.Options{NoCapa: true}, pass: "secret", wantCmd: "PASS secret"},
		{name: "SASL PLAIN only", o: pop3test.Options{Capa: []string{"SASL PLAIN", "UIDL"}}, pass: "secret", wantCmd: "AUTH PLAIN AGFsaWNlAHNlY3JldA=="},
		{name: "wrong password", o: pop3test.Options{}, pass: "nope", reason: mailerr.AuthFailed},
		{name: "wrong password PLAIN", o: pop3test.Options{Capa: []string{"SASL PLAIN"}}, pass: "nope", reason: mailerr.AuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.User, tt.o.Password = "alice", "secret"
			s := pop3test.Start(t, tt.o, testMsgs)
			c := dial(t, s, Options{})
			err := c.Login(t.Context(), "alice", tt.pass)
			if tt.reason != mailerr.Unknown {
				if !mailerr.Is(err, tt.reason) || !mailerr.IsPermanent(err) {
					t.Fatalf("Login error = %v, want permanent %v", err, tt.reason)
				}
				if !strings.Contains(err.Error(), "invalid user name or password") {
					t.Errorf("error %q lacks the server's reply", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cmds := s.Commands()
			found := false
			for _, l := range cmds {
				found = found || l == tt.wantCmd
			}
			if !found {
				t.Errorf("commands %q lack %q", cmds, tt.wantCmd)
			}
		})
	}
}

func TestTransaction(t *testing.T) {
	s := pop3test.Start(t, pop3test.Options{User: "alice", Password: "secret"}, testMsgs)
	c := dial(t, s, Options{})
	ctx := t.Context()
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	n, size, err := c.Stat(ctx)
	total := int64(len(testMsgs[0].Data) + len(testMsgs[1].Data) + len(testMsgs[2].Data))
	if err != nil || n != 3 || size != total {
		t.Fatalf("Stat = %d, %d, %v; want 3, %d", n, size, err, total)
	}
	md, err := c.Maildrop(ctx)
	if err != nil || len(md) != 3 {
		t.Fatalf("Maildrop = %v, %v", md, err)
	}
	for i, m := range md {
		if m.Number != i+1 || m.UID != testMsgs[i].UID || m.Size != int64(len(testMsgs[i].Data)) {
			t.Errorf("message %d = %+v", i+1, m)
		}
	}
	for i, want := range []string{
		string(testMsgs[0].Data),
		string(testMsgs[1].Data),
		string(testMsgs[2].Data) + "\r\n", // the server ends the last line
	} {
		var buf bytes.Buffer
		n, err := c.Retr(ctx, i+1, &buf)
		if err != nil || buf.String() != want || n != int64(len(want)) {
			t.Errorf("Retr %d = %q, %d, %v; want %q", i+1, buf.String(), n, err, want)
		}
	}
	var top bytes.Buffer
	if _, err := c.Top(ctx, 1, 0, &top); err != nil || !strings.HasPrefix(top.String(), "Subject: one") {
		t.Errorf("Top = %q, %v", top.String(), err)
	}
	// -ERR for one command leaves the session usable.
	if _, err := c.Retr(ctx, 9, &bytes.Buffer{}); !mailerr.IsPermanent(err) || !strings.Contains(err.Error(), "no such message") {
		t.Errorf("Retr 9 error = %v", err)
	}
	var pe *Error
	if _, err := c.Retr(ctx, 9, &bytes.Buffer{}); !errors.As(err, &pe) || pe.Command != "RETR 9" {
		t.Errorf("Retr 9 error %v is not an *Error for RETR 9", err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Rset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 2); err == nil {
		t.Error("deleting a deleted message succeeded")
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	left := s.Messages()
	if len(left) != 2 || left[0].UID != "uid-1" || left[1].UID != "uid-3" {
		t.Errorf("after QUIT the maildrop holds %v", left)
	}
}

func TestCloseWithoutQuitDeletesNothing(t *testing.T) {
	s := pop3test.Start(t, pop3test.Options{User: "alice", Password: "secret"}, testMsgs)
	c := dial(t, s, Options{})
	ctx := t.Context()
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// A second session sees all messages: the first one never QUIT.
	c2 := dial(t, s, Options{})
	if err := c2.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := c2.Stat(ctx); err != nil || n != 3 {
		t.Errorf("Stat = %d, %v; want 3", n, err)
	}
}

func TestNoUIDL(t *testing.T) {
	s := pop3test.Start(t, pop3test.Options{User: "alice", Password: "secret", NoUIDL: true}, testMsgs)
	c := dial(t, s, Options{})
	ctx := t.Context()
	if err := c.Login(ctx, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	md, err := c.Maildrop(ctx)
	if !errors.Is(err, ErrNoUIDL) || len(md) != 3 || md[0].UID != "" {
		t.Fatalf("Maildrop = %v, %v; want the list and ErrNoUIDL", md, err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Errorf("session unusable after UIDL -ERR: %v", err)
	}
}

// TestBrokenResponses checks that malformed or oversized multi-line
// responses fail clearly and leave the session refusing further commands.
func TestBrokenResponses(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		call  func(*Client) error
		want  error
	}{
		{"bad listing", "+OK\r\nnot a listing\r\n.\r\n", func(c *Client) error { _, err := c.List(t.Context()); return err }, ErrMalformed},
		{"too many lines", "+OK\r\n" + strings.Repeat("1 1\r\n", 20) + ".\r\n", func(c *Client) error { _, err := c.List(t.Context()); return err }, ErrTooLong},
		{"long line", "+OK\r\n1 " + strings.Repeat("9", 10000) + "\r\n.\r\n", func(c *Client) error { _, err := c.List(t.Context()); return err }, ErrTooLong},
		{"message too big", "+OK\r\n" + strings.Repeat("x", 200) + "\r\n.\r\n", func(c *Client) error { _, err := c.Retr(t.Context(), 1, &bytes.Buffer{}); return err }, ErrTooLong},
		{"garbage status", "HELLO\r\n", func(c *Client) error { return c.Noop(t.Context()) }, ErrMalformed},
		{"cut off", "+OK\r\npartial", func(c *Client) error { _, err := c.Retr(t.Context(), 1, &bytes.Buffer{}); return err }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pop3test.Options{User: "alice", Password: "secret", Hook: func(line string) (string, bool, bool) {
				switch strings.Fields(line)[0] {
				case "LIST", "RETR", "NOOP":
					return tt.reply, true, true
				}
				return "", false, false
			}}
			s := pop3test.Start(t, o, testMsgs)
			c := dial(t, s, Options{MaxListing: 10, MaxMessage: 100, MaxLine: 4096})
			if err := c.Login(t.Context(), "alice", "secret"); err != nil {
				t.Fatal(err)
			}
			err := tt.call(c)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if err := c.Noop(t.Context()); err == nil || !strings.Contains(err.Error(), "unusable") {
				t.Errorf("session still used after a broken response: %v", err)
			}
		})
	}
}

func TestGreetingRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			nc.Write([]byte("-ERR [SYS/TEMP] maintenance\r\n"))
			nc.Close()
		}
	}()
	_, err = Dial(t.Context(), ln.Addr().String(), Options{})
	if err == nil || mailerr.IsPermanent(err) || !strings.Contains(err.Error(), "maintenance") {
		t.Fatalf("Dial error = %v, want temporary with the server's text", err)
	}
}

func TestTLS(t *testing.T) {
	srvCfg, pool := loadgentest.SelfSigned(t)
	good := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	tests := []struct {
		name    string
		o       pop3test.Options
		mode    TLSMode
		cfg     *tls.Config
		wantErr string
	}{
		{name: "STLS", o: pop3test.Options{TLS: srvCfg}, mode: TLSStartTLS, cfg: good},
		{name: "implicit", o: pop3test.Options{TLS: srvCfg, Implicit: true}, mode: TLSImplicit, cfg: good},
		{name: "no STLS offered", o: pop3test.Options{}, mode: TLSStartTLS, cfg: good, wantErr: "does not offer STLS"},
		{name: "untrusted", o: pop3test.Options{TLS: srvCfg, Implicit: true}, mode: TLSImplicit, cfg: &tls.Config{ServerName: "localhost"}, wantErr: "certificate"},
		{name: "STLS data injection", o: pop3test.Options{TLS: srvCfg, Hook: func(l string) (string, bool, bool) {
			if l == "STLS" {
				return "+OK go\r\n+OK injected\r\n", true, false
			}
			return "", false, false
		}}, mode: TLSStartTLS, cfg: good, wantErr: "after the STLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.User, tt.o.Password = "alice", "secret"
			s := pop3test.Start(t, tt.o, testMsgs)
			c, err := Dial(t.Context(), s.Addr, Options{TLS: tt.mode, TLSConfig: tt.cfg})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Dial error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !c.IsTLS() {
				t.Fatal("not TLS")
			}
			caps, err := c.Capabilities(t.Context())
			if err != nil || caps.Has("STLS") {
				t.Errorf("capabilities after TLS = %v, %v", caps, err)
			}
			if err := c.Login(t.Context(), "alice", "secret"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// remoteConn pretends the peer is not on loopback.
type remoteConn struct{ net.Conn }

func (remoteConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 110} }

func TestPlaintextRefused(t *testing.T) {
	s := pop3test.Start(t, pop3test.Options{User: "alice", Password: "secret"}, testMsgs)
	for _, allow := range []bool{false, true} {
		nc, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewClient(t.Context(), remoteConn{nc}, Options{AllowPlaintextAuth: allow})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Login(t.Context(), "alice", "secret")
		if allow && err != nil {
			t.Errorf("allowed plaintext login failed: %v", err)
		}
		if !allow && !errors.Is(err, ErrPlaintext) {
			t.Errorf("plaintext login to a remote host: %v, want ErrPlaintext", err)
		}
		c.Close()
	}
	for _, l := range s.Commands() {
		if strings.HasPrefix(l, "PASS") {
			return
		}
	}
	t.Error("the allowed login never sent PASS")
}

func TestContextCancel(t *testing.T) {
	o := pop3test.Options{User: "alice", Password: "secret", Hook: func(l string) (string, bool, bool) {
		return "", l == "NOOP", false // never answer NOOP
	}}
	s := pop3test.Start(t, o, testMsgs)
	c := dial(t, s, Options{})
	if err := c.Login(t.Context(), "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := c.Noop(ctx)
	if err == nil || mailerr.IsPermanent(err) {
		t.Fatalf("Noop error = %v, want a temporary failure", err)
	}
}
