package smtpserver

import (
	"errors"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
)

// stage says which command a backend error answers; a few reasons map
// differently per command.
type stage int

const (
	stageMail stage = iota
	stageRcpt
	stageData
)

// replyFor maps a backend error to the reply the client sees. An
// *smtp.Error is used as it is; a mailerr.Error by its reason and class;
// anything else is a temporary local error, so that mail is retried, never
// lost.
func replyFor(err error, st stage) *smtp.Error {
	var se *smtp.Error
	if errors.As(err, &se) {
		return se
	}
	perm := mailerr.IsPermanent(err)
	msg := ""
	if e := mailerr.As(err); e != nil {
		msg = e.Msg
	}
	mk := func(code int, enh, def string) *smtp.Error {
		if msg == "" {
			msg = def
		}
		return &smtp.Error{Code: code, Enhanced: enh, Msg: msg, Err: err}
	}
	switch mailerr.ReasonOf(err) {
	case mailerr.NoSuchUser:
		return mk(smtp.C550MailboxUnavail, smtp.E511BadDestMailbox, "No such user here")
	case mailerr.NotLocal:
		return mk(smtp.C550MailboxUnavail, smtp.E571NotAuthorized, "Relaying denied")
	case mailerr.Policy:
		if perm {
			return mk(smtp.C550MailboxUnavail, smtp.E571NotAuthorized, "Refused by policy")
		}
		return mk(smtp.C450MailboxUnavail, smtp.E471PolicyTemp, "Refused by policy, try again later")
	case mailerr.OverQuota:
		if perm {
			return mk(smtp.C552ExceededStor, smtp.E522MailboxFull, "Mailbox full")
		}
		return mk(smtp.C452InsufficientSt, smtp.E422MailboxFull, "Mailbox full, try again later")
	case mailerr.DiskFull:
		return mk(smtp.C452InsufficientSt, smtp.E431SystemFull, "Insufficient system storage")
	case mailerr.TooBig:
		return mk(smtp.C552ExceededStor, smtp.E534MsgTooBig, "Message too big")
	case mailerr.AuthFailed:
		return mk(smtp.C535AuthFailed, smtp.E578BadCredentials, "Authentication credentials invalid")
	case mailerr.BadInput:
		if perm {
			switch st {
			case stageMail:
				return mk(smtp.C553BadMailbox, smtp.E517BadSenderSynt, "Sender address refused")
			case stageRcpt:
				return mk(smtp.C553BadMailbox, smtp.E513BadDestSyntax, "Recipient address refused")
			}
			return mk(smtp.C554TransactionFai, smtp.E560MediaOther, "Message content refused")
		}
	}
	if !perm {
		return mk(smtp.C451LocalError, smtp.E430SystemOther, "Local error in processing, try again later")
	}
	if st == stageData {
		return mk(smtp.C554TransactionFai, smtp.E530SystemOther, "Transaction failed")
	}
	return mk(smtp.C550MailboxUnavail, smtp.E500Other, "Requested action not taken")
}
