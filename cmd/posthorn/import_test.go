package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

func TestMaildirFlags(t *testing.T) {
	kw := map[byte]string{'a': "$Label1", 'b': "Work"}
	tests := []struct {
		name string
		want []string
	}{
		{"1700000000.M1P2.host", nil},
		{"1700000000.M1P2.host:2,", nil},
		{"1700000000.M1P2.host,S=1234:2,FRS", []string{`\Flagged`, `\Answered`, `\Seen`}},
		{"x:2,DTa", []string{`\Draft`, `\Deleted`, "$Label1"}},
		{"x:2,SSbz", []string{`\Seen`, "Work"}},
		{"x!2,S", []string{`\Seen`}},
	}
	for _, tc := range tests {
		if got := maildirFlags(tc.name, kw); !slices.Equal(got, tc.want) {
			t.Errorf("maildirFlags(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMaildirFolderName(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"Sent", "Sent", ""},
		{"Foo.Bar", "Foo/Bar", ""},
		{"inbox.Sub", "INBOX/Sub", ""},
		{"Entw&APw-rfe", "Entwürfe", ""},
		{"Foo..Bar", "", "empty level"},
		{"&AC8-x", "", "UTF-7"}, // "/" may not be encoded
	}
	for _, tc := range tests {
		got, err := maildirFolderName(tc.in)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("maildirFolderName(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestMboxReader(t *testing.T) {
	mbox := "From alice@example.com Mon Jan  2 15:04:05 2006\n" +
		"Subject: one\nStatus: RO\nX-Status: AF\n\nbody\n>From the start\n>>From deeper\n\n" +
		"From bob@example.com Tue Feb  3 10:00:00 2009\n" +
		"Subject: two\nDate: Tue, 03 Feb 2009 10:00:00 +0000\n\nline\nFrom inside a paragraph\n"
	r := newMboxReader(strings.NewReader(mbox))
	var got []importMsg
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	want0 := "Subject: one\r\nStatus: RO\r\nX-Status: AF\r\n\r\nbody\r\nFrom the start\r\n>From deeper\r\n"
	if string(got[0].data) != want0 {
		t.Errorf("message 1: %q, want %q", got[0].data, want0)
	}
	if !slices.Equal(got[0].flags, []string{`\Seen`, `\Answered`, `\Flagged`}) {
		t.Errorf("message 1 flags %q", got[0].flags)
	}
	if !got[0].date.Equal(time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("message 1 date %v", got[0].date)
	}
	if want := "Subject: two\r\nDate: Tue, 03 Feb 2009 10:00:00 +0000\r\n\r\nline\r\nFrom inside a paragraph\r\n"; string(got[1].data) != want {
		t.Errorf("message 2: %q", got[1].data)
	}
	if _, err := newMboxReader(strings.NewReader("Subject: not an mbox\n")).Next(); err == nil || err == io.EOF {
		t.Errorf("a file that is no mbox: %v", err)
	}
}

func FuzzMboxReader(f *testing.F) {
	f.Add([]byte("From a Mon Jan  2 15:04:05 2006\nSubject: x\n\nbody\n\nFrom b Mon Jan  2 15:04:05 2006\n\n"))
	f.Add([]byte("From \n>From \n\nFrom \r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newMboxReader(bytes.NewReader(b))
		total := 0
		for i := 0; ; i++ {
			m, err := r.Next()
			if err != nil {
				break
			}
			if i > len(b) {
				t.Fatal("more messages than input bytes")
			}
			total += len(m.data)
			if bytes.Contains(bytes.ReplaceAll(m.data, []byte("\r\n"), nil), []byte("\n")) {
				t.Fatalf("bare LF in %q", m.data)
			}
		}
		if total > 2*len(b)+2 {
			t.Fatalf("%d bytes of messages from %d of input", total, len(b))
		}
	})
}

func FuzzMaildirName(f *testing.F) {
	f.Add("1700000000.M1.host:2,FRSab")
	f.Add("Foo.Bar&APw-")
	f.Fuzz(func(t *testing.T, s string) {
		for _, fl := range maildirFlags(s, map[byte]string{'a': "$x"}) {
			if fl == "" {
				t.Fatal("empty flag")
			}
		}
		if n, err := maildirFolderName(s); err == nil && (n == "" || strings.Contains(n, "//")) {
			t.Fatalf("folder %q gave %q", s, n)
		}
	})
}

// writeMaildir makes a Dovecot-style Maildir with INBOX, .Sent and
// .Lists.Go.
func writeMaildir(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	files := map[string]string{
		"new/1700000001.M1.host":               "Subject: new one\n\nunseen\n",
		"cur/1700000002.M2.host,S=30:2,S":      "Subject: seen one\n\nseen\n",
		".Sent/cur/1700000003.M3.host:2,RS":    "Subject: sent\n\nsent\n",
		".Lists.Go/cur/1700000004.M4.host:2,a": "Subject: list\n\nlist\n",
		".Lists.Go/dovecot-keywords":           "0 $Label1\n",
	}
	for _, d := range []string{"tmp", ".Sent/new", ".Lists.Go/new", ".Empty/cur"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	for p, c := range files {
		path := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "posthorn.toml")
	data := filepath.Join(dir, "data")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\ndomains = [\"example.test\"]\n", data)), 0o600)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := auth.NewCredentials("pw")
	u, err := st.AddUser(ctx, "mover@example.test", cred)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cmdImport(ctx, &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: os.Getenv},
			append(args, "--config", cfgPath))
		return code, out.String(), errb.String()
	}
	code, out, errs := run("mover@example.test", writeMaildir(t))
	if code != 0 || !strings.Contains(out, "imported 4 messages (0 skipped) into 4 mailboxes") {
		t.Fatalf("import Maildir: %d %q %q", code, out, errs)
	}
	mbox := filepath.Join(dir, "old.mbox")
	os.WriteFile(mbox, []byte("From a@b Mon Jan  2 15:04:05 2006\nSubject: m1\nStatus: RO\n\nx\n\n"+
		"From a@b Mon Jan  2 15:04:06 2006\nSubject: m2\n\ny\n"), 0o600)
	if code, out, errs := run("mover@example.test", mbox, "--mailbox", "Archive/2006"); code != 0 ||
		!strings.Contains(out, "imported 2 messages") {
		t.Fatalf("import mbox: %d %q %q", code, out, errs)
	}
	for _, bad := range [][]string{{"nobody@example.test", mbox}, {"mover@example.test"},
		{"mover@example.test", filepath.Join(dir, "absent")}, {"mover@example.test", dir}} {
		if code, _, _ := run(bad...); code == 0 {
			t.Errorf("import %q succeeded", bad)
		}
	}

	st, err = sqlite.Open(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string][][]string{
		"INBOX":        {nil, {`\Seen`}},
		"Sent":         {{`\Answered`, `\Seen`}},
		"Lists/Go":     {{"$Label1"}},
		"Archive/2006": {{`\Seen`}, nil},
	}
	for name, flags := range want {
		mb, err := st.MailboxByName(ctx, u.ID, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ms, _ := st.Messages(ctx, mb.ID)
		if len(ms) != len(flags) {
			t.Fatalf("%s: %d messages, want %d", name, len(ms), len(flags))
		}
		for i, m := range ms {
			if !slices.Equal(m.Flags, flags[i]) {
				t.Errorf("%s uid %d: flags %q, want %q", name, m.UID, m.Flags, flags[i])
			}
		}
		rc, _ := st.OpenMessage(ctx, ms[0].ID)
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.HasSuffix(b, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("%s: message not CRLF: %q", name, b)
		}
	}
}
