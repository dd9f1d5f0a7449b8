package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/imapserver"
)

// RFC 9051 §6.3.12 APPEND with a synchronizing literal and RFC 4315
// APPENDUID; RFC 7888 LITERAL+.
func TestAppend(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	c.send(fmt.Sprintf(`a1 APPEND Drafts (\Draft \Seen) "05-Mar-2024 12:00:00 +0000" {%d}`, len(msg1)))
	if l := c.readLine(); l != "+ Ready for literal data" {
		t.Fatalf("continuation: %q", l)
	}
	c.send(msg1)
	if l := c.readLine(); l != "a1 OK [APPENDUID 1002 1] APPEND completed" {
		t.Errorf("append: %q", l)
	}
	c.expect(fmt.Sprintf("a2 APPEND Drafts {%d+}\r\n%s", len(msg2), msg2), "a2 OK [APPENDUID 1002 2] APPEND completed")
	c.expect("a3 APPEND Nope {3+}\r\nabc", "a3 NO [TRYCREATE] no such mailbox")
	c.mustOK("a4 SELECT Drafts")
	c.expect("a5 FETCH 1 (FLAGS INTERNALDATE)", `* 1 FETCH (FLAGS (\Draft \Seen) INTERNALDATE " 5-Mar-2024 12:00:00 +0000")`, "a5 OK FETCH completed")
	got := c.do("a6 FETCH 2 BODY.PEEK[]")
	if got[0] != fmt.Sprintf("* 2 FETCH (BODY[] {%d}\r\n%s)", len(msg2), msg2) {
		t.Errorf("appended message differs: %q", got[0])
	}
	// Another session's APPEND to the selected mailbox shows as EXISTS.
	c2 := e.login()
	c2.expect("b1 APPEND Drafts {3+}\r\nx\r\n", "b1 OK [APPENDUID 1002 3] APPEND completed")
	c.expect("a7 NOOP", "* 3 EXISTS", "a7 OK NOOP completed")
}

// RFC 7888 §4, RFC 4469 TOOBIG: literals over the limit.
func TestLiteralLimits(t *testing.T) {
	e := newEnv(t, func(c *imapserver.Config) { c.MaxLiteral = 100; c.MaxLine = 200 })
	c := e.login()
	c.expect("a1 APPEND INBOX {101}", "a1 NO [TOOBIG] literal too large")
	c.expect("a2 NOOP", "a2 OK NOOP completed")
	c.expect("a3 LOGIN "+strings.Repeat("x", 300), "a3 BAD [TOOBIG] command line too long")
	c.expect("a4 NOOP", "a4 OK NOOP completed")
	c.send("a5 APPEND INBOX {101+}")
	if l := c.readLine(); l != "* BYE [TOOBIG] literal too large" {
		t.Errorf("non-synchronizing literal over the limit: %q", l)
	}
}

// RFC 9208 QUOTA: GETQUOTAROOT and OVERQUOTA on APPEND.
func TestQuota(t *testing.T) {
	e := newEnv(t, nil)
	e.be.SetQuota("alice", 4096)
	e.deliver("INBOX", msg1)
	c := e.login()
	c.expect("a1 GETQUOTAROOT INBOX", `* QUOTAROOT "INBOX" ""`, `* QUOTA "" (STORAGE 1 4)`, "a1 OK GETQUOTAROOT completed")
	c.expect("a2 GETQUOTA \"\"", `* QUOTA "" (STORAGE 1 4)`, "a2 OK GETQUOTA completed")
	big := strings.Repeat("x", 4000)
	c.expect(fmt.Sprintf("a3 APPEND INBOX {%d+}\r\n%s", len(big), big), "a3 NO [OVERQUOTA] quota exceeded")
}
