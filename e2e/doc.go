// Package e2e holds posthorn's end-to-end tests: they build the posthorn
// binary once, start it with a config written for each test on 127.0.0.1
// ports, and drive it with real clients — Python's smtplib and poplib
// (scripts in py/), swaks, raw sockets for exact SMTP dialogs (RFC 5321,
// RFC 2920 pipelining, RFC 3030 BDAT, RFC 3207 STARTTLS), POP3 (RFC 1939,
// RFC 2449, RFC 2595 STLS) and the command line.
//
// The package has no code of its own beyond this comment; everything is in
// the _test.go files. The harness (harness_test.go) follows the shape of
// maddy's tests/t.go: TestMain builds the binary, a Server writes a config,
// starts, stops (SIGTERM), kills (SIGKILL) and restarts the server on the
// same data directory, and runs administrative commands against it.
//
// Submission (smtplib, swaks, msmtp), the user agent commands, IMAP
// (imaplib) and open-relay tricks have their own files. Left out for now:
// relay to a real peer MTA (Postfix) with dnsmasq as the resolver.
//
// The tests read the shared seed messages in place
// (../../shared/testdata/seeds relative to this directory); when they are
// absent the seed test skips, except with CI=true where it fails.
package e2e
