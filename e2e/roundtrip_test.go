package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestRoundTripSmtplibPoplib sends messages with Python's smtplib and reads
// them back with poplib: RETR must give back the message byte for byte
// behind the trace headers local delivery put in front (Return-Path,
// Delivered-To, then the session's Received).
func TestRoundTripSmtplibPoplib(t *testing.T) {
	t.Parallel()
	seeds := sharedTestdata(t, "seeds")
	files, err := filepath.Glob(filepath.Join(seeds, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		skipOrFail(t, "no *.eml seeds in %s", seeds)
	}
	sort.Strings(files)

	type tc struct {
		name     string
		msg      []byte // CRLF, as sent
		noHeader bool   // the message has no header section
	}
	cases := []tc{{name: "generated", msg: generatedMessage()}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("\r")) {
			t.Fatalf("%s: seeds have LF line endings; found CR", f)
		}
		base := filepath.Base(f)
		cases = append(cases, tc{name: base, msg: lfToCRLF(b), noHeader: base == "seed003-0.eml"})
	}

	s := StartServer(t, Options{})
	const rcpt, from = "rcpt@example.test", "sender@remote.test"
	s.AddUser(rcpt, "pw-rcpt")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := smtplibSend(t, s.SMTP, from, []string{rcpt}, c.msg, false)
			if !res.OK || len(res.Refused) != 0 {
				t.Fatalf("smtplib sendmail: want 250, got %+v", res)
			}
			out := poplibRun(t, s, POPSession{User: rcpt, Pass: "pw-rcpt", RetryInUse: 30,
				Ops: [][]any{{"retr_all"}, {"dele_all"}, {"quit"}}})[0]
			if !out.Login.OK {
				t.Fatalf("poplib login: %+v", out.Login)
			}
			for _, r := range out.Results {
				if !r.OK {
					t.Fatalf("poplib %v: %+v", r.Op, r)
				}
			}
			msgs := out.Results[0].Messages
			if len(msgs) != 1 {
				t.Fatalf("maildrop holds %d messages, want 1", len(msgs))
			}
			got, err := base64.StdEncoding.DecodeString(msgs[0].DataB64)
			if err != nil {
				t.Fatal(err)
			}
			checkDelivered(t, got, c.msg, from, rcpt, c.noHeader)
		})
	}
}

// checkDelivered asserts got == trace headers + sent, with the trace
// headers in the contract's order and content.
func checkDelivered(t testing.TB, got, sent []byte, from, rcpt string, noHeader bool) {
	t.Helper()
	trace, rest := SplitTrace(got)
	var names []string
	for _, f := range trace {
		names = append(names, strings.ToLower(f.Name))
	}
	if strings.Join(names, ",") != "return-path,delivered-to,received" {
		t.Errorf("trace headers in front: %q, want Return-Path, Delivered-To, Received (in that order)\nmessage starts:\n%s",
			names, head(got, 600))
	}
	for _, f := range trace {
		switch strings.ToLower(f.Name) {
		case "return-path":
			if want := "<" + from + ">"; !strings.Contains(f.Raw, want) {
				t.Errorf("Return-Path %q does not name %s", f.Raw, want)
			}
		case "delivered-to":
			if !strings.Contains(strings.ToLower(f.Raw), rcpt) {
				t.Errorf("Delivered-To %q does not name %s", f.Raw, rcpt)
			}
		case "received":
			if !strings.HasPrefix(f.Raw, "Received: from ") || !strings.Contains(f.Raw, "by "+Hostname) {
				t.Errorf("Received %q: want \"Received: from ...\" naming \"by %s\"", f.Raw, Hostname)
			}
		}
	}
	if noHeader && bytes.HasPrefix(rest, []byte("\r\n")) && !bytes.Equal(rest, sent) {
		rest = rest[2:] // a blank line closing the trace header section is allowed
	}
	if !bytes.Equal(rest, sent) {
		t.Errorf("message after the trace headers differs from what was sent (%d vs %d octets); first difference at %d\ngot:  %q\nwant: %q",
			len(rest), len(sent), firstDiff(rest, sent), head(rest, 400), head(sent, 400))
	}
}

// generatedMessage covers what the seeds do not: lines that start with a
// dot (stuffing on both protocols), a lone dot line, 8-bit UTF-8, a
// 998-octet line, trailing spaces and an empty last line.
func generatedMessage() []byte {
	var b strings.Builder
	b.WriteString("From: Ünïcode Sender <sender@remote.test>\r\n")
	b.WriteString("To: rcpt@example.test\r\n")
	b.WriteString("Subject: round trip\r\n")
	b.WriteString("Message-ID: <round-trip@remote.test>\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(".leading dot\r\n..two dots\r\n.\r\n . space dot\r\n")
	b.WriteString("Grüße, 日本語, emoji 🐱\r\n")
	b.WriteString("trailing spaces   \r\n\ttab line\r\n")
	b.WriteString(strings.Repeat("x", 998) + "\r\n")
	for i := range 50 {
		fmt.Fprintf(&b, "line %02d %s\r\n", i, strings.Repeat("abcdefghij", 7))
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
