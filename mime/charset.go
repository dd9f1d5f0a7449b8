package mime

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// UnknownCharsetError is returned for a charset that golang.org/x/text
// does not know.
type UnknownCharsetError struct{ Charset string }

func (e *UnknownCharsetError) Error() string {
	return fmt.Sprintf("mime: unknown charset %q", e.Charset)
}

// lookupCharset finds the decoder for a charset label. It returns a nil
// Encoding for the labels whose bytes are read as UTF-8 (utf-8 and
// us-ascii, whose 8-bit bytes in real mail are nearly always UTF-8).
func lookupCharset(label string) (encoding.Encoding, error) {
	name := strings.ToLower(strings.Trim(label, " \t\"'"))
	if i := strings.IndexByte(name, '*'); i >= 0 {
		name = name[:i] // RFC 2231 section 5 language suffix
	}
	switch name {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us",
		"unicode-1-1-utf-8", "x-unknown", "unknown-8bit", "unknown", "default", "8bit", "7bit":
		return nil, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		// WHATWG (htmlindex) reads Latin-1 as Windows-1252; so do we.
		return charmap.Windows1252, nil
	}
	if e, err := htmlindex.Get(name); err == nil {
		return e, nil
	}
	if e, err := ianaindex.MIME.Encoding(name); err == nil && e != nil {
		return e, nil
	}
	if e, err := ianaindex.IANA.Encoding(name); err == nil && e != nil {
		return e, nil
	}
	// Common misspellings: "iso8859-15", "win-1251", "cp-1252".
	fixed := strings.NewReplacer("iso8859", "iso-8859", "win-", "windows-", "cp-", "windows-", "cp125", "windows-125").Replace(name)
	if fixed != name {
		if e, err := htmlindex.Get(fixed); err == nil {
			return e, nil
		}
	}
	return nil, &UnknownCharsetError{Charset: label}
}

// NewCharsetReader returns a reader of r's text converted from charset
// to UTF-8. Invalid input becomes U+FFFD; the output is always valid
// UTF-8. An unknown charset returns an *UnknownCharsetError.
func NewCharsetReader(charset string, r io.Reader) (io.Reader, error) {
	e, err := lookupCharset(charset)
	if err != nil {
		return nil, err
	}
	return charsetReader(e, r), nil
}

// charsetReader converts r from e (nil: UTF-8) to UTF-8.
func charsetReader(e encoding.Encoding, r io.Reader) io.Reader {
	if e == nil {
		return &utf8Reader{r: r}
	}
	return newDecodeReader(r, e.NewDecoder())
}

// decodeCharset converts b from charset to UTF-8. With an unknown
// charset it falls back to fix8bit and reports false.
func decodeCharset(charset string, b []byte) (string, bool) {
	e, err := lookupCharset(charset)
	if err != nil {
		return fix8bit(string(b)), false
	}
	if e == nil {
		return fix8bit(string(b)), true
	}
	out, err := e.NewDecoder().Bytes(b)
	if err != nil {
		return fix8bit(string(b)), false
	}
	return string(out), true
}

// fix8bit returns s when it is UTF-8 (RFC 6532), else reads it as
// Windows-1252, the commonest charset of raw 8-bit headers.
func fix8bit(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

// utf8Reader passes UTF-8 through, replacing invalid bytes with U+FFFD.
// It reads straight into the caller's buffer and checks it there; only
// invalid input, which grows when replaced, goes through out.
type utf8Reader struct {
	r    io.Reader
	tail [utf8.UTFMax]byte // an incomplete rune held back from the last read
	nt   int
	out  []byte // replaced output not yet returned
	err  error
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if len(u.out) > 0 {
		n := copy(p, u.out)
		u.out = u.out[n:]
		return n, nil
	}
	if len(p) < 2*utf8.UTFMax {
		// Too small to hold back a rune in: go through out.
		var buf [64]byte
		n, err := u.Read(buf[:])
		u.out = append(u.out[:0], buf[:n]...)
		k := copy(p, u.out)
		u.out = u.out[k:]
		if k == 0 {
			return 0, err
		}
		return k, nil
	}
	for {
		if u.err != nil && u.nt == 0 {
			return 0, u.err
		}
		n := copy(p, u.tail[:u.nt])
		u.nt = 0
		m := 0
		if u.err == nil {
			m, u.err = u.r.Read(p[n:])
		}
		chunk := p[:n+m]
		cut := len(chunk)
		if u.err == nil {
			cut = completeRunes(chunk)
		}
		u.nt = copy(u.tail[:], chunk[cut:])
		chunk = chunk[:cut]
		if len(chunk) == 0 {
			continue
		}
		if utf8.Valid(chunk) {
			return len(chunk), nil
		}
		u.out = []byte(strings.ToValidUTF8(string(chunk), "\uFFFD"))
		k := copy(p, u.out)
		u.out = u.out[k:]
		return k, nil
	}
}

// completeRunes is the length of b without a trailing incomplete rune.
func completeRunes(b []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xC0 { // a leading byte: is its rune complete?
			if utf8.FullRune(b[len(b)-i:]) {
				return len(b)
			}
			return len(b) - i
		}
	}
	return len(b)
}
