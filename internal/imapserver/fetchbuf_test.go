package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
)

// A FETCH whose responses pass the gathering buffer several times (about
// 600 bytes each, 400 messages) comes out complete and in order, and with
// content items mixed in (written out around the streamed literal).
func TestFetchManyGathered(t *testing.T) {
	e := newEnv(t, nil)
	const n = 400
	subj := strings.Repeat("long subject ", 40)
	for i := 1; i <= n; i++ {
		e.deliver("INBOX", fmt.Sprintf("From: a%d@example.org\r\nSubject: %d %s\r\n\r\nbody %d\r\n", i, i, subj, i))
	}
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	for _, items := range []string{"(UID ENVELOPE)", "(UID ENVELOPE BODY.PEEK[TEXT])"} {
		got := c.mustOK("a2 FETCH 1:* " + items)
		if len(got) != n+1 {
			t.Fatalf("%s: %d lines, want %d", items, len(got), n+1)
		}
		for i, l := range got[:n] {
			prefix := fmt.Sprintf("* %d FETCH (UID %d ENVELOPE (NIL \"%d long subject", i+1, i+1, i+1)
			if !strings.HasPrefix(l, prefix) {
				t.Fatalf("%s: line %d: %.80q", items, i, l)
			}
			if strings.Contains(items, "TEXT") && !strings.HasSuffix(l, fmt.Sprintf("BODY[TEXT] {%d}\r\nbody %d\r\n)", len(fmt.Sprint(i+1))+7, i+1)) {
				t.Fatalf("%s: line %d ends %q", items, i, l[len(l)-30:])
			}
		}
	}
}

// When one message fails a FETCH (a transfer encoding BINARY cannot
// decode), the responses of the messages before it still reach the client,
// before the tagged NO.
func TestFetchErrorKeepsEarlier(t *testing.T) {
	e := newEnv(t, nil)
	for i := 1; i <= 3; i++ {
		e.deliver("INBOX", fmt.Sprintf("Subject: %d\r\n\r\nplain %d\r\n", i, i))
	}
	e.deliver("INBOX", "Subject: odd\r\nContent-Transfer-Encoding: x-odd\r\n\r\nzzz\r\n")
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	got := c.do("a2 FETCH 1:4 (UID BINARY.PEEK[1])")
	if len(got) != 4 || !strings.HasPrefix(got[3], "a2 NO [UNKNOWN-CTE]") {
		t.Fatalf("got %q", got)
	}
	for i := range 3 {
		if want := fmt.Sprintf("* %d FETCH (UID %d BINARY[1] ~{9}\r\nplain %d\r\n)", i+1, i+1, i+1); got[i] != want {
			t.Errorf("line %d: %q, want %q", i, got[i], want)
		}
	}
}
