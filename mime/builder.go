package mime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	stdmime "mime"
	"path"
	"strings"
	"time"
)

// Builder composes a message. Fill in the fields and call Write or
// Bytes; a Builder may be written more than once (each time with new
// boundaries, and a new Message-ID unless MessageID is set).
//
// The structure follows what mail readers expect:
//
//	text only                 text/plain
//	text and HTML             multipart/alternative
//	HTML with Inline images   multipart/related (HTML first)
//	with Attachments          multipart/mixed (the body first)
//
// Text and HTML are sent with CRLF line breaks and end with one, as
// RFC 2046 section 4.1.1 requires of text; attachments travel byte for
// byte.
type Builder struct {
	From        Address
	Sender      *Address // set when someone sends for From
	To, Cc      []Address
	Bcc         []Address // never written: for the envelope only
	ReplyTo     []Address
	Subject     string
	Date        time.Time // zero: the time of writing
	MessageID   string    // without angle brackets; empty: made up
	InReplyTo   string    // a Message-ID, without angle brackets
	References  []string  // Message-IDs, without angle brackets
	ExtraHeader []Field   // Name and Value (text, encoded as needed); Raw is ignored

	Text        string       // the text/plain body
	HTML        string       // the text/html alternative
	Inline      []Attachment // images the HTML refers to by Content-ID
	Attachments []Attachment

	// Rand supplies boundaries and Message-IDs; nil means crypto/rand.
	Rand io.Reader
}

// Attachment is a file to attach or an inline image.
type Attachment struct {
	Filename    string // the name offered to the recipient (any text)
	ContentType string // empty: from the file name's extension, else application/octet-stream
	ContentID   string // inline parts: the cid the HTML uses, without angle brackets
	Data        []byte // the content, or
	// Open streams the content instead of Data (always sent as
	// base64, as its bytes are not seen in advance).
	Open func() (io.ReadCloser, error)
}

// node is one entity of the message being written.
type node struct {
	ctype    string
	params   [][2]string
	disp     string
	dparams  [][2]string
	cid      string
	enc      string
	body     []byte // encoded body, or
	open     func() (io.ReadCloser, error)
	children []*node
	boundary string
}

// Bytes returns the message.
func (b *Builder) Bytes(ctx context.Context) ([]byte, error) {
	var buf bytes.Buffer
	_, err := b.Write(ctx, &buf)
	return buf.Bytes(), err
}

// Write writes the message to w. It returns the bytes written.
func (b *Builder) Write(ctx context.Context, w io.Writer) (int64, error) {
	if b.From.Address == "" {
		return 0, errors.New("mime: Builder needs a From address")
	}
	root, err := b.tree()
	if err != nil {
		return 0, err
	}
	if err := b.boundaries(root); err != nil {
		return 0, err
	}
	hw := &headerWriter{w: w}
	if err := b.writeHeader(hw); err != nil {
		return hw.n, err
	}
	n, err := writeNode(ctx, w, root, true)
	return hw.n + n, err
}

// tree arranges the bodies as described on Builder.
func (b *Builder) tree() (*node, error) {
	var body *node
	if b.Text != "" || b.HTML == "" {
		body = textNode("text/plain", b.Text)
	}
	if b.HTML != "" {
		html := textNode("text/html", b.HTML)
		if len(b.Inline) > 0 {
			rel := &node{ctype: "multipart/related", params: [][2]string{{"type", "text/html"}}, children: []*node{html}}
			for _, a := range b.Inline {
				n, err := attachmentNode(a, "inline")
				if err != nil {
					return nil, err
				}
				rel.children = append(rel.children, n)
			}
			html = rel
		}
		if body != nil {
			body = &node{ctype: "multipart/alternative", children: []*node{body, html}}
		} else {
			body = html
		}
	}
	if len(b.Attachments) == 0 {
		return body, nil
	}
	mixed := &node{ctype: "multipart/mixed"}
	if b.Text != "" || b.HTML != "" {
		mixed.children = append(mixed.children, body)
	}
	for _, a := range b.Attachments {
		n, err := attachmentNode(a, "attachment")
		if err != nil {
			return nil, err
		}
		mixed.children = append(mixed.children, n)
	}
	return mixed, nil
}

// textNode encodes a text body as UTF-8 with CRLF line breaks.
func textNode(ctype, s string) *node {
	body := []byte(crlfText(validUTF8Header(s)))
	n := &node{ctype: ctype, params: [][2]string{{"charset", "utf-8"}}}
	n.setBody(body, true)
	return n
}

// crlfText makes every line break CRLF and ends s with one.
func crlfText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// setBody chooses the encoding and encodes.
func (n *node) setBody(b []byte, text bool) {
	n.enc = ChooseEncoding(b, text)
	switch n.enc {
	case Enc7bit:
		n.body = b
	case EncQuotedPrintable:
		n.body = appendQP(make([]byte, 0, len(b)+len(b)/8), b)
	default:
		var buf bytes.Buffer
		bw := &base64Lines{w: &buf}
		bw.Write(b)
		bw.Close()
		n.body = buf.Bytes()
	}
}

func attachmentNode(a Attachment, disp string) (*node, error) {
	ctype := strings.ToLower(a.ContentType)
	if ctype == "" {
		ctype = stdmime.TypeByExtension(strings.ToLower(path.Ext(a.Filename)))
		if i := strings.IndexByte(ctype, ';'); i >= 0 {
			ctype = ctype[:i]
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
	}
	if mt, _, err := ParseMediaType(ctype); err != nil || strings.Count(mt, "/") != 1 || strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("mime: bad attachment content type %q", a.ContentType)
	}
	n := &node{ctype: ctype, disp: disp, cid: a.ContentID}
	if a.Filename != "" {
		name := validUTF8Header(a.Filename)
		n.params = [][2]string{{"name", name}}
		n.dparams = [][2]string{{"filename", name}}
	}
	switch {
	case a.Open != nil:
		n.enc, n.open = EncBase64, a.Open
	default:
		n.setBody(a.Data, false)
	}
	return n, nil
}

// boundaries gives every multipart a fresh boundary that no 7bit body
// contains. Quoted-printable and base64 bodies cannot contain one: a
// boundary starts with "=_", which neither encoding produces.
func (b *Builder) boundaries(n *node) error {
	if len(n.children) == 0 {
		return nil
	}
	for {
		tok, err := b.random(12)
		if err != nil {
			return err
		}
		n.boundary = "=_" + tok
		if !n.contains([]byte("--" + n.boundary)) {
			break
		}
	}
	n.params = append([][2]string{{"boundary", n.boundary}}, n.params...)
	for _, c := range n.children {
		if err := b.boundaries(c); err != nil {
			return err
		}
	}
	return nil
}

// contains reports whether a 7bit body below n contains s.
func (n *node) contains(s []byte) bool {
	if n.enc == Enc7bit && bytes.Contains(n.body, s) {
		return true
	}
	for _, c := range n.children {
		if c.contains(s) {
			return true
		}
	}
	return false
}

// random returns n random bytes in hex.
func (b *Builder) random(n int) (string, error) {
	r := b.Rand
	if r == nil {
		r = rand.Reader
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", fmt.Errorf("mime: reading random bytes: %w", err)
	}
	return hex.EncodeToString(buf), nil
}
