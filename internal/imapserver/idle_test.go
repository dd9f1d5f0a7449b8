package imapserver_test

import (
	"context"
	"testing"
	"time"
)

// RFC 2177 IDLE: a delivery, a flag change and an expunge by another
// session arrive while idling; DONE ends it.
func TestIdle(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1)
	e.deliver("INBOX", msg1)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.send("a2 IDLE")
	if l := c.readLine(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	e.deliver("INBOX", msg2)
	if l := c.readLine(); l != "* 3 EXISTS" {
		t.Errorf("delivery while idle: %q", l)
	}
	other := e.login()
	other.mustOK("b1 SELECT INBOX")
	other.mustOK(`b2 STORE 1 +FLAGS (\Deleted)`)
	if l := c.readLine(); l != `* 1 FETCH (UID 1 FLAGS (\Deleted))` {
		t.Errorf("flag change while idle: %q", l)
	}
	other.mustOK("b3 EXPUNGE")
	if l := c.readLine(); l != "* 1 EXPUNGE" {
		t.Errorf("expunge while idle: %q", l)
	}
	c.send("DONE")
	if l := c.readLine(); l != "a2 OK IDLE completed" {
		t.Errorf("DONE: %q", l)
	}
	c.expect("a3 FETCH 1:* UID", "* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)", "a3 OK FETCH completed")
	c.send("a4 IDLE")
	c.readLine()
	c.send("NOTDONE")
	if l := c.readLine(); l != "a4 BAD expected DONE" {
		t.Errorf("bad IDLE end: %q", l)
	}
}

// Shutdown ends an IDLE with BYE.
func TestShutdownDuringIdle(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.send("a2 IDLE")
	c.readLine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := c.readLine(); l != "* BYE server shutting down" {
		t.Errorf("shutdown: %q", l)
	}
}

// RFC 9051 §7.5.1: two sessions on one mailbox see each other's changes;
// no EXPUNGE during FETCH, STORE or SEARCH by sequence number.
func TestTwoSessions(t *testing.T) {
	e := newEnv(t, nil)
	for range 3 {
		e.deliver("INBOX", msg1)
	}
	a, b := e.login(), e.login()
	a.mustOK("a1 SELECT INBOX")
	b.mustOK("b1 SELECT INBOX")
	b.expect(`b2 STORE 2 +FLAGS (\Deleted \Seen)`, `* 2 FETCH (FLAGS (\Deleted \Seen))`, "b2 OK STORE completed")
	a.expect("a2 NOOP", `* 2 FETCH (UID 2 FLAGS (\Deleted \Seen))`, "a2 OK NOOP completed")
	b.expect("b3 EXPUNGE", "* 2 EXPUNGE", "b3 OK EXPUNGE completed")
	e.deliver("INBOX", msg2)
	// FETCH by number: the expunge waits, so the numbers stay valid.
	a.expect("a3 FETCH 3 UID", "* 3 FETCH (UID 3)", "a3 OK FETCH completed")
	a.expect("a4 SEARCH ALL", "* SEARCH 1 2 3", "a4 OK SEARCH completed")
	a.expect("a5 UID FETCH 2 UID", "* 2 EXPUNGE", "* 3 EXISTS", "a5 OK UID FETCH completed")
	a.expect("a6 FETCH 1:* UID", "* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 4)", "a6 OK FETCH completed")
	b.expect("b4 NOOP", "* 3 EXISTS", "b4 OK NOOP completed")
}

// A mailbox deleted by another session ends the session that has it
// selected, in IDLE or at its next command.
func TestSelectedMailboxDeleted(t *testing.T) {
	e := newEnv(t, nil)
	a, b := e.login(), e.login()
	a.mustOK("a1 CREATE Lists")
	a.mustOK("a2 SELECT Lists")
	a.send("a3 IDLE")
	a.readLine()
	b.mustOK("b1 DELETE Lists")
	if l := a.readLine(); l != "* BYE [NONEXISTENT] selected mailbox was deleted" {
		t.Errorf("deleted while idle: %q", l)
	}
}
