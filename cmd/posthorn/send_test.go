package main

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/submitclient/submittest"
	"github.com/posthorn/posthorn/mime"
)

// startSubmit starts a sink with STARTTLS and AUTH, and returns it and
// the flags that reach it.
func startSubmit(t *testing.T, o submittest.Options) (*submittest.Sink, []string) {
	t.Helper()
	cfg, ca := testCA(t)
	o.TLS, o.User, o.Password = cfg, "alice", "secret"
	s := submittest.Start(t, o)
	return s, []string{"--server", s.Addr, "--tls", "starttls", "--cafile", ca, "--user", "alice"}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSendCompose(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	bin := make([]byte, 200_000)
	for i := range bin {
		bin[i] = byte(rng.UintN(256))
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"data.bin":        bin,
		"notes.txt":       []byte("line one\nFrom the start\n.\nlast line without newline"),
		"résumé café.pdf": []byte("%PDF-1.4 fake\x00\xff"),
	}
	var attachArgs []string
	for _, name := range []string{"data.bin", "notes.txt", "résumé café.pdf"} {
		attachArgs = append(attachArgs, "--attach", writeFile(t, dir, name, files[name]))
	}
	body := writeFile(t, dir, "body.txt", []byte("Grüße aus Köln\n.\nFrom here\n"))
	html := writeFile(t, dir, "body.html", []byte("<p>Grüße</p>\n"))
	s, flags := startSubmit(t, submittest.Options{})
	subject := "Grüße — a test with a long subject that must be folded somewhere along the way ✓"
	args := append(flags, "--from", "Ünïcode Sender <alice@example.test>", "--to", "bob@example.test, Carol <carol@example.test>",
		"--to", "dave@example.test", "--cc", "erin@example.test", "--bcc", "secret@example.test", "--bcc", "BOB@example.test",
		"--subject", subject, "--body", body, "--html", html)
	args = append(args, attachArgs...)
	code, out, errs := runMUA(t, cmdSend, "", pwEnv, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "sent to") {
		t.Errorf("stdout %q", out)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sink holds %d messages", len(msgs))
	}
	m := msgs[0]
	wantTo := []string{"bob@example.test", "carol@example.test", "dave@example.test", "erin@example.test", "secret@example.test"}
	if m.From != "alice@example.test" || !slices.Equal(m.To, wantTo) {
		t.Errorf("envelope %s -> %v, want %v", m.From, m.To, wantTo)
	}
	if strings.Contains(strings.ToLower(string(m.Data)), "secret@") || strings.Contains(strings.ToLower(string(m.Data)), "bcc:") {
		t.Error("the Bcc recipient shows in the message")
	}
	root, err := mime.ParseBytes(t.Context(), m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := root.Header.Subject(); got != subject {
		t.Errorf("subject %q, want %q", got, subject)
	}
	if from, _ := root.Header.Addresses("From"); len(from) != 1 || from[0].Name != "Ünïcode Sender" {
		t.Errorf("From %+v", from)
	}
	got := map[string][]byte{}
	var text string
	err = root.Leaves(func(path string, p *mime.Part) error {
		data, err := io.ReadAll(p.Body())
		if err != nil {
			return err
		}
		switch {
		case p.IsAttachment():
			got[p.Filename()] = data
		case p.ContentType == "text/plain":
			text = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		if string(got[name]) != string(want) {
			t.Errorf("attachment %q: %d bytes back, want %d equal bytes", name, len(got[name]), len(want))
		}
	}
	if len(got) != len(files) {
		t.Errorf("attachments %d, want %d", len(got), len(files))
	}
	if text != "Grüße aus Köln\r\n.\r\nFrom here\r\n" {
		t.Errorf("text body %q", text)
	}
}

func TestSendRaw(t *testing.T) {
	s, flags := startSubmit(t, submittest.Options{})
	raw := "From: Alice <alice@example.test>\nTo: bob@example.test\nBcc: hidden@example.test,\n  other@example.test\nSubject: raw\n\n.leading dot\nbody ü\n"
	code, _, errs := runMUA(t, cmdSend, raw, pwEnv, append(flags, "--raw")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	m := s.Messages()[0]
	if m.From != "alice@example.test" || !slices.Equal(m.To, []string{"bob@example.test", "hidden@example.test", "other@example.test"}) {
		t.Errorf("envelope %s -> %v", m.From, m.To)
	}
	want := "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: raw\r\n\r\n.leading dot\r\nbody ü\r\n"
	if string(m.Data) != want {
		t.Errorf("data %q, want %q", m.Data, want)
	}
	if !strings.Contains(m.MailArgs, "BODY=8BITMIME") {
		t.Errorf("MAIL parameters %q lack BODY=8BITMIME", m.MailArgs)
	}
	// Flags override the header's envelope.
	code, _, errs = runMUA(t, cmdSend, raw, pwEnv, append(flags, "--raw", "--from", "x@example.test", "--to", "y@example.test")...)
	if m := s.Messages()[1]; code != 0 || m.From != "x@example.test" || !slices.Equal(m.To, []string{"y@example.test"}) {
		t.Errorf("exit %d (%s), envelope %s -> %v", code, errs, m.From, m.To)
	}
}

func TestSendDryRun(t *testing.T) {
	code, out, errs := runMUA(t, cmdSend, "hello\n", nil, "--dry-run", "--from", "a@example.test", "--to", "b@example.test", "--bcc", "c@example.test", "--subject", "hi", "--body", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Subject: hi\r\n") || !strings.Contains(out, "hello\r\n") || strings.Contains(out, "c@example.test") {
		t.Errorf("dry run printed %q", out)
	}
}

func TestSendErrors(t *testing.T) {
	refuse := func(line string) string {
		switch {
		case strings.HasPrefix(line, "RCPT TO:<nobody@"):
			return "550 5.1.1 <nobody@example.test>: no such user"
		case strings.HasPrefix(line, "MAIL FROM:<spammer@"):
			return "553 5.7.1 sender not allowed"
		}
		return ""
	}
	s, flags := startSubmit(t, submittest.Options{Reply: refuse})
	plain := submittest.Start(t, submittest.Options{})
	base := []string{"--from", "alice@example.test", "--to", "bob@example.test"}
	tests := []struct {
		name  string
		stdin string
		env   map[string]string
		args  []string
		code  int
		want  string
	}{
		{"rcpt refused", "", pwEnv, append(slices.Clone(flags), "--from", "alice@example.test", "--to", "bob@example.test", "--to", "nobody@example.test"), 1, "550 5.1.1 <nobody@example.test>: no such user"},
		{"sender refused", "", pwEnv, append(slices.Clone(flags), "--from", "spammer@example.test", "--to", "bob@example.test"), 1, "553 5.7.1 sender not allowed"},
		{"wrong password", "", map[string]string{"POSTHORN_PASSWORD": "nope"}, append(slices.Clone(flags), base...), 1, "535 5.7.8"},
		{"password from stdin", "secret\n", nil, append(slices.Clone(flags), append(base, "--password-stdin")...), 0, ""},
		{"no STARTTLS", "", pwEnv, append([]string{"--server", plain.Addr}, base...), 1, "STARTTLS"},
		{"no auth, plaintext", "", nil, append([]string{"--server", plain.Addr, "--tls", "none"}, base...), 0, ""},
		{"missing attachment", "", pwEnv, append(slices.Clone(flags), append(base, "--attach", "/nonexistent/file")...), 1, "--attach"},
		{"raw and body stdin", "", pwEnv, append(slices.Clone(flags), "--raw", "--body", "-"), 2, "stdin"},
		{"raw and password stdin", "", nil, append(slices.Clone(flags), "--raw", "--password-stdin"), 2, "stdin"},
		{"body and password stdin", "", nil, append(slices.Clone(flags), append(base, "--body", "-", "--password-stdin")...), 2, "stdin"},
		{"raw and subject", "", pwEnv, append(slices.Clone(flags), "--raw", "--subject", "x"), 2, "--raw"},
		{"no from", "", pwEnv, append(slices.Clone(flags), "--to", "bob@example.test"), 2, "--from"},
		{"no recipient", "", pwEnv, append(slices.Clone(flags), "--from", "alice@example.test"), 2, "--to"},
		{"bad address", "", pwEnv, append(slices.Clone(flags), "--from", "alice@example.test", "--to", "not an address"), 2, "--to"},
		{"no server", "", pwEnv, base, 2, "--server"},
		{"bad tls", "", pwEnv, append([]string{"--server", plain.Addr, "--tls", "tls"}, base...), 2, "--tls"},
		{"raw without recipients", "From: a@example.test\n\nx\n", pwEnv, append(slices.Clone(flags), "--raw"), 2, "recipients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Messages())
			code, _, errs := runMUA(t, cmdSend, tt.stdin, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
			if code != 0 && strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", errs)
			}
			if code != 0 && len(s.Messages()) != before {
				t.Error("a message was accepted despite the failure")
			}
		})
	}
}
