package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maildirFiles lists the message files of a Maildir folder (new and cur).
func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, filepath.Join(dir, sub, e.Name()))
		}
	}
	return out
}

// runMbsync runs one full sync of every folder.
func runMbsync(t *testing.T, bin, conf string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-c", conf, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
}

// TestIMAPMbsync syncs a mailbox both ways with mbsync (isync), as a new
// user following the README would: over imaps, trusting the server's
// self-signed certificate, every folder, creations and expunges both ways.
func TestIMAPMbsync(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "mbsync")
	s := StartIMAPServer(t, Options{})
	const user, pass = "sync@example.test", "pw-sync"
	s.AddUser(user, pass)
	for i := 1; i <= 2; i++ {
		mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage(fmt.Sprintf("far %d", i), 2))
	}
	res := imaplibRun(t, s.IMAP, "plain", user, pass, []any{"create", "Lists/Go"},
		[]any{"append_b64", "Lists/Go", `(\Seen)`, base64.StdEncoding.EncodeToString(imapMessage("list mail", 1))})
	for _, r := range res.Results {
		wantTyp(t, r, "OK")
	}

	dir := t.TempDir()
	mail := filepath.Join(dir, "mail")
	host, port := splitHostPort(t, s.IMAPS)
	if err := os.MkdirAll(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "mbsyncrc")
	rc := fmt.Sprintf(`IMAPAccount posthorn
Host %s
Port %d
User %s
Pass %s
SSLType IMAPS
CertificateFile %s
AuthMechs LOGIN

IMAPStore far
Account posthorn

MaildirStore near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState *
`, host, port, user, pass, s.TLSCertPath(), mail, mail)
	if err := os.WriteFile(conf, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	runMbsync(t, bin, conf)
	inbox := maildirFiles(t, filepath.Join(mail, "INBOX"))
	if len(inbox) != 2 {
		t.Fatalf("near INBOX after the first sync: %v", inbox)
	}
	list := maildirFiles(t, filepath.Join(mail, "Lists", "Go"))
	if len(list) != 1 || !strings.HasSuffix(list[0], ",S") {
		t.Fatalf("near Lists/Go: %v, want one seen message", list)
	}
	for _, f := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if _, err := os.Stat(filepath.Join(mail, f)); err != nil {
			t.Errorf("special-use folder %s not synced: %v", f, err)
		}
	}

	// Near-side changes: flag one message seen, delete the list mail,
	// add a message and a new folder.
	if err := os.Rename(inbox[0], strings.Replace(strings.Replace(inbox[0], "/new/", "/cur/", 1), ":2,", ":2,FS", 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(list[0]); err != nil {
		t.Fatal(err)
	}
	local := imapMessage("near 1", 1)
	for _, p := range []string{"INBOX/new/1700000000.1.near", "Local/new/1700000000.2.near"} {
		path := filepath.Join(mail, p)
		for _, sub := range []string{"new", "cur", "tmp"} {
			os.MkdirAll(filepath.Join(filepath.Dir(filepath.Dir(path)), sub), 0o700)
		}
		if err := os.WriteFile(path, local, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runMbsync(t, bin, conf)

	res = imaplibRun(t, s.IMAP, "plain", user, pass,
		[]any{"select", "INBOX", true},
		[]any{"search", nil, "SEEN", "FLAGGED"},
		[]any{"search", nil, "SUBJECT", `"near 1"`},
		[]any{"status", "Lists/Go", "(MESSAGES)"},
		[]any{"status", "Local", "(MESSAGES)"},
		[]any{"fetch", "1:*", "(UID)"})
	r := res.Results
	for _, x := range r {
		wantTyp(t, x, "OK")
	}
	if got := r[0].Strings(); len(got) != 1 || got[0] != "3" {
		t.Errorf("far INBOX after the second sync: %q, want 3 messages", got)
	}
	if got := r[1].Strings(); len(got) != 1 || len(strings.Fields(got[0])) != 1 {
		t.Errorf("far messages seen and flagged: %q, want one", got)
	}
	if got := r[2].Strings(); len(got) != 1 || len(strings.Fields(got[0])) != 1 {
		t.Errorf("far INBOX SEARCH SUBJECT near: %q, want the near message", got)
	}
	if got := r[3].Joined(); !strings.Contains(got, "(MESSAGES 0)") {
		t.Errorf("far Lists/Go after the near delete: %q", got)
	}
	if got := r[4].Joined(); !strings.Contains(got, "(MESSAGES 1)") {
		t.Errorf("far Local (made near): %q", got)
	}

	// A far-side change comes back near; a sync with nothing new is quiet.
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage("far 3", 1))
	runMbsync(t, bin, conf)
	if got := maildirFiles(t, filepath.Join(mail, "INBOX")); len(got) != 4 {
		t.Errorf("near INBOX after the third sync: %v, want 4", got)
	}
	runMbsync(t, bin, conf)
	if got := maildirFiles(t, filepath.Join(mail, "INBOX")); len(got) != 4 {
		t.Errorf("near INBOX after a sync with nothing new: %v", got)
	}
}
