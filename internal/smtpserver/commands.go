package smtpserver

import (
	"strconv"

	"github.com/posthorn/posthorn/internal/smtp"
)

// httpVerbs are refused as a first command: someone pointed a browser or
// a cross-protocol attack at us (chasquid does the same).
var httpVerbs = map[string]bool{
	"GET": true, "POST": true, "HEAD": true, "PUT": true, "DELETE": true,
	"OPTIONS": true, "CONNECT": true, "PATCH": true, "TRACE": true,
}

// lineLimit is the longest line allowed for a verb, CRLF included (RFC
// 5321 §4.5.3.1.4 and the extensions that extend it).
func lineLimit(verb string) int {
	switch verb {
	case "MAIL":
		return smtp.MaxCommandLine + smtp.MailExtra
	case "RCPT":
		return smtp.MaxCommandLine + smtp.RcptExtra
	case "AUTH":
		return smtp.MaxAuthLine
	}
	return smtp.MaxCommandLine
}

// dispatch runs one command line. A non-nil error ends the session
// (errQuit for an orderly end).
func (s *session) dispatch(line []byte) error {
	s.commands++
	cmd, err := smtp.ParseCommand(line)
	if err != nil {
		s.replyErr(err.(*smtp.Error))
		return nil
	}
	if len(line)+2 > lineLimit(cmd.Verb) {
		s.reply(smtp.C500SyntaxError, smtp.E552SyntaxError, "Line too long")
		return nil
	}
	switch cmd.Verb {
	case "HELO":
		s.cmdHelo(cmd.Arg, false)
	case "EHLO":
		s.cmdHelo(cmd.Arg, true)
	case "MAIL":
		s.cmdMail(cmd.Arg)
	case "RCPT":
		s.cmdRcpt(cmd.Arg)
	case "DATA":
		return s.cmdData(cmd.Arg)
	case "BDAT":
		return s.cmdBdat(cmd.Arg)
	case "RSET":
		s.abortTx()
		s.reply(smtp.C250OK, smtp.E200Other, "Ok")
	case "NOOP":
		s.reply(smtp.C250OK, smtp.E200Other, "Ok")
	case "QUIT":
		s.reply(smtp.C221Closing, smtp.E200Other, s.cfg.Hostname+" closing connection")
		s.quit = true
		return errQuit
	case "HELP":
		s.reply(smtp.C214Help, smtp.E200Other,
			"Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH; see RFC 5321")
	case "VRFY": // RFC 5321 §3.5.3: do not disclose who exists
		s.reply(smtp.C252CannotVerify, smtp.E250OtherProtocol, "Cannot VRFY user, but will accept message and attempt delivery")
	case "EXPN":
		s.reply(smtp.C502NotImpl, smtp.E551InvalidCommand, "EXPN not available")
	case "STARTTLS":
		return s.cmdStartTLS(cmd.Arg)
	case "AUTH":
		return s.cmdAuth(cmd.Arg)
	case "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "VERB", "BURL":
		s.reply(smtp.C502NotImpl, smtp.E551InvalidCommand, "Command not implemented")
	default:
		if httpVerbs[cmd.Verb] && s.commands == 1 {
			s.srv.m.refuse(s.cfg.ListenerName, "http")
			s.replyRaw(smtp.C554TransactionFai, "", "This is an SMTP server, not HTTP; closing connection")
			s.end = "http request"
			s.quit = true
			return errQuit
		}
		s.reply(smtp.C500SyntaxError, smtp.E552SyntaxError, "Command not recognized")
	}
	return nil
}

// maxHelo bounds the HELO argument we keep (a domain is at most 255).
const maxHelo = 255

// cmdHelo answers HELO and EHLO (RFC 5321 §4.1.1.1). Either resets the
// transaction (§4.1.4).
func (s *session) cmdHelo(arg string, ehlo bool) {
	if arg == "" {
		s.reply(smtp.C501ParamSyntax, smtp.E554InvalidArgs, "Syntax: EHLO hostname")
		return
	}
	if len(arg) > maxHelo {
		arg = arg[:maxHelo]
	}
	s.abortTx()
	s.helo = true
	s.info.Helo = arg
	s.info.ESMTP = ehlo
	if !ehlo {
		// RFC 2034 §3: no enhanced code on the HELO/EHLO reply itself.
		s.replyRaw(smtp.C250OK, "", s.cfg.Hostname)
		return
	}
	lines := []string{
		s.cfg.Hostname,
		"SIZE " + strconv.FormatInt(s.cfg.MaxMessageSize, 10),
		"8BITMIME",
		"PIPELINING",
		"ENHANCEDSTATUSCODES",
	}
	if s.cfg.TLS != nil && s.info.TLS == nil {
		lines = append(lines, "STARTTLS")
	}
	if s.authOffered() {
		lines = append(lines, "AUTH PLAIN LOGIN")
	}
	lines = append(lines, "SMTPUTF8", "CHUNKING", "DSN", "HELP")
	s.replyRaw(smtp.C250OK, "", lines...)
}

// cmdMail starts a transaction (RFC 5321 §4.1.1.2).
func (s *session) cmdMail(arg string) {
	switch {
	case !s.helo:
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "Send HELO/EHLO first")
		return
	case s.tx != nil:
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "Nested MAIL command")
		return
	case s.cfg.RequireAuth && s.info.AuthUser == "":
		s.reply(smtp.C530AuthRequired, smtp.E570Security, "Authentication required")
		return
	}
	m, err := smtp.ParseMail(arg)
	if err != nil {
		s.replyErr(err.(*smtp.Error))
		return
	}
	if m.Size > s.cfg.MaxMessageSize {
		s.reply(smtp.C552ExceededStor, smtp.E534MsgTooBig, "Message size exceeds fixed maximum message size")
		return
	}
	opts := MailOptions{Size: m.Size, Body: m.Body, SMTPUTF8: m.SMTPUTF8, Ret: m.Ret, EnvID: m.EnvID}
	from := m.From.String()
	t, err := s.srv.be.Begin(s.ctx, &s.info, from, opts)
	if err != nil {
		e := replyFor(err, stageMail)
		s.log.Info("smtp MAIL refused", "from", from, "code", e.Code, "err", err)
		s.replyErr(e)
		return
	}
	s.tx = &transaction{t: t, from: from, opts: opts}
	s.reply(smtp.C250OK, smtp.E210SenderOK, "Ok")
}

// cmdRcpt adds a recipient (RFC 5321 §4.1.1.3).
func (s *session) cmdRcpt(arg string) {
	if s.tx == nil || s.tx.bdat != nil {
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "Need MAIL before RCPT")
		return
	}
	r, err := smtp.ParseRcpt(arg, s.tx.opts.SMTPUTF8)
	if err != nil {
		s.replyErr(err.(*smtp.Error))
		return
	}
	s.tx.rcptCmds++
	if s.tx.rcptCmds > s.cfg.MaxRecipients {
		// RFC 5321 §4.5.3.1.10: 452, the client sends the rest later.
		s.reply(smtp.C452InsufficientSt, smtp.E453TooManyRcpts, "Too many recipients")
		return
	}
	to := r.To.String()
	if r.To.Domain == "" {
		to = "postmaster"
	}
	if err := s.tx.t.AddRecipient(s.ctx, to, RcptOptions{Notify: r.Notify, ORCPT: r.ORCPT}); err != nil {
		e := replyFor(err, stageRcpt)
		s.log.Info("smtp RCPT refused", "to", to, "code", e.Code, "err", err)
		s.replyErr(e)
		return
	}
	s.tx.rcpts = append(s.tx.rcpts, to)
	s.reply(smtp.C250OK, smtp.E215DestValid, "Ok")
}
