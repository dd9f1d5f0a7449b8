package e2e

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// popMessage is a message with a header and n numbered body lines.
func popMessage(subject string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender@remote.test\r\nTo: pop@example.test\r\nSubject: %s\r\n\r\n", subject)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s body line %d\r\n", subject, i)
	}
	b.WriteString(".a line with a leading dot\r\n")
	return []byte(b.String())
}

// headerOf returns the header section with its closing blank line and the
// first n body lines.
func headerOf(msg []byte, n int) []byte {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		return msg
	}
	end := i + 4
	for ; n > 0 && end < len(msg); n-- {
		j := bytes.Index(msg[end:], []byte("\r\n"))
		if j < 0 {
			return msg
		}
		end += j + 2
	}
	return msg[:end]
}

// TestPOP3Poplib drives the POP3 server with Python's poplib.
func TestPOP3Poplib(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	const user, pass = "pop@example.test", "pw-pop"
	s.AddUser(user, pass)
	for i := 1; i <= 3; i++ {
		mustSend(t, s.SMTP, "sender@remote.test", []string{user}, popMessage(fmt.Sprintf("message %d", i), 5))
	}
	quit := []any{"quit"}

	// Session 1: look at everything, delete and undelete, then drop the
	// connection without QUIT (nothing may be deleted).
	r1 := poplibRun(t, s, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{
		{"stat"}, {"list"}, {"uidl"}, {"retr", 1}, {"top", 1, 0}, {"top", 2, 2}, {"retr", 2},
		{"dele", 1}, {"stat"}, {"list", 1}, {"retr", 1}, {"rset"}, {"stat"}, {"dele", 1},
		{"noop"},
	}})[0]
	uids := checkBrowseSession(t, r1)

	// Session 2: the dropped session deleted nothing; delete 1 and QUIT.
	r2 := poplibRun(t, s, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{
		{"stat"}, {"uidl"}, {"dele", 1}, quit,
	}})[0]
	res := opsByIndex(t, r2, 4)
	allOK(t, res)
	if stat(t, res[0])[0] != 3 {
		t.Fatalf("after a session dropped without QUIT: STAT %v, want 3 messages (deletion only at QUIT)", res[0].Stat)
	}
	if got := uidlMap(t, res[1].Lines); !sameMap(got, uids) {
		t.Errorf("UIDL changed between sessions: %v then %v", uids, got)
	}

	// Session 3: message 1 is gone, the others keep their UIDs.
	r3 := poplibRun(t, s, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{{"stat"}, {"uidl"}, quit}})[0]
	res = opsByIndex(t, r3, 3)
	allOK(t, res)
	if stat(t, res[0])[0] != 2 {
		t.Fatalf("after DELE 1 and QUIT: STAT %v, want 2", res[0].Stat)
	}
	after := uidlMap(t, res[1].Lines)
	if after[1] != uids[2] || after[2] != uids[3] {
		t.Errorf("UIDs after deletion %v, want message 1 = %q, 2 = %q", after, uids[2], uids[3])
	}

	// A new message gets a UID never used before (not the deleted one's).
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, popMessage("message 4", 1))
	r4 := poplibRun(t, s, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{{"uidl"}, quit}})[0]
	res = opsByIndex(t, r4, 2)
	allOK(t, res)
	now := uidlMap(t, res[0].Lines)
	if len(now) != 3 {
		t.Fatalf("UIDL after a new message: %v, want 3", now)
	}
	for _, old := range uids {
		if now[3] == old {
			t.Errorf("the new message reuses UID %q of an earlier message", old)
		}
	}

	t.Run("in-use", func(t *testing.T) {
		out := poplibRun(t, s,
			POPSession{User: user, Pass: pass, RetryInUse: 30, Hold: true, Ops: [][]any{{"stat"}}},
			POPSession{User: user, Pass: pass, RetryInUse: 0, Ops: [][]any{{"stat"}, quit}},
		)
		if !out[0].Login.OK {
			t.Fatalf("first session: %+v", out[0].Login)
		}
		if out[1].Login.OK || !strings.HasPrefix(out[1].Login.Resp, "-ERR") || !strings.Contains(out[1].Login.Resp, "[IN-USE]") {
			t.Errorf("second session on a locked maildrop: want -ERR [IN-USE], got %+v", out[1].Login)
		}
	})
	t.Run("wrong-password", func(t *testing.T) {
		out := poplibRun(t, s, POPSession{User: user, Pass: "not-the-password", RetryInUse: 0, Ops: [][]any{quit}})[0]
		if out.Login.OK || !strings.HasPrefix(out.Login.Resp, "-ERR") {
			t.Errorf("wrong password: want -ERR, got %+v", out.Login)
		}
		out = poplibRun(t, s, POPSession{User: "nobody@example.test", Pass: pass, RetryInUse: 0, Ops: [][]any{quit}})[0]
		if out.Login.OK || !strings.HasPrefix(out.Login.Resp, "-ERR") {
			t.Errorf("unknown user: want -ERR, got %+v", out.Login)
		}
	})
	t.Run("stls", func(t *testing.T) {
		out := poplibRun(t, s, POPSession{User: user, Pass: pass, STLS: true, RetryInUse: 30, Ops: [][]any{{"stat"}, quit}})[0]
		if out.STLS == nil || !out.STLS.OK {
			t.Fatalf("STLS: %+v", out.STLS)
		}
		if out.STLS.CertMatch == nil || !*out.STLS.CertMatch {
			t.Errorf("the certificate served after STLS is not %s", s.TLSCertPath())
		}
		if !out.Login.OK {
			t.Fatalf("login after STLS: %+v", out.Login)
		}
		res := opsByIndex(t, out, 2)
		allOK(t, res)
		if stat(t, res[0])[0] != 3 {
			t.Errorf("STAT over TLS: %v, want 3", res[0].Stat)
		}
	})
}

// checkBrowseSession asserts session 1 of TestPOP3Poplib (STAT, LIST,
// UIDL, RETR, TOP, DELE, RSET) and returns its UIDs by message number.
func checkBrowseSession(t *testing.T, r1 POPSessionResult) map[int]string {
	t.Helper()
	res := opsByIndex(t, r1, 15)
	for i, r := range res {
		if wantErr := i == 9 || i == 10; r.OK == wantErr {
			t.Errorf("%v: ok=%v, want ok=%v (%+v)", r.Op, r.OK, !wantErr, r)
		}
	}
	if len(res[0].Stat) != 2 || stat(t, res[0])[0] != 3 {
		t.Fatalf("STAT: %v, want 3 messages", res[0].Stat)
	}
	sizes := listSizes(t, res[1].Lines)
	var total int64
	for _, sz := range sizes {
		total += sz
	}
	if len(sizes) != 3 || total != stat(t, res[0])[1] {
		t.Errorf("LIST %v does not add up to STAT %v", res[1].Lines, res[0].Stat)
	}
	uids := uidlMap(t, res[2].Lines)
	if len(uids) != 3 {
		t.Fatalf("UIDL: %v, want 3 distinct UIDs", res[2].Lines)
	}
	m1, m2 := res[3].Data(t), res[6].Data(t)
	if int64(len(m1)) != sizes[1] || int64(len(m2)) != sizes[2] {
		t.Errorf("LIST sizes %v differ from RETR octets %d, %d", sizes, len(m1), len(m2))
	}
	if !bytes.Contains(m1, []byte("Subject: message 1\r\n")) || !bytes.Contains(m2, []byte("Subject: message 2\r\n")) {
		t.Errorf("messages are not numbered in arrival order")
	}
	_, body1 := SplitTrace(m1)
	if !bytes.Equal(body1, popMessage("message 1", 5)) {
		t.Errorf("RETR 1 after trace headers: %q", body1)
	}
	if got, want := res[4].Data(t), headerOf(m1, 0); !bytes.Equal(got, want) {
		t.Errorf("TOP 1 0: got %q, want the header and blank line %q", got, want)
	}
	if got, want := res[5].Data(t), headerOf(m2, 2); !bytes.Equal(got, want) {
		t.Errorf("TOP 2 2: got %q, want %q", got, want)
	}
	if stat(t, res[8])[0] != 2 || stat(t, res[8])[1] != total-sizes[1] {
		t.Errorf("STAT after DELE 1: %v, want [2 %d]", stat(t, res[8]), total-sizes[1])
	}
	if stat(t, res[12])[0] != 3 {
		t.Errorf("STAT after RSET: %v, want 3 messages", res[12].Stat)
	}
	return uids
}

// opsByIndex checks the login worked and n operations ran.
func opsByIndex(t *testing.T, r POPSessionResult, n int) []POPResult {
	t.Helper()
	if !r.Login.OK {
		t.Fatalf("poplib login: %+v", r.Login)
	}
	if len(r.Results) != n {
		t.Fatalf("poplib ran %d operations, want %d: %+v", len(r.Results), n, r.Results)
	}
	return r.Results
}

func allOK(t *testing.T, res []POPResult) {
	t.Helper()
	for _, r := range res {
		if !r.OK {
			t.Fatalf("poplib %v: %+v", r.Op, r)
		}
	}
}

// listSizes parses LIST lines "n size".
func listSizes(t *testing.T, lines []string) map[int]int64 {
	t.Helper()
	m := map[int]int64{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("bad LIST line %q", l)
		}
		n, err1 := strconv.Atoi(f[0])
		sz, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad LIST line %q", l)
		}
		m[n] = sz
	}
	return m
}

// uidlMap parses UIDL lines "n uid" and checks RFC 1939's UID syntax.
func uidlMap(t *testing.T, lines []string) map[int]string {
	t.Helper()
	m := map[int]string{}
	seen := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("bad UIDL line %q", l)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("bad UIDL line %q", l)
		}
		uid := f[1]
		if len(uid) < 1 || len(uid) > 70 || strings.IndexFunc(uid, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			t.Errorf("UID %q is not 1-70 characters 0x21-0x7E (RFC 1939)", uid)
		}
		if seen[uid] {
			t.Errorf("UID %q appears twice", uid)
		}
		seen[uid] = true
		m[n] = uid
	}
	return m
}

func sameMap(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// stat returns a STAT result's [count, octets].
func stat(t *testing.T, r POPResult) []int64 {
	t.Helper()
	if len(r.Stat) != 2 {
		t.Fatalf("%v: no STAT result: %+v", r.Op, r)
	}
	return r.Stat
}
