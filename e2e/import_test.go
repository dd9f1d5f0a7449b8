package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportMaildirAndMbox moves a user in from another server: a
// Dovecot Maildir (folders, flags, keywords) and an mbox, with `posthorn
// import`, then reads them over IMAP.
func TestImportMaildirAndMbox(t *testing.T) {
	t.Parallel()
	s := StartIMAPServer(t, Options{})
	const user, pass = "mover@example.test", "pw-mover"
	s.AddUser(user, pass)
	root := filepath.Join(t.TempDir(), "Maildir")
	files := map[string]string{
		"new/1700000001.M1.old":                  "From: a@old.test\nSubject: unseen\n\nhello\n",
		"cur/1700000002.M2.old,S=40:2,FS":        "From: a@old.test\nSubject: seen flagged\n\nhello\n",
		".Sent/cur/1700000003.M3.old:2,S":        "From: mover@example.test\nSubject: sent\n\nhi\n",
		".Work.2023/cur/1700000004.M4.old:2,Sa":  "From: b@old.test\nSubject: work\n\nwork\n",
		".Work.2023/dovecot-keywords":            "0 $Project\n",
		".Entw&APw-rfe/cur/1700000005.M5.old:2,": "Subject: draft\n\ndraft\n",
	}
	for p, c := range files {
		path := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, "tmp"), 0o700)
	r := s.MustCLI("", "import", user, root)
	if !strings.Contains(r.Stdout, "imported 5 messages (0 skipped) into 4 mailboxes") {
		t.Errorf("import Maildir: %v", r)
	}
	mbox := filepath.Join(t.TempDir(), "old.mbox")
	os.WriteFile(mbox, []byte("From x@old.test Mon Jan  2 15:04:05 2006\nSubject: from mbox\nStatus: RO\n\n>From here\n"), 0o600)
	if r := s.MustCLI("", "import", user, mbox, "--mailbox", "Old Mail"); !strings.Contains(r.Stdout, "imported 1 messages") {
		t.Errorf("import mbox: %v", r)
	}
	if r := s.CLI("", "import", "nobody@example.test", mbox); r.Code == 0 {
		t.Errorf("import for an unknown user: %v", r)
	}

	res := imaplibRun(t, s.IMAP, "plain", user, pass,
		[]any{"list"},
		[]any{"select", "INBOX", true},
		[]any{"fetch", "1:*", "(FLAGS ENVELOPE)"},
		[]any{"select", "Work/2023", true},
		[]any{"fetch", "1", "(FLAGS)"},
		[]any{"select", `"Old Mail"`, true},
		[]any{"fetch", "1", "(FLAGS INTERNALDATE BODY.PEEK[])"},
	)
	for _, x := range res.Results {
		wantTyp(t, x, "OK")
	}
	list := res.Results[0].Joined()
	for _, n := range []string{`"Work/2023"`, `"Entw&APw-rfe"`, `"Old Mail"`, `\Sent) "/" "Sent"`} {
		if !strings.Contains(list, n) {
			t.Errorf("LIST lacks %s:\n%s", n, list)
		}
	}
	if got := res.Results[2].Strings(); len(got) != 2 || !strings.Contains(got[0], `FLAGS ()`) ||
		!strings.Contains(got[1], `FLAGS (\Flagged \Seen)`) || !strings.Contains(got[1], `"seen flagged"`) {
		t.Errorf("imported INBOX: %q", got)
	}
	if got := res.Results[4].Joined(); !strings.Contains(got, `FLAGS (\Seen $Project)`) {
		t.Errorf("imported keyword: %q", got)
	}
	got := res.Results[6].Strings()
	if len(got) < 2 || !strings.Contains(got[0], `\Seen`) || !strings.Contains(got[0], `" 2-Jan-2006 15:04:05 +0000"`) ||
		got[1] != "Subject: from mbox\r\nStatus: RO\r\n\r\nFrom here\r\n" {
		t.Errorf("imported mbox message: %q", got)
	}
}
