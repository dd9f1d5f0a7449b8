package mime

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// BodyReader reads a part's body with its Content-Transfer-Encoding
// undone. It streams: memory use does not depend on the body's size.
// Its decoding buffers are shared with other readers: they go back when
// Read reaches the end of the body, or at Close for a reader that stops
// early.
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

// errClosed is what a reader returns after Close.
var errClosed = errors.New("mime: read of a closed BodyReader")

type closedReader struct{}

func (closedReader) Read([]byte) (int, error) { return 0, errClosed }

// Close gives the decoding buffers back for other readers to use.
// Reading to the end does that too, so Close is needed only by a reader
// that stops early, and then only to spare the garbage collector. Read
// after Close returns an error. Close always returns nil.
func (b *BodyReader) Close() error {
	b.r = closedReader{}
	if b.b64 != nil {
		b.b64.close()
	}
	if b.qp != nil {
		b.qp.close()
	}
	return nil
}

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
	// The charset first: a Body made for nothing would take a buffer.
	e, err := lookupCharset(p.textCharset())
	if err != nil {
		return nil, err
	}
	return charsetReader(e, p.Body()), nil
}

// MaxReadAllText bounds what ReadAllText holds in memory.
const MaxReadAllText = 16 << 20

// ReadAllText is Text read to the end, for small bodies: a text longer
// than MaxReadAllText bytes is an error (a permanent mailerr TooBig),
// as a whole body is never held in memory unasked; read Text to stream.
func (p *Part) ReadAllText() (string, error) {
	r, err := p.Text()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	n, err := io.Copy(&b, io.LimitReader(r, MaxReadAllText+1))
	if err != nil {
		return "", err
	}
	if n > MaxReadAllText {
		return "", mailerr.Permanent(mailerr.TooBig, "mime: text part too large to read at once",
			fmt.Errorf("mime: part at offset %d has more than %d bytes of text", p.Offset, MaxReadAllText))
	}
	return b.String(), nil
}
