package imapwire

import (
	"strconv"
	"unicode/utf8"
)

// maxQuoted is the longest string sent quoted; longer ones go as literals
// so that a response line stays short.
const maxQuoted = 1024

// AppendString appends s as a quoted string when it can be one, else as a
// literal. utf8 says whether the client accepts UTF-8 in quoted strings
// (IMAP4rev2 or UTF8=ACCEPT enabled); without it 8-bit text goes as a
// literal.
func AppendString(b []byte, s string, utf8OK bool) []byte {
	if canQuote(s, utf8OK) {
		return appendQuoted(b, s)
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// AppendNString appends s, or NIL when s is empty and nilIfEmpty.
func AppendNString(b []byte, s string, utf8OK bool) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return AppendString(b, s, utf8OK)
}

// AppendAString appends s as an atom when it is one, else as a string.
func AppendAString(b []byte, s string, utf8OK bool) []byte {
	if s != "" && len(s) < maxQuoted && !(len(s) == 3 && (s[0]|0x20) == 'n' && (s[1]|0x20) == 'i' && (s[2]|0x20) == 'l') {
		atom := true
		for i := 0; i < len(s); i++ {
			if !isAStringChar(s[i]) {
				atom = false
				break
			}
		}
		if atom {
			return append(b, s...)
		}
	}
	return AppendString(b, s, utf8OK)
}

func canQuote(s string, utf8OK bool) bool {
	if len(s) > maxQuoted {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' {
			return false
		}
		if c >= 0x80 && !utf8OK {
			return false
		}
	}
	return !utf8OK || utf8.ValidString(s)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
