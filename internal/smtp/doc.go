// Package smtp is the SMTP wire format that posthorn's server and client
// share: reply codes and enhanced status codes, replies, command and
// parameter parsing, paths, the DATA dot reader and writer, and line
// limits. It does no I/O of its own beyond the readers and writers it is
// handed, and knows nothing of sessions.
//
// Implemented:
//   - RFC 5321: commands (§4.1.1), path syntax (§4.1.2) including source
//     routes (accepted, dropped), quoted local parts, <postmaster> and
//     address literals (§4.1.3); reply codes (§4.2); dot-stuffing
//     (§4.5.2); size limits of lines, local parts, domains and paths
//     (§4.5.3.1).
//   - RFC 3463 / RFC 2034: enhanced status codes.
//   - RFC 1870 SIZE, RFC 6152 8BITMIME and RFC 3030 BODY=BINARYMIME, RFC
//     3461 DSN parameters (RET, ENVID, NOTIFY, ORCPT) with xtext (§4),
//     RFC 4954 AUTH= and its line lengths, RFC 6531 SMTPUTF8 (UTF-8 in
//     paths only when the MAIL command carries SMTPUTF8: 553 5.6.7
//     otherwise).
//
// Deliberate choices: the end of DATA is only CR LF "." CR LF; bare CR and
// LF inside DATA are normalised to CRLF (SMTP smuggling, 2023). Command
// lines may end in a bare LF. "MAIL FROM: <a@b>" is accepted; a path
// without angle brackets is not.
//
// Left out: General-address-literal other than IPv6 (refused), IDNA
// validation of U-labels (left to the resolver), RFC 6533's
// utf-8-addr-xtext beyond passing UTF-8 through.
package smtp
