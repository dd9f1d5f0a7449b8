package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/smtp"
)

// cmdStartTLS upgrades the connection (RFC 3207). Octets the client sent
// after STARTTLS and before the handshake are thrown away, never run as
// commands (the STARTTLS command injection of CVE-2011-0411). After the
// handshake the session starts over: HELO/EHLO is needed again and no
// earlier state survives (RFC 3207 §4.2).
func (s *session) cmdStartTLS(arg string) error {
	switch {
	case s.cfg.TLS == nil:
		s.reply(smtp.C502NotImpl, smtp.E551InvalidCommand, "STARTTLS not available")
		return nil
	case s.info.TLS != nil:
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "TLS already active")
		return nil
	case arg != "":
		s.reply(smtp.C501ParamSyntax, smtp.E554InvalidArgs, "Syntax: STARTTLS takes no parameters")
		return nil
	}
	s.reply(smtp.C220ServiceReady, smtp.E200Other, "Ready to start TLS")
	if err := s.flush(); err != nil {
		return err
	}
	if n := s.br.Buffered(); n > 0 {
		s.log.Warn("smtp discarded octets sent after STARTTLS", "octets", n)
		s.br.Discard(n)
	}
	if err := s.handshake(s.cfg.Timeouts.Command); err != nil {
		return err
	}
	s.abortTx()
	s.helo = false
	s.info.Helo = ""
	s.info.ESMTP = false
	s.info.AuthUser = ""
	return nil
}

// handshake runs the server side of a TLS handshake on the raw connection
// and makes the session read and write through TLS from then on.
func (s *session) handshake(timeout time.Duration) error {
	tc := tls.Server(s.conn, s.cfg.TLS)
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("smtp TLS handshake failed", "err", err)
		return fmt.Errorf("smtpserver: TLS handshake: %w", err)
	}
	// Deadlines set on tc apply to the raw connection; clear the
	// handshake's so the next read gets its own.
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	s.conn = tc
	s.info.TLS = &st
	if s.br.Buffered() != 0 {
		return errors.New("smtpserver: clear-text octets buffered after TLS handshake")
	}
	s.br.Reset(connReader{s})
	return nil
}
