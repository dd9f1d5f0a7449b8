package mime

import (
	"bytes"
	"io"
)

// qpReader decodes a quoted-printable body (RFC 2045 section 6.7) as it
// streams. It is lenient: lower-case hex is accepted, an "=" that starts
// no escape stands for itself, trailing white space is dropped (rule 3),
// and line breaks are kept as the body has them (CRLF or LF). Memory is
// bounded: a run of white space longer than the read buffer (4 KiB for
// a body of unknown or more than 256 bytes) is kept even when a line
// break follows, where rule 3 would drop it.
type qpReader struct {
	src  io.Reader
	in   []byte // input: carry from the last read followed by new bytes
	keep int    // bytes of in carried over (an unfinished line)
	out  []byte
	// pooled is the buffer in and out are the halves of, when it came
	// from bufPool.
	pooled *[]byte
	pos    int
	err    error
	bad    bool // an "=" not followed by two hex digits
}

func newQPReader(r io.Reader, size int64) *qpReader {
	q := &qpReader{src: r}
	var buf []byte
	buf, q.pooled = bodyBuf(2*min(size, smallBody) + 1) // twice: in and out
	q.in, q.out = halves(buf)
	return q
}

// release gives the buffers back to the pool and drops what is not
// read yet; after it, Read returns q.err. (Decoded output never
// outgrows out, as quoted-printable only shrinks; were it to, append
// would move it out of the pooled buffer rather than write past it.)
func (q *qpReader) release() {
	putBuf(q.pooled)
	q.in, q.out, q.pooled, q.pos, q.keep = nil, nil, nil, 0, 0
}

// close releases the buffers; Read returns an error after it.
func (q *qpReader) close() {
	q.release()
	if q.err == nil {
		q.err = errClosed
	}
}

func (q *qpReader) Read(p []byte) (int, error) {
	for q.pos == len(q.out) {
		if q.err != nil {
			q.release() // everything decoded has been read
			return 0, q.err
		}
		q.fillOut()
	}
	n := copy(p, q.out[q.pos:])
	q.pos += n
	return n, nil
}

// fillOut reads and decodes the next chunk into out.
func (q *qpReader) fillOut() {
	n, err := q.src.Read(q.in[q.keep:])
	chunk := q.in[:q.keep+n]
	q.out, q.pos = q.out[:0], 0
	if err != nil {
		q.err = err
		if err == io.EOF {
			q.out = q.decodeLines(q.out, chunk)
			q.keep = 0
			return
		}
	}
	cut := bytes.LastIndexByte(chunk, '\n') + 1
	switch {
	case cut > 0:
		q.out = q.decodeLines(q.out, chunk[:cut])
	case len(chunk) > len(q.in)/2:
		// A long line: decode what the next bytes cannot change.
		cut = qpSafeCut(chunk)
		if cut == 0 && len(chunk) == len(q.in) {
			// The buffer is full of white space that may yet end the
			// line: decode it as it stands (keeping white space a line
			// break would have dropped) so that the reader moves on.
			cut = len(chunk) - 2
		}
		q.out = q.decodeSpan(q.out, chunk[:cut])
	}
	q.keep = copy(q.in, chunk[cut:])
}

// qpSafeCut is the length of the longest prefix of b, a piece of a line
// whose end has not been read, that decodes the same whatever follows:
// it stops before an escape that may be incomplete, before white space
// (alone or after an "=") that may turn out to end the line or make a
// soft line break, and before a CR that may start the line break. It
// follows decodeSpan's reading of "=" from the left, so a run such as
// "=0=0=00" is cut where decodeSpan would be.
func qpSafeCut(b []byte) int {
	safe := 0
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '=' && i+2 >= len(b):
			return safe // an escape the next bytes may finish
		case c == '=' && isHex(b[i+1]) && isHex(b[i+2]):
			i += 3
		case c == '=' || c == ' ' || c == '\t':
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j == len(b) || (j == len(b)-1 && b[j] == '\r') {
				return safe // may end the line: keep it for the next read
			}
			if c == '=' {
				i++ // an "=" not before hex digits stands for itself
			} else {
				i = j
			}
		case c == '\r' && i == len(b)-1:
			return safe
		default:
			i++
		}
		safe = i
	}
	return safe
}

// decodeLines decodes whole lines; the last may lack its line break
// at the end of the input.
func (q *qpReader) decodeLines(out, b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line, eol []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, eol, b = b[:i], b[i:i+1], b[i+1:]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line, eol = line[:len(line)-1], crlf
			}
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) > 0 && line[len(line)-1] == '=' {
			out = q.decodeSpan(out, line[:len(line)-1]) // soft line break
			continue
		}
		out = q.decodeSpan(out, line)
		out = append(out, eol...)
	}
	return out
}

var crlf = []byte("\r\n")

// decodeSpan decodes the escapes in a span of one line.
func (q *qpReader) decodeSpan(out, b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '=')
		if i < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			b = b[i+3:]
			continue
		}
		q.bad = true
		out = append(out, '=')
		b = b[i+1:]
	}
	return out
}
