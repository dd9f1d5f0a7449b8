package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// checkDomain accepts a DNS host name (RFC 1123 §2.1 labels, RFC 5321
// §4.1.2 Domain): letters, digits and inner hyphens, labels of 1..63
// octets, 253 in all. A single label ("localhost") is allowed.
// Internationalized names must be written as A-labels ("xn--..."): the
// server compares domains byte-wise, so the file must hold the form that
// appears on the wire.
func checkDomain(d string) error {
	if d == "" {
		return errors.New("empty domain name")
	}
	if len(d) > 253 {
		return fmt.Errorf("domain name longer than 253 octets")
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return fmt.Errorf("bad domain name %q: empty label", d)
		}
		if len(label) > 63 {
			return fmt.Errorf("bad domain name %q: label longer than 63 octets", d)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("bad domain name %q: label starts or ends with '-'", d)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			case c >= 0x80:
				return fmt.Errorf("bad domain name %q: write internationalized names as A-labels (xn--)", d)
			default:
				return fmt.Errorf("bad domain name %q: character %q not allowed", d, c)
			}
		}
	}
	return nil
}

// checkAddress accepts local@domain with a dot-atom or plain local part
// (RFC 5321 §4.1.2, §4.5.3.1.1: at most 64 octets); quoted local parts
// are refused, as nobody needs one for a postmaster.
func checkAddress(a string) error {
	local, domain, ok := strings.Cut(a, "@")
	if !ok || strings.Contains(domain, "@") {
		return fmt.Errorf("bad address %q: want local@domain", a)
	}
	if local == "" || len(local) > 64 {
		return fmt.Errorf("bad address %q: local part must be 1 to 64 octets", a)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),:;<>[\]`, c) >= 0 {
			return fmt.Errorf("bad address %q: character %q not allowed in the local part", a, c)
		}
	}
	if err := checkDomain(domain); err != nil {
		return fmt.Errorf("bad address %q: %w", a, err)
	}
	return nil
}

// hostRule says what the host part of host:port may be.
type hostRule int

const (
	hostAny      hostRule = iota // empty (every interface), an IP or a name; port 0..65535
	hostIP                       // an IP address; port 1..65535
	hostRequired                 // an IP or a name; port 1..65535
)

// checkHostPort checks "host:port", IPv6 hosts in brackets.
func checkHostPort(s string, rule hostRule) error {
	host, port, err := splitHostPort(s)
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("bad address %q: port must be a number from 0 to 65535", s)
	}
	if n == 0 && rule != hostAny {
		return fmt.Errorf("bad address %q: port 0", s)
	}
	switch {
	case host == "" && rule == hostAny:
		return nil
	case host == "":
		return fmt.Errorf("bad address %q: missing host", s)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if rule == hostIP {
		return fmt.Errorf("bad address %q: host must be an IP address", s)
	}
	if err := checkDomain(host); err != nil {
		return fmt.Errorf("bad address %q: %w", s, err)
	}
	return nil
}

func splitHostPort(s string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", fmt.Errorf("bad address %q: want host:port", s)
	}
	if port == "" {
		return "", "", fmt.Errorf("bad address %q: missing port", s)
	}
	return host, port, nil
}
