// Package pop3client is a POP3 client: it logs in to a maildrop, lists
// it and retrieves, and deletes messages. `posthorn fetch` is built on it.
//
// Implemented:
//   - RFC 1939: the AUTHORIZATION, TRANSACTION and UPDATE states; USER,
//     PASS, STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET and QUIT.
//     Multi-line responses are dot-unstuffed (§3) and streamed, never
//     held whole in memory.
//   - RFC 2449: CAPA, and response codes ([AUTH], [IN-USE], [SYS/TEMP],
//     [SYS/PERM], [LOGIN-DELAY]) that classify errors.
//   - RFC 2595 §4: STLS, and implicit TLS (port 995) by Options.TLS.
//   - RFC 5034 SASL AUTH with the PLAIN mechanism (RFC 4616), used when
//     the server does not offer USER.
//
// Invariants:
//   - Every read is bounded: a response line by Options.MaxLine, a
//     listing by Options.MaxListing entries, a retrieved message by
//     Options.MaxMessage octets, and every command by a deadline (the
//     context's, or Options.Timeout).
//   - A password is never sent over an unencrypted connection to a host
//     that is not loopback unless Options.AllowPlaintextAuth says so.
//   - After a failure that leaves the dialogue out of step (a broken
//     multi-line response, a timeout) the client refuses further
//     commands: a later DELE can never apply to the wrong message.
//   - Deletions take effect only when Quit receives +OK (RFC 1939 §6);
//     Close without Quit deletes nothing.
//
// Left out: APOP (MD5 of a shared secret; RFC 1939 §7), SASL mechanisms
// other than PLAIN, PIPELINING (RFC 2449 §6.6: commands are sent one at a
// time), and RFC 6856 UTF8.
package pop3client
