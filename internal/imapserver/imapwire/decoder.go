package imapwire

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxDepth bounds the nesting of parenthesised lists and search keys.
const MaxDepth = 32

// SyntaxError is a command the server cannot parse; the session answers
// BAD with its text.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("syntax error at %d: %s", e.Pos, e.Msg) }

// Decoder walks a Line. Errors are sticky: after the first, every method
// returns a zero value and Err reports the first error, so a parser can
// chain calls and check once.
type Decoder struct {
	l   *Line
	pos int
	lit int
	err error
}

// NewDecoder decodes l from the start.
func NewDecoder(l *Line) *Decoder { return &Decoder{l: l} }

// Err returns the first error.
func (d *Decoder) Err() error { return d.err }

// Fail records a syntax error unless one is recorded already; it returns
// false so that parsers can write "return d.Fail(...)".
func (d *Decoder) Fail(format string, args ...any) bool {
	if d.err == nil {
		d.err = &SyntaxError{Pos: d.pos, Msg: fmt.Sprintf(format, args...)}
	}
	return false
}

// Peek returns the next byte, 0 at the end.
func (d *Decoder) Peek() byte {
	if d.err != nil || d.pos >= len(d.l.Text) {
		return 0
	}
	return d.l.Text[d.pos]
}

// AtEnd reports whether the text is consumed.
func (d *Decoder) AtEnd() bool { return d.err == nil && d.pos >= len(d.l.Text) }

// End requires the end of the command.
func (d *Decoder) End() bool {
	if d.err != nil {
		return false
	}
	if d.pos < len(d.l.Text) {
		return d.Fail("unexpected %q", d.rest(12))
	}
	return true
}

func (d *Decoder) rest(n int) string {
	r := d.l.Text[d.pos:]
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

// Byte consumes c if it is next and reports whether it was.
func (d *Decoder) Byte(c byte) bool {
	if d.Peek() == c && d.err == nil && d.pos < len(d.l.Text) {
		d.pos++
		return true
	}
	return false
}

// Expect consumes c or fails.
func (d *Decoder) Expect(c byte) bool {
	if d.Byte(c) {
		return true
	}
	return d.Fail("expected %q", c)
}

// SP consumes one space or fails.
func (d *Decoder) SP() bool { return d.Expect(' ') }

// Word consumes a case-insensitive keyword (e.g. "BODY.PEEK") if it is
// next, followed by a non-atom byte, and reports whether it was.
func (d *Decoder) Word(w string) bool {
	if d.err != nil || len(d.l.Text)-d.pos < len(w) {
		return false
	}
	if !strings.EqualFold(string(d.l.Text[d.pos:d.pos+len(w)]), w) {
		return false
	}
	d.pos += len(w)
	return true
}

// Atom reads 1*ATOM-CHAR.
func (d *Decoder) Atom() string {
	return d.run(isAtomChar, "atom")
}

// Keyword reads 1*(ALPHA / DIGIT / "." / "-"): a FETCH item or search
// key name, which may be followed directly by "[" or "<".
func (d *Decoder) Keyword() string {
	return d.run(func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '.' || c == '-'
	}, "keyword")
}

// run reads a run of bytes allowed by ok (at least one).
func (d *Decoder) run(ok func(byte) bool, what string) string {
	if d.err != nil {
		return ""
	}
	start := d.pos
	for d.pos < len(d.l.Text) && ok(d.l.Text[d.pos]) {
		d.pos++
	}
	if d.pos == start {
		d.Fail("expected %s", what)
		return ""
	}
	return string(d.l.Text[start:d.pos])
}

// Flag reads a flag: "\" atom or an atom (keyword); "\*" when star is
// allowed (PERMANENTFLAGS is server-only, so never here).
func (d *Decoder) Flag() string {
	if d.Byte('\\') {
		return "\\" + d.Atom()
	}
	return d.Atom()
}

// FlagList reads "(" [flag *(SP flag)] ")", or a single flag without
// parentheses when bare is true (STORE allows both).
func (d *Decoder) FlagList(bare bool) []string {
	if !d.Byte('(') {
		if bare {
			var fl []string
			for {
				fl = append(fl, d.Flag())
				if d.Peek() != ' ' || d.err != nil {
					return fl
				}
				save := d.pos
				d.pos++
				if c := d.Peek(); c != '\\' && !isAtomChar(c) {
					d.pos = save
					return fl
				}
			}
		}
		d.Fail("expected flag list")
		return nil
	}
	var fl []string
	for d.err == nil && !d.Byte(')') {
		if len(fl) > 0 {
			d.SP()
		}
		fl = append(fl, d.Flag())
		if len(fl) > 1000 {
			d.Fail("too many flags")
		}
	}
	return fl
}

// Number reads a 32-bit unsigned number.
func (d *Decoder) Number() uint32 {
	s := d.run(isDigit, "number")
	if d.err != nil {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		d.Fail("number out of range")
	}
	return uint32(v)
}

// Number64 reads a 63-bit unsigned number (mod-sequence values).
func (d *Decoder) Number64() uint64 {
	s := d.run(isDigit, "number")
	if d.err != nil {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		d.Fail("number out of range")
	}
	return v
}

// literal reads a literal at the current position, "{n}", "{n+}" or, when
// binary is true, "~{n}".
func (d *Decoder) literal() ([]byte, bool) {
	if d.err != nil {
		return nil, false
	}
	bin := d.Byte('~')
	if !d.Expect('{') {
		return nil, false
	}
	d.run(isDigit, "literal size")
	d.Byte('+')
	if !d.Expect('}') {
		return nil, false
	}
	if d.lit >= len(d.l.Literals) {
		d.Fail("literal missing")
		return nil, false
	}
	b := d.l.Literals[d.lit]
	d.lit++
	return b, bin
}

// String reads a quoted string or a literal. Literals may hold any octet
// except NUL; quoted strings no CR, LF or NUL.
func (d *Decoder) String() string {
	b, ok := d.StringBytes()
	if !ok {
		return ""
	}
	return string(b)
}

// StringBytes reads a quoted string or literal and reports whether one was
// there.
func (d *Decoder) StringBytes() ([]byte, bool) {
	switch d.Peek() {
	case '"':
		return d.quoted()
	case '{', '~':
		b, bin := d.literal()
		if d.err != nil {
			return nil, false
		}
		if bin {
			d.Fail("binary literal not allowed here")
			return nil, false
		}
		return b, true
	}
	d.Fail("expected string")
	return nil, false
}

// Literal8 reads a literal, binary or not, for APPEND (RFC 3516 §4.4).
func (d *Decoder) Literal8() (b []byte, binary bool) {
	if c := d.Peek(); c != '{' && c != '~' {
		d.Fail("expected literal")
		return nil, false
	}
	return d.literal()
}

func (d *Decoder) quoted() ([]byte, bool) {
	d.pos++ // opening quote
	var out []byte
	for d.pos < len(d.l.Text) {
		c := d.l.Text[d.pos]
		d.pos++
		switch c {
		case '"':
			return out, true
		case '\\':
			if d.pos >= len(d.l.Text) {
				break
			}
			c = d.l.Text[d.pos]
			if c != '"' && c != '\\' {
				d.Fail("bad escape in quoted string")
				return nil, false
			}
			d.pos++
		case 0, '\r', '\n':
			d.Fail("bad octet in quoted string")
			return nil, false
		}
		out = append(out, c)
	}
	d.Fail("unterminated quoted string")
	return nil, false
}

// AString reads an atom (with "]" allowed), a quoted string or a literal.
func (d *Decoder) AString() string {
	switch d.Peek() {
	case '"', '{', '~':
		return d.String()
	}
	return d.run(isAStringChar, "astring")
}

// NString reads a string or NIL; ok is false for NIL.
func (d *Decoder) NString() (s string, ok bool) {
	if d.Word("NIL") {
		return "", false
	}
	return d.String(), true
}

// ListMailbox reads the mailbox pattern of LIST: list-char atoms (with
// "%" and "*") or a string.
func (d *Decoder) ListMailbox() string {
	switch d.Peek() {
	case '"', '{', '~':
		return d.String()
	}
	return d.run(func(c byte) bool { return isAStringChar(c) || c == '%' || c == '*' }, "mailbox pattern")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isAtomChar: any CHAR except atom-specials: "(" ")" "{" SP CTL
// list-wildcards quoted-specials resp-specials ("]").
func isAtomChar(c byte) bool {
	if c <= 0x20 || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAStringChar is ATOM-CHAR or resp-specials ("]").
func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }
