package submitclient

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
)

// ReplyError is a refusal: the command (a password is never included)
// and the server's reply.
type ReplyError struct {
	Command string // "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "AUTH PLAIN", "DATA", "end of data"
	Reply   smtp.Reply
}

func (e *ReplyError) Error() string {
	var b strings.Builder
	b.WriteString("server refused ")
	b.WriteString(e.Command)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Reply.Code))
	if e.Reply.Enhanced != "" {
		b.WriteString(" " + e.Reply.Enhanced)
	}
	if t := strings.Join(e.Reply.Lines, " "); t != "" {
		b.WriteString(" " + t)
	}
	return b.String()
}

// Temporary reports a 4xx reply: trying again later may work.
func (e *ReplyError) Temporary() bool { return e.Reply.Code < 500 }

// refusal classifies a reply: 4xx temporary, 5xx permanent, with a reason
// from the reply and enhanced codes (RFC 4954 §6, RFC 3463).
func refusal(cmd string, rep smtp.Reply) error {
	e := &ReplyError{Command: cmd, Reply: rep}
	r := mailerr.Unknown
	switch {
	case rep.Code == smtp.C535AuthFailed || rep.Code == smtp.C454TempAuthFail || strings.HasSuffix(rep.Enhanced, ".7.8"):
		r = mailerr.AuthFailed
	case rep.Code == smtp.C552ExceededStor || strings.HasSuffix(rep.Enhanced, ".3.4"):
		r = mailerr.TooBig
	case strings.HasSuffix(rep.Enhanced, ".1.1") || strings.HasSuffix(rep.Enhanced, ".1.2"):
		r = mailerr.NoSuchUser
	case strings.HasSuffix(rep.Enhanced, ".2.2") || rep.Code == smtp.C452InsufficientSt:
		r = mailerr.OverQuota
	case rep.Code == smtp.C530AuthRequired || rep.Code == smtp.C538EncryptionReq ||
		rep.Code == smtp.C550MailboxUnavail || rep.Code == smtp.C554TransactionFai || strings.Contains(rep.Enhanced, ".7."):
		r = mailerr.Policy
	case rep.Code == smtp.C421ServiceUnavail || rep.Code == smtp.C451LocalError:
		r = mailerr.Unavailable
	case rep.Code == smtp.C501ParamSyntax || rep.Code == smtp.C553BadMailbox || rep.Code == smtp.C555ParamsUnknown:
		r = mailerr.BadInput
	}
	if rep.Code >= 500 {
		return mailerr.Permanent(r, "submission refused", e)
	}
	return mailerr.Temporary(r, "submission refused", e)
}

// netError wraps a failure of the connection: temporary.
func netError(op string, err error) error {
	return mailerr.Temporary(mailerr.Unavailable, "SMTP "+op, err)
}
