package e2e

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// User agent round trips (issue 5): messages composed by `posthorn send`
// and by Python's email package travel through posthorn's submission
// listeners, come back with `posthorn fetch` (Maildir, mbox, .eml files),
// and `posthorn mime inspect --json` and `mime extract` must give back
// every attachment's bytes and filename, the decoded subject, sender
// name and text body exactly as sent.

// muaAttachment is one attachment as sent.
type muaAttachment struct {
	name string
	data []byte
	text bool // a text/* part: compare with canonical line ends
}

// muaMessage is what a round trip must preserve.
type muaMessage struct {
	subject  string
	fromName string
	body     string
	atts     []muaAttachment
}

// muaPayload makes the attachments of the round trips from a logged seed:
// random binary data (every byte value, more than one base64 line), a
// binary file with a UTF-8 filename long enough for RFC 2231
// continuations, and a text file.
func muaPayload(t *testing.T) []muaAttachment {
	seed := uint64(time.Now().UnixNano())
	t.Logf("attachment seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bin := make([]byte, 70_000)
	for i := range bin {
		bin[i] = byte(rng.UintN(256))
	}
	for i := range 256 {
		bin[i] = byte(i)
	}
	pdf := append([]byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), bin[:5000]...)
	return []muaAttachment{
		{name: "data.bin", data: bin},
		{name: "Übersicht – 報告書 für Grüße ✓ mit einem sehr langen Dateinamen.pdf", data: pdf},
		{name: "notes.txt", data: []byte("plain notes\nFrom here on a line that mbox must quote\n>From quoted already\n"), text: true},
	}
}

const (
	muaSubject  = "Grüße aus Köln — 東京 ✓ and a tail long enough that the encoded words must be folded"
	muaFromName = "Älice Ünïcode"
	muaBody     = "Hallo Bob,\n\nGrüße aus Köln — 東京.\nFrom the first column, a line mbox must quote.\n"
	muaHTML     = "<p>Hallo Bob, <b>Grüße</b> aus Köln — 東京.</p>\n"
)

// TestMUASendFetch: compose and send with `posthorn send` (text, HTML
// alternative, attachments, UTF-8 subject and name) over STARTTLS and
// implicit TLS, fetch into a Maildir, an mbox and a directory, and decode.
func TestMUASendFetch(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	work := t.TempDir()
	atts := muaPayload(t)
	args := []string{"--user", subAlice, "--password-stdin", "--cafile", s.TLSCertPath(),
		"--from", muaFromName + " <" + subAlice + ">", "--to", "Bob <" + subBob + ">",
		"--subject", muaSubject,
		"--body", writeFile(t, work, "body.txt", []byte(muaBody)),
		"--html", writeFile(t, work, "body.html", []byte(muaHTML))}
	for _, a := range atts {
		args = append(args, "--attach", writeFile(t, t.TempDir(), a.name, a.data))
	}
	r := ph(t, subPass+"\n", append([]string{"send", "--server", s.Submission, "--tls", "starttls"}, args...)...)
	if !strings.Contains(r.Stdout, subBob) {
		t.Errorf("send does not say where it sent: %q", r.Stdout)
	}
	ph(t, subPass+"\n", append([]string{"send", "--server", s.Submissions, "--tls", "implicit"}, args...)...)
	want := muaMessage{subject: muaSubject, fromName: muaFromName, body: muaBody, atts: atts}

	fetch := func(dest ...string) {
		t.Helper()
		base := []string{"fetch", "--server", s.POP3, "--tls", "starttls", "--cafile", s.TLSCertPath(),
			"--user", subBob, "--password-stdin", "--state", filepath.Join(work, "state-"+dest[0][2:]+".json")}
		r := ph(t, subPass+"\n", append(base, dest...)...)
		if !strings.Contains(r.Stdout, "fetched 2 of 2") {
			t.Errorf("fetch %v: want \"fetched 2 of 2\", got %q", dest, r.Stdout)
		}
	}
	t.Run("maildir", func(t *testing.T) {
		dir := filepath.Join(work, "Maildir")
		fetch("--maildir", dir)
		checkFetchedFiles(t, maildirMessages(t, dir), want)
	})
	t.Run("mbox", func(t *testing.T) {
		mbox := filepath.Join(work, "inbox.mbox")
		fetch("--mbox", mbox)
		checkFetchedFiles(t, splitMbox(t, mbox, t.TempDir()), want)
	})
	t.Run("dir", func(t *testing.T) {
		dir := filepath.Join(work, "eml")
		fetch("--dir", dir)
		checkFetchedFiles(t, globSorted(t, filepath.Join(dir, "*.eml")), want)
	})
}

// TestMUAPythonEmail: messages made by Python's email package
// (EmailMessage with add_attachment, RFC 2231 filenames, RFC 2047
// subjects), submitted with smtplib, fetched and decoded by posthorn.
func TestMUAPythonEmail(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	atts := muaPayload(t)
	var spec []map[string]any
	for _, a := range atts {
		if a.text {
			spec = append(spec, map[string]any{"filename": a.name, "text": string(a.data)})
		} else {
			spec = append(spec, map[string]any{"filename": a.name, "maintype": "application",
				"subtype": "octet-stream", "data_b64": base64.StdEncoding.EncodeToString(a.data)})
		}
	}
	var composed struct {
		DataB64 string `json:"data_b64"`
	}
	runPython(t, "compose_email.py", map[string]any{
		"from": muaFromName + " <" + subAlice + ">", "to": []string{subBob}, "subject": muaSubject,
		"text": muaBody, "html": muaHTML, "attachments": spec,
	}, &composed)
	msg, err := base64.StdEncoding.DecodeString(composed.DataB64)
	if err != nil {
		t.Fatal(err)
	}
	for _, implicit := range []bool{false, true} {
		if res := smtplibSubmit(t, s, implicit, subAlice, subPass, subAlice, []string{subBob}, msg); !res.OK {
			t.Fatalf("smtplib submission (implicit TLS %v): %+v", implicit, res)
		}
	}
	dir := filepath.Join(t.TempDir(), "eml")
	ph(t, subPass+"\n", "fetch", "--server", s.POP3, "--tls", "starttls", "--cafile", s.TLSCertPath(),
		"--user", subBob, "--password-stdin", "--state", filepath.Join(t.TempDir(), "state.json"), "--dir", dir)
	checkFetchedFiles(t, globSorted(t, filepath.Join(dir, "*.eml")), muaMessage{
		subject: muaSubject, fromName: muaFromName, body: muaBody, atts: atts})
}

// checkFetchedFiles wants two fetched messages, each equal to want.
func checkFetchedFiles(t *testing.T, files []string, want muaMessage) {
	t.Helper()
	if len(files) != 2 {
		t.Fatalf("fetched %d message files %v, want 2", len(files), files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { checkDecoded(t, f, want) })
	}
}

// checkDecoded inspects and extracts one message file.
func checkDecoded(t *testing.T, file string, want muaMessage) {
	in := inspect(t, file)
	if in.Subject == nil || *in.Subject != want.subject {
		t.Errorf("subject %v, want %q", deref(in.Subject), want.subject)
	}
	if len(in.From) != 1 || in.From[0].Name != want.fromName || in.From[0].Address != subAlice {
		t.Errorf("from %+v, want %q <%s>", in.From, want.fromName, subAlice)
	}
	if len(in.To) != 1 || in.To[0].Address != subBob {
		t.Errorf("to %+v, want %s", in.To, subBob)
	}
	parts := in.byFilename()
	if len(parts) != len(want.atts) {
		t.Errorf("parts with a filename: %d, want %d: %+v", len(parts), len(want.atts), in.Parts)
	}
	for _, a := range want.atts {
		p, ok := parts[a.name]
		switch {
		case !ok:
			t.Errorf("no part with filename %q; parts: %+v", a.name, in.Parts)
		case !a.text && (p.SHA256 != sha(a.data) || p.Size != int64(len(a.data))):
			t.Errorf("attachment %q: size %d sha256 %s, want %d %s", a.name, p.Size, p.SHA256, len(a.data), sha(a.data))
		case p.Disposition == nil || *p.Disposition != "attachment":
			t.Errorf("attachment %q: disposition %v, want attachment", a.name, deref(p.Disposition))
		}
	}
	out := t.TempDir()
	ph(t, "", "mime", "extract", file, "--dir", out)
	for _, a := range want.atts {
		got, err := os.ReadFile(filepath.Join(out, a.name))
		switch {
		case err != nil:
			t.Errorf("extract wrote no %q: %v (files: %v)", a.name, err, dirNames(out))
		case a.text && !bytes.Equal(crlfToLF(got), a.data):
			t.Errorf("extracted %q = %q, want %q", a.name, got, a.data)
		case !a.text && !bytes.Equal(got, a.data):
			t.Errorf("extracted %q: %d bytes sha256 %s, want %d bytes %s", a.name, len(got), sha(got), len(a.data), sha(a.data))
		}
	}
	body, err := os.ReadFile(filepath.Join(out, "body.txt"))
	if err != nil {
		t.Errorf("extract wrote no body.txt: %v (files: %v)", err, dirNames(out))
	} else if string(crlfToLF(body)) != want.body {
		t.Errorf("body.txt = %q, want %q", body, want.body)
	}
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func dirNames(dir string) []string {
	es, _ := os.ReadDir(dir)
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMUAFetchNewDelete: `fetch --new` takes only messages whose UIDL it
// has not seen (remembered in --state), `--delete` removes what it saved
// from the server, and `--list` shows the maildrop.
func TestMUAFetchNewDelete(t *testing.T) {
	t.Parallel()
	s := startSubmissionServer(t)
	work := t.TempDir()
	dir, state := filepath.Join(work, "eml"), filepath.Join(work, "state.json")
	fetch := func(extra ...string) string {
		t.Helper()
		return ph(t, subPass+"\n", append([]string{"fetch", "--server", s.POP3, "--tls", "starttls",
			"--cafile", s.TLSCertPath(), "--user", subBob, "--password-stdin", "--state", state}, extra...)...).Stdout
	}
	send := func(subject string) {
		mustSend(t, s.SMTP, "sender@remote.test", []string{subBob}, []byte(dialogMsg(subject)))
	}
	wantOut := func(out, want string) {
		t.Helper()
		if !strings.Contains(out, want) {
			t.Errorf("fetch said %q, want %q", out, want)
		}
	}

	send("one")
	send("two")
	if lines := strings.Split(strings.TrimSpace(fetch("--list")), "\n"); len(lines) != 2 {
		t.Errorf("fetch --list: %d lines %q, want 2", len(lines), lines)
	}
	wantOut(fetch("--new", "--dir", dir), "fetched 2 of 2")
	wantOut(fetch("--new", "--dir", dir), "fetched 0 of 2")
	send("three")
	wantOut(fetch("--new", "--dir", dir), "fetched 1 of 3")
	files := globSorted(t, filepath.Join(dir, "*.eml"))
	if len(files) != 3 {
		t.Fatalf("%d .eml files after three new messages, want 3: %v", len(files), files)
	}
	subjects := map[string]bool{}
	for _, f := range files {
		if in := inspect(t, f); in.Subject != nil {
			subjects[*in.Subject] = true
		}
	}
	for _, sub := range []string{"one", "two", "three"} {
		if !subjects[sub] {
			t.Errorf("no fetched file has subject %q: %v", sub, subjects)
		}
	}

	// --new --delete: nothing new, so nothing is deleted.
	wantOut(fetch("--new", "--delete", "--dir", dir), "fetched 0 of 3")
	if n := len(mustFetch(t, s.POP3, subBob, subPass, false)); n != 3 {
		t.Fatalf("server holds %d messages after fetch --new --delete with nothing new, want 3", n)
	}
	send("four")
	out := fetch("--new", "--delete", "--maildir", filepath.Join(work, "Maildir"))
	wantOut(out, "fetched 1 of 4")
	wantOut(out, "deleted 1")
	if n := len(mustFetch(t, s.POP3, subBob, subPass, false)); n != 3 {
		t.Fatalf("server holds %d messages after deleting the one new message, want 3", n)
	}
	if m := maildirMessages(t, filepath.Join(work, "Maildir")); len(m) != 1 {
		t.Fatalf("Maildir holds %d messages, want the one new", len(m))
	} else if in := inspect(t, m[0]); in.Subject == nil || *in.Subject != "four" {
		t.Errorf("the Maildir message has subject %v, want four", deref(in.Subject))
	}
	out = fetch("--delete", "--dir", filepath.Join(work, "all"))
	wantOut(out, "fetched 3 of 3")
	if n := len(mustFetch(t, s.POP3, subBob, subPass, false)); n != 0 {
		t.Fatalf("server holds %d messages after fetch --delete, want 0", n)
	}
	if out := fetch("--list"); strings.TrimSpace(out) != "" {
		t.Errorf("fetch --list of an empty maildrop: %q", out)
	}
}
