package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Line limits of RFC 5321 §4.5.3.1.4 and the extensions that raise them.
const (
	// MaxCommandLine is a command line including its CRLF.
	MaxCommandLine = 512
	// MailExtra is what RFC 3461 §4 (RET, ENVID: +100) and RFC 4954 §5
	// (AUTH=: +500) add to a MAIL command line.
	MailExtra = 100 + 500
	// RcptExtra is what RFC 3461 §4 adds to a RCPT command line: 500 for
	// each of NOTIFY and ORCPT.
	RcptExtra = 500 + 500
	// MaxAuthLine bounds an AUTH command with an initial response and each
	// SASL response line (RFC 4954 §4: 12288 octets).
	MaxAuthLine = 12288
)

// ErrLineTooLong reports a line over the limit. The rest of the line has
// been read and thrown away, so the reader is at the start of the next
// line and the session stays in step.
var ErrLineTooLong = errors.New("smtp: line too long")

// LineReader reads CRLF-terminated command lines from a bufio.Reader. A
// bare LF also ends a line (sloppy clients exist); a bare CR does not.
// Lines that fit in the bufio.Reader's buffer are returned without a copy;
// longer ones are gathered in a scratch buffer that is dropped again when
// it grew large, so an idle session does not keep it.
type LineReader struct {
	R       *bufio.Reader
	scratch []byte
}

// scratchKeep is the largest scratch buffer kept between lines.
const scratchKeep = 1024

// ReadLine returns the next line without its line ending. limit counts the
// line including its CRLF. The returned slice is valid only until the
// next read from R. Over the limit it discards up to the end of the line
// and returns ErrLineTooLong; read errors (EOF, timeouts) are returned as
// they are, with io.EOF meaning the peer closed between lines.
func (l *LineReader) ReadLine(limit int) ([]byte, error) {
	if cap(l.scratch) > scratchKeep {
		l.scratch = nil
	}
	buf := l.scratch[:0]
	gathered := false
	for {
		chunk, err := l.R.ReadSlice('\n')
		if len(buf)+len(chunk) > limit {
			if err == nil || errors.Is(err, bufio.ErrBufferFull) {
				return nil, l.discardLine(err == nil)
			}
			return nil, err
		}
		if err == nil && !gathered {
			return trimEOL(chunk), nil
		}
		buf = append(buf, chunk...)
		gathered = true
		if err == nil {
			l.scratch = buf
			return trimEOL(buf), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > 0 && errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// discardLine reads and drops input up to and including the next LF.
// done says the LF has already been consumed.
func (l *LineReader) discardLine(done bool) error {
	for !done {
		_, err := l.R.ReadSlice('\n')
		switch {
		case err == nil:
			done = true
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return err
		}
	}
	return ErrLineTooLong
}

// trimEOL removes a trailing LF and one CR before it.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
