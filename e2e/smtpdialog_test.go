package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// step writes raw bytes (possibly several commands in one write) and then
// reads one reply per entry of want. A want entry is "CODE[|CODE...]
// [ENHANCED]", e.g. "250", "502|252", "500 5.5.2".
type step struct {
	send  string
	want  []string
	check func(t *testing.T, r Reply) // optional, on the last reply
	eof   bool                        // the server must close after the replies
}

// dialog is one connection's worth of steps, and what the mailboxes must
// hold afterwards.
type dialog struct {
	name  string
	steps []step
	after func(t *testing.T, s *Server)
}

func cmd(line string, want ...string) step { return step{send: line + "\r\n", want: want} }

// matchReply checks a reply against a want pattern.
func matchReply(r Reply, want string) bool {
	codes, enh, _ := strings.Cut(want, " ")
	ok := false
	for _, c := range strings.Split(codes, "|") {
		if strconv.Itoa(r.Code) == c {
			ok = true
		}
	}
	return ok && (enh == "" || r.Enhanced() == enh)
}

func runDialog(t *testing.T, s *Server, d dialog) {
	c := dialT(t, s.SMTP)
	for i, st := range d.steps {
		if st.send != "" {
			if err := c.Write(st.send); err != nil {
				t.Fatalf("step %d: write %q: %v", i, short(st.send), err)
			}
		}
		var last Reply
		for j, w := range st.want {
			r, err := c.ReadReply()
			if err != nil {
				t.Fatalf("step %d (%q) reply %d: want %s, got error %v", i, short(st.send), j+1, w, err)
			}
			if !matchReply(r, w) {
				// The stream is still in step: report and go on, so one
				// run shows every wrong reply of the dialog.
				t.Errorf("step %d (%q) reply %d: want %s, got %v", i, short(st.send), j+1, w, r)
			}
			last = r
		}
		if st.check != nil {
			st.check(t, last)
		}
		if st.eof {
			expectEOF(t, c)
		}
	}
	if d.after != nil {
		d.after(t, s)
	}
}

// expectEOF asserts the server closes the connection with no further reply.
func expectEOF(t *testing.T, c *SMTPConn) {
	t.Helper()
	r, err := c.ReadReply()
	if err == nil {
		t.Fatalf("want the connection closed, got another reply %v", r)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("want the connection closed, got %v", err)
	}
}

func short(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%s...(%d octets)", s[:60], len(s))
	}
	return s
}

// wantMessages asserts a user's maildrop holds n messages and returns them.
func wantMessages(t *testing.T, s *Server, user string, n int) []PopMsg {
	t.Helper()
	msgs := mustFetch(t, s.POP3, user, "pw", false)
	if len(msgs) != n {
		t.Fatalf("%s holds %d messages, want %d", user, len(msgs), n)
	}
	return msgs
}

// dialogMsg is a small message with a unique subject.
func dialogMsg(subject string) string {
	return "From: sender@remote.test\r\nTo: someone@example.test\r\nSubject: " + subject +
		"\r\n\r\nbody of " + subject + "\r\n"
}

const dialogMaxSize = 65536

func TestSMTPDialogs(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{MaxMessageSize: dialogMaxSize, MaxRecipients: 3})
	for i := 1; i <= 9; i++ {
		s.AddUser(fmt.Sprintf("u%d@example.test", i), "pw")
	}
	for _, d := range append(commandDialogs(), transactionDialogs()...) {
		t.Run(d.name, func(t *testing.T) { runDialog(t, s, d) })
	}
	t.Run("error-limit", func(t *testing.T) { testErrorLimit(t, s) })
}

// commandDialogs: every command's code, sequence errors, syntax errors,
// line limits and recipient classes.
func commandDialogs() []dialog {
	longLine := "NOOP " + strings.Repeat("x", 10000)
	maxLine := "NOOP " + strings.Repeat("x", 512-len("NOOP \r\n"))
	return []dialog{
		{name: "helo-basics", steps: []step{
			{send: "HELO client.example.org\r\n", want: []string{"250"}, check: func(t *testing.T, r Reply) {
				if !strings.Contains(r.Text(), Hostname) {
					t.Errorf("HELO reply %v does not name %s", r, Hostname)
				}
			}},
			{send: "NOOP\r\n", want: []string{"250"}, check: func(t *testing.T, r Reply) {
				if r.Enhanced() != "" {
					t.Errorf("enhanced status code after HELO (only after EHLO): %v", r)
				}
			}},
			cmd("RSET", "250"),
			cmd("HELP", "214"),
			cmd("VRFY u1@example.test", "252"),
			cmd("EXPN staff", "502|252"),
			cmd("FROBNICATE now", "500"),
			cmd("QUIT", "221"),
		}},
		{name: "ehlo-and-sequence", steps: []step{
			{send: "EHLO client.example.org\r\n", want: []string{"250"}, check: checkEHLO},
			cmd("DATA", "503 5.5.1"),
			cmd("RCPT TO:<u1@example.test>", "503 5.5.1"),
			cmd("MAIL FROM:sender@remote.test", "501"),
			cmd("MAIL FROM:<sender@remote.test>", "250"),
			cmd("MAIL FROM:<again@remote.test>", "503 5.5.1"),
			cmd("RSET", "250 2.0.0"),
			cmd("RCPT TO:<u1@example.test>", "503 5.5.1"),
			cmd("XYZZY", "500 5.5.2"),
			cmd("NOOP", "250"),
			cmd("QUIT", "221 2.0.0"),
		}},
		{name: "line-too-long-stays-in-step", steps: []step{
			cmd("EHLO client.example.org", "250"),
			cmd(longLine, "500 5.5.2"),
			cmd("NOOP", "250"),
			cmd(maxLine, "250"), // exactly 512 octets with CRLF: allowed
			cmd("MAIL FROM:<sender@remote.test>", "250"),
			cmd("RCPT TO:<u1@example.test>", "250"),
			cmd("DATA", "354"),
			{send: dotString(dialogMsg("after long line")), want: []string{"250 2.0.0"}},
			cmd("QUIT", "221"),
		}, after: func(t *testing.T, s *Server) {
			m := wantMessages(t, s, "u1@example.test", 1)
			if !bytes.Contains(m[0].Data, []byte("Subject: after long line\r\n")) {
				t.Errorf("stored message is not the one sent:\n%s", m[0].Data)
			}
		}},
		{name: "recipients", steps: []step{
			cmd("EHLO client.example.org", "250"),
			cmd("MAIL FROM:<sender@remote.test>", "250"),
			cmd("RCPT TO:<nobody@example.test>", "550 5.1.1"),
			cmd("RCPT TO:<someone@elsewhere.test>", "550 5.7.1"),
			cmd("DATA", "554|503"), // no valid recipients
			cmd("RSET", "250"),
			cmd("MAIL FROM:<>", "250"),
			cmd("RCPT TO:<postmaster@example.test>", "250"),
			cmd("RCPT TO:<PostMaster@Example.Test>", "250"),
			cmd("RCPT TO:<POSTMASTER@EXAMPLE.TEST>", "250"),
			cmd("RSET", "250"),
			cmd("MAIL FROM:<>", "250"),
			cmd("RCPT TO:<Postmaster>", "250"), // RFC 5321 §4.5.1: no domain needed
			cmd("RSET", "250"),
			cmd("QUIT", "221"),
		}},
		{name: "http-verb-first", steps: []step{
			{send: "GET / HTTP/1.1\r\n", want: []string{"554"}, eof: true},
		}},
	}
}

// transactionDialogs: whole transactions and what they leave in the
// mailboxes (u2..u9).
func transactionDialogs() []dialog {
	bigBody := strings.Repeat(strings.Repeat("y", 98)+"\r\n", dialogMaxSize/100+100)
	pipelined := dialogMsg("pipelined")
	chunk1 := "From: sender@remote.test\r\nSubject: bdat\r\n\r\n"
	chunk2 := "first line of a chunked body\r\nsecond line\r\n"
	return []dialog{
		{name: "null-sender", steps: []step{
			cmd("EHLO client.example.org", "250"),
			cmd("MAIL FROM:<>", "250"),
			cmd("RCPT TO:<u2@example.test>", "250"),
			cmd("DATA", "354"),
			{send: dotString(dialogMsg("bounce")), want: []string{"250"}},
			cmd("QUIT", "221"),
		}, after: func(t *testing.T, s *Server) {
			m := wantMessages(t, s, "u2@example.test", 1)
			if !bytes.HasPrefix(m[0].Data, []byte("Return-Path: <>\r\n")) {
				t.Errorf("null sender: message does not start with \"Return-Path: <>\":\n%s", head(m[0].Data, 300))
			}
		}},
		{name: "size-limits", steps: []step{
			cmd("EHLO client.example.org", "250"),
			cmd(fmt.Sprintf("MAIL FROM:<sender@remote.test> SIZE=%d", dialogMaxSize+1), "552 5.3.4"),
			cmd("MAIL FROM:<sender@remote.test> SIZE=1000", "250"),
			cmd("RCPT TO:<u3@example.test>", "250"),
			cmd("DATA", "354"),
			{send: dotString("Subject: too big\r\n\r\n" + bigBody), want: []string{"552 5.3.4"}},
			cmd("NOOP", "250"),
			cmd("QUIT", "221"),
		}, after: func(t *testing.T, s *Server) {
			wantMessages(t, s, "u3@example.test", 0)
		}},
		{name: "max-recipients", steps: []step{
			cmd("EHLO client.example.org", "250"),
			cmd("MAIL FROM:<sender@remote.test>", "250"),
			cmd("RCPT TO:<u4@example.test>", "250"),
			cmd("RCPT TO:<u5@example.test>", "250"),
			cmd("RCPT TO:<u6@example.test>", "250"),
			cmd("RCPT TO:<u7@example.test>", "452 4.5.3"),
			cmd("DATA", "354"),
			{send: dotString(dialogMsg("three recipients")), want: []string{"250"}},
			cmd("QUIT", "221"),
		}, after: func(t *testing.T, s *Server) {
			for _, u := range []string{"u4", "u5", "u6"} {
				wantMessages(t, s, u+"@example.test", 1)
			}
			wantMessages(t, s, "u7@example.test", 0)
		}},
		{name: "pipelining-whole-transaction", steps: []step{
			cmd("EHLO client.example.org", "250"),
			{send: "MAIL FROM:<sender@remote.test>\r\nRCPT TO:<u8@example.test>\r\n" +
				"RCPT TO:<nobody@example.test>\r\nDATA\r\n" + dotString(pipelined) + "NOOP\r\nQUIT\r\n",
				want: []string{"250", "250", "550 5.1.1", "354", "250 2.0.0", "250", "221"}, eof: true},
		}, after: func(t *testing.T, s *Server) {
			m := wantMessages(t, s, "u8@example.test", 1)
			_, rest := SplitTrace(m[0].Data)
			if string(rest) != pipelined {
				t.Errorf("pipelined message stored as %q, want %q", rest, pipelined)
			}
		}},
		{name: "bdat", steps: []step{
			cmd("EHLO client.example.org", "250"),
			cmd("MAIL FROM:<sender@remote.test>", "250"),
			cmd("RCPT TO:<u9@example.test>", "250"),
			{send: fmt.Sprintf("BDAT %d\r\n%s", len(chunk1), chunk1), want: []string{"250"}},
			{send: fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk2), chunk2), want: []string{"250"}},
			cmd("MAIL FROM:<sender@remote.test>", "250"),
			cmd("RCPT TO:<u9@example.test>", "250"),
			{send: "BDAT 5\r\nabcde", want: []string{"250"}},
			cmd("DATA", "503"), // no mixing DATA and BDAT
			cmd("RSET", "250"),
			cmd("QUIT", "221"),
		}, after: func(t *testing.T, s *Server) {
			m := wantMessages(t, s, "u9@example.test", 1)
			_, rest := SplitTrace(m[0].Data)
			if string(rest) != chunk1+chunk2 {
				t.Errorf("BDAT message stored as %q, want %q", rest, chunk1+chunk2)
			}
		}},
	}
}

// testErrorLimit: after 10 errors the server says 421 4.7.0 and closes.
func testErrorLimit(t *testing.T, s *Server) {
	c := dialT(t, s.SMTP)
	if err := c.Write(strings.Repeat("XYZZY\r\n", 12)); err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		r, err := c.ReadReply()
		if err != nil {
			t.Fatalf("reply %d: connection ended without 421 4.7.0: %v", i, err)
		}
		if matchReply(r, "421 4.7.0") {
			if i > 11 {
				t.Errorf("421 only as reply %d; want it after at most 10 errors", i)
			}
			expectEOF(t, c)
			return
		}
		if r.Code != 500 || i > 11 {
			t.Fatalf("reply %d: want 500 (or 421 4.7.0 after 10 errors), got %v", i, r)
		}
	}
}

// TestSMTPMaxConnections: over limits.max_connections a new connection
// gets 421 and is closed; once one closes, there is room again.
func TestSMTPMaxConnections(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{MaxConnections: 2})
	var open []*SMTPConn
	refused := false
	for i := 0; i < 6 && !refused; i++ {
		c, g, err := DialSMTP(t.Context(), s.SMTP)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		t.Cleanup(func() { c.Close() })
		switch g.Code {
		case 220:
			open = append(open, c)
		case 421:
			refused = true
			expectEOF(t, c)
		default:
			t.Fatalf("connection %d: want 220 or 421, got %v", i+1, g)
		}
	}
	if !refused {
		t.Fatalf("%d connections greeted with max_connections = 2, no 421", len(open))
	}
	if len(open) > 2 {
		t.Errorf("%d connections greeted with max_connections = 2", len(open))
	}
	for _, c := range open {
		_, _ = c.Cmd("QUIT")
		c.Close()
	}
	// Room again (the server notices closed sessions a moment later: retry, bounded).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, g, err := DialSMTP(t.Context(), s.SMTP)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if g.Code == 220 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing every session, still %v", g)
		}
	}
}

// TestSMTPSmuggling: bare LF or CR around a dot inside DATA never ends the
// message (SMTP smuggling, 2023); the "smuggled" commands are message text.
func TestSMTPSmuggling(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	s.AddUser("victim@example.test", "pw")
	cases := []struct{ name, sep string }{
		{"LF-dot-LF", "\n.\n"},
		{"CR-dot-CR", "\r.\r"},
		{"LF-dot-CRLF", "\n.\r\n"},
		{"CRLF-dot-LF", "\r\n.\n"},
		{"CR-dot-CRLF", "\r.\r\n"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			marker := fmt.Sprintf("smuggle-%d", i)
			data := "From: sender@remote.test\r\nSubject: " + marker + "\r\n\r\nbefore" + c.sep +
				"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n" +
				"Subject: smuggled " + marker + "\r\n\r\nsmuggled body\r\n.\r\n"
			runDialog(t, s, dialog{name: c.name, steps: []step{
				cmd("EHLO client.example.org", "250"),
				cmd("MAIL FROM:<sender@remote.test>", "250"),
				cmd("RCPT TO:<victim@example.test>", "250"),
				cmd("DATA", "354"),
				{send: data, want: []string{"250"}},
				{send: "QUIT\r\n", want: []string{"221"}, eof: true},
			}})
			msgs := mustFetch(t, s.POP3, "victim@example.test", "pw", true)
			if len(msgs) != 1 {
				t.Fatalf("%d messages stored, want exactly 1 (the smuggled one must not be separate)", len(msgs))
			}
			if !bytes.Contains(msgs[0].Data, []byte("Subject: "+marker+"\r\n")) ||
				!bytes.Contains(msgs[0].Data, []byte("MAIL FROM:<evil@remote.test>")) {
				t.Errorf("stored message does not hold the whole data:\n%s", msgs[0].Data)
			}
		})
	}
}

// TestSMTPStartTLSInjection: a command pipelined behind STARTTLS in the
// same packet is discarded, never executed inside the TLS session.
func TestSMTPStartTLSInjection(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	s.AddUser("tls@example.test", "pw")
	c := dialT(t, s.SMTP)
	r, err := c.Cmd("EHLO client.example.org")
	if err != nil || r.Code != 250 || !hasKeyword(r, "STARTTLS") {
		t.Fatalf("EHLO: want 250 announcing STARTTLS, got %v (%v)", r, err)
	}
	if err := c.Write("STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\n"); err != nil {
		t.Fatal(err)
	}
	r, err = c.ReadReply()
	if err != nil || !matchReply(r, "220 2.0.0") {
		t.Fatalf("STARTTLS: want 220 2.0.0, got %v (%v)", r, err)
	}
	st, err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}) // compared with cert.pem below
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	checkServedCert(t, s, st)
	r, err = c.Cmd("EHLO client.example.org")
	if err != nil || r.Code != 250 || len(r.Lines) < 2 {
		t.Fatalf("EHLO inside TLS: want the multi-line 250 EHLO reply (an injected MAIL's reply would come first), got %v (%v)", r, err)
	}
	if hasKeyword(r, "STARTTLS") {
		t.Errorf("EHLO inside TLS still offers STARTTLS: %v", r)
	}
	r, err = c.Cmd("RCPT TO:<tls@example.test>")
	if err != nil || r.Code != 503 {
		t.Fatalf("RCPT after TLS without MAIL: want 503 (the injected MAIL must not have run), got %v (%v)", r, err)
	}
	r, err = c.Cmd("STARTTLS")
	if err != nil || r.Code != 503 {
		t.Errorf("STARTTLS inside TLS: want 503, got %v (%v)", r, err)
	}
	res := c.Transaction("sender@remote.test", []string{"tls@example.test"}, []byte(dialogMsg("over tls")), false)
	if !res.Accepted() {
		t.Fatalf("transaction inside TLS: %v", res)
	}
	m := wantMessages(t, s, "tls@example.test", 1)
	trace, _ := SplitTrace(m[0].Data)
	for _, f := range trace {
		if strings.EqualFold(f.Name, "Received") && !strings.Contains(f.Raw, "ESMTPS") {
			t.Errorf("Received of a TLS session does not say ESMTPS: %q", f.Raw)
		}
	}
}

// checkServedCert asserts the server presents data_dir/tls/cert.pem.
func checkServedCert(t *testing.T, s *Server, st *tls.ConnectionState) {
	t.Helper()
	b, err := os.ReadFile(s.TLSCertPath())
	if err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s does not start with a PEM CERTIFICATE", s.TLSCertPath())
	}
	if len(st.PeerCertificates) == 0 || !bytes.Equal(st.PeerCertificates[0].Raw, blk.Bytes) {
		t.Errorf("the served certificate is not the one in %s", s.TLSCertPath())
	}
}

func checkEHLO(t *testing.T, r Reply) {
	if !strings.HasPrefix(r.Lines[0], Hostname) {
		t.Errorf("EHLO greeting line %q does not start with %s", r.Lines[0], Hostname)
	}
	for _, kw := range []string{"SIZE " + strconv.Itoa(dialogMaxSize), "8BITMIME", "PIPELINING",
		"ENHANCEDSTATUSCODES", "STARTTLS", "SMTPUTF8", "CHUNKING"} {
		if !hasKeyword(r, kw) {
			t.Errorf("EHLO does not announce %q: %v", kw, r)
		}
	}
}

func hasKeyword(r Reply, kw string) bool {
	for _, l := range r.Lines[1:] {
		if strings.EqualFold(strings.TrimSpace(l), kw) {
			return true
		}
	}
	return false
}

// dotString is dotStuff for strings.
func dotString(msg string) string { return string(dotStuff([]byte(msg))) }

// TestPostmaster: RFC 5321 §4.5.1 — postmaster@ every local domain, in
// any case, and the bare <Postmaster>, reach the postmaster mailbox: the
// `postmaster` key's address, or postmaster@<first domain> when it is empty.
func TestPostmaster(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, extra, mailbox string
	}{
		{"configured", `postmaster = "pm@example.test"`, "pm@example.test"},
		{"default-mailbox", "", "postmaster@example.test"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{})
			if c.extra != "" {
				// Top-level keys must precede the tables: rewrite the file.
				b, err := os.ReadFile(s.ConfigPath)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(s.ConfigPath, append([]byte(c.extra+"\n"), b...), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s.Start()
			// The server made the postmaster mailbox at start (RFC 5321
			// §4.5.1); give it a password to read it.
			s.MustCLI("pw\n", "user", "passwd", c.mailbox, "--password-stdin")
			rcpts := []string{"postmaster@example.test", "PostMaster@Example.Test", "POSTMASTER@EXAMPLE.TEST", "Postmaster"}
			for _, r := range rcpts {
				mustSend(t, s.SMTP, "", []string{r}, []byte("Subject: to "+r+"\r\n\r\nhello postmaster\r\n"))
			}
			wantMessages(t, s, c.mailbox, len(rcpts))
		})
	}
}
