package imapserver_test

import "testing"

// RFC 9051 §6.3.2 SELECT, §6.3.3 EXAMINE, §6.4.1 CLOSE, §6.4.2 UNSELECT.
func TestSelectExamine(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1, `\Seen`)
	e.deliver("INBOX", msg2, "$Important")
	c := e.login()
	c.expect("a1 SELECT inbox",
		"* 2 EXISTS",
		"* 0 RECENT",
		"* OK [UNSEEN 2] first unseen",
		"* OK [UIDVALIDITY 1001] UIDs valid",
		"* OK [UIDNEXT 3] predicted next UID",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)] flags permitted`,
		"a1 OK [READ-WRITE] SELECT completed")
	c.expect("a2 EXAMINE Sent",
		"* OK [CLOSED] previous mailbox closed",
		"* 0 EXISTS",
		"* 0 RECENT",
		"* OK [UIDVALIDITY 1003] UIDs valid",
		"* OK [UIDNEXT 1] predicted next UID",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`,
		`* OK [PERMANENTFLAGS ()] read-only mailbox`,
		"a2 OK [READ-ONLY] EXAMINE completed")
	c.expect("a3 STORE 1 +FLAGS (\\Seen)", "a3 NO [READ-ONLY] mailbox is read-only")
	c.expect("a4 UNSELECT", "a4 OK UNSELECT completed")
	c.expect("a5 FETCH 1 FLAGS", "a5 BAD FETCH not allowed now")
	c.expect("a6 SELECT Nope", "a6 NO [NONEXISTENT] no such mailbox")

	c.expect("b1 ENABLE IMAP4rev2 CONDSTORE", "* ENABLED IMAP4rev2 CONDSTORE", "b1 OK ENABLE completed")
	c.expect("b2 SELECT INBOX",
		"* 2 EXISTS",
		"* OK [UIDVALIDITY 1001] UIDs valid",
		"* OK [UIDNEXT 3] predicted next UID",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)] flags permitted`,
		"* OK [HIGHESTMODSEQ 3] highest",
		`* LIST () "/" "INBOX"`,
		"b2 OK [READ-WRITE] SELECT completed")
	c.expect(`b3 STORE 1 +FLAGS.SILENT (\Deleted)`, `* 1 FETCH (UID 1 FLAGS (\Seen \Deleted) MODSEQ (4))`, "b3 OK STORE completed")
	// CLOSE expunges silently.
	c.expect("b4 CLOSE", "b4 OK CLOSE completed")
	c.expect("b5 STATUS INBOX (MESSAGES)", `* STATUS "INBOX" (MESSAGES 1)`, "b5 OK STATUS completed")
}
