package imapserver

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// fetchItem is one data item of a FETCH command.
type fetchItem struct {
	name    string // FLAGS, UID, ENVELOPE, BODY, BINARY, BINARY.SIZE, ...
	peek    bool   // BODY.PEEK / BINARY.PEEK
	section *section
	partial bool
	origin  int64
	count   int64
}

// section is a parsed section spec (RFC 9051 §6.4.5).
type section struct {
	path   []int    // part numbers, empty for the whole message
	text   string   // "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
	fields []string // for HEADER.FIELDS[.NOT], as the client wrote them
}

// fetchReq is a parsed FETCH command.
type fetchReq struct {
	items        []fetchItem
	changedSince uint64
	uid          bool
	// needs
	summary bool // ENVELOPE, BODY, BODYSTRUCTURE
	content bool // any section, RFC822*, BINARY*
	setSeen bool
}

// has reports whether the request names the item.
func (r *fetchReq) has(name string) bool {
	for _, it := range r.items {
		if it.name == name {
			return true
		}
	}
	return false
}

// parseFetch reads the data items and modifiers after the sequence set.
func parseFetch(d *imapwire.Decoder, uid bool) *fetchReq {
	r := &fetchReq{uid: uid}
	add := func(it fetchItem) {
		switch it.name {
		case "ENVELOPE", "BODYSTRUCTURE":
			r.summary = true
		case "BODY":
			if it.section == nil {
				r.summary = true
			} else {
				r.content = true
			}
		case "RFC822", "RFC822.HEADER", "RFC822.TEXT", "BINARY", "BINARY.SIZE":
			r.content = true
		}
		if !it.peek && (it.name == "BODY" && it.section != nil || it.name == "RFC822" ||
			it.name == "RFC822.TEXT" || it.name == "BINARY") {
			r.setSeen = true
		}
		r.items = append(r.items, it)
	}
	if d.Byte('(') {
		for d.Err() == nil && !d.Byte(')') {
			if len(r.items) > 0 {
				d.SP()
			}
			add(parseFetchItem(d))
			if len(r.items) > 100 {
				d.Fail("too many FETCH items")
			}
		}
	} else {
		switch {
		case d.Word("ALL"):
			for _, n := range []string{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} {
				add(fetchItem{name: n})
			}
		case d.Word("FAST"):
			for _, n := range []string{"FLAGS", "INTERNALDATE", "RFC822.SIZE"} {
				add(fetchItem{name: n})
			}
		case d.Word("FULL"):
			for _, n := range []string{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"} {
				add(fetchItem{name: n})
			}
		default:
			add(parseFetchItem(d))
		}
	}
	if d.Byte(' ') {
		// RFC 7162 §3.1.4: (CHANGEDSINCE n)
		d.Expect('(')
		if !d.Word("CHANGEDSINCE") {
			d.Fail("unknown FETCH modifier")
			return r
		}
		d.SP()
		r.changedSince = d.Number64()
		d.Expect(')')
		r.items = append(r.items, fetchItem{name: "MODSEQ"})
	}
	if uid {
		if !r.has("UID") {
			// RFC 9051 §6.4.9: UID FETCH always returns the UID.
			r.items = append([]fetchItem{{name: "UID"}}, r.items...)
		}
	}
	return r
}

// parseFetchItem reads one data item.
func parseFetchItem(d *imapwire.Decoder) fetchItem {
	name := strings.ToUpper(d.Keyword())
	switch name {
	case "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "UID",
		"RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ":
		return fetchItem{name: name}
	case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
	default:
		d.Fail("unknown FETCH item %q", name)
		return fetchItem{}
	}
	it := fetchItem{name: strings.TrimSuffix(name, ".PEEK"), peek: strings.HasSuffix(name, ".PEEK")}
	if d.Peek() != '[' {
		if name != "BODY" {
			d.Fail("%s needs a section", name)
		}
		return it
	}
	d.Expect('[')
	it.section = parseSection(d, it.name != "BODY")
	d.Expect(']')
	if d.Byte('<') {
		if it.name == "BINARY.SIZE" {
			d.Fail("no partial with BINARY.SIZE")
		}
		it.partial = true
		it.origin = int64(d.Number())
		d.Expect('.')
		it.count = int64(d.Number())
		if it.count == 0 && d.Err() == nil {
			d.Fail("partial of 0 octets")
		}
		d.Expect('>')
	}
	return it
}

// parseSection reads a section spec; binary allows part numbers only
// (RFC 3516 §4.2).
func parseSection(d *imapwire.Decoder, binary bool) *section {
	s := &section{}
	for isDigitByte(d.Peek()) {
		n := d.Number()
		if n == 0 || n > 10000 {
			d.Fail("bad part number")
		}
		s.path = append(s.path, int(n))
		if len(s.path) > imapwire.MaxDepth {
			d.Fail("section nested too deep")
		}
		if !d.Byte('.') {
			return s
		}
	}
	if binary {
		if d.Peek() != ']' {
			d.Fail("BINARY takes part numbers only")
		}
		return s
	}
	switch {
	case d.Word("HEADER.FIELDS.NOT"):
		s.text = "HEADER.FIELDS.NOT"
	case d.Word("HEADER.FIELDS"):
		s.text = "HEADER.FIELDS"
	case d.Word("HEADER"):
		s.text = "HEADER"
	case d.Word("TEXT"):
		s.text = "TEXT"
	case d.Word("MIME"):
		if len(s.path) == 0 {
			d.Fail("MIME needs a part number")
		}
		s.text = "MIME"
	}
	if strings.HasPrefix(s.text, "HEADER.FIELDS") {
		d.SP()
		d.Expect('(')
		for d.Err() == nil && !d.Byte(')') {
			if len(s.fields) > 0 {
				d.SP()
			}
			s.fields = append(s.fields, d.AString())
			if len(s.fields) > 200 {
				d.Fail("too many header fields")
			}
		}
		if len(s.fields) == 0 {
			d.Fail("empty header list")
		}
	}
	return s
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// appendSectionName formats the item name of a response, e.g.
// "BODY[1.HEADER.FIELDS (FROM)]<0>".
func appendSectionName(b []byte, it *fetchItem) []byte {
	b = append(b, it.name...)
	b = append(b, '[')
	s := it.section
	for i, n := range s.path {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if s.text != "" {
		if len(s.path) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.text...)
	}
	if s.fields != nil {
		b = append(b, " ("...)
		for i, f := range s.fields {
			if i > 0 {
				b = append(b, ' ')
			}
			b = imapwire.AppendAString(b, strings.ToUpper(f), false)
		}
		b = append(b, ')')
	}
	b = append(b, ']')
	if it.partial {
		b = append(b, '<')
		b = strconv.AppendInt(b, it.origin, 10)
		b = append(b, '>')
	}
	return b
}
