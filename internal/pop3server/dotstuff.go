package pop3server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// dotStuffer writes a message as a POP3 multi-line response body (RFC
// 1939 §3): a line that starts with "." gets another, every line ends in
// CRLF (a bare LF becomes CRLF, so no client can see a line end the
// terminator does not match), and with a line limit it stops after the
// header, the blank line and that many body lines (TOP).
type dotStuffer struct {
	dst       *bufio.Writer
	bodyLines int64 // < 0: no limit
	inBody    bool  // the blank line after the header was written
	lineStart bool  // the next byte starts a line
	lineLen   int64 // octets of the current line so far
	prevCR    bool  // the last octet written was CR
}

func newDotStuffer(dst *bufio.Writer, bodyLines int64) *dotStuffer {
	return &dotStuffer{dst: dst, bodyLines: bodyLines, lineStart: true}
}

// done reports whether a TOP limit has been reached.
func (d *dotStuffer) done() bool {
	return d.bodyLines >= 0 && d.inBody && d.bodyLines == 0 && d.lineStart
}

// write stuffs p; it stops early, without error, once done.
func (d *dotStuffer) write(p []byte) error {
	for len(p) > 0 {
		if d.lineStart {
			if d.done() {
				return nil
			}
			if p[0] == '.' {
				if err := d.dst.WriteByte('.'); err != nil {
					return err
				}
			}
			d.lineStart = false
		}
		j := bytes.IndexByte(p, '\n')
		if j < 0 {
			if _, err := d.dst.Write(p); err != nil {
				return err
			}
			d.lineLen += int64(len(p))
			d.prevCR = p[len(p)-1] == '\r'
			return nil
		}
		if _, err := d.dst.Write(p[:j]); err != nil {
			return err
		}
		cr := d.prevCR
		if j > 0 {
			cr = p[j-1] == '\r'
		}
		if !cr {
			d.dst.WriteByte('\r')
		}
		if err := d.dst.WriteByte('\n'); err != nil {
			return err
		}
		d.lineLen += int64(j)
		blank := d.lineLen == 0 || (d.lineLen == 1 && cr)
		d.lineLen, d.prevCR, d.lineStart = 0, false, true
		if d.bodyLines >= 0 {
			if d.inBody {
				d.bodyLines--
			} else if blank {
				d.inBody = true
			}
		}
		p = p[j+1:]
	}
	return nil
}

// close ends the last line if the message did not.
func (d *dotStuffer) close() error {
	if d.lineStart {
		return nil
	}
	d.lineStart = true
	if d.prevCR {
		return d.dst.WriteByte('\n')
	}
	_, err := d.dst.WriteString("\r\n")
	return err
}

// copyMessage streams src into dst dot-stuffed, reading through buf, and
// returns the octets read from src. With bodyLines >= 0 it stops reading
// once the header and that many body lines are written. The terminating
// "." line is the caller's.
func copyMessage(dst *bufio.Writer, src io.Reader, buf []byte, bodyLines int64) (int64, error) {
	d := newDotStuffer(dst, bodyLines)
	var read int64
	for !d.done() {
		n, err := src.Read(buf)
		read += int64(n)
		if werr := d.write(buf[:n]); werr != nil {
			return read, werr
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return read, err
		}
	}
	return read, d.close()
}
