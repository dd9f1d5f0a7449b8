// Package relay decides where mail for a remote domain goes: the static
// [[route]] table first (an exact domain, then "*" as a smarthost), else
// the domain's MX records. The result is a list of smtpclient.Hop in the
// order to try.
//
// Implemented:
//   - RFC 5321 §5.1: MX records by preference, shuffled among equal
//     preference; no MX records (NODATA) means the domain itself is the
//     one MX (the A/AAAA fallback); a CNAME chain is followed, within the
//     answer or by asking again for its target; an address literal
//     ("[192.0.2.1]", "[IPv6:2001:db8::1]", §4.1.3) is its own hop.
//   - RFC 7505: a null MX ("MX 0 .") is a permanent failure (5.1.10).
//   - A domain that does not exist (NXDOMAIN) is a permanent failure
//     (5.1.2); SERVFAIL, REFUSED, timeouts and malformed answers are
//     temporary (4.4.3), after trying every nameserver.
//   - RFC 5890 IDNA: a UTF-8 domain is looked up by its A-labels.
//
// Queries go to the configured nameservers (host:port; empty means those
// of /etc/resolv.conf) over UDP with EDNS0, and over TCP when the answer
// is truncated. Route hosts given by name are resolved the same way; a
// failure to resolve them is temporary, since it is the operator's to
// fix, not the sender's.
//
// Deliberate choices: the addresses of a host are tried IPv4 first, then
// IPv6 (many hosts have IPv6 addresses they cannot reach); at most 16 MX
// hosts and 8 addresses per host are kept. An MX whose name does not
// resolve is skipped; when none resolves the failure is permanent (5.4.4)
// unless a lookup failed temporarily.
//
// Left out: DNSSEC validation, DANE (RFC 7672) and MTA-STS (RFC 8461),
// a DNS cache (the local resolver is expected to cache), and subdomain
// matches in the route table.
package relay
