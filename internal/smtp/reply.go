package smtp

import (
	"io"
	"strconv"
)

// Reply is one SMTP reply: a code, an optional enhanced status code
// (RFC 3463) and one or more text lines. A reply with several lines is
// sent as a multi-line reply (RFC 5321 §4.2.1): every line but the last
// has a hyphen after the code.
type Reply struct {
	Code     int
	Enhanced string // "" for none; RFC 2034 puts it before the text of every line
	Lines    []string
}

// AppendTo appends the reply in wire form to b. Text that contains CR or
// LF is cut there so that no caller can inject a second reply; a reply
// without lines is sent with the code (and enhanced code) alone.
func (r Reply) AppendTo(b []byte) []byte {
	code := r.Code
	if code < 200 || code > 599 {
		// Never emit a malformed reply: an unknown code is a local error.
		code = C451LocalError
	}
	n := len(r.Lines)
	if n == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		b = strconv.AppendInt(b, int64(code), 10)
		if i < n-1 {
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		text := ""
		if i < len(r.Lines) {
			text = r.Lines[i]
		}
		if r.Enhanced != "" {
			b = append(b, r.Enhanced...)
			if text != "" {
				b = append(b, ' ')
			}
		}
		b = appendSafeText(b, text)
		if r.Enhanced == "" && len(r.Lines) == 0 {
			// No text at all: the code alone (RFC 5321 §4.2: the SP and
			// text are optional). An empty line of text keeps the SP, as
			// RFC 4954's empty "334 " challenge needs.
			b = b[:len(b)-1]
		}
		b = append(b, '\r', '\n')
	}
	return b
}

// appendSafeText appends text up to its first CR or LF, replacing other
// control characters with '?'.
func appendSafeText(b []byte, text string) []byte {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\r' || c == '\n':
			return b
		case c < ' ' || c == 0x7f:
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return b
}

// WriteTo writes the reply to w in one Write call.
func (r Reply) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.AppendTo(make([]byte, 0, 64)))
	return int64(n), err
}

// String returns the wire form, CRLFs included.
func (r Reply) String() string { return string(r.AppendTo(nil)) }

// Positive reports whether the reply is a 2xx or 3xx reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }
