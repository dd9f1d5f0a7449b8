package pop3server

import (
	"errors"
	"strconv"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// loginAllowed reports whether USER/PASS and AUTH may be used now: in the
// AUTHORIZATION state, over TLS or where plaintext logins are allowed.
func (ss *session) loginAllowed() bool {
	return ss.state == stateAuthorization && (ss.tls || ss.srv.cfg.AllowPlaintextAuth)
}

// stlsAvailable reports whether STLS may be offered (RFC 2595 §4: only in
// the AUTHORIZATION state, only once).
func (ss *session) stlsAvailable() bool {
	return ss.state == stateAuthorization && ss.srv.cfg.TLS != nil && !ss.tls
}

// refusePlaintext answers a login attempt before TLS (RFC 3206 [AUTH]).
func (ss *session) refusePlaintext() {
	ss.srv.m.login(loginRefused)
	if ss.stlsAvailable() {
		ss.fail("[AUTH] plaintext authentication disallowed, use STLS first")
		return
	}
	ss.fail("[AUTH] plaintext authentication disallowed")
}

// cmdCapa lists capabilities (RFC 2449 §5); USER, SASL and STLS only
// when they can be used now (RFC 2449 §6: the list may change by state).
func (ss *session) cmdCapa(arg string) error {
	if !noArgs(arg) {
		ss.fail("CAPA takes no argument")
		return nil
	}
	ss.reply("+OK capability list follows")
	ss.reply("TOP")
	ss.reply("UIDL")
	if ss.loginAllowed() {
		ss.reply("USER")
	}
	ss.reply("RESP-CODES")
	ss.reply("AUTH-RESP-CODE")
	ss.reply("PIPELINING")
	if ss.loginAllowed() {
		ss.reply("SASL PLAIN")
	}
	if ss.stlsAvailable() {
		ss.reply("STLS")
	}
	ss.reply("IMPLEMENTATION posthorn")
	ss.reply(".")
	return nil
}

// cmdUser records the name for PASS (RFC 1939 §7).
func (ss *session) cmdUser(arg string) error {
	switch {
	case !ss.loginAllowed():
		ss.refusePlaintext()
	case arg == "":
		ss.fail("USER needs a name")
	default:
		ss.user = arg
		ss.reply("+OK send PASS")
	}
	return nil
}

// cmdPass logs in with the name from USER. The whole rest of the line is
// the password, spaces included (RFC 1939 §7 allows this).
func (ss *session) cmdPass(arg string) error {
	switch {
	case !ss.loginAllowed():
		ss.refusePlaintext()
	case ss.user == "":
		ss.fail("send USER first")
	default:
		user := ss.user
		ss.user = ""
		ss.login(user, arg)
	}
	return nil
}

// cmdStls starts TLS (RFC 2595 §4). Anything the client pipelined after
// STLS is discarded with the plaintext reader, and so is a USER name.
func (ss *session) cmdStls(arg string) error {
	switch {
	case !noArgs(arg):
		ss.fail("STLS takes no argument")
	case ss.tls:
		ss.fail("command not permitted when TLS active")
	case ss.srv.cfg.TLS == nil:
		ss.fail("STLS not available")
	default:
		ss.reply("+OK begin TLS negotiation")
		if err := ss.bw.Flush(); err != nil {
			return err
		}
		ss.user = ""
		return ss.startTLS()
	}
	return nil
}

// login asks the backend and enters the TRANSACTION state on success.
func (ss *session) login(user, pass string) {
	ss.loggedIn = user
	md, err := ss.srv.be.Login(ss.ctx, user, pass, ss.raw.RemoteAddr())
	if err == nil && md == nil {
		err = errors.New("backend returned no maildrop")
	}
	if err != nil {
		ss.loginFailed(err)
		return
	}
	ss.srv.m.login(loginOK)
	ss.md = md
	ss.msgs = md.Messages()
	ss.deleted = make([]bool, len(ss.msgs))
	ss.live = len(ss.msgs)
	for _, m := range ss.msgs {
		ss.liveSize += m.Size
	}
	ss.state = stateTransaction
	ss.reply("+OK maildrop has " + ss.summary())
}

// loginFailed maps a Login error to its response code (see the package
// doc). Only failures the client caused count toward maxErrors.
func (ss *session) loginFailed(err error) {
	ss.cause = err
	temporary := !mailerr.IsPermanent(err)
	switch r := mailerr.ReasonOf(err); {
	case r == mailerr.AuthFailed || r == mailerr.NoSuchUser || (r == mailerr.Policy && !temporary):
		ss.srv.m.login(loginFailed)
		ss.fail("[AUTH] invalid user name or password")
	case r == mailerr.InUse:
		ss.srv.m.login(loginInUse)
		ss.fail("[IN-USE] maildrop already locked, try again later")
	case r == mailerr.Policy:
		ss.srv.m.login(loginDelay)
		ss.fail("[LOGIN-DELAY] too many logins, try again later")
	case temporary:
		ss.srv.m.login(loginError)
		ss.failSys("[SYS/TEMP] cannot open maildrop now, try again later", err)
	default:
		ss.srv.m.login(loginError)
		ss.failSys("[SYS/PERM] cannot open maildrop", err)
	}
}

// summary is "N messages (M octets)" over the messages not deleted.
func (ss *session) summary() string {
	return strconv.Itoa(ss.live) + " messages (" + strconv.FormatInt(ss.liveSize, 10) + " octets)"
}
