// Command mimecompare measures posthorn's mime package against Go's
// standard library (net/mail + mime/multipart with a tree walk),
// github.com/emersion/go-message and github.com/jhillyerd/enmime on the
// public corpus, in one run: full parse and decode (every header field
// RFC 2047-decoded, every leaf transfer-decoded, text converted to
// UTF-8), reporting MB/s, allocations per message, the files each
// library gives up on, and peak heap against message size for the
// largest files. It lives in its own module so that posthorn's go.mod
// never requires the other libraries.
//
//	go run . [-corpus DIR] [-rounds N] [-largest N] [-peakruns N] [-synthetic MB]
//	go test -bench .
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	stdmime "mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // go-message's charset conversion
	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/posthorn/posthorn/mime"
)

// A lib parses and fully decodes one message. ra and size are given for
// the libraries that read at offsets; r reads the same bytes.
type lib struct {
	name string
	run  func(r io.Reader, ra io.ReaderAt, size int64) error
}

func libs() []lib {
	return []lib{
		{"posthorn/mime", posthorn},
		{"stdlib (net/mail + mime/multipart)", stdlib},
		{"emersion/go-message v0.18.2", goMessage},
		{"jhillyerd/enmime v2.3.0", enmimeRun},
	}
}

// posthorn parses from the ReaderAt and streams every leaf.
func posthorn(r io.Reader, ra io.ReaderAt, size int64) error {
	root, err := parsePosthorn(r, ra, size)
	if err != nil {
		return err
	}
	return root.Walk(func(path string, p *mime.Part) error {
		if path != "1" || p != root { // a single part is visited as "" and as "1"
			for i := 0; i < p.Header.Len(); i++ {
				_ = mime.DecodeText(p.Header.Field(i).Value)
			}
		}
		if path == "" && len(p.Parts) == 0 || p.IsMultipart() && len(p.Parts) > 0 {
			return nil // the root's body is visited as "1"; multiparts have no body of their own
		}
		var body io.Reader = p.Body()
		if strings.HasPrefix(p.ContentType, "text/") {
			if t, err := p.Text(); err == nil {
				body = t
			}
		}
		_, err := io.Copy(io.Discard, body)
		return err
	})
}

// stdlibCharset converts with golang.org/x/text, as the others do.
func stdlibCharset(charset string, r io.Reader) (io.Reader, error) {
	e, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return e.NewDecoder().Reader(r), nil
}

// stdlib walks the tree with net/mail and mime/multipart; any error
// from them is giving up.
func stdlib(r io.Reader, _ io.ReaderAt, _ int64) error {
	m, err := mail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return err
	}
	dec := &stdmime.WordDecoder{CharsetReader: stdlibCharset}
	decodeStd(dec, textproto.MIMEHeader(m.Header))
	var first error
	stdEntity(dec, textproto.MIMEHeader(m.Header), m.Body, 0, &first)
	return first
}

func decodeStd(dec *stdmime.WordDecoder, h textproto.MIMEHeader) {
	for _, vs := range h {
		for _, v := range vs {
			dec.DecodeHeader(v) // an unknown charset is not fatal
		}
	}
}

// stdEntity walks one entity. It goes on after an error where it can
// (the next part, the next multipart) so that it does all the work a
// tolerant reader would; the first error is kept in first.
func stdEntity(dec *stdmime.WordDecoder, h textproto.MIMEHeader, body io.Reader, depth int, first *error) {
	fail := func(err error) {
		if *first == nil {
			*first = err
		}
	}
	if depth > 50 {
		fail(fmt.Errorf("too deep"))
		return
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := stdmime.ParseMediaType(ct)
	if err != nil {
		fail(err) // a lost boundary: read the body as text
		mt, params = "text/plain", nil
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				fail(err)
				return
			}
			decodeStd(dec, p.Header)
			stdEntity(dec, p.Header, p, depth+1, first)
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	if cs := params["charset"]; strings.HasPrefix(mt, "text/") && cs != "" {
		if cr, err := stdlibCharset(cs, body); err == nil {
			body = cr
		}
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		fail(err)
	}
}

// goMessage walks go-message's entity tree. Unknown charsets and
// encodings are not errors; after another error it goes on where it
// can, like the stdlib walk, and reports the first one.
func goMessage(r io.Reader, _ io.ReaderAt, _ int64) error {
	e, err := message.Read(r)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return err
	}
	var first error
	goEntity(e, 0, &first)
	return first
}

func goEntity(e *message.Entity, depth int, first *error) {
	fields := e.Header.Fields()
	for fields.Next() {
		fields.Text()
	}
	mr := e.MultipartReader()
	if mr == nil {
		if _, err := io.Copy(io.Discard, e.Body); err != nil && *first == nil {
			*first = err
		}
		return
	}
	for depth < 50 {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			if *first == nil {
				*first = err
			}
			return
		}
		goEntity(p, depth+1, first)
	}
}

// enmimeRun reads the envelope (enmime decodes every body as it
// parses) and decodes every header field of every part.
func enmimeRun(r io.Reader, _ io.ReaderAt, _ int64) error {
	env, err := enmime.ReadEnvelope(r)
	if err != nil {
		return err
	}
	for _, k := range env.GetHeaderKeys() {
		env.GetHeader(k)
	}
	var walk func(p *enmime.Part)
	walk = func(p *enmime.Part) {
		for p != nil {
			for _, vs := range p.Header {
				for _, v := range vs {
					enmime.DecodeRFC2047(v)
				}
			}
			_ = len(p.Content)
			walk(p.FirstChild)
			p = p.NextSibling
		}
	}
	walk(env.Root)
	return nil
}

// runBytes runs l on a message in memory.
func runBytes(l lib, m []byte) error {
	return l.run(&bytesReader{bytes.NewReader(m), m}, bytes.NewReader(m), int64(len(m)))
}

// parsePosthorn parses in place when the message is in memory (as the
// others get it) and through the ReaderAt otherwise (a file).
func parsePosthorn(r io.Reader, ra io.ReaderAt, size int64) (*mime.Part, error) {
	if br, ok := r.(*bytesReader); ok {
		return mime.ParseBytes(context.Background(), br.b)
	}
	return mime.Parse(context.Background(), ra, size)
}

// bytesReader marks a message held in memory.
type bytesReader struct {
	*bytes.Reader
	b []byte
}
