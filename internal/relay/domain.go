package relay

import (
	"net/netip"
	"strings"

	"golang.org/x/net/idna"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// maxDomain is the longest domain name (RFC 1035 §2.3.4: 255 octets in
// wire form, so 253 as text without the final dot).
const maxDomain = 253

// normalize lower-cases a domain, drops a final dot and turns U-labels
// into A-labels. An address literal is returned as is, with ok=true and
// its address.
func normalize(domain string) (name string, lit netip.Addr, isLit bool, err error) {
	if strings.HasPrefix(domain, "[") {
		a, err := parseLiteral(domain)
		if err != nil {
			return "", netip.Addr{}, false, err
		}
		return domain, a, true, nil
	}
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if d == "" || len(d) > maxDomain*4 {
		return "", netip.Addr{}, false, badDomain(domain)
	}
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" || len(ascii) > maxDomain {
		return "", netip.Addr{}, false, badDomain(domain)
	}
	for _, label := range strings.Split(ascii, ".") {
		if label == "" || len(label) > 63 {
			return "", netip.Addr{}, false, badDomain(domain)
		}
	}
	return ascii, netip.Addr{}, false, nil
}

func badDomain(d string) error {
	if len(d) > 80 {
		d = d[:80] + "..."
	}
	return failure("5.1.2", mailerr.BadInput, "invalid destination domain "+quote(d), nil)
}

// quote shows hostile text safely in an error.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			r = '?'
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// parseLiteral reads an address literal (RFC 5321 §4.1.3):
// "[192.0.2.1]" or "[IPv6:2001:db8::1]".
func parseLiteral(s string) (netip.Addr, error) {
	inner, ok := strings.CutPrefix(s, "[")
	inner, ok2 := strings.CutSuffix(inner, "]")
	if !ok || !ok2 {
		return netip.Addr{}, badDomain(s)
	}
	if v6, ok := cutPrefixFold(inner, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return netip.Addr{}, badDomain(s)
		}
		return a, nil
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is4() {
		return netip.Addr{}, badDomain(s)
	}
	return a, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
