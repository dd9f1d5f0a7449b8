package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/pop3client/pop3test"
)

var fetchMsgs = []pop3test.Message{
	{UID: "AAA1", Data: []byte("Return-Path: <bob@example.test>\r\nSubject: one\r\n\r\nhello\r\n")},
	{UID: "BBB/2", Data: []byte("Subject: two\r\n\r\nFrom me to you\r\n>From quoted\r\n.dot\r\n")},
	{UID: "CCC3", Data: []byte("Subject: three\r\n\r\nbye\r\n")},
}

var pwEnv = map[string]string{"POSTHORN_PASSWORD": "secret"}

// startPOP starts a fake server with implicit TLS and returns it and the
// flags that reach it.
func startPOP(t *testing.T, o pop3test.Options, msgs []pop3test.Message) (*pop3test.Server, []string) {
	t.Helper()
	cfg, ca := testCA(t)
	o.User, o.Password, o.TLS, o.Implicit = "alice", "secret", cfg, true
	s := pop3test.Start(t, o, msgs)
	return s, []string{"--server", s.Addr, "--tls", "implicit", "--cafile", ca, "--user", "alice"}
}

func TestFetchList(t *testing.T) {
	_, flags := startPOP(t, pop3test.Options{}, fetchMsgs)
	code, out, errs := runMUA(t, cmdFetch, "", pwEnv, append(flags, "--list")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := fmt.Sprintf("1 %d AAA1\n2 %d BBB/2\n3 %d CCC3\n", len(fetchMsgs[0].Data), len(fetchMsgs[1].Data), len(fetchMsgs[2].Data))
	if out != want {
		t.Errorf("--list printed %q, want %q", out, want)
	}
}

func TestFetchDestinations(t *testing.T) {
	tests := []struct {
		name  string
		flag  string
		check func(t *testing.T, dest string)
	}{
		{"maildir", "--maildir", func(t *testing.T, dest string) {
			files := readDir(t, filepath.Join(dest, "new"))
			if len(files) != 3 || len(readDir(t, filepath.Join(dest, "tmp"))) != 0 || len(readDir(t, filepath.Join(dest, "cur"))) != 0 {
				t.Fatalf("Maildir new/ holds %d files", len(files))
			}
			var got []string
			for _, data := range files {
				got = append(got, data)
			}
			slices.Sort(got) // "Return-Path..." < "Subject: three" < "Subject: two"
			want := []string{string(fetchMsgs[0].Data), string(fetchMsgs[2].Data), string(fetchMsgs[1].Data)}
			if !slices.Equal(got, want) {
				t.Errorf("Maildir messages %q, want %q", got, want)
			}
		}},
		{"mbox", "--mbox", func(t *testing.T, dest string) {
			data, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(data), "\n")
			if !strings.HasPrefix(lines[0], "From bob@example.test ") || strings.Contains(string(data), "\r") {
				t.Errorf("mbox starts %q (or has CRs)", lines[0])
			}
			rest := strings.Join(lines[1:], "\n")
			wantBody := "Return-Path: <bob@example.test>\nSubject: one\n\nhello\n\n"
			if !strings.HasPrefix(rest, wantBody) {
				t.Errorf("first entry %q", rest)
			}
			for _, l := range []string{">From me to you", ">>From quoted", ".dot", "From MAILER-DAEMON "} {
				if !slices.ContainsFunc(lines, func(s string) bool { return strings.HasPrefix(s, l) }) {
					t.Errorf("mbox lacks a line %q:\n%s", l, data)
				}
			}
			if n := strings.Count(string(data), "\nFrom "); n != 2 {
				t.Errorf("mbox has %d separators after the first, want 2", n)
			}
		}},
		{"dir", "--dir", func(t *testing.T, dest string) {
			files := readDir(t, dest)
			if files["AAA1.eml"] != string(fetchMsgs[0].Data) || files["CCC3.eml"] != string(fetchMsgs[2].Data) || len(files) != 3 {
				t.Fatalf("dir holds %v", keys(files))
			}
			for name, data := range files {
				if strings.HasPrefix(name, "BBB_2-") && data == string(fetchMsgs[1].Data) {
					return
				}
			}
			t.Errorf("no sanitised file for UIDL BBB/2: %v", keys(files))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, flags := startPOP(t, pop3test.Options{}, fetchMsgs)
			dest := filepath.Join(t.TempDir(), "dest")
			state := filepath.Join(t.TempDir(), "state.json")
			code, out, errs := runMUA(t, cmdFetch, "", pwEnv, append(flags, tt.flag, dest, "--state", state)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, "fetched 3 of 3 messages") {
				t.Errorf("stdout %q", out)
			}
			tt.check(t, dest)
			if len(s.Messages()) != 3 {
				t.Error("messages deleted without --delete")
			}
		})
	}
}

func TestFetchNewAndDelete(t *testing.T) {
	s, flags := startPOP(t, pop3test.Options{}, fetchMsgs[:2])
	dir := filepath.Join(t.TempDir(), "mail")
	state := filepath.Join(t.TempDir(), "state", "fetch.json")
	args := append(flags, "--dir", dir, "--state", state, "--new")
	if code, out, errs := runMUA(t, cmdFetch, "", pwEnv, args...); code != 0 || !strings.Contains(out, "fetched 2 of 2") {
		t.Fatalf("first run: exit %d, %q, %q", code, out, errs)
	}
	if code, out, errs := runMUA(t, cmdFetch, "", pwEnv, args...); code != 0 || !strings.Contains(out, "fetched 0 of 2") {
		t.Fatalf("second run: exit %d, %q, %q", code, out, errs)
	}
	s.Add(fetchMsgs[2])
	os.RemoveAll(dir)
	if code, out, errs := runMUA(t, cmdFetch, "", pwEnv, append(args, "--delete")...); code != 0 || !strings.Contains(out, "fetched 1 of 3") || !strings.Contains(out, "deleted 1") {
		t.Fatalf("third run: exit %d, %q, %q", code, out, errs)
	}
	if files := readDir(t, dir); len(files) != 1 || files["CCC3.eml"] == "" {
		t.Errorf("third run saved %v", keys(files))
	}
	left := s.Messages()
	if len(left) != 2 || left[0].UID != "AAA1" || left[1].UID != "BBB/2" {
		t.Errorf("server holds %v after --new --delete", left)
	}
	// Without --new everything is fetched again, and deleted.
	if code, out, errs := runMUA(t, cmdFetch, "", pwEnv, append(flags, "--dir", dir, "--state", state, "--delete")...); code != 0 || !strings.Contains(out, "fetched 2 of 2") {
		t.Fatalf("fourth run: exit %d, %q, %q", code, out, errs)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("server holds %d messages after --delete", n)
	}
}

// TestFetchFailureDeletesNothing: a failure before QUIT leaves every
// message on the server, and what was saved is remembered.
func TestFetchFailureDeletesNothing(t *testing.T) {
	hook := func(line string) (string, bool, bool) {
		if line == "RETR 2" {
			return "+OK\r\ncut off in the middle", true, true
		}
		return "", false, false
	}
	s, flags := startPOP(t, pop3test.Options{Hook: hook}, fetchMsgs)
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "state.json")
	code, _, errs := runMUA(t, cmdFetch, "", pwEnv, append(flags, "--maildir", dir, "--state", state, "--delete", "--new")...)
	if code != 1 || !strings.Contains(errs, "message 2") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if n := len(s.Messages()); n != 3 {
		t.Errorf("server holds %d messages, want 3 (no QUIT, no deletion)", n)
	}
	if n := len(readDir(t, filepath.Join(dir, "new"))); n != 1 {
		t.Errorf("Maildir holds %d messages, want 1", n)
	}
	if n := len(readDir(t, filepath.Join(dir, "tmp"))); n != 0 {
		t.Errorf("Maildir tmp/ holds %d partial files", n)
	}
	st, err := loadFetchState(&stdio{getenv: func(string) string { return "" }}, state, "alice@"+s.Addr)
	if err != nil || !st.seen["AAA1"] || st.seen["BBB/2"] {
		t.Errorf("state after failure: %v, %v", st, err)
	}
}

func TestFetchMboxTruncatesPartial(t *testing.T) {
	hook := func(line string) (string, bool, bool) {
		if line == "RETR 2" {
			return "+OK\r\nSubject: partial\r\n\r\nhalf", true, true
		}
		return "", false, false
	}
	_, flags := startPOP(t, pop3test.Options{Hook: hook}, fetchMsgs)
	mbox := filepath.Join(t.TempDir(), "mbox")
	code, _, _ := runMUA(t, cmdFetch, "", pwEnv, append(flags, "--mbox", mbox, "--state", filepath.Join(t.TempDir(), "s"))...)
	data, _ := os.ReadFile(mbox)
	if code != 1 || strings.Contains(string(data), "partial") || !strings.Contains(string(data), "hello") {
		t.Errorf("exit %d, mbox %q", code, data)
	}
}

func TestFetchErrors(t *testing.T) {
	_, ca := testCA(t)
	plain := pop3test.Start(t, pop3test.Options{User: "alice", Password: "secret"}, fetchMsgs)
	noUIDL := pop3test.Start(t, pop3test.Options{User: "alice", Password: "secret", NoUIDL: true}, fetchMsgs)
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"wrong password", map[string]string{"POSTHORN_PASSWORD": "nope"}, []string{"--server", plain.Addr, "--tls", "none", "--user", "alice", "--list"}, 1, "-ERR [AUTH] invalid user name or password"},
		{"no STLS", pwEnv, []string{"--server", plain.Addr, "--user", "alice", "--list", "--cafile", ca}, 1, "does not offer STLS"},
		{"plaintext explicit", pwEnv, []string{"--server", plain.Addr, "--tls", "none", "--user", "alice", "--list"}, 0, ""},
		{"--new without UIDL", pwEnv, []string{"--server", noUIDL.Addr, "--tls", "none", "--user", "alice", "--dir", dir, "--new"}, 1, "UIDL"},
		{"no UIDL without --new", pwEnv, []string{"--server", noUIDL.Addr, "--tls", "none", "--user", "alice", "--dir", dir}, 0, ""},
		{"connection refused", pwEnv, []string{"--server", "127.0.0.1:1", "--tls", "none", "--user", "alice", "--list"}, 1, "127.0.0.1:1"},
		{"no server", pwEnv, []string{"--user", "alice", "--list"}, 2, "--server"},
		{"no user", pwEnv, []string{"--server", plain.Addr, "--list"}, 2, "--user"},
		{"no destination", pwEnv, []string{"--server", plain.Addr, "--user", "alice"}, 2, "exactly one"},
		{"two destinations", pwEnv, []string{"--server", plain.Addr, "--user", "alice", "--dir", "a", "--mbox", "b"}, 2, "exactly one"},
		{"list and delete", pwEnv, []string{"--server", plain.Addr, "--user", "alice", "--list", "--delete"}, 2, "--list"},
		{"bad tls", pwEnv, []string{"--server", plain.Addr, "--user", "alice", "--list", "--tls", "ssl"}, 2, "--tls"},
		{"no password", nil, []string{"--server", plain.Addr, "--user", "alice", "--list", "--tls", "none"}, 2, "password"},
		{"password on the command line", pwEnv, []string{"--server", plain.Addr, "--user", "alice", "--password", "x", "--list"}, 2, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runMUA(t, cmdFetch, "", tt.env, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
			if code != 0 && strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", errs)
			}
		})
	}
}

func TestSafeUIDName(t *testing.T) {
	for uid, want := range map[string]string{
		"abc-DEF_1.2": "abc-DEF_1.2",
		"../etc":      "_._etc-",
		".hidden":     "_hidden-",
		"a/b":         "a_b-",
		"a_b":         "a_b",
	} {
		got := safeUIDName(uid)
		if !strings.HasPrefix(got, want) || strings.ContainsAny(got, "/\\") || strings.HasPrefix(got, ".") {
			t.Errorf("safeUIDName(%q) = %q, want prefix %q", uid, got, want)
		}
	}
	if safeUIDName("a/b") == safeUIDName("a_b") || safeUIDName("a/b") == safeUIDName("a:b") {
		t.Error("distinct UIDLs share a file name")
	}
	if n := len(safeUIDName(strings.Repeat("x", 300))); n > 120 {
		t.Errorf("a long UIDL gave a %d-octet name", n)
	}
}

func TestMboxWriter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A: b\r\n\r\nFrom x\r\n>From y\r\n>>From z\r\nFrom\r\n", "A: b\n\n>From x\n>>From y\n>>>From z\nFrom\n\n"},
		{"A: b\n\nno final newline", "A: b\n\nno final newline\n\n"},
		{"", "\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		bw := newBufWriter(&b)
		mw := &mboxWriter{w: bw}
		for i := 0; i < len(tt.in); i += 3 { // odd chunks cross line ends
			mw.Write([]byte(tt.in[i:min(i+3, len(tt.in))]))
		}
		mw.close()
		bw.Flush()
		_, got, _ := strings.Cut(b.String(), "\n")
		if got != tt.want {
			t.Errorf("mbox entry of %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func newBufWriter(w *strings.Builder) *bufio.Writer { return bufio.NewWriter(w) }

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b, on: true, count: 2, total: 200}
	p.next(1)
	w := p.writer(io.Discard)
	w.Write(make([]byte, 100))
	p.next(2)
	p.done()
	out := b.String()
	if !strings.Contains(out, "2/2") || !strings.Contains(out, " 50%") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress drew %q", out)
	}
	// Off (not a terminal): writes pass through and nothing is drawn.
	var off strings.Builder
	q := newProgress(&off, 3, 10)
	if q.writer(io.Discard) != io.Discard || q.on {
		t.Error("progress on for a non-terminal")
	}
	q.done()
	if off.Len() != 0 {
		t.Errorf("drew %q on a non-terminal", off.String())
	}
}
