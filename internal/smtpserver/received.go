package smtpserver

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"time"
)

// writeReceived writes the Received: header (RFC 5321 §4.4) that starts
// every stored message:
//
//	Received: from <helo> (unknown [<ip>])
//		by <hostname> (posthorn) with <proto> (<tls version> <cipher>)
//		id <id> for <rcpt>; <date>
//
// The protocol name follows RFC 3848 and RFC 6531 §3.7.3 (ESMTP, ESMTPS,
// ESMTPSA, UTF8SMTPS, ...); "for" is there only with exactly one
// recipient, so that Bcc recipients stay hidden. No reverse DNS yet.
func (s *session) writeReceived(w *txWriter) {
	var b strings.Builder
	b.Grow(256)
	b.WriteString("Received: from ")
	b.WriteString(sanitizeHelo(s.info.Helo))
	b.WriteString(" (unknown ")
	b.WriteString(addrLiteral(s.info.Remote))
	b.WriteString(")\r\n\tby ")
	b.WriteString(s.cfg.Hostname)
	b.WriteString(" (posthorn) with ")
	b.WriteString(s.protocol())
	if st := s.info.TLS; st != nil {
		b.WriteString(" (")
		b.WriteString(strings.ReplaceAll(tls.VersionName(st.Version), " ", ""))
		b.WriteString(" ")
		b.WriteString(tls.CipherSuiteName(st.CipherSuite))
		b.WriteString(")")
	}
	b.WriteString("\r\n\tid ")
	b.WriteString(s.tx.t.ID())
	if len(s.tx.rcpts) == 1 {
		b.WriteString(" for <")
		b.WriteString(s.tx.rcpts[0])
		b.WriteString(">")
	}
	b.WriteString("; ")
	b.WriteString(time.Now().Format(time.RFC1123Z))
	b.WriteString("\r\n")
	w.Write([]byte(b.String()))
}

// protocol is the "with" value of RFC 3848 / RFC 6531.
func (s *session) protocol() string {
	if !s.info.ESMTP {
		return "SMTP"
	}
	p := "ESMTP"
	if s.tx != nil && s.tx.opts.SMTPUTF8 {
		p = "UTF8SMTP"
	}
	if s.info.TLS != nil {
		p += "S"
	}
	if s.info.AuthUser != "" {
		p += "A"
	}
	return p
}

// addrLiteral renders the client's address as an RFC 5321 address literal.
func addrLiteral(a net.Addr) string {
	if a == nil {
		return "[unknown]"
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "[" + sanitizeHelo(a.String()) + "]"
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.WithZone("").String() + "]"
	}
	return "[" + ip.String() + "]"
}

// sanitizeHelo keeps the HELO argument from breaking the header: only
// printable ASCII without parentheses, and never empty.
func sanitizeHelo(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == ';' || c == '\\' {
			c = '_'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
