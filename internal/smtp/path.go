package smtp

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Path is a mailbox of a reverse-path or forward-path (RFC 5321 §4.1.2).
// Local is the local part with any quoting removed; Domain is a domain
// name, an address literal in brackets ("[192.0.2.1]", "[IPv6:2001:db8::1]"),
// or "" for the null path and for <postmaster>. A source route is dropped
// when parsing (RFC 5321 §4.1.1.3, Appendix C).
type Path struct {
	Local  string
	Domain string
}

// Length limits of RFC 5321 §4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxPath      = 256 // including the angle brackets
)

// IsNull reports whether p is the null reverse-path "<>".
func (p Path) IsNull() bool { return p.Local == "" && p.Domain == "" }

// String returns "local@domain", the local part quoted when it is not a
// dot-string; "" for the null path and "postmaster" for <postmaster>.
func (p Path) String() string {
	if p.IsNull() {
		return ""
	}
	local := p.Local
	if !isDotString(local) {
		local = quoteLocal(local)
	}
	if p.Domain == "" {
		return local
	}
	return local + "@" + p.Domain
}

// ParsePath parses a path in angle brackets, with nothing after it. It
// accepts the null path; smtputf8 allows UTF-8 in the local part and the
// domain (RFC 6531 §3.3).
func ParsePath(s string, smtputf8 bool) (Path, error) {
	p := pathParser{s: s, enh: E513BadDestSyntax}
	path, err := p.parse(true)
	if err != nil {
		return Path{}, err
	}
	if p.i != len(p.s) {
		return Path{}, p.fail("Unexpected text after address")
	}
	if p.nonASCII && !smtputf8 {
		return Path{}, newError(C553BadMailbox, E567NonASCIIAddr, "Non-ASCII address not permitted without SMTPUTF8")
	}
	return path, nil
}

// pathParser walks s from i. UTF-8 is always parsed; nonASCII records
// that some appeared so the caller can refuse it when SMTPUTF8 is absent
// (for MAIL, the parameter that allows it comes after the path).
type pathParser struct {
	s        string
	i        int
	enh      string // enhanced code for syntax errors: 5.1.7 sender, 5.1.3 recipient
	nonASCII bool
}

func (p *pathParser) fail(msg string) *Error {
	return newError(C501ParamSyntax, p.enh, msg)
}

func (p *pathParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// parse reads "<" [route ":"] mailbox ">" or "<>"; postmaster allows the
// bare <postmaster> of RCPT. After it, p.i is just past the ">".
func (p *pathParser) parse(postmaster bool) (Path, error) {
	if p.peek() != '<' {
		return Path{}, p.fail("Syntax: address must be in angle brackets")
	}
	end := p.closingBracket()
	if end < 0 {
		return Path{}, p.fail("Syntax: missing closing angle bracket")
	}
	if end-p.i+1 > maxPath {
		return Path{}, p.fail("Path too long")
	}
	p.i++
	if p.peek() == '>' {
		p.i++
		return Path{}, nil
	}
	if p.peek() == '@' {
		if err := p.route(); err != nil {
			return Path{}, err
		}
	}
	local, err := p.localPart()
	if err != nil {
		return Path{}, err
	}
	if p.peek() == '>' && postmaster && strings.EqualFold(local, "postmaster") && !strings.Contains(p.s[:p.i], ":") {
		p.i++
		return Path{Local: local}, nil
	}
	if p.peek() != '@' {
		return Path{}, p.fail("Syntax: address must be local-part@domain")
	}
	p.i++
	domain, err := p.domainOrLiteral()
	if err != nil {
		return Path{}, err
	}
	if p.peek() != '>' {
		return Path{}, p.fail("Syntax: unexpected character in address")
	}
	p.i++
	return Path{Local: local, Domain: domain}, nil
}

// closingBracket finds the '>' that ends the path, skipping quoted text.
func (p *pathParser) closingBracket() int {
	quoted := false
	for j := p.i + 1; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case quoted && c == '\\':
			j++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return j
		}
	}
	return -1
}

// route skips a source route "@a,@b:" (RFC 5321 §4.1.2 A-d-l), checking
// its domains; the route itself is ignored (RFC 5321 §3.6.1).
func (p *pathParser) route() error {
	for {
		if p.peek() != '@' {
			return p.fail("Syntax: bad source route")
		}
		p.i++
		if _, err := p.domain(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ':':
			p.i++
			return nil
		default:
			return p.fail("Syntax: bad source route")
		}
	}
}

// localPart reads a dot-string or a quoted string (RFC 5321 §4.1.2) and
// returns it unquoted.
func (p *pathParser) localPart() (string, error) {
	var local string
	if p.peek() == '"' {
		var err error
		if local, err = p.quoted(); err != nil {
			return "", err
		}
	} else {
		start := p.i
		for p.i < len(p.s) && (isAtext(p.s[p.i]) || p.s[p.i] == '.') {
			if p.s[p.i] >= 0x80 {
				p.nonASCII = true
			}
			p.i++
		}
		local = p.s[start:p.i]
		if !isDotString(local) {
			return "", p.fail("Syntax: bad local part")
		}
	}
	if len(local) > maxLocalPart {
		return "", p.fail("Local part too long")
	}
	if p.nonASCII && !utf8.ValidString(local) {
		return "", p.fail("Syntax: invalid UTF-8 in local part")
	}
	return local, nil
}

// quoted reads a Quoted-string: qtextSMTP and quoted-pairSMTP (%d92
// %d32-126), with UTF-8 allowed by RFC 6531 §3.3.
func (p *pathParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) || p.s[p.i+1] < 32 || p.s[p.i+1] > 126 {
				return "", p.fail("Syntax: bad quoted pair in local part")
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c >= 32 && c <= 126:
			b.WriteByte(c)
			p.i++
		case c >= 0x80:
			p.nonASCII = true
			b.WriteByte(c)
			p.i++
		default:
			return "", p.fail("Syntax: bad character in quoted local part")
		}
	}
	return "", p.fail("Syntax: unterminated quoted local part")
}

// domainOrLiteral reads a domain or an address literal.
func (p *pathParser) domainOrLiteral() (string, error) {
	if p.peek() != '[' {
		return p.domain()
	}
	end := strings.IndexByte(p.s[p.i:], ']')
	if end < 0 {
		return "", p.fail("Syntax: unterminated address literal")
	}
	lit := p.s[p.i : p.i+end+1]
	p.i += end + 1
	if !validAddressLiteral(lit[1 : len(lit)-1]) {
		return "", p.fail("Syntax: bad address literal")
	}
	return lit, nil
}

// validAddressLiteral checks the text between the brackets (RFC 5321
// §4.1.3). General-address-literal is refused: no standardized tag other
// than IPv6 exists.
func validAddressLiteral(s string) bool {
	if rest, ok := cutPrefixFold(s, "IPv6:"); ok {
		a, err := netip.ParseAddr(rest)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// domain reads sub-domain *("." sub-domain); a sub-domain is Let-dig
// [Ldh-str] (RFC 5321 §4.1.2) or, with SMTPUTF8, a U-label, whose exact
// IDNA validity is left to the resolver.
func (p *pathParser) domain() (string, error) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '.' || c == '-' || isLetDig(c) {
			p.i++
			continue
		}
		if c >= 0x80 {
			p.nonASCII = true
			p.i++
			continue
		}
		break
	}
	d := p.s[start:p.i]
	if d == "" || len(d) > maxDomain {
		return "", p.fail("Syntax: bad domain")
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", p.fail("Syntax: bad domain")
		}
	}
	if !utf8.ValidString(d) {
		return "", p.fail("Syntax: invalid UTF-8 in domain")
	}
	return d, nil
}

func isLetDig(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isAtext reports an RFC 5322 atext octet, or any octet of UTF-8 (RFC
// 6531 §3.3 adds UTF8-non-ascii; validity is checked on the whole part).
func isAtext(c byte) bool {
	if isLetDig(c) || c >= 0x80 {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isDotString reports whether s is Atom *("." Atom).
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

// quoteLocal returns s as a Quoted-string.
func quoteLocal(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
