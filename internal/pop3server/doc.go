// Package pop3server is posthorn's POP3 engine: the session state machine
// and its listener loop. It owns the Backend and Maildrop interfaces the
// store implements; it imports no storage code.
//
// Implemented:
//   - RFC 1939 (POP3): USER, PASS, QUIT, STAT, LIST, RETR, DELE, NOOP,
//     RSET, TOP, UIDL, the AUTHORIZATION, TRANSACTION and UPDATE states.
//   - RFC 2449 (extension mechanism): CAPA, PIPELINING, RESP-CODES, the
//     IN-USE and LOGIN-DELAY response codes, IMPLEMENTATION.
//   - RFC 3206 (SYS and AUTH response codes): [SYS/TEMP], [SYS/PERM],
//     [AUTH].
//   - RFC 2595 §4 (STLS), and implicit TLS (pop3s, port 995).
//   - RFC 5034 (SASL AUTH) with AUTH-RESP-CODE and the PLAIN mechanism of
//     RFC 4616, with an initial response or a "+ " continuation; "*"
//     cancels.
//
// Deliberately left out: APOP (it needs the plaintext password on the
// server, and the greeting carries no timestamp), SASL mechanisms other
// than PLAIN, the EXPIRE capability (mail stays until deleted), and
// authorization identities other than the authentication identity (PLAIN
// with a different authzid is refused).
//
// Backend errors map to response codes through internal/mailerr:
//
//	AuthFailed, NoSuchUser, permanent Policy  -> -ERR [AUTH]
//	InUse                                      -> -ERR [IN-USE]
//	temporary Policy (a login rate limit)      -> -ERR [LOGIN-DELAY]
//	any other temporary error                  -> -ERR [SYS/TEMP]
//	any other permanent error                  -> -ERR [SYS/PERM]
//
// Invariants:
//   - Every read is bounded: a command line by maxCommandLine, a SASL
//     response by maxAuthLine, each wait for input by Config.IdleTimeout.
//     An over-long line is discarded up to its end and answered with -ERR,
//     so the session stays in step with the client.
//   - Messages are deleted only in the UPDATE state after QUIT, through a
//     single Maildrop.Commit; a session that ends any other way (dropped
//     connection, idle timeout, too many errors, shutdown, panic) deletes
//     nothing. Maildrop.Close is called on every path once Login succeeded.
//   - RETR and TOP stream from Maildrop.Open through a buffered writer; a
//     message is never held whole in memory, and TOP stops reading once it
//     has the header and the requested body lines.
//   - Replies are written in order and flushed only when no complete
//     command is waiting in the input buffer (RFC 2449 §6.6 PIPELINING).
//   - After STLS, anything the client sent after the STLS line is
//     discarded (RFC 2595 §4: no plaintext command injection), and so is
//     any USER given before it.
//   - Ten -ERR replies caused by the client end the session.
//   - One log line per session, at its end (user, remote, tls, retrieved,
//     deleted, bytes, why it ended); backend anomalies add a warning.
//   - Shutdown ends sessions waiting for a command at once, and busy ones
//     after their current command, with "-ERR [SYS/TEMP]"; cancelling
//     Serve's context is the hard stop that closes connections.
package pop3server
