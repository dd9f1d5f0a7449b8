package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
)

// RFC 9051 §6.4.5 FETCH: FLAGS, INTERNALDATE, RFC822.SIZE, UID, ENVELOPE.
func TestFetchMeta(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1, `\Seen`)
	e.deliver("INBOX", msg2)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.expect("a2 FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)",
		`* 1 FETCH (FLAGS (\Seen) INTERNALDATE " 1-Mar-2024 10:00:00 +0100" RFC822.SIZE 217)`,
		`* 2 FETCH (FLAGS () INTERNALDATE " 1-Mar-2024 10:00:00 +0100" RFC822.SIZE 487)`,
		"a2 OK FETCH completed")
	c.expect("a3 UID FETCH 2 ENVELOPE",
		`* 2 FETCH (UID 2 ENVELOPE ("Sat, 02 Mar 2024 09:00:00 +0000" "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=" ((NIL NIL "bob" "example.test")) ((NIL NIL "bob" "example.test")) ((NIL NIL "bob" "example.test")) ((NIL NIL "alice" "example.test")) NIL NIL NIL NIL))`,
		"a3 OK UID FETCH completed")
	c.expect("a4 FETCH 1 (ENVELOPE)",
		`* 1 FETCH (ENVELOPE ("Fri, 01 Mar 2024 09:00:00 +0000" "Hello there" (("Alice Example" NIL "alice" "example.test")) (("Alice Example" NIL "alice" "example.test")) (("Alice Example" NIL "alice" "example.test")) ((NIL NIL "bob" "example.test")("Carol C." NIL "carol" "example.test")) NIL NIL NIL "<m1@example.test>"))`,
		"a4 OK FETCH completed")
	c.expect("a5 FETCH 3 FLAGS", "a5 BAD invalid message sequence number")
	c.expect("a6 UID FETCH 3:* FLAGS", `* 2 FETCH (UID 2 FLAGS ())`, "a6 OK UID FETCH completed")
	c.expect("a7 FETCH 1 (BODY[HEADER.FIELDS (Subject)])",
		"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {24}\r\nSubject: Hello there\r\n\r\n)",
		"a7 OK FETCH completed")
	c.expect("a8 FETCH 1 FAST",
		`* 1 FETCH (FLAGS (\Seen) INTERNALDATE " 1-Mar-2024 10:00:00 +0100" RFC822.SIZE 217)`,
		"a8 OK FETCH completed")
	c.expect("a9 FETCH 1 (FROB)", `a9 BAD unknown FETCH item "FROB"`)
}

// RFC 9051 §7.5.2 BODYSTRUCTURE and BODY.
func TestFetchBodyStructure(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1)
	e.deliver("INBOX", msg2)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	c.expect("a2 FETCH 1:2 BODYSTRUCTURE",
		`* 1 FETCH (BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7BIT" 26 2 NIL NIL NIL NIL))`,
		`* 2 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE" 27 1 NIL NIL NIL NIL)("application" "octet-stream" ("name" "a.bin") NIL NIL "BASE64" 4 NIL ("attachment" ("filename" "a.bin")) NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL))`,
		"a2 OK FETCH completed")
	c.expect("a3 FETCH 2 BODY",
		`* 2 FETCH (BODY (("text" "plain" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE" 27 1)("application" "octet-stream" ("name" "a.bin") NIL NIL "BASE64" 4) "mixed"))`,
		"a3 OK FETCH completed")
}

// RFC 9051 §6.4.5 BODY[section]<partial>, BODY.PEEK and the implicit
// \Seen; RFC 3516 BINARY.
func TestFetchBody(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver("INBOX", msg1)
	e.deliver("INBOX", msg2)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	// Byte-exact: BODY[] is the stored message.
	got := c.do("a2 FETCH 1 BODY.PEEK[]")
	if want := "* 1 FETCH (BODY[] {217}\r\n" + msg1 + ")"; got[0] != want {
		t.Errorf("BODY[]: %q", got[0])
	}
	c.expect("a3 FETCH 1 FLAGS", `* 1 FETCH (FLAGS ())`, "a3 OK FETCH completed")
	c.expect("a4 FETCH 1 BODY[]<0.5>", "* 1 FETCH (BODY[]<0> {5}\r\nFrom: FLAGS (\\Seen))", "a4 OK FETCH completed")
	c.expect("a5 FETCH 1 BODY.PEEK[TEXT]<200.100>", "* 1 FETCH (BODY[TEXT]<200> {0}\r\n)", "a5 OK FETCH completed")
	c.expect("a6 FETCH 1 BODY.PEEK[TEXT]", "* 1 FETCH (BODY[TEXT] {26}\r\nHi Bob,\r\nthis is a test.\r\n)", "a6 OK FETCH completed")
	c.expect("a7 FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME])",
		"* 2 FETCH (BODY[1] {27}\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe BODY[2.MIME] {142}\r\n"+
			"Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n)",
		"a7 OK FETCH completed")
	c.expect("a8 FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[2])",
		"* 2 FETCH (BINARY[1] ~{15}\r\nSchöne Grüße BINARY.SIZE[2] 3)", "a8 OK FETCH completed")
	c.expect("a9 FETCH 2 BODY.PEEK[5]", "* 2 FETCH (BODY[5] {0}\r\n)", "a9 OK FETCH completed")
	got = c.do("b1 FETCH 2 RFC822.HEADER")
	if !strings.HasPrefix(got[0], "* 2 FETCH (RFC822.HEADER {192}\r\nFrom: bob@example.test\r\n") {
		t.Errorf("RFC822.HEADER: %q", got)
	}
}

// Byte-exact BODY[] of a large message with bare LF line ends, whole and
// in pieces; RFC822 sets \Seen (RFC 9051 §6.4.5).
func TestFetchLargeExact(t *testing.T) {
	e := newEnv(t, nil)
	big := "Subject: big\n\n" + strings.Repeat("0123456789abcdef\n", 20000)
	e.deliver("INBOX", big)
	c := e.login()
	c.mustOK("a1 SELECT INBOX")
	got := c.do("a2 FETCH 1 BODY.PEEK[]")
	if want := fmt.Sprintf("* 1 FETCH (BODY[] {%d}\r\n%s)", len(big), big); got[0] != want {
		t.Errorf("BODY[] differs from the stored message (len %d)", len(got[0]))
	}
	var sb strings.Builder
	for off := 0; off < len(big); off += 65536 {
		got := c.do(fmt.Sprintf("p FETCH 1 BODY.PEEK[]<%d.65536>", off))
		prefix := fmt.Sprintf("* 1 FETCH (BODY[]<%d> {%d}\r\n", off, min(65536, len(big)-off))
		if !strings.HasPrefix(got[0], prefix) {
			t.Fatalf("partial at %d: %.60q", off, got[0])
		}
		sb.WriteString(strings.TrimSuffix(strings.TrimPrefix(got[0], prefix), ")"))
	}
	if sb.String() != big {
		t.Error("partials do not add up to the message")
	}
	c.expect("a3 FETCH 1 (FLAGS RFC822.SIZE)", fmt.Sprintf(`* 1 FETCH (FLAGS () RFC822.SIZE %d)`, len(big)), "a3 OK FETCH completed")
	got = c.do("a4 FETCH 1 RFC822")
	if !strings.HasSuffix(got[0], " FLAGS (\\Seen))") {
		t.Errorf("RFC822 did not report \\Seen: %.80q", got[0][len(got[0])-40:])
	}
}
