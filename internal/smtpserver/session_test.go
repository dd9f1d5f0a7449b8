package smtpserver

import (
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// step is one command and the reply it must get ("" sends nothing and
// just reads a reply; a want of "EOF" expects the connection closed).
type step struct{ send, want string }

func TestDialogs(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name  string
		phase string
		steps []step
	}{
		{"helo", "greeted", []step{{"HELO client.test", "250 mx.test"}, {"MAIL FROM:<a@b.test>", "250 Ok"}}},
		{"helo no enhanced codes", "helo", []step{{"RCPT TO:<a@b.test>", "503 Need MAIL"}, {"FOO", "500 Command"}}},
		{"ehlo lines", "greeted", []step{{"EHLO client.test", "250-mx.test\n250-SIZE 1000\n250-8BITMIME\n250-PIPELINING\n250-ENHANCEDSTATUSCODES\n250-SMTPUTF8\n250-CHUNKING\n250-DSN\n250 HELP"}}},
		{"helo without arg", "greeted", []step{{"HELO", "501 "}, {"EHLO", "501 "}}},
		{"mail before helo", "greeted", []step{{"MAIL FROM:<a@b.test>", "503 Send HELO"}}},
		{"rcpt before mail", "ehlo", []step{{"RCPT TO:<a@b.test>", "503 5.5.1"}}},
		{"data before mail", "ehlo", []step{{"DATA", "503 5.5.1"}}},
		{"bdat before mail", "ehlo", []step{{"BDAT 3 LAST\r\na", "503 5.5.1"}, {"NOOP", "250 2.0.0"}}},
		{"nested mail", "mail", []step{{"MAIL FROM:<a@b.test>", "503 5.5.1"}}},
		{"data no rcpt", "mail", []step{{"DATA", "554 5.5.1 No valid recipients"}}},
		{"unknown", "ehlo", []step{{"FROB", "500 5.5.2"}}},
		{"not implemented", "ehlo", []step{{"TURN", "502 5.5.1"}, {"ETRN x", "502 5.5.1"}}},
		{"mail syntax", "ehlo", []step{{"MAIL FROM:a@b.test", "501 5.1.7"}, {"MAIL FROM:<a@b.test", "501 5.1.7"}, {"MAIL TO:<a@b.test>", "501 5.5.4"}}},
		{"mail space after colon", "ehlo", []step{{"MAIL FROM: <a@b.test>", "250 2.1.0"}}},
		{"mail null", "ehlo", []step{{"MAIL FROM:<>", "250 2.1.0"}}},
		{"mail unknown param", "ehlo", []step{{"MAIL FROM:<a@b.test> FOO=1", "555 5.5.4"}}},
		{"mail size", "ehlo", []step{{"MAIL FROM:<a@b.test> SIZE=1001", "552 5.3.4"}, {"MAIL FROM:<a@b.test> SIZE=1000", "250 2.1.0"}}},
		{"rcpt syntax", "mail", []step{{"RCPT TO:a@b.test", "501 5.1.3"}, {"RCPT TO:<>", "501 5.1.3"}}},
		{"rcpt postmaster", "mail", []step{{"RCPT TO:<Postmaster>", "250 2.1.5"}}},
		{"rcpt source route", "mail", []step{{"RCPT TO:<@relay.test:user@mx.test>", "250 2.1.5"}}},
		{"rcpt utf8 refused", "mail", []step{{"RCPT TO:<ü@mx.test>", "553 5.6.7"}}},
		{"rcpt utf8", "ehlo", []step{{"MAIL FROM:<jö@b.test> SMTPUTF8", "250 2.1.0"}, {"RCPT TO:<ü@mx.test>", "250 2.1.5"}}},
		{"mail utf8 refused", "ehlo", []step{{"MAIL FROM:<jö@b.test>", "553 5.6.7"}}},
		{"max recipients", "mail", []step{{"RCPT TO:<a@mx.test>", "250"}, {"RCPT TO:<b@mx.test>", "250"}, {"RCPT TO:<c@mx.test>", "250"}, {"RCPT TO:<d@mx.test>", "452 4.5.3"}}},
		{"rset", "rcpt", []step{{"RSET", "250 2.0.0"}, {"DATA", "503 5.5.1"}}},
		{"noop help vrfy expn", "ehlo", []step{{"NOOP", "250 2.0.0"}, {"HELP", "214 2.0.0"}, {"VRFY user", "252 2.5.0"}, {"EXPN list", "502 5.5.1"}}},
		{"quit", "ehlo", []step{{"QUIT", "221 2.0.0"}, {"", "EOF"}}},
		{"starttls unavailable", "ehlo", []step{{"STARTTLS", "502 5.5.1"}}},
		{"auth unavailable", "ehlo", []step{{"AUTH PLAIN", "502 5.5.1"}}},
		{"http", "greeted", []step{{"GET / HTTP/1.1", "554 "}, {"", "EOF"}}},
		{"http later is unknown", "ehlo", []step{{"GET /", "500 5.5.2"}}},
		{"line too long", "ehlo", []step{{"NOOP " + long, "500 5.5.2 Line too long"}, {"NOOP", "250 2.0.0"}}},
		{"mail line limit", "ehlo", []step{{"MAIL FROM:<a@b.test> ENVID=" + strings.Repeat("e", 100), "250 2.1.0"}}},
		{"data with arg", "rcpt", []step{{"DATA x", "501 5.5.4"}}},
		{"bdat bad syntax", "rcpt", []step{{"BDAT x", "501 5.5.4"}, {"", "EOF"}}},
		{"binarymime needs bdat", "ehlo", []step{{"MAIL FROM:<a@b.test> BODY=BINARYMIME", "250"}, {"RCPT TO:<u@mx.test>", "250"}, {"DATA", "503 5.5.1"}}},
		{"ehlo resets", "rcpt", []step{{"EHLO again.test", "250-mx.test"}, {"DATA", "503 5.5.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := startServer(t, testConfig(), &fakeBackend{})
			c := dialGreeted(t, addr)
			c.toPhase(tt.phase)
			for _, s := range tt.steps {
				var r string
				if s.send == "" {
					r = c.reply()
				} else {
					r = c.cmd(s.send)
				}
				if !strings.HasPrefix(r, s.want) {
					t.Fatalf("%q: reply %q, want prefix %q", s.send, r, s.want)
				}
			}
		})
	}
}

func TestTransaction(t *testing.T) {
	be := &fakeBackend{}
	addr, _ := startServer(t, testConfig(), be)
	c := dialGreeted(t, addr)
	c.toPhase("ehlo")
	c.expect("MAIL FROM:<s@client.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=E+2B1", "250 2.1.0")
	c.expect("RCPT TO:<u@mx.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40orig.test", "250 2.1.5")
	c.expect("DATA", "354 ")
	c.send("Subject: hi\r\n\r\n..dot\r\nbare\nlf\r\n.\r\n")
	if r := c.reply(); r != "250 2.0.0 Ok: queued as Q1" {
		t.Fatalf("reply %q", r)
	}
	if got, want := be.body(t, 0), "Subject: hi\r\n\r\n.dot\r\nbare\r\nlf\r\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
	tx := be.committed[0]
	if tx.from != "s@client.test" || tx.opts != (MailOptions{Size: 100, Body: "8BITMIME", Ret: "HDRS", EnvID: "E+1"}) {
		t.Errorf("mail %q %+v", tx.from, tx.opts)
	}
	if tx.rcpts[0] != "u@mx.test" || tx.ropts[0] != (RcptOptions{Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;u@orig.test"}) {
		t.Errorf("rcpt %q %+v", tx.rcpts, tx.ropts)
	}
	rcv := tx.data.String()
	for _, want := range []string{"Received: from client.test (unknown [127.0.0.1])\r\n\tby mx.test (posthorn) with ESMTP\r\n\tid Q1 for <u@mx.test>; "} {
		if !strings.HasPrefix(rcv, want) {
			t.Errorf("Received: %q, want prefix %q", rcv, want)
		}
	}
	// The transaction is over: a second message needs MAIL again.
	c.expect("DATA", "503 5.5.1")
	c.expect("QUIT", "221 2.0.0")
}

func TestBackendErrors(t *testing.T) {
	tests := []struct {
		name      string
		rcptErr   error
		commitErr error
		writeErr  error
		beginErr  error
		want      string
	}{
		{name: "no such user", rcptErr: mailerr.Permanent(mailerr.NoSuchUser, "", nil), want: "550 5.1.1"},
		{name: "not local", rcptErr: mailerr.Permanent(mailerr.NotLocal, "", nil), want: "550 5.7.1 Relaying denied"},
		{name: "policy", rcptErr: mailerr.Permanent(mailerr.Policy, "", nil), want: "550 5.7.1"},
		{name: "over quota", rcptErr: mailerr.Temporary(mailerr.OverQuota, "", nil), want: "452 4.2.2"},
		{name: "unavailable", rcptErr: mailerr.Temporary(mailerr.Unavailable, "", nil), want: "451 4.3.0"},
		{name: "disk full rcpt", rcptErr: mailerr.Temporary(mailerr.DiskFull, "", nil), want: "452 4.3.1"},
		{name: "plain error", rcptErr: errString("boom"), want: "451 4.3.0"},
		{name: "client text", rcptErr: mailerr.Permanent(mailerr.NoSuchUser, "Unknown mailbox u@mx.test", nil), want: "550 5.1.1 Unknown mailbox u@mx.test"},
		{name: "begin policy", beginErr: mailerr.Permanent(mailerr.Policy, "", nil), want: "550 5.7.1"},
		{name: "commit disk full", commitErr: mailerr.Temporary(mailerr.DiskFull, "", nil), want: "452 4.3.1"},
		{name: "commit temporary", commitErr: mailerr.Temporary(mailerr.Unknown, "", nil), want: "451 4.3.0"},
		{name: "commit permanent", commitErr: mailerr.Permanent(mailerr.Unknown, "", nil), want: "554 5.3.0"},
		{name: "write failure", writeErr: mailerr.Temporary(mailerr.DiskFull, "", nil), want: "452 4.3.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &fakeBackend{rcptErr: map[string]error{"u@mx.test": tt.rcptErr}, commitErr: tt.commitErr, writeErr: tt.writeErr, beginErr: tt.beginErr}
			addr, _ := startServer(t, testConfig(), be)
			c := dialGreeted(t, addr)
			c.toPhase("ehlo")
			if tt.beginErr != nil {
				c.expect("MAIL FROM:<s@client.test>", tt.want)
				return
			}
			c.expect("MAIL FROM:<s@client.test>", "250")
			if tt.rcptErr != nil {
				c.expect("RCPT TO:<u@mx.test>", tt.want)
				return
			}
			c.expect("RCPT TO:<u@mx.test>", "250")
			c.expect("DATA", "354")
			c.send("a\r\nb\r\n.\r\n")
			if r := c.reply(); !strings.HasPrefix(r, tt.want) {
				t.Fatalf("reply %q, want %q", r, tt.want)
			}
			if committed, aborted := be.counts(); committed != 0 || aborted != 1 {
				t.Fatalf("committed %d aborted %d", committed, aborted)
			}
			c.expect("NOOP", "250")
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }
