package smtp

import (
	"errors"
	"strings"
)

var errXtext = errors.New("smtp: malformed xtext")

// DecodeXtext decodes xtext (RFC 3461 §4): printable ASCII except "+" and
// "=", with "+XX" (two hex digits) for any other octet. Lower-case hex is
// tolerated; UTF-8 octets are passed through for RFC 6533 senders.
func DecodeXtext(s string) (string, error) {
	if strings.IndexByte(s, '+') < 0 {
		for i := 0; i < len(s); i++ {
			if !xchar(s[i]) {
				return "", errXtext
			}
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) {
				return "", errXtext
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errXtext
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		case xchar(c):
			b.WriteByte(c)
		default:
			return "", errXtext
		}
	}
	return b.String(), nil
}

// EncodeXtext encodes s as xtext, escaping "+", "=", controls, space and
// non-ASCII octets.
func EncodeXtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if xchar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('+')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// xchar is an octet that xtext carries as itself; octets >= 0x80 pass
// through (UTF-8 in RFC 6533's utf-8-addr-xtext).
func xchar(c byte) bool { return c >= 33 && c <= 126 && c != '+' && c != '=' || c >= 0x80 }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
