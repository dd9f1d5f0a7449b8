package mime

import (
	"strings"
	"unicode/utf8"
)

// DecodeText decodes an unstructured header value (RFC 2047 section 5.1
// and the display names of section 5.3) to UTF-8. It is lenient the way
// mail readers are: encoded words inside quoted strings or run into
// other text are decoded; adjacent words in one charset are joined
// before conversion, so a character split across two words survives;
// base64 without padding and Q text with spaces are accepted; an
// unknown charset keeps the bytes (as UTF-8 if they are, else
// Windows-1252). Raw 8-bit text (RFC 6532) is kept when it is UTF-8.
func DecodeText(s string) string {
	if !strings.Contains(s, "=?") {
		return fix8bit(s)
	}
	var out strings.Builder
	out.Grow(len(s))
	var pendCharset string
	var pend []byte // decoded bytes of adjacent words in one charset
	buf := make([]byte, 0, len(s))
	flush := func() {
		if pend != nil {
			t, _ := decodeCharset(pendCharset, pend)
			out.WriteString(t)
			buf, pend = pend, nil
		}
	}
	afterWord := false
	for len(s) > 0 {
		j := strings.Index(s, "=?")
		if j < 0 {
			flush()
			out.WriteString(fix8bit(s))
			break
		}
		charset, enc, text, n, ok := parseEncodedWord(s[j:])
		if !ok {
			flush()
			out.WriteString(fix8bit(s[:j+2]))
			s = s[j+2:]
			afterWord = false
			continue
		}
		// White space between two encoded words is not displayed
		// (RFC 2047 section 6.2).
		if between := s[:j]; !afterWord || strings.Trim(between, " \t\r\n") != "" {
			flush()
			out.WriteString(fix8bit(between))
		}
		if pend != nil && !strings.EqualFold(charset, pendCharset) {
			flush()
		}
		if pend == nil {
			pendCharset = charset
			pend = buf[:0]
		}
		if enc == 'b' {
			var d b64state
			pend = d.finish(d.decode(pend, []byte(text)))
		} else {
			pend = appendQWord(pend, text)
		}
		s = s[j+n:]
		afterWord = true
	}
	flush()
	return out.String()
}

// parseEncodedWord reads "=?charset?enc?text?=" at the start of s and
// returns the charset, the encoding ('b' or 'q'), the encoded text and
// the length of the word.
func parseEncodedWord(s string) (charset string, enc byte, text string, n int, ok bool) {
	// s starts with "=?"
	q := strings.IndexByte(s[2:], '?')
	if q <= 0 || q > 64 {
		return "", 0, "", 0, false
	}
	charset = s[2 : 2+q]
	if strings.ContainsAny(charset, " \t\r\n\"()<>,;:") {
		return "", 0, "", 0, false
	}
	rest := s[2+q+1:]
	if len(rest) < 2 || rest[1] != '?' {
		return "", 0, "", 0, false
	}
	enc = rest[0] | 0x20
	if enc != 'b' && enc != 'q' {
		return "", 0, "", 0, false
	}
	text = rest[2:]
	end := strings.Index(text, "?=")
	if end < 0 {
		return "", 0, "", 0, false
	}
	text = text[:end]
	n = 2 + q + 1 + 2 + end + 2
	if i := strings.IndexByte(charset, '*'); i >= 0 {
		charset = charset[:i] // RFC 2231 section 5: charset*language
	}
	return charset, enc, text, n, true
}

// appendQWord decodes the Q encoding (RFC 2047 section 4.2).
func appendQWord(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

// EncodeText encodes s for an unstructured header field such as Subject
// (RFC 2047): s itself when it is printable ASCII without "=?", else
// UTF-8 encoded words of at most 75 characters, separated by spaces so
// the header writer may fold between them. It chooses Q or B, whichever
// is shorter.
func EncodeText(s string) string { return encodeWords(s, false) }

// encodeWords encodes s as encoded words; phrase restricts Q to the
// characters RFC 2047 section 5(3) allows in a phrase.
func encodeWords(s string, phrase bool) string {
	if !needsEncoding(s) {
		return s
	}
	q := 0
	for i := 0; i < len(s); i++ {
		if !qSafe(s[i], phrase) {
			q += 2
		}
	}
	useB := q > len(s)/3 // B costs a third more than the input
	const maxWord = 75
	overhead := len("=?utf-8?q??=")
	var words []string
	curLen := 0
	flush := func(chunk string) {
		if chunk == "" {
			return
		}
		if useB {
			words = append(words, "=?utf-8?b?"+b64std(chunk)+"?=")
		} else {
			words = append(words, "=?utf-8?q?"+qEncode(chunk, phrase)+"?=")
		}
	}
	start := 0
	for i, r := range s {
		w := utf8.RuneLen(r)
		cost := w
		if useB {
			cost = 0
		} else if w > 1 || !qSafe(s[i], phrase) {
			cost = 3 * w
		}
		length := overhead + curLen + cost
		if useB {
			length = overhead + (i+w-start+2)/3*4
		}
		if length > maxWord && i > start {
			flush(s[start:i])
			start, curLen = i, 0
		}
		curLen += cost
	}
	flush(s[start:])
	return strings.Join(words, " ")
}

// needsEncoding reports whether s cannot stand as it is in a header.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || (c < ' ' && c != '\t') {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// qSafe reports whether c stands for itself in Q encoding.
func qSafe(c byte, phrase bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == ' ': // becomes "_"
		return true
	case phrase:
		return c == '!' || c == '*' || c == '+' || c == '-' || c == '/'
	default:
		return c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_'
	}
}

func qEncode(s string, phrase bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case qSafe(c, phrase):
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
