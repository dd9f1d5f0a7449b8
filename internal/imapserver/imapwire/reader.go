package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits bound what one command may cost.
type Limits struct {
	MaxLine    int   // octets in one line of text, CRLF excluded
	MaxLiteral int64 // octets in one literal
	MaxCommand int64 // octets of text and literals in one command
	MaxLits    int   // literals in one command
}

// DefaultLimits are generous for every real client and small enough that a
// hostile one cannot exhaust memory.
var DefaultLimits = Limits{MaxLine: 64 << 10, MaxLiteral: 64 << 20, MaxCommand: 65 << 20, MaxLits: 1000}

// Line is one complete command: the text with literal markers kept in it,
// and the literals' contents in order.
type Line struct {
	Text     []byte
	Literals [][]byte
}

// ErrLineTooLong reports a line over Limits.MaxLine; the rest of the line
// was discarded, so the session may answer BAD and go on. The error is a
// *LineTooLongError that matches it with errors.Is.
var ErrLineTooLong = errors.New("imapwire: line too long")

// LineTooLongError carries the tag of an over-long command, "*" if none.
type LineTooLongError struct{ Tag string }

func (e *LineTooLongError) Error() string { return ErrLineTooLong.Error() }

// Is makes errors.Is(err, ErrLineTooLong) hold.
func (e *LineTooLongError) Is(target error) bool { return target == ErrLineTooLong }

// LiteralError reports a literal the server will not take. For a
// synchronizing literal nothing was sent yet and the client waits for a
// continuation, so the session answers NO [TOOBIG] and goes on. For a
// non-synchronizing one the octets follow at once; the session must close.
type LiteralError struct {
	Tag  string
	Size int64
	Sync bool
}

func (e *LiteralError) Error() string {
	return fmt.Sprintf("imapwire: literal of %d octets over the limit", e.Size)
}

// Reader reads commands from a client.
type Reader struct {
	br  *bufio.Reader
	lim Limits
}

// NewReader reads commands from br under lim.
func NewReader(br *bufio.Reader, lim Limits) *Reader {
	if lim.MaxLine <= 0 {
		lim.MaxLine = DefaultLimits.MaxLine
	}
	if lim.MaxLiteral <= 0 {
		lim.MaxLiteral = DefaultLimits.MaxLiteral
	}
	if lim.MaxCommand <= 0 {
		lim.MaxCommand = DefaultLimits.MaxCommand
	}
	if lim.MaxLits <= 0 {
		lim.MaxLits = DefaultLimits.MaxLits
	}
	return &Reader{br: br, lim: lim}
}

// ReadLine reads one line of at most MaxLine octets without its CRLF (a
// bare LF is accepted as the end too). An over-long line is read to its end
// and discarded, and ErrLineTooLong returned.
func (r *Reader) ReadLine() ([]byte, error) {
	var buf []byte
	tooLong := false
	tag := ""
	for {
		frag, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > r.lim.MaxLine+2 {
				tooLong = true
				tag = tagOf(append(buf, frag[:min(len(frag), 100)]...))
				buf = nil
			} else {
				buf = append(buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		break
	}
	if tooLong {
		return nil, &LineTooLongError{Tag: tag}
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, nil
}

// ReadCommand reads one command. When a line ends in a synchronizing
// literal marker it calls cont, which must send the "+" continuation, and
// then reads the literal.
func (r *Reader) ReadCommand(cont func() error) (*Line, error) {
	l := &Line{}
	total := int64(0)
	for {
		text, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		if len(l.Text)+len(text) > r.lim.MaxLine*4 {
			// Text pieces between literals add up; a long chain of tiny
			// literals must not grow the text without bound.
			return nil, &LineTooLongError{Tag: tagOf(l.Text)}
		}
		l.Text = append(l.Text, text...)
		total += int64(len(text))
		n, sync, ok := literalMarker(text)
		if !ok {
			return l, nil
		}
		if n > r.lim.MaxLiteral || total+n > r.lim.MaxCommand || len(l.Literals) >= r.lim.MaxLits {
			return nil, &LiteralError{Tag: tagOf(l.Text), Size: n, Sync: sync}
		}
		if sync {
			if err := cont(); err != nil {
				return nil, err
			}
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(r.br, lit); err != nil {
			return nil, err
		}
		total += n
		l.Literals = append(l.Literals, lit)
	}
}

// literalMarker reports whether line ends in "{n}", "{n+}" or "~{n}" and
// the size and whether it is synchronizing.
func literalMarker(line []byte) (n int64, sync bool, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	digits := line[i+1 : len(line)-1]
	sync = true
	if len(digits) > 0 && digits[len(digits)-1] == '+' {
		digits = digits[:len(digits)-1]
		sync = false
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false, false
	}
	v, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil || v < 0 {
		return 0, false, false
	}
	return v, sync, true
}

// tagOf returns the first word of a command, for error replies.
func tagOf(text []byte) string {
	if i := bytes.IndexByte(text, ' '); i >= 0 {
		text = text[:i]
	}
	if !ValidTag(text) {
		return "*"
	}
	return string(text)
}

// TagOf returns the tag of a command line, or "*" when it has none.
func TagOf(text []byte) string { return tagOf(text) }

// ValidTag reports whether t is a tag: 1*<any ASTRING-CHAR except "+">.
func ValidTag(t []byte) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if c == '+' || !isAStringChar(c) {
			return false
		}
	}
	return true
}
