package imapserver

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// maxAuthFailures is the number of failed logins after which the session
// is closed.
const maxAuthFailures = 3

// handled is returned by a command that wrote its own tagged response.
var handled = &status{kind: "OK", text: "handled"}

// cmdStartTLS implements RFC 9051 §6.2.1. Input the client sent after the
// command, before the handshake, is discarded: it could have been
// injected by a man in the middle (RFC 9051 §11.1).
func (ss *session) cmdStartTLS(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	if ss.srv.cfg.TLS == nil || ss.isTLS {
		return bad("STARTTLS not available")
	}
	if ss.br.Buffered() > 0 {
		return bad("pipelined data after STARTTLS")
	}
	ss.sendStatus(tag, ok("", "begin TLS negotiation now"))
	if ss.flush() != nil {
		return handled
	}
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	ss.conn.SetDeadline(time.Now().Add(rejectTimeout * 3))
	if err := tc.HandshakeContext(ss.ctx); err != nil {
		ss.log.Debug("imap starttls handshake", "err", err)
		ss.state = stateLogout
		return handled
	}
	ss.conn.SetDeadline(time.Time{})
	ss.isTLS = true
	ss.setConn(tc)
	return handled
}

// cmdLogin implements RFC 9051 §6.2.3.
func (ss *session) cmdLogin(tag string, d *imapwire.Decoder) *status {
	d.SP()
	user := d.AString()
	d.SP()
	pass := d.AString()
	if !d.End() {
		return nil
	}
	return ss.login(user, pass)
}

// cmdAuthenticate implements RFC 9051 §6.2.2 with the PLAIN mechanism
// (RFC 4616) and an initial response (RFC 4959 SASL-IR).
func (ss *session) cmdAuthenticate(tag string, d *imapwire.Decoder) *status {
	d.SP()
	mech := strings.ToUpper(d.Atom())
	var ir []byte
	hasIR := false
	if d.Byte(' ') {
		if d.Byte('=') {
			ir, hasIR = []byte{}, true
		} else {
			ir = []byte(d.Atom())
			hasIR = true
		}
	}
	if !d.End() {
		return nil
	}
	if mech != "PLAIN" {
		return no("CANNOT", "unsupported authentication mechanism")
	}
	if !ss.authAllowed() {
		ss.srv.m.login(loginRefused)
		return no("PRIVACYREQUIRED", "authentication needs TLS: use STARTTLS")
	}
	if !hasIR {
		ss.writef("+ \r\n")
		ss.flush()
		ss.conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := ss.rd.ReadLine()
		if err != nil {
			if errors.Is(err, imapwire.ErrLineTooLong) {
				return bad("response too long")
			}
			ss.state = stateLogout
			return handled
		}
		if string(line) == "*" {
			ss.srv.m.login(loginAborted)
			return bad("authentication cancelled")
		}
		ir = line
	}
	if len(ir) == 0 {
		return no("AUTHENTICATIONFAILED", "empty credentials")
	}
	authz, user, pass, err := auth.DecodePlain(ir)
	if err != nil {
		ss.srv.m.login(loginInvalid)
		return bad("malformed PLAIN credentials")
	}
	if authz != "" && authz != user {
		ss.srv.m.login(loginMismatch)
		return no("AUTHORIZATIONFAILED", "authorization identity must be empty or match")
	}
	return ss.login(user, pass)
}

// login asks the backend and enters the authenticated state.
func (ss *session) login(user, pass string) *status {
	if !ss.authAllowed() {
		ss.srv.m.login(loginRefused)
		return no("PRIVACYREQUIRED", "login needs TLS: use STARTTLS")
	}
	u, err := ss.srv.be.Login(ss.ctx, user, pass, ss.remote)
	if err != nil {
		switch {
		case mailerr.Is(err, mailerr.AuthFailed), mailerr.Is(err, mailerr.NoSuchUser):
			ss.srv.m.login(loginFailed)
			ss.log.Info("imap login failed", "user", user)
			if ss.authFailures++; ss.authFailures >= maxAuthFailures {
				// A guesser gets a new connection's cost per few tries.
				ss.sendStatus(ss.tag, no("AUTHENTICATIONFAILED", "invalid credentials"))
				ss.bye("too many failed logins")
				return handled
			}
			return no("AUTHENTICATIONFAILED", "invalid credentials")
		case mailerr.Is(err, mailerr.Policy) && !mailerr.IsPermanent(err):
			ss.srv.m.login(loginDelay)
			return no("UNAVAILABLE", "too many failed logins, try again later")
		}
		ss.srv.m.login(loginError)
		ss.log.Warn("imap login", "user", user, "err", err)
		return errStatus(err)
	}
	if !ss.srv.addUser(u.Name()) {
		u.Logout()
		ss.srv.m.login(loginInUse)
		return no("LIMIT", "too many sessions for this user")
	}
	ss.srv.m.login(loginOK)
	ss.user, ss.userName = u, u.Name()
	ss.log = ss.log.With("user", ss.userName)
	ss.state = stateAuth
	return ok("CAPABILITY "+ss.capabilities(), "logged in")
}
