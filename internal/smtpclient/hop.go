package smtpclient

import (
	"fmt"
	"net/netip"
	"strconv"
)

// TLSPolicy says how a hop uses STARTTLS. The zero value is opportunistic,
// what an MX found in DNS gets.
type TLSPolicy int

const (
	TLSOpportunistic TLSPolicy = iota // STARTTLS when offered, any certificate
	TLSRequired                       // STARTTLS with a verified certificate, or no delivery
	TLSNone                           // never STARTTLS
)

var tlsPolicyNames = [...]string{"opportunistic", "required", "none"}

func (p TLSPolicy) String() string {
	if p >= 0 && int(p) < len(tlsPolicyNames) {
		return tlsPolicyNames[p]
	}
	return "tls(" + strconv.Itoa(int(p)) + ")"
}

// ParseTLSPolicy reads the tls key of a [[route]] ("" is opportunistic).
func ParseTLSPolicy(s string) (TLSPolicy, error) {
	switch s {
	case "", "opportunistic":
		return TLSOpportunistic, nil
	case "required":
		return TLSRequired, nil
	case "none":
		return TLSNone, nil
	}
	return 0, fmt.Errorf("smtpclient: unknown TLS policy %q", s)
}

// Auth holds credentials for AUTH PLAIN/LOGIN to a smarthost.
type Auth struct {
	Username string
	Password string
}

// DefaultPort is the SMTP port of MX hosts (RFC 5321 §4.5.4.2).
const DefaultPort = 25

// Hop is one host to try for a destination.
type Hop struct {
	// Host is the MX or route host name (or an IP literal): the TLS
	// server name, the key of pooled connections and the Remote-MTA of a
	// DSN.
	Host string
	// Addrs are tried in order; empty means Host is dialled by name.
	Addrs []netip.Addr
	// Port is the TCP port; 0 means DefaultPort.
	Port int
	TLS  TLSPolicy
	// CAFile is a PEM file of trust anchors for TLSRequired; "" means the
	// system roots.
	CAFile string
	// Auth, when not nil, is used to authenticate (only over TLS).
	Auth *Auth
}

func (h *Hop) port() int {
	if h.Port == 0 {
		return DefaultPort
	}
	return h.Port
}

// targets lists the host:port strings to dial, in order.
func (h *Hop) targets() []string {
	p := strconv.Itoa(h.port())
	if len(h.Addrs) == 0 {
		return []string{netJoin(h.Host, p)}
	}
	out := make([]string, 0, len(h.Addrs))
	for _, a := range h.Addrs {
		out = append(out, netip.AddrPortFrom(a, uint16(h.port())).String())
	}
	return out
}

// poolKey identifies connections that may be shared: same host, port,
// TLS policy, trust and credentials.
func (h *Hop) poolKey() string {
	user := ""
	if h.Auth != nil {
		user = h.Auth.Username
	}
	return fmt.Sprintf("%s|%d|%d|%s|%s", h.Host, h.port(), h.TLS, h.CAFile, user)
}

func netJoin(host, port string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
