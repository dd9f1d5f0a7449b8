package pop3client

import (
	"fmt"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Error is a -ERR response to a command: the command's verb and the
// server's reply, as the user should see them.
type Error struct {
	Command  string // "RETR 3", "PASS" (a password is never included)
	Response Response
}

func (e *Error) Error() string {
	return fmt.Sprintf("server refused %s: %s", e.Command, e.Response)
}

// classify wraps a -ERR response in the mailerr class its response code
// (RFC 2449 §8, RFC 3206) implies. A refused login is permanent unless
// the server said it is temporary: retrying a wrong password does not help.
func classify(e *Error, login bool) error {
	msg := "POP3 command failed"
	if login {
		msg = "POP3 login failed"
	}
	switch e.Response.Code {
	case "IN-USE":
		return mailerr.Temporary(mailerr.InUse, msg, e)
	case "SYS/TEMP", "LOGIN-DELAY":
		return mailerr.Temporary(mailerr.Unavailable, msg, e)
	case "SYS/PERM":
		return mailerr.Permanent(mailerr.Unknown, msg, e)
	case "AUTH":
		return mailerr.Permanent(mailerr.AuthFailed, msg, e)
	}
	if login {
		return mailerr.Permanent(mailerr.AuthFailed, msg, e)
	}
	return mailerr.Permanent(mailerr.BadInput, msg, e)
}

// netError wraps a failure of the connection: temporary, as a retry may
// find the network or the server back.
func netError(op string, err error) error {
	return mailerr.Temporary(mailerr.Unavailable, "POP3 "+op, err)
}
