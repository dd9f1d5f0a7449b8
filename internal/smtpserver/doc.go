// Package smtpserver is posthorn's SMTP session engine: it accepts
// connections, runs the RFC 5321 state machine over the wire format of
// package smtp, and hands each message to a Backend, which owns recipient
// resolution and durability. It imports no storage code.
//
// Implemented: RFC 5321 (commands, replies, timeouts §4.5.3.2, line and
// recipient limits), RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 2920
// PIPELINING, RFC 2034/3463 enhanced status codes, RFC 3207 STARTTLS and
// RFC 8314 implicit TLS, RFC 3030 CHUNKING (BDAT; BODY=BINARYMIME is
// accepted though not announced), RFC 6531 SMTPUTF8, RFC 3461 DSN
// parameters (parsed and passed to the backend; the queue honours them),
// RFC 4954 AUTH with PLAIN (RFC 4616) and LOGIN, offered only under TLS
// unless configured otherwise, RFC 3848 protocol names in Received:.
//
// Invariants:
//   - Replies are sent in command order and written when no more input is
//     buffered, and always before the session would block on a read
//     (connReader flushes before every read of the connection).
//   - 250 after DATA or BDAT LAST is sent only after Transaction.Commit
//     returned nil; every other end of a transaction calls Abort.
//   - Message data is read to its end even when it is refused (too big,
//     backend write error, BDAT out of sequence), so the session stays in
//     step; only CRLF.CRLF ends DATA (SMTP smuggling).
//   - Enhanced status codes appear only after EHLO, and never on the
//     greeting or the HELO/EHLO reply (RFC 2034 §3). The one exception is
//     the 421 4.7.0 sent to a connection over MaxConnections, which has no
//     session.
//   - Octets pipelined after STARTTLS are discarded, never executed.
//   - Each session reads through a 4 KiB buffer; during DATA through a
//     64 KiB one from a pool, kept after DATA only while it still holds
//     octets the client pipelined (datareader.go). Every octet is read
//     from one buffer, once, in order.
//
// Choices where RFC 5321 leaves one: DATA or BDAT after MAIL with no
// accepted recipient gets 554 5.5.1 "No valid recipients"; without MAIL,
// 503 5.5.1. MAIL needs HELO/EHLO first (503 5.5.1). The limit of
// MaxRecipients counts RCPT commands that parsed; over it, 452 4.5.3.
// MaxErrors counts 5xx replies; at the limit the session gets 421 4.7.0.
// A BDAT whose size cannot be parsed gets 501 and the connection closes.
//
// Left out: reverse DNS in Received:, VRFY/EXPN (252/502), SASL
// mechanisms other than PLAIN and LOGIN (SCRAM waits for package auth),
// per-IP limits and rate limiting.
package smtpserver
