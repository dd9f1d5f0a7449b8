package imapserver

import (
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/mime"
)

// appendEnvelope formats the ENVELOPE of a message header (RFC 9051
// §7.5.2). Strings are the header values as they stand, unfolded and not
// decoded, as the RFC asks; 8-bit text goes as literals so that one
// cached form serves IMAP4rev1 and IMAP4rev2 clients alike.
func appendEnvelope(b []byte, h *mime.Header) []byte {
	b = append(b, '(')
	b = imapwire.AppendNString(b, h.Get("Date"), false)
	b = append(b, ' ')
	b = imapwire.AppendNString(b, h.Get("Subject"), false)
	from := parseAddrList(h.Get("From"))
	for _, f := range []string{"From", "Sender", "Reply-To", "To", "Cc", "Bcc"} {
		b = append(b, ' ')
		var list []envAddr
		switch f {
		case "From":
			list = from
		case "Sender", "Reply-To":
			// RFC 9051 §7.5.2: default to From when absent.
			list = parseAddrList(h.Get(f))
			if len(list) == 0 {
				list = from
			}
		default:
			list = parseAddrList(h.Get(f))
		}
		b = appendAddrList(b, list)
	}
	b = append(b, ' ')
	b = imapwire.AppendNString(b, h.Get("In-Reply-To"), false)
	b = append(b, ' ')
	b = imapwire.AppendNString(b, h.Get("Message-ID"), false)
	return append(b, ')')
}

// envAddr is one address structure: name, adl, mailbox, host. A group
// start has only mailbox (the group name); a group end has nothing.
type envAddr struct {
	name, adl, mailbox, host string
	group                    int // 0 address, 1 group start, 2 group end
}

func appendAddrList(b []byte, list []envAddr) []byte {
	if len(list) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range list {
		b = append(b, '(')
		switch a.group {
		case 1:
			b = append(b, "NIL NIL "...)
			b = imapwire.AppendNString(b, a.mailbox, false)
			b = append(b, " NIL"...)
		case 2:
			b = append(b, "NIL NIL NIL NIL"...)
		default:
			b = imapwire.AppendNString(b, a.name, false)
			b = append(b, ' ')
			b = imapwire.AppendNString(b, a.adl, false)
			b = append(b, ' ')
			b = imapwire.AppendNString(b, a.mailbox, false)
			b = append(b, ' ')
			b = imapwire.AppendNString(b, a.host, false)
		}
		b = append(b, ')')
	}
	return append(b, ')')
}

// maxAddrs bounds the addresses taken from one header field.
const maxAddrs = 1000

// parseAddrList reads an RFC 5322 address-list leniently: display names
// (atoms, quoted strings, encoded words kept as written), angle addresses
// with an obsolete route, bare addr-specs and groups. Comments are
// dropped. What cannot be read is skipped up to the next comma.
func parseAddrList(s string) []envAddr {
	var out []envAddr
	p := &addrScanner{s: s}
	inGroup := false
	for len(out) < maxAddrs {
		p.skipSpace()
		if p.i >= len(p.s) {
			break
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			continue
		case ';':
			p.i++
			if inGroup {
				out = append(out, envAddr{group: 2})
				inGroup = false
			}
			continue
		}
		words, stop := p.phrase()
		switch stop {
		case '<':
			p.i++
			a := p.angle()
			a.name = strings.Join(words, " ")
			if a.mailbox != "" || a.host != "" {
				out = append(out, a)
			}
		case ':':
			p.i++
			if !inGroup {
				out = append(out, envAddr{mailbox: strings.Join(words, " "), group: 1})
				inGroup = true
			}
		case '@':
			p.i++
			local := strings.Join(words, "")
			out = append(out, envAddr{mailbox: local, host: p.domain()})
		default:
			if len(words) > 0 {
				// A bare local part: no host (RFC 9051 allows NIL host
				// only for groups; keep what there is).
				out = append(out, envAddr{mailbox: strings.Join(words, "")})
			}
			if p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ';' {
				p.i++ // skip the unreadable byte
			}
		}
	}
	if inGroup {
		out = append(out, envAddr{group: 2})
	}
	return out
}

// addrScanner walks a header value.
type addrScanner struct {
	s string
	i int
}

// skipSpace skips white space and comments.
func (p *addrScanner) skipSpace() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
		case c == '(':
			depth := 0
			for p.i < len(p.s) {
				switch p.s[p.i] {
				case '\\':
					p.i++
				case '(':
					depth++
				case ')':
					depth--
				}
				p.i++
				if depth == 0 {
					break
				}
			}
		default:
			return
		}
	}
}

// phrase reads words (atoms with dots, quoted strings) up to one of
// "<", ":", "@", ",", ";" or the end, which it returns (0 at the end).
func (p *addrScanner) phrase() ([]string, byte) {
	var words []string
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return words, 0
		}
		c := p.s[p.i]
		switch c {
		case '<', ':', '@', ',', ';', '>':
			return words, c
		case '"':
			words = append(words, p.quoted())
		default:
			start := p.i
			for p.i < len(p.s) && !strings.ContainsRune("<>:@,;\"() \t\r\n", rune(p.s[p.i])) {
				p.i++
			}
			if p.i == start {
				return words, c
			}
			words = append(words, p.s[start:p.i])
		}
		if len(words) > 200 {
			return words, 0
		}
	}
}

func (p *addrScanner) quoted() string {
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// angle reads "[route:] local@domain>" after "<".
func (p *addrScanner) angle() envAddr {
	var a envAddr
	end := strings.IndexByte(p.s[p.i:], '>')
	var inner string
	if end < 0 {
		inner = p.s[p.i:]
		p.i = len(p.s)
	} else {
		inner = p.s[p.i : p.i+end]
		p.i += end + 1
	}
	inner = strings.TrimSpace(inner)
	if strings.HasPrefix(inner, "@") {
		if k := strings.IndexByte(inner, ':'); k >= 0 {
			a.adl = inner[:k]
			inner = inner[k+1:]
		}
	}
	if k := strings.LastIndexByte(inner, '@'); k >= 0 {
		a.mailbox, a.host = unquoteLocal(inner[:k]), strings.TrimSpace(inner[k+1:])
	} else {
		a.mailbox = unquoteLocal(inner)
	}
	return a
}

// unquoteLocal removes the quotes of a quoted local part that needs none.
func unquoteLocal(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && !strings.ContainsAny(s[1:len(s)-1], "\\\" ") {
		return s[1 : len(s)-1]
	}
	return s
}

// domain reads a domain (dot-atoms or a domain literal) after "@".
func (p *addrScanner) domain() string {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",;<>() \t\r\n", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}
