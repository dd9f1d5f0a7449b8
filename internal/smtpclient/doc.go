// Package smtpclient delivers one message to the recipients of one
// destination over SMTP: it is the outbound side of posthorn (queue
// delivery, later "posthorn send"). Routing (which hosts to try) is
// package relay's business; this package tries the hops it is given, in
// order, and reports a result per recipient.
//
// Implemented:
//   - RFC 5321: the client side of a mail transaction (§3.3), EHLO with a
//     HELO fallback on 5xx (§4.1.4), multi-line replies (§4.2.1), trying
//     the next host on a connection failure or a non-2xx greeting (§5.1),
//     the timeouts of §4.5.3.2 (configurable), RSET between transactions
//     on a reused connection and QUIT before closing.
//   - RFC 3207 STARTTLS: opportunistic (any certificate, as MTAs do, and a
//     retry without TLS when the handshake fails) or required (the
//     certificate is verified against the route's CA file or the system
//     roots; no TLS is a temporary failure). Replies the server sent after
//     its 220 to STARTTLS and before the handshake are refused (response
//     injection).
//   - RFC 4954 AUTH PLAIN and LOGIN towards a smarthost, only over TLS.
//   - RFC 2920 PIPELINING: RSET (on reuse), MAIL, every RCPT and DATA go
//     out in one write.
//   - RFC 1870 SIZE: a message larger than the peer's limit fails
//     permanently without being sent.
//   - RFC 6152 8BITMIME: BODY=8BITMIME when the message is 8-bit and the
//     peer offers it; otherwise the message is converted to 7 bit (each
//     8-bit leaf re-encoded as quoted-printable for text, base64 for the
//     rest) in a streaming pass, or bounced when a header holds 8-bit
//     octets (those cannot be converted).
//   - RFC 6531 SMTPUTF8: passed on when needed and offered; needed and not
//     offered is a permanent failure (5.6.7).
//   - RFC 3461 DSN: RET, ENVID, NOTIFY and ORCPT are passed on when the
//     peer offers DSN; Result.PeerDSN tells the queue whether it must send
//     a "relayed" DSN itself (§6.2).
//   - RFC 3463 / RFC 2034 enhanced status codes in replies.
//
// Invariants: the body is opened (through Body.Open) once per attempt and
// streamed, never held in memory; a read error after DATA's 354 drops the
// connection without the final dot, so a truncated message is never
// delivered. Every reply line, reply and header block read is bounded.
// Errors in results are *mailerr.Error wrapping a *ReplyError that
// carries the reply (or the local status) a DSN reports.
//
// Left out: CHUNKING/BINARYMIME (a BINARYMIME message is converted to 7
// bit), AUTH mechanisms other than PLAIN and LOGIN, DANE and MTA-STS
// (RFC 7672, RFC 8461), REQUIRETLS (RFC 8689), and retrying recipients
// refused with 452 "too many recipients" in a second transaction (they
// come back temporary and the queue retries them).
package smtpclient
