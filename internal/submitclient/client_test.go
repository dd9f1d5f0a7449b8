package submitclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/loadgen/loadgentest"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/submitclient/submittest"
)

const msg = "From: a@example.test\r\nSubject: hi\r\n\r\n.dot line\r\nbody\r\n"

func TestSubmit(t *testing.T) {
	srvCfg, pool := loadgentest.SelfSigned(t)
	good := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	tests := []struct {
		name  string
		o     submittest.Options
		mode  TLSMode
		cfg   *tls.Config
		user  string
		pass  string
		env   Envelope
		size  int64
		body  io.Reader
		check func(t *testing.T, err error)
	}{
		{name: "STARTTLS PLAIN", o: submittest.Options{TLS: srvCfg, User: "u", Password: "p"}, mode: TLSStartTLS, cfg: good, user: "u", pass: "p"},
		{name: "implicit LOGIN", o: submittest.Options{TLS: srvCfg, Implicit: true, User: "u", Password: "p", Mechanisms: "LOGIN"}, mode: TLSImplicit, cfg: good, user: "u", pass: "p"},
		{name: "plain loopback", o: submittest.Options{User: "u", Password: "p"}, mode: TLSNone, user: "u", pass: "p"},
		{name: "no auth", o: submittest.Options{}, mode: TLSNone},
		{name: "wrong password", o: submittest.Options{User: "u", Password: "p"}, user: "u", pass: "x", check: wantReason(mailerr.AuthFailed, true, "535 5.7.8 authentication credentials invalid")},
		{name: "auth required", o: submittest.Options{User: "u", Password: "p"}, check: wantReason(mailerr.Policy, true, "530")},
		{name: "no STARTTLS", o: submittest.Options{}, mode: TLSStartTLS, cfg: good, check: wantReason(mailerr.Policy, true, "does not offer STARTTLS")},
		{name: "untrusted cert", o: submittest.Options{TLS: srvCfg, Implicit: true}, mode: TLSImplicit, cfg: &tls.Config{ServerName: "localhost"}, check: wantReason(mailerr.Policy, true, "certificate")},
		{name: "rcpt refused", o: submittest.Options{Reply: refuse("RCPT TO:<bad@example.test>", "550 5.1.1 no such user")},
			env: Envelope{From: "a@example.test", To: []string{"ok@example.test", "bad@example.test"}}, check: wantReason(mailerr.NoSuchUser, true, "RCPT TO:<bad@example.test>: 550 5.1.1 no such user")},
		{name: "mail refused temp", o: submittest.Options{Reply: refuse("MAIL FROM:<a@example.test>", "451 4.3.0 try later")}, check: wantReason(mailerr.Unavailable, false, "451 4.3.0 try later")},
		{name: "data refused", o: submittest.Options{Reply: refuse("DATA", "554 5.7.1 rejected for spam")}, check: wantReason(mailerr.Policy, true, "554 5.7.1 rejected for spam")},
		{name: "too big", o: submittest.Options{Size: 10}, size: int64(len(msg)), check: wantReason(mailerr.TooBig, true, "at most 10")},
		{name: "body fails", o: submittest.Options{}, body: io.MultiReader(strings.NewReader("From: a\r\n"), errReader{}), check: wantReason(mailerr.Unavailable, false, "boom")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := submittest.Start(t, tt.o)
			if tt.env.To == nil {
				tt.env = Envelope{From: "a@example.test", To: []string{"b@example.test", "c@example.test"}}
			}
			body := tt.body
			if body == nil {
				body = strings.NewReader(msg)
			}
			err := Submit(t.Context(), s.Addr, Options{TLS: tt.mode, TLSConfig: tt.cfg}, tt.user, tt.pass, tt.env, body, tt.size)
			if tt.check != nil {
				tt.check(t, err)
				for _, l := range s.Commands() {
					if l == "DATA" && tt.name == "rcpt refused" {
						t.Error("DATA sent after a refused recipient")
					}
				}
				if n := len(s.Messages()); n != 0 {
					t.Errorf("the sink accepted %d messages", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Messages()
			if len(got) != 1 {
				t.Fatalf("sink has %d messages", len(got))
			}
			m := got[0]
			if m.From != tt.env.From || strings.Join(m.To, ",") != strings.Join(tt.env.To, ",") || string(m.Data) != msg {
				t.Errorf("sink got %+v", m)
			}
		})
	}
}

func refuse(cmd, reply string) func(string) string {
	return func(line string) string {
		if strings.HasPrefix(line, cmd) {
			return reply
		}
		return ""
	}
}

func wantReason(r mailerr.Reason, permanent bool, text string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		if mailerr.ReasonOf(err) != r || mailerr.IsPermanent(err) != permanent {
			t.Errorf("error %v: reason %v permanent %v, want %v %v", err, mailerr.ReasonOf(err), mailerr.IsPermanent(err), r, permanent)
		}
		if !strings.Contains(err.Error(), text) {
			t.Errorf("error %q lacks %q", err, text)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

type remoteConn struct{ net.Conn }

func (remoteConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 587} }

func TestPlaintextRefused(t *testing.T) {
	s := submittest.Start(t, submittest.Options{User: "u", Password: "p"})
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c, err := NewClient(t.Context(), remoteConn{nc}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(t.Context(), "u", "p"); !errors.Is(err, ErrPlaintext) {
		t.Fatalf("Auth over plaintext to a remote host: %v", err)
	}
	for _, l := range s.Commands() {
		if strings.HasPrefix(l, "AUTH") {
			t.Error("AUTH was sent")
		}
	}
}

func TestMailParameters(t *testing.T) {
	s := submittest.Start(t, submittest.Options{Size: 1000})
	env := Envelope{From: "a@example.test", To: []string{"b@example.test"}, EightBit: true}
	if err := Submit(context.Background(), s.Addr, Options{}, "", "", env, strings.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	m := s.Messages()[0]
	if m.MailArgs != fmt.Sprintf("SIZE=%d BODY=8BITMIME", len(msg)) {
		t.Errorf("MAIL parameters %q", m.MailArgs)
	}
	env.To = []string{"bü@example.test"}
	err := Submit(t.Context(), s.Addr, Options{}, "", "", env, strings.NewReader(msg), -1)
	if err == nil || !strings.Contains(err.Error(), "SMTPUTF8") {
		t.Errorf("UTF-8 address without SMTPUTF8: %v", err)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		in       string
		code     int
		enhanced string
		lines    []string
		bad      bool
	}{
		{in: "250 ok\r\n", code: 250, lines: []string{"ok"}},
		{in: "250-a\r\n250-SIZE 10\r\n250 8BITMIME\r\n", code: 250, lines: []string{"a", "SIZE 10", "8BITMIME"}},
		{in: "550-5.1.1 no\r\n550 5.1.1 such user\r\n", code: 550, enhanced: "5.1.1", lines: []string{"no", "such user"}},
		{in: "550 4.1.1 wrong class\r\n", code: 550, lines: []string{"4.1.1 wrong class"}},
		{in: "354\r\n", code: 354, lines: []string{""}},
		{in: "250 esc\x1b[0m\r\n", code: 250, lines: []string{"esc?[0m"}},
		{in: "250-a\r\n251 b\r\n", bad: true},
		{in: "abc\r\n", bad: true},
		{in: "199 x\r\n", bad: true},
		{in: "2500\r\n", bad: true},
		{in: "250 " + strings.Repeat("x", 3000) + "\r\n", bad: true},
		{in: strings.Repeat("250-x\r\n", 200) + "250 x\r\n", bad: true},
		{in: "250-x\r\n", bad: true},
	}
	for _, tt := range tests {
		rep, err := readReply(lineReader(tt.in))
		if tt.bad {
			if err == nil {
				t.Errorf("readReply(%q) = %+v, want an error", tt.in, rep)
			}
			continue
		}
		if err != nil || rep.Code != tt.code || rep.Enhanced != tt.enhanced || strings.Join(rep.Lines, "|") != strings.Join(tt.lines, "|") {
			t.Errorf("readReply(%q) = %+v, %v", tt.in, rep, err)
		}
	}
}
