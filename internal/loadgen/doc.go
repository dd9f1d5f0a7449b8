// Package loadgen is posthorn's SMTP load generator, in the spirit of
// Postfix's smtp-source: C workers push N messages of a fixed size at one
// server and measure how many were accepted and how long each took.
//
// It carries its own minimal SMTP client so a benchmark does not depend on
// the server code it measures. Implemented:
//
//   - RFC 5321: EHLO, MAIL, RCPT, DATA, RSET, QUIT; multi-line replies.
//   - RFC 2920 PIPELINING: MAIL, every RCPT and DATA go out in one write,
//     and with connection reuse the next MAIL group follows the final dot
//     in the same write. Used only when the server announces PIPELINING.
//   - RFC 1870 SIZE: the message size is declared in MAIL when announced.
//   - RFC 3207 STARTTLS, and implicit TLS (RFC 8314).
//   - RFC 4954 AUTH with the PLAIN mechanism (RFC 4616), initial response.
//
// Deliberately left out: BDAT/CHUNKING, 8BITMIME and SMTPUTF8 (messages
// are 7-bit), DSN parameters, SASL mechanisms other than PLAIN, MX lookup
// (the target is one host:port), and retrying failed messages (a
// benchmark counts failures; it does not hide them).
//
// Invariants: every reply read is bounded (line length, line count, and a
// deadline from the per-command timeout and the context); a message is
// counted exactly once, as ok or as failed under the reply code that ended
// it (0 when no reply came: network, TLS or protocol error). No line of a
// generated message starts with '.', so the bytes on the wire are the
// message followed by ".\r\n" and no dot-stuffing is needed.
package loadgen
