package smtpclient

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtp"
)

// fakeServer is a scripted SMTP server on 127.0.0.1 that records what
// clients send. Zero fields behave like a plain, accepting server.
type fakeServer struct {
	t  testing.TB
	ln net.Listener

	greeting   string   // default "220 fake.test ESMTP"
	ext        []string // EHLO keywords
	refuseEHLO bool     // 502 to EHLO (HELO works)
	tls        *tls.Config
	mailReply  string
	rcptReply  func(addr string) string
	dataReply  string // reply to DATA (default 354)
	endReply   string // reply to the final dot
	dropInData bool   // close the connection in the middle of the data
	stallAt    string // stop answering at this verb ("GREETING", "END" = final dot)
	strictPipe bool   // read MAIL..DATA before answering (proves pipelining)
	closeIdle  bool   // close the connection after each transaction's reply
	authUser   string
	authPass   string

	mu       sync.Mutex
	sessions []*fakeSession
}

type fakeSession struct {
	cmds   []string
	msgs   [][]byte
	tls    bool
	authed string
}

func newFakeServer(t testing.TB, f *fakeServer) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.t, f.ln = t, ln
	var wg sync.WaitGroup
	var conns sync.Map
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(nc, true)
			wg.Go(func() {
				defer nc.Close()
				f.serve(nc)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	return f
}

func (f *fakeServer) hop() Hop {
	ap := netip.MustParseAddrPort(f.ln.Addr().String())
	return Hop{Host: "mx.test", Addrs: []netip.Addr{ap.Addr()}, Port: int(ap.Port())}
}

func (f *fakeServer) session(i int) *fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.sessions) {
		return &fakeSession{}
	}
	s := *f.sessions[i]
	return &s
}

func (f *fakeServer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

func (f *fakeServer) record(s *fakeSession, fn func()) {
	f.mu.Lock()
	fn()
	f.mu.Unlock()
}

// fakeConn is one connection's state.
type fakeConn struct {
	nc       net.Conn
	s        *fakeSession
	br       *bufio.Reader
	w        io.Writer
	accepted int
	queue    []string // pipelined lines read ahead (strictPipe)
}

func (c *fakeConn) say(lines ...string) { io.WriteString(c.w, strings.Join(lines, "\r\n")+"\r\n") }
func (c *fakeConn) stall()              { io.Copy(io.Discard, c.br) }

func (c *fakeConn) readLine() (string, bool) {
	if len(c.queue) > 0 {
		l := c.queue[0]
		c.queue = c.queue[1:]
		return l, true
	}
	l, err := c.br.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err == nil
}

func (f *fakeServer) serve(nc net.Conn) {
	c := &fakeConn{nc: nc, s: &fakeSession{}, br: bufio.NewReader(nc), w: nc}
	f.record(c.s, func() { f.sessions = append(f.sessions, c.s) })
	if f.stallAt == "GREETING" {
		c.stall()
		return
	}
	c.say(or(f.greeting, "220 fake.test ESMTP"))
	if !strings.HasPrefix(or(f.greeting, "220"), "220") {
		c.br.ReadString('\n')
		c.say("221 bye")
		return
	}
	for {
		line, ok := c.readLine()
		if !ok {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		f.record(c.s, func() { c.s.cmds = append(c.s.cmds, line) })
		if verb == f.stallAt {
			c.stall()
			return
		}
		if !f.command(c, verb, line) {
			return
		}
	}
}

// command answers one command; false ends the connection.
func (f *fakeServer) command(c *fakeConn, verb, line string) bool {
	switch verb {
	case "EHLO":
		if f.refuseEHLO {
			c.say("502 5.5.2 no EHLO here")
			return true
		}
		lines := []string{"250-fake.test"}
		for _, e := range f.ext {
			if e != "STARTTLS" || !c.s.tls {
				lines = append(lines, "250-"+e)
			}
		}
		lines[len(lines)-1] = "250 " + lines[len(lines)-1][4:]
		c.say(lines...)
	case "HELO", "NOOP":
		c.say("250 ok")
	case "STARTTLS":
		c.say("220 2.0.0 go ahead")
		tc := tls.Server(c.nc, f.tls)
		if err := tc.Handshake(); err != nil {
			return false
		}
		c.br, c.w = bufio.NewReader(tc), tc
		f.record(c.s, func() { c.s.tls = true })
	case "AUTH":
		f.auth(c.s, line, c.br, c.say)
	case "MAIL":
		for f.strictPipe {
			l, err := c.br.ReadString('\n')
			if err != nil {
				return false
			}
			c.queue = append(c.queue, strings.TrimRight(l, "\r\n"))
			if strings.EqualFold(c.queue[len(c.queue)-1], "DATA") {
				break
			}
		}
		c.accepted = 0
		c.say(or(f.mailReply, "250 2.1.0 ok"))
	case "RCPT":
		r := "250 2.1.5 ok"
		if f.rcptReply != nil {
			r = f.rcptReply(line[strings.Index(line, "<")+1 : strings.Index(line, ">")])
		}
		if strings.HasPrefix(r, "2") {
			c.accepted++
		}
		c.say(r)
	case "DATA":
		return f.data(c)
	case "RSET":
		c.accepted = 0
		c.say("250 2.0.0 ok")
	case "QUIT":
		c.say("221 2.0.0 bye")
		return false
	default:
		c.say("500 5.5.2 what")
	}
	return true
}

func (f *fakeServer) data(c *fakeConn) bool {
	switch {
	case c.accepted == 0:
		c.say("554 5.5.1 no valid recipients")
		return true
	case f.dataReply != "":
		c.say(f.dataReply)
		return true
	}
	c.say("354 go on")
	msg, ok := f.readData(c.br)
	if !ok {
		return false
	}
	f.record(c.s, func() { c.s.msgs = append(c.s.msgs, msg) })
	if f.stallAt == "END" {
		c.stall()
		return false
	}
	c.say(or(f.endReply, "250 2.0.0 queued"))
	return !f.closeIdle
}

// readData reads dot-stuffed data; with dropInData it stops half-way.
func (f *fakeServer) readData(br *bufio.Reader) ([]byte, bool) {
	if f.dropInData {
		br.ReadString('\n')
		return nil, false
	}
	d := smtp.NewDotReader(br, 50<<20)
	msg, err := io.ReadAll(d)
	return msg, err == nil
}

func (f *fakeServer) auth(s *fakeSession, line string, br *bufio.Reader, say func(...string)) {
	f2 := strings.Fields(line)
	dec := func(v string) string { b, _ := base64.StdEncoding.DecodeString(v); return string(b) }
	readLine := func() string { l, _ := br.ReadString('\n'); return strings.TrimRight(l, "\r\n") }
	var user, pass string
	switch {
	case len(f2) == 3 && strings.EqualFold(f2[1], "PLAIN"):
		p := strings.Split(dec(f2[2]), "\x00")
		if len(p) == 3 {
			user, pass = p[1], p[2]
		}
	case len(f2) == 2 && strings.EqualFold(f2[1], "LOGIN"):
		say("334 VXNlcm5hbWU6")
		user = dec(readLine())
		say("334 UGFzc3dvcmQ6")
		pass = dec(readLine())
	}
	if user == f.authUser && pass == f.authPass && user != "" {
		f.record(s, func() { s.authed = user })
		say("235 2.7.0 ok")
		return
	}
	say("535 5.7.8 bad credentials")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// selfSigned makes a certificate for mx.test and 127.0.0.1, and writes it
// as a CA file.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mx.test"},
		DNSNames:              []string{"mx.test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, path
}
