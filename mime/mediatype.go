package mime

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrBadMediaType reports a Content-Type or Content-Disposition value
// that could be read only in part.
var ErrBadMediaType = errors.New("mime: malformed media type or parameter")

// ParseMediaType parses a Content-Type or Content-Disposition value
// (RFC 2045 section 5.1, RFC 2183) into its lower-case type and its
// parameters. Parameter names are lower-case; RFC 2231 continuations are
// joined and their charsets converted to UTF-8; RFC 2047 encoded words in
// values (a common mistake in name and filename) are decoded, except in
// boundary. A bad parameter does not lose the others: the result holds
// everything that could be read, and the error wraps ErrBadMediaType.
func ParseMediaType(v string) (mediatype string, params map[string]string, err error) {
	mt, params, bad := parseMediaType(v)
	if bad != "" {
		err = fmt.Errorf("%w: %s", ErrBadMediaType, bad)
	}
	return mt, params, err
}

// parseMediaType returns what it read and a description of the first
// problem, "" if none.
func parseMediaType(v string) (string, map[string]string, string) {
	var bad string
	note := func(s string) {
		if bad == "" {
			bad = s
		}
	}
	v = strings.TrimSpace(v)
	semi := strings.IndexByte(v, ';')
	if semi < 0 {
		semi = len(v)
	}
	mt := strings.ToLower(strings.TrimSpace(stripComments(v[:semi])))
	if i := strings.IndexAny(mt, " \t"); i >= 0 { // "text/plain charset=x"
		note("white space in media type")
		mt = mt[:i]
	}
	rest := v[semi:]
	var params map[string]string
	var ext map[string][]segment // RFC 2231 parameters by base name
	for rest != "" {
		rest = strings.TrimLeft(rest, "; \t\r\n")
		if rest == "" {
			break
		}
		name, value, tail, ok := nextParam(rest)
		rest = tail
		if !ok {
			note("parameter without value")
			continue
		}
		name = strings.ToLower(name)
		if base, seg, isExt := splitExtName(name); isExt {
			if ext == nil {
				ext = make(map[string][]segment)
			}
			seg.value = value
			ext[base] = append(ext[base], seg)
			continue
		}
		if params == nil {
			params = make(map[string]string, 2)
		}
		if _, dup := params[name]; dup {
			note("duplicate parameter " + name)
			continue
		}
		if name != "boundary" && (strings.Contains(value, "=?") || !isASCII(value)) {
			value = DecodeText(value)
		}
		params[name] = value
	}
	for base, segs := range ext {
		val, ok := joinSegments(segs)
		if !ok {
			note("bad RFC 2231 parameter " + base)
		}
		if params == nil {
			params = make(map[string]string, 2)
		}
		params[base] = val // the RFC 2231 form wins over a plain one
	}
	return mt, params, bad
}

// nextParam reads "name=value" at the start of s (leading white space
// already gone) and returns what follows it.
func nextParam(s string) (name, value, rest string, ok bool) {
	eq := strings.IndexAny(s, "=;")
	if eq < 0 || s[eq] == ';' {
		if eq < 0 {
			eq = len(s)
		}
		return "", "", s[eq:], false
	}
	name = strings.TrimSpace(stripComments(s[:eq]))
	s = strings.TrimLeft(s[eq+1:], " \t\r\n")
	if strings.HasPrefix(s, "\"") {
		value, s = readQuoted(s)
		// Anything up to the next ";" after the quotes is junk.
		if i := strings.IndexByte(s, ';'); i >= 0 {
			s = s[i:]
		} else {
			s = ""
		}
	} else {
		i := strings.IndexByte(s, ';')
		if i < 0 {
			i = len(s)
		}
		value = strings.TrimSpace(stripComments(s[:i]))
		s = s[i:]
	}
	return name, value, s, name != ""
}

// readQuoted reads a quoted string at the start of s (RFC 5322 3.2.4);
// a missing closing quote runs to the end.
func readQuoted(s string) (value, rest string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:]
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// segment is one piece of an RFC 2231 parameter.
type segment struct {
	n       int  // continuation number, -1 when the name has none
	encoded bool // name ended in "*": charset'lang'%XX form
	value   string
}

// splitExtName recognises "name*", "name*N" and "name*N*".
func splitExtName(name string) (base string, seg segment, ok bool) {
	i := strings.IndexByte(name, '*')
	if i <= 0 {
		return "", segment{}, false
	}
	base, suffix := name[:i], name[i+1:]
	seg.n = -1
	if suffix == "" {
		seg.encoded = true
		return base, seg, true
	}
	if strings.HasSuffix(suffix, "*") {
		seg.encoded = true
		suffix = suffix[:len(suffix)-1]
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || n < 0 || n > 999 {
		return "", segment{}, false
	}
	seg.n = n
	return base, seg, true
}

// joinSegments joins continuations in order and converts the charset
// named by the first one (RFC 2231 sections 3 and 4).
func joinSegments(segs []segment) (string, bool) {
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].n < segs[j].n })
	ok := true
	var charset string
	var raw []byte
	for i, s := range segs {
		if s.n != i && !(s.n == -1 && i == 0) {
			ok = false // a gap or duplicate: keep going with what is there
		}
		v := s.value
		if !s.encoded {
			raw = append(raw, v...)
			continue
		}
		if i == 0 {
			if q := strings.IndexByte(v, '\''); q >= 0 {
				charset = v[:q]
				v = v[q+1:]
				if q2 := strings.IndexByte(v, '\''); q2 >= 0 {
					v = v[q2+1:] // the language, dropped
				}
			}
		}
		raw = appendPercentDecoded(raw, v)
	}
	s, known := decodeCharset(charset, raw)
	return s, ok && known
}

// appendPercentDecoded decodes %XX escapes, leaving a bad "%" as it is.
func appendPercentDecoded(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// stripComments removes RFC 5322 comments (nested parentheses) outside
// quoted strings.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (depth > 0 || inQuote) && i+1 < len(s):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case c == '"' && depth == 0:
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '(' && !inQuote:
			depth++
		case c == ')' && !inQuote && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// classify fills in the media type, disposition and transfer encoding
// from the header, with the defaults of RFC 2045 and RFC 2046.
func (p *Part) classify(defType string) {
	p.ContentType = defType
	if v := p.Header.Get("Content-Type"); v != "" {
		mt, params, bad := parseMediaType(v)
		if bad != "" {
			p.defect(DefectBadParameter, p.Offset, bad)
		}
		p.Params = params
		if slash := strings.IndexByte(mt, '/'); slash > 0 && slash < len(mt)-1 {
			p.ContentType = mt
		} else if !(mt == "" && defType != "text/plain") {
			// RFC 2045 5.2: a bad Content-Type means text/plain.
			p.defect(DefectBadContentType, p.Offset, v)
			p.ContentType = "text/plain"
		}
	}
	if v := p.Header.Get("Content-Disposition"); v != "" {
		d, params, bad := parseMediaType(v)
		if bad != "" {
			p.defect(DefectBadParameter, p.Offset, bad)
		}
		p.Disposition, p.DispositionParams = d, params
	}
	p.TransferEncoding = "7bit"
	if v := p.Header.Get("Content-Transfer-Encoding"); v != "" {
		te := strings.ToLower(strings.TrimSpace(stripComments(v)))
		switch te {
		case "7bit", "8bit", "binary", "base64", "quoted-printable":
		case "7-bit", "8-bit":
			te = te[:1] + "bit"
		case "":
			te = "7bit"
		default:
			p.defect(DefectBadTransferEncoding, p.Offset, te)
		}
		p.TransferEncoding = te
	}
	if p.IsMultipart() {
		p.boundary = strings.TrimRight(p.Params["boundary"], " \t")
		if p.boundary == "" {
			p.defect(DefectNoBoundary, p.Offset, "")
		}
	}
}
