package pop3server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

const greeting = "+OK posthorn POP3 server ready"

// lines joins reply lines with CRLF, each terminated.
func lines(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

// script joins commands with CRLF, each terminated.
func script(cmds ...string) string { return lines(cmds...) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

var (
	login      = []string{"USER alice", "PASS secret"}
	loginReply = []string{"+OK send PASS", fmt.Sprintf("+OK maildrop has 3 messages (%d octets)",
		len(msg1)+len(msg2)+len(msg3))}
	plainCfg = Config{Hostname: "mx.test", AllowPlaintextAuth: true}
)

// loggedIn prefixes the commands that log alice in.
func loggedIn(cmds ...string) string { return script(append(append([]string{}, login...), cmds...)...) }

// loggedInReply prefixes the greeting and login replies.
func loggedInReply(ls ...string) string {
	return lines(append(append([]string{greeting}, loginReply...), ls...)...)
}

type sessionCase struct {
	name  string
	cfg   *Config // nil: plainCfg
	setup func(b *fakeBackend)
	in    string
	want  string
	check func(t *testing.T, b *fakeBackend)
}

// noCommit asserts that nothing was deleted and the maildrop was closed
// once (or never, without a login).
func noCommit(closes int) func(t *testing.T, b *fakeBackend) {
	return func(t *testing.T, b *fakeBackend) {
		if len(b.commits) != 0 {
			t.Errorf("commits = %v, want none", b.commits)
		}
		if b.closes != closes {
			t.Errorf("maildrop closed %d times, want %d", b.closes, closes)
		}
		if len(b.msgs["alice"]) != 3 {
			t.Errorf("alice has %d messages, want 3", len(b.msgs["alice"]))
		}
	}
}

func runCases(t *testing.T, cases []sessionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend()
			if tc.setup != nil {
				tc.setup(b)
			}
			cfg := plainCfg
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			got := runScript(t, cfg, b, tc.in)
			if got != tc.want {
				t.Errorf("transcript mismatch\n got: %q\nwant: %q", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, b)
			}
			if b.opened != b.rclosed {
				t.Errorf("opened %d readers, closed %d", b.opened, b.rclosed)
			}
		})
	}
}

func TestAuthorizationState(t *testing.T) {
	withSTLS := Config{TLS: &tls.Config{}}
	noTLS := Config{}
	runCases(t, []sessionCase{
		{name: "quit before login", in: script("QUIT", "NOOP"),
			want: lines(greeting, "+OK mx.test POP3 server signing off"), check: noCommit(0)},
		{name: "capa plaintext allowed", in: script("CAPA"),
			want: lines(greeting, "+OK capability list follows", "TOP", "UIDL", "USER", "RESP-CODES",
				"AUTH-RESP-CODE", "PIPELINING", "SASL PLAIN", "IMPLEMENTATION posthorn", ".")},
		{name: "capa before TLS, plaintext refused", cfg: &withSTLS, in: script("capa"),
			want: lines(greeting, "+OK capability list follows", "TOP", "UIDL", "RESP-CODES",
				"AUTH-RESP-CODE", "PIPELINING", "STLS", "IMPLEMENTATION posthorn", ".")},
		{name: "plaintext refused asks for STLS", cfg: &withSTLS,
			in: script("USER alice", "PASS secret", "AUTH PLAIN "+b64("\x00alice\x00secret"), "AUTH"),
			want: lines(greeting,
				"-ERR [AUTH] plaintext authentication disallowed, use STLS first",
				"-ERR [AUTH] plaintext authentication disallowed, use STLS first",
				"-ERR [AUTH] plaintext authentication disallowed, use STLS first",
				"-ERR [AUTH] plaintext authentication disallowed, use STLS first"),
			check: func(t *testing.T, b *fakeBackend) {
				if len(b.logins) != 0 {
					t.Errorf("backend saw logins %v", b.logins)
				}
			}},
		{name: "plaintext refused without TLS at all", cfg: &noTLS, in: script("USER alice", "STLS"),
			want: lines(greeting, "-ERR [AUTH] plaintext authentication disallowed",
				"-ERR STLS not available")},
		{name: "user pass ok and quit", in: loggedIn("QUIT"),
			want:  loggedInReply("+OK mx.test POP3 server signing off (0 messages deleted)"),
			check: noCommit(1)},
		{name: "password with spaces", in: script("USER bob", "PASS pass word", "STAT", "QUIT"),
			want: lines(greeting, "+OK send PASS", "+OK maildrop has 0 messages (0 octets)", "+OK 0 0",
				"+OK mx.test POP3 server signing off (0 messages deleted)")},
		{name: "wrong password then retry", in: script("USER alice", "PASS nope", "PASS secret",
			"USER alice", "PASS secret", "QUIT"),
			want: lines(greeting, "+OK send PASS", "-ERR [AUTH] invalid user name or password",
				"-ERR send USER first", loginReply[0], loginReply[1],
				"+OK mx.test POP3 server signing off (0 messages deleted)")},
		{name: "unknown user", in: script("USER mallory", "PASS x"),
			setup: func(b *fakeBackend) {
				b.loginErr["mallory"] = mailerr.Permanent(mailerr.NoSuchUser, "", nil)
			},
			want: lines(greeting, "+OK send PASS", "-ERR [AUTH] invalid user name or password")},
		{name: "in use", in: loggedIn("QUIT"),
			setup: func(b *fakeBackend) { b.locked["alice"] = true },
			want: lines(greeting, "+OK send PASS", "-ERR [IN-USE] maildrop already locked, try again later",
				"+OK mx.test POP3 server signing off"), check: noCommit(0)},
		{name: "temporary backend failure", in: loggedIn(),
			setup: func(b *fakeBackend) {
				b.loginErr["alice"] = mailerr.Temporary(mailerr.Unavailable, "", errBoom)
			},
			want: lines(greeting, "+OK send PASS", "-ERR [SYS/TEMP] cannot open maildrop now, try again later")},
		{name: "unclassified backend failure is temporary", in: loggedIn(),
			setup: func(b *fakeBackend) { b.loginErr["alice"] = errBoom },
			want:  lines(greeting, "+OK send PASS", "-ERR [SYS/TEMP] cannot open maildrop now, try again later")},
		{name: "permanent backend failure", in: loggedIn(),
			setup: func(b *fakeBackend) {
				b.loginErr["alice"] = mailerr.Permanent(mailerr.Unknown, "", errBoom)
			},
			want: lines(greeting, "+OK send PASS", "-ERR [SYS/PERM] cannot open maildrop")},
		{name: "login rate limit", in: loggedIn(),
			setup: func(b *fakeBackend) {
				b.loginErr["alice"] = mailerr.Temporary(mailerr.Policy, "", nil)
			},
			want: lines(greeting, "+OK send PASS", "-ERR [LOGIN-DELAY] too many logins, try again later")},
		{name: "user without name", in: script("USER", "USER "),
			want: lines(greeting, "-ERR USER needs a name", "-ERR USER needs a name")},
		{name: "transaction commands before login",
			in: script("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL"),
			want: lines(greeting, strings.Repeat("-ERR command not valid in this state\r\n", 7)+
				"-ERR command not valid in this state")},
		{name: "unknown and empty commands", in: script("HELO x", "", "XYZZYXYZZY foo", "GET / HTTP/1.1"),
			want: lines(greeting, "-ERR unknown command", "-ERR unknown command", "-ERR unknown command",
				"-ERR unknown command")},
		{name: "bare LF and lower case", in: "user alice\npass secret\nstat\nquit\n",
			want: loggedInReply(fmt.Sprintf("+OK 3 %d", len(msg1)+len(msg2)+len(msg3)),
				"+OK mx.test POP3 server signing off (0 messages deleted)")},
		{name: "stls when already TLS is impossible on implicit listener config",
			cfg: &Config{TLS: &tls.Config{}}, in: script("STLS x"),
			want: lines(greeting, "-ERR STLS takes no argument")},
	})
}

func TestSASLPlain(t *testing.T) {
	ok := loginReply[1]
	runCases(t, []sessionCase{
		{name: "initial response", in: script("AUTH PLAIN "+b64("\x00alice\x00secret"), "QUIT"),
			want:  lines(greeting, ok, "+OK mx.test POP3 server signing off (0 messages deleted)"),
			check: noCommit(1)},
		{name: "authzid equal to authcid", in: script("AUTH plain " + b64("alice\x00alice\x00secret")),
			want: lines(greeting, ok)},
		{name: "continuation", in: script("AUTH PLAIN", b64("\x00alice\x00secret"), "STAT"),
			want: lines(greeting, "+ ", ok, fmt.Sprintf("+OK 3 %d", len(msg1)+len(msg2)+len(msg3)))},
		{name: "cancel", in: script("AUTH PLAIN", "*", "NOOP"),
			want: lines(greeting, "+ ", "-ERR authentication cancelled", "-ERR command not valid in this state")},
		{name: "bad password", in: script("AUTH PLAIN " + b64("\x00alice\x00wrong")),
			want: lines(greeting, "-ERR [AUTH] invalid user name or password")},
		{name: "bad base64", in: script("AUTH PLAIN !!!!", "AUTH PLAIN", "%%%"),
			want: lines(greeting, "-ERR invalid base64 in SASL response", "+ ",
				"-ERR invalid base64 in SASL response")},
		{name: "malformed", in: script("AUTH PLAIN "+b64("alice\x00secret"), "AUTH PLAIN =",
			"AUTH PLAIN "+b64("\x00\x00secret"), "AUTH PLAIN "+b64("\x00alice\x00"),
			"AUTH PLAIN "+b64("\x00"+strings.Repeat("a", 256)+"\x00x")),
			want: lines(greeting, strings.Repeat("-ERR [AUTH] malformed PLAIN response\r\n", 4)+
				"-ERR [AUTH] malformed PLAIN response")},
		{name: "other authzid refused", in: script("AUTH PLAIN " + b64("bob\x00alice\x00secret")),
			want: lines(greeting, "-ERR [AUTH] authorization identity must match the user"),
			check: func(t *testing.T, b *fakeBackend) {
				if len(b.logins) != 0 {
					t.Errorf("backend saw logins %v", b.logins)
				}
			}},
		{name: "unknown mechanism", in: script("AUTH CRAM-MD5", "AUTH XOAUTH2 abc"),
			want: lines(greeting, "-ERR unsupported SASL mechanism", "-ERR unsupported SASL mechanism")},
		{name: "mechanism list", in: script("AUTH"), want: lines(greeting, "+OK", "PLAIN", ".")},
		{name: "response too long stays in step",
			in:   script("AUTH PLAIN", strings.Repeat("A", maxAuthLine+10), "CAPA x"),
			want: lines(greeting, "+ ", "-ERR [AUTH] SASL response too long", "-ERR CAPA takes no argument")},
		{name: "dropped during continuation", in: "AUTH PLAIN\r\n",
			want: lines(greeting, "+ ")},
	})
}

func TestTransactionState(t *testing.T) {
	total := len(msg1) + len(msg2) + len(msg3)
	signoff0 := "+OK mx.test POP3 server signing off (0 messages deleted)"
	runCases(t, []sessionCase{
		{name: "stat list uidl noop", in: loggedIn("STAT", "LIST", "LIST 2", "LIST 02 ", "UIDL", "UIDL 3", "NOOP", "QUIT"),
			want: loggedInReply(fmt.Sprintf("+OK 3 %d", total),
				fmt.Sprintf("+OK 3 messages (%d octets)", total),
				fmt.Sprintf("1 %d", len(msg1)), fmt.Sprintf("2 %d", len(msg2)), fmt.Sprintf("3 %d", len(msg3)), ".",
				fmt.Sprintf("+OK 2 %d", len(msg2)), fmt.Sprintf("+OK 2 %d", len(msg2)),
				"+OK unique-id listing follows", "1 uid-1", "2 uid-2", "3 uid-3", ".",
				"+OK 3 uid-3", "+OK", signoff0),
			check: noCommit(1)},
		{name: "retr dot-stuffing", in: loggedIn("RETR 2", "RETR 1"),
			want: loggedInReply(fmt.Sprintf("+OK %d octets", len(msg2)),
				"Subject: b", "", "..dot", "line2", "...two", "..", ".",
				fmt.Sprintf("+OK %d octets", len(msg1)), "Subject: a", "", "body1", "."),
			check: noCommit(1)},
		{name: "top", in: loggedIn("TOP 3 0", "TOP 3 2", "TOP 3 100", "TOP 2 1", "TOP 1 99999999999999999999"),
			want: loggedInReply(
				"+OK top of message follows", "Subject: c", "X: y", "", ".",
				"+OK top of message follows", "Subject: c", "X: y", "", "l1", "l2", ".",
				"+OK top of message follows", "Subject: c", "X: y", "", "l1", "l2", "l3", ".",
				"+OK top of message follows", "Subject: b", "", "..dot", ".",
				"+OK top of message follows", "Subject: a", "", "body1", ".")},
		{name: "delete then quit commits", in: loggedIn("DELE 1", "STAT", "LIST 1", "RETR 1", "TOP 1 0",
			"UIDL 1", "DELE 1", "LIST", "UIDL", "DELE 3", "QUIT"),
			want: loggedInReply("+OK message 1 deleted", fmt.Sprintf("+OK 2 %d", len(msg2)+len(msg3)),
				"-ERR message 1 already deleted", "-ERR message 1 already deleted",
				"-ERR message 1 already deleted", "-ERR message 1 already deleted",
				"-ERR message 1 already deleted",
				fmt.Sprintf("+OK 2 messages (%d octets)", len(msg2)+len(msg3)),
				fmt.Sprintf("2 %d", len(msg2)), fmt.Sprintf("3 %d", len(msg3)), ".",
				"+OK unique-id listing follows", "2 uid-2", "3 uid-3", ".",
				"+OK message 3 deleted",
				"+OK mx.test POP3 server signing off (2 messages deleted)"),
			check: func(t *testing.T, b *fakeBackend) {
				if want := [][]int{{0, 2}}; !reflect.DeepEqual(b.commits, want) {
					t.Errorf("commits = %v, want %v", b.commits, want)
				}
				if len(b.msgs["alice"]) != 1 || b.msgs["alice"][0].uid != "uid-2" {
					t.Errorf("alice keeps %v, want uid-2 only", b.msgs["alice"])
				}
				if b.closes != 1 {
					t.Errorf("closes = %d", b.closes)
				}
			}},
		{name: "rset undeletes", in: loggedIn("DELE 1", "DELE 2", "RSET", "STAT", "QUIT"),
			want: loggedInReply("+OK message 1 deleted", "+OK message 2 deleted",
				fmt.Sprintf("+OK maildrop has 3 messages (%d octets)", total),
				fmt.Sprintf("+OK 3 %d", total), signoff0),
			check: noCommit(1)},
		{name: "dropped connection deletes nothing", in: loggedIn("DELE 1", "DELE 2"),
			want:  loggedInReply("+OK message 1 deleted", "+OK message 2 deleted"),
			check: noCommit(1)},
		{name: "commit failure deletes nothing",
			setup: func(b *fakeBackend) { b.commitErr = mailerr.Temporary(mailerr.Unavailable, "", errBoom) },
			in:    loggedIn("DELE 2", "QUIT", "NOOP"),
			want: loggedInReply("+OK message 2 deleted",
				"-ERR [SYS/TEMP] some deleted messages not removed"),
			check: func(t *testing.T, b *fakeBackend) {
				if len(b.commits) != 1 || len(b.msgs["alice"]) != 3 || b.closes != 1 {
					t.Errorf("commits %v, %d messages, %d closes", b.commits, len(b.msgs["alice"]), b.closes)
				}
			}},
		{name: "bad message numbers", in: loggedIn("RETR 0", "RETR -1", "RETR 4", "RETR 99999999999999999999999",
			"RETR abc", "RETR", "LIST 1 2", "DELE +1", "UIDL 0x1", "TOP 1", "TOP 1 x", "TOP 1 -1", "TOP 9 1"),
			want: loggedInReply("-ERR no such message", "-ERR invalid message number", "-ERR no such message",
				"-ERR no such message", "-ERR invalid message number", "-ERR invalid message number",
				"-ERR invalid message number", "-ERR invalid message number", "-ERR invalid message number",
				"-ERR usage: TOP msg lines"),
			check: noCommit(1)},
		{name: "arguments where none belong", in: loggedIn("STAT 1", "NOOP x", "RSET 1", "QUIT now", "CAPA 1"),
			want: loggedInReply("-ERR STAT takes no argument", "-ERR NOOP takes no argument",
				"-ERR RSET takes no argument", "-ERR QUIT takes no argument", "-ERR CAPA takes no argument")},
		{name: "authorization commands after login", in: loggedIn("USER bob", "PASS x", "AUTH PLAIN", "STLS", "CAPA"),
			want: loggedInReply(strings.Repeat("-ERR command not valid in this state\r\n", 3)+
				"-ERR command not valid in this state",
				"+OK capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
				"PIPELINING", "IMPLEMENTATION posthorn", ".")},
		{name: "open failure", setup: func(b *fakeBackend) {
			b.openErr = mailerr.Temporary(mailerr.Unavailable, "", errBoom)
		}, in: loggedIn("RETR 1", "TOP 1 1", "NOOP"),
			want: loggedInReply("-ERR [SYS/TEMP] cannot read message 1", "-ERR [SYS/TEMP] cannot read message 1", "+OK")},
		{name: "read failure mid-message ends the session without terminator",
			setup: func(b *fakeBackend) { b.readErr = errBoom },
			in:    loggedIn("DELE 1", "RETR 2", "QUIT"),
			want:  loggedInReply("+OK message 1 deleted", fmt.Sprintf("+OK %d octets", len(msg2)), "Subject: b", "", "..dot", "line2", "...two", ".."),
			check: noCommit(1)},
	})
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("A", maxCommandLine)
	runCases(t, []sessionCase{
		{name: "line too long stays in step", in: script(long, "NOOP", "QUIT"),
			want: lines(greeting, "-ERR line too long", "-ERR command not valid in this state",
				"+OK mx.test POP3 server signing off")},
		{name: "line at the bound is a command", in: script("USER " + strings.Repeat("a", maxCommandLine-7)),
			want: lines(greeting, "+OK send PASS")},
		{name: "ten errors close", in: script(strings.Split(strings.Repeat("BOGUS\n", 12), "\n")...),
			want: lines(greeting, strings.TrimSuffix(strings.Repeat("-ERR unknown command\r\n", maxErrors), "\r\n"))},
		{name: "failed logins count", in: strings.Repeat("USER alice\r\nPASS x\r\n", 12),
			want: lines(greeting, strings.TrimSuffix(strings.Repeat("+OK send PASS\r\n-ERR [AUTH] invalid user name or password\r\n", maxErrors), "\r\n")),
			check: func(t *testing.T, b *fakeBackend) {
				if len(b.logins) != maxErrors {
					t.Errorf("logins = %d, want %d", len(b.logins), maxErrors)
				}
			}},
		{name: "flood ends the session", in: strings.Repeat("A", maxDiscard+readBufSize*2),
			want: lines(greeting, "-ERR line too long, closing")},
	})
}

// TestTopReadsOnlyWhatItNeeds checks that TOP stops reading a large
// message after the lines it sends, and closes the reader.
func TestTopReadsOnlyWhatItNeeds(t *testing.T) {
	b := newFakeBackend()
	body := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcde\r\n", 1<<15)
	b.msgs["alice"] = []fakeMsg{{"big", body}}
	got := runScript(t, plainCfg, b, loggedIn("TOP 1 2", "QUIT"))
	want := lines(greeting, "+OK send PASS", fmt.Sprintf("+OK maildrop has 1 messages (%d octets)", len(body)),
		"+OK top of message follows", "Subject: big", "", "0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcde", ".", "+OK mx.test POP3 server signing off (0 messages deleted)")
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if b.read > copyBufSize || b.rclosed != 1 {
		t.Errorf("read %d of %d octets (want at most %d), readers closed %d", b.read, len(body), copyBufSize, b.rclosed)
	}
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"0001", 1, true}, {"9223372036854775807", 1<<63 - 1, true},
		{"99999999999999999999999", 1<<63 - 1, true}, {"", 0, false}, {"-1", 0, false}, {"+1", 0, false},
		{" 1", 0, false}, {"1a", 0, false}, {"１", 0, false},
	} {
		n, ok := parseNumber(tc.in)
		if n != tc.n || ok != tc.ok {
			t.Errorf("parseNumber(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct{ in, verb, arg string }{
		{"stat", "STAT", ""}, {"PASS a b ", "PASS", "a b "}, {"LIST 1", "LIST", "1"},
		{"", "", ""}, {" x", "", "x"}, {"VERYLONGVERB x", "", "x"},
	} {
		v, a := parseCommand([]byte(tc.in))
		if v != tc.verb || a != tc.arg {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", tc.in, v, a, tc.verb, tc.arg)
		}
	}
}

// panicDrop panics on Open.
type panicBackend struct{ *fakeBackend }

func (b panicBackend) Login(ctx context.Context, user, pass string, remote net.Addr) (Maildrop, error) {
	md, err := b.fakeBackend.Login(ctx, user, pass, remote)
	if err != nil {
		return nil, err
	}
	return panicDrop{md}, nil
}

type panicDrop struct{ Maildrop }

func (panicDrop) Open(context.Context, int) (io.ReadCloser, error) { panic("broken store") }

func TestPanicRecovered(t *testing.T) {
	fb := newFakeBackend()
	s := New(plainCfg, panicBackend{fb}, testLogger(t), NewMetrics(nil))
	var got any
	s.onPanic = func(v any) { got = v }
	c := newScriptConn(loggedIn("DELE 1", "RETR 2", "QUIT"))
	s.serveConn(context.Background(), c)
	if got != "broken store" {
		t.Errorf("onPanic saw %v", got)
	}
	if fb.closes != 1 || len(fb.commits) != 0 || !c.closed {
		t.Errorf("after panic: closes %d, commits %v, conn closed %v", fb.closes, fb.commits, c.closed)
	}
}
