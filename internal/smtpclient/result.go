package smtpclient

import (
	"errors"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
)

// ReplyError is what a DSN reports about a failure: the remote reply, or
// a local status when no reply explains it (Code 0).
type ReplyError struct {
	Code     int    // SMTP reply code; 0 for a local failure (no reply)
	Enhanced string // RFC 3463 status, always set ("4.4.1", "5.1.1", ...)
	Text     string // reply text, lines joined with "; "; or the local reason
	Host     string // the remote host that answered, "" when none did
	Err      error  // the cause, for the log; may be nil
}

func (e *ReplyError) Error() string {
	var b strings.Builder
	if e.Host != "" {
		b.WriteString(e.Host)
		b.WriteString(": ")
	}
	if e.Code != 0 {
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteByte(' ')
	}
	b.WriteString(e.Enhanced)
	b.WriteByte(' ')
	b.WriteString(e.Text)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ReplyError) Unwrap() error { return e.Err }

// ReplyOf returns the *ReplyError in err's chain, or nil.
func ReplyOf(err error) *ReplyError {
	var re *ReplyError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// RcptResult is the outcome for one recipient.
type RcptResult struct {
	Rcpt     string
	Code     int    // the reply that decided (RCPT's or the final DATA reply); 0 if none
	Enhanced string // its RFC 3463 status (derived from the code when the peer sent none)
	Text     string
	Host     string // the remote MTA that gave the reply, "" when none was reached
	// Err is nil when the peer accepted the message for this recipient;
	// else a *mailerr.Error (permanent or temporary) wrapping a
	// *ReplyError with the fields above.
	Err error
}

// Delivered reports whether the peer took responsibility for the message.
func (r *RcptResult) Delivered() bool { return r.Err == nil }

// Permanent reports whether the failure is permanent (bounce now).
func (r *RcptResult) Permanent() bool { return mailerr.IsPermanent(r.Err) }

// Result is the outcome of Deliver.
type Result struct {
	Rcpts []RcptResult // one per Envelope.Rcpts, in the same order
	// PeerDSN is true when the peer that decided took the DSN parameters:
	// when false, a NOTIFY=SUCCESS recipient gets a "relayed" DSN from
	// the queue (RFC 3461 §6.2).
	PeerDSN bool
	// Converted is true when the message was sent converted to 7 bit.
	Converted bool
}

// setReply records a reply as the outcome of recipient i: success for
// 2xx, else a classified failure.
func (r *Result) setReply(i int, rep smtp.Reply, host string) {
	rr := &r.Rcpts[i]
	rr.Code, rr.Text, rr.Host = rep.Code, replyText(rep), host
	rr.Enhanced = enhancedOf(rep)
	rr.Err = nil
	if rep.Code >= 200 && rep.Code < 300 {
		return
	}
	rr.Err = replyFailure(rep, host)
}

// setErr records a failure (from replyFailure or localFailure).
func (r *Result) setErr(i int, err error) {
	rr := &r.Rcpts[i]
	rr.Err = err
	if re := ReplyOf(err); re != nil {
		rr.Code, rr.Enhanced, rr.Text, rr.Host = re.Code, re.Enhanced, re.Text, re.Host
	}
}

// replyText joins a reply's lines for a DSN's Diagnostic-Code.
func replyText(rep smtp.Reply) string { return strings.Join(rep.Lines, "; ") }

// enhancedOf returns the reply's enhanced code, or the generic one of its
// class (RFC 3463 §3.1) when the peer sent none.
func enhancedOf(rep smtp.Reply) string {
	if rep.Enhanced != "" {
		return rep.Enhanced
	}
	switch rep.Code / 100 {
	case 2:
		return "2.0.0"
	case 5:
		return "5.0.0"
	default: // 4xx, and a stray 3xx where 2xx was due: retry
		return "4.0.0"
	}
}

// replyFailure classifies a non-2xx reply: 5xx is permanent, anything
// else temporary.
func replyFailure(rep smtp.Reply, host string) error {
	re := &ReplyError{Code: rep.Code, Enhanced: enhancedOf(rep), Text: replyText(rep), Host: host}
	msg := "remote " + host + " said: " + strconv.Itoa(rep.Code) + " " + re.Enhanced + " " + re.Text
	reason := reasonOf(re.Enhanced)
	if rep.Code >= 500 && rep.Code < 600 {
		return mailerr.Permanent(reason, msg, re)
	}
	return mailerr.Temporary(reason, msg, re)
}

// localFailure is a failure without a reply that decides it (connection
// errors, timeouts, local policy). enhanced's class decides permanence.
func localFailure(enhanced, text, host string, cause error) error {
	re := &ReplyError{Enhanced: enhanced, Text: text, Host: host, Err: cause}
	msg := text
	if host != "" {
		msg = host + ": " + text
	}
	if strings.HasPrefix(enhanced, "5.") {
		return mailerr.Permanent(reasonOf(enhanced), msg, re)
	}
	return mailerr.Temporary(reasonOf(enhanced), msg, re)
}

// reasonOf maps an RFC 3463 status to a mailerr reason.
func reasonOf(enhanced string) mailerr.Reason {
	_, rest, _ := strings.Cut(enhanced, ".")
	switch {
	case rest == "2.2":
		return mailerr.OverQuota
	case rest == "3.4" || rest == "2.3":
		return mailerr.TooBig
	case strings.HasPrefix(rest, "1."):
		return mailerr.NoSuchUser
	case strings.HasPrefix(rest, "7."):
		return mailerr.Policy
	case strings.HasPrefix(rest, "6.") || strings.HasPrefix(rest, "5."):
		return mailerr.BadInput
	case strings.HasPrefix(rest, "4."):
		return mailerr.Unavailable
	}
	return mailerr.Unknown
}
