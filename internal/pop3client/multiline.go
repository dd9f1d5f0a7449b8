package pop3client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrTooLong reports a line or message over its limit.
var ErrTooLong = errors.New("pop3: response over the limit")

// readLine reads one line and returns it without its line ending (CRLF,
// or a bare LF from sloppy servers). The slice is valid until the next
// read. A line longer than max is an error: the dialogue is out of step.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > max:
		return nil, fmt.Errorf("%w: line longer than %d octets", ErrTooLong, max)
	case errors.Is(err, io.EOF) && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// dotReader reads the body of a multi-line response (RFC 1939 §3): it
// removes the byte-stuffed dot at the start of a line and ends at the
// line that is a lone dot, which it consumes. Line endings are passed on
// as the server sent them. At most max octets are read.
type dotReader struct {
	br      *bufio.Reader
	max     int64
	n       int64
	bol     bool // at the start of a line
	done    bool
	err     error
	pending []byte
}

func newDotReader(br *bufio.Reader, max int64) *dotReader {
	return &dotReader{br: br, max: max, bol: true}
}

func (d *dotReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		d.err = d.fill()
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// fill reads the next piece of a line into pending, or finds the end.
func (d *dotReader) fill() error {
	if d.bol {
		b, err := d.br.Peek(1)
		if err != nil {
			return unexpected(err)
		}
		if b[0] == '.' {
			if end, err := d.atTerminator(); err != nil || end {
				return err
			}
			d.br.Discard(1) // the stuffed dot
		}
	}
	chunk, err := d.br.ReadSlice('\n')
	switch {
	case err == nil:
		d.bol = true
	case errors.Is(err, bufio.ErrBufferFull):
		d.bol = false
	default:
		return unexpected(err)
	}
	d.n += int64(len(chunk))
	if d.n > d.max {
		return fmt.Errorf("%w: more than %d octets", ErrTooLong, d.max)
	}
	d.pending = chunk
	return nil
}

// atTerminator reports (and consumes) the end line "." CRLF, or "." LF.
func (d *dotReader) atTerminator() (bool, error) {
	b, err := d.br.Peek(2)
	if err != nil {
		return false, unexpected(err)
	}
	if b[1] == '\n' {
		d.br.Discard(2)
		d.done = true
		return true, nil
	}
	if b[1] != '\r' {
		return false, nil
	}
	b, err = d.br.Peek(3)
	if err != nil {
		return false, unexpected(err)
	}
	if b[2] == '\n' {
		d.br.Discard(3)
		d.done = true
		return true, nil
	}
	return false, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLines calls fn for each line of a multi-line response body, at most
// maxLines of them, each within maxLine octets.
func readLines(br *bufio.Reader, maxLine, maxLines int, fn func(line []byte) error) error {
	for i := 0; ; i++ {
		line, err := readLine(br, maxLine)
		if err != nil {
			return err
		}
		if len(line) == 1 && line[0] == '.' {
			return nil
		}
		if i >= maxLines {
			return fmt.Errorf("%w: more than %d lines", ErrTooLong, maxLines)
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}
