// Package submitclient submits one message to one mail submission server
// with authentication, as a mail user agent does (`posthorn send`, like
// msmtp). It is not the MTA's outbound client: there is no MX lookup, no
// retry, no connection pool and no 8-bit conversion.
//
// Why not internal/smtpclient: that client delivers to MX hosts and
// smarthosts: STARTTLS is opportunistic or required but never implicit
// (RFC 8314 port 465 is the submissions default here), certificates of
// opportunistic hops are never verified, and recipients are accepted
// one by one. A user agent needs the opposite defaults: implicit TLS or
// STARTTLS as the user says, a certificate verified against the system
// roots or a private CA (or, asked for, not at all), AUTH that must
// succeed, and a message that goes to every recipient or to none.
//
// Implemented:
//   - RFC 5321: greeting, EHLO, MAIL, RCPT, DATA with dot-stuffing
//     (§4.5.2, through internal/smtp's DotWriter), RSET, QUIT; multi-line
//     replies (§4.2.1) with RFC 2034 enhanced status codes.
//   - RFC 6409 message submission; RFC 8314 implicit TLS; RFC 3207
//     STARTTLS, with replies sent before the handshake refused
//     (response injection) and EHLO repeated after it.
//   - RFC 4954 AUTH with PLAIN (RFC 4616), or LOGIN when only it is
//     offered.
//   - RFC 1870 SIZE (declared, and a message over the server's limit is
//     refused before it is sent), RFC 6152 BODY=8BITMIME for 8-bit
//     messages, RFC 6531 SMTPUTF8 for non-ASCII addresses.
//
// Invariants: every refusal comes back as a *ReplyError with the server's
// reply, classified by internal/mailerr (4xx temporary, 5xx permanent).
// If any recipient is refused, DATA is never sent. A body that fails to
// read mid-DATA drops the connection without the final dot, so a
// truncated message is never submitted. A password never goes over a
// connection without TLS to a host that is not loopback unless
// Options.AllowPlaintextAuth says so. Every reply is bounded (line length,
// number of lines) and every read and write has an idle deadline.
//
// Left out: PIPELINING (one message, a few round trips), CHUNKING, DSN
// parameters, SASL mechanisms other than PLAIN and LOGIN.
package submitclient
