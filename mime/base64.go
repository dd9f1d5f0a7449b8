package mime

import (
	"bytes"
	"encoding/base64"
	"io"
	"slices"
)

// b64dec maps a byte to its 6-bit value, b64skip for characters outside
// the alphabet, b64pad for "=".
var b64dec = func() (t [256]byte) {
	for i := range t {
		t[i] = b64skip
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	t['='] = b64pad
	return t
}()

const (
	b64skip = 0xFF
	b64pad  = 0xFE
)

// b64state decodes base64 leniently (RFC 2045 section 6.8: characters
// outside the alphabet are ignored). "=" ends a quantum early, so
// concatenated encodings decode too; a final quantum without its padding
// is decoded as if it were there.
type b64state struct {
	acc      uint32
	n        int  // sextets in acc
	bad      bool // characters other than white space were skipped, or a lone sextet dropped
	unpadded bool // the input ended inside a quantum
}

func (d *b64state) decode(out, in []byte) []byte {
	acc, n := d.acc, d.n
	i := 0
	// Fastest path: every whole line in the input at once (the standard
	// decoder skips line breaks); on any complaint, line by line.
	if n == 0 {
		if j := bytes.LastIndexByte(in, '\n'); j > 0 {
			block := in[:j+1]
			start := len(out)
			out = slices.Grow(out, len(block)/4*3)
			m, err := base64.StdEncoding.Decode(out[start:start+len(block)/4*3], block)
			if err == nil {
				out = out[:start+m]
				i = j + 1
			} else {
				out = out[:start]
			}
		}
	}
	for i < len(in) {
		// Fast path: a whole line at a quantum boundary, handed to the
		// standard library's decoder; anything it rejects takes the
		// lenient path below.
		if n == 0 {
			if j := bytes.IndexByte(in[i:], '\n'); j >= 0 {
				line := in[i : i+j]
				if k := len(line); k > 0 && line[k-1] == '\r' {
					line = line[:k-1]
				}
				if len(line)%4 == 0 {
					size := len(line) / 4 * 3
					out = slices.Grow(out, size)
					m, err := base64.StdEncoding.Decode(out[len(out):len(out)+size], line)
					if err == nil {
						out = out[:len(out)+m]
						i += j + 1
						continue
					}
				}
			}
		}
		// Lenient path, to the end of the line.
		for ; i < len(in); i++ {
			ch := in[i]
			v := b64dec[ch]
			if v < 64 {
				acc = acc<<6 | uint32(v)
				n++
				if n == 4 {
					out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
					acc, n = 0, 0
				}
				continue
			}
			if v == b64pad {
				out = d.partial(out, acc, n)
				acc, n = 0, 0
				continue
			}
			if ch == '\n' {
				i++
				break
			}
			if ch != '\r' && ch != ' ' && ch != '\t' {
				d.bad = true
			}
		}
	}
	d.acc, d.n = acc, n
	return out
}

// partial emits the bytes of an incomplete quantum of n sextets.
func (d *b64state) partial(out []byte, acc uint32, n int) []byte {
	switch n {
	case 1:
		d.bad = true
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// finish emits what is left at the end of the input.
func (d *b64state) finish(out []byte) []byte {
	if d.n > 0 {
		d.unpadded = true
		out = d.partial(out, d.acc, d.n)
		d.acc, d.n = 0, 0
	}
	return out
}

// base64Reader decodes a base64 body as it streams.
type base64Reader struct {
	src    io.Reader
	st     b64state
	in     []byte
	pooled *[]byte // in, when it came from bufPool
	out    []byte
	pos    int
	err    error
}

// newBase64Reader decodes r, whose size (if known, else -1) sizes the buffers.
func newBase64Reader(r io.Reader, size int64) *base64Reader {
	b := &base64Reader{src: r}
	b.in, b.pooled = bodyBuf(size)
	return b
}

// release gives the input buffer back to the pool once the input has
// ended (b.err is set): Read still returns what is already decoded.
func (b *base64Reader) release() {
	putBuf(b.pooled)
	b.in, b.pooled = nil, nil
}

// close releases the buffer and drops what is not read yet.
func (b *base64Reader) close() {
	b.release()
	b.out, b.pos = nil, 0
	if b.err == nil {
		b.err = errClosed
	}
}

func (b *base64Reader) Read(p []byte) (int, error) {
	if b.pos < len(b.out) {
		n := copy(p, b.out[b.pos:])
		b.pos += n
		return n, nil
	}
	for {
		if b.err != nil {
			return 0, b.err
		}
		// Read no more than decodes into p (3 bytes per 4, and up to
		// 3 more from a quantum begun in the last read), so the output
		// goes straight to the caller; a small p goes through out.
		want := min(len(b.in), (len(p)-3)/3*4)
		dst := p[:0]
		if want < 4 {
			if b.out == nil {
				b.out = make([]byte, 0, len(b.in)*3/4+6)
			}
			want, dst = len(b.in), b.out[:0]
		}
		n, err := b.src.Read(b.in[:want])
		dst = b.st.decode(dst, b.in[:n])
		if err != nil {
			if err == io.EOF {
				dst = b.st.finish(dst)
			}
			b.err = err
			b.release() // the input is done with: pass the buffer on now
		}
		if len(dst) == 0 {
			continue
		}
		if len(p) > 0 && &dst[0] == &p[0] {
			return len(dst), nil
		}
		b.out, b.pos = dst, copy(p, dst)
		return b.pos, nil
	}
}

// defects reports what the decoder had to repair.
func (b *base64Reader) defects() (bad, unpadded bool) { return b.st.bad, b.st.unpadded }

// b64std is standard padded base64.
func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
