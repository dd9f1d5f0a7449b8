package imapserver

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/posthorn/posthorn/mime"
)

// errNoPart is a section that names a part the message does not have; RFC
// 9051 §6.4.5 answers it with an empty string.
var errNoPart = errors.New("no such part")

// findPart returns the entity a section path names.
func findPart(root *mime.Part, path []int) (*mime.Part, error) {
	cur := root
	for i, n := range path {
		if i > 0 && isMessagePart(cur) {
			cur = cur.Parts[0]
		}
		switch {
		case cur.IsMultipart() && len(cur.Parts) > 0:
			if n > len(cur.Parts) {
				return nil, errNoPart
			}
			cur = cur.Parts[n-1]
		case n == 1:
			// The body of a single-part entity is its part 1.
		default:
			return nil, errNoPart
		}
	}
	return cur, nil
}

// isMessagePart reports whether p is a message/rfc822 part with its
// enclosed message parsed.
func isMessagePart(p *mime.Part) bool {
	return len(p.Parts) == 1 && strings.HasPrefix(p.ContentType, "message/")
}

// sectionReader returns the octets of a section of msg (RFC 9051 §6.4.5).
// parse is called only when the section needs the MIME tree.
func sectionReader(msg io.ReaderAt, size int64, s *section, parse func() (*mime.Part, error)) (io.Reader, int64, error) {
	if len(s.path) == 0 && s.text == "" {
		return io.NewSectionReader(msg, 0, size), size, nil
	}
	root, err := parse()
	if err != nil {
		return nil, 0, err
	}
	p, err := findPart(root, s.path)
	if err != nil {
		return nil, 0, err
	}
	if s.text == "" {
		r := p.RawBody()
		return r, r.Size(), nil
	}
	if s.text == "MIME" {
		return io.NewSectionReader(msg, p.Offset, p.BodyOffset-p.Offset), p.BodyOffset - p.Offset, nil
	}
	// HEADER, HEADER.FIELDS and TEXT apply to a message: the root, or
	// the message inside a message/rfc822 part.
	if len(s.path) > 0 {
		if !isMessagePart(p) {
			return nil, 0, errNoPart
		}
		p = p.Parts[0]
	}
	switch s.text {
	case "TEXT":
		r := p.RawBody()
		return r, r.Size(), nil
	case "HEADER":
		return io.NewSectionReader(msg, p.Offset, p.BodyOffset-p.Offset), p.BodyOffset - p.Offset, nil
	}
	b := headerFields(&p.Header, s.fields, s.text == "HEADER.FIELDS.NOT")
	return bytes.NewReader(b), int64(len(b)), nil
}

// headerFields returns the fields named (or, with not, not named) in
// names, as in the message, and the blank line that ends a header.
func headerFields(h *mime.Header, names []string, not bool) []byte {
	var b []byte
	for i := 0; i < h.Len(); i++ {
		f := h.Field(i)
		in := false
		for _, n := range names {
			if strings.EqualFold(n, f.Name) {
				in = true
				break
			}
		}
		if in != not {
			b = append(b, f.Raw...)
			if !strings.HasSuffix(f.Raw, "\n") {
				b = append(b, "\r\n"...)
			}
		}
	}
	return append(b, "\r\n"...)
}

// errUnknownCTE is a BINARY fetch of a part in an encoding we cannot
// decode (RFC 3516 §4.3: NO [UNKNOWN-CTE]).
var errUnknownCTE = errors.New("unknown content-transfer-encoding")

// binaryReader returns the decoded content of a part (RFC 3516) and its
// decoded size, which needs one pass over it.
func binaryReader(msg io.ReaderAt, size int64, s *section, parse func() (*mime.Part, error)) (func() io.Reader, int64, error) {
	root, err := parse()
	if err != nil {
		return nil, 0, err
	}
	var p *mime.Part
	if len(s.path) == 0 {
		// BINARY[] is the whole message, which has no encoding of its own.
		return func() io.Reader { return io.NewSectionReader(msg, 0, size) }, size, nil
	}
	if p, err = findPart(root, s.path); err != nil {
		return nil, 0, err
	}
	switch p.TransferEncoding {
	case "7bit", "8bit", "binary", "", "base64", "quoted-printable":
	default:
		return nil, 0, errUnknownCTE
	}
	open := func() io.Reader { return p.Body() }
	n, err := io.Copy(io.Discard, open())
	if err != nil {
		return nil, 0, errUnknownCTE
	}
	return open, n, nil
}
