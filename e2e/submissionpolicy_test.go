package e2e

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The submission policy with exact replies from our raw client: AUTH only
// after TLS (RFC 4954 section 4, RFC 3207 section 4.2), AUTH before MAIL
// (530 5.7.0), 535 5.7.8 on bad credentials, who may send as whom (553
// 5.7.1 at MAIL, 550 5.7.1 after the data), Date and Message-ID added
// (RFC 6409 section 8), relay for authenticated users, and the per-client
// limit on failed logins.

func TestSubmissionPolicy(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	t.Run("before-tls", func(t *testing.T) {
		c, ehlo := dialSubmission(t, s)
		if m := authMechs(ehlo); m != nil {
			t.Errorf("EHLO before STARTTLS offers AUTH %v", m)
		}
		if !hasKeyword(ehlo, "STARTTLS") {
			t.Errorf("EHLO on submission does not offer STARTTLS: %v", ehlo)
		}
		mustCmd(t, c, "AUTH PLAIN "+plainResp("", subAlice, subPass), "538|530|503|504")
		mustCmd(t, c, "MAIL FROM:<"+subAlice+">", "530 5.7.0")
	})
	t.Run("after-starttls", func(t *testing.T) {
		c, _ := dialSubmission(t, s)
		ehlo := startTLS(t, s, c)
		if m := authMechs(ehlo); !slices.Contains(m, "PLAIN") || !slices.Contains(m, "LOGIN") {
			t.Errorf("EHLO over TLS offers AUTH %v, want PLAIN and LOGIN: %v", m, ehlo)
		}
		if hasKeyword(ehlo, "STARTTLS") {
			t.Errorf("EHLO inside TLS still offers STARTTLS: %v", ehlo)
		}
		mustCmd(t, c, "MAIL FROM:<"+subAlice+">", "530 5.7.0")
		mustCmd(t, c, "AUTH PLAIN "+plainResp("", subAlice, subPass), "235 2.7.0")
		mustCmd(t, c, "MAIL FROM:<"+subAlice+">", "250")
	})
	t.Run("implicit-tls", func(t *testing.T) {
		c, ehlo := dialSubmissions(t, s)
		if m := authMechs(ehlo); !slices.Contains(m, "PLAIN") || !slices.Contains(m, "LOGIN") {
			t.Errorf("EHLO on submissions offers AUTH %v, want PLAIN and LOGIN", m)
		}
		mustCmd(t, c, "MAIL FROM:<"+subAlice+">", "530 5.7.0")
	})
	t.Run("bad-credentials", func(t *testing.T) {
		for _, cred := range [][2]string{{subAlice, "wrong"}, {"nobody@example.test", subPass}, {"alice", subPass}} {
			c, _ := dialSubmissions(t, s)
			mustCmd(t, c, "AUTH PLAIN "+plainResp("", cred[0], cred[1]), "535 5.7.8")
			mustCmd(t, c, "MAIL FROM:<"+subAlice+">", "530 5.7.0")
		}
		// AUTH LOGIN (RFC 4954 has no text for it; every client speaks it).
		c, _ := dialSubmissions(t, s)
		b64 := base64.StdEncoding.EncodeToString
		mustCmd(t, c, "AUTH LOGIN", "334")
		mustCmd(t, c, b64([]byte(subAlice)), "334")
		mustCmd(t, c, b64([]byte(subPass)), "235 2.7.0")
	})
	t.Run("mail-from", func(t *testing.T) { testMailFrom(t, s) })
	t.Run("from-header", func(t *testing.T) { testFromHeader(t, s) })
	t.Run("date-message-id", func(t *testing.T) { testAddedHeaders(t, s) })
	t.Run("relay", func(t *testing.T) { testSubmissionRelay(t, s) })
}

// testMailFrom: the user's own address (any case) and an alias whose
// targets include the user are allowed; anything else is 553 5.7.1.
func testMailFrom(t *testing.T, s *Server) {
	cases := []struct{ from, want string }{
		{subAlice, "250"},
		{"ALICE@Example.TEST", "250"},
		{"team@example.test", "250"},        // alias for alice and bob
		{"other@example.test", "553 5.7.1"}, // alias for carol only
		{subBob, "553 5.7.1"},               // another user
		{"alice@remote.test", "553 5.7.1"},  // same local part, another domain
		{"postmaster@example.test", "553 5.7.1"},
	}
	for _, c := range cases {
		t.Run(c.from, func(t *testing.T) {
			for _, implicit := range []bool{false, true} {
				conn := dialAuthed(t, s, implicit, subAlice, subPass)
				mustCmd(t, conn, "MAIL FROM:<"+c.from+">", c.want)
			}
		})
	}
}

// testFromHeader: every From: address must be the user's or an alias of
// it (550 5.7.1 after the final dot); refused messages reach nobody.
func testFromHeader(t *testing.T, s *Server) {
	cases := []struct{ from, want string }{
		{"Alice <alice@example.test>", "250"},
		{"=?utf-8?q?Al=C3=AFce?= <ALICE@example.test>", "250"},
		{"Team <team@example.test>", "250"},
		{"bob@example.test", "550 5.7.1"},
		{"Alice <alice@example.test>, Bob <bob@example.test>", "550 5.7.1"},
		{"Alice <bob@example.test>", "550 5.7.1"},
		{"other@example.test", "550 5.7.1"},
		{"alice@remote.test", "550 5.7.1"},
	}
	accepted := 0
	for i, c := range cases {
		conn := dialAuthed(t, s, i%2 == 1, subAlice, subPass)
		mustCmd(t, conn, "MAIL FROM:<"+subAlice+">", "250")
		mustCmd(t, conn, "RCPT TO:<"+subCarol+">", "250")
		mustCmd(t, conn, "DATA", "354")
		msg := "From: " + c.from + "\r\nTo: " + subCarol + "\r\nSubject: from-header " + c.from + "\r\n\r\nbody\r\n"
		if err := conn.Write(dotString(msg)); err != nil {
			t.Fatal(err)
		}
		r, err := conn.ReadReply()
		if err != nil || !matchReply(r, c.want) {
			t.Errorf("From: %s: want %s after the data, got %v (%v)", c.from, c.want, r, err)
		}
		if c.want == "250" {
			accepted++
		}
	}
	msgs := mustFetch(t, s.POP3, subCarol, subPass, true)
	if len(msgs) != accepted {
		t.Errorf("carol received %d messages, want the %d accepted ones", len(msgs), accepted)
	}
}

// testAddedHeaders: Date and Message-ID are added when missing and kept
// as they are when present (never doubled).
func testAddedHeaders(t *testing.T, s *Server) {
	submit := func(msg string) {
		conn := dialAuthed(t, s, false, subAlice, subPass)
		res := conn.Transaction(subAlice, []string{subBob}, []byte(msg), false)
		if !res.Accepted() {
			t.Fatalf("submission: %v", res)
		}
	}
	submit(string(subMessage("no date")))
	got := fetchOne(t, s, subBob)
	checkSubmitted(t, got, "no date")

	const date, id = "Tue, 01 Dec 2026 10:00:00 +0100", "<given-1@client.example.org>"
	submit("From: " + subAlice + "\r\nTo: " + subBob + "\r\nDate: " + date + "\r\nMessage-ID: " + id +
		"\r\nSubject: with date\r\n\r\nbody\r\n")
	got = fetchOne(t, s, subBob)
	checkSubmitted(t, got, "with date")
	m := parseStored(t, got)
	if d := m.Header.Get("Date"); d != date {
		t.Errorf("Date %q, want the client's %q", d, date)
	}
	if v := m.Header.Get("Message-Id"); v != id {
		t.Errorf("Message-ID %q, want the client's %q", v, id)
	}
}

// testSubmissionRelay: an authenticated user may send to a remote
// address; the message is accepted (250 only once durable) and queued.
// Delivery to the remote is not asserted (no remote peer here).
func testSubmissionRelay(t *testing.T, s *Server) {
	conn := dialAuthed(t, s, true, subAlice, subPass)
	msg := "From: " + subAlice + "\r\nTo: friend@remote.test, " + subBob + "\r\nSubject: relay\r\n\r\nbody\r\n"
	res := conn.Transaction(subAlice, []string{"friend@remote.test", subBob}, []byte(msg), false)
	if !res.Accepted() {
		t.Fatalf("authenticated relay: want 250, got %v", res)
	}
	local := fetchOne(t, s, subBob)
	checkSubmitted(t, local, "relay")
	// RFC 6376: mail from a local domain to a remote recipient is signed
	// with d= the From: domain; the local copy is the same message.
	if m := parseStored(t, local); !strings.Contains(m.Header.Get("Dkim-Signature"), "d=example.test") {
		t.Errorf("no DKIM-Signature with d=example.test on a message with a remote recipient:\n%s", head(local, 1500))
	}
	if r := s.CLI("", "queue", "list"); queueCmdMissing(r) {
		t.Logf("posthorn queue is not wired yet (%q): queue contents not checked", strings.TrimSpace(r.Stderr))
	} else if r.Code != 0 || !strings.Contains(r.Stdout, subAlice) || !strings.Contains(r.Stdout, "1 recipient") {
		t.Errorf("queue list: want alice's message with one (remote) recipient:\n%v", r)
	}
}

// queueCmdMissing reports a binary without the queue command.
func queueCmdMissing(r CLIResult) bool {
	return r.Code != 0 && strings.Contains(r.Stderr, `unknown command "queue"`)
}

// TestSubmissionBruteForce: failed logins from one client address are
// limited (10 per 15 minutes); past the limit even the right password is
// refused, on both submission listeners and on POP3 (the limit is per
// client, not per protocol). Only reply codes are asserted, never times;
// the failures run in parallel so the slowing (1 s, 2 s, 4 s, 8 s) costs
// about 8 s of wall time.
func TestSubmissionBruteForce(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	dialAuthed(t, s, true, subAlice, subPass) // the right password works at first
	failLogins(t, s, subAlice, 10)
	for _, implicit := range []bool{false, true} {
		var c *SMTPConn
		if implicit {
			c, _ = dialSubmissions(t, s)
		} else {
			c, _ = dialSubmission(t, s)
			startTLS(t, s, c)
		}
		mustCmd(t, c, "AUTH PLAIN "+plainResp("", subAlice, subPass), "535|454")
		mustCmd(t, c, "MAIL FROM:<"+subAlice+">", "530 5.7.0")
		// Another account from the same address is refused as well.
		c2, _ := dialSubmissions(t, s)
		mustCmd(t, c2, "AUTH PLAIN "+plainResp("", subCarol, subPass), "535|454")
	}
	if _, err := FetchAll(s.POP3, subAlice, subPass, false); err == nil {
		t.Errorf("POP3 login with the right password succeeded after 10 failed SMTP logins from the same address")
	}
}

// TestSubmissionBruteForceNoReset: a successful login to another account
// (the attacker's own) must not wipe the failures counted for the client
// address; otherwise one valid account buys unlimited guesses.
func TestSubmissionBruteForceNoReset(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	failLogins(t, s, subAlice, 9)
	dialAuthed(t, s, true, subCarol, subPass) // the attacker's own account
	failLogins(t, s, subAlice, 1)
	c, _ := dialSubmissions(t, s)
	r, err := c.Cmd("AUTH PLAIN " + plainResp("", subAlice, subPass))
	if err != nil || !matchReply(r, "535|454") {
		t.Fatalf("after 10 failed logins from 127.0.0.1 (and one success for another account in between) "+
			"the right password must be refused (535), got %v (%v): a login to one's own account resets the count", r, err)
	}
}

// failLogins makes n failed AUTH attempts for user in parallel, each on
// its own connection, each refused with 535 5.7.8.
func failLogins(t *testing.T, s *Server, user string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	cfg := serverTLS(t, s)
	for i := range n {
		wg.Go(func() {
			c, err := openSubmissions(s, cfg)
			if err != nil {
				errs <- "connection: " + err.Error()
				return
			}
			defer c.Close()
			if r, err := c.Cmd("EHLO client.example.org"); err != nil || r.Code != 250 {
				errs <- fmt.Sprintf("EHLO: %v (%v)", r, err)
				return
			}
			r, err := c.Cmd("AUTH PLAIN " + plainResp("", user, fmt.Sprintf("guess-%d", i)))
			if err != nil || !matchReply(r, "535 5.7.8") {
				errs <- fmt.Sprintf("%v (%v)", r, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("wrong password: want 535 5.7.8, got %s", e)
	}
}
