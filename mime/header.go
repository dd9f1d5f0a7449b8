package mime

import (
	"strings"
	"time"
)

// Header is the header block of a message or part: its fields in order,
// as they stand in the message. Lookups are case-insensitive and never
// canonicalise the names that were written.
type Header struct {
	raw    string // immutable, so fields are substrings of it
	fields []fieldPos
}

// fieldPos locates one field in Header.raw.
type fieldPos struct {
	start, nameEnd, value, end int32
}

// Field is one header field.
type Field struct {
	Name  string // as written, without surrounding white space
	Value string // unfolded and trimmed, not RFC 2047-decoded
	Raw   string // the field as in the message, with folding and final line break
}

// Len is the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Raw is the header block as in the message, without the blank line
// that ends it (and without a skipped mbox "From " line).
func (h *Header) Raw() string { return h.raw }

// Field returns field i, 0 <= i < Len().
func (h *Header) Field(i int) Field {
	f := h.fields[i]
	return Field{
		Name:  h.raw[f.start:f.nameEnd],
		Value: unfold(h.raw[f.value:f.end]),
		Raw:   h.raw[f.start:f.end],
	}
}

// Fields returns every field in order.
func (h *Header) Fields() []Field {
	out := make([]Field, len(h.fields))
	for i := range h.fields {
		out[i] = h.Field(i)
	}
	return out
}

// index is the position of the first field named name, or -1.
func (h *Header) index(name string) int {
	for i, f := range h.fields {
		if int(f.nameEnd-f.start) == len(name) && equalFoldASCII(h.raw[f.start:f.nameEnd], name) {
			return i
		}
	}
	return -1
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool { return h.index(name) >= 0 }

// Get returns the unfolded value of the first field named name, "" if
// there is none. The value is raw: see Text for decoded text.
func (h *Header) Get(name string) string {
	if i := h.index(name); i >= 0 {
		f := h.fields[i]
		return unfold(h.raw[f.value:f.end])
	}
	return ""
}

// Values returns the unfolded values of every field named name.
func (h *Header) Values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if int(f.nameEnd-f.start) == len(name) && equalFoldASCII(h.raw[f.start:f.nameEnd], name) {
			out = append(out, unfold(h.raw[f.value:f.end]))
		}
	}
	return out
}

// Text returns the first field named name as UTF-8 text: RFC 2047
// encoded words decoded, raw 8-bit bytes (RFC 6532) kept when they are
// UTF-8 and read as Windows-1252 when they are not.
func (h *Header) Text(name string) string { return DecodeText(h.Get(name)) }

// Subject is the decoded Subject field.
func (h *Header) Subject() string { return h.Text("Subject") }

// Addresses parses every field named name as an address list (From, To,
// Cc, Reply-To, ...) and returns the mailboxes, group members included,
// with decoded display names. The error, if any, concerns only the parts
// that could not be read: the addresses that could are returned too.
func (h *Header) Addresses(name string) ([]Address, error) {
	var all []Address
	var firstErr error
	for _, v := range h.Values(name) {
		a, err := ParseAddressList(v)
		all = append(all, a...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return all, firstErr
}

// Date parses the Date field (RFC 5322 section 3.3, with the obsolete
// forms and common mistakes that ParseDate accepts).
func (h *Header) Date() (time.Time, error) { return ParseDate(h.Get("Date")) }

// MessageID returns the Message-ID without angle brackets or comments,
// "" if absent.
func (h *Header) MessageID() string {
	v := stripComments(h.Get("Message-ID"))
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "<")
	if i := strings.IndexByte(v, '>'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// unfold removes the line breaks of folding (RFC 5322 section 2.2.3) and
// surrounding white space.
func unfold(s string) string {
	s = strings.TrimRight(s, " \t\r\n") // the field's own line break
	s = strings.TrimLeft(s, " \t\r\n")
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return strings.Trim(string(out), " \t")
}

// equalFoldASCII compares b and s ignoring ASCII case.
func equalFoldASCII(b, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}
