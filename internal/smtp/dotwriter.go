package smtp

import "io"

// Normalizer is a writer that turns bare CR and bare LF into CRLF, with
// state carried across writes (a CR at the end of one BDAT chunk and an
// LF at the start of the next are one line end). Close flushes a trailing
// CR. It is used for BDAT chunks (RFC 3030), which are not dot-stuffed.
type Normalizer struct {
	w     io.Writer
	stuff bool // dot-stuff lines (DotWriter)
	bol   bool
	cr    bool
	buf   []byte
	err   error
}

// normChunk bounds the input converted per underlying write, so the output
// buffer stays small however large a Write is.
const normChunk = 4096

// NewNormalizer returns a line-ending normaliser writing to w.
func NewNormalizer(w io.Writer) *Normalizer { return &Normalizer{w: w, bol: true} }

// Write converts p and writes it to the underlying writer.
func (n *Normalizer) Write(p []byte) (int, error) {
	if n.err != nil {
		return 0, n.err
	}
	done := 0
	for done < len(p) {
		end := min(len(p), done+normChunk)
		n.buf = n.convert(n.buf[:0], p[done:end])
		if _, err := n.w.Write(n.buf); err != nil {
			n.err = err
			return done, err
		}
		done = end
	}
	return done, nil
}

func (n *Normalizer) convert(out, p []byte) []byte {
	for _, c := range p {
		if n.cr {
			n.cr = false
			out = append(out, '\r', '\n')
			n.bol = true
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\r':
			n.cr = true
			continue
		case '\n':
			out = append(out, '\r', '\n')
			n.bol = true
			continue
		}
		if n.bol && n.stuff && c == '.' {
			out = append(out, '.')
		}
		n.bol = false
		out = append(out, c)
	}
	return out
}

// Close writes out a trailing bare CR as CRLF. It does not close the
// underlying writer.
func (n *Normalizer) Close() error {
	if n.err != nil {
		return n.err
	}
	if n.cr {
		n.cr = false
		n.bol = true
		if _, err := n.w.Write([]byte("\r\n")); err != nil {
			n.err = err
		}
	}
	return n.err
}

// DotWriter writes DATA content (RFC 5321 §4.5.2): it normalises line
// endings to CRLF and doubles a dot at the start of a line. Close ends the
// data with CRLF "." CRLF, adding a CRLF first when the content did not end
// with one.
type DotWriter struct{ n Normalizer }

// NewDotWriter returns a writer of message data to w.
func NewDotWriter(w io.Writer) *DotWriter {
	return &DotWriter{n: Normalizer{w: w, bol: true, stuff: true}}
}

// Write dot-stuffs and normalises p.
func (d *DotWriter) Write(p []byte) (int, error) { return d.n.Write(p) }

// Close writes the end-of-data line. It does not close the underlying
// writer.
func (d *DotWriter) Close() error {
	if err := d.n.Close(); err != nil {
		return err
	}
	end := ".\r\n"
	if !d.n.bol {
		end = "\r\n.\r\n"
	}
	_, err := io.WriteString(d.n.w, end)
	return err
}
