package mime

import (
	"io"
	"strings"
)

// BodyReader reads a part's body with its Content-Transfer-Encoding
// undone. It streams: memory use does not depend on the body's size.
type BodyReader struct {
	r    io.Reader
	b64  *base64Reader
	qp   *qpReader
	part *Part
}

// Body returns a reader of the transfer-decoded body. Base64 and
// quoted-printable are decoded leniently; 7bit, 8bit, binary and
// unknown encodings are passed through.
func (p *Part) Body() *BodyReader {
	raw := p.RawBody()
	br := &BodyReader{part: p}
	switch p.TransferEncoding {
	case "base64":
		br.b64 = newBase64Reader(raw, raw.Size())
		br.r = br.b64
	case "quoted-printable":
		br.qp = newQPReader(raw, raw.Size())
		br.r = br.qp
	default:
		br.r = raw
	}
	return br
}

func (b *BodyReader) Read(p []byte) (int, error) { return b.r.Read(p) }

// Defects reports what decoding had to repair so far (complete after
// Read has returned io.EOF).
func (b *BodyReader) Defects() []Defect {
	var out []Defect
	off := b.part.BodyOffset
	if b.b64 != nil {
		bad, unpadded := b.b64.defects()
		if bad {
			out = append(out, Defect{Kind: DefectBase64, Offset: off, Detail: "characters outside the alphabet"})
		}
		if unpadded {
			out = append(out, Defect{Kind: DefectBase64, Offset: off, Detail: "missing padding"})
		}
	}
	if b.qp != nil && b.qp.bad {
		out = append(out, Defect{Kind: DefectQuotedPrintable, Offset: off})
	}
	return out
}

// Text returns a reader of the body transfer-decoded and converted from
// the part's charset to UTF-8 (invalid bytes become U+FFFD). A part
// without a charset takes one set on an enclosing multipart, else is
// read as UTF-8 (which covers US-ASCII). An unknown
// charset returns an *UnknownCharsetError: Body still reads the bytes.
func (p *Part) Text() (io.Reader, error) {
	return NewCharsetReader(p.textCharset(), p.Body())
}

// ReadAllText is Text read to the end, for small bodies.
func (p *Part) ReadAllText() (string, error) {
	r, err := p.Text()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if _, err := io.Copy(&b, r); err != nil {
		return "", err
	}
	return b.String(), nil
}
