package mime

import (
	"bytes"
	"encoding/base64"
	"io"
)

// Transfer encodings the builder chooses between.
const (
	Enc7bit            = "7bit"
	EncQuotedPrintable = "quoted-printable"
	EncBase64          = "base64"
)

// ChooseEncoding picks the Content-Transfer-Encoding for a body that
// must travel over 7-bit SMTP: 7bit when every byte is ASCII (no NUL),
// every line break is CRLF and no line exceeds 78 characters; else, for
// text, quoted-printable when at most a sixth of the bytes need
// escaping; else base64. text is true for text/* bodies whose line
// breaks may be encoded as line breaks.
func ChooseEncoding(b []byte, text bool) string {
	unsafe, lineLen, sevenBit := 0, 0, true
	for i, c := range b {
		switch {
		case c == '\n':
			if i == 0 || b[i-1] != '\r' {
				sevenBit = false
			}
			lineLen = 0
			continue
		case c == '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				sevenBit = false
			}
			continue
		case c == 0 || c >= 0x80:
			sevenBit = false
			unsafe++
		case c < ' ' && c != '\t':
			unsafe++
		}
		lineLen++
		if lineLen > 78 {
			sevenBit = false
		}
	}
	switch {
	case sevenBit:
		return Enc7bit
	case text && unsafe <= len(b)/6:
		return EncQuotedPrintable
	default:
		return EncBase64
	}
}

// appendQP encodes text whose line breaks are CRLF as quoted-printable
// (RFC 2045 section 6.7) with encoded lines of at most 76 characters.
// Bare CR and LF bytes are escaped, so decoding gives b back exactly.
func appendQP(out, b []byte) []byte {
	lineLen := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			out = append(out, '\r', '\n')
			i++
			lineLen = 0
			continue
		}
		lit := c >= '!' && c <= '~' && c != '='
		if c == ' ' || c == '\t' {
			// White space stays literal unless it ends a line (rule 3).
			end := i+1 == len(b) || (b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n')
			lit = !end
		}
		if c == '.' && lineLen == 0 || c == 'F' && lineLen == 0 && bytes.HasPrefix(b[i:], []byte("From ")) {
			lit = false // safe through dot-stuffing and mbox
		}
		n := 1
		if !lit {
			n = 3
		}
		if lineLen+n > 75 {
			out = append(out, '=', '\r', '\n')
			lineLen = 0
		}
		if lit {
			out = append(out, c)
		} else {
			out = append(out, '=', upperHex[c>>4], upperHex[c&15])
		}
		lineLen += n
	}
	return out
}

// base64Lines is an io.WriteCloser that writes base64 in lines of 76
// characters ended by CRLF (RFC 2045 section 6.8).
type base64Lines struct {
	w       io.Writer
	pending []byte // input not yet a whole line's worth
	line    [78]byte
	err     error
}

const b64LineIn = 57 // input bytes of one 76-character line

func (b *base64Lines) Write(p []byte) (int, error) {
	n := len(p)
	for b.err == nil && len(p) > 0 {
		if len(b.pending) == 0 && len(p) >= b64LineIn {
			b.emit(p[:b64LineIn])
			p = p[b64LineIn:]
			continue
		}
		k := min(b64LineIn-len(b.pending), len(p))
		b.pending = append(b.pending, p[:k]...)
		p = p[k:]
		if len(b.pending) == b64LineIn {
			b.emit(b.pending)
			b.pending = b.pending[:0]
		}
	}
	return n, b.err
}

func (b *base64Lines) emit(in []byte) {
	n := base64.StdEncoding.EncodedLen(len(in))
	base64.StdEncoding.Encode(b.line[:], in)
	b.line[n], b.line[n+1] = '\r', '\n'
	_, b.err = b.w.Write(b.line[:n+2])
}

// Close writes the last, short line.
func (b *base64Lines) Close() error {
	if b.err == nil && len(b.pending) > 0 {
		b.emit(b.pending)
		b.pending = b.pending[:0]
	}
	return b.err
}
