package mime

import (
	"io"
	"strconv"
	"strings"
)

// Part is one entity of a message: the message itself, a part of a
// multipart, or the message inside a message/rfc822 part. It holds the
// header and the offsets of the entity in the message, never its body.
type Part struct {
	Header Header

	// Offsets in the message: the header starts at Offset, the body at
	// BodyOffset (after the blank line) and ends before End, which
	// excludes the line break in front of the next delimiter.
	Offset, BodyOffset, End int64

	// ContentType is the lower-case media type ("text/plain"), with the
	// RFC 2045/2046 defaults applied when the header has none or a bad one.
	ContentType string
	// Params are the Content-Type parameters: lower-case names, values
	// decoded (RFC 2231 continuations and charsets joined, RFC 2047 words
	// in name decoded as the common mistake).
	Params map[string]string
	// Disposition is the lower-case Content-Disposition type ("inline",
	// "attachment"), "" when the header has none.
	Disposition       string
	DispositionParams map[string]string
	// TransferEncoding is the lower-case Content-Transfer-Encoding,
	// "7bit" when absent.
	TransferEncoding string

	// Parts are the children: the parts of a multipart, or the one
	// enclosed message of a message/rfc822 part.
	Parts []*Part
	// Defects are the departures from the RFCs found in this entity's
	// header and structure (not in its children's).
	Defects []Defect

	ra       io.ReaderAt
	parent   *Part
	boundary string // while parsing only
}

func (p *Part) defect(k DefectKind, off int64, detail string) {
	p.Defects = append(p.Defects, Defect{Kind: k, Offset: off, Detail: detail})
}

// Size is the number of body bytes as they stand in the message.
func (p *Part) Size() int64 { return p.End - p.BodyOffset }

// Raw reads the whole entity, header and body, as in the message.
func (p *Part) Raw() *io.SectionReader {
	return io.NewSectionReader(p.ra, p.Offset, p.End-p.Offset)
}

// RawBody reads the body as in the message, still transfer-encoded.
func (p *Part) RawBody() *io.SectionReader {
	return io.NewSectionReader(p.ra, p.BodyOffset, p.End-p.BodyOffset)
}

// IsMultipart reports whether the part is a multipart with children.
func (p *Part) IsMultipart() bool { return strings.HasPrefix(p.ContentType, "multipart/") }

// isMessage reports whether the body is an enclosed message to parse.
func (p *Part) isMessage() bool {
	switch p.ContentType {
	case "message/rfc822", "message/global", "message/news":
	default:
		return false
	}
	switch p.TransferEncoding {
	case "7bit", "8bit", "binary":
		return true
	}
	p.defect(DefectEncodedMessage, p.BodyOffset, p.TransferEncoding)
	return false
}

// Charset is the lower-case charset parameter, "" when there is none.
func (p *Part) Charset() string { return strings.ToLower(p.Params["charset"]) }

// Parent is the enclosing part, nil for the message.
func (p *Part) Parent() *Part { return p.parent }

// textCharset is the charset Text uses: the part's own or, when it has
// none, one set on an enclosing multipart (some mailers put it there).
func (p *Part) textCharset() string {
	if cs := p.Charset(); cs != "" {
		return cs
	}
	for a := p.parent; a != nil && a.IsMultipart(); a = a.parent {
		if cs := a.Params["charset"]; cs != "" {
			return cs
		}
	}
	return ""
}

// Filename is the decoded file name from Content-Disposition's filename,
// or else Content-Type's name; "" when neither is given. It is the name
// as sent: sanitise it before using it as a path.
func (p *Part) Filename() string {
	if f := p.DispositionParams["filename"]; f != "" {
		return f
	}
	return p.Params["name"]
}

// IsAttachment reports whether the sender marked the part as an
// attachment, or gave a file name to a part that is not text.
func (p *Part) IsAttachment() bool {
	if p.Disposition == "attachment" {
		return true
	}
	return p.Filename() != "" && p.Disposition != "inline" && !strings.HasPrefix(p.ContentType, "text/")
}

// Walk calls fn for p and every part below it, depth first, with the
// part's IMAP section number (RFC 3501 6.4.5): the root is "" and a
// message that is not multipart has its body at "1". Walk stops at the
// first error fn returns and returns it.
func (p *Part) Walk(fn func(path string, part *Part) error) error {
	if err := fn("", p); err != nil {
		return err
	}
	return p.walkBody("", fn)
}

// walkBody visits the parts inside p, an entity whose header is at
// path (a message or an enclosed message).
func (p *Part) walkBody(path string, fn func(string, *Part) error) error {
	if !p.IsMultipart() || len(p.Parts) == 0 {
		if path == "" {
			return fn("1", p) // the body of a single-part message
		}
		return nil
	}
	return p.walkChildren(path, fn)
}

func (p *Part) walkChildren(path string, fn func(string, *Part) error) error {
	for i, c := range p.Parts {
		cp := strconv.Itoa(i + 1)
		if path != "" {
			cp = path + "." + cp
		}
		if err := fn(cp, c); err != nil {
			return err
		}
		switch {
		case c.IsMultipart():
			if err := c.walkChildren(cp, fn); err != nil {
				return err
			}
		case len(c.Parts) == 1: // message/rfc822: its message is numbered under cp
			m := c.Parts[0]
			if m.IsMultipart() && len(m.Parts) > 0 {
				if err := m.walkChildren(cp, fn); err != nil {
					return err
				}
			} else if err := fn(cp+".1", m); err != nil {
				return err
			}
		}
	}
	return nil
}

// Leaves calls fn for each part that has no children, or is a
// message/rfc822 part (which counts as one leaf), depth first with its
// IMAP section number: the parts a mail reader shows or saves. A message
// that is not multipart is the one leaf "1".
func (p *Part) Leaves(fn func(path string, part *Part) error) error {
	if !p.IsMultipart() || len(p.Parts) == 0 {
		return fn("1", p)
	}
	return p.leaves("", fn)
}

func (p *Part) leaves(path string, fn func(string, *Part) error) error {
	for i, c := range p.Parts {
		cp := strconv.Itoa(i + 1)
		if path != "" {
			cp = path + "." + cp
		}
		var err error
		if c.IsMultipart() && len(c.Parts) > 0 {
			err = c.leaves(cp, fn)
		} else {
			err = fn(cp, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
