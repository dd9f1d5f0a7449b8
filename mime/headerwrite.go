package mime

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// headerWriter writes header fields folded at white space so that lines
// stay within 78 characters where the content allows (RFC 5322 2.1.1).
type headerWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (h *headerWriter) raw(s string) {
	if h.err != nil {
		return
	}
	n, err := io.WriteString(h.w, s)
	h.n += int64(n)
	h.err = err
}

// field writes "Name: value" folded. Values are ready to send: the
// caller has encoded what needs encoding.
func (h *headerWriter) field(name, value string) {
	h.raw(foldField(name, value))
}

// foldField folds at spaces; a run without spaces longer than a line
// stays whole (callers keep such runs under 998 by encoding them).
func foldField(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	lineLen := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		if i > 0 || word != "" {
			if lineLen+1+len(word) > 78 && (lineLen > len(name)+1 || len(word) <= 77) {
				b.WriteString("\r\n")
				lineLen = 0
			}
			b.WriteByte(' ')
			lineLen++
		}
		b.WriteString(word)
		lineLen += len(word)
	}
	b.WriteString("\r\n")
	return b.String()
}

// unstructured encodes text for Subject and the like: encoded words
// when it is not printable ASCII or has a word too long to fold.
func unstructured(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
	if hasLongWord(s) && !needsEncoding(s) {
		return encodeLong(s, false)
	}
	return EncodeText(s)
}

// hasLongWord reports whether s has a run without spaces too long to
// fit on a folded line.
func hasLongWord(s string) bool {
	for _, w := range strings.Split(s, " ") {
		if len(w) > 70 {
			return true
		}
	}
	return false
}

// encodeLong forces encoded words (Q) on ASCII text with long runs.
func encodeLong(s string, phrase bool) string {
	var words []string
	for len(s) > 0 {
		n := min(len(s), 40)
		words = append(words, "=?utf-8?q?"+qEncode(s[:n], phrase)+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// addressList formats addresses separated by ", " (folded there).
func addressList(as []Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// param formats one MIME parameter: a token, a quoted string, or the
// RFC 2231 form (with continuations) for non-ASCII or long values.
func param(name, value string) []string {
	if isASCII(value) && len(value) <= 60 && !strings.ContainsAny(value, "\r\n") {
		if value != "" && isToken(value) {
			return []string{name + "=" + value}
		}
		return []string{name + "=" + quoteString(value)}
	}
	var enc strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if isAttrChar(c) {
			enc.WriteByte(c)
		} else {
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	v := "utf-8''" + enc.String()
	if len(v) <= 60 {
		return []string{name + "*=" + v}
	}
	var out []string
	for n := 0; v != ""; n++ {
		k := min(len(v), 60)
		for k < len(v) && k > 2 && (v[k-1] == '%' || v[k-2] == '%') {
			k-- // never split a %XX escape
		}
		out = append(out, fmt.Sprintf("%s*%d*=%s", name, n, v[:k]))
		v = v[k:]
	}
	return out
}

// isToken reports whether s is an RFC 2045 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?=", c) >= 0 {
			return false
		}
	}
	return true
}

// isAttrChar reports whether c may stand unescaped in an RFC 2231 value.
func isAttrChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte("*'%()<>@,;:\\\"/[]?=", c) < 0
}

// withParams formats "value; a=b; c=d" with a fold before each parameter.
func withParams(value string, params [][2]string) string {
	var b strings.Builder
	b.WriteString(value)
	for _, p := range params {
		for _, seg := range param(p[0], p[1]) {
			b.WriteString("; ")
			b.WriteString(seg)
		}
	}
	return b.String()
}

// validUTF8Header drops what cannot stand in a header.
func validUTF8Header(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
