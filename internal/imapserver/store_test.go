package imapserver_test

import "testing"

// RFC 9051 §6.4.6 STORE; RFC 7162 §3.1.3 UNCHANGEDSINCE and MODIFIED.
func TestStore(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1)
	e.deliver("INBOX", msg2)
	e.deliver("INBOX", msg1)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.expect(`a2 STORE 1:2 +FLAGS (\Seen $Work)`,
		`* 1 FETCH (FLAGS (\Seen $Work))`,
		`* 2 FETCH (FLAGS (\Seen $Work))`,
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)",
		"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] flags permitted",
		"a2 OK STORE completed")
	c.expect(`a3 STORE 2 -FLAGS.SILENT ($Work)`, "a3 OK STORE completed")
	c.expect(`a4 UID STORE 3 FLAGS \Flagged`, `* 3 FETCH (UID 3 FLAGS (\Flagged))`, "a4 OK UID STORE completed")
	c.expect(`a5 STORE 1 +FLAGS (\Recent)`, `a5 BAD unknown system flag \Recent`)
	c.expect(`a6 FETCH 1:* FLAGS`,
		`* 1 FETCH (FLAGS (\Seen $Work))`,
		`* 2 FETCH (FLAGS (\Seen))`,
		`* 3 FETCH (FLAGS (\Flagged))`,
		"a6 OK FETCH completed")
	// CONDSTORE: message 1 was changed at mod-sequence 5.
	c.expect(`b1 FETCH 1:3 (MODSEQ)`,
		`* 1 FETCH (MODSEQ (5))`,
		`* 2 FETCH (MODSEQ (7))`,
		`* 3 FETCH (MODSEQ (8))`,
		"b1 OK FETCH completed")
	c.expect(`b2 STORE 1:3 (UNCHANGEDSINCE 6) +FLAGS (\Answered)`,
		`* 1 FETCH (UID 1 FLAGS (\Seen $Work \Answered) MODSEQ (9))`,
		"b2 OK [MODIFIED 2:3] conditional STORE failed for some messages")
	c.expect(`b3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 8)`,
		`* 1 FETCH (UID 1 FLAGS (\Seen $Work \Answered) MODSEQ (9))`,
		"b3 OK UID FETCH completed")
}

// RFC 9051 §6.4.3 EXPUNGE, RFC 4315 §2.1 UID EXPUNGE.
func TestExpunge(t *testing.T) {
	e := newEnv(t, nil)
	for range 5 {
		e.deliver("INBOX", msg1)
	}
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.mustOK(`a2 STORE 2,4:5 +FLAGS.SILENT (\Deleted)`)
	c.expect("a3 UID EXPUNGE 4", "* 4 EXPUNGE", "a3 OK UID EXPUNGE completed")
	c.expect("a4 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE", "a4 OK EXPUNGE completed")
	c.expect("a5 UID FETCH 1:* UID", "* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "a5 OK UID FETCH completed")
	c.expect("a6 EXAMINE INBOX",
		"* OK [CLOSED] previous mailbox closed", "* 2 EXISTS", "* 0 RECENT", "* OK [UNSEEN 1] first unseen",
		"* OK [UIDVALIDITY 1001] UIDs valid", "* OK [UIDNEXT 6] predicted next UID",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`, "* OK [PERMANENTFLAGS ()] read-only mailbox",
		"a6 OK [READ-ONLY] EXAMINE completed")
	c.expect("a7 EXPUNGE", "a7 NO [READ-ONLY] mailbox is read-only")
}

// RFC 9051 §6.4.7 COPY with RFC 4315 COPYUID; RFC 6851 MOVE.
func TestCopyMove(t *testing.T) {
	e := newEnv(t, nil)
	for range 3 {
		e.deliver("INBOX", msg1, `\Flagged`)
	}
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.expect("a2 COPY 1:2 Archive", "a2 OK [COPYUID 1006 1:2 1:2] COPY completed")
	c.expect("a3 COPY 1 Nope", "a3 NO [TRYCREATE] no such mailbox")
	c.expect("a4 UID COPY 3 Archive", "a4 OK [COPYUID 1006 3 3] UID COPY completed")
	c.expect("a5 MOVE 2 Trash", "* OK [COPYUID 1004 2 1] moved", "* 2 EXPUNGE", "a5 OK MOVE completed")
	c.expect("a6 UID MOVE 3 Trash", "* OK [COPYUID 1004 3 2] moved", "* 2 EXPUNGE", "a6 OK UID MOVE completed")
	c.expect("a7 STATUS Trash (MESSAGES UIDNEXT)", `* STATUS "Trash" (MESSAGES 2 UIDNEXT 3)`, "a7 OK STATUS completed")
	c.expect("a8 SELECT Archive",
		"* OK [CLOSED] previous mailbox closed", "* 3 EXISTS", "* 0 RECENT", "* OK [UNSEEN 1] first unseen",
		"* OK [UIDVALIDITY 1006] UIDs valid", "* OK [UIDNEXT 4] predicted next UID",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] flags permitted`,
		"a8 OK [READ-WRITE] SELECT completed")
	c.expect("a9 FETCH 3 FLAGS", `* 3 FETCH (FLAGS (\Flagged))`, "a9 OK FETCH completed")
}
