package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// imapMessage is a small message with a subject and n body lines.
func imapMessage(subject string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender <sender@remote.test>\r\nTo: imap@example.test\r\nSubject: %s\r\n"+
		"Message-ID: <%s@remote.test>\r\n\r\n", subject, strings.ReplaceAll(subject, " ", "."))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s line %d\r\n", subject, i)
	}
	return []byte(b.String())
}

func wantTyp(t *testing.T, r IMAPOp, typ string) {
	t.Helper()
	if r.Typ != typ {
		t.Errorf("%v: %s %q %s, want %s", r.Op, r.Typ, r.Strings(), r.Error, typ)
	}
}

// TestIMAPImaplib drives every everyday command with Python's imaplib
// against mail delivered over SMTP, and checks that BODY[] is
// byte-identical to POP3's RETR.
func TestIMAPImaplib(t *testing.T) {
	t.Parallel()
	s := StartIMAPServer(t, Options{})
	const user, pass = "imap@example.test", "pw-imap"
	s.AddUser(user, pass)
	for i := 1; i <= 3; i++ {
		mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage(fmt.Sprintf("message %d", i), 3))
	}
	appended := []byte("From: me@example.test\r\nSubject: draft\r\n\r\nnot sent yet\r\n")
	res := imaplibRun(t, s.IMAP, "plain", user, pass,
		[]any{"list"},            // 0
		[]any{"select", "INBOX"}, // 1
		[]any{"fetch", "1:*", "(UID FLAGS RFC822.SIZE ENVELOPE)"},                              // 2
		[]any{"fetch", "1", "(BODY.PEEK[])"},                                                   // 3
		[]any{"fetch", "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"},                            // 4
		[]any{"fetch", "2", "(BODY.PEEK[TEXT]<0.14>)"},                                         // 5
		[]any{"search", nil, "SUBJECT", `"message 3"`},                                         // 6
		[]any{"uid", "SEARCH", "ALL"},                                                          // 7
		[]any{"store", "1", "+FLAGS", `(\Seen $Important)`},                                    // 8
		[]any{"fetch", "1", "(FLAGS)"},                                                         // 9
		[]any{"create", "Work/Projects"},                                                       // 10
		[]any{"copy", "1:2", "Work/Projects"},                                                  // 11
		[]any{"uid", "MOVE", "3", "Archive"},                                                   // 12
		[]any{"status", "Work/Projects", "(MESSAGES UNSEEN UIDNEXT)"},                          // 13
		[]any{"append_b64", "Drafts", `(\Draft)`, base64.StdEncoding.EncodeToString(appended)}, // 14
		[]any{"store", "2", "+FLAGS", `(\Deleted)`},                                            // 15
		[]any{"expunge"},                        // 16
		[]any{"rename", "Work", "Jobs"},         // 17
		[]any{"list", `""`, `"Jobs/*"`},         // 18
		[]any{"subscribe", "Jobs/Projects"},     // 19
		[]any{"lsub", `""`, `"Jobs/*"`},         // 20
		[]any{"getquotaroot", "INBOX"},          // 21
		[]any{"namespace"},                      // 22
		[]any{"copy", "1", "Nope"},              // 23
		[]any{"select", "Nope"},                 // 24
		[]any{"delete", "Jobs/Projects"},        // 25
		[]any{"status", "Drafts", "(MESSAGES)"}, // 26
	)
	if res.Login.Typ != "OK" {
		t.Fatalf("login: %+v", res.Login)
	}
	r := res.Results
	for i, typ := range map[int]string{23: "NO", 24: "NO"} {
		wantTyp(t, r[i], typ)
	}
	for i := range r {
		if i != 23 && i != 24 {
			wantTyp(t, r[i], "OK")
		}
	}
	list := r[0].Joined()
	for _, want := range []string{`"/" "INBOX"`, `\Sent) "/" "Sent"`, `\Drafts) "/" "Drafts"`, `\Trash) "/" "Trash"`,
		`\Junk) "/" "Junk"`, `\Archive) "/" "Archive"`} {
		if !strings.Contains(list, want) {
			t.Errorf("LIST lacks %s:\n%s", want, list)
		}
	}
	if got := r[1].Strings(); !slices.Equal(got, []string{"3"}) {
		t.Errorf("SELECT INBOX: %q, want 3 messages", got)
	}
	fetch := r[2].Strings()
	if len(fetch) != 3 || !strings.Contains(fetch[1], `UID 2 FLAGS () RFC822.SIZE `) ||
		!strings.Contains(fetch[1], `ENVELOPE (NIL "message 2" (("Sender" NIL "sender" "remote.test"))`) {
		t.Errorf("FETCH 1:* ENVELOPE: %q", fetch)
	}
	// BODY[] is the message as stored: POP3's RETR gives the same octets.
	body := r[3].Strings()
	if len(body) < 2 {
		t.Fatalf("FETCH BODY[]: %q", body)
	}
	imapBytes := Octets(body[1])
	pop := poplibRun(t, s.Server, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{{"retr", 1}, {"quit"}}})[0]
	popBytes := opsByIndex(t, pop, 2)[0].Data(t)
	if !bytes.Equal(imapBytes, popBytes) {
		t.Errorf("IMAP BODY[] and POP3 RETR differ:\n%q\n%q", imapBytes, popBytes)
	}
	if _, b := SplitTrace(imapBytes); !bytes.Equal(b, imapMessage("message 1", 3)) {
		t.Errorf("BODY[] after trace fields: %q", b)
	}
	if got := r[4].Strings(); len(got) < 2 || got[1] != "Subject: message 2\r\n\r\n" {
		t.Errorf("HEADER.FIELDS (SUBJECT): %q", got)
	}
	if got := r[5].Strings(); len(got) < 2 || got[1] != "message 2 line" {
		t.Errorf("BODY[TEXT]<0.14>: %q", got)
	}
	if got := r[6].Strings(); !slices.Equal(got, []string{"3"}) {
		t.Errorf("SEARCH SUBJECT: %q", got)
	}
	if got := r[7].Strings(); !slices.Equal(got, []string{"1 2 3"}) {
		t.Errorf("UID SEARCH ALL: %q", got)
	}
	if got := r[9].Joined(); !strings.Contains(got, `FLAGS (\Seen $Important)`) {
		t.Errorf("FLAGS after STORE: %q", got)
	}
	if got := r[11].Joined(); !regexp.MustCompile(`^\[COPYUID \d+ 1:2 1:2\]`).MatchString(got) {
		t.Errorf("COPY: %q, want COPYUID", got)
	}
	if got := r[13].Joined(); !strings.Contains(got, `(MESSAGES 2 UNSEEN 1 UIDNEXT 3)`) {
		t.Errorf("STATUS: %q", got)
	}
	if got := r[14].Joined(); !regexp.MustCompile(`^\[APPENDUID \d+ 1\]`).MatchString(got) {
		t.Errorf("APPEND: %q, want APPENDUID", got)
	}
	if got := r[16].Strings(); !slices.Equal(got, []string{"2"}) {
		t.Errorf("EXPUNGE: %q, want message 2 expunged", got)
	}
	if got := r[18].Joined(); !strings.Contains(got, `"Jobs/Projects"`) {
		t.Errorf("LIST after RENAME: %q", got)
	}
	if got := r[20].Joined(); !strings.Contains(got, `"Jobs/Projects"`) {
		t.Errorf("LSUB: %q", got)
	}
	if got := r[22].Joined(); !strings.Contains(got, `(("" "/"))`) {
		t.Errorf("NAMESPACE: %q", got)
	}
	if got := r[23].Joined(); !strings.Contains(got, "TRYCREATE") {
		t.Errorf("COPY to a missing mailbox: %q, want [TRYCREATE]", got)
	}
	if got := r[26].Joined(); !strings.Contains(got, "(MESSAGES 1)") {
		t.Errorf("STATUS Drafts after APPEND: %q", got)
	}

	// A second session sees what the first did: Archive got message 3,
	// Drafts the appended message, byte for byte.
	res2 := imaplibRun(t, s.IMAP, "plain", user, pass,
		[]any{"select", "Archive"}, []any{"fetch", "1", "(UID ENVELOPE)"},
		[]any{"select", "Drafts", true}, []any{"fetch", "1", "(FLAGS BODY.PEEK[])"})
	for _, x := range res2.Results {
		wantTyp(t, x, "OK")
	}
	if got := res2.Results[1].Joined(); !strings.Contains(got, `"message 3"`) {
		t.Errorf("Archive after MOVE: %q", got)
	}
	if got := res2.Results[3].Strings(); len(got) < 2 || !bytes.Equal(Octets(got[1]), appended) ||
		!strings.Contains(got[0], `\Draft`) {
		t.Errorf("appended message: %q", got)
	}
}

// TestIMAPIdleAndSessions checks the exact untagged responses that other
// sessions, SMTP delivery and POP3 cause: IDLE wakes when a message is
// delivered over SMTP (imaplib has no IDLE: a raw socket), when another
// IMAP session changes flags, and when POP3 deletes a message.
func TestIMAPIdleAndSessions(t *testing.T) {
	t.Parallel()
	s := StartIMAPServer(t, Options{})
	const user, pass = "idle@example.test", "pw-idle"
	s.AddUser(user, pass)
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage("first", 1))

	a := DialIMAP(t, s.IMAP, false)
	// SASL-IR (RFC 4959): AUTHENTICATE PLAIN with the initial response.
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if _, done := a.Cmd("AUTHENTICATE PLAIN %s", ir); !strings.HasPrefix(done, "OK") {
		t.Fatalf("AUTHENTICATE PLAIN: %s", done)
	}
	sel := a.MustOK("SELECT INBOX")
	if !slices.Contains(sel, "* 1 EXISTS") {
		t.Errorf("SELECT: %q", sel)
	}
	b := DialIMAP(t, s.IMAP, false)
	b.MustOK(`LOGIN %s %s`, user, pass)
	b.MustOK("SELECT INBOX")

	a.Send("i1 IDLE")
	if l := a.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage("second", 1))
	a.Expect("* 2 EXISTS")
	if u := b.MustOK("NOOP"); !slices.Contains(u, "* 2 EXISTS") {
		t.Errorf("second session after delivery: %q", u)
	}
	b.MustOK(`STORE 1 +FLAGS.SILENT (\Flagged)`)
	a.Expect(`* 1 FETCH (UID 1 FLAGS (\Flagged))`)
	a.Send("DONE")
	if _, done := a.Until("i1"); !strings.HasPrefix(done, "OK") {
		t.Errorf("IDLE end: %s", done)
	}
	b.MustOK("LOGOUT")

	// POP3 deletes message 1; the IMAP session hears EXPUNGE.
	a.Send("i2 IDLE")
	a.Line()
	pop := poplibRun(t, s.Server, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{{"dele", 1}, {"quit"}}})[0]
	allOK(t, opsByIndex(t, pop, 2))
	a.Expect("* 1 EXPUNGE")
	a.Send("DONE")
	a.Until("i2")
	u := a.MustOK("UID FETCH 1:* (UID FLAGS)")
	if !slices.Equal(u, []string{"* 1 FETCH (UID 2 FLAGS ())"}) {
		t.Errorf("after POP3 DELE: %q", u)
	}
	// UIDs never go back: a new message gets UID 3.
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage("third", 1))
	if u := a.MustOK("NOOP"); !slices.Equal(u, []string{"* 2 EXISTS"}) {
		t.Errorf("NOOP after a delivery: %q", u)
	}
	if u := a.MustOK("UID SEARCH ALL"); !slices.Contains(u, "* SEARCH 2 3") {
		t.Errorf("UID SEARCH after a new delivery: %q", u)
	}
}

// TestIMAPQuotaAndTLS: APPEND over the quota answers NO [OVERQUOTA], SMTP
// refuses with 452 4.2.2, QUOTA reports usage; imaps and STARTTLS work.
func TestIMAPQuotaAndTLS(t *testing.T) {
	t.Parallel()
	s := StartIMAPServer(t, Options{})
	const user, pass = "quota@example.test", "pw-quota"
	s.AddUser(user, pass)
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage("fills", 2))
	s.MustCLI("", "user", "quota", user, "300") // below what the first message takes
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 500))
	for _, mode := range []string{"ssl", "starttls"} {
		addr := s.IMAP
		if mode == "ssl" {
			addr = s.IMAPS
		}
		res := imaplibRun(t, addr, mode, user, pass,
			[]any{"append_b64", "INBOX", "", big}, []any{"getquota", `""`}, []any{"select", "INBOX"})
		if res.Login.Typ != "OK" {
			t.Fatalf("%s login: %+v", mode, res.Login)
		}
		r := res.Results
		if r[0].Typ != "NO" || !strings.Contains(r[0].Joined(), "[OVERQUOTA]") {
			t.Errorf("%s: APPEND over quota: %+v", mode, r[0])
		}
		if got := r[1].Joined(); !regexp.MustCompile(`\(STORAGE \d+ 0\)`).MatchString(got) &&
			!regexp.MustCompile(`\(STORAGE 0 0\)`).MatchString(got) {
			// 400 octets is 0 KiB: RFC 9208 counts STORAGE in units of 1024.
			t.Errorf("%s: GETQUOTA: %q", mode, got)
		}
		wantTyp(t, r[2], "OK")
	}
	c := dialT(t, s.SMTP)
	for _, l := range []string{"EHLO client.example.org", "MAIL FROM:<sender@remote.test>"} {
		if rep, err := c.Cmd(l); err != nil || rep.Code != 250 {
			t.Fatalf("%s: %v %v", l, rep, err)
		}
	}
	if rep, err := c.Cmd("RCPT TO:<" + user + ">"); err != nil || rep.Code != 452 || rep.Enhanced() != "4.2.2" {
		t.Errorf("RCPT to a user over quota: %v %v, want 452 4.2.2", rep, err)
	}
}
