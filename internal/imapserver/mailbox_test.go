package imapserver_test

import "testing"

// RFC 9051 §6.3.9 LIST, RFC 6154 special use, RFC 5258 LIST-EXTENDED.
func TestList(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	c.expect(`a1 LIST "" ""`, `* LIST (\Noselect) "/" ""`, "a1 OK LIST completed")
	c.expect(`a2 LIST "" *`,
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasNoChildren \Archive) "/" "Archive"`,
		`* LIST (\HasNoChildren \Drafts) "/" "Drafts"`,
		`* LIST (\HasNoChildren \Junk) "/" "Junk"`,
		`* LIST (\HasNoChildren \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
		"a2 OK LIST completed")
	c.mustOK("a3 CREATE Work/Projects/2024")
	c.expect(`a4 LIST "" %`,
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasNoChildren \Archive) "/" "Archive"`,
		`* LIST (\HasNoChildren \Drafts) "/" "Drafts"`,
		`* LIST (\HasNoChildren \Junk) "/" "Junk"`,
		`* LIST (\HasNoChildren \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
		`* LIST (\Noselect \HasChildren) "/" "Work"`,
		"a4 OK LIST completed")
	c.expect(`a5 LIST Work *`,
		`* LIST (\HasNoChildren) "/" "Work/Projects/2024"`,
		"a5 OK LIST completed")
	c.expect(`a6 LIST (SPECIAL-USE) "" * RETURN (SUBSCRIBED)`,
		`* LIST (\HasNoChildren \Subscribed \Archive) "/" "Archive"`,
		`* LIST (\HasNoChildren \Subscribed \Drafts) "/" "Drafts"`,
		`* LIST (\HasNoChildren \Subscribed \Junk) "/" "Junk"`,
		`* LIST (\HasNoChildren \Subscribed \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Subscribed \Trash) "/" "Trash"`,
		"a6 OK LIST completed")
	e.deliver("INBOX", msg1)
	c.expect(`a7 LIST "" INBOX RETURN (STATUS (MESSAGES UNSEEN))`,
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* STATUS "INBOX" (MESSAGES 1 UNSEEN 1)`,
		"a7 OK LIST completed")
	c.expect(`a8 LIST "" (Sent Trash)`,
		`* LIST (\HasNoChildren \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
		"a8 OK LIST completed")
}

// RFC 9051 §6.3.4-§6.3.8: CREATE, DELETE, RENAME, SUBSCRIBE, LSUB.
func TestCreateDeleteRename(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	c.expect("a1 CREATE Lists/", "a1 OK CREATE completed")
	c.expect("a2 CREATE lists", "a2 OK CREATE completed")
	c.expect("a3 CREATE Lists", "a3 NO [ALREADYEXISTS] mailbox exists")
	c.expect("a4 CREATE inbox", "a4 NO [ALREADYEXISTS] INBOX always exists")
	c.expect("a5 CREATE Lists/go (USE (\\Flagged))", "a5 OK CREATE completed")
	c.expect("a6 CREATE x (USE (\\Bogus))", "a6 NO [USEATTR] unknown special-use attribute")
	c.expect(`a7 CREATE "a//b"`, "a7 NO [CANNOT] empty hierarchy level in mailbox name")
	c.expect("a8 RENAME Lists Groups", "a8 OK RENAME completed")
	c.expect(`a9 LIST "" Groups*`,
		`* LIST (\HasChildren) "/" "Groups"`,
		`* LIST (\HasNoChildren \Flagged) "/" "Groups/go"`,
		"a9 OK LIST completed")
	c.expect("b1 DELETE Nope", "b1 NO [NONEXISTENT] no such mailbox")
	c.expect("b2 DELETE INBOX", "b2 NO [CANNOT] INBOX cannot be deleted")
	c.expect("b3 DELETE Groups/go", "b3 OK DELETE completed")
	c.expect("b4 SUBSCRIBE Groups", "b4 OK SUBSCRIBE completed")
	c.expect("b5 SUBSCRIBE Gone/Away", "b5 OK SUBSCRIBE completed")
	c.expect(`b6 LSUB "" G*`, `* LSUB () "/" "Gone/Away"`, `* LSUB () "/" "Groups"`, "b6 OK LSUB completed")
	c.expect(`b7 LIST (SUBSCRIBED) "" G*`,
		`* LIST (\NonExistent \Subscribed) "/" "Gone/Away"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "Groups"`,
		"b7 OK LIST completed")
	c.expect(`b8 LSUB "" %`,
		`* LSUB () "/" "INBOX"`, `* LSUB () "/" "Archive"`, `* LSUB () "/" "Drafts"`,
		`* LSUB (\Noselect) "/" "Gone"`, `* LSUB () "/" "Groups"`,
		`* LSUB () "/" "Junk"`, `* LSUB () "/" "Sent"`, `* LSUB () "/" "Trash"`,
		"b8 OK LSUB completed")
	c.expect("b9 UNSUBSCRIBE Gone/Away", "b9 OK UNSUBSCRIBE completed")
	// RFC 9051 §6.3.6: renaming INBOX moves its messages.
	e.deliver("INBOX", msg1)
	c.expect("c1 RENAME INBOX Old", "c1 OK RENAME completed")
	c.expect("c2 STATUS INBOX (MESSAGES)", `* STATUS "INBOX" (MESSAGES 0)`, "c2 OK STATUS completed")
	c.expect("c3 STATUS Old (MESSAGES)", `* STATUS "Old" (MESSAGES 1)`, "c3 OK STATUS completed")
}

// RFC 9051 §6.3.11 STATUS, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ;
// RFC 9051 §6.3.10 NAMESPACE.
func TestStatusNamespace(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	e.deliver("INBOX", msg1, `\Seen`)
	e.deliver("INBOX", msg2, `\Deleted`)
	c.expect("a1 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)",
		`* STATUS "INBOX" (MESSAGES 2 RECENT 0 UIDNEXT 3 UIDVALIDITY 1001 UNSEEN 1 DELETED 1 SIZE 704 HIGHESTMODSEQ 3)`,
		"a1 OK STATUS completed")
	c.expect("a2 STATUS Nope (MESSAGES)", "a2 NO [NONEXISTENT] no such mailbox")
	c.expect("a3 STATUS INBOX (BOGUS)", "a3 BAD unknown STATUS item BOGUS")
	c.expect("a4 NAMESPACE", `* NAMESPACE (("" "/")) NIL NIL`, "a4 OK NAMESPACE completed")
}

// RFC 3501 §5.1.3: modified UTF-7 for IMAP4rev1 clients, UTF-8 after
// ENABLE IMAP4rev2 (RFC 9051 §6.3.1).
func TestMailboxNameEncoding(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	c.expect("a1 CREATE &AMQ-pfel", "a1 OK CREATE completed")
	c.expect(`a2 LIST "" &AMQ-*`, `* LIST (\HasNoChildren) "/" "&AMQ-pfel"`, "a2 OK LIST completed")
	c.expect("a3 ENABLE IMAP4rev2", "* ENABLED IMAP4rev2", "a3 OK ENABLE completed")
	c.expect(`a4 LIST "" "Ä*"`, `* LIST (\HasNoChildren) "/" "Äpfel"`, "a4 OK LIST completed")
}
