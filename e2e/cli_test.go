package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oneLineErr asserts exit 1 with exactly one non-empty line on stderr.
func oneLineErr(t *testing.T, r CLIResult) {
	t.Helper()
	if r.Code != 1 {
		t.Errorf("want exit 1 (failure):\n%v", r)
		return
	}
	msg := strings.TrimRight(r.Stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("want exactly one line on stderr:\n%v", r)
	}
}

func wantCode(t *testing.T, r CLIResult, code int) {
	t.Helper()
	if r.Code != code {
		t.Errorf("want exit %d:\n%v", code, r)
	}
}

// listed reports whether a list command's output has a line naming addr.
func listed(out, addr string) bool {
	for _, l := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(l) {
			if strings.EqualFold(strings.Trim(f, "<>,:"), addr) {
				return true
			}
		}
	}
	return false
}

func TestCLIUsersAndAliases(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})

	// The first admin command creates the store and says so.
	r := s.CLI("pw-a\n", "user", "add", "a@example.test", "--password-stdin")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "created a new store in") {
		t.Errorf("first admin command: want \"created a new store in PATH\" on stderr:\n%v", r)
	}
	// Flags before the positional argument, --config first.
	r = RunPosthorn(t, s.Dir, "pw-b\n", "user", "add", "--config", s.ConfigPath, "--password-stdin", "b@example.test")
	wantCode(t, r, 0)
	if strings.Contains(r.Stderr, "created a new store") {
		t.Errorf("second admin command claims to create the store again:\n%v", r)
	}
	r = RunPosthorn(t, s.Dir, "", "user", "list", "--config", s.ConfigPath)
	wantCode(t, r, 0)
	if !listed(r.Stdout, "a@example.test") || !listed(r.Stdout, "b@example.test") {
		t.Errorf("user list does not show both users:\n%v", r)
	}

	t.Run("usage-and-failures", func(t *testing.T) {
		oneLineErr(t, s.CLI("pw\n", "user", "add", "a@example.test", "--password-stdin")) // exists
		oneLineErr(t, s.CLI("", "user", "del", "nobody@example.test"))
		oneLineErr(t, s.CLI("", "alias", "del", "noalias@example.test"))
		for _, args := range [][]string{
			{"user", "add", "--password-stdin"},                                     // no address
			{"user", "add", "x@example.test", "y@example.test", "--password-stdin"}, // too many
			{"user", "add", "x@example.test", "--password-stdin", "--no-such-flag"},
			{"user", "frobnicate"},
			{"alias", "add", "lonely@example.test"}, // no target
			{"user"},
		} {
			r := s.CLI("pw\n", args...)
			wantCode(t, r, 2)
			if strings.TrimSpace(r.Stderr) == "" {
				t.Errorf("bad usage without a word on stderr:\n%v", r)
			}
		}
		wantCode(t, RunPosthorn(t, s.Dir, "", "no-such-command"), 2)
		wantCode(t, RunPosthorn(t, s.Dir, ""), 2)
		v := RunPosthorn(t, s.Dir, "", "version")
		wantCode(t, v, 0)
		if strings.TrimSpace(v.Stdout) == "" {
			t.Errorf("version prints nothing:\n%v", v)
		}
	})

	s.Start()
	t.Run("aliases", func(t *testing.T) {
		wantCode(t, s.CLI("", "alias", "add", "team@example.test", "a@example.test", "b@example.test", "a@example.test"), 0)
		wantCode(t, RunPosthorn(t, s.Dir, "", "alias", "add", "--config", s.ConfigPath, "solo@example.test", "b@example.test"), 0)
		r := s.CLI("", "alias", "list")
		wantCode(t, r, 0)
		if !listed(r.Stdout, "team@example.test") || !listed(r.Stdout, "solo@example.test") {
			t.Errorf("alias list does not show team and solo:\n%v", r)
		}
		wantCode(t, s.CLI("", "alias", "del", "solo@example.test"), 0)
		r = s.CLI("", "alias", "list")
		if listed(r.Stdout, "solo@example.test") {
			t.Errorf("alias solo still listed after alias del:\n%v", r)
		}
	})
}

// TestAliasDelivery: an alias naming two users, one of them twice, gives
// each user exactly one copy; so does a transaction that names an alias
// and one of its targets.
func TestAliasDelivery(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	s.AddUser("ann@example.test", "pw")
	s.AddUser("bob@example.test", "pw")
	s.MustCLI("", "alias", "add", "team@example.test", "ann@example.test", "bob@example.test", "ann@example.test")

	msg := []byte("From: sender@remote.test\r\nTo: team@example.test\r\nSubject: to the team\r\n\r\nhello team\r\n")
	mustSend(t, s.SMTP, "sender@remote.test", []string{"team@example.test"}, msg)
	for _, u := range []string{"ann@example.test", "bob@example.test"} {
		msgs := mustFetch(t, s.POP3, u, "pw", true)
		if len(msgs) != 1 {
			t.Fatalf("%s got %d copies of a message to team@, want 1", u, len(msgs))
		}
		checkDelivered(t, msgs[0].Data, msg, "sender@remote.test", u, false)
	}

	mustSend(t, s.SMTP, "sender@remote.test", []string{"team@example.test", "ann@example.test"}, msg)
	if n := len(mustFetch(t, s.POP3, "ann@example.test", "pw", true)); n != 1 {
		t.Errorf("RCPT team@ and ann@ in one transaction: ann got %d copies, want 1", n)
	}
	if n := len(mustFetch(t, s.POP3, "bob@example.test", "pw", true)); n != 1 {
		t.Errorf("RCPT team@ and ann@ in one transaction: bob got %d copies, want 1", n)
	}

	s.MustCLI("", "alias", "del", "team@example.test")
	res := SendMail(t.Context(), s.SMTP, "sender@remote.test", []string{"team@example.test"}, msg)
	if res.Stage != "RCPT" || !matchReply(res.Reply, "550 5.1.1") {
		t.Errorf("RCPT to a deleted alias: want 550 5.1.1, got %v", res)
	}
}

// TestCLIDeleteUserWithMail: user del refuses while the user has mail,
// unless --purge.
func TestCLIDeleteUserWithMail(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	s.AddUser("keep@example.test", "pw")
	mustSend(t, s.SMTP, "sender@remote.test", []string{"keep@example.test"}, []byte("Subject: x\r\n\r\nmail\r\n"))
	r := s.CLI("", "user", "del", "keep@example.test")
	oneLineErr(t, r)
	if !strings.Contains(r.Stderr, "--purge") {
		t.Errorf("refusal does not mention --purge:\n%v", r)
	}
	if !listed(s.MustCLI("", "user", "list").Stdout, "keep@example.test") {
		t.Fatal("refused user del removed the user anyway")
	}
	s.MustCLI("", "user", "del", "--purge", "keep@example.test")
	if listed(s.MustCLI("", "user", "list").Stdout, "keep@example.test") {
		t.Error("user still listed after user del --purge")
	}
	res := SendMail(t.Context(), s.SMTP, "sender@remote.test", []string{"keep@example.test"}, []byte("Subject: y\r\n\r\ny\r\n"))
	if res.Stage != "RCPT" || !matchReply(res.Reply, "550 5.1.1") {
		t.Errorf("RCPT to a deleted user: want 550 5.1.1, got %v", res)
	}
	s.AddUser("empty@example.test", "pw")
	s.MustCLI("", "user", "del", "empty@example.test") // no mail: no --purge needed
}

// TestCLIStoreBackup: store backup while serving gives a store another
// server can open, holding the mail.
func TestCLIStoreBackup(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	s.AddUser("saved@example.test", "pw")
	msg := []byte("From: sender@remote.test\r\nSubject: keep me\r\n\r\nbacked up body\r\n")
	mustSend(t, s.SMTP, "sender@remote.test", []string{"saved@example.test"}, msg)

	dir := filepath.Join(t.TempDir(), "restored")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "posthorn.db") // the store's file name in a data_dir
	r := s.CLI("", "store", "backup", dst)
	wantCode(t, r, 0)
	if fi, err := os.Stat(dst); err != nil || fi.Size() == 0 {
		t.Fatalf("store backup wrote no file %s: %v", dst, err)
	}
	oneLineErr(t, s.CLI("", "store", "backup", dst)) // refuses to overwrite
	mustSend(t, s.SMTP, "sender@remote.test", []string{"saved@example.test"}, []byte("Subject: later\r\n\r\nafter the backup\r\n"))

	b := StartServer(t, Options{DataDir: dir})
	msgs := mustFetch(t, b.POP3, "saved@example.test", "pw", false)
	if len(msgs) != 1 {
		t.Fatalf("the restored store holds %d messages, want 1 (the one before the backup)", len(msgs))
	}
	_, rest := SplitTrace(msgs[0].Data)
	if !bytes.Equal(rest, msg) {
		t.Errorf("restored message %q, want %q", rest, msg)
	}
}
