package smtpclient

import (
	"encoding/base64"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
)

// auth authenticates to a smarthost with PLAIN or LOGIN (RFC 4954), never
// in the clear. A peer that offers no AUTH is used without it (some
// smarthosts relay by address); a refusal is temporary, since it is
// fixed by the operator, not the sender.
func (cl *Client) auth(c *conn, hop *Hop) error {
	if !c.tls {
		return localFailure("4.7.0", "credentials are configured for this route but the connection is not encrypted: not sending them", hop.Host, nil)
	}
	if len(c.ext.auth) == 0 {
		cl.cfg.Logger.Warn("smtpclient: smarthost offers no AUTH; sending without", "host", hop.Host)
		return nil
	}
	var rep smtp.Reply
	var err error
	switch {
	case c.ext.auth["PLAIN"]:
		rep, err = cl.authPlain(c, hop.Auth)
	case c.ext.auth["LOGIN"]:
		rep, err = cl.authLogin(c, hop.Auth)
	default:
		return localFailure("4.7.0", "no AUTH mechanism in common with the smarthost (PLAIN, LOGIN)", hop.Host, nil)
	}
	if err != nil {
		return ioFailure(hop.Host, "during AUTH", err)
	}
	if rep.Code != smtp.C235AuthOK {
		re := &ReplyError{Code: rep.Code, Enhanced: enhancedOf(forceTemporary(rep)), Text: replyText(rep), Host: hop.Host}
		return mailerr.Temporary(mailerr.AuthFailed, "authentication to "+hop.Host+" failed: "+re.Text, re)
	}
	return nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// authPlain sends the initial response with the command (RFC 4954 §4);
// a server that wants it after an empty challenge gets it then.
func (cl *Client) authPlain(c *conn, a *Auth) (smtp.Reply, error) {
	resp := b64("\x00" + a.Username + "\x00" + a.Password)
	rep, err := c.roundTrip(cl.cfg.CommandTimeout, "AUTH PLAIN "+resp)
	if err == nil && rep.Code == smtp.C334AuthChallenge {
		rep, err = c.roundTrip(cl.cfg.CommandTimeout, resp)
	}
	return rep, err
}

// authLogin answers the two challenges of LOGIN (username, password).
func (cl *Client) authLogin(c *conn, a *Auth) (smtp.Reply, error) {
	rep, err := c.roundTrip(cl.cfg.CommandTimeout, "AUTH LOGIN")
	for _, s := range []string{a.Username, a.Password} {
		if err != nil || rep.Code != smtp.C334AuthChallenge {
			return rep, err
		}
		rep, err = c.roundTrip(cl.cfg.CommandTimeout, b64(s))
	}
	if err == nil && rep.Code == smtp.C334AuthChallenge {
		// A third challenge: cancel (RFC 4954 §4) and report failure.
		rep, err = c.roundTrip(cl.cfg.CommandTimeout, "*")
	}
	return rep, err
}
