package imapserver_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
)

// RFC 2971 ID and RFC 5161 ENABLE.
func TestIDEnable(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.expect(`a1 ID ("name" "test" "version" NIL)`, `* ID ("name" "posthorn" "vendor" "posthorn")`, "a1 OK ID completed")
	c.expect(`a2 ID NIL`, `* ID ("name" "posthorn" "vendor" "posthorn")`, "a2 OK ID completed")
	c.expect("a3 ENABLE CONDSTORE", "a3 BAD ENABLE not allowed now")
	c.mustOK("a4 LOGIN alice secret")
	c.expect("a5 ENABLE CONDSTORE X-UNKNOWN", "* ENABLED CONDSTORE", "a5 OK ENABLE completed")
	c.expect("a6 ENABLE CONDSTORE", "* ENABLED", "a6 OK ENABLE completed")
}

// IMAP4rev2 answers SEARCH with ESEARCH (RFC 9051 §7.3.4), and with
// CONDSTORE unsolicited FETCH carries MODSEQ (RFC 7162 §3.2).
func TestRev2Search(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1)
	e.deliver("INBOX", msg2)
	c := e.login()
	c.mustOK("a1 ENABLE IMAP4rev2 CONDSTORE")
	c.mustOK("a2 SELECT INBOX")
	c.expect("a3 SEARCH ALL", `* ESEARCH (TAG "a3") ALL 1:2`, "a3 OK SEARCH completed")
	c.expect("a4 UID SEARCH NOT ALL", `* ESEARCH (TAG "a4") UID`, "a4 OK UID SEARCH completed")
	other := e.login()
	other.mustOK("b1 SELECT INBOX")
	other.mustOK(`b2 STORE 2 +FLAGS (\Answered)`)
	c.expect("a5 NOOP", `* 2 FETCH (UID 2 FLAGS (\Answered) MODSEQ (4))`, "a5 OK NOOP completed")
}

// Failed logins end the session after three tries.
func TestLoginFailures(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.expect("a1 LOGIN alice x", "a1 NO [AUTHENTICATIONFAILED] invalid credentials")
	c.expect("a2 LOGIN alice y", "a2 NO [AUTHENTICATIONFAILED] invalid credentials")
	c.expect("a3 LOGIN alice z", "a3 NO [AUTHENTICATIONFAILED] invalid credentials")
	if l := c.readLine(); l != "* BYE too many failed logins" {
		t.Errorf("after failures: %q", l)
	}
}

// Implicit TLS (imaps) and the autologout timer (RFC 9051 §5.4).
func TestImplicitTLSAndAutologout(t *testing.T) {
	cfg := selfSigned(t)
	e := newEnv(t, func(c *imapserver.Config) {
		c.TLS, c.ImplicitTLS, c.AllowPlaintextAuth = cfg, true, false
		c.IdleTimeout = 300 * time.Millisecond
	})
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	if g := c.readLine(); !strings.Contains(g, "AUTH=PLAIN") || strings.Contains(g, "STARTTLS") {
		t.Errorf("imaps greeting: %q", g)
	}
	c.mustOK("a1 LOGIN alice secret")
	if l := c.readLine(); l != "* BYE autologout: idle for too long" {
		t.Errorf("autologout: %q", l)
	}
}
