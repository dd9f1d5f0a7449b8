package pop3server

import (
	"math"
	"strconv"
	"strings"
)

// command is one POP3 verb: the states it is valid in and its handler.
// A handler writes its own reply; an error it returns ends the session.
type command struct {
	states state
	fn     func(ss *session, arg string) error
}

// lookupCommand is the table of commands by state: RFC 1939 §§4-6,
// CAPA (RFC 2449 §5), STLS (RFC 2595 §4), AUTH (RFC 5034 §4).
func lookupCommand(verb string) (command, bool) {
	const auth, trans = stateAuthorization, stateTransaction
	switch verb {
	case "CAPA":
		return command{auth | trans, (*session).cmdCapa}, true
	case "QUIT":
		return command{auth | trans, (*session).cmdQuit}, true
	case "USER":
		return command{auth, (*session).cmdUser}, true
	case "PASS":
		return command{auth, (*session).cmdPass}, true
	case "AUTH":
		return command{auth, (*session).cmdAuth}, true
	case "STLS":
		return command{auth, (*session).cmdStls}, true
	case "STAT":
		return command{trans, (*session).cmdStat}, true
	case "LIST":
		return command{trans, (*session).cmdList}, true
	case "RETR":
		return command{trans, (*session).cmdRetr}, true
	case "DELE":
		return command{trans, (*session).cmdDele}, true
	case "NOOP":
		return command{trans, (*session).cmdNoop}, true
	case "RSET":
		return command{trans, (*session).cmdRset}, true
	case "TOP":
		return command{trans, (*session).cmdTop}, true
	case "UIDL":
		return command{trans, (*session).cmdUidl}, true
	}
	return command{}, false
}

// maxVerb is longer than any keyword (RFC 1939 §3: three or four
// characters); a longer first word is unknown without being upper-cased.
const maxVerb = 8

// parseCommand splits a line into its upper-cased keyword and the rest
// after the single space that follows it (RFC 1939 §3). The rest is kept
// as sent: PASS may contain spaces.
func parseCommand(line []byte) (verb, arg string) {
	v, a, _ := strings.Cut(string(line), " ")
	if len(v) > maxVerb {
		return "", a
	}
	return strings.ToUpper(v), a
}

// noArgs reports whether a command that takes no argument got none;
// trailing blanks are tolerated.
func noArgs(arg string) bool { return strings.TrimSpace(arg) == "" }

// parseNumber parses a non-negative decimal number of digits only (no
// sign, no blanks). A number too large for int64 saturates at MaxInt64,
// so "TOP 1 99999999999999999999" means the whole body.
func parseNumber(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64, true // digits only: the error is range
	}
	return n, true
}

// message resolves a message-number argument to a 0-based index of a
// message not marked deleted, or replies -ERR and returns false.
func (ss *session) message(arg string) (int, bool) {
	n, ok := parseNumber(arg)
	switch {
	case !ok:
		ss.fail("invalid message number")
		return 0, false
	case n < 1 || n > int64(len(ss.msgs)):
		ss.fail("no such message")
		return 0, false
	case ss.deleted[n-1]:
		ss.fail("message " + strconv.FormatInt(n, 10) + " already deleted")
		return 0, false
	}
	return int(n - 1), true
}
