package imapserver_test

import "testing"

// RFC 9051 §6.4.4 SEARCH, RFC 4731 ESEARCH, RFC 7162 §3.1.5 MODSEQ.
func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1, `\Seen`)
	e.deliver("INBOX", msg2, `\Flagged`)
	e.deliver("INBOX", msg1, `\Deleted`, "$Work")
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	tests := []struct{ query, want string }{
		{"ALL", "* SEARCH 1 2 3"},
		{"SEEN", "* SEARCH 1"},
		{"UNSEEN", "* SEARCH 2 3"},
		{"FLAGGED UNSEEN", "* SEARCH 2"},
		{"OR SEEN FLAGGED", "* SEARCH 1 2"},
		{"NOT DELETED", "* SEARCH 1 2"},
		{"KEYWORD $Work", "* SEARCH 3"},
		{"UNKEYWORD $work", "* SEARCH 1 2"},
		{"FROM alice", "* SEARCH 1 3"},
		{`FROM "Alice Example"`, "* SEARCH 1 3"},
		{"TO carol", "* SEARCH 1 3"},
		{`CHARSET UTF-8 SUBJECT "grüße"`, "* SEARCH 2"},
		{`CHARSET ISO-8859-1 SUBJECT {5+}` + "\r\ngr\xfc\xdfe", "* SEARCH 2"},
		{`CHARSET UTF-8 BODY "SCHÖNE"`, "* SEARCH 2"},
		{"TEXT carol", "* SEARCH 1 3"},
		{"TEXT test.", "* SEARCH 1 3"},
		{"HEADER Message-ID m1@", "* SEARCH 1 3"},
		{`HEADER MIME-Version ""`, "* SEARCH 2"},
		{"LARGER 300", "* SEARCH 2"},
		{"SMALLER 300", "* SEARCH 1 3"},
		{"2:*", "* SEARCH 2 3"},
		{"UID 1,3", "* SEARCH 1 3"},
		{"(SEEN) (NOT SEEN)", "* SEARCH"},
		{"ON 1-Mar-2024", "* SEARCH 1 2 3"},
		{"BEFORE 1-Mar-2024", "* SEARCH"},
		{"SINCE 2-Mar-2024", "* SEARCH"},
		{"SENTON 2-Mar-2024", "* SEARCH 2"},
		{"SENTBEFORE 2-Mar-2024", "* SEARCH 1 3"},
		{`SENTSINCE "2-Mar-2024"`, "* SEARCH 2"},
		{"NEW", "* SEARCH"},
		{"MODSEQ 3", "* SEARCH 2 3 (MODSEQ 4)"},
	}
	for _, tc := range tests {
		c.expect("s SEARCH "+tc.query, tc.want, "s OK SEARCH completed")
	}
	c.expect("u UID SEARCH SEEN", "* SEARCH 1", "u OK UID SEARCH completed")
	c.expect("x SEARCH FROB", "x BAD unknown search key FROB")
	c.expect("y SEARCH CHARSET KOI9 ALL", "y NO [BADCHARSET (US-ASCII UTF-8)] unsupported charset")
	c.expect("e1 SEARCH RETURN (MIN MAX COUNT ALL) NOT SEEN",
		`* ESEARCH (TAG "e1") MIN 2 MAX 3 COUNT 2 ALL 2:3`, "e1 OK SEARCH completed")
	c.expect("e2 UID SEARCH RETURN () ALL", `* ESEARCH (TAG "e2") UID ALL 1:3`, "e2 OK UID SEARCH completed")
	c.expect("e3 SEARCH RETURN (COUNT) KEYWORD nope", `* ESEARCH (TAG "e3") COUNT 0`, "e3 OK SEARCH completed")
}

// Deeply nested search keys are refused, not recursed into.
func TestSearchLimits(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	deep := ""
	for range 100 {
		deep += "NOT "
	}
	c.expect("a2 SEARCH "+deep+"ALL", "a2 BAD search program too large or nested too deep")
}
