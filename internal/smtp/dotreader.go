package smtp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// ErrTooBig is returned by DotReader at the end of the data when the
// message was over the size limit. All of the data has been read, so the
// session is in step and can answer 552.
var ErrTooBig = errors.New("smtp: message too big")

// States of the DATA scanner.
const (
	stBOL   = iota // after a CRLF the client sent (or at the start)
	stMid          // inside a line, or after a normalised bare CR/LF
	stCR           // after a CR whose meaning the next octet decides
	stDot          // after "." at the start of a line
	stDotCR        // after "." CR at the start of a line
)

// DotReader reads DATA content (RFC 5321 §4.5.2): it removes the
// dot-stuffing and stops at the end-of-data line. Only CR LF "." CR LF
// ends the data, where the first CR LF is one the client sent (or the
// data is just ".\r\n"): a bare LF or CR never does, so the SMTP smuggling
// attacks of 2023 ("\n.\n", "\r.\r", "\n.\r\n") stay inside the message.
// Bare LF and bare CR in the content are turned into CRLF, like Postfix
// 3.9's normalize mode, so the stored message has CRLF lines only; a dot
// after such a normalised line end is content, not stuffing.
//
// Past the size limit it keeps reading to the end of the data, discarding
// it, and then returns ErrTooBig instead of io.EOF. A connection that ends
// before the end of the data gives io.ErrUnexpectedEOF.
type DotReader struct {
	r        *bufio.Reader
	max      int64 // <= 0: no limit
	n        int64 // message octets seen, including the ones past max
	state    int
	pend     [3]byte // output that did not fit in the caller's buffer
	npend    int
	ipend    int
	eightBit bool
	done     bool
	err      error // io.EOF or ErrTooBig once done; a read error otherwise
}

// NewDotReader returns a reader of the data that follows a 354 reply.
// max bounds the message size in octets (after unstuffing and
// normalisation); max <= 0 means no limit.
func NewDotReader(r *bufio.Reader, max int64) *DotReader {
	return &DotReader{r: r, max: max, state: stBOL}
}

// EightBit reports whether an octet above 127 has been seen.
func (d *DotReader) EightBit() bool { return d.eightBit }

// Size returns the message octets seen so far, also those past the limit.
func (d *DotReader) Size() int64 { return d.n }

// Read implements io.Reader. It returns what is buffered rather than
// blocking for more once it has something.
func (d *DotReader) Read(p []byte) (int, error) {
	out := 0
	for out < len(p) {
		if d.ipend < d.npend {
			c := copy(p[out:], d.pend[d.ipend:d.npend])
			d.ipend += c
			out += c
			continue
		}
		d.ipend, d.npend = 0, 0
		if d.done {
			break
		}
		if d.r.Buffered() == 0 {
			if out > 0 {
				break
			}
			if _, err := d.r.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return out, err
			}
		}
		buf, _ := d.r.Peek(d.r.Buffered())
		used := d.scan(p, &out, buf)
		if _, err := d.r.Discard(used); err != nil {
			return out, err
		}
	}
	if out == 0 && d.done {
		return 0, d.err
	}
	return out, nil
}

// scan consumes octets of buf, writing output to p from *out, and returns
// how many it consumed. It stops when p is full, when output spilled into
// pend, or at the end of the data.
//
// Inside a line it finds the line end with bytes.IndexByte (vectorised)
// rather than testing every octet: lf is the next LF at or after i,
// searched again only once i passes it, and a CR is looked for only up
// to lf, so each octet is searched at most twice however the CRs and LFs
// are spread.
func (d *DotReader) scan(p []byte, out *int, buf []byte) int {
	i := 0
	lf := -1 // the next LF at or after i (len(buf) if none); -1: not searched yet
	for i < len(buf) && !d.done && *out < len(p) && d.npend == 0 {
		c := buf[i]
		switch d.state {
		case stMid:
			if lf < i {
				lf = len(buf)
				if k := bytes.IndexByte(buf[i:], '\n'); k >= 0 {
					lf = i + k
				}
			}
			j := lf
			if k := bytes.IndexByte(buf[i:lf], '\r'); k >= 0 {
				j = i + k
			}
			if j == lf-1 && lf < len(buf) && lf+1-i <= len(p)-*out {
				// The common line: text, then the client's own CRLF. It
				// goes out as it came, and the next line starts.
				run := buf[i : lf+1]
				d.putRun(p, out, run)
				if !d.eightBit && hasHigh(run) {
					d.eightBit = true
				}
				i = lf + 1
				d.state = stBOL
				continue
			}
			if j > i {
				k := d.putRun(p, out, buf[i:j])
				if !d.eightBit && hasHigh(buf[i:i+k]) {
					d.eightBit = true
				}
				i += k
				continue
			}
			if c == '\r' {
				d.state = stCR
			} else {
				d.putCRLF(p, out) // bare LF
			}
			i++
		case stBOL:
			switch c {
			case '.':
				d.state = stDot
			case '\r':
				d.state = stCR
			case '\n':
				d.putCRLF(p, out)
				d.state = stMid
			default:
				d.state = stMid
				continue // the octet is ordinary text
			}
			i++
		case stCR:
			d.putCRLF(p, out)
			switch c {
			case '\n':
				d.state = stBOL
				i++
			case '\r': // the previous CR was bare; this one decides later
				i++
			default:
				d.state = stMid
			}
		case stDot:
			switch c {
			case '\r':
				d.state = stDotCR
				i++
			case '\n': // "." then a bare LF: content, not the end
				d.put(p, out, '.')
				d.putCRLF(p, out)
				d.state = stMid
				i++
			default: // dot-stuffing: the dot goes, the octet stays
				d.state = stMid
			}
		case stDotCR:
			if c == '\n' {
				i++
				d.done = true
				d.err = io.EOF
				if d.max > 0 && d.n > d.max {
					d.err = ErrTooBig
				}
				break
			}
			// "." and a bare CR: the line was a lone dot.
			d.put(p, out, '.')
			d.putCRLF(p, out)
			d.state = stMid
			if c == '\r' {
				d.state = stCR
				i++
			}
		}
	}
	return i
}

// hasHigh reports whether b has an octet above 127, eight at a time.
func hasHigh(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// put emits one octet, to p or to pend, unless over the limit.
func (d *DotReader) put(p []byte, out *int, c byte) {
	d.n++
	if d.max > 0 && d.n > d.max {
		return
	}
	if *out < len(p) {
		p[*out] = c
		*out++
		return
	}
	d.pend[d.npend] = c
	d.npend++
}

func (d *DotReader) putCRLF(p []byte, out *int) {
	d.put(p, out, '\r')
	d.put(p, out, '\n')
}

// putRun emits a run of ordinary octets, as many as fit in p (all of them
// past the limit, where nothing is kept), and returns how many it took.
func (d *DotReader) putRun(p []byte, out *int, run []byte) int {
	if d.max > 0 && d.n >= d.max {
		d.n += int64(len(run))
		return len(run)
	}
	k := min(len(run), len(p)-*out)
	keep := k
	if d.max > 0 && d.n+int64(k) > d.max {
		keep = int(d.max - d.n)
	}
	copy(p[*out:], run[:keep])
	*out += keep
	d.n += int64(k)
	return k
}
