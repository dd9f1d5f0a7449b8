package imapserver

import (
	"bytes"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/mime"
)

// structWriter formats BODY and BODYSTRUCTURE (RFC 9051 §7.5.2) of a
// parsed message. Line counts need the body octets, so it reads them
// once through the part's ReaderAt.
type structWriter struct {
	ext bool   // BODYSTRUCTURE: with extension data
	buf []byte // scratch for counting lines
}

// appendPart formats the body structure of p.
func (w *structWriter) appendPart(b []byte, p *mime.Part, depth int) []byte {
	if p.IsMultipart() && len(p.Parts) > 0 && depth < imapwire.MaxDepth {
		b = append(b, '(')
		for _, c := range p.Parts {
			b = w.appendPart(b, c, depth+1)
		}
		b = append(b, ' ')
		_, sub := splitType(p.ContentType)
		b = imapwire.AppendString(b, sub, false)
		if w.ext {
			b = append(b, ' ')
			b = appendParams(b, p.Params)
			b = w.appendExt(b, p)
		}
		return append(b, ')')
	}
	typ, sub := splitType(p.ContentType)
	if p.IsMultipart() {
		// A multipart without parts is shown as text/plain (RFC 2046
		// §5.1.7 is silent; readers show the body as text).
		typ, sub = "text", "plain"
	}
	b = append(b, '(')
	b = imapwire.AppendString(b, typ, false)
	b = append(b, ' ')
	b = imapwire.AppendString(b, sub, false)
	b = append(b, ' ')
	b = appendParams(b, p.Params)
	b = append(b, ' ')
	b = imapwire.AppendNString(b, p.Header.Get("Content-ID"), false)
	b = append(b, ' ')
	b = imapwire.AppendNString(b, p.Header.Get("Content-Description"), false)
	b = append(b, ' ')
	b = imapwire.AppendString(b, strings.ToUpper(p.TransferEncoding), false)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.Size(), 10)
	switch {
	case typ == "message" && (sub == "rfc822" || sub == "global") && len(p.Parts) == 1 && depth < imapwire.MaxDepth:
		enc := p.Parts[0]
		b = append(b, ' ')
		b = appendEnvelope(b, &enc.Header)
		b = append(b, ' ')
		b = w.appendPart(b, enc, depth+1)
		b = append(b, ' ')
		b = strconv.AppendInt(b, w.lines(p), 10)
	case typ == "text":
		b = append(b, ' ')
		b = strconv.AppendInt(b, w.lines(p), 10)
	}
	if w.ext {
		b = append(b, ' ')
		b = imapwire.AppendNString(b, p.Header.Get("Content-MD5"), false)
		b = w.appendExt(b, p)
	}
	return append(b, ')')
}

// appendExt appends " disposition language location".
func (w *structWriter) appendExt(b []byte, p *mime.Part) []byte {
	b = append(b, ' ')
	if p.Disposition == "" {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		b = imapwire.AppendString(b, p.Disposition, false)
		b = append(b, ' ')
		b = appendParams(b, p.DispositionParams)
		b = append(b, ')')
	}
	b = append(b, ' ')
	if lang := strings.TrimSpace(p.Header.Get("Content-Language")); lang == "" {
		b = append(b, "NIL"...)
	} else {
		tags := strings.FieldsFunc(lang, func(r rune) bool { return r == ',' || r == ' ' })
		b = append(b, '(')
		for i, t := range tags {
			if i > 0 {
				b = append(b, ' ')
			}
			b = imapwire.AppendString(b, t, false)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return imapwire.AppendNString(b, p.Header.Get("Content-Location"), false)
}

// appendParams formats a parameter list, sorted for a stable output, or
// NIL.
func appendParams(b []byte, params map[string]string) []byte {
	if len(params) == 0 {
		return append(b, "NIL"...)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '(')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ' ')
		}
		b = imapwire.AppendString(b, k, false)
		b = append(b, ' ')
		b = imapwire.AppendString(b, params[k], false)
	}
	return append(b, ')')
}

// lines counts the lines of a part's body: its line breaks, plus one for
// a last line without one.
func (w *structWriter) lines(p *mime.Part) int64 {
	if w.buf == nil {
		w.buf = make([]byte, 32<<10)
	}
	r := p.RawBody()
	var n int64
	var last byte
	for {
		k, err := r.Read(w.buf)
		n += int64(bytes.Count(w.buf[:k], []byte{'\n'}))
		if k > 0 {
			last = w.buf[k-1]
		}
		if err == io.EOF || err != nil {
			break
		}
	}
	if p.Size() > 0 && last != '\n' {
		n++
	}
	return n
}

// splitType splits "text/plain" into "text" and "plain".
func splitType(ct string) (string, string) {
	if i := strings.IndexByte(ct, '/'); i > 0 {
		return ct[:i], ct[i+1:]
	}
	return "text", "plain"
}
