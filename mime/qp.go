package mime

import (
	"bytes"
	"io"
)

// qpReader decodes a quoted-printable body (RFC 2045 section 6.7) as it
// streams. It is lenient: lower-case hex is accepted, an "=" that starts
// no escape stands for itself, trailing white space is dropped (rule 3),
// and line breaks are kept as the body has them (CRLF or LF).
type qpReader struct {
	src  io.Reader
	in   []byte // input: carry from the last read followed by new bytes
	keep int    // bytes of in carried over (an unfinished line)
	out  []byte
	pos  int
	err  error
	bad  bool // an "=" not followed by two hex digits
}

func newQPReader(r io.Reader, size int64) *qpReader {
	n := bufSize(size)
	return &qpReader{src: r, in: make([]byte, n), out: make([]byte, 0, n)}
}

func (q *qpReader) Read(p []byte) (int, error) {
	for q.pos == len(q.out) {
		if q.err != nil {
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
	if cut == 0 && len(chunk) > len(q.in)/2 {
		// A very long line: decode most of it, stopping short of
		// white space or an escape that the next bytes may finish.
		cut = len(chunk) - 3
		for cut > 0 && (isQPHold(chunk[cut-1]) || (cut >= 2 && chunk[cut-2] == '=')) {
			cut--
		}
		if cut == 0 {
			// A run of white space or "=": decode it as it stands but
			// for the last two bytes, so the reader always moves on.
			cut = len(chunk) - 2
		}
		q.out = q.decodeSpan(q.out, chunk[:cut])
	} else {
		q.out = q.decodeLines(q.out, chunk[:cut])
	}
	q.keep = copy(q.in, chunk[cut:])
}

func isQPHold(c byte) bool { return c == ' ' || c == '\t' || c == '=' || c == '\r' }

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
