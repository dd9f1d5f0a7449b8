package imapserver

import (
	"errors"
	"fmt"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// status is the tagged result of a command: OK, NO or BAD with an
// optional response code (RFC 9051 §7.1, RFC 5530).
type status struct {
	kind string // "OK", "NO", "BAD"
	code string // without brackets, may be ""
	text string
}

func (st *status) Error() string { return st.kind + " " + st.text }

func no(code, format string, args ...any) *status {
	return &status{kind: "NO", code: code, text: fmt.Sprintf(format, args...)}
}

func bad(format string, args ...any) *status {
	return &status{kind: "BAD", text: fmt.Sprintf(format, args...)}
}

func ok(code, text string) *status { return &status{kind: "OK", code: code, text: text} }

// errStatus maps a backend error to a tagged NO with the RFC 5530 code
// that says what went wrong; syntax errors become BAD.
func errStatus(err error) *status {
	var st *status
	if errors.As(err, &st) {
		return st
	}
	var se *imapwire.SyntaxError
	if errors.As(err, &se) {
		return bad("%s", se.Msg)
	}
	e := mailerr.As(err)
	msg := "internal error"
	if e != nil && e.Msg != "" {
		msg = e.Msg
	}
	switch mailerr.ReasonOf(err) {
	case mailerr.AuthFailed:
		return no("AUTHENTICATIONFAILED", "invalid credentials")
	case mailerr.NoSuchUser:
		return no("NONEXISTENT", "%s", orText(msg, "no such mailbox"))
	case mailerr.Exists:
		return no("ALREADYEXISTS", "%s", orText(msg, "mailbox already exists"))
	case mailerr.OverQuota:
		return no("OVERQUOTA", "%s", orText(msg, "quota exceeded"))
	case mailerr.InUse:
		return no("INUSE", "%s", orText(msg, "in use, try again later"))
	case mailerr.TooBig:
		return no("TOOBIG", "%s", orText(msg, "too big"))
	case mailerr.BadInput, mailerr.NotLocal:
		return no("CANNOT", "%s", orText(msg, "cannot do that"))
	case mailerr.Policy:
		if mailerr.IsPermanent(err) {
			return no("CANNOT", "%s", orText(msg, "refused by policy"))
		}
		return no("UNAVAILABLE", "%s", orText(msg, "try again later"))
	case mailerr.Unavailable, mailerr.DiskFull:
		return no("UNAVAILABLE", "%s", orText(msg, "temporarily unavailable"))
	}
	if mailerr.IsPermanent(err) {
		return no("SERVERBUG", "%s", msg)
	}
	return no("UNAVAILABLE", "%s", orText(msg, "temporary failure, try again"))
}

func orText(msg, def string) string {
	if msg == "" || msg == "internal error" || msg == mailerr.ReasonOf(errors.New("")).String() {
		return def
	}
	return msg
}

// sendStatus writes the tagged response.
func (ss *session) sendStatus(tag string, st *status) {
	if st.code != "" {
		ss.writef("%s %s [%s] %s\r\n", tag, st.kind, st.code, st.text)
	} else {
		ss.writef("%s %s %s\r\n", tag, st.kind, st.text)
	}
}
