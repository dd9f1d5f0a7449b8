// Package auth holds the cryptography of logging in: password hashes,
// SCRAM keys, SASL PLAIN decoding and a throttle for failed logins. It is a
// leaf package: it knows no protocol and no store.
//
// Implemented:
//   - Password hashes in the PHC string format with argon2id (RFC 9106),
//     parameters m=7 MiB, t=5, p=1: one of the OWASP minimum settings,
//     which OWASP rates equal to m=19 MiB, t=2, the cheapest in CPU of
//     them. Hashes with other parameters (m=19 MiB, t=2 before issue 3's
//     second session) still verify: the PHC string carries them.
//   - SCRAM-SHA-256 credentials (RFC 5802, RFC 7677): salt, iteration count,
//     StoredKey and ServerKey, so a later SCRAM mechanism never needs the
//     password. Passwords are prepared with the PRECIS OpaqueString profile
//     (RFC 8265), the successor of SASLprep (RFC 4013).
//   - SASL PLAIN message decoding (RFC 4616).
//   - A failed-login throttle per client address (IPv4 /32, IPv6 /64).
//
// Left out: the SCRAM exchange itself (a later issue), channel binding, and
// other hash algorithms (bcrypt, crypt(3)) for imported accounts.
//
// Invariant: argon2id needs m (7 MiB, or up to maxArgonMemory for a stored
// hash with other parameters) per computation, so at most a few run at
// once, process-wide (see argonSlots); a flood of logins queues instead of
// exhausting memory.
package auth
