package pop3client

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Response is a POP3 status line (RFC 1939 §3): +OK or -ERR, with the
// response code of RFC 2449 §8 split off when there is one.
type Response struct {
	OK   bool
	Code string // upper case, without brackets ("AUTH", "SYS/TEMP"); "" for none
	Text string // the rest of the line, control characters replaced by '?'
}

// String renders the response as the server sent it (safely).
func (r Response) String() string {
	s := "-ERR"
	if r.OK {
		s = "+OK"
	}
	if r.Code != "" {
		s += " [" + r.Code + "]"
	}
	if r.Text != "" {
		s += " " + r.Text
	}
	return s
}

// ErrMalformed reports a line that is not what RFC 1939 allows where it
// stands; the dialogue cannot continue after it.
var ErrMalformed = errors.New("pop3: malformed response")

// maxCodeLen bounds a response code: RFC 2449 codes are short atoms with
// slashes ("SYS/TEMP"); a longer bracket is text, not a code.
const maxCodeLen = 40

// ParseResponse parses a status line without its line ending. The status
// indicators are matched without regard to case, as some servers send
// "+ok"; anything else is ErrMalformed.
func ParseResponse(line []byte) (Response, error) {
	var r Response
	var rest []byte
	switch {
	case hasPrefixFold(line, "+OK"):
		r.OK, rest = true, line[3:]
	case hasPrefixFold(line, "-ERR"):
		rest = line[4:]
	default:
		return Response{}, fmt.Errorf("%w: %q", ErrMalformed, clip(line))
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' {
		return Response{}, fmt.Errorf("%w: %q", ErrMalformed, clip(line))
	}
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) > 1 && rest[0] == '[' {
		if end := bytes.IndexByte(rest, ']'); end > 1 && end <= maxCodeLen && validCode(rest[1:end]) {
			r.Code = strings.ToUpper(string(rest[1:end]))
			rest = bytes.TrimLeft(rest[end+1:], " \t")
		}
	}
	r.Text = safeText(rest)
	return r, nil
}

// validCode reports whether b is a response code: atoms separated by '/'
// (RFC 2449 §3: resp-code = "[" resp-level *("/" resp-level) "]").
func validCode(b []byte) bool {
	for i, c := range b {
		switch {
		case c == '/' && i > 0 && i < len(b)-1 && b[i-1] != '/':
		case c > ' ' && c < 0x7f && c != '[' && c != ']' && c != '/':
		default:
			return false
		}
	}
	return true
}

// safeText makes server text safe to print on a terminal.
func safeText(b []byte) string {
	b = bytes.TrimRight(b, " \t")
	out := make([]byte, len(b))
	for i, c := range b {
		if c < ' ' || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

// clip returns at most 80 bytes of b for an error message.
func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// maxUIDLen bounds a unique-id: RFC 1939 §7 allows 1 to 70 characters;
// some servers send longer ones, so a little slack is kept.
const maxUIDLen = 255

// parseScanListing parses "msg-number size" from a LIST response or
// "msg-number unique-id" from a UIDL response (RFC 1939 §5, §7); the
// second field is returned as text. Servers may add fields after the
// first two (§5 allows it for LIST); they are ignored.
func parseScanListing(line []byte) (int, string, error) {
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0, "", fmt.Errorf("%w: listing %q", ErrMalformed, clip(line))
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 {
		return 0, "", fmt.Errorf("%w: message number in %q", ErrMalformed, clip(line))
	}
	return n, f[1], nil
}

// parseList parses one line of a LIST response.
func parseList(line []byte) (int, int64, error) {
	n, s, err := parseScanListing(line)
	if err != nil {
		return 0, 0, err
	}
	size, err := strconv.ParseInt(s, 10, 64)
	if err != nil || size < 0 {
		return 0, 0, fmt.Errorf("%w: size in %q", ErrMalformed, clip(line))
	}
	return n, size, nil
}

// parseUIDL parses one line of a UIDL response. A unique-id consists of
// characters 0x21 to 0x7E (RFC 1939 §7).
func parseUIDL(line []byte) (int, string, error) {
	n, uid, err := parseScanListing(line)
	if err != nil {
		return 0, "", err
	}
	if len(uid) > maxUIDLen {
		return 0, "", fmt.Errorf("%w: unique-id longer than %d octets", ErrMalformed, maxUIDLen)
	}
	for i := 0; i < len(uid); i++ {
		if uid[i] < 0x21 || uid[i] > 0x7e {
			return 0, "", fmt.Errorf("%w: unique-id with octet %#x", ErrMalformed, uid[i])
		}
	}
	return n, uid, nil
}

// parseStat parses the text of a STAT response: "nn mm" (RFC 1939 §5).
func parseStat(text string) (int, int64, error) {
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%w: STAT %q", ErrMalformed, text)
	}
	n, err1 := strconv.Atoi(f[0])
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || n < 0 || size < 0 {
		return 0, 0, fmt.Errorf("%w: STAT %q", ErrMalformed, text)
	}
	return n, size, nil
}

// Capabilities are the server's answer to CAPA (RFC 2449 §5): upper-case
// capability names and their arguments.
type Capabilities map[string][]string

// Has reports whether the capability is listed.
func (c Capabilities) Has(name string) bool {
	_, ok := c[strings.ToUpper(name)]
	return ok
}

// HasSASL reports whether the SASL capability lists mechanism mech.
func (c Capabilities) HasSASL(mech string) bool {
	for _, m := range c["SASL"] {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// parseCapa adds one CAPA line to c.
func (c Capabilities) parseCapa(line []byte) {
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return
	}
	c[strings.ToUpper(f[0])] = f[1:]
}
