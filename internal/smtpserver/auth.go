package smtpserver

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
)

// authOffered reports whether EHLO announces AUTH: an Authenticator is
// configured, the client has not authenticated yet, and the session is
// encrypted (or AllowInsecureAuth says plain text is fine).
func (s *session) authOffered() bool {
	return s.cfg.Auth != nil && s.info.AuthUser == "" && (s.info.TLS != nil || s.cfg.AllowInsecureAuth)
}

// cmdAuth runs AUTH PLAIN (RFC 4616) or AUTH LOGIN (draft-murchison-sasl-login)
// per RFC 4954.
func (s *session) cmdAuth(arg string) error {
	switch {
	case s.cfg.Auth == nil:
		s.reply(smtp.C502NotImpl, smtp.E551InvalidCommand, "AUTH not available")
		return nil
	case !s.helo || !s.info.ESMTP:
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "Send EHLO first")
		return nil
	case s.info.AuthUser != "":
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "Already authenticated")
		return nil
	case s.tx != nil:
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "AUTH not allowed during a mail transaction")
		return nil
	case s.info.TLS == nil && !s.cfg.AllowInsecureAuth:
		s.reply(smtp.C538EncryptionReq, smtp.E5711EncryptionReq, "Encryption required for requested authentication mechanism")
		return nil
	}
	mech, ir, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	var user, pass string
	var ok bool
	var err error
	switch mech {
	case "PLAIN":
		user, pass, ok, err = s.saslPlain(ir)
	case "LOGIN":
		user, pass, ok, err = s.saslLogin(ir)
	default:
		s.reply(smtp.C504ParamNotImpl, smtp.E554InvalidArgs, "Unrecognized authentication type")
		return nil
	}
	if err != nil || !ok {
		return err
	}
	if err := s.cfg.Auth.Authenticate(s.ctx, &s.info, user, pass); err != nil {
		s.log.Info("smtp AUTH failed", "mech", mech, "user", user, "err", err)
		if mailerr.Is(err, mailerr.AuthFailed) || mailerr.IsPermanent(err) {
			s.reply(smtp.C535AuthFailed, smtp.E578BadCredentials, "Authentication credentials invalid")
		} else {
			s.reply(smtp.C454TempAuthFail, smtp.E470Security, "Temporary authentication failure")
		}
		return nil
	}
	s.info.AuthUser = user
	s.reply(smtp.C235AuthOK, smtp.E270AuthOK, "Authentication successful")
	return nil
}

// saslResponse returns the client's next response: the initial response
// if there is one, else it sends a 334 challenge and reads a line. ok is
// false when a reply has already been queued (cancelled, bad base64).
func (s *session) saslResponse(initial *string, challenge string) ([]byte, bool, error) {
	var line string
	if *initial != "" {
		line = *initial
		*initial = ""
		if line == "=" { // RFC 4954 §4: an empty initial response
			return nil, true, nil
		}
	} else {
		s.replyRaw(smtp.C334AuthChallenge, "", challenge)
		s.conn.SetReadDeadline(time.Now().Add(s.cfg.Timeouts.Command))
		b, err := s.lr.ReadLine(smtp.MaxAuthLine)
		if err != nil {
			if errors.Is(err, smtp.ErrLineTooLong) {
				s.reply(smtp.C500SyntaxError, smtp.E552SyntaxError, "Line too long")
				return nil, false, nil
			}
			s.readFailed(err)
			return nil, false, err
		}
		line = string(b)
	}
	if line == "*" {
		s.reply(smtp.C501ParamSyntax, smtp.E500Other, "Authentication cancelled")
		return nil, false, nil
	}
	dec, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		s.reply(smtp.C501ParamSyntax, smtp.E552SyntaxError, "Invalid base64 data")
		return nil, false, nil
	}
	return dec, true, nil
}

// saslPlain reads "authzid NUL authcid NUL passwd". An authorization
// identity other than the user itself is refused.
func (s *session) saslPlain(ir string) (user, pass string, ok bool, err error) {
	resp, ok, err := s.saslResponse(&ir, "")
	if !ok {
		return "", "", false, err
	}
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		s.reply(smtp.C501ParamSyntax, smtp.E554InvalidArgs, "Malformed PLAIN response")
		return "", "", false, nil
	}
	if len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1]) {
		s.reply(smtp.C535AuthFailed, smtp.E578BadCredentials, "Authorization identity not allowed")
		return "", "", false, nil
	}
	return string(parts[1]), string(parts[2]), true, nil
}

// saslLogin asks for user name and password, base64 "Username:" and
// "Password:" as deployed clients expect.
func (s *session) saslLogin(ir string) (user, pass string, ok bool, err error) {
	u, ok, err := s.saslResponse(&ir, "VXNlcm5hbWU6")
	if !ok {
		return "", "", false, err
	}
	p, ok, err := s.saslResponse(&ir, "UGFzc3dvcmQ6")
	if !ok {
		return "", "", false, err
	}
	return string(u), string(p), true, nil
}
