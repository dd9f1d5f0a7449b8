package imapserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
)

const capsAuth = "IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE ESEARCH STATUS=SIZE BINARY QUOTA QUOTA=RES-STORAGE"

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"mx.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// RFC 9051 §6.1.1, §6.2.3: CAPABILITY before and after LOGIN.
func TestCapabilityAndLogin(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.expect("a1 CAPABILITY",
		"* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE ESEARCH STATUS=SIZE BINARY",
		"a1 OK CAPABILITY completed")
	c.expect("a2 LOGIN alice wrong", "a2 NO [AUTHENTICATIONFAILED] invalid credentials")
	c.expect("a3 SELECT INBOX", "a3 BAD SELECT not allowed now")
	c.expect(`a4 LOGIN "alice" {6+}`+"\r\nsecret", "a4 OK [CAPABILITY "+capsAuth+"] logged in")
	c.expect("a5 LOGIN alice secret", "a5 BAD LOGIN not allowed now")
	c.expect("a6 NOOP", "a6 OK NOOP completed")
	c.expect("a7 LOGOUT", "* BYE logging out", "a7 OK LOGOUT completed")
}

// RFC 9051 §6.2.3: LOGINDISABLED without TLS; STARTTLS then LOGIN.
func TestStartTLS(t *testing.T) {
	cfg := selfSigned(t)
	e := newEnv(t, func(c *imapserver.Config) { c.AllowPlaintextAuth = false; c.TLS = cfg })
	c := e.dial()
	c.expect("a1 CAPABILITY",
		"* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE ESEARCH STATUS=SIZE BINARY",
		"a1 OK CAPABILITY completed")
	c.expect("a2 LOGIN alice secret", "a2 NO [PRIVACYREQUIRED] login needs TLS: use STARTTLS")
	c.expect("a3 STARTTLS", "a3 OK begin TLS negotiation now")
	c.startTLS()
	got := c.do("a4 CAPABILITY")
	if strings.Contains(got[0], "STARTTLS") || !strings.Contains(got[0], "AUTH=PLAIN") {
		t.Errorf("capabilities after TLS: %q", got)
	}
	c.mustOK("a5 LOGIN alice secret")
}

// RFC 9051 §6.2.2, RFC 4959 SASL-IR, RFC 4616 PLAIN.
func TestAuthenticatePlain(t *testing.T) {
	e := newEnv(t, nil)
	ir := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	c := e.dial()
	c.expect("a1 AUTHENTICATE PLAIN "+ir, "a1 OK [CAPABILITY "+capsAuth+"] logged in")

	c = e.dial()
	c.send("a1 AUTHENTICATE PLAIN")
	if l := c.readLine(); l != "+ " {
		t.Fatalf("continuation %q", l)
	}
	c.send(base64.StdEncoding.EncodeToString([]byte("\x00alice\x00bad")))
	if l := c.readLine(); l != "a1 NO [AUTHENTICATIONFAILED] invalid credentials" {
		t.Errorf("bad password: %q", l)
	}
	c.send("a2 AUTHENTICATE PLAIN")
	c.readLine()
	c.send("*")
	if l := c.readLine(); l != "a2 BAD authentication cancelled" {
		t.Errorf("cancel: %q", l)
	}
	c.expect("a3 AUTHENTICATE PLAIN "+base64.StdEncoding.EncodeToString([]byte("bob\x00alice\x00secret")),
		"a3 NO [AUTHORIZATIONFAILED] authorization identity must be empty or match")
	c.expect("a4 AUTHENTICATE CRAM-MD5", "a4 NO [CANNOT] unsupported authentication mechanism")
}

// Sessions per user are limited.
func TestSessionsPerUser(t *testing.T) {
	e := newEnv(t, func(c *imapserver.Config) { c.MaxSessionsPerUser = 1 })
	c1 := e.login()
	c2 := e.dial()
	c2.expect("a1 LOGIN alice secret", "a1 NO [LIMIT] too many sessions for this user")
	c1.expect("a2 LOGOUT", "* BYE logging out", "a2 OK LOGOUT completed")
}

// Garbage and unknown commands get BAD; too many end the session.
func TestBadCommands(t *testing.T) {
	e := newEnv(t, func(c *imapserver.Config) { c.MaxErrors = 3 })
	c := e.dial()
	c.expect("a1 FROB", "a1 BAD unknown command")
	c.send("+")
	if l := c.readLine(); l != "* BAD missing or invalid tag" {
		t.Errorf("bad tag: %q", l)
	}
	c.send("a3 LOGIN")
	want := []string{"a3 BAD expected SP", "* BYE too many errors"}
	for _, w := range want {
		if l := c.readLine(); !strings.HasPrefix(l, w[:6]) {
			t.Errorf("got %q want %q", l, w)
		}
	}
}
