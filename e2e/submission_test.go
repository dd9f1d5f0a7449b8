package e2e

import (
	"bytes"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"testing"
)

// Submission (RFC 6409) on the STARTTLS listener and submissions (RFC
// 8314) with implicit TLS, with AUTH (RFC 4954, PLAIN RFC 4616 and LOGIN),
// driven by real clients (smtplib, swaks, msmtp) and by our raw client for
// exact replies. Users and passwords of these tests:
const (
	subAlice = "alice@example.test"
	subBob   = "bob@example.test"
	subCarol = "carol@example.test"
	// A password that cannot occur in a message by chance, so that its
	// absence from the stored message means something.
	subPass = "Xq7-pw-never-in-mail-9Zt"
)

// deadDNS is config that points the resolver at a loopback port where
// nothing answers: every MX lookup fails temporarily, so whatever enters
// the queue stays there (visible to `posthorn queue list`) instead of
// being tried and bounced at once; no test here depends on the machine's
// resolver.
func deadDNS(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("[dns]\nnameservers = [%q]\n", freeAddr(t))
}

// startSubmissionServer starts a server with both submission listeners,
// users alice, bob and carol (password subPass), an alias team@ for alice
// and bob and an alias other@ for carol only.
func startSubmissionServer(t *testing.T) *Server {
	t.Helper()
	s := StartServer(t, Options{Submission: true, Extra: deadDNS(t)})
	for _, u := range []string{subAlice, subBob, subCarol} {
		s.AddUser(u, subPass)
	}
	s.MustCLI("", "alias", "add", "team@example.test", subAlice, subBob)
	s.MustCLI("", "alias", "add", "other@example.test", subCarol)
	return s
}

// subMessage is a message from alice to bob without Date or Message-ID
// (the server adds them), CRLF.
func subMessage(subject string) []byte {
	return []byte("From: Alice <" + subAlice + ">\r\nTo: Bob <" + subBob + ">\r\nSubject: " + subject +
		"\r\n\r\nbody of " + subject + "\r\n")
}

// fetchOne fetches (and deletes) user's maildrop, which must hold exactly
// one message, and returns it.
func fetchOne(t *testing.T, s *Server, user string) []byte {
	t.Helper()
	msgs := mustFetch(t, s.POP3, user, subPass, true)
	if len(msgs) != 1 {
		t.Fatalf("%s holds %d messages, want 1", user, len(msgs))
	}
	return msgs[0].Data
}

// parseStored parses a stored message (trace fields and all).
func parseStored(t *testing.T, msg []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("stored message does not parse: %v\n%s", err, head(msg, 2000))
	}
	return m
}

var msgIDRe = regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`)

// checkSubmitted asserts what every submitted message must show: the
// subject, one Date and one Message-ID (added when the client gave none),
// a Received field that records an authenticated TLS submission
// (ESMTPSA, RFC 3848), and nowhere the password or the AUTH PLAIN blob.
func checkSubmitted(t *testing.T, msg []byte, subject string) {
	t.Helper()
	m := parseStored(t, msg)
	if got := m.Header.Get("Subject"); got != subject {
		t.Errorf("Subject %q, want %q", got, subject)
	}
	if d := m.Header["Date"]; len(d) != 1 {
		t.Errorf("%d Date fields, want 1: %q", len(d), d)
	} else if _, err := mail.ParseDate(d[0]); err != nil {
		t.Errorf("Date %q does not parse: %v", d[0], err)
	}
	if id := m.Header["Message-Id"]; len(id) != 1 || !msgIDRe.MatchString(id[0]) {
		t.Errorf("Message-ID fields %q, want one <left@right>", id)
	}
	if rcv := m.Header["Received"]; len(rcv) == 0 || !strings.Contains(rcv[0], "ESMTPSA") {
		t.Errorf("Received of an authenticated TLS submission does not say ESMTPSA:\n%s", head(msg, 1200))
	}
	for _, secret := range []string{subPass, plainResp("", subAlice, subPass)} {
		if bytes.Contains(msg, []byte(secret)) {
			t.Errorf("the stored message contains the password (%q):\n%s", secret, msg)
		}
	}
}

// TestSubmissionClients submits with real clients over both listeners:
// Python's smtplib (login), swaks (--auth with --tls / --tls-on-connect)
// and msmtp (tls_trust_file = the server's certificate); each message
// must land in bob's maildrop (POP3) with the submission's marks.
func TestSubmissionClients(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	swaksAuth := []string{"--from", subAlice, "--to", subBob, "--auth-user", subAlice, "--auth-password", subPass}
	cases := []struct {
		name string
		send func(t *testing.T, subject string)
	}{
		{"smtplib-starttls", func(t *testing.T, subject string) { smtplibOK(t, s, false, subject) }},
		{"smtplib-implicit", func(t *testing.T, subject string) { smtplibOK(t, s, true, subject) }},
		{"swaks-starttls-plain", func(t *testing.T, subject string) {
			swaksOK(t, s.Submission, append(swaksAuth, "--tls", "--auth", "PLAIN", "--header", "Subject: "+subject))
		}},
		{"swaks-starttls-login", func(t *testing.T, subject string) {
			swaksOK(t, s.Submission, append(swaksAuth, "--tls", "--auth", "LOGIN", "--header", "Subject: "+subject))
		}},
		{"swaks-implicit", func(t *testing.T, subject string) {
			swaksOK(t, s.Submissions, append(swaksAuth, "--tls-on-connect", "--auth", "PLAIN", "--header", "Subject: "+subject))
		}},
		{"msmtp-starttls", func(t *testing.T, subject string) { msmtpOK(t, s, false, subject) }},
		{"msmtp-implicit", func(t *testing.T, subject string) { msmtpOK(t, s, true, subject) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			subject := "submission via " + c.name
			c.send(t, subject)
			checkSubmitted(t, fetchOne(t, s, subBob), subject)
		})
	}
}

func smtplibOK(t *testing.T, s *Server, implicit bool, subject string) {
	t.Helper()
	res := smtplibSubmit(t, s, implicit, subAlice, subPass, subAlice, []string{subBob}, subMessage(subject))
	if !res.OK || len(res.Refused) != 0 {
		t.Fatalf("smtplib submission: want 250, got %+v", res)
	}
	if !strings.Contains(res.AuthMechs, "PLAIN") || !strings.Contains(res.AuthMechs, "LOGIN") {
		t.Errorf("EHLO over TLS offers AUTH %q, want PLAIN and LOGIN", res.AuthMechs)
	}
	if !implicit && (res.AuthBeforeTLS == nil || *res.AuthBeforeTLS) {
		t.Errorf("the first EHLO (before STARTTLS) offered AUTH: %+v", res)
	}
}

func swaksOK(t *testing.T, addr string, args []string) {
	t.Helper()
	out, err := runSwaksAt(t, addr, args...)
	if err != nil {
		t.Fatalf("swaks failed: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^<[-~] +235 `).MatchString(out) {
		t.Errorf("swaks transcript shows no 235 to AUTH:\n%s", out)
	}
}

func msmtpOK(t *testing.T, s *Server, implicit bool, subject string) {
	t.Helper()
	// msmtp reads a message with LF line ends, as a local program hands it.
	msg := bytes.ReplaceAll(subMessage(subject), []byte("\r\n"), []byte("\n"))
	out, err := runMsmtp(t, s, implicit, subAlice, subPass, subAlice, []string{subBob}, msg)
	if err != nil {
		t.Fatalf("msmtp failed: %v\n%s", err, out)
	}
}
