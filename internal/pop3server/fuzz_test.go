package pop3server

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
)

// FuzzSession drives whole sessions with arbitrary input: the engine
// must not panic, must answer only in CRLF lines, must close the
// maildrop it opened, and may delete only after QUIT, only messages that
// exist.
func FuzzSession(f *testing.F) {
	srvTLS, _ := testTLS(f)
	for _, s := range []string{
		loggedIn("STAT", "LIST", "UIDL", "RETR 2", "TOP 3 1", "DELE 1", "QUIT"),
		loggedIn("DELE 1", "DELE 1", "RSET", "DELE 3", "LIST 3", "QUIT"),
		script("CAPA", "AUTH PLAIN", b64("\x00alice\x00secret"), "DELE 2", "quit"),
		script("AUTH PLAIN "+b64("\x00alice\x00secret"), "TOP 1 0", "UIDL 99999999999", "QUIT"),
		script("STLS", "USER alice"),
		"USER alice\nPASS secret\nRETR 0\nRETR -1\nTOP 1 -1\n\x00\xff\r\r\n",
		strings.Repeat("A", 600) + "\r\nNOOP\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := newFakeBackend()
		s := New(Config{AllowPlaintextAuth: true, TLS: srvTLS}, b, nil, nil)
		s.onPanic = func(v any) { t.Fatalf("panic: %v", v) }
		c := newScriptConn(string(in))
		s.serveConn(context.Background(), c)

		out := c.out.Bytes()
		if !bytes.HasPrefix(out, []byte(greeting+"\r\n")) {
			t.Fatalf("no greeting: %q", out)
		}
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end a line: %q", out)
		}
		if !c.closed {
			t.Fatal("connection left open")
		}
		if b.closes > 1 || (b.closes == 1) != bytes.Contains(out, []byte("+OK maildrop has")) {
			t.Fatalf("maildrop closed %d times", b.closes)
		}
		if len(b.commits) > 0 && !bytes.Contains(bytes.ToUpper(in), []byte("QUIT")) {
			t.Fatalf("committed %v without QUIT", b.commits)
		}
		for _, c := range b.commits {
			if !sort.IntsAreSorted(c) || len(c) == 0 || c[0] < 0 || c[len(c)-1] >= 3 {
				t.Fatalf("bad commit %v", c)
			}
		}
		if b.opened != b.rclosed {
			t.Fatalf("opened %d readers, closed %d", b.opened, b.rclosed)
		}
	})
}
