package smtpclient

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"

	phmime "github.com/posthorn/posthorn/mime"
)

// header is one header block as read: its fields, each with its
// continuation lines and line ending.
type header struct {
	fields [][]byte
}

// name returns the lower-case field name of f.
func fieldName(f []byte) string {
	i := bytes.IndexByte(f, ':')
	if i < 0 {
		return ""
	}
	return strings.ToLower(string(bytes.TrimSpace(f[:i])))
}

// value returns the unfolded value of the first field called name.
func (h *header) value(name string) (string, bool) {
	for _, f := range h.fields {
		if fieldName(f) == name {
			v := f[bytes.IndexByte(f, ':')+1:]
			v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
			v = bytes.ReplaceAll(v, []byte("\n"), nil)
			return string(bytes.TrimSpace(v)), true
		}
	}
	return "", false
}

// contentType returns the media type (with the RFC 2045/2046 defaults)
// and the boundary of a multipart.
func (h *header) contentType(digest bool) (string, string) {
	def := "text/plain"
	if digest {
		def = "message/rfc822"
	}
	v, ok := h.value("content-type")
	if !ok {
		return def, ""
	}
	mt, params, _ := phmime.ParseMediaType(v)
	if mt == "" {
		return "text/plain", ""
	}
	b := params["boundary"]
	if len(b) > 200 {
		b = "" // RFC 2046 §5.1.1 allows 70; a longer one is kept as a leaf
	}
	return mt, b
}

// transferEncoding returns the lower-case Content-Transfer-Encoding
// token, "" when absent.
func (h *header) transferEncoding() string {
	v, _ := h.value("content-transfer-encoding")
	if i := strings.IndexAny(v, " \t;("); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}

// readHeader reads a header block up to its blank line. ended says the
// entity ended without one (a delimiter or the end of input), st says
// how. Scan mode refuses 8-bit octets: they cannot be converted.
func (w *walker) readHeader(bounds []string) (h header, st stop, ended bool, err error) {
	total := 0
	for {
		frag, bol, eol, err := w.next()
		if err == io.EOF {
			return h, stop{level: -1}, true, nil
		}
		if err != nil {
			return h, st, false, err
		}
		if s, ok := isDelim(frag, bol, eol, bounds); ok {
			return h, s, true, nil
		}
		if bol && eol && (len(frag) == 1 || len(frag) == 2 && frag[0] == '\r') {
			return h, st, false, nil // the blank line
		}
		total += len(frag)
		if total > maxConvHeader {
			return h, st, false, convFailure("header block too large")
		}
		if !w.write && has8bit(frag, false) {
			return h, st, false, convFailure("a header field holds 8-bit octets (use SMTPUTF8/RFC 2047)")
		}
		if bol && (frag[0] == ' ' || frag[0] == '\t') && len(h.fields) > 0 || !bol && len(h.fields) > 0 {
			last := &h.fields[len(h.fields)-1]
			*last = append(*last, frag...)
			continue
		}
		h.fields = append(h.fields, bytes.Clone(frag))
	}
}

// writeHeader writes a header in write mode, with its
// Content-Transfer-Encoding replaced by newCTE when it differs, and
// MIME-Version added to a message header that lacks it (RFC 2045 §4). Composite
// parts labelled 8bit or binary become 7bit: their content now is.
func (w *walker) writeHeader(h header, message bool, cte, newCTE string, ended bool) error {
	if !w.write {
		return nil
	}
	if newCTE == "7bit" && cte != "8bit" && cte != "binary" {
		newCTE = ""
	}
	var b bytes.Buffer
	for _, f := range h.fields {
		if newCTE != "" && fieldName(f) == "content-transfer-encoding" {
			continue
		}
		b.Write(f)
		if f[len(f)-1] != '\n' {
			b.WriteString("\r\n")
		}
	}
	if newCTE != "" {
		if _, ok := h.value("mime-version"); !ok && message {
			b.WriteString("MIME-Version: 1.0\r\n")
		}
		b.WriteString("Content-Transfer-Encoding: " + newCTE + "\r\n")
	}
	if !ended {
		b.WriteString("\r\n")
	}
	return w.out(b.Bytes())
}

// multipart handles the body of a multipart: preamble, parts, close
// delimiter, epilogue (RFC 2046 §5.1.1). A missing close delimiter ends
// the multipart at its parent's delimiter or the end of input.
func (w *walker) multipart(depth int, bounds []string, boundary string, digest bool) (stop, error) {
	nb := append(bounds[:len(bounds):len(bounds)], boundary)
	level := len(nb) - 1
	st, err := w.passLines(nb)
	for err == nil {
		if st.level != level {
			return st, nil
		}
		if err = w.out(st.line); err != nil {
			break
		}
		if st.close {
			return w.passLines(bounds)
		}
		st, err = w.entity(depth+1, nb, digest, false)
	}
	return stop{}, err
}

// passLines copies a preamble or epilogue. Readers ignore them (RFC 2046
// §5.1.1), so 8-bit octets there become "?" rather than a bounce.
func (w *walker) passLines(bounds []string) (stop, error) {
	for {
		frag, bol, eol, err := w.next()
		if err == io.EOF {
			return stop{level: -1}, nil
		}
		if err != nil {
			return stop{}, err
		}
		if s, ok := isDelim(frag, bol, eol, bounds); ok {
			return s, nil
		}
		if !w.write {
			w.dirty = w.dirty || has8bit(frag, false)
			continue
		}
		out := frag
		if has8bit(frag, false) {
			out = bytes.Clone(frag)
			for i, c := range out {
				if c >= 0x80 {
					out[i] = '?'
				}
			}
		}
		if err := w.out(out); err != nil {
			return stop{}, err
		}
	}
}

// leafBody scans (needs encoding?) or writes (as is, or re-encoded) a
// leaf's body. The line break before a delimiter belongs to the
// delimiter, so an encoder is handed each line break only once the next
// line is known not to be one.
func (w *walker) leafBody(bounds []string, plain bool, cte, newCTE string) (stop, error) {
	if !w.write {
		return w.scanLeaf(bounds, plain, cte)
	}
	var enc io.WriteCloser
	switch newCTE {
	case phmime.EncQuotedPrintable:
		enc = quotedprintable.NewWriter(w.w)
	case phmime.EncBase64:
		enc = base64.NewEncoder(base64.StdEncoding, &lineWrapper{w: w.w})
	}
	var held []byte
	for {
		frag, bol, eol, err := w.next()
		st, isStop := isDelim(frag, bol, eol, bounds)
		if err == io.EOF {
			st, isStop = stop{level: -1}, true
		} else if err != nil {
			return stop{}, err
		}
		if isStop {
			if enc == nil {
				return st, nil
			}
			if st.level < 0 && held != nil {
				if _, err := enc.Write(held); err != nil {
					return stop{}, err
				}
				held = nil
			}
			if err := enc.Close(); err != nil {
				return stop{}, err
			}
			if held != nil {
				return st, w.out([]byte("\r\n"))
			}
			return st, nil
		}
		if enc == nil {
			if err := w.out(frag); err != nil {
				return stop{}, err
			}
			continue
		}
		if held != nil {
			if _, err := enc.Write(held); err != nil {
				return stop{}, err
			}
			held = nil
		}
		if eol {
			n := 1
			if len(frag) > 1 && frag[len(frag)-2] == '\r' {
				n = 2
			}
			held = []byte("\r\n")[2-n:]
			frag = frag[:len(frag)-n]
		}
		if _, err := enc.Write(frag); err != nil {
			return stop{}, err
		}
	}
}

// scanLeaf records whether the leaf needs re-encoding.
func (w *walker) scanLeaf(bounds []string, plain bool, cte string) (stop, error) {
	eight, long := false, false
	lineLen := 0
	for {
		frag, bol, eol, err := w.next()
		if err == io.EOF {
			return w.planLeaf(stop{level: -1}, plain, cte, eight, long)
		}
		if err != nil {
			return stop{}, err
		}
		if st, ok := isDelim(frag, bol, eol, bounds); ok {
			return w.planLeaf(st, plain, cte, eight, long)
		}
		eight = eight || has8bit(frag, true)
		lineLen += len(frag)
		if eol {
			n := lineLen - 1
			if len(frag) >= 2 && frag[len(frag)-2] == '\r' {
				n--
			}
			long = long || n > maxLine
			lineLen = 0
		} else if lineLen > maxLine+1 {
			long = true
		}
	}
}

func (w *walker) planLeaf(st stop, plain bool, cte string, eight, long bool) (stop, error) {
	if eight && !plain {
		return stop{}, convFailure("8-bit octets in a part with Content-Transfer-Encoding " + cte)
	}
	w.plan = append(w.plan, plain && (eight || long))
	return st, nil
}

// lineWrapper breaks base64 output into lines of 76 characters (RFC 2045
// §6.8). The line break comes before the next character, so the output
// never ends with one: the line break before a delimiter is written
// separately.
type lineWrapper struct {
	w   io.Writer
	col int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if l.col == 76 {
			if _, err := l.w.Write([]byte("\r\n")); err != nil {
				return n, err
			}
			l.col = 0
		}
		k := min(len(p), 76-l.col)
		if _, err := l.w.Write(p[:k]); err != nil {
			return n, err
		}
		l.col += k
		n += k
		p = p[k:]
	}
	return n, nil
}

// has8bit reports whether b holds an octet >= 0x80 (or NUL, when nul).
func has8bit(b []byte, nul bool) bool {
	for _, c := range b {
		if c >= 0x80 || nul && c == 0 {
			return true
		}
	}
	return false
}
