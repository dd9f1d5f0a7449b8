package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fetchmail (a real POP3 client, issue 3) against the POP3 listener:
// STLS with the server's self-signed certificate checked, delivery to an
// MDA that writes each message to its own file.

// fetchmailRun is one fetchmail run against a test server.
type fetchmailRun struct {
	bin, dir, rc, out string
}

// newFetchmail writes a run control file for user at s and an MDA script
// that stores each message as out/NNNN in delivery order. keep adds
// "keep uidl" (leave mail on the server, fetch only what is new).
func newFetchmail(t *testing.T, s *Server, user, pass string, keep bool) *fetchmailRun {
	t.Helper()
	f := &fetchmailRun{bin: needTool(t, "fetchmail"), dir: t.TempDir()}
	f.out = filepath.Join(f.dir, "out")
	if err := os.Mkdir(f.out, 0o700); err != nil {
		t.Fatal(err)
	}
	// fetchmail delivers one message at a time, so counting the files
	// already there names the next one.
	mda := filepath.Join(f.dir, "mda.sh")
	script := fmt.Sprintf("#!/bin/sh\nset -e\nn=$(ls %q | wc -l)\ncat > %q/$(printf %%04d $((n+1)))\n", f.out, f.out)
	if err := os.WriteFile(mda, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	_, port := splitHostPort(t, s.POP3)
	// uidl is a server option (it goes on the poll line), keep a user one.
	server, mode := "", "no keep fetchall"
	if keep {
		server, mode = " uidl", "keep"
	}
	// sslproto without "ssl" makes STLS mandatory; sslcertck with
	// sslcertfile trusts exactly the server's self-signed certificate, and
	// sslcommonname names a DNS name the certificate carries (fetchmail
	// checks names, not IP addresses).
	rc := fmt.Sprintf(`set no syslog
poll 127.0.0.1 protocol pop3 port %d timeout 60%s
  user %q password %q
  sslproto 'TLS1.2+' sslcertck sslcertfile %q sslcommonname localhost
  %s
  mda %q
`, port, server, user, pass, s.TLSCertPath(), mode, mda)
	f.rc = filepath.Join(f.dir, "fetchmailrc")
	if err := os.WriteFile(f.rc, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs fetchmail once in the foreground and returns its exit code
// (0 when mail was delivered, 1 when there was none: fetchmail(1)) and
// its verbose log.
func (f *fetchmailRun) run(t *testing.T) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, "-f", f.rc, "-N", "-v",
		"--idfile", filepath.Join(f.dir, "fetchids"), "--pidfile", filepath.Join(f.dir, "fetchmail.pid"))
	cmd.Env = append(os.Environ(), "HOME="+f.dir, "FETCHMAILHOME="+f.dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee) && ee.ExitCode() == 1 && ctx.Err() == nil:
		return 1, string(out)
	}
	t.Fatalf("fetchmail: %v\n%s", err, out)
	return -1, ""
}

// checkFetchmailTLS asserts from fetchmail's verbose log that the
// password went over TLS begun with STLS and that the certificate check
// passed (fetchmail -v says so, and would name a failed check).
func checkFetchmailTLS(t *testing.T, log string) {
	t.Helper()
	stls := strings.Index(log, "POP3> STLS\n")
	up := strings.Index(log, "upgrade to TLS succeeded")
	pass := strings.Index(log, "POP3> PASS")
	if stls < 0 || up < stls || pass < up {
		t.Errorf("fetchmail did not log STLS, then TLS, then PASS:\n%s", log)
	}
	for _, bad := range []string{"certificate verification", "Warning", "insecure"} {
		if strings.Contains(log, bad) {
			t.Errorf("fetchmail log mentions %q:\n%s", bad, log)
		}
	}
}

// delivered returns the messages the MDA wrote, in delivery order.
func (f *fetchmailRun) delivered(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range globSorted(t, filepath.Join(f.out, "*")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// fetchmailReceived matches the one header fetchmail adds ("Received:
// from 127.0.0.1 [127.0.0.1] by HOST with POP3 (fetchmail-6.4.37) for
// <user> (single-drop); DATE", folded). fetchmail 6.4 puts it below the
// Return-Path and Delivered-To lines it finds at the top, not in front.
var fetchmailReceived = regexp.MustCompile(`(?m)^Received: from 127\.0\.0\.1 \[127\.0\.0\.1\]\n(?:\t[^\n]*\n)*`)

// stripFetchmail checks and removes fetchmail's Received header and turns
// the MDA's LF line ends back into the server's CRLF.
func stripFetchmail(t *testing.T, got []byte) []byte {
	t.Helper()
	head := got
	if i := bytes.Index(got, []byte("\n\n")); i >= 0 {
		head = got[:i+1]
	}
	loc := fetchmailReceived.FindIndex(head)
	if loc == nil {
		t.Fatalf("no fetchmail Received header in:\n%.400s", got)
	}
	if h := string(got[loc[0]:loc[1]]); !strings.Contains(h, "with POP3 (fetchmail-") {
		t.Errorf("fetchmail's Received header: %q", h)
	}
	if pre := string(got[:loc[0]]); !strings.HasPrefix(pre, "Return-Path: ") {
		t.Errorf("fetchmail's Received header follows %q, want the Return-Path and Delivered-To lines", pre)
	}
	rest := append(append([]byte{}, got[:loc[0]]...), got[loc[1]:]...)
	if bytes.Contains(rest, []byte("\r\n")) {
		t.Errorf("MDA got CRLF line ends; fetchmail strips CR for an MDA")
	}
	return bytes.ReplaceAll(rest, []byte("\n"), []byte("\r\n"))
}

// serverCopies reads every message (by UIDL order) without deleting.
func serverCopies(t *testing.T, s *Server, user, pass string) map[string][]byte {
	t.Helper()
	r := poplibRun(t, s, POPSession{User: user, Pass: pass, RetryInUse: 30,
		Ops: [][]any{{"retr_all"}, {"quit"}}})[0]
	if !r.Login.OK || len(r.Results) != 2 || !r.Results[0].OK {
		t.Fatalf("poplib retr_all: %+v", r)
	}
	m := map[string][]byte{}
	for _, msg := range r.Results[0].Messages {
		m[msg.UID] = POPResult{DataB64: msg.DataB64}.Data(t)
	}
	return m
}

// fetchmailMessage has a dot-stuffed line, a long body and a line that
// looks like a header, so the copy must be exact through the dot
// transparency and fetchmail's own header handling.
func fetchmailMessage(subject string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender <sender@remote.test>\r\nTo: fetch@example.test\r\nSubject: %s\r\n"+
		"Message-ID: <%s@remote.test>\r\n\r\n", subject, strings.ReplaceAll(subject, " ", "."))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s line %d %s\r\n", subject, i, strings.Repeat("x", i%70))
	}
	b.WriteString(".a line with a leading dot\r\n..two dots\r\nFrom: not a header\r\n")
	return []byte(b.String())
}

// TestPOP3Fetchmail downloads a maildrop with fetchmail over STLS with
// the certificate checked: every message arrives byte-identical apart
// from fetchmail's Received header, and the maildrop is empty after.
func TestPOP3Fetchmail(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	const user, pass = "fetch@example.test", "pw-fetch"
	s.AddUser(user, pass)
	var sent [][]byte
	for i := 1; i <= 3; i++ {
		msg := fetchmailMessage(fmt.Sprintf("fetch %d", i), 20*i)
		sent = append(sent, msg)
		mustSend(t, s.SMTP, "sender@remote.test", []string{user}, msg)
	}
	onServer := serverCopies(t, s, user, pass)
	if len(onServer) != len(sent) {
		t.Fatalf("server holds %d messages, want %d", len(onServer), len(sent))
	}
	want := map[string]bool{}
	for _, b := range onServer {
		want[string(b)] = true
	}

	f := newFetchmail(t, s, user, pass, false)
	code, log := f.run(t)
	if code != 0 {
		t.Fatalf("fetchmail exit %d, want 0 (mail delivered)\n%s", code, log)
	}
	checkFetchmailTLS(t, log)
	got := f.delivered(t)
	if len(got) != len(sent) {
		t.Fatalf("MDA got %d messages, want %d", len(got), len(sent))
	}
	for i, g := range got {
		body := stripFetchmail(t, g)
		if !want[string(body)] {
			t.Errorf("message %d is not byte-identical to any server copy:\n%s", i+1, body)
		}
		delete(want, string(body))
		if !bytes.HasSuffix(body, sent[i]) {
			t.Errorf("message %d does not end with the message sent (delivery order or bytes)", i+1)
		}
	}

	// "no keep": the maildrop is empty, and a second run finds nothing.
	r := poplibRun(t, s, POPSession{User: user, Pass: pass, RetryInUse: 30, Ops: [][]any{{"stat"}, {"quit"}}})[0]
	if !r.Login.OK || len(r.Results) == 0 || len(r.Results[0].Stat) != 2 || r.Results[0].Stat[0] != 0 {
		t.Errorf("maildrop after fetchmail: %+v, want empty", r)
	}
	if code, log := f.run(t); code != 1 {
		t.Errorf("second fetchmail exit %d, want 1 (no mail)\n%s", code, log)
	}
	if n := len(f.delivered(t)); n != len(sent) {
		t.Errorf("MDA holds %d messages after an empty run, want %d", n, len(sent))
	}
}

// TestPOP3FetchmailKeepUIDL leaves mail on the server (keep) and lets
// fetchmail's UIDL list pick out only what is new on the next run.
func TestPOP3FetchmailKeepUIDL(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	const user, pass = "fetch@example.test", "pw-fetch"
	s.AddUser(user, pass)
	for i := 1; i <= 2; i++ {
		mustSend(t, s.SMTP, "sender@remote.test", []string{user}, fetchmailMessage(fmt.Sprintf("old %d", i), 5))
	}
	f := newFetchmail(t, s, user, pass, true)
	if code, log := f.run(t); code != 0 {
		t.Fatalf("first fetchmail exit %d, want 0\n%s", code, log)
	} else {
		checkFetchmailTLS(t, log)
	}
	if n := len(f.delivered(t)); n != 2 {
		t.Fatalf("first run delivered %d, want 2", n)
	}
	if n := len(serverCopies(t, s, user, pass)); n != 2 {
		t.Fatalf("keep: server holds %d messages, want 2", n)
	}
	if code, log := f.run(t); code != 1 {
		t.Errorf("run with nothing new: exit %d, want 1\n%s", code, log)
	}
	if n := len(f.delivered(t)); n != 2 {
		t.Errorf("run with nothing new delivered %d in all, want 2", n)
	}

	newMsg := fetchmailMessage("new 1", 7)
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, newMsg)
	if code, log := f.run(t); code != 0 {
		t.Fatalf("third fetchmail exit %d, want 0\n%s", code, log)
	}
	got := f.delivered(t)
	if len(got) != 3 {
		t.Fatalf("after the new message: %d delivered in all, want 3", len(got))
	}
	var newUID string
	for uid, b := range serverCopies(t, s, user, pass) {
		if bytes.HasSuffix(b, newMsg) {
			newUID = uid
			if last := stripFetchmail(t, got[2]); !bytes.Equal(last, b) {
				t.Errorf("new message differs from the server copy:\ngot  %q\nwant %q", last, b)
			}
		}
	}
	if newUID == "" {
		t.Fatal("the new message is not on the server")
	}
	ids, err := os.ReadFile(filepath.Join(f.dir, "fetchids"))
	if err != nil {
		t.Fatalf("fetchmail's UIDL list: %v", err)
	}
	if !strings.Contains(string(ids), newUID) {
		t.Errorf("fetchids does not list the new UID %s:\n%s", newUID, ids)
	}
}
