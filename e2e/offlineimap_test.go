package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// offlineimap (issue 6's second opinion beside mbsync) against the imaps
// listener with the self-signed certificate verified.

// offlineimapSync is one offlineimap account: a config and a Maildir tree
// in a temporary directory.
type offlineimapSync struct {
	bin, dir, conf, mail string
}

func newOfflineimap(t *testing.T, s *IMAPServer, user, pass string) *offlineimapSync {
	t.Helper()
	o := &offlineimapSync{bin: needTool(t, "offlineimap"), dir: t.TempDir()}
	o.mail = filepath.Join(o.dir, "mail")
	o.conf = filepath.Join(o.dir, "offlineimaprc")
	_, port := splitHostPort(t, s.IMAPS)
	// sslcacertfile both trusts the self-signed certificate and makes
	// offlineimap check the host name against it. offlineimap matches DNS
	// names only, not IP addresses, so it dials "localhost" (a name the
	// certificate carries); the server listens on 127.0.0.1 alone, and a
	// ::1 answer first just costs one refused connection.
	// sep = / keeps IMAP's hierarchy as nested Maildir directories.
	rc := fmt.Sprintf(`[general]
accounts = posthorn
metadata = %s/meta

[Account posthorn]
localrepository = near
remoterepository = far

[Repository near]
type = Maildir
localfolders = %s
sep = /

[Repository far]
type = IMAP
remotehost = localhost
remoteport = %d
remoteuser = %s
remotepass = %s
ssl = yes
sslcacertfile = %s
maxconnections = 1
`, o.dir, o.mail, port, user, pass, s.TLSCertPath())
	if err := os.WriteFile(o.conf, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return o
}

// sync runs one one-shot sync of every folder.
func (o *offlineimapSync) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, "-c", o.conf, "-o", "-u", "quiet")
	cmd.Env = append(os.Environ(), "HOME="+o.dir)
	out, err := cmd.CombinedOutput()
	if err != nil || ctx.Err() != nil {
		t.Fatalf("offlineimap: %v %v\n%s", err, ctx.Err(), out)
	}
	if len(bytes.TrimSpace(out)) != 0 {
		// -u quiet prints only errors, and offlineimap does not always
		// turn them into an exit status.
		t.Fatalf("offlineimap reported:\n%s", out)
	}
}

// offlineimapUID is the server UID offlineimap writes into each file name.
var offlineimapUID = regexp.MustCompile(`,U=(\d+),`)

// local maps server UID to the file offlineimap keeps for it in folder.
func (o *offlineimapSync) local(t *testing.T, folder string) map[int]string {
	t.Helper()
	m := map[int]string{}
	for _, p := range maildirFiles(t, filepath.Join(o.mail, folder)) {
		sub := offlineimapUID.FindStringSubmatch(filepath.Base(p))
		if sub == nil {
			t.Fatalf("%s: no ,U=uid, in the file name", p)
		}
		uid, _ := strconv.Atoi(sub[1])
		m[uid] = p
	}
	return m
}

// snapshot lists every file name under the Maildir tree (and its flags).
func (o *offlineimapSync) snapshot(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(o.mail, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, o.mail))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// fetchBodyRE matches the head of one "UID n BODY[] {size}" response.
var fetchBodyRE = regexp.MustCompile(`^\d+ \(UID (\d+) (?:FLAGS \(([^)]*)\) )?BODY\[\] \{\d+\}$`)

// serverMail is one server message: its flags and exact octets.
type serverMail struct {
	flags string
	body  []byte
}

// serverFolder reads every message of folder with imaplib, by UID.
func serverFolder(t *testing.T, s *IMAPServer, user, pass, folder string) map[int]serverMail {
	t.Helper()
	res := imaplibRun(t, s.IMAP, "plain", user, pass,
		[]any{"select", folder, true}, []any{"fetch", "1:*", "(UID FLAGS BODY.PEEK[])"})
	if res.Login.Typ != "OK" {
		t.Fatalf("login: %+v", res.Login)
	}
	wantTyp(t, res.Results[0], "OK")
	m := map[int]serverMail{}
	if res.Results[0].Strings()[0] == "0" {
		return m
	}
	wantTyp(t, res.Results[1], "OK")
	parts := res.Results[1].Strings()
	for i := 0; i+1 < len(parts); i++ {
		sub := fetchBodyRE.FindStringSubmatch(parts[i])
		if sub == nil {
			continue
		}
		uid, _ := strconv.Atoi(sub[1])
		m[uid] = serverMail{flags: sub[2], body: Octets(parts[i+1])}
	}
	return m
}

// sameMail asserts the Maildir folder holds exactly the server's
// messages, byte for byte (offlineimap stores LF line ends).
func sameMail(t *testing.T, o *offlineimapSync, far map[int]serverMail, folder string) map[int]string {
	t.Helper()
	near := o.local(t, folder)
	if len(near) != len(far) {
		t.Fatalf("%s: near has UIDs %v, far has %d messages", folder, keysOf(near), len(far))
	}
	for uid, m := range far {
		p, ok := near[uid]
		if !ok {
			t.Errorf("%s: UID %d not synced", folder, uid)
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := crlfToLF(m.body); !bytes.Equal(got, want) {
			t.Errorf("%s UID %d differs:\nnear %q\nfar  %q", folder, uid, got, want)
		}
	}
	return near
}

func keysOf[V any](m map[int]V) []int {
	var k []int
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}

// write puts a new message (LF line ends, as a mail reader writes it)
// at rel under the Maildir tree, making the folder when it is new.
func (o *offlineimapSync) write(t *testing.T, rel string, msg []byte) {
	t.Helper()
	path := filepath.Join(o.mail, rel)
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(filepath.Dir(filepath.Dir(path)), sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, crlfToLF(msg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestIMAPOfflineimap syncs with offlineimap over imaps: the Maildir tree
// gets every folder and exact copies, local flag changes and deletes
// reach the server, and a sync with nothing to do changes nothing.
func TestIMAPOfflineimap(t *testing.T) {
	t.Parallel()
	s := StartIMAPServer(t, Options{})
	const user, pass = "oi@example.test", "pw-oi"
	s.AddUser(user, pass)
	for i := 1; i <= 3; i++ {
		mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage(fmt.Sprintf("far %d", i), 3*i))
	}
	res := imaplibRun(t, s.IMAP, "plain", user, pass, []any{"create", "Lists/Go"},
		[]any{"append_b64", "Lists/Go", `(\Seen)`, base64.StdEncoding.EncodeToString(imapMessage("list mail", 2))})
	for _, r := range res.Results {
		wantTyp(t, r, "OK")
	}

	o := newOfflineimap(t, s, user, pass)
	o.sync(t)
	inbox := sameMail(t, o, serverFolder(t, s, user, pass, "INBOX"), "INBOX")
	list := sameMail(t, o, serverFolder(t, s, user, pass, "Lists/Go"), "Lists/Go")
	if len(inbox) != 3 || len(list) != 1 {
		t.Fatalf("first sync: INBOX UIDs %v, Lists/Go UIDs %v; want 3 and 1", keysOf(inbox), keysOf(list))
	}
	for _, p := range list {
		if !strings.HasSuffix(p, ":2,S") {
			t.Errorf("Lists/Go message %s: want the Seen flag", p)
		}
	}
	for _, f := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if _, err := os.Stat(filepath.Join(o.mail, f, "cur")); err != nil {
			t.Errorf("special-use folder %s not synced: %v", f, err)
		}
	}

	// Near-side changes: flag UID 1 seen and flagged, delete UID 2 and
	// the list mail, write a new message into INBOX and a new folder.
	uids := keysOf(inbox)
	p := inbox[uids[0]]
	flagged := filepath.Join(filepath.Dir(filepath.Dir(p)), "cur", strings.SplitN(filepath.Base(p), ":2,", 2)[0]+":2,FS")
	if err := os.Rename(p, flagged); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{inbox[uids[1]], list[keysOf(list)[0]]} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	nearMsg := imapMessage("near 1", 2)
	o.write(t, "INBOX/new/1700000000.1.near:2,", nearMsg)
	o.write(t, "Local/new/1700000000.2.near:2,", nearMsg)
	o.sync(t)

	// The uploaded message's file is renamed with the UID the server
	// gave (APPENDUID), so o.local and sameMail find it by UID.
	far := serverFolder(t, s, user, pass, "INBOX")
	got := keysOf(far)
	if len(got) != 3 || got[0] != uids[0] || got[1] != uids[2] || got[2] <= uids[2] {
		t.Fatalf("far INBOX UIDs after the near changes: %v, want %d, %d and a new one", got, uids[0], uids[2])
	}
	if b := far[got[2]].body; !bytes.Equal(b, nearMsg) {
		t.Errorf("uploaded message on the server:\n%q\nwant\n%q", b, nearMsg)
	}
	if local := serverFolder(t, s, user, pass, "Local"); len(local) != 1 {
		t.Errorf("far Local (made near): UIDs %v, want one message", keysOf(local))
	}
	if f := far[uids[0]].flags; !strings.Contains(f, `\Seen`) || !strings.Contains(f, `\Flagged`) {
		t.Errorf("far flags of UID %d: %q, want \\Seen \\Flagged", uids[0], f)
	}
	if f := far[uids[2]].flags; f != "" {
		t.Errorf("far flags of untouched UID %d: %q", uids[2], f)
	}
	if got := serverFolder(t, s, user, pass, "Lists/Go"); len(got) != 0 {
		t.Errorf("far Lists/Go after the near delete: UIDs %v", keysOf(got))
	}
	sameMail(t, o, far, "INBOX")

	// A far-side delivery comes down on the next sync.
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, imapMessage("far 4", 4))
	o.sync(t)
	far = serverFolder(t, s, user, pass, "INBOX")
	if len(far) != 4 {
		t.Fatalf("far INBOX after a new delivery: UIDs %v, want 4", keysOf(far))
	}
	sameMail(t, o, far, "INBOX")

	o.checkIdleSync(t, s, user, pass)
}

// checkIdleSync syncs with nothing to do and asserts that neither the
// Maildir tree nor the server changed: the same files, and in every
// folder the same count, UIDNEXT and HIGHESTMODSEQ (RFC 7162: any flag
// store, append or expunge would raise it).
func (o *offlineimapSync) checkIdleSync(t *testing.T, s *IMAPServer, user, pass string) {
	t.Helper()
	farState := func() string {
		var ops [][]any
		for _, f := range []string{"INBOX", "Lists/Go", "Local", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
			ops = append(ops, []any{"status", f, "(MESSAGES UIDNEXT HIGHESTMODSEQ)"})
		}
		res := imaplibRun(t, s.IMAP, "plain", user, pass, ops...)
		var b strings.Builder
		for _, r := range res.Results {
			wantTyp(t, r, "OK")
			b.WriteString(r.Joined() + "\n")
		}
		return b.String()
	}
	nearBefore, farBefore := o.snapshot(t), farState()
	o.sync(t)
	if after := o.snapshot(t); !slices.Equal(nearBefore, after) {
		t.Errorf("near tree changed by an idle sync:\nbefore %q\nafter  %q", nearBefore, after)
	}
	if after := farState(); after != farBefore {
		t.Errorf("server changed by an idle sync:\nbefore %s\nafter  %s", farBefore, after)
	}
}
