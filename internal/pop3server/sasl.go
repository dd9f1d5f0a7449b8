package pop3server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
)

// maxPlainField bounds each PLAIN field (RFC 4616 §2: up to 255 octets).
const maxPlainField = 255

// cmdAuth runs SASL authentication (RFC 5034 §4). Only PLAIN (RFC 4616)
// is offered; its response comes as an initial response or after a "+ "
// continuation, and "*" cancels.
func (ss *session) cmdAuth(arg string) error {
	mech, initial, hasInitial := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	switch {
	case !ss.loginAllowed():
		ss.refusePlaintext()
		return nil
	case mech == "":
		// Not in RFC 5034, but clients (Outlook) probe with a bare AUTH
		// and servers answer with the mechanism list.
		ss.reply("+OK")
		ss.reply("PLAIN")
		ss.reply(".")
		return nil
	case mech != "PLAIN":
		ss.fail("unsupported SASL mechanism")
		return nil
	}
	resp := initial
	if !hasInitial {
		ss.reply("+ ")
		line, err := ss.readLine(maxAuthLine)
		if errors.Is(err, errLineTooLong) {
			ss.fail("[AUTH] SASL response too long")
			return nil
		}
		if err != nil {
			return err
		}
		resp = string(line)
	}
	if resp == "*" {
		ss.srv.m.login(loginAborted)
		ss.fail("authentication cancelled")
		return nil
	}
	if resp == "=" { // RFC 5034 §4: an empty initial response
		resp = ""
	}
	msg, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		ss.fail("invalid base64 in SASL response")
		return nil
	}
	authz, authc, pass, ok := parsePlain(msg)
	if !ok {
		ss.fail("[AUTH] malformed PLAIN response")
		return nil
	}
	if authz != "" && authz != authc {
		// Acting as another user is left out; refuse rather than
		// ignore the request.
		ss.srv.m.login(loginMismatch)
		ss.fail("[AUTH] authorization identity must match the user")
		return nil
	}
	ss.user = ""
	ss.login(authc, pass)
	return nil
}

// parsePlain splits a PLAIN message "authzid NUL authcid NUL passwd"
// (RFC 4616 §2). The authcid and password must not be empty.
func parsePlain(msg []byte) (authz, authc, pass string, ok bool) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return "", "", "", false
	}
	for _, p := range parts {
		if len(p) > maxPlainField {
			return "", "", "", false
		}
	}
	if len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", "", false
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), true
}
